//! Saving a draft a change at a time. An autosave used to rewrite the
//! record's whole answers — about 10 KB of JSON by the end of the health
//! exam, several encrypted pages — every time an item was left. It now
//! appends one small row holding only the items that changed since the last
//! save, committed with its audit entry like any save, so a crash between
//! saves loses nothing that was saved.
//!
//! Reading a draft replays its journal over the stored answers
//! ([`replay`], from `Store::record`). Reopening a draft folds the journal
//! into the answers ([`Store::fold_draft_journal`]), and finalizing or a
//! whole save (`records.rs`) writes all the answers and empties it, so a
//! journal holds at most one sitting's saves. Final records have none. The
//! rows go with their record when a draft is abandoned (`ON DELETE CASCADE`).

use super::residents::update_fields;
use super::{audit, now_text, Actor, Permission, Result, Save, Store, StoreError};
use crate::form::answers::Answer;
use crate::form::Answers;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::BTreeMap;

/// The items that differ between two sets of answers: the new answer, or
/// None where one was removed. Serialized as a JSON object (`null` for a
/// removal), which is what a journal row holds.
pub fn changes<'a>(before: &'a Answers, after: &'a Answers) -> BTreeMap<&'a str, Option<&'a Answer>> {
    let mut out = BTreeMap::new();
    for (path, answer) in after.iter() {
        if before.get(path) != Some(answer) {
            out.insert(path.as_str(), Some(answer));
        }
    }
    for (path, _) in before.iter() {
        if after.get(path).is_none() {
            out.insert(path.as_str(), None);
        }
    }
    out
}

/// Replays record `id`'s journal, oldest first, over `answers` and `focus`
/// (the last save's focus wins). A row that cannot be read is skipped, as a
/// record whose JSON cannot be read opens empty (`records.rs`).
pub(super) fn replay(conn: &Connection, id: i64, answers: &mut Answers, focus: &mut Option<String>) -> Result<usize> {
    let mut stmt = conn.prepare_cached("SELECT focus, changes FROM draft_journal WHERE record_id = ?1 ORDER BY seq")?;
    let mut rows = stmt.query(params![id])?;
    let mut n = 0;
    while let Some(row) = rows.next()? {
        n += 1;
        *focus = row.get(0)?;
        let text: String = row.get(1)?;
        let Ok(changed) = serde_json::from_str::<BTreeMap<String, Option<Answer>>>(&text) else {
            continue;
        };
        for (path, answer) in changed {
            answers.put(&path, answer);
        }
    }
    Ok(n)
}

/// Forgets record `id`'s journal; called where all its answers are written.
pub(super) fn clear(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM draft_journal WHERE record_id = ?1")?
        .execute(params![id])?;
    Ok(())
}

impl Store {
    /// Saves draft `id` as [`Store::save_draft`] does (same checks, same
    /// audit entry), writing only the items that differ from `base`: the
    /// answers as the caller last saved or read them. A `base` that is not
    /// what is stored gives a wrong draft, so a caller unsure of it uses
    /// `save_draft`.
    pub fn save_draft_changes(&mut self, actor: &Actor, id: i64, base: &Answers, save: &Save) -> Result<()> {
        actor.require(Permission::WriteRecords)?;
        let changed = serde_json::to_string(&changes(base, &save.answers)).map_err(|_| StoreError::InvalidInput)?;
        let now = now_text(chrono::Local::now());
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (status, resident_id): (String, i64) = tx
            .prepare_cached("SELECT status, resident_id FROM records WHERE id = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if status == "final" {
            return Err(StoreError::AlreadyFinal);
        }
        let seq: i64 = tx
            .prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM draft_journal WHERE record_id = ?1")?
            .query_row(params![id], |r| r.get(0))?;
        tx.prepare_cached(
            "INSERT INTO draft_journal (record_id, seq, at, focus, changes) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![id, seq, now, save.focus, changed])?;
        // The time keeps its length, and SQLite then overwrites only the page
        // holding it: the pages of the answers are not written again. The
        // date is set only when it changed, or its two indexes are rewritten.
        tx.prepare_cached("UPDATE records SET updated_at = ?2 WHERE id = ?1")?
            .execute(params![id, now])?;
        tx.prepare_cached("UPDATE records SET record_date = ?2 WHERE id = ?1 AND record_date IS NOT ?2")?
            .execute(params![id, save.record_date])?;
        if let Some(fields) = &save.resident {
            update_fields(&tx, resident_id, fields, false)?;
        }
        audit::append(&tx, actor, "edit", "record", &id.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Writes draft `id`'s journal into its stored answers and empties it,
    /// in one transaction; true if there was anything to fold. Done when a
    /// draft is reopened, so its journal never outgrows a sitting. Not
    /// audited: the answers are the same, and each save was audited. Left
    /// to those who may write records (a viewer's reading replays the
    /// journal instead), and not done on a draft whose stored JSON cannot
    /// be read.
    pub fn fold_draft_journal(&mut self, actor: &Actor, id: i64) -> Result<bool> {
        if !actor.role.allows(Permission::WriteRecords) {
            return Ok(false);
        }
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored: Option<(String, Option<String>)> = tx
            .query_row(
                "SELECT answers, focus FROM records WHERE id = ?1 AND status = 'draft'
                   AND EXISTS (SELECT 1 FROM draft_journal WHERE record_id = ?1)",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((json, mut focus)) = stored else {
            return Ok(false);
        };
        let Ok(mut answers) = serde_json::from_str::<Answers>(&json) else {
            return Ok(false);
        };
        replay(&tx, id, &mut answers, &mut focus)?;
        let json = serde_json::to_string(&answers).map_err(|_| StoreError::InvalidInput)?;
        tx.execute(
            "UPDATE records SET answers = ?2, focus = ?3 WHERE id = ?1",
            params![id, json, focus],
        )?;
        clear(&tx, id)?;
        tx.commit()?;
        Ok(true)
    }

    /// Rows in draft `id`'s journal (for tests and diagnosis).
    pub fn draft_journal_len(&self, id: i64) -> Result<i64> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM draft_journal WHERE record_id = ?1",
            params![id],
            |r| r.get(0),
        )?)
    }

    /// The items draft `id`'s journal row `seq` holds, as JSON (for tests
    /// and diagnosis: which items a save wrote).
    pub fn draft_journal_row(&self, id: i64, seq: i64) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT changes FROM draft_journal WHERE record_id = ?1 AND seq = ?2",
                params![id, seq],
                |r| r.get(0),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_hold_what_differs_and_removals_as_null() {
        let mut before = Answers::new();
        before.set_text("height", "160");
        before.set_text("weight", "55");
        before.set_codes("symptoms", vec!["1".into()]);
        let mut after = before.clone();
        after.set_text("weight", "56");
        after.remove("height");
        after.set_codes("symptoms", vec!["1".into(), "3".into()]);
        after.set_text("waist", "80");
        let json = serde_json::to_string(&changes(&before, &after)).unwrap();
        assert_eq!(
            json,
            r#"{"height":null,"symptoms":["1","3"],"waist":"80","weight":"56"}"#
        );
        assert!(changes(&after, &after).is_empty());
    }
}
