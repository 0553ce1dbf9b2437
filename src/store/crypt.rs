//! Encryption at rest: one random database key, wrapped once per user.
//!
//! **What is encrypted.** The whole database file (and its `-wal`) through
//! SQLCipher 4 (AES-256-CBC per 4 KiB page, HMAC-SHA512 per page), keyed
//! with a raw 32-byte [`DbKey`] (`PRAGMA key = "x'…'"`, so SQLCipher's own
//! PBKDF2 is skipped: the key is already random). The pragma text is built
//! only from the hex of our own bytes, never from anything a user typed.
//! A wrong key or a copied file without its key is refused with a clear
//! [`StoreError`] and the file is left untouched, byte for byte.
//!
//! **Who can unlock it.** `keyring.json` in the data directory holds, per
//! login, a copy of the database key encrypted (XChaCha20-Poly1305) under a
//! key-encryption key derived from that user's password with Argon2id. The
//! login name is bound into the AEAD as associated data, so an entry cannot
//! be moved to another login. Adding a user or changing a password rewraps
//! the same key: the database is never re-encrypted. The keyring is not
//! secret by itself (it holds no key in the clear), but a stolen keyring
//! plus a weak password can be guessed offline at the Argon2 cost below, so
//! password length still matters. Passwords are NFC-normalized UTF-8 (a
//! Chinese password typed with any input method unlocks the same entry),
//! 1 to [`MAX_PASSWORD_CHARS`] characters; longer input is refused with
//! [`CryptError::PasswordTooLong`] rather than silently truncated.
//!
//! **Lockout.** The keyring also keeps, per login, `failed_attempts` and
//! `locked_until`, so lockout works before the database can be opened:
//! [`MAX_FAILED_ATTEMPTS`] wrong passwords lock the login for
//! [`LOCK_MINUTES`] minutes, a successful unlock resets the count. Failed
//! attempts are also queued (at most [`FAILED_QUEUE_MAX`], oldest dropped)
//! for the audit log: [`Keyring::take_failed_attempts`] after the next
//! successful login. A clock set back (a dead CMOS battery after a power
//! cut) never locks anyone out for longer than [`LOCK_MINUTES`] from "now".
//! These counters are a speed bump for the login screen, not a defence
//! against someone who can write the data directory: they can reset them,
//! or copy the keyring and guess offline.
//!
//! **Unattended commands.** A key file ([`write_key_file`]) holds the key
//! in hex, mode 0600 on Unix, created only on request. Kept on the same
//! disk it defeats "a stolen disk reveals nothing": it belongs on removable
//! media that is taken away (a stolen PC then reveals nothing), or, if a
//! scheduled `jkda sync` must run unattended, in a path only root can read
//! (e.g. `/root/jkda.key` for root's cron job), which keeps it from other
//! accounts on the PC but not from a thief of the disk. On removable media
//! (FAT) file modes do not exist, so the mode is not checked when reading.
//!
//! **Files.** The keyring and the key file are written atomically (temp
//! file, fsync, rename, fsync of the directory): a power cut leaves either
//! the old file or the new one, never half of one.
//!
//! **Measured** (`cargo bench --bench crypt`, release build, on the 2-core
//! CI-class machine while other builds ran on it, so absolute times are
//! inflated and noisy; two runs, 10 000 demo residents, 32.7 MB database):
//!
//! | | plaintext | encrypted | encrypted / plaintext |
//! |---|---|---|---|
//! | bulk import | 1 160, 844 residents/s | 1 122, 774 residents/s | 1.03–1.09x slower |
//! | register a resident (3 commits, fsync) | 12.9, 22.6 ms | 13.2, 22.7 ms | 1.01–1.02x |
//! | search, freshly opened store (200 queries) | 0.21, 0.31 ms | 0.19, 0.35 ms | 0.91–1.11x |
//! | open + first search | 1.5, 2.6 ms | 1.6, 2.5 ms | 0.98–1.03x |
//! | full scan of every record (worst case) | 35, 40 ms | 65, 90 ms | 1.9–2.3x |
//! | file size | 32.7 MB | 33.4 MB | +2 % |
//!
//! The trade-off: what a clinic does (open, search, register, save) costs
//! within the noise, because SQLite's page cache holds decrypted pages and
//! the fsync of each commit dominates; only reading every page (a full
//! scan, an export, `integrity_check`) pays the decryption, about twice
//! the time, still well under a second at this size. Plus a longer clean
//! build (SQLCipher is compiled from source), and one more thing to lose: a
//! database whose every password and key file is lost cannot be recovered
//! by anyone. Encryption is therefore worth being the default for new
//! installations, with the key file kept off the PC as the recovery path.
//!
//! Argon2id, one derivation, same machine (median of 5, wall / thread CPU):
//! crate defaults m=19 MiB, t=2: 103–120 ms / 54–60 ms (the ~30 ms noted
//! in shared/dependencies.md was on an idle machine); m=32 MiB, t=3:
//! 317–477 ms / 166–209 ms; m=64 MiB, t=3 (RFC 9106's second choice):
//! 640–890 ms / 446–465 ms. Ours is m=7 MiB, t=5, p=1, the low-memory end of
//! OWASP's equal-strength Argon2id settings (m=19 MiB t=2 … m=7 MiB t=5):
//! the memory a derivation takes stays in the process's peak RSS, and the
//! TUI must fit in 20 MB on a 1 GB clinic PC (benches/tui.rs), which the
//! 32 MiB used before could not. Login to the resident list measured 0.29–
//! 0.34 s here under load (it was 0.55–0.74 s with 32 MiB, t=3). A wrong
//! password, an unknown login and a right one all cost one derivation.
//!
//! Argon2id parameters for new wrappings: [`KDF_M_KIB`] KiB, [`KDF_T`]
//! passes, [`KDF_P`] lane. Each entry records its own parameters, and an
//! entry made with other parameters is rewrapped with the current ones at
//! its next successful unlock, so they can be raised later.

