//! Operations, for real: `jkda doctor` against the in-process hub on
//! loopback (up, down, wrong token), `jkda backup` while another jkda
//! process writes, `jkda restore` refusing what it must, and a support
//! bundle that holds nobody's name, ID number or phone (issue 10).

mod common;
mod sync_support;

use common::{install, login, Tui, ADMIN_PW, CTRL_Q, DOCTOR_PW};
use jkda::store::crypt::{read_key_file, DbKey};
use jkda::store::{Store, StoreError};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use sync_support::Platform;

/// Runs jkda with a known terminal environment and `stdin` piped in.
fn jkda(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jkda"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("USER", "ops-test")
        .env("TERM", "xterm-256color")
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_CTYPE")
        .env_remove("NO_COLOR")
        .env_remove("JKDA_KEY_FILE")
        .env_remove("JKDA_SITE_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jkda");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().expect("jkda output")
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// An installation with `residents` demo residents and a key file outside it.
fn installed(root: &Path, residents: u32) -> (PathBuf, PathBuf) {
    let dir = root.join("data");
    install(&dir, residents);
    let key = root.join("jkda.key");
    let o = jkda(
        &dir,
        &["--user", "admin", "key-file", key.to_str().unwrap()],
        &format!("{ADMIN_PW}\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    (dir, key)
}

fn doctor_json(dir: &Path, key: Option<&Path>) -> (i32, Value) {
    let mut args = vec!["--lang", "en"];
    if let Some(k) = key {
        args.extend(["--key-file", k.to_str().unwrap()]);
    }
    args.extend(["doctor", "--json"]);
    let o = jkda(dir, &args, "");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    (o.status.code().unwrap(), v)
}

fn status<'a>(report: &'a Value, id: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))["status"]
        .as_str()
        .unwrap()
}

fn set_platform(dir: &Path, url: &str, token: &str, extra: &str) {
    std::fs::write(
        dir.join("config.toml"),
        format!("server_url = \"{url}\"\nsite_token = \"{token}\"\n{extra}"),
    )
    .unwrap();
}

/// Every resident's name, ID number and phone, read through the store.
fn personal_data(dir: &Path) -> Vec<String> {
    let s = jkda::session::login(dir, "admin", &ADMIN_PW.into()).unwrap_or_else(|m| panic!("{m:?}"));
    let rows = s.store.recent_residents(&s.actor, 100_000).unwrap();
    assert!(!rows.is_empty());
    let mut out = Vec::new();
    for r in rows {
        let p = s.store.resident(&s.actor, r.id).unwrap();
        out.extend(
            [p.name, p.id_number, p.phone]
                .into_iter()
                .flatten()
                .filter(|v| v.chars().count() >= 2),
        );
    }
    out
}

