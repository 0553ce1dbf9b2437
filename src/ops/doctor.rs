//! `jkda doctor`: one screenful of checks an engineer on the phone can ask
//! for, each pass / warn / fail with what to do, without logging in and
//! without showing anyone's data. An encrypted database is looked at from
//! outside unless a key file is configured (`--key-file`, `JKDA_KEY_FILE`):
//! then its pages, schema, audit chain and outbox are checked too, read-only.
//! Exit code: 0 all passed, 1 a warning, 2 a failure (checks that could not
//! run are "skipped" and count for nothing).

use crate::config::{Config, ConfigError};
use crate::i18n::{I18n, Msg};
use crate::paths::db_path;
use crate::store::crypt::{read_key_file, DbKey, Keyring};
use crate::store::inspect::DbFile;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Skip,
    Pass,
    Warn,
    Fail,
}

impl Level {
    fn key(self) -> &'static str {
        match self {
            Level::Skip => "doctor.level.skip",
            Level::Pass => "doctor.level.pass",
            Level::Warn => "doctor.level.warn",
            Level::Fail => "doctor.level.fail",
        }
    }
}

/// One check: what was found, and what to do when it is not a pass.
/// `facts` are the same findings for scripts (numbers, states, never data).
#[derive(Debug, Clone)]
pub struct Check {
    pub id: &'static str,
    pub level: Level,
    pub summary: Msg,
    pub advice: Option<Msg>,
    pub facts: Value,
}

impl Check {
    pub fn new(id: &'static str, level: Level, summary: Msg) -> Check {
        Check {
            id,
            level,
            summary,
            advice: None,
            facts: Value::Null,
        }
    }

    pub fn advice(mut self, m: Msg) -> Check {
        self.advice = Some(m);
        self
    }

    pub fn facts(mut self, v: Value) -> Check {
        self.facts = v;
        self
    }
}

/// The terminal as jkda would find it.
#[derive(Debug, Clone, Default)]
pub struct TerminalFacts {
    pub is_tty: bool,
    pub size: Option<(u16, u16)>,
    pub term: Option<String>,
    /// The locale in force: `LC_ALL`, else `LC_CTYPE`, else `LANG`.
    pub locale: Option<String>,
    pub no_color: bool,
    pub colorterm: Option<String>,
}

impl TerminalFacts {
    pub fn from_env() -> TerminalFacts {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let is_tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
        TerminalFacts {
            is_tty,
            size: if is_tty { crossterm::terminal::size().ok() } else { None },
            term: var("TERM"),
            locale: var("LC_ALL").or_else(|| var("LC_CTYPE")).or_else(|| var("LANG")),
            no_color: var("NO_COLOR").is_some(),
            colorterm: var("COLORTERM"),
        }
    }
}

/// What the checks look at.
pub struct Inputs<'a> {
    pub data_dir: &'a Path,
    pub config: &'a Config,
    pub config_error: Option<&'a ConfigError>,
    pub key_file: Option<PathBuf>,
    /// A key already known (a support bundle made with `--user`): the
    /// database is then checked inside even without a key file.
    pub key: Option<DbKey>,
    pub sync: crate::sync::SyncConfig,
    pub terminal: TerminalFacts,
    pub now: DateTime<Utc>,
}

pub struct Report {
    pub checks: Vec<Check>,
    pub data_dir: PathBuf,
}

impl Report {
    pub fn worst(&self) -> Level {
        self.checks.iter().map(|c| c.level).max().unwrap_or(Level::Pass)
    }

    /// 0 all passed (or skipped), 1 a warning, 2 a failure.
    pub fn exit_code(&self) -> u8 {
        match self.worst() {
            Level::Skip | Level::Pass => 0,
            Level::Warn => 1,
            Level::Fail => 2,
        }
    }

    pub fn text(&self, i18n: &I18n) -> String {
        let mut out = i18n.tf("doctor.title", &[("dir", &self.data_dir.display().to_string())]);
        out.push('\n');
        let names: Vec<String> = self
            .checks
            .iter()
            .map(|c| i18n.t(&format!("doctor.name.{}", c.id)).to_string())
            .collect();
        let width = names
            .iter()
            .map(|n| unicode_width::UnicodeWidthStr::width(n.as_str()))
            .max()
            .unwrap_or(0);
        for (c, name) in self.checks.iter().zip(names) {
            let pad = width - unicode_width::UnicodeWidthStr::width(name.as_str());
            out.push_str(&format!(
                "[{}] {name}{}  {}\n",
                i18n.t(c.level.key()),
                " ".repeat(pad),
                i18n.msg(&c.summary)
            ));
            if let Some(a) = &c.advice {
                out.push_str(&format!("       → {}\n", i18n.msg(a)));
            }
        }
        let worst = self.worst();
        out.push_str(i18n.t(match worst {
            Level::Skip | Level::Pass => "doctor.all_pass",
            Level::Warn => "doctor.some_warn",
            Level::Fail => "doctor.some_fail",
        }));
        out.push('\n');
        out
    }

