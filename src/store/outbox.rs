//! The outbox: finalized revisions waiting for the city platform. Rows are
//! written by `finalize` in the finalizing transaction; this module is the
//! uploader's side: claim what is due, then record exactly what the server
//! confirmed. A row is `sent` only after the server said so; transport
//! trouble leaves it `pending` with a time for the next try; a refusal makes
//! it `failed` (with the server's reason) and a version clash `conflict`,
//! both for a person to look at. Residents brought down from the platform
//! are imported here too, without queueing anything.

use super::residents::ResidentFields;
use super::{audit, now_text, Actor, Record, RecordStatus, Resident, Result, Store, StoreError};
use crate::domain::debug_shows;
use crate::form::{Answers, FormDef};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

const LAST_SUCCESS: &str = "sync.last_success";
const LAST_ERROR: &str = "sync.last_error";

/// UTC timestamps sort as text, whatever the clinic PC's time zone.
pub fn utc_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// What the platform knows of a resident's Patient.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientState {
    /// Brought down from the platform: another site owns it, never sent back.
    pub from_platform: bool,
    /// Hash of the Patient content the server last confirmed.
    pub sent_hash: Option<String>,
    pub server_version: Option<String>,
}

/// One revision to upload, with everything its resources are made from.
/// `Debug` shows ids only (Record and Resident redact themselves).
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub outbox_id: i64,
    /// The record as finalized in this revision (not a later draft).
    pub record: Record,
    pub resident: Resident,
    /// The server's version of the QuestionnaireResponse this revision replaces.
    pub if_match: Option<String>,
    /// The answers of the revision the server holds, when an earlier
    /// revision was sent: what the amendment replaces (its Observations
    /// that the new revision no longer has are deleted).
    pub sent_answers: Option<Answers>,
    pub patient: PatientState,
    /// Tries so far, for the backoff.
    pub attempts: i64,
}

/// What the server confirmed for one outbox row.
#[derive(Debug, Clone)]
pub struct Sent {
    pub outbox_id: i64,
    pub server_version: Option<String>,
    /// The Patient, when it was part of the upload: (resident, content hash, version).
    pub patient: Option<(i64, String, Option<String>)>,
}

/// Counts and the last outcome, for the status line and `jkda sync --status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxStatus {
    pub pending: i64,
    pub failed: i64,
    pub conflict: i64,
    pub sent: i64,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
}

/// One outbox row as a person sees it: the name masked (`王*`), no ID numbers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub record_id: i64,
    pub revision: i64,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub updated_at: String,
    pub form_id: String,
    pub record_date: Option<String>,
    pub record_no: String,
    /// Whose record: the name masked as lists mask it (`王*`).
    pub resident_masked: String,
}

/// A record brought down from the platform. `Debug` omits the answers.
#[derive(Clone)]
pub struct FetchedRecord<'a> {
    pub uuid: String,
    pub def: &'a FormDef,
    pub source: &'a str,
    pub answers: Answers,
    pub record_date: Option<String>,
    pub author: String,
    pub finalized_at: Option<String>,
    /// The platform's `meta.versionId`: what an amendment here is sent over.
    pub server_version: Option<String>,
}

