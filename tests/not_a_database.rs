//! A `jkda.db` that is not a jkda database — whatever its size — is refused
//! with a message that says so, and never touched: not by `init`, not at
//! login (issue 13, item 3). A 0-byte file used to become a new empty
//! database, after which every login said the password was wrong.

mod common;

use common::{run_jkda_input, ADMIN_PW};
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The files that must be refused, with what the message says of each
/// (Chinese, the default language): at `init`, and at a login whose
/// password is right.
fn impostors() -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let random = |n: usize, rng: &mut rand::rngs::StdRng| (0..n).map(|_| rng.random::<u8>()).collect::<Vec<u8>>();
    let other_sqlite = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.sqlite");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('shopping list');")
            .unwrap();
        drop(conn);
        std::fs::read(&path).unwrap()
    };
    vec![
        ("empty", Vec::new(), "是空的（0 字节）", "是空的（0 字节）"),
        (
            "random pages",
            random(4096, &mut rng),
            "已加密（也可能已损坏）",
            "不是这套 jkda 的数据库",
        ),
        (
            "random bytes",
            random(1000, &mut rng),
            "不是 jkda 数据库或已损坏",
            "不是 jkda 数据库或已损坏",
        ),
        (
            "text",
            "这不是数据库\n".as_bytes().to_vec(),
            "不是 jkda 数据库或已损坏",
            "不是 jkda 数据库或已损坏",
        ),
        (
            "other program's SQLite",
            other_sqlite,
            "另一个程序的 SQLite 数据库",
            "另一个程序的 SQLite 数据库",
        ),
    ]
}

/// Writes `bytes` as the data directory's jkda.db with an mtime in the past.
fn plant(dir: &Path, bytes: &[u8]) -> SystemTime {
    let db = dir.join("jkda.db");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("jkda.db{suffix}")));
    }
    std::fs::write(&db, bytes).unwrap();
    let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    std::fs::File::options()
        .write(true)
        .open(&db)
        .unwrap()
        .set_modified(then)
        .unwrap();
    then
}

fn assert_untouched(dir: &Path, bytes: &[u8], mtime: SystemTime, what: &str) {
    let db = dir.join("jkda.db");
    assert_eq!(std::fs::read(&db).unwrap(), bytes, "{what}: bytes changed");
    assert_eq!(
        std::fs::metadata(&db).unwrap().modified().unwrap(),
        mtime,
        "{what}: mtime changed"
    );
}

#[test]
fn init_refuses_a_file_that_is_not_a_jkda_database_and_leaves_it_alone() {
    for (what, bytes, at_init, _) in impostors() {
        let dir = tempfile::tempdir().unwrap();
        let mtime = plant(dir.path(), &bytes);
        let out = run_jkda_input(dir.path(), &["init"], &format!("{ADMIN_PW}\n"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(stderr.contains(at_init), "{what}: {stderr}");
        assert!(
            stderr.contains("jkda.db"),
            "{what}: the message names the file: {stderr}"
        );
        assert_untouched(dir.path(), &bytes, mtime, what);
        // Nothing else was created either: no keyring without a database.
        assert!(!dir.path().join("keyring.json").exists(), "{what}");
    }
    // In English on request.
    let dir = tempfile::tempdir().unwrap();
    let mtime = plant(dir.path(), b"");
    let out = run_jkda_input(dir.path(), &["--lang", "en", "init"], &format!("{ADMIN_PW}\n"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is empty (0 bytes): it is not a jkda database"),
        "{stderr}"
    );
    assert_untouched(dir.path(), b"", mtime, "empty, English");
}

#[test]
fn login_refuses_a_replaced_database_without_blaming_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_jkda_input(dir.path(), &["init"], &format!("{ADMIN_PW}\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (what, bytes, _, at_login) in impostors() {
        let mtime = plant(dir.path(), &bytes);
        // The command line.
        let out = run_jkda_input(
            dir.path(),
            &["--user", "admin", "residents", "search", "a"],
            &format!("{ADMIN_PW}\n"),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(stderr.contains(at_login), "{what}: {stderr}");
        assert!(!stderr.contains("密码错误"), "{what}: {stderr}");
        // The program's login screen goes through the same session code.
        let err = match jkda::session::login(dir.path(), "admin", &ADMIN_PW.into()) {
            Ok(_) => panic!("{what}: logged in"),
            Err(m) => m,
        };
        assert_ne!(err.key, "access.login_failed", "{what}");
        assert_untouched(dir.path(), &bytes, mtime, what);
    }
}

#[test]
fn a_jkda_database_of_either_kind_still_opens() {
    // Plaintext (--no-encrypt) and encrypted installations are jkda's own.
    for args in [&["init", "--no-encrypt"][..], &["init"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let out = run_jkda_input(dir.path(), args, &format!("{ADMIN_PW}\n"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = run_jkda_input(
            dir.path(),
            &["--user", "admin", "residents", "search", "a"],
            &format!("{ADMIN_PW}\n"),
        );
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
