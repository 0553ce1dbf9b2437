//! The local SQLite store. Every read and write of a resident's data goes
//! through `Store`, which takes the acting user and writes the audit entry in
//! the same transaction as the change, so auditing lives in one place.
//! SQL uses bound parameters only.

pub mod access;
mod audit;
pub mod bulk;
pub mod care;
pub mod care_read;
mod cipher;
mod conflicts;
pub mod crypt;
pub mod desks;
mod draft_journal;
mod drafts;
mod finalize_check;
pub mod identify;
mod import;
mod incoming;
pub mod inspect;
pub mod link;
mod outbox;
mod records;
mod residents;
pub mod schema;
mod search;
pub mod serials;
mod settings;
mod users;

pub use access::{Permission, Role};
pub use audit::{verify_chain, AuditEntry, AuditFilter, ChainBreak};
pub use conflicts::{Conflict, ConflictRow, Resolution, ServerCopy, Unresolvable};
pub use drafts::{Abandoned, DraftRow, MAX_REASON_CHARS};
pub use finalize_check::FinalizeOutcome;
pub use import::{ImportCounts, ImportPatient, ImportedRecord, KnownResident};
pub use incoming::Incoming;
pub use outbox::{utc_text, FetchedRecord, OutboxItem, OutboxRow, OutboxStatus, PatientState, Sent};
pub use records::Save;
pub use records::{Record, RecordStatus, RecordSummary};
pub use residents::{mask_id, mask_name, Resident, ResidentFields, ResidentRow};
pub use search::{DuplicateCandidate, DuplicatePair, DuplicateReason};
pub use settings::SiteConfig;
pub use users::{valid_login as users_valid_login, User};

use crate::i18n::Msg;
use rusqlite::{Connection, ErrorCode};
use std::path::{Path, PathBuf};

/// Who is acting; recorded in the audit trail with every access, and
/// checked against the role's permissions by every store function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub role: Role,
}

impl Actor {
    /// A trusted local tool (see `Role::System`).
    pub fn new(user: impl Into<String>) -> Self {
        Actor {
            user: user.into(),
            role: Role::System,
        }
    }

    pub fn with_role(user: impl Into<String>, role: Role) -> Self {
        Actor {
            user: user.into(),
            role,
        }
    }

