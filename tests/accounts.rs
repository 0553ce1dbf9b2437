//! Issue 5: accounts, roles, lockout, the audit trail and privacy.
//! Store-level checks use a real SQLite file; command-line checks run the
//! real binary.

mod common;

use common::*;
use jkda::form::Registry;
use jkda::store::{Actor, Role, Save, SiteConfig, Store, StoreError};

fn site() -> SiteConfig {
    SiteConfig {
        division: "220602".into(),
        township: "101".into(),
        village: "101".into(),
        name: "测试".into(),
    }
}

fn audit_count(store: &Store) -> usize {
    store.audit_entries(0, 1_000_000).unwrap().len()
}

/// Runs `f`, and asserts it appended exactly one audit entry with `action`.
fn audited<T>(store: &mut Store, action: &str, f: impl FnOnce(&mut Store) -> T) -> T {
    let before = audit_count(store);
    let out = f(store);
    let entries = store.audit_entries(0, 1_000_000).unwrap();
    assert_eq!(entries.len(), before + 1, "{action}: expected one audit entry");
    assert_eq!(entries.last().unwrap().action, action);
    out
}

#[test]
fn every_store_function_on_resident_data_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("jkda.db")).unwrap();
    let doctor = Actor::with_role("li", Role::Doctor);
    let reg = Registry::embedded();
    let def = reg.get("hypertension-followup").unwrap().clone();
    let src = reg.source("hypertension-followup").unwrap().to_string();

    let resident = audited(&mut store, "create", |s| s.create_resident(&doctor, &site()).unwrap());
    audited(&mut store, "view", |s| s.resident(&doctor, resident.id).unwrap());
    let record = audited(&mut store, "create", |s| {
        s.create_record(&doctor, resident.id, &def, &src).unwrap()
    });
    audited(&mut store, "view", |s| s.record(&doctor, record.id).unwrap());
    let mut save = Save::default();
    save.answers.set_text("bp.systolic", "135");
    audited(&mut store, "edit", |s| s.save_draft(&doctor, record.id, &save).unwrap());
    audited(&mut store, "finalize", |s| {
        s.finalize(&doctor, record.id, &save, Some("hypertension")).unwrap()
    });
    audited(&mut store, "amend", |s| s.amend(&doctor, record.id).unwrap());
    audited(&mut store, "search", |s| {
        s.find_residents_audited(&doctor, "220602", 10).unwrap()
    });
    // Searches typed in the list are audited as one entry, with their count.
    let before = audit_count(&store);
    for q in ["2", "22", "220"] {
        store.search_residents(&doctor, q, 10).unwrap();
    }
    store.recent_residents(&doctor, 10).unwrap();
    assert_eq!(audit_count(&store), before, "no commit per keystroke");
    audited(&mut store, "search", |s| s.audit_list_reads(&doctor).unwrap());
    assert_eq!(
        store.audit_entries(0, 1_000_000).unwrap().last().unwrap().entity_id,
        "4"
    );
    // Timelines and duplicate checks likewise, one entry per kind of read.
    store.records_of(&doctor, resident.id).unwrap();
    store.revisions(&doctor, record.id).unwrap();
    audited(&mut store, "timeline", |s| s.audit_list_reads(&doctor).unwrap());
    store
        .residents_with_id_number(&doctor, "220602197001010011", None)
        .unwrap();
    store
        .duplicate_candidates(&doctor, &Default::default(), Some(resident.id))
        .unwrap();
    audited(&mut store, "duplicate_check", |s| s.audit_list_reads(&doctor).unwrap());
    audited(&mut store, "duplicates", |s| s.duplicate_pairs(&doctor, true).unwrap());
    let admin = Actor::with_role("admin", Role::Admin);
    audited(&mut store, "user_add", |s| {
        s.add_user(&admin, "wang", "王护士", Role::Nurse, true).unwrap()
    });
    audited(&mut store, "user_role", |s| {
        s.set_role(&admin, "wang", Role::Viewer).unwrap()
    });
    audited(&mut store, "user_disable", |s| {
        s.set_disabled(&admin, "wang", true).unwrap()
    });
    audited(&mut store, "audit_view", |s| {
        s.audit_query(&admin, &Default::default()).unwrap()
    });

    // Entries carry ids, never data: nothing typed appears in the trail.
    for e in store.audit_entries(0, 1000).unwrap() {
        assert!(!e.entity_id.contains("135"), "{e:?}");
    }
    assert_eq!(store.verify_audit().unwrap(), None);
}

