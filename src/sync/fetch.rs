//! Sharing down: find a resident on the platform by ID number and bring
//! them and their recent records into the local store, so a person
//! registered at the township centre can be followed up in the village.
//! A resident already here is refreshed instead: all their records, new
//! ones and amendments made elsewhere. Only standard FHIR searches are used
//! (`Patient?identifier=`, `QuestionnaireResponse?subject=` sorted or paged).

use super::amended::Applied;
use super::{Client, SyncConfig, SyncError};
use crate::fhir::mapping::{answers_from_response, patient_fields};
use crate::form::Registry;
use crate::store::{Actor, FetchedRecord, Store};
use serde_json::Value;

/// Responses per page when refreshing a resident.
const PAGE: usize = 100;

/// What a fetch brought down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub resident_id: i64,
    pub records: usize,
    /// Records in a form version this jkda does not have.
    pub skipped: usize,
}

/// Looks the ID number up; Ok(None) when the platform does not know it.
pub fn fetch_resident(
    client: &Client,
    cfg: &SyncConfig,
    store: &mut Store,
    registry: &Registry,
    actor: &Actor,
    id_number: &str,
    recent: usize,
) -> Result<Option<Fetched>, SyncError> {
    let Some(p) = find_patient(client, cfg, id_number)? else {
        return Ok(None);
    };
    let uuid = patient_id(&p)?;
    let (fields, record_no) = patient_fields(&p, &cfg.identifiers);
    let record_no =
        record_no.ok_or_else(|| SyncError::BadResponse("the platform's Patient has no health record number".into()))?;
    let count = recent.to_string();
    let subject = format!("Patient/{uuid}");
    let responses = client.search(
        "QuestionnaireResponse",
        &[("subject", &subject), ("_sort", "-_lastUpdated"), ("_count", &count)],
    )?;
    let mut records = Vec::new();
    let mut skipped = 0;
    for qr in responses["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
    {
        match fetched_record(qr, registry) {
            Some(r) => records.push(r),
            None => skipped += 1,
        }
    }
    let resident_id = store.import_from_platform(actor, uuid, &record_no, &fields, &records)?;
    Ok(Some(Fetched {
        resident_id,
        records: records.len(),
        skipped,
    }))
}

/// The platform's Patient with this ID number (`Patient?identifier=`).
fn find_patient(client: &Client, cfg: &SyncConfig, id_number: &str) -> Result<Option<Value>, SyncError> {
    let ident = format!("{}|{}", cfg.identifiers.id_number, id_number.trim());
    let found = client.search("Patient", &[("identifier", &ident)])?;
    Ok(found["entry"]
        .as_array()
        .and_then(|e| e.first())
        .map(|e| e["resource"].clone()))
}

fn patient_id(p: &Value) -> Result<&str, SyncError> {
    p["id"]
        .as_str()
        .filter(|id| crate::fhir::valid_id(id))
        .ok_or_else(|| SyncError::BadResponse("the platform's Patient has no usable id".into()))
}

/// What refreshing a resident already here brought down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    pub resident_id: i64,
    /// Records this PC did not have.
    pub added: usize,
    /// Newer versions of records held here: taken, kept as clashes, left
    /// for an amendment open here.
    pub amended: Applied,
    /// Records in a form version this jkda does not have.
    pub skipped: usize,
}

/// Why a resident here could not be refreshed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRefreshed {
    /// The platform has no Patient with this ID number.
    NotOnPlatform,
    /// It has one, but not the registration held here (two registrations
    /// of one person: `jkda residents link`); its `Patient/<id>`.
    OtherRegistration(String),
}

/// Refreshes a resident already here from the platform: the Patient looked
/// up by ID number, then all of its QuestionnaireResponses
/// (`QuestionnaireResponse?subject=Patient/<id>`, paged): new records
/// added, newer versions of records here applied (`sync::amended`). The
/// resident's own details are left as they are here.
pub fn refresh_resident(
    client: &Client,
    cfg: &SyncConfig,
    store: &mut Store,
    registry: &Registry,
    actor: &Actor,
    id_number: &str,
) -> Result<Result<Refreshed, NotRefreshed>, SyncError> {
    let Some(p) = find_patient(client, cfg, id_number)? else {
        return Ok(Err(NotRefreshed::NotOnPlatform));
    };
    let uuid = patient_id(&p)?;
    let Some(resident_id) = store.resident_id_by_uuid(uuid)? else {
        return Ok(Err(NotRefreshed::OtherRegistration(format!("Patient/{uuid}"))));
    };
    let src = crate::fhir::FhirSource::from_config(cfg)?;
    let subject = format!("Patient/{uuid}");
    let mut new = Vec::new();
    let mut held = Vec::new();
    let mut skipped = 0;
    src.for_each(
        "QuestionnaireResponse",
        &[("subject", &subject)],
        PAGE,
        |qr| -> Result<(), SyncError> {
            let known = qr["id"]
                .as_str()
                .map(|id| store.record_id_by_uuid(id))
                .transpose()?
                .flatten();
            match known {
                Some(record_id) => held.push((record_id, qr)),
                None => match fetched_record(&qr, registry) {
                    Some(r) => new.push(r),
                    None => skipped += 1,
                },
            }
            Ok(())
        },
    )?;
    let added = store.add_platform_records(actor, &[(resident_id, new)])?;
    let mut amended = Applied::default();
    for (record_id, qr) in &held {
        super::amended::apply(store, registry, actor, *record_id, qr, &mut amended)?;
    }
    Ok(Ok(Refreshed {
        resident_id,
        added,
        amended,
        skipped,
    }))
}

/// A QuestionnaireResponse from the platform as a record to keep; None
/// when its form (the exact version) is not one this PC has.
pub fn fetched_record<'a>(qr: &Value, registry: &'a Registry) -> Option<FetchedRecord<'a>> {
    let canonical = qr["questionnaire"].as_str().unwrap_or("");
    let def = registry.all().find(|d| d.canonical() == canonical)?;
    let id = qr["id"].as_str().filter(|id| crate::fhir::valid_id(id))?;
    let answers = answers_from_response(qr, def);
    let record_date = def
        .date_field
        .as_deref()
        .and_then(|f| answers.text(f))
        .map(str::to_string);
    Some(FetchedRecord {
        uuid: id.to_string(),
        def,
        source: registry.source(&def.id).unwrap_or_default(),
        answers,
        record_date,
        author: qr["author"]["display"].as_str().unwrap_or("platform").to_string(),
        finalized_at: qr["authored"].as_str().map(str::to_string),
        server_version: qr["meta"]["versionId"].as_str().map(str::to_string),
    })
}

/// Whether a searchset Bundle has any match.
pub fn has_match(bundle: &Value) -> bool {
    bundle["entry"].as_array().is_some_and(|e| !e.is_empty())
}