use crate::i18n::Msg;
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use rand::TryRngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, Zeroizing};

/// Length of the database key in bytes (SQLCipher's raw AES-256 key).
pub const KEY_LEN: usize = 32;
/// Longest password accepted, in characters (after NFC normalization).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Wrong passwords in a row that lock a login.
pub const MAX_FAILED_ATTEMPTS: u32 = 5;
/// How long a login stays locked.
pub const LOCK_MINUTES: i64 = 5;
/// Failed attempts kept for the audit log until taken.
pub const FAILED_QUEUE_MAX: usize = 1000;
/// Argon2id memory cost for new wrappings, KiB.
pub const KDF_M_KIB: u32 = 7 * 1024;
/// Argon2id passes for new wrappings.
pub const KDF_T: u32 = 5;
/// Argon2id lanes for new wrappings.
pub const KDF_P: u32 = 1;

pub const KEYRING_FILE: &str = "keyring.json";
const FORMAT: u32 = 1;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const AAD_PREFIX: &[u8] = b"jkda keyring v1\0";

// ---------------------------------------------------------------- errors

#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    #[error("empty password")]
    EmptyPassword,
    #[error("password longer than {max} characters")]
    PasswordTooLong { max: usize },
    #[error("empty login name")]
    EmptyLogin,
    #[error("no such user in the keyring: {login}")]
    NoSuchUser { login: String },
    #[error("user already in the keyring: {login}")]
    UserExists { login: String },
    #[error("refusing to remove the last user who can unlock the database")]
    LastUser,
    #[error("this key does not belong to this keyring's database")]
    KeyMismatch,
    #[error("not a database key (expected 64 hexadecimal digits)")]
    BadKey,
    #[error("key file {path} already holds a different key")]
    KeyFileExists { path: PathBuf },
    #[error("keyring {path} is damaged: {detail}")]
    KeyringCorrupt { path: PathBuf, detail: String },
    #[error("keyring {path} was written by a newer jkda (format {found})")]
    KeyringNewer { path: PathBuf, found: u32 },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl CryptError {
    /// The message a user reads, in their language.
    pub fn message(&self) -> Msg {
        match self {
            CryptError::EmptyPassword => Msg::new("crypt.empty_password"),
            CryptError::PasswordTooLong { max } => Msg::new("crypt.password_too_long").arg("max", max),
            CryptError::EmptyLogin => Msg::new("crypt.empty_login"),
            CryptError::NoSuchUser { login } => Msg::new("crypt.no_such_user").arg("login", login),
            CryptError::UserExists { login } => Msg::new("crypt.user_exists").arg("login", login),
            CryptError::LastUser => Msg::new("crypt.last_user"),
            CryptError::KeyMismatch => Msg::new("crypt.key_mismatch"),
            CryptError::BadKey => Msg::new("crypt.bad_key"),
            CryptError::KeyFileExists { path } => Msg::new("crypt.key_file_exists").arg("path", path.display()),
            CryptError::KeyringCorrupt { path, detail } => Msg::new("crypt.keyring_corrupt")
                .arg("path", path.display())
                .arg("detail", detail),
            CryptError::KeyringNewer { path, found } => Msg::new("crypt.keyring_newer")
                .arg("path", path.display())
                .arg("found", found),
            CryptError::Io { path, source } if crate::bounded_read::exceeded(source).is_some() => {
                crate::bounded_read::message(path, source)
            }
            CryptError::Io { path, source } => Msg::new("crypt.io").arg("path", path.display()).arg("detail", source),
        }
    }

    fn io(path: &Path, source: std::io::Error) -> Self {
        CryptError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Why [`Keyring::unlock`] (or [`Keyring::change_password`]) did not
/// succeed. `NoSuchUser` and `WrongPassword` may be shown alike ("wrong
/// login or password") if the login screen should not reveal which logins
/// exist; an unknown login costs as much time as a wrong password.
#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    #[error("no such user")]
    NoSuchUser,
    #[error("wrong password ({attempts_left} attempts left)")]
    WrongPassword { attempts_left: u32 },
    #[error("locked until {until}")]
    Locked { until: DateTime<Utc> },
    /// The password was refused before any attempt was counted (empty,
    /// too long), or `change_password`'s new password was.
    #[error("{0}")]
    Password(CryptError),
    /// The keyring could not be read or written, or is damaged.
    #[error("{0}")]
    Io(CryptError),
}

impl UnlockError {
    /// The message a user reads, in their language.
    pub fn message(&self) -> Msg {
        match self {
            UnlockError::NoSuchUser => Msg::new("crypt.unknown_login"),
            UnlockError::WrongPassword { attempts_left } => Msg::new("crypt.wrong_password")
                .arg("left", attempts_left)
                .arg("minutes", LOCK_MINUTES),
            UnlockError::Locked { until } => {
                let local = until.with_timezone(&chrono::Local);
                Msg::new("crypt.locked")
                    .arg("until", local.format("%H:%M:%S"))
                    .arg("minutes", LOCK_MINUTES)
            }
            UnlockError::Password(e) | UnlockError::Io(e) => e.message(),
        }
    }
}

impl From<CryptError> for UnlockError {
    fn from(e: CryptError) -> Self {
        match e {
            CryptError::EmptyPassword | CryptError::PasswordTooLong { .. } => UnlockError::Password(e),
            CryptError::NoSuchUser { .. } => UnlockError::NoSuchUser,
            other => UnlockError::Io(other),
        }
    }
}

// ---------------------------------------------------------------- the key

/// The database key: 32 random bytes. Zeroized on drop; `Debug` prints
/// nothing of it. Boxed so that moving it does not leave copies behind.
#[derive(Clone)]
pub struct DbKey(Box<[u8; KEY_LEN]>);

impl DbKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> DbKey {
        let mut key = DbKey(Box::new([0u8; KEY_LEN]));
        fill_random(&mut key.0[..]);
        key
    }

    /// The key as 64 lowercase hex digits: only for the key file.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0[..])
    }

    /// Parses 64 hex digits (either case; surrounding whitespace ignored).
    pub fn from_hex(s: &str) -> Result<DbKey, CryptError> {
        let mut key = DbKey(Box::new([0u8; KEY_LEN]));
        hex::decode_to_slice(s.trim(), &mut key.0[..]).map_err(|_| CryptError::BadKey)?;
        Ok(key)
    }

    /// A short public fingerprint (16 hex digits of a SHA-256 of the key),
    /// for telling keys apart in diagnostics. Reveals nothing usable.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"jkda key fingerprint\0");
        h.update(&self.0[..]);
        hex::encode(&h.finalize()[..8])
    }

    /// `PRAGMA key = "x'…'"`, built only from our own bytes.
    pub(super) fn pragma(&self) -> Zeroizing<String> {
        let hexed = Zeroizing::new(self.to_hex());
        Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", hexed.as_str()))
    }

    fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl Drop for DbKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(<redacted>)")
    }
}