debug_shows!(FetchedRecord<'a>: uuid);

impl Store {
    /// Up to `limit` rows due now, oldest first, each the latest finalized
    /// revision of its record. A `next_attempt_at` further ahead than
    /// `max_wait` is treated as due: the PC's clock was wrong when it was set.
    pub fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        max_wait: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<OutboxItem>> {
        self.claim_outbox_after(now, max_wait, limit, 0)
    }

    /// Like `claim_outbox`, only rows after outbox id `after`: the uploader
    /// reads the next batch while the previous one is still on its way.
    /// Claiming changes nothing in the database.
    pub fn claim_outbox_after(
        &self,
        now: DateTime<Utc>,
        max_wait: chrono::Duration,
        limit: usize,
        after: i64,
    ) -> Result<Vec<OutboxItem>> {
        let ids: Vec<(i64, i64, i64, i64)> = {
            let mut stmt = self.conn().prepare_cached(
                "SELECT o.id, o.record_id, o.revision, o.attempts FROM outbox o
                 WHERE o.state = 'pending' AND o.id > ?4
                   AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?1 OR o.next_attempt_at > ?2)
                   AND o.revision = (SELECT max(revision) FROM outbox o2 WHERE o2.record_id = o.record_id)
                 ORDER BY o.id LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![utc_text(now), utc_text(now + max_wait), limit as i64, after],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for (outbox_id, record_id, revision, attempts) in ids {
            let mut record = self.record_for_upload(record_id)?;
            let (answers, finalized_at, author): (String, String, String) = self
                .conn()
                .prepare_cached(
                    "SELECT answers, finalized_at, author FROM record_revisions WHERE record_id = ?1 AND revision = ?2",
                )?
                .query_row(params![record_id, revision], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            record.author = author;
            record.answers = serde_json::from_str(&answers).unwrap_or_default();
            record.revision = revision;
            record.status = RecordStatus::Final;
            record.finalized_at = Some(finalized_at);
            let resident = self.resident_unaudited(record.resident_id)?;
            let sent: Option<(Option<String>, i64)> = self
                .conn()
                .prepare_cached(
                    "SELECT server_version, revision FROM outbox WHERE record_id = ?1 AND revision < ?2 AND state = 'sent'
                     ORDER BY revision DESC LIMIT 1",
                )?
                .query_row(params![record_id, revision], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let (if_match, sent_answers) = match sent {
                Some((version, sent_revision)) => {
                    let answers: Option<String> = self
                        .conn()
                        .prepare_cached("SELECT answers FROM record_revisions WHERE record_id = ?1 AND revision = ?2")?
                        .query_row(params![record_id, sent_revision], |r| r.get(0))
                        .optional()?;
                    (version, answers.map(|a| serde_json::from_str(&a).unwrap_or_default()))
                }
                None => (None, None),
            };
            // What the platform holds as far as this PC knows (sent, fetched
            // or pulled, or a clash resolved): the version to amend.
            let (if_match, sent_answers) = match super::conflicts::server_state(self.conn(), record_id)? {
                Some((version, answers)) => (Some(version), Some(answers)),
                None => (if_match, sent_answers),
            };
            let patient = self.patient_state(resident.id)?;
            out.push(OutboxItem {
                outbox_id,
                record,
                resident,
                if_match,
                sent_answers,
                patient,
                attempts,
            });
        }
        Ok(out)
    }

    /// Reading for upload is audited when the upload is confirmed (`mark_sent`).
    fn record_for_upload(&self, id: i64) -> Result<Record> {
        self.conn()
            .prepare_cached(
                "SELECT id, uuid, resident_id, form_id, form_version, record_date, author, created_at, updated_at
                 FROM records WHERE id = ?1",
            )?
            .query_row(params![id], |r| {
                Ok(Record {
                    id: r.get(0)?,
                    uuid: r.get(1)?,
                    resident_id: r.get(2)?,
                    form_id: r.get(3)?,
                    form_version: r.get(4)?,
                    status: RecordStatus::Final,
                    answers: Answers::new(),
                    record_date: r.get(5)?,
                    focus: None,
                    author: r.get(6)?,
                    created_at: r.get(7)?,
                    updated_at: r.get(8)?,
                    finalized_at: None,
                    revision: 0,
                })
            })
            .optional()?
            .ok_or(StoreError::NotFound)
    }

    pub fn patient_state(&self, resident_id: i64) -> Result<PatientState> {
        Ok(self
            .conn()
            .prepare_cached("SELECT origin, sent_hash, server_version FROM sync_residents WHERE resident_id = ?1")?
            .query_row(params![resident_id], |r| {
                let origin: String = r.get(0)?;
                Ok(PatientState {
                    from_platform: origin == "platform",
                    sent_hash: r.get(1)?,
                    server_version: r.get(2)?,
                })
            })
            .optional()?
            .unwrap_or_default())
    }

    /// Records what the server confirmed, for a whole batch in one
    /// transaction; older unsent revisions of the same records are dropped
    /// (the newer revision replaces them on the server).
    pub fn mark_sent(&mut self, actor: &Actor, sent: &[Sent], at: DateTime<Utc>) -> Result<()> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_text(chrono::Local::now());
        // Cached statements: this runs once per record of every batch.
        for s in sent {
            let record_id: i64 = tx
                .prepare_cached(
                    "UPDATE outbox SET state = 'sent', server_version = ?2, attempts = attempts + 1, last_error = NULL,
                         next_attempt_at = NULL, updated_at = ?3 WHERE id = ?1 RETURNING record_id",
                )?
                .query_row(params![s.outbox_id, s.server_version, now], |r| r.get(0))?;
            tx.prepare_cached(
                "DELETE FROM outbox WHERE record_id = ?1 AND id != ?2 AND state IN ('pending', 'failed')
                   AND revision < (SELECT revision FROM outbox WHERE id = ?2)",
            )?
            .execute(params![record_id, s.outbox_id])?;
            super::conflicts::note_sent(&tx, s.outbox_id, s.server_version.as_deref(), &now)?;
            if let Some((resident_id, hash, version)) = &s.patient {
                tx.prepare_cached(
                    "INSERT INTO sync_residents (resident_id, origin, sent_hash, server_version, updated_at)
                     VALUES (?1, 'local', ?2, ?3, ?4)
                     ON CONFLICT(resident_id) DO UPDATE SET sent_hash = ?2, server_version = ?3, updated_at = ?4",
                )?
                .execute(params![resident_id, hash, version, now])?;
            }
            audit::append(&tx, actor, "upload", "record", &record_id.to_string())?;
        }
        if !sent.is_empty() {
            set(&tx, LAST_SUCCESS, &utc_text(at))?;
            tx.execute("DELETE FROM settings WHERE key = ?1", params![LAST_ERROR])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A try that may succeed later (network, server busy): stays pending.
    pub fn mark_retry(&mut self, ids: &[i64], reason: &str, next_attempt_at: DateTime<Utc>) -> Result<()> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_text(chrono::Local::now());
        for id in ids {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3, updated_at = ?4
                 WHERE id = ?1 AND state = 'pending'",
                params![id, reason, utc_text(next_attempt_at), now],
            )?;
        }
        set(&tx, LAST_ERROR, reason)?;
        tx.commit()?;
        Ok(())
    }

    /// The server refused this revision: it waits for a person (`failed`) or,
    /// for a version clash, for someone to reconcile it (`conflict`).
    pub fn mark_refused(&mut self, id: i64, conflict: bool, reason: &str) -> Result<()> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE outbox SET state = ?2, attempts = attempts + 1, last_error = ?3, next_attempt_at = NULL, updated_at = ?4
             WHERE id = ?1",
            params![id, if conflict { "conflict" } else { "failed" }, reason, now_text(chrono::Local::now())],
        )?;
        set(&tx, LAST_ERROR, reason)?;
        tx.commit()?;
        Ok(())
    }

    /// Remembers a problem that concerns no particular record (wrong token,
    /// server unreachable) for the status line.
    pub fn note_sync_error(&self, reason: &str) -> Result<()> {
        set(self.conn(), LAST_ERROR, reason)
    }

    /// Puts failed rows back in the queue (after the cause was fixed on the
    /// server or in the configuration); returns how many.
    pub fn retry_failed(&self) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = NULL, updated_at = ?1 WHERE state = 'failed'",
            params![now_text(chrono::Local::now())],
        )?)
    }

    pub fn outbox_status(&self) -> Result<OutboxStatus> {
        let mut s: OutboxStatus = self.conn().query_row(
            "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'failed'),
                    count(*) FILTER (WHERE state = 'conflict'), count(*) FILTER (WHERE state = 'sent'),
                    min(next_attempt_at) FILTER (WHERE state = 'pending')
             FROM outbox",
            [],
            |r| {
                Ok(OutboxStatus {
                    pending: r.get(0)?,
                    failed: r.get(1)?,
                    conflict: r.get(2)?,
                    sent: r.get(3)?,
                    next_attempt_at: r.get(4)?,
                    ..Default::default()
                })
            },
        )?;
        s.last_success = self.setting(LAST_SUCCESS)?;
        s.last_error = self.setting(LAST_ERROR)?;
        Ok(s)
    }

    /// Rows in the given states, oldest first, for the sync screen.
    pub fn outbox_rows(&self, states: &[&str], limit: usize) -> Result<Vec<OutboxRow>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT o.id, o.record_id, o.revision, o.state, o.attempts, o.last_error, o.next_attempt_at, o.updated_at,
                    r.form_id, r.record_date, s.record_no, s.name
             FROM outbox o JOIN records r ON r.id = o.record_id JOIN residents s ON s.id = r.resident_id
             WHERE o.state IN (SELECT value FROM json_each(?1)) ORDER BY o.id LIMIT ?2",
        )?;
        let states = serde_json::to_string(states).unwrap_or_else(|_| "[]".into());
        let rows = stmt.query_map(params![states, limit as i64], |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                record_id: r.get(1)?,
                revision: r.get(2)?,
                state: r.get(3)?,
                attempts: r.get(4)?,
                last_error: r.get(5)?,
                next_attempt_at: r.get(6)?,
                updated_at: r.get(7)?,
                form_id: r.get(8)?,
                record_date: r.get(9)?,
                record_no: r.get(10)?,
                resident_masked: super::mask_name(&r.get::<_, Option<String>>(11)?.unwrap_or_default()),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// A local resident with this UUID, if any.
    pub fn resident_by_uuid(&self, uuid: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row("SELECT id FROM residents WHERE uuid = ?1", params![uuid], |r| r.get(0))
            .optional()?)
    }

    /// Brings a resident down from the platform with their recent records:
    /// the same UUIDs as on the platform, marked so they are never uploaded
    /// back as if this site owned them, and no outbox rows. Records already
    /// here are left as they are. Returns the local resident id.
    pub fn import_from_platform(
        &mut self,
        actor: &Actor,
        uuid: &str,
        record_no: &str,
        fields: &ResidentFields,
        records: &[FetchedRecord],
    ) -> Result<i64> {
        let settings = self.care.clone();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_text(chrono::Local::now());
        let existing: Option<i64> = tx
            .query_row("SELECT id FROM residents WHERE uuid = ?1", params![uuid], |r| r.get(0))
            .optional()?;
        let resident_id = match existing {
            Some(id) => id,
            None => {
                // A resident here holding the number is renumbered (`serials`).
                let record_no = super::serials::make_room(&tx, actor, uuid, record_no)?;
                tx.execute(
                    "INSERT INTO residents (uuid, record_no, status, created_at, updated_at, record_no_provisional)
                     VALUES (?1, ?2, 'active', ?3, ?3, ?4)",
                    params![uuid, record_no, now, super::serials::is_provisional(&record_no)],
                )?;
                tx.last_insert_rowid()
            }
        };
        super::residents::update_fields(&tx, resident_id, fields, true)?;
        tx.execute(
            "INSERT INTO sync_residents (resident_id, origin, updated_at) VALUES (?1, 'platform', ?2)
             ON CONFLICT(resident_id) DO UPDATE SET origin = 'platform', updated_at = ?2",
            params![resident_id, now],
        )?;
        insert_fetched(&tx, resident_id, records, &now)?;
        super::care::refresh(&tx, resident_id, &settings)?;
        audit::append(&tx, actor, "fetch", "resident", &resident_id.to_string())?;
        tx.commit()?;
        Ok(resident_id)
    }

    /// Records another PC or unit made for residents already here, brought
    /// down at sync: added (never over a record this PC has), the derived
    /// tables refreshed, audited. Returns how many were new.
    pub fn add_platform_records(&mut self, actor: &Actor, by_resident: &[(i64, Vec<FetchedRecord>)]) -> Result<usize> {
        let settings = self.care.clone();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_text(chrono::Local::now());
        let mut added = 0;
        for (resident_id, records) in by_resident {
            let n = insert_fetched(&tx, *resident_id, records, &now)?;
            if n > 0 {
                super::care::refresh(&tx, *resident_id, &settings)?;
                audit::append(&tx, actor, "pull", "resident", &resident_id.to_string())?;
                added += n;
            }
        }
        tx.commit()?;
        Ok(added)
    }
}