#[test]
fn doctor_checks_the_platform_up_down_and_with_a_wrong_token() {
    let root = tempfile::tempdir().unwrap();
    let (dir, key) = installed(root.path(), 20);
    let mut platform = Platform::start(root.path());

    // Everything in order, the database checked with the key file.
    set_platform(&dir, &platform.url(), &platform.tokens[0], "");
    let (code, report) = doctor_json(&dir, Some(&key));
    for id in [
        "terminal", "data_dir", "keyring", "key_file", "database", "schema", "audit", "outbox", "dns", "tcp", "server",
        "token", "clock",
    ] {
        assert_eq!(status(&report, id), "pass", "{id}: {report:#}");
    }
    assert_eq!(status(&report, "tls"), "skip", "plain http on loopback");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["exit_code"], 0);
    // Nobody's data, and not the token, in what doctor prints.
    let printed = report.to_string();
    assert!(!printed.contains(&platform.tokens[0]));
    for v in personal_data(&dir) {
        assert!(!printed.contains(&v), "doctor printed personal data");
    }

    // A wrong token: the server answers, the token is refused.
    set_platform(&dir, &platform.url(), "not-a-token", "");
    let (code, report) = doctor_json(&dir, Some(&key));
    assert_eq!(status(&report, "server"), "pass");
    assert_eq!(status(&report, "token"), "fail", "{report:#}");
    assert_eq!(code, 2);
    let advice = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "token")
        .unwrap()["advice"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(advice.contains("jkda-hub site add"), "{advice}");

    // The hub down: the name resolves, the connection does not.
    let url = platform.url();
    platform.stop();
    set_platform(&dir, &url, &platform.tokens[0], "");
    let (code, report) = doctor_json(&dir, Some(&key));
    assert_eq!(status(&report, "dns"), "pass");
    assert_eq!(status(&report, "tcp"), "fail", "{report:#}");
    for id in ["tls", "server", "token", "clock"] {
        assert_eq!(status(&report, id), "skip", "{id}");
    }
    assert_eq!(code, 2);

    // Text output in Chinese by default, one line per check.
    let o = jkda(&dir, &["doctor"], "");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("[失败] 网络连接") && out.contains("→"), "{out}");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn doctor_without_the_key_says_what_it_could_not_check() {
    let root = tempfile::tempdir().unwrap();
    let (dir, _key) = installed(root.path(), 5);
    let (code, report) = doctor_json(&dir, None);
    assert_eq!(status(&report, "database"), "skip");
    for id in ["schema", "audit", "outbox"] {
        assert_eq!(status(&report, id), "skip");
        let c = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        assert!(c["summary"].as_str().unwrap().contains("needs the key"), "{c}");
    }
    assert_eq!(status(&report, "keyring"), "pass");
    assert_eq!(status(&report, "platform"), "skip");
    assert_eq!(code, 0, "{report:#}");

    // A damaged database and a missing keyring fail, with what to do.
    let bad = root.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("jkda.db"), vec![0x5a; 4097]).unwrap();
    let (code, report) = doctor_json(&bad, None);
    assert_eq!(status(&report, "database"), "fail", "{report:#}");
    assert_eq!(code, 2);
    std::fs::remove_file(dir.join("keyring.json")).unwrap();
    let (code, report) = doctor_json(&dir, None);
    assert_eq!(status(&report, "keyring"), "fail");
    assert_eq!(code, 2);
}

fn backups(dest: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dest)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("jkda-backup-"))
        .collect();
    v.sort();
    v
}

