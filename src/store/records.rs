//! Records: a form filled for a resident. Drafts are saved as typed (even
//! invalid), finalizing is one transaction that also snapshots the revision
//! and queues the upload, and amending a final record starts a new revision
//! while the old one stays in `record_revisions`.

use super::residents::{update_fields, ResidentFields};
use super::{audit, now_text, Actor, Result, Store, StoreError};
use crate::form::{Answers, FormDef};
use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

/// The record types are the domain's (shared with the FHIR mapping); this
/// module reads and writes them.
pub use crate::domain::{Record, RecordStatus};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordSummary {
    pub id: i64,
    pub form_id: String,
    pub form_version: String,
    pub status: RecordStatus,
    pub record_date: Option<String>,
    /// The login of whoever last wrote it.
    pub author: String,
    /// Their name as the timeline shows it (the login if not a local account).
    pub author_name: String,
    pub updated_at: String,
    pub revision: i64,
}

/// What is saved with every change to a record. `Debug` is derived: the
/// answers and the resident's fields print redacted by their own types.
#[derive(Debug, Clone, Default)]
pub struct Save {
    pub answers: Answers,
    pub focus: Option<String>,
    pub record_date: Option<String>,
    /// For registration forms: the resident's attributes as now typed.
    pub resident: Option<ResidentFields>,
}

const COLUMNS: &str = "id, uuid, resident_id, form_id, form_version, status, answers, record_date, focus, author,
     created_at, updated_at, finalized_at, revision";

fn record_from_row(r: &Row) -> rusqlite::Result<Record> {
    let answers: String = r.get(6)?;
    let status: String = r.get(5)?;
    Ok(Record {
        id: r.get(0)?,
        uuid: r.get(1)?,
        resident_id: r.get(2)?,
        form_id: r.get(3)?,
        form_version: r.get(4)?,
        status: RecordStatus::parse(&status),
        // A record whose JSON cannot be read still opens, empty, rather than
        // locking the resident's page; the text stays in the database.
        answers: serde_json::from_str(&answers).unwrap_or_default(),
        record_date: r.get(7)?,
        focus: r.get(8)?,
        author: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
        finalized_at: r.get(12)?,
        revision: r.get(13)?,
    })
}

fn answers_json(a: &Answers) -> String {
    serde_json::to_string(a).unwrap_or_else(|_| "{}".into())
}

impl Store {
    /// Keeps the text of a form version the first time a record uses it.
    fn remember_form(conn: &rusqlite::Connection, def: &FormDef, source: &str) -> Result<()> {
        conn.execute(
            "INSERT OR IGNORE INTO form_versions (form_id, version, source, first_used) VALUES (?1, ?2, ?3, ?4)",
            params![def.id, def.version, source, now_text(chrono::Local::now())],
        )?;
        Ok(())
    }

