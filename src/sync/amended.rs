//! Amendments made elsewhere come down (issue 14, part 3): when pull or
//! `residents fetch` meets a newer platform version of a record this PC
//! holds, it becomes the current revision here if nothing of ours waits
//! for the record (`store::incoming`); otherwise it is kept as a clash
//! exactly as the uploader keeps a 412 (`sync::conflict`), for a person.

use super::{conflict, SyncError};
use crate::form::Registry;
use crate::store::{Actor, Incoming, Store};
use serde_json::Value;

/// What the platform's newer versions did here.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Taken as the current revision.
    pub updated: usize,
    /// Kept as clashes for a person.
    pub conflicts: usize,
    /// Left for an amendment open here (it meets them when it goes up).
    pub held: usize,
}

/// Applies platform copy `qr` of local record `record_id`.
pub fn apply(
    store: &mut Store,
    registry: &Registry,
    actor: &Actor,
    record_id: i64,
    qr: &Value,
    out: &mut Applied,
) -> Result<(), SyncError> {
    let Some(def) = conflict::form_of_copy(store, registry, record_id, qr) else {
        return Ok(());
    };
    let copy = conflict::server_copy(qr, &def);
    let date = def
        .date_field
        .as_deref()
        .and_then(|f| copy.answers.text(f))
        .map(str::to_string);
    match store.take_platform_version(actor, record_id, &copy, date.as_deref())? {
        Incoming::Known => {}
        Incoming::Taken => out.updated += 1,
        Incoming::AmendmentOpen => out.held += 1,
        Incoming::Clash { outbox_id } => {
            // As a refused upload: the row waits for a person with the
            // platform's copy next to it.
            let why = SyncError::stored_changed_elsewhere(copy.version.as_deref().unwrap_or("-"));
            store.mark_refused(outbox_id, true, &why)?;
            conflict::keep(store, registry, outbox_id, record_id, Some(qr));
            out.conflicts += 1;
        }
    }
    Ok(())
}