#[test]
fn a_wrong_password_at_the_idle_lock_is_audited_once() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 0);
    let mut session = jkda::session::login(dir.path(), "li", &DOCTOR_PW.into()).unwrap();
    let failed = |store: &Store| {
        let entries = store.audit_entries(0, 1_000_000).unwrap();
        entries
            .iter()
            .filter(|e| e.action.ends_with("_failed") && e.entity_id == "li")
            .count()
    };
    assert!(jkda::session::unlock(&mut session.keyring, &session.store, &session.actor, &"wrong".into()).is_err());
    assert_eq!(failed(&session.store), 1);
    jkda::session::unlock(&mut session.keyring, &session.store, &session.actor, &DOCTOR_PW.into()).unwrap();
    drop(session);
    let session = jkda::session::login(dir.path(), "li", &DOCTOR_PW.into()).unwrap();
    assert_eq!(failed(&session.store), 1, "not again at the next login");
}

#[test]
fn roles_limit_what_each_account_may_do() {
    let mut store = Store::open_in_memory().unwrap();
    let reg = Registry::embedded();
    let def = reg.get("hypertension-followup").unwrap().clone();
    let src = reg.source("hypertension-followup").unwrap().to_string();
    let doctor = Actor::with_role("li", Role::Doctor);
    let nurse = Actor::with_role("wang", Role::Nurse);
    let viewer = Actor::with_role("zhao", Role::Viewer);
    let auditor = Actor::with_role("sun", Role::Auditor);

    let resident = store.create_resident(&nurse, &site()).unwrap();
    let record = store.create_record(&nurse, resident.id, &def, &src).unwrap();
    store.save_draft(&nurse, record.id, &Save::default()).unwrap();
    assert!(
        forbidden(store.finalize(&nurse, record.id, &Save::default(), None)),
        "a nurse cannot finalize"
    );
    assert!(
        forbidden(store.add_user(&nurse, "x", "x", Role::Viewer, true)),
        "a nurse cannot manage users"
    );
    assert!(
        forbidden(store.save_draft(&viewer, record.id, &Save::default())),
        "a viewer cannot edit"
    );
    assert!(
        forbidden(store.create_resident(&viewer, &site())),
        "a viewer cannot register"
    );
    assert!(store.record(&viewer, record.id).is_ok(), "a viewer can read");
    assert!(
        forbidden(store.record(&auditor, record.id)),
        "an auditor cannot read records"
    );
    assert!(
        forbidden(store.search_residents(&auditor, "", 10))
            && forbidden(store.recent_residents(&auditor, 10))
            && forbidden(store.records_of(&auditor, resident.id))
            && forbidden(store.revisions(&auditor, record.id))
            && forbidden(store.residents_with_id_number(&auditor, "220602197001010011", None))
            && forbidden(store.duplicate_pairs(&auditor, true)),
        "an auditor cannot list, search or read timelines"
    );
    assert!(
        store.records_of(&viewer, resident.id).is_ok(),
        "a viewer reads timelines"
    );
    assert!(
        store.audit_query(&auditor, &Default::default()).is_ok(),
        "an auditor reads the trail"
    );
    assert!(
        forbidden(store.audit_query(&nurse, &Default::default())),
        "a nurse cannot read the trail"
    );
    store.finalize(&doctor, record.id, &Save::default(), None).unwrap();
}

fn forbidden<T>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Forbidden(_)))
}

fn raw(dir: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("jkda.db")).unwrap()
}

fn trail(dir: &std::path::Path) -> Store {
    let mut store = Store::open(&dir.join("jkda.db")).unwrap();
    let doctor = Actor::with_role("li", Role::Doctor);
    for _ in 0..5 {
        store.create_resident(&doctor, &site()).unwrap();
    }
    store
}

