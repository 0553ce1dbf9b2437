//! Telling a jkda database from a file that only looks like one, before
//! anything is written to it. An empty file, or the SQLite database of
//! another program, used to be taken for a new database: jkda created its
//! tables in it, and the user was then told their password was wrong
//! (issue 13, item 3). Such a file is now refused and left as it was.

use super::{Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// Why a file is not a jkda database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotJkda {
    /// 0 bytes: no database was ever written in it.
    Empty,
    /// A SQLite database without jkda's tables.
    OtherDatabase,
}

/// The tables of the first migration: every jkda database has them.
const CORE_TABLES: [&str; 3] = ["settings", "users", "residents"];

/// Whether the schema an open connection sees is jkda's, or none yet (a
/// database jkda is creating). Reads only.
pub(super) fn is_jkda_schema(conn: &Connection, user_version: i64) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?;
    let tables: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    if tables.is_empty() {
        return Ok(user_version == 0);
    }
    Ok(CORE_TABLES.iter().all(|t| tables.iter().any(|have| have == t)))
}

/// Refuses a plaintext SQLite file that is not a jkda database. It is read
/// as immutable, read-only: SQLite then neither rolls back a journal nor
/// checkpoints a WAL into it, so even another program's half-written
/// database stays byte for byte as it was.
pub(super) fn refuse_other_plaintext(path: &Path) -> Result<()> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let damaged = |e: rusqlite::Error| StoreError::from(e).with_path(path);
    let conn = Connection::open_with_flags(immutable_uri(path)?, flags).map_err(damaged)?;
    let version = super::schema::user_version(&conn).map_err(damaged)?;
    if is_jkda_schema(&conn, version).map_err(damaged)? {
        Ok(())
    } else {
        Err(StoreError::NotJkda {
            path: path.to_path_buf(),
            why: NotJkda::OtherDatabase,
        })
    }
}

/// `file:/abs/path?immutable=1`, the path percent-encoded (RFC 3986) and
/// with forward slashes, which SQLite also takes on Windows (`file:/C:/…`).
fn immutable_uri(path: &Path) -> Result<String> {
    let abs = std::path::absolute(path)?;
    let text = abs.to_string_lossy().replace('\\', "/");
    let mut uri = String::from("file:");
    if !text.starts_with('/') {
        uri.push('/');
    }
    // RFC 3986 unreserved, plus the path's own `/` and a drive's `:`.
    const ENCODED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b':');
    uri.extend(percent_encoding::utf8_percent_encode(&text, ENCODED));
    uri.push_str("?immutable=1");
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_escape_what_sqlite_would_read_as_syntax() {
        let uri = immutable_uri(Path::new("/tmp/a b?c#d%e/数据.db")).unwrap();
        assert_eq!(uri, "file:/tmp/a%20b%3Fc%23d%25e/%E6%95%B0%E6%8D%AE.db?immutable=1");
    }
}