    pub fn json(&self, i18n: &I18n) -> Value {
        let checks: Vec<Value> = self
            .checks
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "status": c.level,
                    "summary": i18n.msg(&c.summary),
                    "advice": c.advice.as_ref().map(|a| i18n.msg(a)),
                    "facts": c.facts,
                })
            })
            .collect();
        json!({
            "jkda_version": env!("CARGO_PKG_VERSION"),
            "status": self.worst(),
            "exit_code": self.exit_code(),
            "checks": checks,
        })
    }
}

/// Runs every check. Nothing is written but a probe file in the data
/// directory, removed at once (SQLite may leave an empty `-wal` beside a
/// database read in WAL mode; the next start removes it); the network is
/// reached only when upload is configured.
pub fn run(inp: &Inputs) -> Report {
    let mut checks = vec![terminal(&inp.terminal), config(inp)];
    checks.push(data_dir(inp.data_dir));
    checks.push(disk(inp.data_dir));
    let (key_check, key) = key_file(inp);
    let key = key.or_else(|| inp.key.clone());
    checks.push(keyring(inp));
    checks.push(key_check);
    checks.extend(database(inp.data_dir, key.as_ref(), inp.now));
    checks.extend(super::net::platform(&inp.sync));
    Report {
        checks,
        data_dir: inp.data_dir.to_path_buf(),
    }
}

fn terminal(t: &TerminalFacts) -> Check {
    let term = t.term.clone().unwrap_or_else(|| "-".into());
    let locale = t.locale.clone().unwrap_or_else(|| "-".into());
    let utf8 = cfg!(windows)
        || t.locale
            .as_deref()
            .is_some_and(|l| l.to_ascii_lowercase().replace('-', "").contains("utf8"));
    // Language-neutral: the template says "colours {colours}".
    let colours = if t.no_color {
        "NO_COLOR"
    } else if t
        .colorterm
        .as_deref()
        .is_some_and(|c| c.contains("truecolor") || c.contains("24bit"))
    {
        "24-bit"
    } else if term.contains("256") {
        "256"
    } else {
        "16"
    };
    let size = t.size.map(|(c, r)| format!("{c}×{r}"));
    let summary = Msg::new(if t.is_tty {
        "doctor.terminal"
    } else {
        "doctor.terminal_pipe"
    })
    .arg("size", size.clone().unwrap_or_default())
    .arg("term", &term)
    .arg("locale", &locale)
    .arg("colours", colours);
    let facts = json!({
        "tty": t.is_tty, "columns": t.size.map(|s| s.0), "rows": t.size.map(|s| s.1),
        "term": t.term, "locale": t.locale, "utf8": utf8, "no_color": t.no_color,
    });
    let dumb = t.term.as_deref().is_none_or(|v| v == "dumb");
    let small = t.size.is_some_and(|(c, r)| c < 80 || r < 24);
    let (level, advice) = if !cfg!(windows) && dumb {
        (Level::Warn, Some(Msg::new("doctor.terminal_dumb")))
    } else if !utf8 {
        (Level::Warn, Some(Msg::new("doctor.terminal_no_utf8")))
    } else if small {
        (Level::Warn, Some(Msg::new("doctor.terminal_small")))
    } else {
        (Level::Pass, None)
    };
    let mut c = Check::new("terminal", level, summary).facts(facts);
    c.advice = advice;
    c
}

fn config(inp: &Inputs) -> Check {
    let file = inp.data_dir.join(crate::paths::CONFIG_FILE);
    match inp.config_error {
        // The file and line only: the parser's detail may quote a value
        // (a token), and this report goes into support bundles.
        Some(e) => Check::new(
            "config",
            Level::Warn,
            Msg::new("doctor.config_bad")
                .arg("file", e.file.display())
                .arg("line", e.line),
        )
        .advice(Msg::new("doctor.config_fix"))
        .facts(json!({"file": file, "ok": false, "line": e.line})),
        None if file.exists() => Check::new(
            "config",
            Level::Pass,
            Msg::new("doctor.config_ok").arg("file", file.display()),
        )
        .facts(json!({"file": file, "ok": true})),
        None => Check::new("config", Level::Pass, Msg::new("doctor.config_absent")).facts(json!({"file": null})),
    }
}

