//! Records flow both ways: after uploading, a sync brings down what other
//! PCs and units recorded for the residents this PC holds, by standard FHIR
//! search on `_lastUpdated` with paging (any FHIR R4 server), so the
//! resident page, the worklist and the clinic's numbers see follow-ups
//! done elsewhere. A record this PC already has is never replaced here
//! (amendments from elsewhere are a person's decision).

use super::fetch::fetched_record;
use super::SyncError;
use crate::fhir::FhirSource;
use crate::form::Registry;
use crate::store::{Actor, FetchedRecord, Store};
use std::collections::BTreeMap;

/// How far back the first pull looks: records made elsewhere shortly before
/// this PC's first sync still come.
const FIRST_PULL_DAYS: i64 = 7;
const PAGE: usize = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pulled {
    /// Responses the platform changed since the last pull.
    pub seen: usize,
    /// New records kept, for residents this PC holds.
    pub added: usize,
}

pub fn pull(
    src: &FhirSource,
    store: &mut Store,
    registry: &Registry,
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Pulled, SyncError> {
    let since = match store.setting("pull.since")? {
        Some(s) => s,
        None => crate::store::utc_text(now - chrono::Duration::days(FIRST_PULL_DAYS)),
    };
    let filter = format!("gt{since}");
    let mut latest = since.clone();
    let mut seen = 0;
    let mut by_resident: BTreeMap<i64, Vec<FetchedRecord>> = BTreeMap::new();
    src.for_each(
        "QuestionnaireResponse",
        &[("_lastUpdated", &filter)],
        PAGE,
        |qr| -> Result<(), SyncError> {
            seen += 1;
            if let Some(t) = qr["meta"]["lastUpdated"].as_str() {
                if t > latest.as_str() {
                    latest = t.to_string();
                }
            }
            let subject = qr["subject"]["reference"]
                .as_str()
                .and_then(|r| r.strip_prefix("Patient/"))
                .unwrap_or("");
            let Some(resident) = store.resident_id_by_uuid(subject)? else {
                return Ok(());
            };
            if let Some(id) = qr["id"].as_str() {
                if store.record_id_by_uuid(id)?.is_some() {
                    return Ok(());
                }
            }
            if let Some(r) = fetched_record(&qr, registry) {
                by_resident.entry(resident).or_default().push(r);
            }
            Ok(())
        },
    )
    .map_err(|e: SyncError| e)?;
    let groups: Vec<(i64, Vec<FetchedRecord>)> = by_resident.into_iter().collect();
    let added = store.add_platform_records(actor, &groups)?;
    store.set_setting("pull.since", &latest)?;
    Ok(Pulled { seen, added })
}