impl PartialEq for DbKey {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        self.0.iter().zip(other.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl Eq for DbKey {}

fn fill_random(buf: &mut [u8]) {
    rand::rngs::OsRng
        .try_fill_bytes(buf)
        .expect("the operating system's random source failed");
}

// ---------------------------------------------------------------- passwords

/// Checks a password and returns its NFC form, still a `SecretString` (the
/// normalizer's own copy, when it made one, is wiped).
fn prepare_password(password: &SecretString) -> Result<SecretString, CryptError> {
    let password = password.expose_secret();
    if password.is_empty() {
        return Err(CryptError::EmptyPassword);
    }
    // Refuse absurd input before normalizing it (NFC never shrinks a
    // string by more than a small factor, so this only skips work).
    if password.len() > MAX_PASSWORD_CHARS * 4 * 4 {
        return Err(CryptError::PasswordTooLong {
            max: MAX_PASSWORD_CHARS,
        });
    }
    let nfc = match icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(password) {
        std::borrow::Cow::Borrowed(same) => SecretString::from(same),
        std::borrow::Cow::Owned(changed) => SecretString::from(Zeroizing::new(changed).as_str()),
    };
    if nfc.expose_secret().chars().count() > MAX_PASSWORD_CHARS {
        return Err(CryptError::PasswordTooLong {
            max: MAX_PASSWORD_CHARS,
        });
    }
    Ok(nfc)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct KdfParams {
    m_kib: u32,
    t: u32,
    p: u32,
}

const CURRENT_KDF: KdfParams = KdfParams {
    m_kib: KDF_M_KIB,
    t: KDF_T,
    p: KDF_P,
};

fn derive_kek(password: &SecretString, salt: &[u8], params: KdfParams) -> Result<Zeroizing<[u8; KEY_LEN]>, String> {
    let p = Params::new(params.m_kib, params.t, params.p, Some(KEY_LEN)).map_err(|e| e.to_string())?;
    let mut kek = Zeroizing::new([0u8; KEY_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
        .hash_password_into(password.expose_secret().as_bytes(), salt, &mut kek[..])
        .map_err(|e| e.to_string())?;
    Ok(kek)
}

/// One Argon2id derivation with the current parameters, as a login costs;
/// for benchmarks and diagnostics.
pub fn time_one_derivation() -> std::time::Duration {
    let t = std::time::Instant::now();
    let _ = derive_kek(&"benchmark password 密码".into(), &[7u8; SALT_LEN], CURRENT_KDF);
    t.elapsed()
}

fn aad(login: &str) -> Vec<u8> {
    let mut a = AAD_PREFIX.to_vec();
    a.extend_from_slice(login.as_bytes());
    a
}

// ---------------------------------------------------------------- keyring file

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// Always "argon2id-xchacha20poly1305".
    scheme: String,
    /// Password normalization: always "nfc".
    norm: String,
    kdf: KdfParams,
    salt: String,
    nonce: String,
    wrapped: String,
    #[serde(default)]
    failed_attempts: u32,
    #[serde(default)]
    locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FailedAttempt {
    login: String,
    at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyringData {
    format: u32,
    /// `DbKey::fingerprint` of the wrapped key: refuses wrapping another key.
    #[serde(default)]
    key_fingerprint: Option<String>,
    users: BTreeMap<String, Entry>,
    #[serde(default)]
    failed_attempts: Vec<FailedAttempt>,
}

impl KeyringData {
    fn empty() -> Self {
        KeyringData {
            format: FORMAT,
            key_fingerprint: None,
            users: BTreeMap::new(),
            failed_attempts: Vec::new(),
        }
    }
}

/// The per-user wrapped copies of the database key, with lockout state.
/// The file on disk is the truth: every change re-reads it first, so two
/// programs working at once lose at most a counter update, never a user.
pub struct Keyring {
    path: PathBuf,
    data: KeyringData,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("path", &self.path)
            .field("users", &self.users())
            .finish()
    }
}

impl Keyring {
    /// Where the keyring of data directory `dir` lives.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(KEYRING_FILE)
    }

    /// The keyring of `dir`, or `None` if there is none yet.
    pub fn load(dir: &Path) -> Result<Option<Keyring>, CryptError> {
        let path = Self::path(dir);
        Ok(read_data(&path)?.map(|data| Keyring { path, data }))
    }

    /// An empty keyring for `dir`; nothing is written until a user is added.
    pub fn create(dir: &Path) -> Keyring {
        Keyring {
            path: Self::path(dir),
            data: KeyringData::empty(),
        }
    }

    /// Logins that can unlock the database, sorted.
    pub fn users(&self) -> Vec<String> {
        self.data.users.keys().cloned().collect()
    }

    /// The fingerprint of the key this keyring wraps (`DbKey::fingerprint`),
    /// for telling installations apart without any password.
    pub fn key_fingerprint(&self) -> Option<&str> {
        self.data.key_fingerprint.as_deref()
    }

    /// Logins locked now, with the end of their lock.
    pub fn locked(&self, now: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
        self.data
            .users
            .iter()
            .filter_map(|(l, e)| e.locked_until.filter(|u| *u > now).map(|u| (l.clone(), u)))
            .collect()
    }

    pub fn has_user(&self, login: &str) -> bool {
        self.data.users.contains_key(login)
    }

    /// Gives `login` a copy of `key` under `password`, and writes the file.
    pub fn add_user(&mut self, login: &str, password: &SecretString, key: &DbKey) -> Result<(), CryptError> {
        if login.is_empty() {
            return Err(CryptError::EmptyLogin);
        }
        let password = prepare_password(password)?;
        self.refresh()?;
        if self.has_user(login) {
            return Err(CryptError::UserExists {
                login: login.to_string(),
            });
        }
        self.check_key(key)?;
        let entry = wrap(login, &password, key);
        self.data.key_fingerprint = Some(key.fingerprint());
        self.data.users.insert(login.to_string(), entry);
        self.save()
    }

    /// Removes `login`'s copy of the key. The last one cannot be removed:
    /// without it only the key file could open the database.
    pub fn remove_user(&mut self, login: &str) -> Result<(), CryptError> {
        self.refresh()?;
        if !self.has_user(login) {
            return Err(CryptError::NoSuchUser {
                login: login.to_string(),
            });
        }
        if self.data.users.len() == 1 {
            return Err(CryptError::LastUser);
        }
        self.data.users.remove(login);
        self.save()
    }

    /// The database key, if `password` is `login`'s. Counts failures,
    /// locks after [`MAX_FAILED_ATTEMPTS`] (the failure that locks returns
    /// `Locked`), resets on success, and writes the file when anything
    /// changed. An empty or too long password is refused as
    /// `UnlockError::Password` without counting.
    pub fn unlock(&mut self, login: &str, password: &SecretString, now: DateTime<Utc>) -> Result<DbKey, UnlockError> {
        let password = prepare_password(password)?;
        self.refresh()?;
        let Some(entry) = self.data.users.get(login).cloned() else {
            // As slow as a wrong password, so timing does not tell which
            // logins exist.
            let _ = derive_kek(&password, &[0u8; SALT_LEN], CURRENT_KDF);
            return Err(UnlockError::NoSuchUser);
        };
        if let Some(until) = entry.locked_until {
            if until > now {
                // A clock set back must not stretch the lock.
                let cap = now + chrono::Duration::minutes(LOCK_MINUTES);
                if until > cap {
                    self.entry_mut(login).locked_until = Some(cap);
                    self.save()?;
                    return Err(UnlockError::Locked { until: cap });
                }
                return Err(UnlockError::Locked { until });
            }
        }
        match unwrap(login, &password, &entry, &self.path)? {
            Some(key) => {
                let upgrade = entry.kdf != CURRENT_KDF;
                if entry.failed_attempts != 0 || entry.locked_until.is_some() || upgrade {
                    let e = self.entry_mut(login);
                    e.failed_attempts = 0;
                    e.locked_until = None;
                    if upgrade {
                        let fresh = wrap(login, &password, &key);
                        *self.entry_mut(login) = fresh;
                    }
                    // The password was right: a keyring that cannot be
                    // written now must not keep the user out (the database
                    // will say clearly if the disk is full or read-only).
                    let _ = self.save();
                }
                Ok(key)
            }
            None => {
                let e = self.entry_mut(login);
                e.failed_attempts += 1;
                e.locked_until = None;
                let result = if e.failed_attempts >= MAX_FAILED_ATTEMPTS {
                    e.failed_attempts = 0;
                    let until = now + chrono::Duration::minutes(LOCK_MINUTES);
                    e.locked_until = Some(until);
                    UnlockError::Locked { until }
                } else {
                    UnlockError::WrongPassword {
                        attempts_left: MAX_FAILED_ATTEMPTS - e.failed_attempts,
                    }
                };
                let queue = &mut self.data.failed_attempts;
                queue.push(FailedAttempt {
                    login: login.to_string(),
                    at: now.to_rfc3339(),
                });
                if queue.len() > FAILED_QUEUE_MAX {
                    let excess = queue.len() - FAILED_QUEUE_MAX;
                    queue.drain(..excess);
                }
                // A failure that cannot be recorded is an error: otherwise a
                // read-only keyring would allow unlimited guesses.
                self.save()?;
                Err(result)
            }
        }
    }

    /// Changes `login`'s own password: `old` must unlock (and counts as an
    /// attempt like `unlock`); the same key is rewrapped under `new`.
    pub fn change_password(
        &mut self,
        login: &str,
        old: &SecretString,
        new: &SecretString,
        now: DateTime<Utc>,
    ) -> Result<(), UnlockError> {
        let new = prepare_password(new).map_err(UnlockError::Password)?;
        let key = self.unlock(login, old, now)?;
        let entry = wrap(login, &new, &key);
        *self.entry_mut(login) = entry;
        self.save()?;
        Ok(())
    }

    /// An administrator's reset of `login`'s password (the administrator
    /// has the key from their own login). Clears the lock.
    pub fn set_password(&mut self, login: &str, new: &SecretString, key: &DbKey) -> Result<(), CryptError> {
        let new = prepare_password(new)?;
        self.refresh()?;
        if !self.has_user(login) {
            return Err(CryptError::NoSuchUser {
                login: login.to_string(),
            });
        }
        self.check_key(key)?;
        let entry = wrap(login, &new, key);
        *self.entry_mut(login) = entry;
        self.save()
    }

    /// Failed attempts since the last call, oldest first, as (login,
    /// RFC 3339 time), for the audit log; the queue is emptied on disk.
    pub fn take_failed_attempts(&mut self) -> Result<Vec<(String, String)>, CryptError> {
        self.refresh()?;
        if self.data.failed_attempts.is_empty() {
            return Ok(Vec::new());
        }
        let taken = std::mem::take(&mut self.data.failed_attempts);
        if let Err(e) = self.save() {
            self.data.failed_attempts = taken;
            return Err(e);
        }
        Ok(taken.into_iter().map(|f| (f.login, f.at)).collect())
    }

    /// Failed attempts in a row of `login` and the end of its lock, if any.
    pub fn lock_state(&self, login: &str) -> Option<(u32, Option<DateTime<Utc>>)> {
        self.data.users.get(login).map(|e| (e.failed_attempts, e.locked_until))
    }

    fn entry_mut(&mut self, login: &str) -> &mut Entry {
        self.data.users.get_mut(login).expect("entry checked by the caller")
    }

    fn check_key(&self, key: &DbKey) -> Result<(), CryptError> {
        match &self.data.key_fingerprint {
            Some(f) if *f != key.fingerprint() && !self.data.users.is_empty() => Err(CryptError::KeyMismatch),
            _ => Ok(()),
        }
    }

    /// Re-reads the file, if there is one, so a change made by another
    /// program meanwhile is not overwritten.
    fn refresh(&mut self) -> Result<(), CryptError> {
        if let Some(data) = read_data(&self.path)? {
            self.data = data;
        }
        Ok(())
    }

    fn save(&self) -> Result<(), CryptError> {
        let mut json = serde_json::to_vec_pretty(&self.data).expect("keyring serializes");
        json.push(b'\n');
        write_atomic(&self.path, &json)
    }
}

fn read_data(path: &Path) -> Result<Option<KeyringData>, CryptError> {
    let text = match crate::bounded_read::read(path, crate::bounded_read::KEYRING_FILE) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CryptError::io(path, e)),
    };
    let corrupt = |detail: String| CryptError::KeyringCorrupt {
        path: path.to_path_buf(),
        detail,
    };
    let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| corrupt(e.to_string()))?;
    let found = value
        .get("format")
        .and_then(|f| f.as_u64())
        .ok_or_else(|| corrupt("no format".into()))?;
    if found > FORMAT as u64 {
        return Err(CryptError::KeyringNewer {
            path: path.to_path_buf(),
            found: found as u32,
        });
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| corrupt(e.to_string()))
}

fn wrap(login: &str, password: &SecretString, key: &DbKey) -> Entry {
    wrap_with(login, password, key, CURRENT_KDF)
}

fn wrap_with(login: &str, password: &SecretString, key: &DbKey, kdf: KdfParams) -> Entry {
    let mut salt = [0u8; SALT_LEN];
    fill_random(&mut salt);
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce);
    let kek = derive_kek(password, &salt, kdf).expect("the built-in Argon2 parameters are valid");
    let cipher = XChaCha20Poly1305::new_from_slice(&kek[..]).expect("32-byte key");
    let mut buf = Zeroizing::new(key.bytes().to_vec());
    cipher
        .encrypt_in_place(&XNonce::from(nonce), &aad(login), &mut *buf)
        .expect("encrypting 32 bytes cannot fail");
    Entry {
        scheme: "argon2id-xchacha20poly1305".into(),
        norm: "nfc".into(),
        kdf,
        salt: hex::encode(salt),
        nonce: hex::encode(nonce),
        wrapped: hex::encode(&buf),
        failed_attempts: 0,
        locked_until: None,
    }
}

