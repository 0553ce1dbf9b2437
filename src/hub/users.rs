//! The bureau's accounts: who may read the supervision pages. A name and an
//! Argon2id hash of the password (PHC string, the same cost as the clinic's
//! logins, `store::crypt`), nothing else. These accounts are for people at
//! the bureau; sites keep their tokens, and neither works where the other
//! does (`hub::web` checks).

use super::HubError;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::OnceLock;

/// Shortest password for a bureau account, in characters. Longer than the
/// clinic's (6): these accounts are used over the network and see every site.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted, in characters.
pub const MAX_PASSWORD_CHARS: usize = 256;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;
"#;

pub fn ensure_schema(conn: &Connection) -> Result<(), HubError> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

fn argon2() -> Argon2<'static> {
    use crate::store::crypt::{KDF_M_KIB, KDF_P, KDF_T};
    let params = Params::new(KDF_M_KIB, KDF_T, KDF_P, None).expect("the built-in Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A name usable in HTTP Basic (no `:`) and in the access log as it is.
pub fn check_name(name: &str) -> Result<(), HubError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(HubError::Usage(format!(
            "account name {name:?}: use 1 to 64 letters, digits, '.', '-' or '_'"
        )))
    }
}

pub fn check_password(password: &str) -> Result<(), HubError> {
    let n = password.chars().count();
    if password.trim().is_empty() {
        return Err(HubError::Usage("the password is empty".into()));
    }
    if n < MIN_PASSWORD_CHARS {
        return Err(HubError::Usage(format!(
            "the password is too short: use at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(HubError::Usage(format!(
            "the password is too long: at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

fn hash(password: &str) -> Result<String, HubError> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HubError::Io(std::io::Error::other(format!("password hashing failed: {e}"))))
}

/// Adds an account; an existing name is refused (remove it first).
pub fn add(conn: &Connection, name: &str, password: &str, now: &str) -> Result<(), HubError> {
    check_name(name)?;
    check_password(password)?;
    ensure_schema(conn)?;
    let phc = hash(password)?;
    let n = conn.execute(
        "INSERT OR IGNORE INTO users (name, password_hash, created_at) VALUES (?1, ?2, ?3)",
        params![name, phc, now],
    )?;
    if n == 0 {
        return Err(HubError::Usage(format!("account {name:?} already exists")));
    }
    Ok(())
}

/// Every account: name and when it was made, by name.
pub fn list(conn: &Connection) -> Result<Vec<(String, String)>, HubError> {
    ensure_schema(conn)?;
    let mut stmt = conn.prepare("SELECT name, created_at FROM users ORDER BY name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn remove(conn: &Connection, name: &str) -> Result<(), HubError> {
    ensure_schema(conn)?;
    match conn.execute("DELETE FROM users WHERE name = ?1", params![name])? {
        0 => Err(HubError::Usage(format!("no account {name:?}"))),
        _ => Ok(()),
    }
}

/// The stored hash of an account, if there is one.
pub fn stored_hash(conn: &Connection, name: &str) -> Result<Option<String>, HubError> {
    Ok(conn
        .query_row("SELECT password_hash FROM users WHERE name = ?1", params![name], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Whether `password` is the password of the stored `phc` hash. Argon2
/// compares in constant time. A missing account is checked against a
/// dummy hash, so a wrong name costs the same as a wrong password.
pub fn verify_hash(phc: Option<&str>, password: &str) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("no such account, never a password").unwrap_or_default());
    let (phc, real) = match phc {
        Some(p) => (p, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(phc)
        .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false);
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_added_verified_listed_and_removed() {
        let conn = Connection::open_in_memory().unwrap();
        add(&conn, "wang.li", "a long password", "2026-12-01T00:00:00Z").unwrap();
        let phc = stored_hash(&conn, "wang.li").unwrap().unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{phc}");
        assert!(verify_hash(Some(&phc), "a long password"));
        assert!(!verify_hash(Some(&phc), "a long passworD"));
        assert!(!verify_hash(None, "a long password"));
        assert!(matches!(
            add(&conn, "wang.li", "another password", "x"),
            Err(HubError::Usage(_))
        ));
        assert_eq!(
            list(&conn).unwrap(),
            vec![("wang.li".into(), "2026-12-01T00:00:00Z".into())]
        );
        remove(&conn, "wang.li").unwrap();
        assert!(stored_hash(&conn, "wang.li").unwrap().is_none());
        assert!(remove(&conn, "wang.li").is_err());
    }

    #[test]
    fn bad_names_and_passwords_are_refused() {
        let conn = Connection::open_in_memory().unwrap();
        for name in ["", "a:b", "王", "a b", &"x".repeat(65)] {
            assert!(add(&conn, name, "a long password", "x").is_err(), "{name:?}");
        }
        for pw in ["", "          ", "short", "123456789"] {
            assert!(add(&conn, "ok", pw, "x").is_err(), "{pw:?}");
        }
    }
}
