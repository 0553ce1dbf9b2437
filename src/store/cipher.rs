//! Opening a database with SQLCipher: telling a plaintext, an encrypted, a
//! new and a damaged file apart, keying a connection with a [`DbKey`], and
//! encrypting a plaintext database in place. The keys themselves (keyring,
//! key file) are in `crypt.rs`.

use super::crypt::DbKey;
use super::identify::{refuse_other_plaintext, NotJkda};
use super::{io_error, probe_writable, Result as StoreResult, Store, StoreError, SQLITE_MAGIC};
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileKind {
    /// No file: a new database.
    New,
    /// A file of 0 bytes: not a database, and not ours to fill.
    Empty,
    Plain,
    /// A random header and a whole number of pages: SQLCipher's look.
    Encrypted,
    Garbage,
}

pub(super) fn file_kind(path: &Path) -> std::io::Result<FileKind> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::New),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(FileKind::Empty);
    }
    let mut head = [0u8; 16];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(if n == 16 && head[..] == *SQLITE_MAGIC {
        FileKind::Plain
    } else if len >= 512 && len % 512 == 0 {
        FileKind::Encrypted
    } else {
        FileKind::Garbage
    })
}

/// Runs a statement that may return a row (SQLCipher's pragmas do).
pub(super) fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// SQLCipher logs to stderr by default, which garbles a TUI. Its log
/// settings are process-wide; this runs before any key is given.
pub(super) fn quiet(conn: &Connection) -> rusqlite::Result<()> {
    run(conn, "PRAGMA cipher_log_level = NONE")?;
    run(conn, "PRAGMA cipher_log = off")
}

