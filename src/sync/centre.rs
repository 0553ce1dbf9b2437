//! What the centre learns at each sync, besides the records: the
//! installation's state as a `Device` (outbox counts, last error class,
//! free disk, clock difference — no personal data) and, when it moved, the
//! audit trail's head as an `AuditEvent` (`fhir::audit_anchor`). One
//! transaction Bundle after the records went.

use super::anchor::current;
use super::client::Client;
use super::SyncError;
use crate::fhir::{audit_anchor, device_state};
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

fn entry(resource: Value) -> Value {
    let url = format!(
        "{}/{}",
        resource["resourceType"].as_str().unwrap_or(""),
        resource["id"].as_str().unwrap_or("")
    );
    json!({ "fullUrl": url, "resource": resource, "request": { "method": "PUT", "url": url } })
}

/// Free space where the database lives, in MB.
fn free_disk_mb(store: &Store) -> Option<u64> {
    crate::ops::doctor::free_bytes(store.path().parent()?).map(|b| b / (1024 * 1024))
}

/// The installation's state now.
pub fn state(store: &Store, now: DateTime<Utc>) -> Result<device_state::ClinicState, SyncError> {
    let status = store.outbox_status()?;
    Ok(device_state::ClinicState {
        installation: store.installation_id()?,
        site: store.site()?.map(|s| s.prefix()),
        version: env!("CARGO_PKG_VERSION").to_string(),
        pending: status.pending,
        failed: status.failed,
        conflict: status.conflict,
        last_error_class: status
            .last_error
            .as_deref()
            .map(|e| super::stored_message(e).key.to_string()),
        free_disk_mb: free_disk_mb(store),
        clock_offset_s: store.setting("platform.clock_offset_s")?.and_then(|s| s.parse().ok()),
        recorded: crate::store::utc_text(now),
    })
}

/// Sends the state, and the audit head when it moved since the last anchor.
pub fn send(client: &Client, store: &Store, now: DateTime<Utc>) -> Result<(), SyncError> {
    let mut entries = vec![entry(device_state::to_resource(&state(store, now)?))];
    let anchor = current(store, &crate::store::utc_text(now))?;
    let head = anchor.as_ref().map(|a| format!("{}:{}", a.seq, a.hash));
    let anchored = store.setting("audit.anchored")?;
    if let Some(a) = anchor.as_ref().filter(|_| head != anchored) {
        entries.push(entry(audit_anchor::to_resource(a)));
    }
    let sent = entries.len();
    let bundle = json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries });
    let (answer, _) = client.transaction(&bundle)?;
    // The platform's clock, as it stamped the state: the difference goes
    // with the next state (an estimate within the round trip).
    if let Some(theirs) = answer["entry"][0]["response"]["lastModified"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    {
        let offset = (Utc::now() - theirs.with_timezone(&Utc)).num_seconds();
        store.set_setting("platform.clock_offset_s", &offset.to_string())?;
    }
    if sent > 1 {
        if let Some(h) = head {
            store.set_setting("audit.anchored", &h)?;
        }
    }
    Ok(())
}
