//! Getting from "nobody" to a logged-in user with an open store: first-run
//! installation (site + first administrator), login, forced password change,
//! unlocking after the idle lock. The password unlocks the user's wrapped
//! copy of the database key in the keyring; the same key opens an encrypted
//! database. Failed attempts are counted in the keyring (the database cannot
//! be opened without a password) and moved into the audit trail at the next
//! successful login.

use crate::i18n::Msg;
use crate::paths::db_path;
use crate::store::crypt::{DbKey, Keyring};
use crate::store::{Actor, Role, SiteConfig, Store, StoreError, User};
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;

pub struct Session {
    pub store: Store,
    pub keyring: Keyring,
    pub user: User,
    pub actor: Actor,
    /// For opening more connections (the uploader thread's).
    pub key: Option<DbKey>,
}

/// What the gate should ask for on this data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Nobody can log in yet: install (site details when `need_site`).
    Install {
        need_site: bool,
    },
    Login,
}

pub fn start(dir: &Path) -> Result<Start, Msg> {
    let keyring = Keyring::load(dir).map_err(|e| e.message())?;
    if keyring.as_ref().is_some_and(|k| !k.users().is_empty()) {
        return Ok(Start::Login);
    }
    check_before_install(dir)?;
    let db = db_path(dir);
    let need_site = if db.exists() {
        Store::open(&db)
            .map_err(|e| e.message())?
            .site()
            .map_err(|e| e.message())?
            .is_none()
    } else {
        true
    };
    Ok(Start::Install { need_site })
}

/// Opens the store: encrypted with `key` unless the file is an existing
/// plaintext database (an installation made before encryption, or with
/// `--no-encrypt`).
pub fn open_store(dir: &Path, key: Option<&DbKey>, encrypt_new: bool) -> Result<Store, StoreError> {
    let db = db_path(dir);
    let plain_exists =
        db.exists() && !Store::is_encrypted_file(&db) && std::fs::metadata(&db).map(|m| m.len() > 0).unwrap_or(false);
    if plain_exists || (!db.exists() && !encrypt_new) {
        Store::open(&db)
    } else {
        Store::open_with_key(&db, key)
    }
}

/// Refuses, before anything is asked or written, to install over a file
/// that is not a jkda database (empty, damaged, another program's, or an
/// encrypted one whose keyring is gone). No file, or a plaintext jkda
/// database made before accounts existed, is fine.
pub fn check_before_install(dir: &Path) -> Result<(), Msg> {
    let db = db_path(dir);
    if !db.exists() {
        return Ok(());
    }
    if Store::is_encrypted_file(&db) {
        return Err(StoreError::Encrypted { path: db }.message());
    }
    Store::open(&db).map(drop).map_err(|e| e.message())
}

/// The message when the key a password unwrapped does not open the
/// database: the password was right, so the file is not this
/// installation's database, or it is damaged.
pub fn keyring_open_error(e: StoreError) -> Msg {
    match e {
        StoreError::WrongKey { path } => Msg::new("store_crypt.not_this_database").arg("path", path.display()),
        e => e.message(),
    }
}

/// First run: the site (if not yet set) and the first administrator. The
/// database is created encrypted unless `encrypt` is false.
pub fn install(
    dir: &Path,
    site: Option<&SiteConfig>,
    login: &str,
    name: &str,
    password: &SecretString,
    encrypt: bool,
) -> Result<Session, Msg> {
    if !crate::store::users_valid_login(login) {
        return Err(Msg::new("access.bad_login"));
    }
    let key = DbKey::generate();
    let mut keyring = Keyring::load(dir)
        .map_err(|e| e.message())?
        .unwrap_or_else(|| Keyring::create(dir));
    let mut store = open_store(dir, Some(&key), encrypt).map_err(|e| e.message())?;
    let installer = Actor::new("install");
    if let Some(site) = site {
        store.set_site(site).map_err(|e| e.message())?;
    }
    let user = match store.user(login).map_err(|e| e.message())? {
        Some(u) => u,
        None => store
            .add_user(&installer, login, name, Role::Admin, false)
            .map_err(|e| e.message())?,
    };
    keyring.add_user(login, password, &key).map_err(|e| e.message())?;
    let actor = Actor::with_role(login, user.role);
    store.audit(&actor, "login", "user", login).map_err(|e| e.message())?;
    Ok(Session {
        store,
        keyring,
        user,
        actor,
        key: Some(key),
    })
}

/// Logs a user in. Unknown login and wrong password read alike, so the
/// screen does not reveal which logins exist.
pub fn login(dir: &Path, login: &str, password: &SecretString) -> Result<Session, Msg> {
    let mut keyring = Keyring::load(dir)
        .map_err(|e| e.message())?
        .ok_or_else(|| Msg::new("access.no_accounts"))?;
    let key = keyring
        .unlock(login, password, chrono::Utc::now())
        .map_err(|e| match e {
            crate::store::crypt::UnlockError::NoSuchUser => Msg::new("access.login_failed"),
            other => other.message(),
        })?;
    let store = open_store(dir, Some(&key), true).map_err(keyring_open_error)?;
    audit_queued_failures(&mut keyring, &store, None)?;
    let user = match store.user(login).map_err(|e| e.message())? {
        Some(u) if !u.disabled => u,
        Some(_) => {
            let _ = store.audit(&Actor::new(login), "login_refused_disabled", "user", login);
            return Err(Msg::new("access.disabled"));
        }
        None => return Err(Msg::new("access.login_failed")),
    };
    let actor = Actor::with_role(login, user.role);
    store.audit(&actor, "login", "user", login).map_err(|e| e.message())?;
    Ok(Session {
        store,
        keyring,
        user,
        actor,
        key: Some(key),
    })
}

/// The user's own password change (forced at first login, or by choice).
pub fn change_password(s: &mut Session, old: &SecretString, new: &SecretString) -> Result<(), Msg> {
    crate::app::gate::check_password_change(&s.user.login, old.expose_secret(), new.expose_secret())?;
    s.keyring
        .change_password(&s.user.login, old, new, chrono::Utc::now())
        .map_err(|e| e.message())?;
    let login = s.user.login.clone();
    s.store
        .set_must_change(&s.actor, &login, false)
        .map_err(|e| e.message())?;
    s.user.must_change = false;
    Ok(())
}

/// Checks the password of the logged-in user after the idle lock.
pub fn unlock(keyring: &mut Keyring, store: &Store, actor: &Actor, password: &SecretString) -> Result<(), Msg> {
    match keyring.unlock(&actor.user, password, chrono::Utc::now()) {
        Ok(_) => {
            let _ = store.audit(actor, "unlock", "user", &actor.user);
            Ok(())
        }
        Err(e) => {
            // The keyring queued this failure for the next login; the database
            // is open, so it goes into the trail now, once.
            let _ = audit_queued_failures(keyring, store, Some(&actor.user));
            Err(e.message())
        }
    }
}

/// Moves the failed attempts the keyring counted (while the database was
/// closed, or just now at the idle lock of `unlocking`) into the audit trail.
fn audit_queued_failures(keyring: &mut Keyring, store: &Store, unlocking: Option<&str>) -> Result<(), Msg> {
    for (who, _when) in keyring.take_failed_attempts().map_err(|e| e.message())? {
        let action = if Some(who.as_str()) == unlocking {
            "unlock_failed"
        } else {
            "login_failed"
        };
        let _ = store.audit(&Actor::new(who.clone()), action, "user", &who);
    }
    Ok(())
}
