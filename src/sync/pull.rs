//! Records flow both ways: after uploading, a sync brings down what other
//! PCs and units recorded for the residents this PC holds, by standard FHIR
//! search on `_lastUpdated` with paging (any FHIR R4 server), so the
//! resident page, the worklist and the clinic's numbers see follow-ups
//! done elsewhere. A newer version of a record this PC already has (an
//! amendment made elsewhere) is taken, or kept as a clash when this PC has
//! a change of its own waiting (`sync::amended`).

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
    /// Amendments made elsewhere to records held here.
    pub amended: super::amended::Applied,
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
    // Records held here, applied once the pages are read.
    let mut held: Vec<(i64, serde_json::Value)> = Vec::new();
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
                if let Some(record_id) = store.record_id_by_uuid(id)? {
                    // Most are this PC's own uploads coming back: not kept.
                    let version = qr["meta"]["versionId"].as_str().unwrap_or("");
                    if !version.is_empty() && store.is_newer_platform_version(record_id, version)? {
                        held.push((record_id, qr));
                    }
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
    let mut amended = super::amended::Applied::default();
    for (record_id, qr) in &held {
        super::amended::apply(store, registry, actor, *record_id, qr, &mut amended)?;
    }
    store.set_setting("pull.since", &latest)?;
    Ok(Pulled { seen, added, amended })
}
