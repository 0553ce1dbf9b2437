//! The numbers' part of a sync, before anything is uploaded (issue 14):
//!
//! 1. **Claim serial blocks** until this installation has a reserve of
//!    serials (and enough for its provisional residents). A block is a FHIR
//!    `Basic` created with `If-None-Exist: identifier=urn:jkda:serial-block|
//!    <12-digit prefix>-<block>`: a conformant server creates it once, so
//!    the installation that gets the 201 owns the block; a 200 is the
//!    existing claim — ours if its author is this installation (an earlier
//!    try whose answer was lost), else the next block is tried. Standard
//!    FHIR, so any R4 server (HAPI too) keeps the rule.
//! 2. **Renumber the provisional residents** from the blocks, so nothing
//!    provisional is ever uploaded.
//! 3. **Repair duplicates the platform refused**: a resident whose record
//!    number is another Patient's, when that Patient has a different ID
//!    number, gets a new number and is queued again; the same ID number is
//!    the same person, left for a person to link (`store::link`).

use super::{Client, SyncConfig, SyncError};
use crate::fhir::device_state::INSTALLATION_SYSTEM;
use crate::fhir::mapping::patient_fields;
use crate::store::link::PlatformPatient;
use crate::store::serials::{Reason, BLOCK};
use crate::store::{Actor, Store};
use serde_json::{json, Value};

/// The identifier system of a claimed serial block.
pub const BLOCK_SYSTEM: &str = "urn:jkda:serial-block";
/// The code of a serial block (`Basic.code`).
pub const BLOCK_CODE_SYSTEM: &str = "urn:jkda:basic-type";
/// Serials kept in hand for registering offline.
pub const RESERVE: i64 = 20;
/// Blocks tried in one sync (each try is one request).
const MAX_TRIES: usize = 50;

/// What the numbers' step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Numbers {
    pub claimed: usize,
    /// Provisional or duplicate numbers replaced.
    pub renumbered: usize,
    /// Residents still provisional (no block could be claimed).
    pub provisional: usize,
}

fn block_resource(prefix: &str, block: i64, installation: &str, now: &str) -> Value {
    json!({
        "resourceType": "Basic",
        "identifier": [{ "system": BLOCK_SYSTEM, "value": format!("{prefix}-{block}") }],
        "code": { "coding": [{ "system": BLOCK_CODE_SYSTEM, "code": "serial-block",
                               "display": "jkda health-record number serial block" }] },
        // A logical reference: no server has to hold the Device to accept it.
        "author": { "identifier": { "system": INSTALLATION_SYSTEM, "value": installation } },
        "created": now.get(..10).unwrap_or(now),
        "extension": [{ "url": "urn:jkda:serial-block-range",
                        "valueRange": { "low": { "value": block * BLOCK + 1 },
                                        "high": { "value": (block * BLOCK + BLOCK).min(99_999) } } }],
    })
}

/// Claims blocks until `need` serials are in hand.
pub fn claim(client: &Client, store: &Store, prefix: &str, need: i64) -> Result<usize, SyncError> {
    let installation = store.installation_id()?;
    let now = crate::store::utc_text(chrono::Utc::now());
    let mut claimed = 0;
    for _ in 0..MAX_TRIES {
        if store.serials_left(prefix)? >= need {
            break;
        }
        let Some(block) = store.next_block(prefix)? else {
            break;
        };
        let condition = format!(
            "identifier={}",
            super::client::encode(&format!("{BLOCK_SYSTEM}|{prefix}-{block}"))
        );
        let basic = block_resource(prefix, block, &installation, &now);
        let (status, held) = client.create("Basic", &basic, Some(&condition))?;
        let ours = status == 201 || held["author"]["identifier"]["value"].as_str() == Some(installation.as_str());
        match held["id"].as_str().filter(|_| ours) {
            Some(id) => {
                if store.block_claimed(prefix, block, id)? {
                    claimed += 1;
                }
            }
            None => store.passed_block(prefix, block)?,
        }
    }
    Ok(claimed)
}

fn same_id_number(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
        _ => false,
    }
}

/// The platform's Patient `Patient/<id>` as a link takes it.
pub fn platform_patient(
    client: &Client,
    cfg: &SyncConfig,
    reference: &str,
) -> Result<Option<PlatformPatient>, SyncError> {
    let id = reference.strip_prefix("Patient/").unwrap_or(reference);
    let Some(p) = client.read("Patient", id)? else {
        return Ok(None);
    };
    let (fields, record_no) = patient_fields(&p, &cfg.identifiers);
    Ok(record_no.map(|record_no| PlatformPatient {
        id: id.to_string(),
        record_no,
        fields,
    }))
}

/// Steps 1–3 of the module header. Marks the installation as numbering
/// from blocks first, so registrations from now on never count on their own.
pub fn before_upload(
    client: &Client,
    cfg: &SyncConfig,
    store: &mut Store,
    actor: &Actor,
) -> Result<Numbers, SyncError> {
    store.use_platform_numbers()?;
    let Some(site) = store.site()? else {
        return Ok(Numbers::default());
    };
    let prefix = site.prefix();
    let mut out = Numbers::default();
    let waiting = store.provisional_residents()?;
    let refused = store.registration_refusals()?;
    if waiting.is_empty() && refused.iter().all(|r| r.same) {
        // Nothing held back: the reserve is topped up after the upload.
        return Ok(out);
    }
    out.claimed = claim(client, store, &prefix, RESERVE + (waiting.len() + refused.len()) as i64)?;
    for id in waiting {
        match store.renumber(actor, id, Reason::Provisional)? {
            Some(_) => out.renumbered += 1,
            None => out.provisional += 1,
        }
    }
    out.renumbered += refusals(client, cfg, store, actor, refused)?;
    Ok(out)
}

/// After an upload that reached the platform: the reserve topped up, and
/// the refusals it met handled as step 3 (their records go at the next run).
pub fn after_upload(client: &Client, cfg: &SyncConfig, store: &mut Store, actor: &Actor) -> Result<Numbers, SyncError> {
    let mut out = Numbers::default();
    let Some(site) = store.site()? else {
        return Ok(out);
    };
    let refused = store.registration_refusals()?;
    let open = refused.iter().filter(|r| !r.same).count() as i64;
    out.claimed = claim(client, store, &site.prefix(), RESERVE + open)?;
    out.renumbered = refusals(client, cfg, store, actor, refused)?;
    Ok(out)
}

fn refusals(
    client: &Client,
    cfg: &SyncConfig,
    store: &mut Store,
    actor: &Actor,
    refused: Vec<crate::store::link::Refusal>,
) -> Result<usize, SyncError> {
    let mut renumbered = 0;
    for r in refused.into_iter().filter(|r| !r.same) {
        let Some(theirs) = platform_patient(client, cfg, &r.patient)? else {
            // Gone from the platform since: sending again is enough.
            store.requeue_resident(r.resident_id)?;
            continue;
        };
        let ours = store.resident(actor, r.resident_id)?;
        if r.id_card || same_id_number(ours.id_number.as_deref(), theirs.fields.id_number.as_deref()) {
            // The same person: offered for linking, with the number to show.
            let stored = format!(
                "sync.err_registered_same|{}|{}|{}|{}",
                r.site, r.patient, theirs.record_no, r.resident_id
            );
            store.note_registered_same(r.resident_id, &stored)?;
            continue;
        }
        if store.renumber(actor, r.resident_id, Reason::Duplicate)?.is_some() {
            store.requeue_resident(r.resident_id)?;
            renumbered += 1;
        }
    }
    Ok(renumbered)
}
