//! Encryption at rest (issue 5, part 4): the encrypted store, the keyring of
//! per-user wrapped keys with its lockout, and the key file.

use chrono::{DateTime, Duration, TimeZone, Utc};
use jkda::i18n::{I18n, Lang, Msg};
use jkda::store::crypt::{
    read_key_file, write_key_file, CryptError, DbKey, Keyring, UnlockError, LOCK_MINUTES, MAX_FAILED_ATTEMPTS,
    MAX_PASSWORD_CHARS,
};
use jkda::store::{SiteConfig, Store, StoreError};
use std::path::{Path, PathBuf};

/// A marker that must never be readable in an encrypted file.
const MARKER: &str = "东山村卫生室加密测试标记";

fn site() -> SiteConfig {
    SiteConfig {
        division: "220602".into(),
        township: "101".into(),
        village: "101".into(),
        name: MARKER.into(),
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap()
}

/// An encrypted database holding the marker; returns its path and key.
fn encrypted_db(dir: &Path) -> (PathBuf, DbKey) {
    let path = dir.join("jkda.db");
    let key = DbKey::generate();
    let store = Store::open_with_key(&path, Some(&key)).expect("new encrypted store");
    store.set_site(&site()).expect("site");
    drop(store);
    (path, key)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The directory's files other than `keep`, to see nothing new appeared.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn render(m: &Msg) -> (String, String) {
    (I18n::new(Lang::Zh).msg(m), I18n::new(Lang::En).msg(m))
}

/// Both languages have the text, with every placeholder filled.
fn assert_rendered(m: &Msg) -> (String, String) {
    let (zh, en) = render(m);
    for s in [&zh, &en] {
        assert_ne!(s, m.key, "missing catalogue key {}", m.key);
        assert!(!s.contains('{'), "unfilled placeholder in {s:?}");
    }
    (zh, en)
}

#[test]
fn new_database_with_key_is_encrypted_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = encrypted_db(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    assert!(!bytes.starts_with(b"SQLite format 3"), "header must not be plaintext");
    assert!(
        !contains(&bytes, MARKER.as_bytes()),
        "data readable in the encrypted file"
    );
    assert!(Store::is_encrypted_file(&path));

    let store = Store::open_with_key(&path, Some(&key)).expect("right key opens");
    assert_eq!(store.site().unwrap().unwrap().name, MARKER);

    // The same data in a plaintext database is readable on disk: the check
    // above means something.
    let plain = dir.path().join("plain.db");
    let p = Store::open(&plain).unwrap();
    p.set_site(&site()).unwrap();
    drop(p);
    assert!(contains(&std::fs::read(&plain).unwrap(), MARKER.as_bytes()));
    assert!(!Store::is_encrypted_file(&plain));
    assert!(!Store::is_encrypted_file(&dir.path().join("missing.db")));
}

#[test]
fn no_key_is_refused_and_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _key) = encrypted_db(dir.path());
    let before = std::fs::read(&path).unwrap();
    let files = listing(dir.path());
    for attempt in [Store::open(&path), Store::open_with_key(&path, None)] {
        let err = attempt.err().expect("no key must be refused");
        assert!(matches!(err, StoreError::Encrypted { .. }), "{err:?}");
        let (zh, en) = assert_rendered(&err.message());
        assert!(zh.contains("加密") && zh.contains("未作任何改动"), "{zh}");
        assert!(en.contains("encrypted") && en.contains("not changed"), "{en}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "file changed by a refused open");
    assert_eq!(listing(dir.path()), files, "a journal or WAL file appeared");
}

#[test]
fn wrong_key_is_refused_and_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _key) = encrypted_db(dir.path());
    let before = std::fs::read(&path).unwrap();
    let files = listing(dir.path());
    let err = Store::open_with_key(&path, Some(&DbKey::generate()))
        .err()
        .expect("wrong key must be refused");
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
    let (zh, en) = assert_rendered(&err.message());
    assert!(zh.contains("密钥不对") && zh.contains("未作任何改动"), "{zh}");
    assert!(en.contains("Wrong key") && en.contains("not changed"), "{en}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "file changed by a wrong-key open"
    );
    assert_eq!(listing(dir.path()), files, "a journal or WAL file appeared");
}

