//! The hub's SQLite store: sites with hashed tokens, the current version of
//! every resource (older versions in `history`), Patient identifiers for
//! search, and the columns the supervision report counts. A transaction
//! Bundle is one SQLite transaction: all of it or nothing, even if the
//! process is killed half-way.

use super::clock::Stamps;
use super::validate;
use super::HubError;
use crate::fhir::{self, Resource};
use crate::form::Registry;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::Path;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS sites (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS resources (
    type          TEXT NOT NULL,
    id            TEXT NOT NULL,
    version       INTEGER NOT NULL,
    site          TEXT NOT NULL,
    content       TEXT NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    last_updated  TEXT NOT NULL,
    subject       TEXT,
    questionnaire TEXT,
    programme     TEXT,
    complete      INTEGER,
    PRIMARY KEY (type, id)
) STRICT;
-- Search pages walk (last_updated, id) over the live resources of a type,
-- for a subject too: each page is a range of one of these two indexes,
-- however deep into the results (see hub/search). The wider subject index
-- replaces the old (type, subject) one, which the query planner would
-- otherwise weigh against the first and sometimes lose to it.
CREATE INDEX IF NOT EXISTS resources_updated ON resources(type, deleted, last_updated, id);
CREATE INDEX IF NOT EXISTS resources_subject_updated ON resources(type, subject, deleted, last_updated, id);
DROP INDEX IF EXISTS resources_subject;
CREATE INDEX IF NOT EXISTS resources_site ON resources(type, site, created_at);
CREATE TABLE IF NOT EXISTS history (
    type         TEXT NOT NULL,
    id           TEXT NOT NULL,
    version      INTEGER NOT NULL,
    content      TEXT NOT NULL,
    deleted      INTEGER NOT NULL,
    last_updated TEXT NOT NULL,
    PRIMARY KEY (type, id, version)
) STRICT;
CREATE TABLE IF NOT EXISTS identifiers (
    system  TEXT NOT NULL,
    value   TEXT NOT NULL,
    patient TEXT NOT NULL,
    PRIMARY KEY (system, value, patient)
) STRICT;
CREATE INDEX IF NOT EXISTS identifiers_patient ON identifiers(patient);
-- `Patient?identifier=value` without a system.
CREATE INDEX IF NOT EXISTS identifiers_value ON identifiers(value);
"#;

pub fn open(path: &Path) -> Result<Connection, HubError> {
    let new = !path.exists();
    let conn = Connection::open(path)?;
    if new {
        // Health data: the owner's only (its -wal and -shm copy this mode).
        crate::private_files::make_private(path)?;
    }
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // A confirmed write must survive a power cut: the client deletes nothing,
    // but it stops resending what we confirmed.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Resource ids are random UUIDs, so each Bundle touches pages all over
    // the indexes: keep them in memory, and checkpoint in bigger steps.
    conn.pragma_update(None, "cache_size", -65536)?;
    conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(super::supervision::SCHEMA)?;
    conn.execute_batch(super::anchors::SCHEMA)?;
    Ok(conn)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A clock reading given as stored text.
fn reading(now: &str) -> Result<chrono::DateTime<chrono::Utc>, HubError> {
    chrono::DateTime::parse_from_rfc3339(now)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| HubError::Invalid(format!("clock reading {now:?} is not an instant")))
}

/// The platform's clock as stored (UTC, milliseconds).
pub fn now() -> String {
    crate::store::utc_text(chrono::Utc::now())
}

/// Adds a site and returns its new token (shown once; only its hash is kept).
pub fn add_site(conn: &Connection, code: &str, name: &str) -> Result<String, HubError> {
    if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(HubError::Usage(format!(
            "site code {code:?}: use letters, digits, - or _"
        )));
    }
    let mut bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut bytes);
    let token = hex::encode(bytes);
    let n = conn.execute(
        "INSERT OR IGNORE INTO sites (code, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![code, name, hash_token(&token), now()],
    )?;
    if n == 0 {
        return Err(HubError::Usage(format!("site {code:?} already exists")));
    }
    Ok(token)
}

