//! Version clashes a person resolves (issue 14, part 4). Every record that
//! went to the platform or came from it keeps the platform's version and
//! answers in `record_server`: the next amendment is sent with `If-Match`
//! of that version, so two PCs amending the same record never overwrite
//! each other. When the platform answers 409/412 the uploader keeps its
//! copy here (`conflicts`) next to ours; a person then keeps theirs (sent
//! again over the platform's version), takes the platform's (ours stays in
//! `record_revisions`), or merges item by item — in one audited transaction.

use super::{audit, mask_name, now_text, Actor, Permission, Result, Store, StoreError};
use crate::form::Answers;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// The platform's copy of a record at a clash. `Debug` omits the answers.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerCopy {
    pub version: Option<String>,
    pub answers: Answers,
    /// Who the platform says wrote it (`author.display`).
    pub author: Option<String>,
    /// When the platform last changed it (`meta.lastUpdated`).
    pub at: Option<String>,
    /// The site that sent it, when the server names one (`meta.source`).
    pub site: Option<String>,
}

impl std::fmt::Debug for ServerCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCopy")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// An unresolved clash as a list shows it: the name masked, no identifiers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConflictRow {
    pub record_id: i64,
    /// The local revision the platform refused.
    pub revision: i64,
    pub form_id: String,
    pub form_version: String,
    pub record_date: Option<String>,
    pub record_no: String,
    pub resident_masked: String,
    pub detected_at: String,
    /// The platform's copy was read and kept (it can be compared now).
    pub server_known: bool,
    pub server_version: Option<String>,
    pub server_author: Option<String>,
    pub server_at: Option<String>,
}

/// One clash with both versions. `Debug` omits the answers.
#[derive(Clone)]
pub struct Conflict {
    pub row: ConflictRow,
    pub mine: Answers,
    pub mine_author: String,
    pub mine_at: String,
    pub server: Option<ServerCopy>,
    /// The record changed here since (an amendment under way or finalized
    /// again): resolve after that amendment is finished and synced.
    pub changed_since: bool,
}

impl std::fmt::Debug for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conflict")
            .field("row", &self.row)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// What a person decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Ours, sent again as a new version on top of the platform's.
    Mine,
    /// The platform's replaces ours here; ours stays in the history.
    Theirs,
    /// Item by item: these answers become a new revision, sent on top of
    /// the platform's version.
    Merged(Answers),
}

impl Resolution {
    fn name(&self) -> &'static str {
        match self {
            Resolution::Mine => "mine",
            Resolution::Theirs => "theirs",
            Resolution::Merged(_) => "merged",
        }
    }
}

/// Why a clash cannot be resolved now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unresolvable {
    /// The platform's copy could not be read at the clash: sync again.
    ServerUnknown,
    /// The record changed here since the clash.
    ChangedSince,
}

const ROW_COLUMNS: &str = "o.record_id, o.revision, r.form_id, r.form_version, r.record_date, s.record_no, s.name,
     coalesce(c.detected_at, o.updated_at), c.server_answers IS NOT NULL, c.server_version, c.server_author, c.server_at";

/// Unresolved clashes: the latest conflicting revision of each record, with
/// the newest copy of the platform's kept for it (none when a crash came
/// between marking the row and keeping the copy).
const FROM_CONFLICTS: &str = "FROM outbox o JOIN records r ON r.id = o.record_id JOIN residents s ON s.id = r.resident_id
     LEFT JOIN conflicts c ON c.id = (SELECT max(id) FROM conflicts WHERE record_id = o.record_id AND revision = o.revision)
     WHERE o.state = 'conflict'
       AND o.revision = (SELECT max(revision) FROM outbox WHERE record_id = o.record_id AND state = 'conflict')";

fn row_from(r: &rusqlite::Row) -> rusqlite::Result<ConflictRow> {
    Ok(ConflictRow {
        record_id: r.get(0)?,
        revision: r.get(1)?,
        form_id: r.get(2)?,
        form_version: r.get(3)?,
        record_date: r.get(4)?,
        record_no: r.get(5)?,
        resident_masked: mask_name(&r.get::<_, Option<String>>(6)?.unwrap_or_default()),
        detected_at: r.get(7)?,
        server_known: r.get(8)?,
        server_version: r.get(9)?,
        server_author: r.get(10)?,
        server_at: r.get(11)?,
    })
}

fn parse_answers(json: &str) -> Answers {
    serde_json::from_str(json).unwrap_or_default()
}

pub(super) fn to_json(a: &Answers) -> String {
    serde_json::to_string(a).unwrap_or_else(|_| "{}".into())
}