/// `Ok(None)`: wrong password. `Err`: the entry itself is unusable.
fn unwrap(login: &str, password: &SecretString, entry: &Entry, path: &Path) -> Result<Option<DbKey>, CryptError> {
    let corrupt = |detail: &str| CryptError::KeyringCorrupt {
        path: path.to_path_buf(),
        detail: format!("{login}: {detail}"),
    };
    if entry.scheme != "argon2id-xchacha20poly1305" || entry.norm != "nfc" {
        return Err(corrupt("unknown scheme"));
    }
    let salt = hex::decode(&entry.salt)
        .ok()
        .filter(|s| s.len() >= argon2::MIN_SALT_LEN)
        .ok_or_else(|| corrupt("salt"))?;
    let nonce = hex::decode(&entry.nonce)
        .ok()
        .filter(|n| n.len() == NONCE_LEN)
        .ok_or_else(|| corrupt("nonce"))?;
    let wrapped = hex::decode(&entry.wrapped)
        .ok()
        .filter(|w| w.len() == KEY_LEN + TAG_LEN)
        .ok_or_else(|| corrupt("wrapped key"))?;
    // Refuse parameters that would take minutes or gigabytes (a damaged
    // or hostile file) before spending them.
    let k = entry.kdf;
    if k.m_kib > 4 * 1024 * 1024 || k.t > 64 || k.p > 16 {
        return Err(corrupt("Argon2 parameters out of range"));
    }
    let kek = derive_kek(password, &salt, k).map_err(|e| corrupt(&e))?;
    let cipher = XChaCha20Poly1305::new_from_slice(&kek[..]).expect("32-byte key");
    let nonce = XNonce::try_from(&nonce[..]).expect("length checked");
    let mut buf = Zeroizing::new(wrapped);
    if cipher.decrypt_in_place(&nonce, &aad(login), &mut *buf).is_err() {
        return Ok(None);
    }
    let mut key = DbKey(Box::new([0u8; KEY_LEN]));
    key.0.copy_from_slice(&buf[..KEY_LEN]);
    Ok(Some(key))
}