fn data_dir(dir: &Path) -> Check {
    let facts = |private: bool| json!({"dir": dir, "exists": dir.is_dir(), "private": private});
    if !dir.is_dir() {
        return Check::new(
            "data_dir",
            Level::Fail,
            Msg::new("doctor.data_dir_missing").arg("dir", dir.display()),
        )
        .advice(Msg::new("doctor.data_dir_missing_do"))
        .facts(facts(false));
    }
    let probe = dir.join(format!(".jkda-doctor-{}", std::process::id()));
    let writable = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    if !writable {
        return Check::new(
            "data_dir",
            Level::Fail,
            Msg::new("doctor.data_dir_read_only").arg("dir", dir.display()),
        )
        .advice(Msg::new("doctor.data_dir_read_only_do"))
        .facts(facts(false));
    }
    let open = crate::private_files::data_dir_open_to_others(dir);
    if open.is_empty() {
        return Check::new(
            "data_dir",
            Level::Pass,
            Msg::new("doctor.data_dir_ok").arg("dir", dir.display()),
        )
        .facts(facts(true));
    }
    let files: Vec<String> = open.iter().map(|(p, m)| format!("{} ({m:o})", p.display())).collect();
    Check::new(
        "data_dir",
        Level::Warn,
        Msg::new("doctor.data_dir_open").arg("files", files.join(", ")),
    )
    .advice(Msg::new("doctor.data_dir_open_do").arg("dir", dir.display()))
    .facts(facts(false))
}

/// Free bytes for an unprivileged user on the file system holding `path`.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain C data; all zeroes is a valid value.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a statvfs we own.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)]
    Some(s.f_bavail as u64 * s.f_frsize as u64)
}

#[cfg(not(unix))]
pub fn free_bytes(_path: &Path) -> Option<u64> {
    None
}

pub fn human_bytes(n: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if n as f64 >= 1024.0 * MB {
        format!("{:.1} GB", n as f64 / (1024.0 * MB))
    } else {
        format!("{:.1} MB", n as f64 / MB)
    }
}

fn disk(dir: &Path) -> Check {
    let at = if dir.is_dir() { dir } else { dir.parent().unwrap_or(dir) };
    let Some(free) = free_bytes(at) else {
        return Check::new("disk", Level::Skip, Msg::new("doctor.disk_unknown"));
    };
    let db = std::fs::metadata(db_path(dir)).map(|m| m.len()).unwrap_or(0);
    let summary = Msg::new("doctor.disk")
        .arg("free", human_bytes(free))
        .arg("db", human_bytes(db));
    let facts = json!({"free_bytes": free, "database_bytes": db});
    // A backup, a migration or an export needs about the database's size again.
    if free < (100 << 20).max(db) {
        Check::new("disk", Level::Fail, summary)
            .advice(Msg::new("doctor.disk_do"))
            .facts(facts)
    } else if free < (1 << 30).max(db * 3) {
        Check::new("disk", Level::Warn, summary)
            .advice(Msg::new("doctor.disk_do"))
            .facts(facts)
    } else {
        Check::new("disk", Level::Pass, summary).facts(facts)
    }
}

/// The key file's check, and its key when it is usable.
fn key_file(inp: &Inputs) -> (Check, Option<DbKey>) {
    let Some(path) = &inp.key_file else {
        return (
            Check::new("key_file", Level::Skip, Msg::new("doctor.key_file_none")),
            None,
        );
    };
    let facts = |ok: bool| json!({"path": path, "usable": ok});
    if let Err(m) = crate::cli::auth::check_key_file(inp.data_dir, path) {
        return (Check::new("key_file", Level::Fail, m).facts(facts(false)), None);
    }
    let key = match read_key_file(path) {
        Ok(k) => k,
        Err(e) => {
            return (
                Check::new("key_file", Level::Fail, e.message()).facts(facts(false)),
                None,
            )
        }
    };
    let ring_fp = Keyring::load(inp.data_dir)
        .ok()
        .flatten()
        .and_then(|k| k.key_fingerprint().map(String::from));
    if ring_fp.as_deref().is_some_and(|f| f != key.fingerprint()) {
        return (
            Check::new(
                "key_file",
                Level::Fail,
                Msg::new("doctor.key_file_mismatch").arg("path", path.display()),
            )
            .advice(Msg::new("doctor.key_file_mismatch_do"))
            .facts(facts(false)),
            None,
        );
    }
    (
        Check::new(
            "key_file",
            Level::Pass,
            Msg::new("doctor.key_file_ok").arg("path", path.display()),
        )
        .facts(facts(true)),
        Some(key),
    )
}