    pub fn form_source(&self, form_id: &str, version: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT source FROM form_versions WHERE form_id = ?1 AND version = ?2",
                params![form_id, version],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn create_record(&mut self, actor: &Actor, resident_id: i64, def: &FormDef, source: &str) -> Result<Record> {
        actor.require(super::Permission::WriteRecords)?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Self::remember_form(&tx, def, source)?;
        let now = now_text(chrono::Local::now());
        // Time-ordered ids (v7), like residents': cheap index inserts here and on the platform.
        tx.execute(
            "INSERT INTO records (uuid, resident_id, form_id, form_version, status, answers, author, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'draft', '{}', ?5, ?6, ?6)",
            params![uuid::Uuid::now_v7().to_string(), resident_id, def.id, def.version, actor.user, now],
        )?;
        let id = tx.last_insert_rowid();
        audit::append(&tx, actor, "create", "record", &id.to_string())?;
        tx.commit()?;
        self.record_unaudited(id)
    }

    fn record_unaudited(&self, id: i64) -> Result<Record> {
        let sql = format!("SELECT {COLUMNS} FROM records WHERE id = ?1");
        let mut record = self
            .conn()
            .query_row(&sql, params![id], record_from_row)
            .optional()?
            .ok_or(StoreError::NotFound)?;
        if record.status == RecordStatus::Draft {
            // Saves since the draft was last folded (`draft_journal.rs`).
            super::draft_journal::replay(self.conn(), id, &mut record.answers, &mut record.focus)?;
        }
        Ok(record)
    }

    /// Opens a record (audited as a view).
    pub fn record(&self, actor: &Actor, id: i64) -> Result<Record> {
        actor.require(super::Permission::ReadRecords)?;
        let r = self.record_unaudited(id)?;
        audit::append(self.conn(), actor, "view", "record", &id.to_string())?;
        Ok(r)
    }

    /// Persists a draft as typed. Refused for a final record.
    pub fn save_draft(&mut self, actor: &Actor, id: i64, save: &Save) -> Result<()> {
        actor.require(super::Permission::WriteRecords)?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (status, resident_id): (String, i64) = tx.query_row(
            "SELECT status, resident_id FROM records WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if status == "final" {
            return Err(StoreError::AlreadyFinal);
        }
        tx.execute(
            "UPDATE records SET answers = ?2, focus = ?3, record_date = ?4, updated_at = ?5 WHERE id = ?1",
            params![
                id,
                answers_json(&save.answers),
                save.focus,
                save.record_date,
                now_text(chrono::Local::now())
            ],
        )?;
        // All the answers are written: the journal's changes are in them.
        super::draft_journal::clear(&tx, id)?;
        if let Some(fields) = &save.resident {
            update_fields(&tx, resident_id, fields, false)?;
        }
        audit::append(&tx, actor, "edit", "record", &id.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Makes a record final: the answers, a revision snapshot, the resident's
    /// programme membership and visit facts (`care.rs`, derived from the
    /// records themselves, so `_programme` is only a caller's hint) and the
    /// outbox entry commit together or not at all.
    pub fn finalize(&mut self, actor: &Actor, id: i64, save: &Save, _programme: Option<&str>) -> Result<()> {
        actor.require(super::Permission::Finalize)?;
        let settings = self.care.clone();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (status, resident_id, revision): (String, i64, i64) = tx.query_row(
            "SELECT status, resident_id, revision FROM records WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        if status == "final" {
            return Err(StoreError::AlreadyFinal);
        }
        let now = now_text(chrono::Local::now());
        let json = answers_json(&save.answers);
        tx.execute(
            "UPDATE records SET answers = ?2, focus = NULL, record_date = ?3, status = 'final', updated_at = ?4,
                 finalized_at = ?4 WHERE id = ?1",
            params![id, json, save.record_date, now],
        )?;
        tx.execute(
            "INSERT INTO record_revisions (record_id, revision, answers, author, finalized_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, revision, json, actor.user, now],
        )?;
        super::draft_journal::clear(&tx, id)?;
        if let Some(fields) = &save.resident {
            update_fields(&tx, resident_id, fields, true)?;
        } else {
            tx.execute(
                "UPDATE residents SET updated_at = ?2 WHERE id = ?1",
                params![resident_id, now],
            )?;
        }
        super::care::refresh(&tx, resident_id, &settings)?;
        tx.execute(
            "INSERT INTO outbox (record_id, revision, state, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?3)",
            params![id, revision, now],
        )?;
        audit::append(&tx, actor, "finalize", "record", &id.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Reopens a final record for correction as a new draft revision; the
    /// finalized revision stays in `record_revisions`.
    pub fn amend(&mut self, actor: &Actor, id: i64) -> Result<Record> {
        actor.require(super::Permission::WriteRecords)?;
        let settings = self.care.clone();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE records SET status = 'draft', revision = revision + 1, updated_at = ?2 WHERE id = ?1 AND status = 'final'",
            params![id, now_text(chrono::Local::now())],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        let resident_id: i64 = tx.query_row("SELECT resident_id FROM records WHERE id = ?1", params![id], |r| {
            r.get(0)
        })?;
        super::care::refresh(&tx, resident_id, &settings)?;
        audit::append(&tx, actor, "amend", "record", &id.to_string())?;
        tx.commit()?;
        self.record_unaudited(id)
    }

    /// A record's revisions (number, time finalized).
    pub fn revisions(&self, actor: &Actor, id: i64) -> Result<Vec<(i64, String)>> {
        actor.require(super::Permission::ReadRecords)?;
        self.count_read("timeline");
        let mut stmt = self
            .conn()
            .prepare("SELECT revision, finalized_at FROM record_revisions WHERE record_id = ?1 ORDER BY revision")?;
        let rows = stmt.query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// A resident's timeline, newest first. Counted for the next
    /// [`Store::audit_list_reads`] (the page's opening is audited at once).
    pub fn records_of(&self, actor: &Actor, resident_id: i64) -> Result<Vec<RecordSummary>> {
        actor.require(super::Permission::ReadRecords)?;
        self.count_read("timeline");
        let mut stmt = self.conn().prepare_cached(
            "SELECT r.id, r.form_id, r.form_version, r.status, r.record_date, r.author, r.updated_at, r.revision,
                    coalesce(u.display_name, r.author)
             FROM records r LEFT JOIN users u ON u.login = r.author
             WHERE r.resident_id = ?1 ORDER BY coalesce(r.record_date, substr(r.created_at, 1, 10)) DESC, r.id DESC",
        )?;
        let rows = stmt.query_map(params![resident_id], |r| {
            let status: String = r.get(3)?;
            Ok(RecordSummary {
                id: r.get(0)?,
                form_id: r.get(1)?,
                form_version: r.get(2)?,
                status: RecordStatus::parse(&status),
                record_date: r.get(4)?,
                author: r.get(5)?,
                updated_at: r.get(6)?,
                revision: r.get(7)?,
                author_name: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Uploads not yet confirmed by the platform.
    pub fn pending_outbox(&self) -> Result<i64> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM outbox WHERE state IN ('pending', 'failed')",
            [],
            |r| r.get(0),
        )?)
    }

    pub fn record_count(&self) -> Result<(i64, i64)> {
        Ok(self.conn().query_row(
            "SELECT count(*) FILTER (WHERE status = 'draft'), count(*) FILTER (WHERE status = 'final') FROM records",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Registry;
    use crate::store::SiteConfig;

    /// A full disk as SQLite meets it (SQLITE_FULL), made by capping the
    /// database at the pages it has: a draft that needs more space is
    /// refused with the disk-full message, the stored draft stays as it was,
    /// and once there is room again the same save goes through.
    #[test]
    fn a_full_disk_refuses_the_save_and_keeps_the_last_draft() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("jkda.db")).unwrap();
        let actor = Actor::new("test");
        let site = SiteConfig {
            division: "220602".into(),
            township: "101".into(),
            village: "101".into(),
            name: "测试".into(),
        };
        let reg = Registry::embedded();
        let def = reg.get("hypertension-followup").unwrap().clone();
        let src = reg.source("hypertension-followup").unwrap().to_string();
        let resident = store.create_resident(&actor, &site).unwrap();
        let record = store.create_record(&actor, resident.id, &def, &src).unwrap();
        let mut first = Save::default();
        first.answers.set_text("bp.systolic", "135");
        store.save_draft(&actor, record.id, &first).unwrap();

        let pages: i64 = store.conn().query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        store.conn().pragma_update(None, "max_page_count", pages).unwrap();
        let mut big = first.clone();
        big.answers.set_text("remarks", &"备注".repeat(20_000));
        let err = store.save_draft(&actor, record.id, &big).unwrap_err();
        assert!(matches!(err, StoreError::DiskFull), "{err:?}");
        assert_eq!(err.message().key, "store.disk_full");
        let kept = store.record(&actor, record.id).unwrap();
        assert_eq!(kept.answers.text("bp.systolic"), Some("135"));
        assert_eq!(kept.answers.text("remarks"), None);

        store
            .conn()
            .pragma_update(None, "max_page_count", 1_000_000_000)
            .unwrap();
        store.save_draft(&actor, record.id, &big).unwrap();
        let stored = store.record(&actor, record.id).unwrap();
        assert_eq!(stored.answers.text("remarks").map(|s| s.chars().count()), Some(40_000));
    }
}
