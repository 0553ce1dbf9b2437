//! Looking at a database without changing it, and copying it while others
//! use it: what `jkda doctor`, the support bundle and `jkda backup` /
//! `restore` need from the store. Nothing here reads a resident's personal
//! data: the checks and counts touch SQLite's pages, the outbox's states and
//! error keys, and counts per status and form.

use super::cipher::{file_kind, quiet, run, sqlcipher_ready, FileKind};
use super::crypt::DbKey;
use super::identify::{is_jkda_schema, NotJkda};
use super::{io_error, Result, Store, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// What the database file looks like from outside, without a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DbFile {
    Missing,
    Empty,
    Plain,
    /// Whole pages of what looks like random bytes: SQLCipher's look.
    Encrypted,
    Damaged,
}

impl DbFile {
    pub fn of(path: &Path) -> std::io::Result<DbFile> {
        Ok(match file_kind(path)? {
            FileKind::New => DbFile::Missing,
            FileKind::Empty => DbFile::Empty,
            FileKind::Plain => DbFile::Plain,
            FileKind::Encrypted => DbFile::Encrypted,
            FileKind::Garbage => DbFile::Damaged,
        })
    }
}

/// Counts that describe a database and nobody in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Statistics {
    pub schema_version: i64,
    pub page_size: i64,
    pub page_count: i64,
    pub freelist_count: i64,
    /// Residents per status (`draft`, `active`, `inactive`).
    pub residents: BTreeMap<String, i64>,
    /// Records per form id, then per status.
    pub records: BTreeMap<String, BTreeMap<String, i64>>,
    pub users: i64,
    pub audit_entries: i64,
    /// Programme memberships not ended.
    pub memberships_active: i64,
}

/// The outbox in numbers, and its errors as message keys without values.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxSummary {
    pub waiting: i64,
    pub failed: i64,
    pub conflict: i64,
    pub sent: i64,
    /// When the oldest record not yet confirmed was queued.
    pub oldest_waiting: Option<String>,
    /// Rows per error key (`sync.err_token`, ...), of rows not yet sent.
    pub error_classes: BTreeMap<String, i64>,
    /// The newest errors first: (when, message key).
    pub last_errors: Vec<(String, String)>,
}

/// The message key of a stored error (`key|detail`), never its detail;
/// text that is not one of ours is only "other".
pub fn error_class(stored: &str) -> String {
    let key = stored.split_once('|').map(|(k, _)| k).unwrap_or("");
    let ours = key.starts_with("sync.err_") && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if ours {
        key.to_string()
    } else {
        "sync.err_other".to_string()
    }
}

impl Store {
    /// Opens a database only to look at it: read-only, no migration, no
    /// journal-mode change, so a database from a newer jkda opens too (its
    /// version is for the caller to judge). The same refusals as
    /// `open_with_key`, and `NotFound` for a missing file.
    pub fn open_read_only(path: &Path, key: Option<&DbKey>) -> Result<Store> {
        sqlcipher_ready();
        let kind = file_kind(path).map_err(|e| io_error(e, path))?;
        let p = || path.to_path_buf();
        match (kind, key) {
            (FileKind::New, _) => return Err(StoreError::NotFound),
            (FileKind::Empty, _) => {
                return Err(StoreError::NotJkda {
                    path: p(),
                    why: NotJkda::Empty,
                })
            }
            (FileKind::Garbage, _) => return Err(StoreError::Corrupt { path: p() }),
            (FileKind::Encrypted, None) => return Err(StoreError::Encrypted { path: p() }),
            (FileKind::Plain, Some(_)) => return Err(StoreError::NotEncrypted { path: p() }),
            _ => {}
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::from(e).with_path(path))?;
        quiet(&conn)?;
        if let Some(key) = key {
            run(&conn, &key.pragma())?;
            run(&conn, "PRAGMA cipher_compatibility = 4")?;
            conn.pragma_update(None, "temp_store", "MEMORY")?;
        }
        conn.busy_timeout(Duration::from_secs(5))?;
        let wrong = |e: rusqlite::Error| match StoreError::from(e) {
            StoreError::Corrupt { .. } if key.is_some() => StoreError::WrongKey { path: p() },
            other => other.with_path(path),
        };
        let version = super::schema::user_version(&conn).map_err(wrong)?;
        if !is_jkda_schema(&conn, version).map_err(wrong)? {
            return Err(StoreError::NotJkda {
                path: p(),
                why: NotJkda::OtherDatabase,
            });
        }
        Ok(Store {
            conn,
            path: p(),
            list_reads: Default::default(),
            care: Default::default(),
        })
    }