fn keyring(inp: &Inputs) -> Check {
    let db = db_path(inp.data_dir);
    let encrypted = Store::is_encrypted_file(&db);
    match Keyring::load(inp.data_dir) {
        Err(e) => Check::new("keyring", Level::Fail, e.message())
            .advice(Msg::new("doctor.keyring_restore"))
            .facts(json!({"present": true, "readable": false})),
        Ok(None) if encrypted => Check::new("keyring", Level::Fail, Msg::new("doctor.keyring_missing"))
            .advice(Msg::new("doctor.keyring_restore"))
            .facts(json!({"present": false})),
        Ok(None) => {
            Check::new("keyring", Level::Skip, Msg::new("doctor.keyring_none")).facts(json!({"present": false}))
        }
        Ok(Some(ring)) => {
            let users = ring.users().len();
            let locked = ring.locked(inp.now);
            let facts = json!({
                "present": true, "logins": users, "locked": locked.len(),
                "key_fingerprint": ring.key_fingerprint(),
            });
            let summary = Msg::new("doctor.keyring_ok")
                .arg("users", users)
                .arg("fingerprint", ring.key_fingerprint().unwrap_or("-"));
            if users == 0 && encrypted {
                Check::new("keyring", Level::Fail, Msg::new("doctor.keyring_missing"))
                    .advice(Msg::new("doctor.keyring_restore"))
                    .facts(facts)
            } else if !locked.is_empty() {
                let logins: Vec<String> = locked.iter().map(|(l, _)| l.clone()).collect();
                Check::new("keyring", Level::Warn, summary)
                    .advice(Msg::new("doctor.keyring_locked").arg("logins", logins.join(", ")))
                    .facts(facts)
            } else {
                Check::new("keyring", Level::Pass, summary).facts(facts)
            }
        }
    }
}

/// The database file, and what can be seen inside it with the key (or
/// without one when it is plaintext): pages, schema, audit chain, outbox.
fn database(dir: &Path, key: Option<&DbKey>, now: DateTime<Utc>) -> Vec<Check> {
    let db = db_path(dir);
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let kind = match DbFile::of(&db) {
        Ok(k) => k,
        Err(e) => {
            return vec![Check::new(
                "database",
                Level::Fail,
                Msg::new("ops.io").arg("path", db.display()).arg("detail", e),
            )]
        }
    };
    let skipped = |why: &'static str| {
        ["schema", "audit", "outbox"]
            .into_iter()
            .map(move |id| Check::new(id, Level::Skip, Msg::new(why)))
    };
    let facts = json!({"file": kind, "bytes": size});
    let open = match kind {
        DbFile::Missing => {
            let mut v = vec![Check::new("database", Level::Warn, Msg::new("doctor.db_missing"))
                .advice(Msg::new("doctor.db_missing_do"))
                .facts(facts)];
            v.extend(skipped("doctor.needs_db"));
            return v;
        }
        DbFile::Encrypted if key.is_none() => {
            let mut v = vec![Check::new(
                "database",
                Level::Skip,
                Msg::new("doctor.db_encrypted_no_key").arg("size", human_bytes(size)),
            )
            .advice(Msg::new("doctor.db_encrypted_no_key_do"))
            .facts(facts)];
            v.extend(skipped("doctor.needs_key"));
            return v;
        }
        DbFile::Plain => Store::open_read_only(&db, None),
        DbFile::Encrypted => Store::open_read_only(&db, key),
        DbFile::Empty | DbFile::Damaged => Err(StoreError::Corrupt { path: db.clone() }),
    };
    let store = match open {
        Ok(s) => s,
        Err(e) => {
            let (summary, advice) = match &e {
                StoreError::WrongKey { .. } => {
                    (Msg::new("doctor.db_wrong_key"), Msg::new("doctor.key_file_mismatch_do"))
                }
                _ => (e.message(), Msg::new("doctor.db_restore")),
            };
            let mut v = vec![Check::new("database", Level::Fail, summary).advice(advice).facts(facts)];
            v.extend(skipped("doctor.needs_db"));
            return v;
        }
    };
    let mut out = Vec::new();
    let enc = kind == DbFile::Encrypted;
    let started = std::time::Instant::now();
    match store.quick_check() {
        Ok(problems) if problems.is_empty() => out.push(
            Check::new(
                "database",
                Level::Pass,
                Msg::new(if enc {
                    "doctor.db_ok_encrypted"
                } else {
                    "doctor.db_ok_plain"
                })
                .arg("size", human_bytes(size))
                .arg("ms", started.elapsed().as_millis()),
            )
            .advice_if(!enc, Msg::new("doctor.db_plain_do"))
            .facts(json!({"file": kind, "bytes": size, "quick_check": "ok"})),
        ),
        Ok(problems) => out.push(
            Check::new(
                "database",
                Level::Fail,
                Msg::new("doctor.db_damaged")
                    .arg("count", problems.len())
                    .arg("first", problems.first().cloned().unwrap_or_default()),
            )
            .advice(Msg::new("doctor.db_restore"))
            .facts(json!({"file": kind, "bytes": size, "quick_check": problems.len()})),
        ),
        Err(e) => out.push(
            Check::new("database", Level::Fail, e.message())
                .advice(Msg::new("doctor.db_restore"))
                .facts(facts),
        ),
    }
    let known = crate::store::schema::current_version();
    let found = store.schema_version().unwrap_or(-1);
    let schema_facts = json!({"found": found, "known": known});
    out.push(if found > known {
        Check::new(
            "schema",
            Level::Fail,
            Msg::new("doctor.schema_newer").arg("found", found).arg("known", known),
        )
        .advice(Msg::new("doctor.schema_newer_do"))
        .facts(schema_facts)
    } else if found < known {
        Check::new(
            "schema",
            Level::Pass,
            Msg::new("doctor.schema_older").arg("found", found).arg("known", known),
        )
        .facts(schema_facts)
    } else {
        Check::new("schema", Level::Pass, Msg::new("doctor.schema_ok").arg("found", found)).facts(schema_facts)
    });
    out.push(match store.verify_audit() {
        Ok(None) => {
            let n = store.audit_count().unwrap_or(0);
            Check::new("audit", Level::Pass, Msg::new("doctor.audit_ok").arg("count", n))
                .facts(json!({"intact": true, "entries": n}))
        }
        Ok(Some(b)) => Check::new(
            "audit",
            Level::Fail,
            Msg::new("doctor.audit_broken").arg("id", b.id).arg("kind", b.kind),
        )
        .advice(Msg::new("doctor.audit_broken_do"))
        .facts(json!({"intact": false, "id": b.id, "kind": b.kind})),
        Err(e) => Check::new("audit", Level::Fail, e.message()),
    });
    out.push(outbox(&store, now));
    out
}

