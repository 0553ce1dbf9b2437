//! Sends the audit trail's head to the platform at each sync, and reads it
//! back for `jkda audit verify` (see `fhir::audit_anchor`).

use super::client::Client;
use super::SyncError;
use crate::fhir::audit_anchor::{self, Anchor};
use crate::store::Store;

/// The head as it stands, if the trail has entries.
pub fn current(store: &Store, recorded: &str) -> Result<Option<Anchor>, SyncError> {
    let Some((seq, hash)) = store.audit_head()? else {
        return Ok(None);
    };
    Ok(Some(Anchor {
        installation: store.installation_id()?,
        seq,
        hash,
        recorded: recorded.to_string(),
    }))
}

/// The platform's anchor of this installation, if it has one.
pub fn fetch(client: &Client, installation: &str) -> Result<Option<Anchor>, SyncError> {
    Ok(client
        .read("AuditEvent", &audit_anchor::resource_id(installation))?
        .as_ref()
        .and_then(audit_anchor::from_resource))
}

/// How the local trail compares with the platform's anchor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Comparison {
    /// The entry the platform holds is here, unchanged (and so is
    /// everything before it, which its hash covers).
    Matches { seq: i64, recorded: String },
    /// That entry is here with another hash: the trail was rewritten.
    Altered { seq: i64, recorded: String },
    /// The trail ends before it: entries were cut or deleted.
    Shorter {
        seq: i64,
        recorded: String,
        local_last: i64,
    },
    /// The platform holds no anchor of this installation yet.
    NoAnchor,
}

pub fn compare(store: &Store, anchor: Option<&Anchor>) -> Result<Comparison, crate::store::StoreError> {
    let Some(a) = anchor else {
        return Ok(Comparison::NoAnchor);
    };
    let (seq, recorded) = (a.seq, a.recorded.clone());
    Ok(match store.audit_hash_at(a.seq)? {
        Some(h) if h == a.hash => Comparison::Matches { seq, recorded },
        Some(_) => Comparison::Altered { seq, recorded },
        None => Comparison::Shorter {
            seq,
            recorded,
            local_last: store.audit_head()?.map_or(0, |h| h.0),
        },
    })
}