#[test]
fn copied_file_without_its_key_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _key) = encrypted_db(dir.path());
    // "Another machine": a folder with the copied database and no keyring.
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join("jkda.db");
    std::fs::copy(&path, &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    assert!(Keyring::load(other.path()).unwrap().is_none());
    assert!(matches!(Store::open(&copy), Err(StoreError::Encrypted { .. })));
    assert!(matches!(
        Store::open_with_key(&copy, Some(&DbKey::generate())),
        Err(StoreError::WrongKey { .. })
    ));
    assert_eq!(std::fs::read(&copy).unwrap(), before);
    assert_eq!(listing(other.path()), vec!["jkda.db".to_string()]);
}

#[test]
fn plaintext_database_with_a_key_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.db");
    Store::open(&path).unwrap().set_site(&site()).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Store::open_with_key(&path, Some(&DbKey::generate()))
        .err()
        .expect("refused");
    assert!(matches!(err, StoreError::NotEncrypted { .. }), "{err:?}");
    assert_rendered(&err.message());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // Plaintext databases keep opening as before.
    assert_eq!(Store::open(&path).unwrap().site().unwrap().unwrap().name, MARKER);
}

#[test]
fn a_file_that_is_no_database_is_still_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(&path, "这不是数据库\n").unwrap();
    assert!(!Store::is_encrypted_file(&path));
    assert!(matches!(Store::open(&path), Err(StoreError::Corrupt { .. })));
    assert!(matches!(
        Store::open_with_key(&path, Some(&DbKey::generate())),
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "这不是数据库\n");
}

#[test]
fn keyring_unlocks_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = encrypted_db(dir.path());
    assert!(Keyring::load(dir.path()).unwrap().is_none());
    let mut ring = Keyring::create(dir.path());
    assert!(!Keyring::path(dir.path()).exists(), "create writes nothing");
    ring.add_user("admin", &"correct horse".into(), &key).unwrap();
    assert!(Keyring::path(dir.path()).exists());

    let mut ring = Keyring::load(dir.path()).unwrap().expect("written");
    assert_eq!(ring.users(), vec!["admin".to_string()]);
    assert!(ring.has_user("admin") && !ring.has_user("nurse"));
    let got = ring
        .unlock("admin", &"correct horse".into(), t0())
        .expect("right password");
    assert_eq!(got, key);
    assert_eq!(
        Store::open_with_key(&path, Some(&got))
            .unwrap()
            .site()
            .unwrap()
            .unwrap()
            .name,
        MARKER
    );

    // The keyring itself reveals no key.
    let text = std::fs::read_to_string(Keyring::path(dir.path())).unwrap();
    assert!(!text.contains(&key.to_hex()));
    assert!(!text.contains("correct horse"));
}