#[test]
fn backup_while_another_process_writes_stays_encrypted_and_restores() {
    let root = tempfile::tempdir().unwrap();
    let (dir, key_path) = installed(root.path(), 30);
    let key = read_key_file(&key_path).unwrap();
    let dest = root.path().join("usb");
    std::fs::write(
        dir.join("config.toml"),
        format!("[backup]\ndir = {:?}\nkeep = 2\n", dest),
    )
    .unwrap();
    let k = key_path.to_str().unwrap();

    // Another jkda process writes residents the whole time.
    let mut writer = Command::new(env!("CARGO_BIN_EXE_jkda"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["--key-file", k, "demo", "--residents", "3000", "--seed", "9"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let o = jkda(&dir, &["--key-file", k, "backup"], "");
    let still_writing = writer.try_wait().unwrap().is_none();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        still_writing,
        "the writer finished before the backup: nothing was tested"
    );
    assert!(writer.wait().unwrap().success());

    let made = backups(&dest);
    assert_eq!(made.len(), 1);
    let copy = made[0].join("jkda.db");
    assert!(made[0].join("keyring.json").is_file() && made[0].join("manifest.json").is_file());
    // Unreadable without the key, or with another one; whole with it.
    let raw = std::fs::read(&copy).unwrap();
    assert!(!raw.starts_with(b"SQLite format 3"));
    assert!(matches!(
        Store::open_read_only(&copy, None),
        Err(StoreError::Encrypted { .. })
    ));
    assert!(matches!(
        Store::open_read_only(&copy, Some(&DbKey::generate())),
        Err(StoreError::WrongKey { .. })
    ));
    let opened = Store::open_read_only(&copy, Some(&key)).unwrap();
    assert!(opened.quick_check().unwrap().is_empty());
    let counted = opened.statistics().unwrap();
    assert!(counted.residents.values().sum::<i64>() >= 30);
    drop(opened);

    // Only the newest two are kept.
    for _ in 0..2 {
        let o = jkda(&dir, &["--key-file", k, "backup"], "");
        assert!(o.status.success(), "{}", text(&o));
    }
    let kept = backups(&dest);
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(!kept.contains(&made[0]));

    // A user added after the backup is gone after the restore; the replaced
    // files are kept; the restore is audited.
    let newest = kept.last().unwrap().clone();
    let o = jkda(
        &dir,
        &["--user", "admin", "user", "add", "wang", "--role", "nurse"],
        &format!("{ADMIN_PW}\nnurse-pass-1\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = jkda(
        &dir,
        &["--user", "admin", "restore", newest.to_str().unwrap()],
        &format!("{ADMIN_PW}\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let kept_aside: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".replaced-"))
        .collect();
    assert!(
        kept_aside.iter().any(|n| n.starts_with("jkda.db.replaced-")),
        "{kept_aside:?}"
    );
    assert!(kept_aside.iter().any(|n| n.starts_with("keyring.json.replaced-")));
    let o = jkda(&dir, &["--key-file", k, "user", "list", "--json"], "");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("wang"), "{}", text(&o));
    let o = jkda(&dir, &["--key-file", k, "audit", "show", "--json"], "");
    let entries: Value = serde_json::from_slice(&o.stdout).unwrap();
    let restored = entries.as_array().unwrap().iter().any(|e| {
        e["action"] == "restore" && e["actor"] == "admin" && newest.ends_with(e["entity_id"].as_str().unwrap())
    });
    assert!(restored, "no restore entry");
}

#[test]
fn restore_refuses_damaged_newer_and_other_sites_backups() {
    let root = tempfile::tempdir().unwrap();
    let (dir, key_path) = installed(root.path(), 5);
    let k = key_path.to_str().unwrap();
    let dest = root.path().join("backups");
    let o = jkda(&dir, &["--key-file", k, "backup", dest.to_str().unwrap()], "");
    assert!(o.status.success(), "{}", text(&o));
    let good = backups(&dest).pop().unwrap();
    let before = std::fs::read(dir.join("jkda.db")).unwrap();
    let refused = |backup: &Path, args: &[&str], expect: &str| {
        let mut all = vec!["--lang", "en", "--key-file", k, "restore"];
        all.push(backup.to_str().unwrap());
        all.extend(args);
        let o = jkda(&dir, &all, "");
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains(expect), "{}", text(&o));
        assert_eq!(
            std::fs::read(dir.join("jkda.db")).unwrap(),
            before,
            "the database was changed"
        );
    };

    // One byte changed in the copy.
    let damaged = root.path().join("damaged");
    copy_dir(&good, &damaged);
    let db = damaged.join("jkda.db");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[5000] ^= 0xff;
    std::fs::write(&db, bytes).unwrap();
    refused(&damaged, &[], "damaged");

    // Made by a newer jkda.
    let newer = root.path().join("newer");
    copy_dir(&good, &newer);
    let m = std::fs::read_to_string(newer.join("manifest.json")).unwrap();
    let m = m.replace(
        &format!("\"schema_version\": {}", jkda::store::schema::current_version()),
        "\"schema_version\": 99",
    );
    std::fs::write(newer.join("manifest.json"), m).unwrap();
    refused(&newer, &[], "newer jkda");

    // While another program has the database open.
    {
        let key = read_key_file(&key_path).unwrap();
        let _open = Store::open_with_key(&dir.join("jkda.db"), Some(&key)).unwrap();
        let o = jkda(
            &dir,
            &["--lang", "en", "--key-file", k, "restore", good.to_str().unwrap()],
            "",
        );
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("open in another program"), "{}", text(&o));
        assert!(dir.join("jkda.db").exists());
    }

    // The database in place now says it is another village's.
    {
        let key = read_key_file(&key_path).unwrap();
        let store = Store::open_with_key(&dir.join("jkda.db"), Some(&key)).unwrap();
        let mut site = store.site().unwrap().unwrap();
        site.village = "999".into();
        store.set_site(&site).unwrap();
    }
    let before_site = std::fs::read(dir.join("jkda.db")).unwrap();
    let o = jkda(
        &dir,
        &["--lang", "en", "--key-file", k, "restore", good.to_str().unwrap()],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("belongs to site 220602101101"), "{}", text(&o));
    assert_eq!(std::fs::read(dir.join("jkda.db")).unwrap(), before_site);

    // Another installation's backup (its own key): refused too.
    let other_root = root.path().join("other");
    let (other_dir, other_key) = installed(&other_root, 1);
    let other_dest = root.path().join("other-backups");
    let o = jkda(
        &other_dir,
        &[
            "--key-file",
            other_key.to_str().unwrap(),
            "backup",
            other_dest.to_str().unwrap(),
        ],
        "",
    );
    assert!(o.status.success(), "{}", text(&o));
    let foreign = backups(&other_dest).pop().unwrap();
    let o = jkda(
        &dir,
        &["--lang", "en", "--user", "admin", "restore", foreign.to_str().unwrap()],
        &format!("{ADMIN_PW}\n"),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("another installation"), "{}", text(&o));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn the_support_bundle_holds_nobodys_data() {
    let root = tempfile::tempdir().unwrap();
    let (dir, _key) = installed(root.path(), 60);
    let platform = Platform::start(root.path());
    set_platform(&dir, &platform.url(), &platform.tokens[0], "idle_lock_minutes = 5\n");
    let bundle = root.path().join("support.tar.gz");
    let o = jkda(
        &dir,
        &["--user", "admin", "support-bundle", bundle.to_str().unwrap()],
        &format!("{ADMIN_PW}\n"),
    );
    assert!(o.status.success(), "{}", text(&o));

    let mut files = std::collections::BTreeMap::new();
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&bundle).unwrap());
    for entry in tar::Archive::new(gz).entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut body = String::new();
        std::io::Read::read_to_string(&mut entry, &mut body).unwrap();
        files.insert(name, body);
    }
    let names: Vec<&str> = files.keys().map(|n| n.rsplit('/').next().unwrap()).collect();
    for want in [
        "versions.json",
        "terminal.json",
        "config.toml",
        "doctor.txt",
        "doctor.json",
        "database.json",
        "outbox.json",
        "errors.txt",
    ] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
    let all: String = files.values().cloned().collect();
    assert!(all.contains("\"active\": 60"), "counts are there");
    assert!(
        all.contains("\"quick_check\": \"ok\""),
        "the login's key checked the pages"
    );
    assert!(all.contains("site_token = \"<removed>\"") && !all.contains(&platform.tokens[0]));
    let personal = personal_data(&dir);
    assert!(personal.len() >= 150);
    for v in &personal {
        assert!(!all.contains(v.as_str()), "the bundle holds personal data");
    }
}