/// The platform's version and answers of a record as far as this PC knows
/// (None for records from before this was kept: the uploader then falls
/// back to the outbox's last confirmed revision).
pub(super) fn server_state(conn: &Connection, record_id: i64) -> Result<Option<(String, Answers)>> {
    Ok(conn
        .prepare_cached("SELECT version, answers FROM record_server WHERE record_id = ?1")?
        .query_row(params![record_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?
        .map(|(v, a)| (v, parse_answers(&a))))
}

pub(super) fn set_server_state(
    conn: &Connection,
    record_id: i64,
    version: &str,
    answers_json: &str,
    now: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO record_server (record_id, version, answers, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(record_id) DO UPDATE SET version = ?2, answers = ?3, updated_at = ?4",
    )?
    .execute(params![record_id, version, answers_json, now])?;
    Ok(())
}

/// The platform confirmed outbox row `outbox_id` at `version`: it now holds
/// that revision's answers.
pub(super) fn note_sent(conn: &Connection, outbox_id: i64, version: Option<&str>, now: &str) -> Result<()> {
    let Some(version) = version else {
        return Ok(());
    };
    let (record_id, answers): (i64, String) = conn
        .prepare_cached(
            "SELECT o.record_id, v.answers FROM outbox o
             JOIN record_revisions v ON v.record_id = o.record_id AND v.revision = o.revision WHERE o.id = ?1",
        )?
        .query_row(params![outbox_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    set_server_state(conn, record_id, version, &answers, now)
}

/// A record brought down from the platform at `version`.
pub(super) fn note_fetched(
    conn: &Connection,
    record_id: i64,
    version: Option<&str>,
    answers_json: &str,
    now: &str,
) -> Result<()> {
    match version {
        Some(v) => set_server_state(conn, record_id, v, answers_json, now),
        None => Ok(()),
    }
}

/// Answers that become a record's current revision (`next`); the ones
/// before stay in `record_revisions`. Shared by a resolved clash and by an
/// amendment made elsewhere taken at pull or fetch.
pub(super) struct NewRevision<'a> {
    pub record_id: i64,
    pub next: i64,
    pub answers: &'a Answers,
    pub record_date: Option<&'a str>,
    pub author: &'a str,
    /// When it was finalized (here, or on the platform).
    pub at: &'a str,
}

impl NewRevision<'_> {
    /// Writes it and re-derives the resident's care tables (as finalizing does).
    pub(super) fn put(&self, tx: &Connection, settings: &crate::manage::Settings, now: &str) -> Result<()> {
        let json = to_json(self.answers);
        tx.execute(
            "UPDATE records SET answers = ?2, record_date = coalesce(?3, record_date), revision = ?4,
                 updated_at = ?5, finalized_at = ?6 WHERE id = ?1",
            params![self.record_id, json, self.record_date, self.next, now, self.at],
        )?;
        tx.execute(
            "INSERT INTO record_revisions (record_id, revision, answers, author, finalized_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![self.record_id, self.next, json, self.author, self.at],
        )?;
        let resident_id: i64 = tx.query_row(
            "SELECT resident_id FROM records WHERE id = ?1",
            params![self.record_id],
            |r| r.get(0),
        )?;
        super::care::refresh(tx, resident_id, settings)
    }
}

impl Store {
    /// The form (id, version) a record was filled with.
    pub fn record_form(&self, record_id: i64) -> Result<(String, String)> {
        Ok(self.conn().query_row(
            "SELECT form_id, form_version FROM records WHERE id = ?1",
            params![record_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Keeps the platform's copy next to an outbox row the platform refused
    /// with a version clash (`mark_refused` has set its state).
    pub fn keep_conflict(&mut self, outbox_id: i64, server: Option<&ServerCopy>) -> Result<()> {
        let now = now_text(chrono::Local::now());
        self.conn().execute(
            "INSERT INTO conflicts (record_id, revision, server_version, server_answers, server_author, server_at,
                 server_site, detected_at)
             SELECT record_id, revision, ?2, ?3, ?4, ?5, ?6, ?7 FROM outbox WHERE id = ?1",
            params![
                outbox_id,
                server.and_then(|s| s.version.clone()),
                server.map(|s| to_json(&s.answers)),
                server.and_then(|s| s.author.clone()),
                server.and_then(|s| s.at.clone()),
                server.and_then(|s| s.site.clone()),
                now
            ],
        )?;
        Ok(())
    }

    /// Unresolved clashes kept without the platform's copy (its read failed,
    /// or the clash is from before copies were kept): (outbox id, record
    /// id, record uuid), for the uploader to read the copy again. No audit:
    /// identifiers only.
    pub fn conflicts_without_copy(&self) -> Result<Vec<(i64, i64, String)>> {
        let sql = format!("SELECT o.id, o.record_id, r.uuid {FROM_CONFLICTS} AND c.server_answers IS NULL");
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Unresolved clashes, oldest first. Counted as a list read.
    pub fn conflicts(&self, actor: &Actor) -> Result<Vec<ConflictRow>> {
        actor.require(Permission::ReadRecords)?;
        self.count_read("conflicts");
        let sql = format!("SELECT {ROW_COLUMNS} {FROM_CONFLICTS} ORDER BY o.id");
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map([], row_from)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// How many clashes wait for a person (no audit: no record is read).
    pub fn conflict_count(&self) -> Result<i64> {
        let sql = format!("SELECT count(*) {FROM_CONFLICTS}");
        Ok(self.conn().query_row(&sql, [], |r| r.get(0))?)
    }

    /// One record's clash with both versions (audited as a view of the record).
    pub fn conflict(&self, actor: &Actor, record_id: i64) -> Result<Conflict> {
        actor.require(Permission::ReadRecords)?;
        let sql =
            format!("SELECT {ROW_COLUMNS}, c.server_answers, c.server_site {FROM_CONFLICTS} AND o.record_id = ?1");
        let (row, server_answers, site): (ConflictRow, Option<String>, Option<String>) = self
            .conn()
            .query_row(&sql, params![record_id], |r| Ok((row_from(r)?, r.get(12)?, r.get(13)?)))
            .optional()?
            .ok_or(StoreError::NotFound)?;
        let (mine, mine_author, mine_at): (String, String, String) = self.conn().query_row(
            "SELECT answers, author, finalized_at FROM record_revisions WHERE record_id = ?1 AND revision = ?2",
            params![record_id, row.revision],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let (status, revision): (String, i64) = self.conn().query_row(
            "SELECT status, revision FROM records WHERE id = ?1",
            params![record_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let server = server_answers.map(|a| ServerCopy {
            version: row.server_version.clone(),
            answers: parse_answers(&a),
            author: row.server_author.clone(),
            at: row.server_at.clone(),
            site,
        });
        audit::append(self.conn(), actor, "view", "record", &record_id.to_string())?;
        Ok(Conflict {
            changed_since: status != "final" || revision != row.revision,
            row,
            mine: parse_answers(&mine),
            mine_author,
            mine_at,
            server,
        })
    }

    /// Applies a person's decision; `record_date` is the date the form's
    /// date item gives the answers that become current (theirs or merged).
    /// Returns whether something will be uploaded. Refused (with why) when
    /// the platform's copy is unknown or the record changed here since.
    pub fn resolve_conflict(
        &mut self,
        actor: &Actor,
        record_id: i64,
        how: &Resolution,
        record_date: Option<&str>,
    ) -> Result<std::result::Result<bool, Unresolvable>> {
        actor.require(Permission::Finalize)?;
        let c = self.conflict(actor, record_id)?;
        let Some(server) = c.server.as_ref().filter(|s| s.version.is_some()) else {
            return Ok(Err(Unresolvable::ServerUnknown));
        };
        if c.changed_since {
            return Ok(Err(Unresolvable::ChangedSince));
        }
        let settings = self.care.clone();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_text(chrono::Local::now());
        let revision = c.row.revision;
        let outbox_id: i64 = tx.query_row(
            "SELECT id FROM outbox WHERE record_id = ?1 AND revision = ?2 AND state = 'conflict'",
            params![record_id, revision],
            |r| r.get(0),
        )?;
        // A merge that takes every item from the platform is taking theirs;
        // one that takes none is keeping ours.
        let how = match how {
            Resolution::Merged(a) if *a == server.answers => &Resolution::Theirs,
            Resolution::Merged(a) if *a == c.mine => &Resolution::Mine,
            other => other,
        };
        let upload = match how {
            Resolution::Mine => {
                tx.execute(
                    "UPDATE outbox SET state = 'pending', attempts = 0, last_error = NULL, next_attempt_at = NULL,
                         updated_at = ?2 WHERE id = ?1",
                    params![outbox_id, now],
                )?;
                true
            }
            Resolution::Theirs | Resolution::Merged(_) => {
                let (answers, author, at) = match how {
                    Resolution::Merged(a) => (a, actor.user.clone(), now.clone()),
                    _ => (
                        &server.answers,
                        server.author.clone().unwrap_or_else(|| "platform".into()),
                        server.at.clone().unwrap_or_else(|| now.clone()),
                    ),
                };
                let next = revision + 1;
                tx.execute("DELETE FROM outbox WHERE id = ?1", params![outbox_id])?;
                NewRevision {
                    record_id,
                    next,
                    answers,
                    record_date,
                    author: &author,
                    at: &at,
                }
                .put(&tx, &settings, &now)?;
                let merged = matches!(how, Resolution::Merged(_));
                if merged {
                    tx.execute(
                        "INSERT INTO outbox (record_id, revision, state, created_at, updated_at)
                         VALUES (?1, ?2, 'pending', ?3, ?3)",
                        params![record_id, next, now],
                    )?;
                }
                merged
            }
        };
        // Older revisions that never reached the platform are replaced too.
        tx.execute(
            "DELETE FROM outbox WHERE record_id = ?1 AND revision < ?2 AND state IN ('pending', 'failed', 'conflict')",
            params![record_id, revision],
        )?;
        let version = server.version.as_deref().unwrap_or_default();
        set_server_state(&tx, record_id, version, &to_json(&server.answers), &now)?;
        tx.execute(
            "UPDATE conflicts SET resolution = ?2, resolved_by = ?3, resolved_at = ?4
             WHERE record_id = ?1 AND resolved_at IS NULL",
            params![record_id, how.name(), actor.user, now],
        )?;
        audit::append(
            &tx,
            actor,
            &format!("conflict_{}", how.name()),
            "record",
            &record_id.to_string(),
        )?;
        tx.commit()?;
        Ok(Ok(upload))
    }
}
