//! How a command-line run gets at the database. An encrypted database opens
//! with `--key-file` (or `JKDA_KEY_FILE`) for unattended jobs, or with
//! `--user LOGIN` and that user's password, read without echo from the
//! terminal or as the first line of standard input — never from the command
//! line, where other users of the machine could read it. A plaintext
//! database (one made before encryption, or demo data) opens as it is.

use crate::i18n::Msg;
use crate::paths::db_path;
use crate::store::crypt::{read_key_file, DbKey, Keyring};
use crate::store::{Actor, Role, Store};
use secrecy::SecretString;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;
use zeroize::Zeroize;

pub struct Credentials<'a> {
    pub user: Option<&'a str>,
    pub key_file: Option<&'a Path>,
}

/// The operating-system user, for audit entries of trusted local runs.
pub fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "local".into())
}

/// The longest line of standard input taken as a password.
const PASSWORD_LINE: u64 = 4 << 10;

/// Reads a password: without echo from a terminal, else one line of stdin.
/// Typed keys go straight into the wiped buffer of the TUI's password box;
/// a line from stdin is wiped once copied into the `SecretString`.
pub fn read_password(prompt: &str) -> std::io::Result<SecretString> {
    if std::io::stdin().is_terminal() {
        eprint!("{prompt}");
        std::io::stderr().flush()?;
        crossterm::terminal::enable_raw_mode()?;
        let mut out = crate::app::secret_input::SecretBuf::default();
        let result = (|| -> std::io::Result<()> {
            loop {
                if let crossterm::event::Event::Key(k) = crossterm::event::read()? {
                    use crossterm::event::{KeyCode, KeyModifiers};
                    match k.code {
                        KeyCode::Enter => return Ok(()),
                        KeyCode::Backspace => {
                            out.backspace();
                        }
                        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                            return Err(std::io::Error::new(std::io::ErrorKind::Interrupted, "cancelled"));
                        }
                        KeyCode::Char(c) => out.insert(c.encode_utf8(&mut [0; 4])),
                        _ => {}
                    }
                }
            }
        })();
        crossterm::terminal::disable_raw_mode()?;
        eprintln!();
        result.map(|_| out.take())
    } else {
        // One line, however long the input (`< /dev/zero` has no end).
        let mut line = Vec::with_capacity(PASSWORD_LINE as usize + 1);
        let read = std::io::stdin()
            .lock()
            .take(PASSWORD_LINE + 1)
            .read_until(b'\n', &mut line);
        let text = match read {
            Ok(_) if line.len() as u64 > PASSWORD_LINE => Err(crate::bounded_read::too_large(PASSWORD_LINE)),
            Ok(_) => std::str::from_utf8(&line)
                .map(|s| SecretString::from(s.trim_end_matches(['\r', '\n'])))
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text")),
            Err(e) => Err(e),
        };
        line.zeroize();
        text
    }
}

/// Opens the store for a command and says who is acting.
/// The key comes back too when known (a login or a key file): account
/// commands need it to wrap the key for a new password.
pub fn open(dir: &Path, creds: &Credentials, i18n: &crate::i18n::I18n) -> Result<(Store, Actor, Option<DbKey>), Msg> {
    let db = db_path(dir);
    let key_file = creds
        .key_file
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("JKDA_KEY_FILE").map(Into::into));
    if let Some(login) = creds.user {
        let mut keyring = Keyring::load(dir)
            .map_err(|e| e.message())?
            .ok_or_else(|| Msg::new("access.no_accounts"))?;
        let password = read_password(&format!("{}: ", i18n.t("gate.password")))
            .map_err(|e| crate::bounded_read::message(Path::new("stdin"), &e))?;
        let result = keyring.unlock(login, &password, chrono::Utc::now());
        let key = result.map_err(|e| match e {
            crate::store::crypt::UnlockError::NoSuchUser => Msg::new("access.login_failed"),
            other => other.message(),
        })?;
        let store = crate::session::open_store(dir, Some(&key), true).map_err(crate::session::keyring_open_error)?;
        for (who, _) in keyring.take_failed_attempts().unwrap_or_default() {
            let _ = store.audit(&Actor::new(who.clone()), "login_failed", "user", &who);
        }
        let user = store
            .user(login)
            .map_err(|e| e.message())?
            .ok_or_else(|| Msg::new("access.login_failed"))?;
        if user.disabled {
            return Err(Msg::new("access.disabled"));
        }
        let actor = Actor::with_role(login, user.role);
        store
            .audit(&actor, "login_cli", "user", login)
            .map_err(|e| e.message())?;
        return Ok((store, actor, Some(key)));
    }
    if let Some(path) = key_file {
        check_key_file(dir, &path)?;
        let key = read_key_file(&path).map_err(|e| e.message())?;
        let store = crate::session::open_store(dir, Some(&key), true).map_err(|e| e.message())?;
        return Ok((store, Actor::new(format!("keyfile:{}", os_user())), Some(key)));
    }
    if Store::is_encrypted_file(&db) {
        return Err(Msg::new("cli.needs_credentials"));
    }
    let store = Store::open(&db).map_err(|e| e.message())?;
    Ok((store, Actor::new(os_user()), None))
}

/// Refuses a key file inside the data directory (whoever copies the
/// directory would carry the key with the data) or one that other users
/// may open.
pub fn check_key_file(dir: &Path, path: &Path) -> Result<(), Msg> {
    if is_inside(dir, path) {
        return Err(Msg::new("cli.key_file_in_data_dir")
            .arg("path", path.display())
            .arg("dir", dir.display()));
    }
    match crate::private_files::open_to_others(path) {
        Some(mode) => Err(Msg::new("cli.key_file_open")
            .arg("path", path.display())
            .arg("mode", format!("{mode:o}"))),
        None => Ok(()),
    }
}

/// Whether `path` (existing or not, through links) lies in `dir`.
fn is_inside(dir: &Path, path: &Path) -> bool {
    let Ok(dir) = dir.canonicalize() else {
        return false; // no data directory yet: nothing is in it
    };
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let by_parent = parent.canonicalize().is_ok_and(|p| p.starts_with(&dir));
    let by_target = path.canonicalize().is_ok_and(|p| p.starts_with(&dir));
    by_parent || by_target
}

/// An actor with a role, for commands that must respect it.
pub fn require(actor: &Actor, p: crate::store::Permission) -> Result<(), Msg> {
    if actor.role.allows(p) {
        Ok(())
    } else {
        Err(p.message())
    }
}

pub fn is_system(actor: &Actor) -> bool {
    actor.role == Role::System
}