#[test]
fn adding_a_user_does_not_touch_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = encrypted_db(dir.path());
    let before = std::fs::read(&path).unwrap();
    let mut ring = Keyring::create(dir.path());
    ring.add_user("admin", &"admin pass".into(), &key).unwrap();
    ring.add_user("nurse", &"nurse pass".into(), &key).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "adding users re-encrypted the database"
    );
    let nurse_key = ring.unlock("nurse", &"nurse pass".into(), t0()).unwrap();
    assert_eq!(nurse_key, key);
    assert!(Store::open_with_key(&path, Some(&nurse_key)).is_ok());

    assert!(matches!(
        ring.add_user("nurse", &"x".into(), &key),
        Err(CryptError::UserExists { .. })
    ));
    // Another database's key cannot slip into this keyring.
    assert!(matches!(
        ring.add_user("doctor", &"x".into(), &DbKey::generate()),
        Err(CryptError::KeyMismatch)
    ));
    assert!(matches!(
        ring.add_user("", &"x".into(), &key),
        Err(CryptError::EmptyLogin)
    ));

    ring.remove_user("nurse").unwrap();
    assert!(matches!(
        ring.unlock("nurse", &"nurse pass".into(), t0()),
        Err(UnlockError::NoSuchUser)
    ));
    assert!(matches!(ring.remove_user("admin"), Err(CryptError::LastUser)));
    assert!(matches!(ring.remove_user("ghost"), Err(CryptError::NoSuchUser { .. })));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn password_change_keeps_access() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = encrypted_db(dir.path());
    let before = std::fs::read(&path).unwrap();
    let mut ring = Keyring::create(dir.path());
    ring.add_user("doc", &"old password".into(), &key).unwrap();

    assert!(matches!(
        ring.change_password("doc", &"not it".into(), &"new password".into(), t0()),
        Err(UnlockError::WrongPassword { attempts_left: 4 })
    ));
    assert!(matches!(
        ring.change_password("doc", &"old password".into(), &"".into(), t0()),
        Err(UnlockError::Password(CryptError::EmptyPassword))
    ));
    ring.change_password("doc", &"old password".into(), &"new password".into(), t0())
        .unwrap();
    assert!(matches!(
        ring.unlock("doc", &"old password".into(), t0()),
        Err(UnlockError::WrongPassword { .. })
    ));
    let k = ring.unlock("doc", &"new password".into(), t0()).unwrap();
    assert_eq!(k, key);
    assert!(Store::open_with_key(&path, Some(&k)).is_ok());

    // An administrator's reset, with the key from their own login.
    ring.set_password("doc", &"reset by admin".into(), &key).unwrap();
    assert_eq!(ring.unlock("doc", &"reset by admin".into(), t0()).unwrap(), key);
    assert!(matches!(
        ring.set_password("doc", &"x".into(), &DbKey::generate()),
        Err(CryptError::KeyMismatch)
    ));
    assert!(matches!(
        ring.set_password("ghost", &"x".into(), &key),
        Err(CryptError::NoSuchUser { .. })
    ));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "a password change re-encrypted the database"
    );
}

#[test]
fn chinese_and_other_unicode_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let key = DbKey::generate();
    let mut ring = Keyring::create(dir.path());
    ring.add_user("张医生", &"东山村卫生室2026".into(), &key).unwrap();
    ring.add_user("li", &"Cafe\u{301} 密码".into(), &key).unwrap();
    assert_eq!(ring.unlock("张医生", &"东山村卫生室2026".into(), t0()).unwrap(), key);
    assert!(matches!(
        ring.unlock("张医生", &"东山村卫生室2025".into(), t0()),
        Err(UnlockError::WrongPassword { .. })
    ));
    // Composed and decomposed "é" are the same password (NFC).
    assert_eq!(ring.unlock("li", &"Caf\u{e9} 密码".into(), t0()).unwrap(), key);
    let ring = Keyring::load(dir.path()).unwrap().unwrap();
    assert_eq!(ring.users(), vec!["li".to_string(), "张医生".to_string()]);
}

#[test]
fn empty_password_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let key = DbKey::generate();
    let mut ring = Keyring::create(dir.path());
    let err = ring.add_user("a", &"".into(), &key).unwrap_err();
    assert!(matches!(err, CryptError::EmptyPassword));
    let (zh, _) = assert_rendered(&err.message());
    assert!(zh.contains("密码不能为空"));
    assert!(!Keyring::path(dir.path()).exists(), "nothing written");

    ring.add_user("a", &"pw".into(), &key).unwrap();
    // An empty password at login is not an attempt: nothing is counted.
    for _ in 0..MAX_FAILED_ATTEMPTS + 1 {
        assert!(matches!(
            ring.unlock("a", &"".into(), t0()),
            Err(UnlockError::Password(CryptError::EmptyPassword))
        ));
    }
    assert_eq!(ring.lock_state("a"), Some((0, None)));
    assert!(matches!(
        ring.set_password("a", &"".into(), &key),
        Err(CryptError::EmptyPassword)
    ));
}

