//! Issue 11, the front desk: the real binary in a pseudo-terminal, driven
//! as the clinic staff drive it, and what it stored read back from the
//! encrypted database.

mod common;

use common::*;
use jkda::store::{Actor, Record, Store};

fn open_store(dir: &std::path::Path) -> Store {
    let mut keyring = jkda::store::crypt::Keyring::load(dir).unwrap().unwrap();
    let key = keyring.unlock("admin", ADMIN_PW, chrono::Utc::now()).unwrap();
    Store::open_with_key(&dir.join("jkda.db"), Some(&key)).unwrap()
}

fn first_resident(dir: &std::path::Path) -> (i64, String) {
    let store = open_store(dir);
    let rows = store.recent_residents(&Actor::new("test"), 1).unwrap();
    (rows[0].id, rows[0].name.clone())
}

/// The one record of `form_id` typed by li for this resident.
fn typed_record(dir: &std::path::Path, resident_id: i64, form_id: &str) -> Record {
    let store = open_store(dir);
    let actor = Actor::new("test");
    let records = store.records_of(&actor, resident_id).unwrap();
    let mine: Vec<_> = records
        .iter()
        .filter(|r| r.author == "li" && r.form_id == form_id)
        .collect();
    assert_eq!(mine.len(), 1, "one {form_id} record typed: {records:?}");
    store.record(&actor, mine[0].id).unwrap()
}

/// From the resident list: find the resident, open their page, start the
/// visit form whose title is `title` from the form picker (by its digit).
fn start_form(tui: &mut Tui, name: &str, title: &str, first_label: &str) {
    tui.wait_for("查找");
    tui.send(name);
    tui.wait_for(&format!("{name} "));
    tui.send(ENTER);
    tui.wait_for("档案编号");
    tui.send("n");
    let screen = tui.wait_for(title);
    let digit = screen
        .lines()
        .find(|l| l.contains(title))
        .and_then(|l| l.trim_start_matches(['│', ' ']).chars().next())
        .expect("picker line");
    tui.send(&digit.to_string());
    tui.wait_for(first_label);
}

const PAGE_DOWN: &str = "\x1b[6~";

/// The screen line that shows `label`.
fn line_with(screen: &str, label: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("{label} not on screen:\n{screen}"))
        .to_string()
}

/// Issue 11, item 0: Space is a space in every text input (a text item, an
/// option's details, a cell of the medication rows) and still ticks in a
/// multiple choice.
#[test]
fn space_types_a_space_in_text_and_ticks_in_multiple_choice() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 3);
    let (resident_id, name) = first_resident(dir.path());
    let mut tui = Tui::start(dir.path(), &[], 80, 24);
    login(&mut tui, "li", DOCTOR_PW);
    start_form(&mut tui, &name, "高血压患者随访", "随访日期");

    // Symptoms: 10 其他, ticked, and its details typed with spaces.
    tui.send(PAGE_DOWN);
    tui.wait_for("[2/");
    tui.send("10");
    tui.send(" ");
    tui.wait_for("<10 其他>");
    tui.send(TAB);
    tui.send("chest pain at night");
    let screen = tui.wait_for("chest pain at night");
    assert!(screen.contains("<10 其他>"), "Space did not untick 其他:\n{screen}");

    // Signs: 其他体征 is a text item, six inputs below the systolic pressure.
    tui.send(PAGE_DOWN);
    tui.wait_for("[3/");
    for _ in 0..6 {
        tui.send(TAB);
    }
    tui.send("mild oedema");
    let screen = tui.wait_for("mild oedema");
    assert!(line_with(&screen, "其他体征").contains("mild oedema"), "{screen}");

    // Tests and medication: one drug, its dose "5 mg".
    tui.send(PAGE_DOWN);
    tui.send(PAGE_DOWN);
    tui.wait_for("[5/");
    for _ in 0..4 {
        tui.send(TAB);
    }
    tui.send("nifedipine ER");
    tui.wait_for("nifedipine ER");
    tui.send(TAB);
    tui.send("1");
    tui.send(TAB);
    tui.send("5 mg");
    let screen = tui.wait_for("5 mg");
    assert!(line_with(&screen, "每次剂量").contains("5 mg"), "{screen}");
    tui.send(TAB);
    // Leaving the form saves the draft.
    tui.send(ESC);
    tui.wait_for("档案编号");
    tui.send(CTRL_Q);
    assert!(tui.wait_exit(), "jkda did not exit cleanly");

    let record = typed_record(dir.path(), resident_id, "hypertension-followup");
    let a = &record.answers;
    assert_eq!(a.codes("symptoms"), ["10".to_string()]);
    assert_eq!(a.text("symptoms.detail"), Some("chest pain at night"));
    assert_eq!(a.text("other_signs"), Some("mild oedema"));
    assert_eq!(a.text("meds.0.name"), Some("nifedipine ER"));
    assert_eq!(a.text("meds.0.times_per_day"), Some("1"));
    assert_eq!(a.text("meds.0.dose"), Some("5 mg"));
}

/// Issue 11, item 4: an account an administrator created must change its
/// password at first login, and neither the administrator's password nor
/// the login name is accepted as the new one.
#[test]
fn forced_password_change_refuses_the_old_password_and_the_login() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 0);
    let out = run_jkda_input(
        dir.path(),
        &[
            "--user", "admin", "user", "add", "wangfang", "--role", "nurse", "--name", "王芳",
        ],
        &format!("{ADMIN_PW}\nfirst-pass-1\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let mut tui = Tui::start(dir.path(), &[], 80, 24);
    tui.wait_for("登录名");
    tui.send("wangfang");
    tui.send(TAB);
    tui.send("first-pass-1");
    tui.send(ENTER);
    tui.wait_for("新密码");
    let attempt = |tui: &mut Tui, pw: &str| {
        tui.send(pw);
        tui.send(TAB);
        tui.send(pw);
        tui.send(ENTER);
    };
    attempt(&mut tui, "first-pass-1");
    let screen = tui.wait_for("新密码不能与原密码相同");
    assert!(screen.contains("新密码"), "still on the change screen:\n{screen}");
    attempt(&mut tui, "wangfang");
    tui.wait_for("密码不能与登录名相同");
    attempt(&mut tui, "my-own-pass-2");
    tui.wait_for("查找");
    tui.send(CTRL_Q);
    assert!(tui.wait_exit(), "jkda did not exit cleanly");

    assert!(jkda::session::login(dir.path(), "wangfang", "first-pass-1").is_err());
    let s = jkda::session::login(dir.path(), "wangfang", "my-own-pass-2").expect("the new password works");
    assert!(!s.user.must_change, "the change is done");
}