/// Inserts fetched records a resident does not have yet (by uuid).
fn insert_fetched(tx: &rusqlite::Connection, resident_id: i64, records: &[FetchedRecord], now: &str) -> Result<usize> {
    let mut added = 0;
    for r in records {
        tx.execute(
            "INSERT OR IGNORE INTO form_versions (form_id, version, source, first_used) VALUES (?1, ?2, ?3, ?4)",
            params![r.def.id, r.def.version, r.source, now],
        )?;
        let json = serde_json::to_string(&r.answers).unwrap_or_else(|_| "{}".into());
        let finalized = r.finalized_at.clone().unwrap_or_else(|| now.to_string());
        let inserted = tx.execute(
                "INSERT OR IGNORE INTO records (uuid, resident_id, form_id, form_version, status, answers, record_date, author,
                     created_at, updated_at, finalized_at)
                 VALUES (?1, ?2, ?3, ?4, 'final', ?5, ?6, ?7, ?8, ?8, ?9)",
                params![r.uuid, resident_id, r.def.id, r.def.version, json, r.record_date, r.author, now, finalized],
            )?;
        if inserted == 1 {
            let record_id = tx.last_insert_rowid();
            tx.execute(
                    "INSERT INTO record_revisions (record_id, revision, answers, author, finalized_at) VALUES (?1, 1, ?2, ?3, ?4)",
                    params![record_id, json, r.author, finalized],
                )?;
            super::conflicts::note_fetched(tx, record_id, r.server_version.as_deref(), &json, now)?;
            added += 1;
        }
    }
    Ok(added)
}

fn set(conn: &rusqlite::Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}
