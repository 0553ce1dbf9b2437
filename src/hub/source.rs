//! The supervision report from any FHIR R4 server: reads its Patients and
//! QuestionnaireResponses through standard search with paging (no
//! hub-specific endpoint) into a scratch database with the hub's schema,
//! running the same checks the hub runs on receipt, so the report and the
//! spot checks are computed by the same code over the same facts.
//!
//! What a FHIR server must give: `meta.lastUpdated` and `meta.versionId`
//! (every conformant server does), version 1 by `vread` for an amended
//! record (when the platform first had it), and the sending site in
//! `meta.source` (`urn:jkda:site:CODE`, as jkda-hub writes it) or, failing
//! that, the Patient's `managingOrganization.identifier`.

use super::storage::{self, SITE_SOURCE};
use super::{supervision, HubError};
use crate::fhir::{FhirSource, SourceError};
use crate::form::Registry;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::collections::HashMap;

/// Records from a site the source does not name go to this site.
pub const UNKNOWN_SITE: &str = "unknown";

const PAGE: usize = 500;

impl From<SourceError> for HubError {
    fn from(e: SourceError) -> HubError {
        HubError::Io(std::io::Error::other(format!("FHIR source: {e}")))
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub patients: usize,
    pub responses: usize,
    /// Amended responses whose first version was asked for.
    pub first_versions: usize,
}

fn site_of(v: &Value) -> Option<String> {
    v["meta"]["source"]
        .as_str()
        .and_then(|s| s.strip_prefix(SITE_SOURCE))
        .or_else(|| v["managingOrganization"]["identifier"]["value"].as_str())
        .filter(|s| !s.is_empty() && s.len() <= 64)
        .map(str::to_string)
}

fn ensure_site(conn: &Connection, code: &str, known: &mut HashMap<String, ()>) -> Result<(), HubError> {
    if known.contains_key(code) {
        return Ok(());
    }
    // A site met only in the data: no token can ever match its hash.
    conn.execute(
        "INSERT OR IGNORE INTO sites (code, name, token_hash, created_at) VALUES (?1, ?1, ?2, '')",
        params![code, format!("source-only:{code}")],
    )?;
    known.insert(code.to_string(), ());
    Ok(())
}

fn store(conn: &Connection, kind: &str, v: &Value, site: &str, first: &str) -> Result<(), HubError> {
    let id = v["id"].as_str().unwrap_or("");
    let last = v["meta"]["lastUpdated"].as_str().unwrap_or(first);
    let version: i64 = v["meta"]["versionId"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let subject = v["subject"]["reference"]
        .as_str()
        .and_then(|r| r.strip_prefix("Patient/"));
    let mut content = v.clone();
    if let Some(o) = content.as_object_mut() {
        o.remove("meta");
    }
    conn.prepare_cached(
        "INSERT INTO resources (type, id, version, site, content, deleted, created_at, last_updated, subject)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8)
         ON CONFLICT(type, id) DO UPDATE SET version = ?3, site = ?4, content = ?5, last_updated = ?7, subject = ?8",
    )?
    .execute(params![
        kind,
        id,
        version,
        site,
        serde_json::to_string(&content).unwrap_or_default(),
        first,
        last,
        subject
    ])?;
    Ok(())
}

/// Reads the source into `conn` (a database opened with `storage::open`).
/// `sites` are the bureau's units (code, name), listed even when silent.
pub fn load(
    src: &FhirSource,
    conn: &mut Connection,
    forms: &Registry,
    sites: &[(String, String)],
) -> Result<Loaded, HubError> {
    let mut loaded = Loaded::default();
    let tx = conn.transaction()?;
    let mut known = HashMap::new();
    for (code, name) in sites {
        tx.execute(
            "INSERT INTO sites (code, name, token_hash, created_at) VALUES (?1, ?2, ?3, '')
             ON CONFLICT(code) DO UPDATE SET name = ?2",
            params![code, name, format!("source-only:{code}")],
        )?;
        known.insert(code.clone(), ());
    }
    let mut patient_site: HashMap<String, String> = HashMap::new();
    src.for_each("Patient", &[], PAGE, |p: Value| -> Result<(), HubError> {
        let id = p["id"].as_str().unwrap_or("").to_string();
        let site = site_of(&p).unwrap_or_else(|| UNKNOWN_SITE.to_string());
        ensure_site(&tx, &site, &mut known)?;
        let last = p["meta"]["lastUpdated"].as_str().unwrap_or("").to_string();
        store(&tx, "Patient", &p, &site, &last)?;
        supervision::ingest_patient(&tx, &site, &id, &p)?;
        patient_site.insert(id, site);
        loaded.patients += 1;
        Ok(())
    })?;
    src.for_each(
        "QuestionnaireResponse",
        &[],
        PAGE,
        |qr: Value| -> Result<(), HubError> {
            let id = qr["id"].as_str().unwrap_or("").to_string();
            let subject = qr["subject"]["reference"]
                .as_str()
                .and_then(|r| r.strip_prefix("Patient/"))
                .unwrap_or("");
            let site = site_of(&qr)
                .or_else(|| patient_site.get(subject).cloned())
                .unwrap_or_else(|| UNKNOWN_SITE.to_string());
            ensure_site(&tx, &site, &mut known)?;
            let now = qr["meta"]["lastUpdated"].as_str().unwrap_or("").to_string();
            // When the platform first had it: version 1's time.
            let first = match qr["meta"]["versionId"].as_str() {
                Some("1") | None => now.clone(),
                Some(_) => {
                    let had: Option<String> = tx
                        .query_row(
                            "SELECT created_at FROM resources WHERE type = 'QuestionnaireResponse' AND id = ?1",
                            params![id],
                            |r| r.get(0),
                        )
                        .optional()?;
                    match had {
                        Some(t) => t,
                        None => {
                            loaded.first_versions += 1;
                            src.vread("QuestionnaireResponse", &id, "1")?
                                .and_then(|v| v["meta"]["lastUpdated"].as_str().map(str::to_string))
                                .unwrap_or_else(|| now.clone())
                        }
                    }
                }
            };
            store(&tx, "QuestionnaireResponse", &qr, &site, &first)?;
            supervision::ingest_response(&tx, forms, &site, &id, &qr, &first, &now)?;
            loaded.responses += 1;
            Ok(())
        },
    )?;
    tx.commit()?;
    Ok(loaded)
}

/// A scratch database filled from the source; deleted when dropped.
pub struct Scratch {
    _dir: tempfile::TempDir,
    pub conn: Connection,
    pub loaded: Loaded,
}

pub fn scratch(src: &FhirSource, forms: &Registry, sites: &[(String, String)]) -> Result<Scratch, HubError> {
    let dir = tempfile::tempdir()?;
    let mut conn = storage::open(&dir.path().join("source.sqlite"))?;
    // Scratch: nothing to keep after a power cut.
    conn.pragma_update(None, "synchronous", "OFF")?;
    let loaded = load(src, &mut conn, forms, sites)?;
    Ok(Scratch {
        _dir: dir,
        conn,
        loaded,
    })
}

/// `code,name` lines (a header and blank lines skipped).
pub fn read_sites(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut cols = l.split(',').map(str::trim);
            let code = cols.next()?.to_string();
            let name = cols.next().unwrap_or("").to_string();
            let digits = !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            (digits && code != "code").then(|| (code.clone(), if name.is_empty() { code } else { name }))
        })
        .collect()
}