impl Check {
    fn advice_if(self, cond: bool, m: Msg) -> Check {
        if cond {
            self.advice(m)
        } else {
            self
        }
    }
}

/// Records not confirmed for this long mean uploads are not getting through.
const STALE_DAYS: i64 = 7;

fn outbox(store: &Store, now: DateTime<Utc>) -> Check {
    let s = match store.outbox_summary() {
        Ok(s) => s,
        Err(e) => return Check::new("outbox", Level::Fail, e.message()),
    };
    let summary = Msg::new("doctor.outbox")
        .arg("waiting", s.waiting)
        .arg("failed", s.failed)
        .arg("conflict", s.conflict)
        .arg("sent", s.sent)
        .arg("oldest", s.oldest_waiting.clone().unwrap_or_else(|| "-".into()));
    let facts = serde_json::to_value(&s).unwrap_or(Value::Null);
    let stale = s.oldest_waiting.as_deref().and_then(|t| days_since(t, now));
    if s.failed > 0 || s.conflict > 0 {
        Check::new("outbox", Level::Warn, summary)
            .advice(Msg::new("doctor.outbox_failed_do"))
            .facts(facts)
    } else if let Some(days) = stale.filter(|d| *d >= STALE_DAYS) {
        Check::new("outbox", Level::Warn, summary)
            .advice(Msg::new("doctor.outbox_stale_do").arg("days", days))
            .facts(facts)
    } else {
        Check::new("outbox", Level::Pass, summary).facts(facts)
    }
}

/// Whole days from a stored local time with offset (`now_text`) to `now`.
fn days_since(stored: &str, now: DateTime<Utc>) -> Option<i64> {
    let t = DateTime::parse_from_str(stored, "%Y-%m-%dT%H:%M:%S%.f%:z").ok()?;
    Some((now - t.with_timezone(&Utc)).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_age_is_counted_in_whole_days_across_time_zones() {
        let now = DateTime::parse_from_rfc3339("2026-03-10T04:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(days_since("2026-03-03T12:00:00.000+08:00", now), Some(7));
        assert_eq!(days_since("2026-03-09T13:00:00.000+08:00", now), Some(0));
        assert_eq!(days_since("garbage", now), None);
    }
}
