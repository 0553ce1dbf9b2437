//! Health data is for its owner's eyes only (issue 13, item 5): the data
//! directory is created 0700, the database and its -wal and -shm 0600 (with
//! --no-encrypt the file is plaintext), the hub's database too; wider modes
//! found at start are warned about, and a key file inside the data
//! directory or open to other users is refused.
#![cfg(unix)]

mod common;

use common::{run_jkda, run_jkda_input, ADMIN_PW};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn ok(out: &std::process::Output) {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_new_installation_is_private_encrypted_or_not() {
    for args in [&["init", "--no-encrypt"][..], &["init"][..]] {
        let tmp = tempfile::tempdir().unwrap();
        // jkda creates the data directory and its missing parent itself.
        let dir = tmp.path().join("jkda/data");
        ok(&run_jkda_input(&dir, args, &format!("{ADMIN_PW}\n")));
        assert_eq!(mode(&tmp.path().join("jkda")), 0o700, "{args:?}");
        assert_eq!(mode(&dir), 0o700, "{args:?}");
        let db = dir.join("jkda.db");
        assert_eq!(mode(&db), 0o600, "{args:?}");
        assert_eq!(mode(&dir.join("keyring.json")), 0o600, "{args:?}");
        if args.len() == 2 {
            // While the database is open its -wal and -shm exist: 0600 too.
            let store = jkda::store::Store::open(&db).unwrap();
            for suffix in ["-wal", "-shm"] {
                assert_eq!(mode(&with_suffix(&db, suffix)), 0o600, "{suffix}");
            }
            drop(store);
        }
        // Nothing to warn about.
        let out = run_jkda(&dir, &["paths"]);
        assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn wider_modes_are_warned_about_at_start_in_the_users_language() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    ok(&run_jkda_input(
        &dir,
        &["init", "--no-encrypt"],
        &format!("{ADMIN_PW}\n"),
    ));
    chmod(&dir, 0o755);
    chmod(&dir.join("jkda.db"), 0o644);
    let out = run_jkda(&dir, &["paths"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("其他用户也能访问这些健康数据"), "{stderr}");
    assert!(stderr.contains(&format!("{} (755)", dir.display())), "{stderr}");
    assert!(stderr.contains("jkda.db (644)"), "{stderr}");
    assert!(!stderr.contains("keyring.json"), "{stderr}");
    let out = run_jkda(&dir, &["--lang", "en", "paths"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("other users can open this health data"), "{stderr}");
    // Only a warning: jkda changes no modes by itself.
    assert_eq!(mode(&dir), 0o755);
}

#[test]
fn the_hubs_database_is_private_and_a_wider_one_is_warned_about() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("hub.sqlite");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jkda-hub"))
        .args(["--db", db.to_str().unwrap(), "site", "add", "s1", "东山村卫生室"])
        .output()
        .unwrap();
    ok(&out);
    assert_eq!(mode(&db), 0o600);
    {
        let hub = jkda::hub::Hub::start("127.0.0.1:0", jkda::hub::HubConfig::new(&db)).unwrap();
        for suffix in ["-wal", "-shm"] {
            assert_eq!(mode(&with_suffix(&db, suffix)), 0o600, "{suffix}");
        }
        hub.stop();
    }
    chmod(&db, 0o644);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jkda-hub"))
        .args(["--db", db.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(line.contains("hub.sqlite is open to other users (mode 644)"), "{line}");
}

#[test]
fn a_key_file_inside_the_data_directory_or_open_to_others_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    ok(&run_jkda_input(&dir, &["init"], &format!("{ADMIN_PW}\n")));
    let with_key = |key: &Path| run_jkda(&dir, &["--key-file", key.to_str().unwrap(), "residents", "search", "a"]);

    // Written inside the data directory: refused, nothing written.
    let inside = dir.join("db.key");
    let out = run_jkda_input(
        &dir,
        &["--user", "admin", "key-file", inside.to_str().unwrap()],
        &format!("{ADMIN_PW}\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("在数据目录"));
    assert!(!inside.exists());

    // Written outside: 0600, and it opens the database.
    let outside = tmp.path().join("usb/db.key");
    ok(&run_jkda_input(
        &dir,
        &["--user", "admin", "key-file", outside.to_str().unwrap()],
        &format!("{ADMIN_PW}\n"),
    ));
    assert_eq!(mode(&outside), 0o600);
    ok(&with_key(&outside));

    // Readable by others: refused until it is private again.
    chmod(&outside, 0o644);
    let out = with_key(&outside);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("其他用户也能访问（权限 644）"), "{stderr}");
    chmod(&outside, 0o600);

    // Copied into the data directory, or reached through a link there.
    std::fs::copy(&outside, &inside).unwrap();
    chmod(&inside, 0o600);
    let out = with_key(&inside);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("在数据目录"));
    std::fs::remove_file(&inside).unwrap();
    let link = tmp.path().join("link.key");
    std::os::unix::fs::symlink(&inside, &link).unwrap();
    std::fs::copy(&outside, &inside).unwrap();
    let out = with_key(&link);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("在数据目录"));
}
