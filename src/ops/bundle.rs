//! `jkda support-bundle FILE`: a `.tar.gz` an engineer can ask a clinic for
//! by phone. What goes in is built from counts, states, message keys and
//! settings, never from a resident's row: versions, the OS, the terminal,
//! `config.toml` with its secrets removed, the `doctor` report, database
//! statistics (counts only), the outbox's states and error classes, and the
//! last errors as message templates with their values left out.

use super::doctor::{Report, TerminalFacts};
use super::OpsError;
use crate::i18n::I18n;
use crate::store::Store;
use serde_json::{json, Value};
use std::path::Path;

/// Where the database's numbers come from: an open store, or why none.
pub enum Database<'a> {
    Open(&'a Store),
    /// The message key saying why the database was not read.
    NotRead(&'static str),
}

pub struct Inputs<'a> {
    pub data_dir: &'a Path,
    pub doctor: &'a Report,
    pub terminal: &'a TerminalFacts,
    pub database: Database<'a>,
    pub i18n: &'a I18n,
    pub now: chrono::DateTime<chrono::Local>,
}

/// Writes the bundle; returns the names of the files in it.
pub fn write(path: &Path, inp: &Inputs) -> Result<Vec<String>, OpsError> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let pretty = |v: &Value| {
        let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
        b.push(b'\n');
        b
    };
    files.push(("versions.json".into(), pretty(&versions())));
    files.push(("terminal.json".into(), pretty(&terminal(inp.terminal))));
    files.push(("config.toml".into(), redacted_config(inp.data_dir).into_bytes()));
    files.push(("doctor.txt".into(), inp.doctor.text(inp.i18n).into_bytes()));
    files.push(("doctor.json".into(), pretty(&inp.doctor.json(inp.i18n))));
    match &inp.database {
        Database::Open(store) => {
            let stats = store.statistics().map_err(OpsError::Store)?;
            files.push((
                "database.json".into(),
                pretty(&serde_json::to_value(&stats).unwrap_or_default()),
            ));
            let outbox = store.outbox_summary().map_err(OpsError::Store)?;
            files.push((
                "outbox.json".into(),
                pretty(&serde_json::to_value(&outbox).unwrap_or_default()),
            ));
            let mut errors = String::new();
            for (at, key) in &outbox.last_errors {
                let template = inp.i18n.lookup(key).unwrap_or("");
                errors.push_str(&format!("{at}\t{key}\t{template}\n"));
            }
            files.push(("errors.txt".into(), errors.into_bytes()));
        }
        Database::NotRead(why) => {
            files.push(("database.json".into(), pretty(&json!({"not_read": inp.i18n.t(why)}))));
        }
    }

    let out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| OpsError::io(path, e))?;
    crate::private_files::make_private(path).map_err(|e| OpsError::io(path, e))?;
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let top = format!("jkda-support-{}", inp.now.format("%Y%m%d-%H%M%S"));
    let mtime = inp.now.timestamp().max(0) as u64;
    for (name, bytes) in &files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(mtime);
        h.set_cksum();
        tar.append_data(&mut h, format!("{top}/{name}"), bytes.as_slice())
            .map_err(|e| OpsError::io(path, e))?;
    }
    let gz = tar.into_inner().map_err(|e| OpsError::io(path, e))?;
    let f = gz.finish().map_err(|e| OpsError::io(path, e))?;
    f.sync_all().map_err(|e| OpsError::io(path, e))?;
    Ok(files.into_iter().map(|(n, _)| n).collect())
}

fn versions() -> Value {
    let (sqlite, cipher) = rusqlite::Connection::open_in_memory()
        .ok()
        .map(|c| {
            let sqlite: Option<String> = c.query_row("SELECT sqlite_version()", [], |r| r.get(0)).ok();
            let cipher: Option<String> = c.query_row("PRAGMA cipher_version", [], |r| r.get(0)).ok();
            (sqlite, cipher)
        })
        .unwrap_or_default();
    json!({
        "jkda": env!("CARGO_PKG_VERSION"),
        "schema_known": crate::store::schema::current_version(),
        "sqlite": sqlite,
        "sqlcipher": cipher,
        "os": os(),
        "arch": std::env::consts::ARCH,
    })
}

/// The operating system as `uname` tells it (the host name left out).
#[cfg(unix)]
#[allow(unsafe_code)]
fn os() -> Value {
    // SAFETY: utsname is plain C data; all zeroes is a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname fills a struct we own with NUL-terminated strings.
    if unsafe { libc::uname(&mut u) } != 0 {
        return json!({"family": std::env::consts::OS});
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    json!({
        "family": std::env::consts::OS,
        "sysname": field(&u.sysname),
        "release": field(&u.release),
        "version": field(&u.version),
        "machine": field(&u.machine),
    })
}

#[cfg(not(unix))]
fn os() -> Value {
    json!({"family": std::env::consts::OS})
}

fn terminal(t: &TerminalFacts) -> Value {
    json!({
        "tty": t.is_tty,
        "size": t.size,
        "term": t.term,
        "locale": t.locale,
        "no_color": t.no_color,
        "colorterm": t.colorterm,
    })
}

/// `config.toml` as jkda reads it, re-written from its parsed settings
/// (comments dropped: they are free text), with every secret replaced and
/// credentials in the server address removed. A file that does not parse
/// is described, not copied.
pub fn redacted_config(data_dir: &Path) -> String {
    let file = data_dir.join(crate::paths::CONFIG_FILE);
    let text = match crate::edited_file::read(&file) {
        Ok(Some(e)) => e.text,
        Ok(None) => return "# no config.toml\n".into(),
        Err(_) => return "# config.toml exists but cannot be read as text\n".into(),
    };
    let mut value: toml::Table = match toml::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(0);
            return format!("# config.toml does not parse (line {line}); not copied\n");
        }
    };
    redact(&mut value);
    format!(
        "# config.toml with secrets removed\n{}",
        toml::to_string(&value).unwrap_or_default()
    )
}

fn secret_name(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    ["token", "password", "secret", "key"].iter().any(|s| k.contains(s))
}

fn redact(t: &mut toml::Table) {
    for (k, v) in t.iter_mut() {
        if secret_name(k) {
            *v = toml::Value::String("<removed>".into());
            continue;
        }
        match v {
            toml::Value::Table(inner) => redact(inner),
            toml::Value::String(s) if s.contains("://") && s.contains('@') => {
                // https://user:pass@host/ -> https://host/
                if let Some((scheme, rest)) = s.split_once("://") {
                    let (authority, path) = rest
                        .split_once('/')
                        .map(|(a, p)| (a, format!("/{p}")))
                        .unwrap_or((rest, String::new()));
                    let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
                    *s = format!("{scheme}://{host}{path}");
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_credentials_leave_the_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "# 张三的电脑\nserver_url = \"https://u:pw@platform.example/fhir\"\nsite_token = \"s3cr3t-token\"\nidle_lock_minutes = 5\n[backup]\ndir = \"/media/usb\"\n",
        )
        .unwrap();
        let out = redacted_config(dir.path());
        assert!(
            !out.contains("s3cr3t") && !out.contains("pw@") && !out.contains("张三"),
            "{out}"
        );
        assert!(
            out.contains("https://platform.example/fhir") && out.contains("idle_lock_minutes = 5"),
            "{out}"
        );
        assert!(
            out.contains("site_token = \"<removed>\"") && out.contains("/media/usb"),
            "{out}"
        );
    }
}