// ---------------------------------------------------------------- files

/// Writes `bytes` to `path` so that a power cut leaves the old file or the
/// new one: a private temp file beside it, fsync, rename, fsync the folder.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CryptError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    crate::private_files::create_dir_all(&dir).map_err(|e| CryptError::io(&dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        #[cfg(unix)]
        {
            // An old temp file keeps its mode through `open`: set it again.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(CryptError::io(path, e));
    }
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes the key file for unattended commands (mode 0600 on Unix). An
/// existing file holding the same key is left as it is; one holding
/// another key (or anything else) is not overwritten.
pub fn write_key_file(path: &Path, key: &DbKey) -> Result<(), CryptError> {
    match read_key_file(path) {
        Ok(existing) if existing == *key => return Ok(()),
        Ok(_) => {
            return Err(CryptError::KeyFileExists {
                path: path.to_path_buf(),
            })
        }
        Err(CryptError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(_) => {
            return Err(CryptError::KeyFileExists {
                path: path.to_path_buf(),
            })
        }
    }
    let mut text = Zeroizing::new(String::from(
        "# jkda database key. Whoever has this file can read every record.\n\
         # Keep it on removable media or in a path only root can read,\n\
         # never beside the database.\n",
    ));
    text.push_str(&Zeroizing::new(key.to_hex()));
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Reads a key file: the first line that is not empty and not a `#`
/// comment, as 64 hex digits.
pub fn read_key_file(path: &Path) -> Result<DbKey, CryptError> {
    let text = Zeroizing::new(
        crate::bounded_read::read_to_string(path, crate::bounded_read::KEY_FILE)
            .map_err(|e| CryptError::io(path, e))?,
    );
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or(CryptError::BadKey)?;
    DbKey::from_hex(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let k = DbKey::generate();
        assert_eq!(DbKey::from_hex(&k.to_hex()).unwrap(), k);
        assert_eq!(
            DbKey::from_hex(&format!("  {}\n", k.to_hex().to_uppercase())).unwrap(),
            k
        );
        assert!(DbKey::from_hex("abc").is_err());
        assert!(DbKey::from_hex(&"g".repeat(64)).is_err());
        assert!(DbKey::from_hex(&"é".repeat(32)).is_err());
    }

    #[test]
    fn debug_redacts() {
        let k = DbKey::generate();
        let d = format!("{k:?}");
        assert!(!d.contains(&k.to_hex()[..8]));
        assert_eq!(d, "DbKey(<redacted>)");
    }

    #[test]
    fn pragma_is_hex_only() {
        let k = DbKey::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(k.pragma().as_str(), format!("PRAGMA key = \"x'{}'\";", "ab".repeat(32)));
    }

    #[test]
    fn older_parameters_are_upgraded_at_the_next_unlock() {
        let dir = tempfile::tempdir().unwrap();
        let key = DbKey::generate();
        let mut ring = Keyring::create(dir.path());
        let weak = KdfParams {
            m_kib: 8 * 1024,
            t: 1,
            p: 1,
        };
        ring.data.key_fingerprint = Some(key.fingerprint());
        ring.data
            .users
            .insert("old".into(), wrap_with("old", &"pw".into(), &key, weak));
        ring.save().unwrap();
        let t = Utc::now();
        assert_eq!(ring.unlock("old", &"pw".into(), t).unwrap(), key);
        let ring = Keyring::load(dir.path()).unwrap().unwrap();
        assert_eq!(ring.data.users["old"].kdf, CURRENT_KDF);
        let mut ring = ring;
        assert_eq!(ring.unlock("old", &"pw".into(), t).unwrap(), key);
        // An entry cannot be moved to another login (the login is AAD).
        let entry = ring.data.users["old"].clone();
        ring.data.users.insert("admin".into(), entry);
        ring.save().unwrap();
        assert!(matches!(
            ring.unlock("admin", &"pw".into(), t),
            Err(UnlockError::WrongPassword { .. })
        ));
    }

    #[test]
    fn passwords_normalize() {
        // "é" precomposed and decomposed unlock alike.
        assert_eq!(
            prepare_password(&"caf\u{e9}".into()).unwrap().expose_secret(),
            prepare_password(&"cafe\u{301}".into()).unwrap().expose_secret()
        );
        assert!(matches!(prepare_password(&"".into()), Err(CryptError::EmptyPassword)));
        assert!(prepare_password(&"密".repeat(MAX_PASSWORD_CHARS).into()).is_ok());
        assert!(matches!(
            prepare_password(&"密".repeat(MAX_PASSWORD_CHARS + 1).into()),
            Err(CryptError::PasswordTooLong { .. })
        ));
    }
}