#[test]
fn the_days_first_login_backs_up_and_a_failure_shows_on_the_status_line() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    install(&dir, 3);
    // A file where the folder should be: the backup cannot be made.
    let blocker = root.path().join("not-a-folder");
    std::fs::write(&blocker, b"").unwrap();
    let config = |dest: &Path| format!("[backup]\ndir = {:?}\n", dest);
    std::fs::write(dir.join("config.toml"), config(&blocker.join("usb"))).unwrap();
    let mut tui = Tui::start(&dir, &[], 100, 30);
    login(&mut tui, "li", DOCTOR_PW);
    tui.wait_for("自动备份失败");
    tui.send(CTRL_Q);
    assert!(tui.wait_exit());

    // The next login tries again, into a folder that works, without a word.
    let usb = root.path().join("usb");
    std::fs::write(dir.join("config.toml"), config(&usb)).unwrap();
    let mut tui = Tui::start(&dir, &[], 100, 30);
    login(&mut tui, "li", DOCTOR_PW);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !usb.is_dir() || backups(&usb).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no backup made");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!tui.screen().contains("自动备份失败"));
    tui.send(CTRL_Q);
    assert!(tui.wait_exit());
    let made = backups(&usb);
    assert_eq!(made.len(), 1);
    assert!(made[0].join("keyring.json").is_file());
}