#[test]
fn very_long_passwords_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let key = DbKey::generate();
    let mut ring = Keyring::create(dir.path());
    let huge = "密".repeat(10_000);
    let err = ring.add_user("a", &huge.as_str().into(), &key).unwrap_err();
    assert!(matches!(err, CryptError::PasswordTooLong { max } if max == MAX_PASSWORD_CHARS));
    let (zh, en) = assert_rendered(&err.message());
    assert!(zh.contains("256") && en.contains("256"), "{zh} / {en}");
    assert!(matches!(
        ring.add_user("a", &"x".repeat(10_000).into(), &key),
        Err(CryptError::PasswordTooLong { .. })
    ));

    // The longest allowed password works, in Chinese too.
    let longest = "密".repeat(MAX_PASSWORD_CHARS);
    ring.add_user("a", &longest.as_str().into(), &key).unwrap();
    assert_eq!(ring.unlock("a", &longest.as_str().into(), t0()).unwrap(), key);
    assert!(matches!(
        ring.unlock("a", &huge.as_str().into(), t0()),
        Err(UnlockError::Password(CryptError::PasswordTooLong { .. }))
    ));
    assert_eq!(
        ring.lock_state("a"),
        Some((0, None)),
        "a refused password is not an attempt"
    );
}

#[test]
fn lockout_after_five_failures_and_unlock_after_five_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let key = DbKey::generate();
    let mut ring = Keyring::create(dir.path());
    ring.add_user("nurse", &"right".into(), &key).unwrap();
    ring.add_user("doc", &"doc pass".into(), &key).unwrap();

    // A success resets the count.
    assert!(matches!(
        ring.unlock("nurse", &"wrong".into(), t0()),
        Err(UnlockError::WrongPassword { attempts_left: 4 })
    ));
    ring.unlock("nurse", &"right".into(), t0()).unwrap();
    assert_eq!(ring.lock_state("nurse"), Some((0, None)));
    assert_eq!(ring.take_failed_attempts().unwrap().len(), 1);

    for i in 1..MAX_FAILED_ATTEMPTS {
        let now = t0() + Duration::seconds(i as i64);
        match ring.unlock("nurse", &"wrong".into(), now) {
            Err(UnlockError::WrongPassword { attempts_left }) => assert_eq!(attempts_left, MAX_FAILED_ATTEMPTS - i),
            other => panic!("attempt {i}: {other:?}"),
        }
    }
    let fifth = t0() + Duration::seconds(5);
    let until = match ring.unlock("nurse", &"wrong".into(), fifth) {
        Err(UnlockError::Locked { until }) => until,
        other => panic!("fifth failure must lock: {other:?}"),
    };
    assert_eq!(until, fifth + Duration::minutes(LOCK_MINUTES));
    let (zh, en) = assert_rendered(&UnlockError::Locked { until }.message());
    assert!(zh.contains("锁定") && en.contains("locked"));
    assert_rendered(&UnlockError::WrongPassword { attempts_left: 3 }.message());
    assert_rendered(&UnlockError::NoSuchUser.message());

    // Locked: even the right password is refused, and the lock is on disk,
    // so another program (or a restart) sees it.
    assert!(matches!(
        ring.unlock("nurse", &"right".into(), fifth + Duration::minutes(1)),
        Err(UnlockError::Locked { .. })
    ));
    let mut again = Keyring::load(dir.path()).unwrap().unwrap();
    assert!(matches!(
        again.unlock("nurse", &"right".into(), fifth + Duration::minutes(4)),
        Err(UnlockError::Locked { .. })
    ));
    // Other logins are not affected.
    assert!(again.unlock("doc", &"doc pass".into(), fifth).is_ok());

    // Five minutes later the right password works and resets everything.
    let later = until + Duration::seconds(1);
    assert_eq!(again.unlock("nurse", &"right".into(), later).unwrap(), key);
    assert_eq!(again.lock_state("nurse"), Some((0, None)));

    // The failures are queued for the audit log, once.
    let failed = again.take_failed_attempts().unwrap();
    assert_eq!(failed.len(), 5);
    assert!(failed.iter().all(|(login, _)| login == "nurse"));
    assert_eq!(failed[0].1, (t0() + Duration::seconds(1)).to_rfc3339());
    assert!(DateTime::parse_from_rfc3339(&failed[4].1).is_ok());
    assert!(again.take_failed_attempts().unwrap().is_empty());
    assert!(Keyring::load(dir.path())
        .unwrap()
        .unwrap()
        .take_failed_attempts()
        .unwrap()
        .is_empty());
}