    pub fn require(&self, p: Permission) -> Result<()> {
        if self.role.allows(p) {
            Ok(())
        } else {
            Err(StoreError::Forbidden(p))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database was written by a newer jkda (schema {found}, this build knows {known})")]
    Newer { found: i64, known: i64 },
    #[error("not a jkda database or damaged: {path}")]
    Corrupt { path: PathBuf },
    #[error("not a jkda database ({why:?}): {path}")]
    NotJkda { path: PathBuf, why: identify::NotJkda },
    #[error("data directory is read-only: {path}")]
    ReadOnly { path: PathBuf },
    #[error("disk full")]
    DiskFull,
    #[error("database is busy")]
    Busy,
    #[error("not found")]
    NotFound,
    #[error("record is already final")]
    AlreadyFinal,
    #[error("not permitted: {}", .0.name())]
    Forbidden(Permission),
    #[error("invalid input")]
    InvalidInput,
    #[error("already exists")]
    AlreadyExists,
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    #[error("database is encrypted (or damaged) and no key was given: {path}")]
    Encrypted { path: PathBuf },
    #[error("wrong database key (or damaged file): {path}")]
    WrongKey { path: PathBuf },
    #[error("database is not encrypted but a key was given: {path}")]
    NotEncrypted { path: PathBuf },
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly { path: PathBuf::new() },
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => StoreError::Busy,
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
                StoreError::Corrupt { path: PathBuf::new() }
            }
            _ if matches!(e, rusqlite::Error::QueryReturnedNoRows) => StoreError::NotFound,
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    /// The message a user reads, in their language.
    pub fn message(&self) -> Msg {
        match self {
            StoreError::Newer { found, known } => Msg::new("store.newer").arg("found", found).arg("known", known),
            StoreError::Corrupt { path } => Msg::new("store.corrupt").arg("path", path.display()),
            StoreError::NotJkda { path, why } => Msg::new(match why {
                identify::NotJkda::Empty => "store.empty_file",
                identify::NotJkda::OtherDatabase => "store.other_database",
            })
            .arg("path", path.display()),
            StoreError::ReadOnly { path } => Msg::new("store.read_only").arg("path", path.display()),
            StoreError::DiskFull => Msg::new("store.disk_full"),
            StoreError::Busy => Msg::new("store.busy"),
            StoreError::NotFound => Msg::new("store.not_found"),
            StoreError::AlreadyFinal => Msg::new("store.already_final"),
            StoreError::Forbidden(p) => p.message(),
            StoreError::InvalidInput => Msg::new("access.invalid_input"),
            StoreError::AlreadyExists => Msg::new("access.already_exists"),
            StoreError::Sqlite(e) => Msg::new("store.other").arg("detail", e),
            StoreError::Io(e) => Msg::new("store.other").arg("detail", e),
            StoreError::Encrypted { path } => Msg::new("store_crypt.encrypted").arg("path", path.display()),
            StoreError::WrongKey { path } => Msg::new("store_crypt.wrong_key").arg("path", path.display()),
            StoreError::NotEncrypted { path } => Msg::new("store_crypt.not_encrypted").arg("path", path.display()),
        }
    }

    fn with_path(self, path: &Path) -> Self {
        match self {
            StoreError::Corrupt { .. } => StoreError::Corrupt {
                path: path.to_path_buf(),
            },
            StoreError::ReadOnly { .. } => StoreError::ReadOnly {
                path: path.to_path_buf(),
            },
            other => other,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Reads counted, per audit action, since the last flush: the search
    /// box asks on every keystroke, a resident page reads the timeline, a
    /// registration checks for duplicates; an fsync'd audit commit for each
    /// would make typing wait on the disk. [`Store::audit_list_reads`]
    /// writes one entry per action with the count (see `residents.rs`).
    list_reads: std::cell::RefCell<std::collections::BTreeMap<&'static str, u32>>,
    /// The management settings the derived tables are computed with.
    care: crate::manage::Settings,
}

const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

impl Store {
    /// Opens (creating if absent) the plaintext database at `path`. A file
    /// that is not a SQLite database, an encrypted one (see
    /// `open_with_key` in `crypt`), or one from a newer jkda, is refused
    /// untouched.
    pub fn open(path: &Path) -> Result<Store> {
        Self::open_with_key(path, None)
    }

    /// A private in-memory store, for tests and benchmarks.
    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn setup(mut conn: Connection, path: PathBuf) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // The first statement that reads the header is where a damaged file shows.
        let found = schema::user_version(&conn)?;
        let known = schema::current_version();
        if found > known {
            return Err(StoreError::Newer { found, known });
        }
        if !identify::is_jkda_schema(&conn, found)? {
            return Err(StoreError::NotJkda {
                path,
                why: identify::NotJkda::OtherDatabase,
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Power cuts are common in village clinics: a commit must be on disk.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn)?;
        care::backfill_if_needed(&mut conn)?;
        Ok(Store {
            conn,
            path,
            list_reads: Default::default(),
            care: Default::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Full integrity check, for `jkda doctor`-style diagnosis.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        self.pragma_problems("integrity_check")
    }

    /// What a checking pragma reports, without its "ok".
    fn pragma_problems(&self, pragma: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(&format!("PRAGMA {pragma}"))?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter(|s| s != "ok")
            .collect())
    }
}

fn io_error(e: std::io::Error, path: &Path) -> StoreError {
    if e.kind() == std::io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(30) {
        StoreError::ReadOnly {
            path: path.to_path_buf(),
        }
    } else {
        StoreError::Io(e)
    }
}

/// SQLite reports a read-only directory late and vaguely; finding out before
/// creating anything gives the user a message that names the directory.
fn probe_writable(dir: &Path) -> Result<()> {
    let probe = dir.join(format!(".jkda-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| io_error(e, dir))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

pub(crate) fn now_text(now: chrono::DateTime<chrono::Local>) -> String {
    now.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}