/// SQLite marks itself initialized, and lets other threads in, before it
/// runs SQLCipher's own initialization (`SQLITE_EXTRA_INIT`): a thread
/// opening its first database at that moment gets "An error occurred with
/// PRAGMA key" (seen when two test threads opened their first store at
/// once), and SQLCipher would then reset a log level set meanwhile back to
/// stderr. So the first open in a process waits until a throwaway key on
/// an in-memory database is accepted, whoever started the initialization.
pub(super) fn sqlcipher_ready() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| {
        for _ in 0..5000 {
            if let Ok(conn) = Connection::open_in_memory() {
                let probe = "PRAGMA key = \"x'0000000000000000000000000000000000000000000000000000000000000000'\"";
                if run(&conn, probe).is_ok() {
                    return;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
}

impl Store {
    /// Opens (creating if absent) the database at `path`, encrypted with
    /// `key` if one is given. A new file with a key becomes an encrypted
    /// database; without one, a plaintext one. Refused, with the file left
    /// untouched: an encrypted file without a key (`Encrypted`), with the
    /// wrong key (`WrongKey`), a plaintext file with a key (`NotEncrypted`),
    /// anything else that is not a database (`Corrupt`).
    pub fn open_with_key(path: &Path, key: Option<&DbKey>) -> StoreResult<Store> {
        sqlcipher_ready();
        // Opens take turns: keying a connection makes SQLCipher fetch its
        // ciphers from OpenSSL, and eight threads doing that at once in a
        // fresh process crashed now and then with the system's OpenSSL 3.0
        // (tests/crypt.rs, first_opens_in_a_process_may_race). An open is a
        // few milliseconds and happens a handful of times per session.
        static OPENING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _turn = OPENING.lock().unwrap_or_else(|e| e.into_inner());
        let kind = file_kind(path).map_err(|e| io_error(e, path))?;
        let p = || path.to_path_buf();
        match (kind, key) {
            (FileKind::Garbage, _) => return Err(StoreError::Corrupt { path: p() }),
            (FileKind::Empty, _) => {
                return Err(StoreError::NotJkda {
                    path: p(),
                    why: NotJkda::Empty,
                })
            }
            (FileKind::Plain, None) => refuse_other_plaintext(path)?,
            (FileKind::Encrypted, None) => return Err(StoreError::Encrypted { path: p() }),
            (FileKind::Plain, Some(_)) => return Err(StoreError::NotEncrypted { path: p() }),
            (FileKind::New, _) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    crate::private_files::create_dir_all(dir).map_err(|e| io_error(e, dir))?;
                    probe_writable(dir)?;
                }
            }
            _ => {}
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if kind == FileKind::New {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::from(e).with_path(path))?;
        if kind == FileKind::New {
            // SQLite created the file with the umask's mode; nothing is in it
            // yet, and its -wal and -shm files will copy this mode.
            crate::private_files::make_private(path).map_err(|e| io_error(e, path))?;
        }
        quiet(&conn)?;
        if let Some(key) = key {
            run(&conn, &key.pragma())?;
            // Pin the file format, so a future SQLCipher with new defaults
            // still opens (and creates) the same kind of file.
            run(&conn, "PRAGMA cipher_compatibility = 4")?;
            // Sorts and temporary indexes stay in memory, never on disk.
            conn.pragma_update(None, "temp_store", "MEMORY")?;
        }
        // The first read of the header is where a wrong key shows; nothing
        // is written before it.
        Self::setup(conn, path.to_path_buf()).map_err(|e| match e {
            StoreError::Corrupt { .. } if key.is_some() && kind == FileKind::Encrypted => {
                StoreError::WrongKey { path: p() }
            }
            e => e.with_path(path),
        })
    }

    /// Whether the file at `path` looks like an encrypted database: it is
    /// not plaintext SQLite and is made of whole pages. False for a missing,
    /// empty or plaintext file, and for other damaged files.
    pub fn is_encrypted_file(path: &Path) -> bool {
        matches!(file_kind(path), Ok(FileKind::Encrypted))
    }

    /// Encrypts an existing plaintext database with `key`: an encrypted copy
    /// is written beside it (`sqlcipher_export`), checked (integrity, and
    /// the row count of every table), then renamed over the original. A
    /// database already encrypted with `key` is left as it is (`WrongKey`
    /// for another key). Needs the database to itself: `Busy` while another
    /// program has it open. Any failure leaves the original in place.
    ///
    /// The plaintext's old disk blocks are freed, not overwritten: on a disk
    /// that ever held a plaintext database, traces may remain until the
    /// space is reused.
    pub fn encrypt_plaintext(path: &Path, key: &DbKey) -> StoreResult<()> {
        match file_kind(path).map_err(|e| io_error(e, path))? {
            FileKind::Plain => {}
            FileKind::Encrypted => return Store::open_with_key(path, Some(key)).map(drop),
            FileKind::New => return Err(StoreError::NotFound),
            FileKind::Empty => {
                return Err(StoreError::NotJkda {
                    path: path.to_path_buf(),
                    why: NotJkda::Empty,
                })
            }
            FileKind::Garbage => {
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                })
            }
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.encrypting"));
        let remove_tmp = || {
            for suffix in ["", "-journal", "-wal", "-shm"] {
                let mut p = tmp.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        };
        remove_tmp();
        let result = (|| {
            let store = Store::open(path)?;
            let conn = store.conn();
            // Leaving WAL needs every other connection closed: the check
            // that nobody else is using the database while it is swapped.
            conn.busy_timeout(std::time::Duration::from_millis(500))?;
            let mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("delete") {
                return Err(StoreError::Busy);
            }
            // Hold the lock until the swap, so nobody starts meanwhile.
            run(conn, "PRAGMA locking_mode = EXCLUSIVE")?;
            conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")?;
            let counts = table_counts(conn, "main")?;
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            let literal = Zeroizing::new(format!("x'{}'", Zeroizing::new(key.to_hex()).as_str()));
            // An existing database is opened without SQLITE_OPEN_CREATE,
            // which ATTACH inherits: the (empty) file must exist.
            std::fs::File::create(&tmp).map_err(|e| io_error(e, &dir))?;
            // Renamed over the database below: it must be as private.
            crate::private_files::make_private(&tmp).map_err(|e| io_error(e, &dir))?;
            conn.execute(
                "ATTACH DATABASE ?1 AS jkda_encrypted KEY ?2",
                rusqlite::params![tmp.to_string_lossy(), literal.as_str()],
            )?;
            run(conn, "SELECT sqlcipher_export('jkda_encrypted')")?;
            run(conn, &format!("PRAGMA jkda_encrypted.user_version = {version}"))?;
            run(conn, "DETACH DATABASE jkda_encrypted")?;

            let enc = Store::open_with_key(&tmp, Some(key))?;
            if !enc.integrity_check()?.is_empty() || table_counts(enc.conn(), "main")? != counts {
                return Err(StoreError::Corrupt { path: tmp.clone() });
            }
            drop(enc);
            std::fs::File::open(&tmp).and_then(|f| f.sync_all())?;
            #[cfg(windows)]
            drop(store); // Windows cannot rename over an open file.
            std::fs::rename(&tmp, path).map_err(|e| io_error(e, path))?;
            #[cfg(unix)]
            if let Ok(d) = std::fs::File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            remove_tmp();
        }
        result
    }
}

/// Rows per table (SQLite's own tables aside), for checking an export.
pub(super) fn table_counts(conn: &Connection, schema: &str) -> StoreResult<BTreeMap<String, i64>> {
    let names: Vec<String> = conn
        .prepare(&format!(
            "SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name"
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = BTreeMap::new();
    for name in names {
        let quoted = name.replace('"', "\"\"");
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {schema}.\"{quoted}\""), [], |r| r.get(0))?;
        out.insert(name, n);
    }
    Ok(out)
}