#[test]
fn the_daily_backup_is_made_once_a_day() {
    use chrono::TimeZone;
    let root = tempfile::tempdir().unwrap();
    let (dir, key_path) = installed(root.path(), 2);
    let key = read_key_file(&key_path).unwrap();
    let store = Store::open_with_key(&dir.join("jkda.db"), Some(&key)).unwrap();
    let cfg = jkda::config::BackupConfig {
        dir: Some(root.path().join("usb")),
        keep: Some(2),
    };
    let actor = jkda::store::Actor::new("li");
    let at = |d: u32, h: u32| chrono::Local.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap();
    let daily = |now| jkda::ops::backup::daily(&store, &dir, Some(&key), &cfg, &actor, now).unwrap();
    assert!(daily(at(1, 8)).is_some());
    assert!(daily(at(1, 17)).is_none(), "once a day");
    assert!(daily(at(2, 8)).is_some());
    let third = daily(at(3, 8)).unwrap();
    assert_eq!(third.removed.len(), 1, "two kept");
    let names: Vec<String> = backups(&root.path().join("usb"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "jkda-backup-220602101101-20260302-080000",
            "jkda-backup-220602101101-20260303-080000"
        ]
    );
}

/// A FHIR server on loopback whose clock is `skew` behind: answers every
/// request (metadata, the token's search) with a `Date` header that far off.
fn skewed_server(skew: chrono::Duration) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).map(|n| n == 1).unwrap_or(false) {
                head.push(byte[0]);
            }
            let request = String::from_utf8_lossy(&head);
            let body = if request.contains("/metadata") {
                r#"{"resourceType":"CapabilityStatement","status":"active","kind":"instance","fhirVersion":"4.0.1","format":["json"]}"#
            } else {
                r#"{"resourceType":"Bundle","type":"searchset","total":0}"#
            };
            let date = (chrono::Utc::now() - skew).format("%a, %d %b %Y %H:%M:%S GMT");
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn doctor_names_a_clock_that_is_off_from_the_platforms() {
    let root = tempfile::tempdir().unwrap();
    let (dir, key) = installed(root.path(), 3);
    // In step: pass.
    set_platform(&dir, &skewed_server(chrono::Duration::zero()), "any-token", "");
    let (_, report) = doctor_json(&dir, Some(&key));
    assert_eq!(status(&report, "clock"), "pass", "{report:#}");
    // Half an hour off: a warning.
    set_platform(&dir, &skewed_server(chrono::Duration::minutes(30)), "any-token", "");
    let (code, report) = doctor_json(&dir, Some(&key));
    assert_eq!(status(&report, "clock"), "warn", "{report:#}");
    assert!(code >= 1);
    // Three hours off: a failure (record dates and certificates go wrong).
    set_platform(&dir, &skewed_server(chrono::Duration::hours(3)), "any-token", "");
    let (code, report) = doctor_json(&dir, Some(&key));
    assert_eq!(status(&report, "clock"), "fail", "{report:#}");
    assert_eq!(code, 2);
}