#[test]
fn a_clock_set_back_does_not_stretch_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let key = DbKey::generate();
    let mut ring = Keyring::create(dir.path());
    ring.add_user("nurse", &"right".into(), &key).unwrap();
    for _ in 0..MAX_FAILED_ATTEMPTS {
        let _ = ring.unlock("nurse", &"wrong".into(), t0());
    }
    // The PC's clock jumps back a year (dead CMOS battery after a power cut).
    let back = t0() - Duration::days(365);
    match ring.unlock("nurse", &"right".into(), back) {
        Err(UnlockError::Locked { until }) => assert_eq!(until, back + Duration::minutes(LOCK_MINUTES)),
        other => panic!("{other:?}"),
    }
    assert!(ring
        .unlock(
            "nurse",
            &"right".into(),
            back + Duration::minutes(LOCK_MINUTES) + Duration::seconds(1)
        )
        .is_ok());
}

#[test]
fn unknown_login() {
    let dir = tempfile::tempdir().unwrap();
    let mut ring = Keyring::create(dir.path());
    ring.add_user("admin", &"pw".into(), &DbKey::generate()).unwrap();
    assert!(matches!(
        ring.unlock("nobody", &"pw".into(), t0()),
        Err(UnlockError::NoSuchUser)
    ));
    assert!(
        ring.take_failed_attempts().unwrap().is_empty(),
        "unknown logins (maybe a typed password) are not queued"
    );
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}