/// The site a bearer token belongs to.
pub fn site_of_token(conn: &Connection, token: &str) -> Result<Option<String>, HubError> {
    Ok(conn
        .query_row(
            "SELECT code FROM sites WHERE token_hash = ?1",
            params![hash_token(token)],
            |r| r.get(0),
        )
        .optional()?)
}

/// A stored resource with its version metadata.
#[derive(Debug, Clone)]
pub struct Stored {
    pub resource: Resource,
    pub version: i64,
    pub last_updated: String,
    pub deleted: bool,
}

/// The prefix of `meta.source` naming the site that sent a resource: how a
/// reader of the FHIR API (the supervision report with `--source`) knows
/// whose record it is.
pub const SITE_SOURCE: &str = "urn:jkda:site:";

pub(super) fn with_meta(content: &str, version: i64, last_updated: &str, site: &str) -> Resource {
    let mut v: Value = serde_json::from_str(content).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "meta".into(),
            json!({
                "versionId": version.to_string(),
                "lastUpdated": last_updated,
                "source": format!("{SITE_SOURCE}{site}"),
            }),
        );
    }
    Resource(v)
}

pub fn read(conn: &Connection, kind: &str, id: &str, version: Option<i64>) -> Result<Option<Stored>, HubError> {
    let current = conn
        .query_row(
            "SELECT content, version, last_updated, deleted, site FROM resources WHERE type = ?1 AND id = ?2",
            params![kind, id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?;
    let site = current.as_ref().map(|c| c.4.clone()).unwrap_or_default();
    let current = current.map(|c| (c.0, c.1, c.2, c.3));
    let row = match (current, version) {
        (Some(c), Some(v)) if c.1 != v => conn
            .query_row(
                "SELECT content, version, last_updated, deleted FROM history WHERE type = ?1 AND id = ?2 AND version = ?3",
                params![kind, id, v],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?,
        (c, _) => c,
    };
    Ok(row.map(|(content, version, last_updated, deleted)| Stored {
        resource: with_meta(&content, version, &last_updated, &site),
        version,
        last_updated,
        deleted,
    }))
}

/// The outcome of one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub status: u16,
    pub version: i64,
    pub last_updated: String,
}

/// One PUT (or DELETE when `resource` is None) by `site`, inside the caller's
/// transaction. Unchanged content keeps its version: a resend is a no-op.
/// `raw` is the resource's JSON text as received, when the caller has it: it
/// is stored as it came instead of being serialized again.
#[allow(clippy::too_many_arguments)]
pub fn write(
    tx: &Connection,
    forms: &Registry,
    site: &str,
    kind: &str,
    id: &str,
    resource: Option<&Value>,
    raw: Option<&str>,
    if_match: Option<&str>,
    now: &str,
) -> Result<Written, HubError> {
    write_in(
        tx,
        forms,
        site,
        kind,
        id,
        resource,
        raw,
        if_match,
        now,
        &mut TxState::default(),
    )
}

/// What the writes of one transaction share: the Patients known to be live,
/// so a record's resources do not each look up the same subject, and the
/// transaction's time stamps.
#[derive(Default)]
struct TxState {
    live: HashSet<String>,
    stamps: Stamps,
}

/// `write`, within a transaction of several writes (`state`).
#[allow(clippy::too_many_arguments)]
fn write_in(
    tx: &Connection,
    forms: &Registry,
    site: &str,
    kind: &str,
    id: &str,
    resource: Option<&Value>,
    raw: Option<&str>,
    if_match: Option<&str>,
    now: &str,
    state: &mut TxState,
) -> Result<Written, HubError> {
    match resource {
        Some(v) => validate::resource(kind, id, v)?,
        None => validate::deletion(kind, id)?,
    }
    let existing: Option<(i64, String, String, bool, String)> = tx
        .prepare_cached(
            "SELECT version, site, content, deleted, last_updated FROM resources WHERE type = ?1 AND id = ?2",
        )?
        .query_row(params![kind, id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    // Each site writes its own resources; a record's parts are its site's
    // (`identity`): true when this write takes one over from a squatter.
    let take_over = super::identity::may_write(tx, site, kind, id, existing.as_ref().map(|e| e.1.as_str()))?;
    if let Some(m) = if_match {
        let wanted = fhir::version_of_etag(m);
        match &existing {
            Some((v, ..)) if v.to_string() == wanted => {}
            Some((v, ..)) => {
                return Err(HubError::VersionConflict(format!(
                    "{kind}/{id} is at version {v}, not {wanted}"
                )));
            }
            None => {
                return Err(HubError::VersionConflict(format!(
                    "{kind}/{id} does not exist (If-Match {wanted})"
                )))
            }
        }
    }
    let clock = reading(now)?;
    if matches!(kind, "Binary" | "Questionnaire") && site != super::forms::PUBLISHER {
        return Err(HubError::Forbidden(format!(
            "{kind}: forms are published by the bureau (jkda-hub forms publish), not by a site"
        )));
    }
    if let (Some(v), "AuditEvent") = (resource, kind) {
        let old = existing.as_ref().filter(|e| !e.3).map(|e| e.2.as_str());
        super::anchors::check(site, old, v)?;
    }
    let Some(v) = resource else {
        // DELETE: a new, deleted version; deleting nothing is fine.
        if kind == "Patient" {
            state.live.remove(id);
        }
        return match existing {
            Some((version, _, content, false, last)) => {
                let now = state.stamps.next_at(tx, kind, clock)?;
                keep_history(tx, kind, id, version, &content, false, &last)?;
                tx.execute(
                    "UPDATE resources SET version = ?3, deleted = 1, last_updated = ?4, site = ?5 WHERE type = ?1 AND id = ?2",
                    params![kind, id, version + 1, now, site],
                )?;
                tx.execute(
                    "DELETE FROM identifiers WHERE patient = ?1 AND ?2 = 'Patient'",
                    params![id, kind],
                )?;
                super::supervision::forget(tx, kind, id)?;
                Ok(Written {
                    status: 204,
                    version: version + 1,
                    last_updated: now,
                })
            }
            Some((version, _, _, true, last)) => Ok(Written {
                status: 204,
                version,
                last_updated: last,
            }),
            None => Ok(Written {
                status: 204,
                version: 0,
                last_updated: now.to_string(),
            }),
        };
    };
    // Stored without server metadata; a client's resource rarely has any, so
    // copying it only to strip nothing is skipped, and the text the client
    // sent is kept as it came.
    let stripped = (v.get("meta").is_some() || v.get("text").is_some()).then(|| Resource(v.clone()).content());
    let content: std::borrow::Cow<str> = match (&stripped, raw) {
        (Some(s), _) => serde_json::to_string(s)
            .map_err(|e| HubError::Invalid(e.to_string()))?
            .into(),
        (None, Some(text)) => text.trim().into(),
        (None, None) => serde_json::to_string(v)
            .map_err(|e| HubError::Invalid(e.to_string()))?
            .into(),
    };
    if let Some((version, _, old, false, last)) = existing.as_ref().filter(|_| !take_over) {
        // The same text, or the same JSON written differently (key order,
        // spacing): unchanged either way.
        let same =
            *old == content || serde_json::from_str::<Value>(old).is_ok_and(|o| o == *stripped.as_ref().unwrap_or(v));
        if same {
            return Ok(Written {
                status: 200,
                version: *version,
                last_updated: last.clone(),
            });
        }
    }
    let subject = v["subject"]["reference"]
        .as_str()
        .and_then(|r| r.strip_prefix("Patient/"))
        .map(str::to_string);
    if let Some(p) = subject.as_ref().filter(|p| !state.live.contains(*p)) {
        let found: Option<bool> = tx
            .prepare_cached("SELECT deleted FROM resources WHERE type = 'Patient' AND id = ?1")?
            .query_row(params![p], |r| r.get(0))
            .optional()?;
        if found != Some(false) {
            return Err(HubError::Invalid(format!(
                "{kind}/{id}: subject Patient/{p} is not on the platform"
            )));
        }
        state.live.insert(p.clone());
    }
    if kind == "Patient" {
        // An ID card or record number is the first registrant's.
        super::identity::check_patient(tx, id, v)?;
    }
    let (status, version) = match &existing {
        Some((version, _, old, deleted, last)) => {
            keep_history(tx, kind, id, *version, old, *deleted, last)?;
            (200, version + 1)
        }
        None => (201, 1),
    };
    let now = state.stamps.next_at(tx, kind, clock)?;
    tx.prepare_cached(
        "INSERT INTO resources (type, id, version, site, content, deleted, created_at, last_updated, subject)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6, ?7)
         ON CONFLICT(type, id) DO UPDATE SET version = ?3, site = ?4, content = ?5, deleted = 0, last_updated = ?6,
             subject = ?7",
    )?
    .execute(params![kind, id, version, site, content, now, subject,])?;
    match kind {
        "Patient" => super::supervision::ingest_patient(tx, site, id, v)?,
        "QuestionnaireResponse" => {
            // First received: what version 1's lastUpdated says, as another
            // FHIR server would tell it.
            let first: String = tx
                .prepare_cached("SELECT created_at FROM resources WHERE type = ?1 AND id = ?2")?
                .query_row(params![kind, id], |r| r.get(0))?;
            super::supervision::ingest_response(tx, forms, site, id, v, &first, &now)?;
        }
        _ => {}
    }
    if kind == "Patient" {
        state.live.insert(id.to_string());
        tx.prepare_cached("DELETE FROM identifiers WHERE patient = ?1")?
            .execute(params![id])?;
        for i in v["identifier"].as_array().into_iter().flatten() {
            if let Some(value) = i["value"].as_str() {
                tx.prepare_cached("INSERT OR IGNORE INTO identifiers (system, value, patient) VALUES (?1, ?2, ?3)")?
                    .execute(params![i["system"].as_str().unwrap_or(""), value, id])?;
            }
        }
    }
    Ok(Written {
        status,
        version,
        last_updated: now,
    })
}

fn keep_history(
    tx: &Connection,
    kind: &str,
    id: &str,
    version: i64,
    content: &str,
    deleted: bool,
    last: &str,
) -> Result<(), HubError> {
    tx.execute(
        "INSERT OR IGNORE INTO history (type, id, version, content, deleted, last_updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![kind, id, version, content, deleted, last],
    )?;
    Ok(())
}

/// One entry of a transaction, as parsed from the Bundle: the resource, and
/// its text as received when there is one.
pub struct Entry<'a> {
    pub kind: String,
    pub id: String,
    pub resource: Option<Value>,
    pub raw: Option<&'a str>,
    pub if_match: Option<String>,
}

/// Runs a whole transaction: every entry or none. On a failure the error
/// names the entry. `abort_after` (fault drills only) stops half-way without
/// committing, as a crash would.
pub fn transaction(
    conn: &mut Connection,
    forms: &Registry,
    site: &str,
    entries: &[Entry<'_>],
    abort_after: Option<usize>,
    now: &str,
) -> Result<Vec<Written>, HubError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Patients first, so records in the same Bundle can refer to them, then
    // the records (QuestionnaireResponse), so their parts find their owner.
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| match entries[i].kind.as_str() {
        "Patient" => 0,
        "QuestionnaireResponse" => 1,
        _ => 2,
    });
    let mut results: Vec<Option<Written>> = vec![None; entries.len()];
    let mut state = TxState::default();
    for (n, &i) in order.iter().enumerate() {
        if abort_after == Some(n) {
            return Err(HubError::Aborted);
        }
        let e = &entries[i];
        let w = write_in(
            &tx,
            forms,
            site,
            &e.kind,
            &e.id,
            e.resource.as_ref(),
            e.raw,
            e.if_match.as_deref(),
            now,
            &mut state,
        )
        .map_err(|err| err.in_entry(i, &format!("{}/{}", e.kind, e.id)));
        match w {
            Ok(w) => results[i] = Some(w),
            Err(err) => {
                drop(tx);
                super::anchors::note(conn, &err, now)?;
                return Err(err);
            }
        }
    }
    tx.commit()?;
    Ok(results.into_iter().map(|w| w.expect("every entry written")).collect())
}

/// A live resource from a row of `content, version, last_updated, site`.
pub(super) fn live_row(r: &rusqlite::Row) -> rusqlite::Result<Stored> {
    let (content, version, last, site): (String, i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
    Ok(Stored {
        resource: with_meta(&content, version, &last, &site),
        version,
        last_updated: last,
        deleted: false,
    })
}

/// Resources of a type about a patient, most recently changed first.
pub fn search_by_subject(conn: &Connection, kind: &str, patient: &str, limit: usize) -> Result<Vec<Stored>, HubError> {
    let mut stmt = conn.prepare_cached(
        "SELECT content, version, last_updated, site FROM resources WHERE type = ?1 AND subject = ?2 AND deleted = 0
         ORDER BY last_updated DESC, id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![kind, patient, limit as i64], live_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many versions of a resource exist (current plus history).
pub fn version_count(conn: &Connection, kind: &str, id: &str) -> Result<i64, HubError> {
    Ok(conn.query_row(
        "SELECT (SELECT count(*) FROM resources WHERE type = ?1 AND id = ?2) + (SELECT count(*) FROM history WHERE type = ?1 AND id = ?2)",
        params![kind, id],
        |r| r.get(0),
    )?)
}

/// Live resources of a type.
pub fn count(conn: &Connection, kind: &str) -> Result<i64, HubError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM resources WHERE type = ?1 AND deleted = 0",
        params![kind],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-03-01T02:00:00.000Z";

    #[test]
    fn the_text_sent_is_stored_and_the_same_json_written_differently_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("hub.sqlite")).unwrap();
        let forms = Registry::embedded();
        let put = |raw: &str| {
            let v: Value = serde_json::from_str(raw).unwrap();
            write(&conn, &forms, "s1", "Patient", "p1", Some(&v), Some(raw), None, NOW).unwrap()
        };
        let first = put(r#"{"resourceType":"Patient","id":"p1","gender":"male"}"#);
        assert_eq!((first.status, first.version), (201, 1));
        let stored: String = conn
            .query_row("SELECT content FROM resources WHERE id = 'p1'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, r#"{"resourceType":"Patient","id":"p1","gender":"male"}"#);
        // Other key order and spacing, and server metadata: the same content.
        let again = put(r#" { "gender": "male", "id": "p1", "resourceType": "Patient", "meta": {"versionId": "1"} } "#);
        assert_eq!((again.status, again.version), (200, 1));
        let changed = put(r#"{"resourceType":"Patient","id":"p1","gender":"female","meta":{"versionId":"1"}}"#);
        assert_eq!((changed.status, changed.version), (200, 2));
        let stored: Value = serde_json::from_str(
            &conn
                .query_row("SELECT content FROM resources WHERE id = 'p1'", [], |r| {
                    r.get::<_, String>(0)
                })
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            stored,
            serde_json::json!({"resourceType": "Patient", "id": "p1", "gender": "female"})
        );
        assert_eq!(version_count(&conn, "Patient", "p1").unwrap(), 2);
    }

    #[test]
    fn a_subject_deleted_earlier_in_the_same_transaction_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("hub.sqlite")).unwrap();
        let forms = Registry::embedded();
        let put = |kind: &str, id: &str, v: Value| Entry {
            kind: kind.into(),
            id: id.into(),
            resource: Some(v),
            raw: None,
            if_match: None,
        };
        let encounter = |id: &str, p: &str| {
            put(
                "Encounter",
                id,
                serde_json::json!({"resourceType": "Encounter", "id": id, "status": "finished",
                    "class": {"code": "AMB"}, "subject": {"reference": format!("Patient/{p}")}}),
            )
        };
        let patient = |id: &str| put("Patient", id, serde_json::json!({"resourceType": "Patient", "id": id}));
        let ok = transaction(
            &mut conn,
            &forms,
            "s1",
            &[encounter("e1", "p1"), encounter("e2", "p1"), patient("p1")],
            None,
            NOW,
        )
        .unwrap();
        assert_eq!(ok.iter().map(|w| w.status).collect::<Vec<_>>(), [201, 201, 201]);
        let delete = Entry {
            kind: "Patient".into(),
            id: "p1".into(),
            resource: None,
            raw: None,
            if_match: None,
        };
        let err = transaction(&mut conn, &forms, "s1", &[encounter("e3", "p1"), delete], None, NOW).unwrap_err();
        assert!(err.to_string().contains("is not on the platform"), "{err}");
        assert!(read(&conn, "Encounter", "e3", None).unwrap().is_none());
        assert!(!read(&conn, "Patient", "p1", None).unwrap().unwrap().deleted);
    }
}
