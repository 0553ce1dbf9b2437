//! A newer version of a record this PC holds, met when pull or
//! `residents fetch` reads the platform (issue 14, part 3): an amendment
//! made at another PC or unit. With nothing of this PC's own waiting for
//! the record it becomes the current revision here (ours stays in the
//! history, as taking the platform's in a clash does); otherwise the sync
//! side records a clash for a person (`sync::amended`). Never silent over
//! local work.

use super::conflicts::{server_state, set_server_state, to_json, NewRevision};
use super::{audit, now_text, Actor, Result, ServerCopy, Store};
use crate::form::Answers;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// What became of a platform version of a record held here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// Not newer than the version this PC knows the platform holds (or the
    /// same answers): nothing changed here.
    Known,
    /// Taken as the record's current revision.
    Taken,
    /// The record has a revision of its own waiting to go up (pending,
    /// failed or already in a clash): this outbox row is to be marked as a
    /// clash with the platform's copy, as the uploader does on a 412.
    Clash { outbox_id: i64 },
    /// An amendment is open here: left alone; its upload carries If-Match
    /// of the older version, so the platform refuses it and the clash is
    /// kept for a person then.
    AmendmentOpen,
}

/// Whether platform version `theirs` is newer than `known`. FHIR version
/// ids are opaque; numbers (the hub's, HAPI's) compare as numbers, anything
/// else as different-is-newer (the platform's current copy is the latest).
fn newer(theirs: &str, known: &str) -> bool {
    match (theirs.parse::<u64>(), known.parse::<u64>()) {
        (Ok(t), Ok(k)) => t > k,
        _ => theirs != known,
    }
}

/// The platform version this PC last knew for a record: `record_server`,
/// or for records from before it was kept the last confirmed upload.
fn known_version(tx: &Connection, record_id: i64) -> Result<Option<String>> {
    if let Some((v, _)) = server_state(tx, record_id)? {
        return Ok(Some(v));
    }
    Ok(tx
        .query_row(
            "SELECT server_version FROM outbox WHERE record_id = ?1 AND state = 'sent' AND server_version IS NOT NULL
             ORDER BY revision DESC LIMIT 1",
            params![record_id],
            |r| r.get(0),
        )
        .optional()?)
}

impl Store {
    /// The Patient ids (`residents.uuid`) of the residents here the platform
    /// knows: uploaded from here (the platform confirmed their Patient) or
    /// brought down from it. What a pull asks the platform about; a resident
    /// registered here and never uploaded has nothing there to pull. Ids
    /// only, no personal data: not a read of anyone's record.
    pub fn platform_patient_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT r.uuid FROM residents r JOIN sync_residents s ON s.resident_id = r.id ORDER BY r.id")?;
        let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Whether platform version `version` of a record is newer than the
    /// one this PC knows (true when it knows none): worth applying.
    pub fn is_newer_platform_version(&self, record_id: i64, version: &str) -> Result<bool> {
        Ok(known_version(self.conn(), record_id)?.is_none_or(|k| newer(version, &k)))
    }

    /// Applies platform copy `server` of record `record_id` (see
    /// [`Incoming`]); `record_date` is the date the form's date item gives
    /// the platform's answers. Audited when taken.
    pub fn take_platform_version(
        &mut self,
        actor: &Actor,
        record_id: i64,
        server: &ServerCopy,
        record_date: Option<&str>,
    ) -> Result<Incoming> {
        let Some(version) = server.version.as_deref() else {
            return Ok(Incoming::Known);
        };
        let settings = self.care.clone();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if known_version(&tx, record_id)?.is_some_and(|k| !newer(version, &k)) {
            return Ok(Incoming::Known);
        }
        let waiting: Option<(i64, i64, String)> = tx
            .query_row(
                "SELECT id, revision, state FROM outbox
                 WHERE record_id = ?1 AND state IN ('pending', 'failed', 'conflict') ORDER BY revision DESC LIMIT 1",
                params![record_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((outbox_id, revision, state)) = waiting {
            // A clash already kept with this very version needs nothing more.
            let kept: Option<String> = tx
                .query_row(
                    "SELECT server_version FROM conflicts WHERE record_id = ?1 AND revision = ?2
                     ORDER BY id DESC LIMIT 1",
                    params![record_id, revision],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            if state == "conflict" && kept.as_deref() == Some(version) {
                return Ok(Incoming::Known);
            }
            // Our own upload that got through with its answer lost: the
            // uploader's next try confirms it (no clash for a person).
            let mine: String = tx.query_row(
                "SELECT answers FROM record_revisions WHERE record_id = ?1 AND revision = ?2",
                params![record_id, revision],
                |r| r.get(0),
            )?;
            if serde_json::from_str::<Answers>(&mine).unwrap_or_default() == server.answers {
                return Ok(Incoming::Known);
            }
            return Ok(Incoming::Clash { outbox_id });
        }
        let (status, revision, answers): (String, i64, String) = tx.query_row(
            "SELECT status, revision, answers FROM records WHERE id = ?1",
            params![record_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        if status != "final" {
            return Ok(Incoming::AmendmentOpen);
        }
        let now = now_text(chrono::Local::now());
        let json = to_json(&server.answers);
        let taken = serde_json::from_str::<Answers>(&answers).unwrap_or_default() != server.answers;
        if taken {
            let author = server.author.as_deref().unwrap_or("platform");
            NewRevision {
                record_id,
                next: revision + 1,
                answers: &server.answers,
                record_date,
                author,
                at: server.at.as_deref().unwrap_or(&now),
            }
            .put(&tx, &settings, &now)?;
            audit::append(&tx, actor, "platform_amendment", "record", &record_id.to_string())?;
        }
        set_server_state(&tx, record_id, version, &json, &now)?;
        tx.commit()?;
        Ok(if taken { Incoming::Taken } else { Incoming::Known })
    }
}

#[cfg(test)]
mod tests {
    use super::newer;

    #[test]
    fn numeric_versions_compare_as_numbers_and_others_by_difference() {
        assert!(newer("10", "9"));
        assert!(!newer("2", "2") && !newer("2", "3"));
        assert!(newer("W/abc", "W/abd") && !newer("abc", "abc"));
    }
}