#[test]
fn keyring_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let key = DbKey::generate();
    let mut ring = Keyring::create(dir.path());
    ring.add_user("admin", &"pw".into(), &key).unwrap();
    let path = Keyring::path(dir.path());
    let first = std::fs::read(&path).unwrap();
    assert_eq!(
        listing(dir.path()),
        vec!["keyring.json".to_string()],
        "no temp file left behind"
    );

    // Every write is a new file renamed over the old one, never an
    // overwrite in place that a power cut could leave half done.
    #[cfg(unix)]
    {
        let before = inode(&path);
        ring.add_user("nurse", &"pw2".into(), &key).unwrap();
        assert_ne!(inode(&path), before, "written in place");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // A power cut while writing leaves a half-written temp file beside the
    // keyring; the keyring itself is whole and still loads.
    let torn = dir.path().join(format!(".keyring.json.{}.tmp", 99_999));
    std::fs::write(&torn, &first[..first.len() / 2]).unwrap();
    let mut ring = Keyring::load(dir.path()).unwrap().unwrap();
    assert!(ring.unlock("admin", &"pw".into(), t0()).is_ok());

    // A damaged keyring is reported, not silently replaced.
    std::fs::write(&path, &first[..first.len() / 2]).unwrap();
    let err = Keyring::load(dir.path()).unwrap_err();
    assert!(matches!(err, CryptError::KeyringCorrupt { .. }), "{err:?}");
    assert_rendered(&err.message());
    std::fs::write(&path, br#"{"format": 99, "users": {}}"#).unwrap();
    assert!(matches!(
        Keyring::load(dir.path()),
        Err(CryptError::KeyringNewer { found: 99, .. })
    ));
}

#[test]
fn key_file_round_trip_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = encrypted_db(dir.path());
    let media = tempfile::tempdir().unwrap();
    let path = media.path().join("jkda.key");
    write_key_file(&path, &key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let read = read_key_file(&path).unwrap();
    assert_eq!(read, key);
    assert!(Store::open_with_key(&db, Some(&read)).is_ok());

    // Writing the same key again is harmless; another key is refused.
    write_key_file(&path, &key).unwrap();
    let err = write_key_file(&path, &DbKey::generate()).unwrap_err();
    assert!(matches!(err, CryptError::KeyFileExists { .. }));
    assert_rendered(&err.message());
    assert_eq!(read_key_file(&path).unwrap(), key);

    // A bare hex line (written by hand) is accepted; anything else is not.
    let bare = media.path().join("bare.key");
    std::fs::write(&bare, format!("{}\r\n", key.to_hex().to_uppercase())).unwrap();
    assert_eq!(read_key_file(&bare).unwrap(), key);
    std::fs::write(&bare, "not a key\n").unwrap();
    assert!(matches!(read_key_file(&bare), Err(CryptError::BadKey)));
    let err = read_key_file(&media.path().join("missing.key")).unwrap_err();
    assert!(matches!(err, CryptError::Io { .. }));
    assert_rendered(&err.message());
}

#[test]
fn key_debug_prints_nothing_secret() {
    let key = DbKey::generate();
    let shown = format!("{key:?} {:?}", Some(&key));
    assert!(!shown.contains(&key.to_hex()[..6]), "{shown}");
    assert_eq!(DbKey::from_hex(&key.to_hex()).unwrap(), key);
    assert!(matches!(DbKey::from_hex("12ab"), Err(CryptError::BadKey)));
    assert_ne!(DbKey::generate(), key);
}

#[test]
fn every_crypt_message_is_in_both_catalogues() {
    let p = PathBuf::from("/x");
    let io = || std::io::Error::other("boom");
    let errors = [
        CryptError::EmptyPassword,
        CryptError::PasswordTooLong { max: 1 },
        CryptError::EmptyLogin,
        CryptError::NoSuchUser { login: "a".into() },
        CryptError::UserExists { login: "a".into() },
        CryptError::LastUser,
        CryptError::KeyMismatch,
        CryptError::BadKey,
        CryptError::KeyFileExists { path: p.clone() },
        CryptError::KeyringCorrupt {
            path: p.clone(),
            detail: "d".into(),
        },
        CryptError::KeyringNewer {
            path: p.clone(),
            found: 2,
        },
        CryptError::Io {
            path: p.clone(),
            source: io(),
        },
    ];
    for e in &errors {
        assert_rendered(&e.message());
    }
    for e in [
        StoreError::Encrypted { path: p.clone() },
        StoreError::WrongKey { path: p.clone() },
        StoreError::NotEncrypted { path: p },
    ] {
        assert_rendered(&e.message());
    }
}

// ---------------------------------------------------------------- stderr

/// Runs one test of this binary in a child process and returns its stderr.
fn child_stderr(test: &str, db: &Path) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("JKDA_CRYPT_CHILD_DB", db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child {test} failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// SQLCipher logs to stderr by default, which would garble the TUI; a
/// wrong-key or no-key open through the store prints nothing. The control
/// (a raw connection without the quieting pragma) shows the check can see
/// SQLCipher's output at all.
#[test]
fn a_refused_open_prints_nothing_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _key) = encrypted_db(dir.path());
    let quiet = child_stderr("child_store_wrong_key_open", &path);
    assert!(quiet.trim().is_empty(), "SQLCipher printed on stderr: {quiet}");
    let loud = child_stderr("child_raw_wrong_key_open", &path);
    assert!(
        !loud.trim().is_empty(),
        "control: SQLCipher should log when not quieted"
    );
}