    /// `PRAGMA user_version`: the migrations this database has seen.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(super::schema::user_version(self.conn())?)
    }

    /// SQLite's `quick_check` (every page read, and decrypted and its HMAC
    /// checked when encrypted; indexes not matched against their tables):
    /// the problems found, empty when none.
    pub fn quick_check(&self) -> Result<Vec<String>> {
        self.pragma_problems("quick_check")
    }

    pub fn audit_count(&self) -> Result<i64> {
        Ok(self.conn().query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?)
    }

    /// Counts only: nothing that names or identifies anyone.
    pub fn statistics(&self) -> Result<Statistics> {
        let c = self.conn();
        // SQLCipher answers some pragmas (page_size) as text.
        let one = |sql: &str| -> Result<i64> {
            Ok(match c.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))? {
                rusqlite::types::Value::Integer(i) => i,
                rusqlite::types::Value::Text(t) => t.trim().parse().unwrap_or(0),
                _ => 0,
            })
        };
        let mut s = Statistics {
            schema_version: self.schema_version()?,
            page_size: one("PRAGMA page_size")?,
            page_count: one("PRAGMA page_count")?,
            freelist_count: one("PRAGMA freelist_count")?,
            users: one("SELECT count(*) FROM users")?,
            audit_entries: one("SELECT count(*) FROM audit")?,
            ..Default::default()
        };
        let mut stmt = c.prepare("SELECT status, count(*) FROM residents GROUP BY status")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (status, n) = row?;
            s.residents.insert(status, n);
        }
        let mut stmt = c.prepare("SELECT form_id, status, count(*) FROM records GROUP BY form_id, status")?;
        for row in stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
        })? {
            let (form, status, n) = row?;
            s.records.entry(form).or_default().insert(status, n);
        }
        if s.schema_version >= 5 {
            s.memberships_active = one("SELECT count(*) FROM memberships WHERE left_on IS NULL")?;
        }
        Ok(s)
    }

    /// The outbox's states, its oldest waiting row and its errors by key.
    pub fn outbox_summary(&self) -> Result<OutboxSummary> {
        let status = self.outbox_status()?;
        let c = self.conn();
        let oldest: Option<String> = c.query_row(
            "SELECT min(created_at) FROM outbox WHERE state IN ('pending', 'failed', 'conflict')",
            [],
            |r| r.get(0),
        )?;
        let mut out = OutboxSummary {
            waiting: status.pending,
            failed: status.failed,
            conflict: status.conflict,
            sent: status.sent,
            oldest_waiting: oldest,
            ..Default::default()
        };
        let mut stmt = c.prepare("SELECT last_error FROM outbox WHERE state != 'sent' AND last_error IS NOT NULL")?;
        for e in stmt.query_map([], |r| r.get::<_, String>(0))? {
            *out.error_classes.entry(error_class(&e?)).or_default() += 1;
        }
        let mut stmt = c.prepare(
            "SELECT updated_at, last_error FROM outbox WHERE last_error IS NOT NULL ORDER BY updated_at DESC LIMIT 10",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (at, e) = row?;
            out.last_errors.push((at, error_class(&e)));
        }
        if let Some(e) = status.last_error {
            out.last_errors.insert(0, (String::new(), error_class(&e)));
        }
        Ok(out)
    }

    /// Copies the database page by page with SQLite's online backup API
    /// into a new file `dest`, keyed with `key` (the key this database is
    /// encrypted with; None for a plaintext one): SQLCipher encrypts each
    /// page again for the copy, so an encrypted database stays encrypted.
    /// One step copies everything inside one read transaction: other
    /// connections go on writing (WAL), and the copy is the database as it
    /// was when the step began. The copy is left in rollback-journal mode so
    /// that reading it creates no `-wal` or `-shm` beside it.
    pub fn backup_to(&self, dest: &Path, key: Option<&DbKey>) -> Result<()> {
        sqlcipher_ready();
        if dest.exists() {
            return Err(StoreError::AlreadyExists);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut dst = Connection::open_with_flags(dest, flags).map_err(|e| StoreError::from(e).with_path(dest))?;
        crate::private_files::make_private(dest).map_err(|e| io_error(e, dest))?;
        quiet(&dst)?;
        if let Some(key) = key {
            run(&dst, &key.pragma())?;
            run(&dst, "PRAGMA cipher_compatibility = 4")?;
        }
        {
            use rusqlite::backup::{Backup, StepResult};
            let backup = Backup::new(self.conn(), &mut dst)?;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                match backup.step(-1)? {
                    StepResult::Done => break,
                    StepResult::More => {}
                    // A writer holding a lock the read needs (a checkpoint
                    // resetting the WAL): wait a little and go on.
                    _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                    _ => return Err(StoreError::Busy),
                }
            }
        }
        let mode: String = dst.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(StoreError::Busy);
        }
        dst.close().map_err(|(_, e)| StoreError::from(e))?;
        std::fs::File::open(dest).and_then(|f| f.sync_all())?;
        Ok(())
    }

    /// Whether another connection has the database at `path` open: leaving
    /// WAL needs every other connection closed. When none has, the file is
    /// left in rollback-journal mode (jkda sets WAL again at its next open).
    pub fn open_elsewhere(path: &Path, key: Option<&DbKey>) -> Result<bool> {
        sqlcipher_ready();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::from(e).with_path(path))?;
        quiet(&conn)?;
        if let Some(key) = key {
            run(&conn, &key.pragma())?;
            run(&conn, "PRAGMA cipher_compatibility = 4")?;
        }
        conn.busy_timeout(Duration::from_millis(300))?;
        match conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get::<_, String>(0)) {
            Ok(mode) => Ok(!mode.eq_ignore_ascii_case("delete")),
            Err(e) => match StoreError::from(e) {
                StoreError::Busy => Ok(true),
                other => Err(other),
            },
        }
    }

    /// Rows per table, for comparing a copy with what it was made from.
    pub fn table_counts(&self) -> Result<BTreeMap<String, i64>> {
        super::cipher::table_counts(self.conn(), "main")
    }

    /// The site code (division, township, village) in the settings, if set.
    pub fn site_code(&self) -> Result<Option<String>> {
        Ok(self.site()?.map(|s| s.prefix()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_classes_keep_the_key_and_drop_the_detail() {
        assert_eq!(
            error_class("sync.err_refused|Patient 张三 110101199001011234"),
            "sync.err_refused"
        );
        assert_eq!(error_class("sync.err_token|HTTP 401"), "sync.err_token");
        assert_eq!(error_class("something 张三 said"), "sync.err_other");
        assert_eq!(error_class("张三|x"), "sync.err_other");
    }
}
