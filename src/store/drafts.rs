//! Drafts that will never be finished: a registration the person refused,
//! a visit entered for the wrong resident. Abandoning one deletes the draft
//! (and a registration's draft resident with it), so it leaves every list,
//! and keeps who abandoned what and why in `abandoned_drafts`, with an
//! audit entry in the same transaction. Only drafts never finalized: an
//! amendment in progress is a revision of a final record, which stays.

use super::{audit, mask_name, now_text, Actor, Permission, Result, Store, StoreError};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

/// Longest reason kept, in characters.
pub const MAX_REASON_CHARS: usize = 200;

/// A draft as a list shows it: the name masked, no identifiers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DraftRow {
    pub id: i64,
    pub form_id: String,
    pub record_no: String,
    pub resident_masked: String,
    /// The resident is being registered (a draft too).
    pub registration: bool,
    pub author: String,
    pub updated_at: String,
}

/// What was abandoned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abandoned {
    pub record_id: i64,
    pub form_id: String,
    /// The draft resident of a registration went too.
    pub resident_removed: bool,
}

impl Store {
    /// Drafts never finalized, oldest first. Counted as a list read.
    pub fn drafts(&self, actor: &Actor) -> Result<Vec<DraftRow>> {
        actor.require(Permission::ReadRecords)?;
        self.count_read("search");
        let mut stmt = self.conn().prepare(
            "SELECT r.id, r.form_id, s.record_no, s.name, s.status, r.author, r.updated_at
             FROM records r JOIN residents s ON s.id = r.resident_id
             WHERE r.status = 'draft' AND r.finalized_at IS NULL ORDER BY r.updated_at, r.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(DraftRow {
                id: r.get(0)?,
                form_id: r.get(1)?,
                record_no: r.get(2)?,
                resident_masked: mask_name(&r.get::<_, Option<String>>(3)?.unwrap_or_default()),
                registration: r.get::<_, String>(4)? == "draft",
                author: r.get(5)?,
                updated_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Abandons draft `record_id` for `reason` (1 to [`MAX_REASON_CHARS`]
    /// characters). `AlreadyFinal` for a final record or an amendment in
    /// progress; `InvalidInput` for an empty or too long reason.
    pub fn abandon_draft(&mut self, actor: &Actor, record_id: i64, reason: &str) -> Result<Abandoned> {
        actor.require(Permission::WriteRecords)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(StoreError::InvalidInput);
        }
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: Option<(String, String, i64, String, Option<String>, i64)> = tx
            .query_row(
                "SELECT status, uuid, resident_id, form_id, finalized_at, revision FROM records WHERE id = ?1",
                params![record_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()?;
        let (status, uuid, resident_id, form_id, finalized_at, revision) = found.ok_or(StoreError::NotFound)?;
        if status != "draft" || finalized_at.is_some() || revision > 1 {
            return Err(StoreError::AlreadyFinal);
        }
        let resident_status: String = tx.query_row(
            "SELECT status FROM residents WHERE id = ?1",
            params![resident_id],
            |r| r.get(0),
        )?;
        let others: i64 = tx.query_row(
            "SELECT count(*) FROM records WHERE resident_id = ?1 AND id != ?2",
            params![resident_id, record_id],
            |r| r.get(0),
        )?;
        let remove_resident = resident_status == "draft" && others == 0;
        tx.execute("DELETE FROM records WHERE id = ?1", params![record_id])?;
        if remove_resident {
            tx.execute("DELETE FROM resident_keys WHERE resident_id = ?1", params![resident_id])?;
            tx.execute(
                "DELETE FROM sync_residents WHERE resident_id = ?1",
                params![resident_id],
            )?;
            tx.execute("DELETE FROM residents WHERE id = ?1", params![resident_id])?;
        }
        tx.execute(
            "INSERT INTO abandoned_drafts (record_id, uuid, resident_id, form_id, reason, actor, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                record_id,
                uuid,
                resident_id,
                form_id,
                reason,
                actor.user,
                now_text(chrono::Local::now())
            ],
        )?;
        // The program reopens the record it had open; not this one any more.
        tx.execute(
            "DELETE FROM settings WHERE key = 'ui.open_record' AND value = ?1",
            params![record_id.to_string()],
        )?;
        audit::append(&tx, actor, "abandon_draft", "record", &record_id.to_string())?;
        tx.commit()?;
        Ok(Abandoned {
            record_id,
            form_id,
            resident_removed: remove_resident,
        })
    }
}