#[test]
fn child_store_wrong_key_open() {
    let Some(db) = std::env::var_os("JKDA_CRYPT_CHILD_DB") else {
        return;
    };
    let db = PathBuf::from(db);
    assert!(matches!(
        Store::open_with_key(&db, Some(&DbKey::generate())),
        Err(StoreError::WrongKey { .. })
    ));
    assert!(matches!(Store::open(&db), Err(StoreError::Encrypted { .. })));
    let other = db.with_file_name("child-new.db");
    let key = DbKey::generate();
    drop(Store::open_with_key(&other, Some(&key)).unwrap());
    assert!(matches!(
        Store::open_with_key(&other, Some(&DbKey::generate())),
        Err(StoreError::WrongKey { .. })
    ));
}

#[test]
fn child_raw_wrong_key_open() {
    let Some(db) = std::env::var_os("JKDA_CRYPT_CHILD_DB") else {
        return;
    };
    let conn = rusqlite::Connection::open(PathBuf::from(db)).unwrap();
    let pragma = format!("PRAGMA key = \"x'{}'\";", DbKey::generate().to_hex());
    let _ = conn.query_row(&pragma, [], |_| Ok(()));
    assert!(conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
        .is_err());
}

// ---------------------------------------------------------------- migration

#[test]
fn a_plaintext_database_can_be_encrypted_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jkda.db");
    let store = Store::open(&path).unwrap();
    store.set_site(&site()).unwrap();
    drop(store);
    let key = DbKey::generate();

    // Refused while another program has it open; the original stays.
    let other = Store::open(&path).unwrap();
    assert!(matches!(Store::encrypt_plaintext(&path, &key), Err(StoreError::Busy)));
    drop(other);
    assert!(!Store::is_encrypted_file(&path));
    assert_eq!(Store::open(&path).unwrap().site().unwrap().unwrap().name, MARKER);

    Store::encrypt_plaintext(&path, &key).unwrap();
    assert!(Store::is_encrypted_file(&path));
    assert!(!contains(&std::fs::read(&path).unwrap(), MARKER.as_bytes()));
    assert_eq!(
        listing(dir.path()),
        vec!["jkda.db".to_string()],
        "temp files left behind"
    );
    assert!(matches!(Store::open(&path), Err(StoreError::Encrypted { .. })));
    let store = Store::open_with_key(&path, Some(&key)).unwrap();
    assert_eq!(store.site().unwrap().unwrap().name, MARKER);
    assert!(store.integrity_check().unwrap().is_empty());
    drop(store);

    // Again with the same key: nothing to do; with another: refused.
    let before = std::fs::read(&path).unwrap();
    Store::encrypt_plaintext(&path, &key).unwrap();
    assert!(matches!(
        Store::encrypt_plaintext(&path, &DbKey::generate()),
        Err(StoreError::WrongKey { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// SQLCipher finishes initializing after SQLite lets other threads in: two
/// threads opening their process's first encrypted store at once must both
/// succeed (they once got "An error occurred with PRAGMA key").
#[test]
fn first_opens_in_a_process_may_race() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _key) = encrypted_db(dir.path());
    for _ in 0..15 {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_first_opens_race", "--nocapture", "--test-threads=1"])
            .env("JKDA_CRYPT_CHILD_DB", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{:?}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn child_first_opens_race() {
    let Some(db) = std::env::var_os("JKDA_CRYPT_CHILD_DB") else {
        return;
    };
    let dir = PathBuf::from(db).parent().unwrap().to_path_buf();
    let n = 8;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let path = dir.join(format!("race-{}-{i}.db", std::process::id()));
            std::thread::spawn(move || {
                let key = DbKey::generate();
                barrier.wait();
                let r = Store::open_with_key(&path, Some(&key)).map(drop);
                let _ = std::fs::remove_file(&path);
                r
            })
        })
        .collect();
    for t in threads {
        if let Err(e) = t.join().unwrap() {
            panic!("a first open failed: {e:?}");
        }
    }
}