#[test]
fn tampering_with_the_trail_is_detected_like_the_sqlite3_shell_would() {
    // Altered: an entry's actor changed.
    let dir = tempfile::tempdir().unwrap();
    drop(trail(dir.path()));
    raw(dir.path())
        .execute("UPDATE audit SET actor = 'someone' WHERE id = 3", [])
        .unwrap();
    let b = Store::open(&dir.path().join("jkda.db"))
        .unwrap()
        .verify_audit()
        .unwrap()
        .unwrap();
    assert_eq!((b.id, b.kind), (3, "altered"));

    // Deleted from the middle.
    let dir = tempfile::tempdir().unwrap();
    drop(trail(dir.path()));
    raw(dir.path()).execute("DELETE FROM audit WHERE id = 2", []).unwrap();
    let b = Store::open(&dir.path().join("jkda.db"))
        .unwrap()
        .verify_audit()
        .unwrap()
        .unwrap();
    assert_eq!((b.id, b.kind), (3, "removed_or_reordered"));

    // Reordered: two entries swap places.
    let dir = tempfile::tempdir().unwrap();
    drop(trail(dir.path()));
    let c = raw(dir.path());
    c.execute_batch("UPDATE audit SET id = 100 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3; UPDATE audit SET id = 3 WHERE id = 100;").unwrap();
    drop(c);
    let b = Store::open(&dir.path().join("jkda.db"))
        .unwrap()
        .verify_audit()
        .unwrap()
        .unwrap();
    assert_eq!(b.id, 2);

    // The newest entry removed.
    let dir = tempfile::tempdir().unwrap();
    drop(trail(dir.path()));
    raw(dir.path())
        .execute("DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)", [])
        .unwrap();
    let b = Store::open(&dir.path().join("jkda.db"))
        .unwrap()
        .verify_audit()
        .unwrap()
        .unwrap();
    assert_eq!(b.kind, "truncated");

    // And the command says so, with exit code 1.
    let out = run_jkda(dir.path(), &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("审计记录被改动"));
    let intact = tempfile::tempdir().unwrap();
    drop(trail(intact.path()));
    assert_eq!(run_jkda(intact.path(), &["audit", "verify"]).status.code(), Some(0));
}

#[test]
fn accounts_from_the_command_line_with_passwords_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 3);
    // The database is encrypted: no credentials, no access, file untouched.
    let db = dir.path().join("jkda.db");
    let before = std::fs::read(&db).unwrap();
    let out = run_jkda(dir.path(), &["residents", "search", "a"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("数据库已加密"));
    assert_eq!(std::fs::read(&db).unwrap(), before);

    // A wrong admin password is refused and counted.
    let out = run_jkda_input(dir.path(), &["--user", "admin", "user", "list"], "wrong-password\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("密码错误"));
    let out = run_jkda_input(
        dir.path(),
        &["--user", "admin", "user", "list", "--json"],
        &format!("{ADMIN_PW}\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let li = users.as_array().unwrap().iter().find(|u| u["login"] == "li").unwrap();
    assert_eq!(li["role"], "doctor");
    // install() had the doctor replace the administrator's password.
    assert_eq!(li["must_change"], false);

    // A doctor cannot manage users.
    let out = run_jkda_input(
        dir.path(),
        &["--user", "li", "user", "add", "x", "--role", "viewer"],
        &format!("{DOCTOR_PW}\nxxxxxxxx\n"),
    );
    assert_eq!(out.status.code(), Some(1));

    // The failed login went into the trail at the next successful login,
    // and the trail shows it; the password never appears anywhere.
    let out = run_jkda_input(
        dir.path(),
        &["--user", "admin", "audit", "show", "--json"],
        &format!("{ADMIN_PW}\n"),
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("login_failed"), "{text}");
    assert!(!text.contains("wrong-password") && !text.contains(ADMIN_PW));

    // Five wrong passwords lock the account; the right one is then refused too.
    for _ in 0..5 {
        run_jkda_input(dir.path(), &["--user", "li", "user", "list"], "nope-nope\n");
    }
    let out = run_jkda_input(
        dir.path(),
        &["--user", "li", "audit", "verify"],
        &format!("{DOCTOR_PW}\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("锁定"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Passwords are never accepted as arguments: there is no such flag.
    let out = run_jkda(dir.path(), &["--user", "admin", "--password", ADMIN_PW, "user", "list"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn personal_data_is_not_readable_in_the_encrypted_file() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 20);
    let mut keyring = jkda::store::crypt::Keyring::load(dir.path()).unwrap().unwrap();
    let key = keyring.unlock("admin", &ADMIN_PW.into(), chrono::Utc::now()).unwrap();
    let store = Store::open_with_key(&dir.path().join("jkda.db"), Some(&key)).unwrap();
    let rows = store.recent_residents(&jkda::store::Actor::new("test"), 20).unwrap();
    drop(store);
    assert!(!rows.is_empty());
    let mut bytes = Vec::new();
    for f in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(f.unwrap().path()).unwrap());
    }
    for r in rows {
        let name = r.name.as_bytes();
        assert!(
            !bytes.windows(name.len()).any(|w| w == name),
            "a name is readable on disk"
        );
    }
}
