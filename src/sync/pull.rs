//! Records flow both ways: after uploading, a sync brings down what other
//! PCs and units recorded for the residents this PC holds, by standard FHIR
//! search (any FHIR R4 server), so the resident page, the worklist and the
//! clinic's numbers see follow-ups done elsewhere. It asks only about this
//! PC's residents the platform knows: `patient=a,b,…` (an OR list of
//! Patient ids, FHIR search §3.1.1.4) with `_lastUpdated=gt<since>`, paged,
//! in lists short enough for any server's request line (`batch`). Another
//! unit's records never cross a village PC's link. A newer version of a
//! record this PC already has (an amendment made elsewhere) is taken, or
//! kept as a clash when this PC has a change of its own waiting
//! (`sync::amended`).

pub mod batch;

use super::fetch::fetched_record;
use super::SyncError;
use crate::fhir::FhirSource;
use crate::form::Registry;
use crate::store::{Actor, FetchedRecord, Store};
use std::collections::BTreeMap;
use std::time::Instant;

/// How far back the first pull looks: records made elsewhere shortly before
/// this PC's first sync still come.
const FIRST_PULL_DAYS: i64 = 7;
const PAGE: usize = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pulled {
    /// Responses the platform changed since the last pull that were asked
    /// for (this PC's residents', or all when the pull is platform-wide).
    pub seen: usize,
    /// New records kept, for residents this PC holds.
    pub added: usize,
    /// Amendments made elsewhere to records held here.
    pub amended: super::amended::Applied,
    /// Searches begun: one per list of residents, one when platform-wide,
    /// none when the platform knows none of this PC's residents.
    pub searches: usize,
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
    // One `since` for every list of one pull; the new watermark only once
    // every list was read.
    let filter = format!("gt{since}");
    let lists = batch::plan(&store.platform_patient_ids()?);
    let mut read = Read {
        latest: since.clone(),
        ..Read::default()
    };
    let started = Instant::now();
    let mut wide = matches!(lists, batch::Plan::Wide);
    if let batch::Plan::Lists(lists) = &lists {
        for (n, list) in lists.iter().enumerate() {
            let params = [("patient", list.as_str()), ("_lastUpdated", filter.as_str())];
            match src.for_each("QuestionnaireResponse", &params, PAGE, |qr| {
                read.take(store, registry, qr)
            }) {
                Ok(_) => {}
                // A server without OR lists on `patient` refuses the first
                // list before answering anything: read it platform-wide, as
                // before lists, rather than bring nothing down at all.
                Err(SyncError::Refused { status: 400, .. }) if n == 0 => {
                    wide = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
    if wide {
        src.for_each("QuestionnaireResponse", &[("_lastUpdated", &filter)], PAGE, |qr| {
            read.take(store, registry, qr)
        })?;
    }
    let Read {
        latest,
        seen,
        by_resident,
        held,
    } = read;
    let groups: Vec<(i64, Vec<FetchedRecord>)> = by_resident.into_iter().collect();
    let added = store.add_platform_records(actor, &groups)?;
    let mut amended = super::amended::Applied::default();
    for (record_id, qr) in &held {
        super::amended::apply(store, registry, actor, *record_id, qr, &mut amended)?;
    }
    // The refused list counts as a search, and so does the wide one after it.
    let searches = lists.searches() + usize::from(wide && matches!(lists, batch::Plan::Lists(_)));
    // Read platform-wide, one search covered everyone: no list read earlier to make up for.
    let latest = if searches > 1 && !wide {
        batch::pulled_back(&since, &latest, started.elapsed())
    } else {
        latest
    };
    store.set_setting("pull.since", &latest)?;
    Ok(Pulled {
        seen,
        added,
        amended,
        searches,
    })
}

/// What the pages of one pull gave, applied once all were read.
#[derive(Default)]
struct Read<'r> {
    /// The largest `meta.lastUpdated` seen.
    latest: String,
    seen: usize,
    by_resident: BTreeMap<i64, Vec<FetchedRecord<'r>>>,
    /// Newer versions of records held here.
    held: Vec<(i64, serde_json::Value)>,
}

impl<'r> Read<'r> {
    fn take(&mut self, store: &Store, registry: &'r Registry, qr: serde_json::Value) -> Result<(), SyncError> {
        self.seen += 1;
        if let Some(t) = qr["meta"]["lastUpdated"].as_str() {
            if t > self.latest.as_str() {
                self.latest = t.to_string();
            }
        }
        let subject = qr["subject"]["reference"]
            .as_str()
            .and_then(|r| r.strip_prefix("Patient/"))
            .unwrap_or("");
        // Platform-wide, most are other units' residents; asked by list, a
        // server that ignored the list would hand them out too.
        let Some(resident) = store.resident_id_by_uuid(subject)? else {
            return Ok(());
        };
        if let Some(id) = qr["id"].as_str() {
            if let Some(record_id) = store.record_id_by_uuid(id)? {
                // Most are this PC's own uploads coming back: not kept.
                let version = qr["meta"]["versionId"].as_str().unwrap_or("");
                if !version.is_empty() && store.is_newer_platform_version(record_id, version)? {
                    self.held.push((record_id, qr));
                }
                return Ok(());
            }
        }
        if let Some(r) = fetched_record(&qr, registry) {
            self.by_resident.entry(resident).or_default().push(r);
        }
        Ok(())
    }
}
