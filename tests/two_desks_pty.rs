//! One database, several desks (issue 14, part 5): two real jkda processes
//! in pseudo-terminals on one data directory, as staff over SSH on a clinic
//! server. A screen left alone shows what the other desk did within a
//! couple of seconds, sends nothing while nothing changes, and a draft open
//! on both desks warns the second when it opens it, again when the other
//! saves it, and when the other finalizes it.

mod common;
mod sync_support;

use common::*;
use jkda::store::{Actor, RecordStatus, Store};
use std::time::{Duration, Instant};

fn open_store(dir: &std::path::Path) -> Store {
    let mut keyring = jkda::store::crypt::Keyring::load(dir).unwrap().unwrap();
    let key = keyring.unlock("admin", &ADMIN_PW.into(), chrono::Utc::now()).unwrap();
    Store::open_with_key(&dir.join("jkda.db"), Some(&key)).unwrap()
}

/// Waits (without a key) until a line of the screen satisfies `ok`.
fn wait_line(tui: &Tui, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = tui.screen();
        if s.lines().any(&ok) {
            return s;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{s}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_desks_see_each_others_changes_and_are_warned_about_one_draft() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 1);
    let (resident_id, name) = {
        let store = open_store(dir.path());
        let rows = store.recent_residents(&Actor::new("test"), 1).unwrap();
        (rows[0].id, rows[0].name.clone())
    };

    // Desk A: the resident's page, then left alone.
    let mut a = Tui::start(dir.path(), &[], 80, 24);
    login(&mut a, "li", DOCTOR_PW);
    a.wait_for("查找");
    a.send(&name);
    a.wait_for(&format!("{name} "));
    a.send(ENTER);
    let page = a.wait_for("档案编号");
    let draft_line = |l: &str| l.contains("高血压") && l.contains("草稿");
    let final_line = |l: &str| l.contains("高血压") && l.contains("已完成");
    assert!(!page.lines().any(draft_line), "{page}");
    let finals = page.lines().filter(|l| final_line(l)).count();

    // Desk B starts a follow-up for the same resident.
    let mut b = Tui::start(dir.path(), &[], 80, 24);
    login(&mut b, "li", DOCTOR_PW);
    start_hypertension_followup(&mut b, &name);

    // A shows B's draft without a key pressed.
    wait_line(&a, "B's draft on A's page", draft_line);
    // Then, nothing changing, A sends nothing (it looks; it does not draw).
    std::thread::sleep(Duration::from_millis(400));
    let quiet = a.bytes_read();
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(a.bytes_read(), quiet, "an idle desk redrew with nothing changed");

    // A opens the same draft: warned at once.
    let records = open_store(dir.path())
        .records_of(&Actor::new("test"), resident_id)
        .unwrap();
    let at = records
        .iter()
        .position(|r| r.status == RecordStatus::Draft && r.form_id == "hypertension-followup")
        .expect("B's draft is stored");
    for _ in 0..at {
        a.send("\x1b[B");
    }
    a.send(ENTER);
    a.wait_for("也在另一台终端打开了这份草稿");

    // B fills the visit date and leaves the item (which saves): A is told.
    b.send("t");
    b.send(TAB);
    a.wait_for("在另一台终端保存了这份草稿");

    // B completes and finalizes the follow-up: A, still in the draft, is
    // told it can no longer be saved; back on the page it shows as final.
    b.send("1");
    b.send(TAB);
    b.send(TAB);
    b.wait_for("[2/");
    b.send(" ");
    b.send(TAB);
    b.send("1");
    b.send(TAB);
    b.wait_for("[3/6]");
    b.send("135");
    b.send(TAB);
    b.send("85");
    b.send(TAB);
    b.wait_for("85");
    b.send(CTRL_E);
    b.send(CTRL_F);
    std::thread::sleep(Duration::from_millis(300));
    if b.screen().contains("请确认") {
        b.send("y");
    }
    b.wait_for("档案编号");
    a.wait_for("已在另一台终端完成或放弃");
    a.send(ESC);
    let page = a.wait_for("档案编号");
    assert!(!page.lines().any(draft_line), "{page}");
    assert_eq!(page.lines().filter(|l| final_line(l)).count(), finals + 1, "{page}");

    b.send(CTRL_Q);
    a.send(CTRL_Q);
    assert!(b.wait_exit() && a.wait_exit(), "a desk did not exit cleanly");
    // Both closed the draft: no desk holds it any more.
    let draft = records[at].id;
    let store = open_store(dir.path());
    assert_eq!(store.other_leases(draft, "", chrono::Utc::now()).unwrap(), Vec::new());
    assert!(store.integrity_check().unwrap().is_empty());
}

/// The same through the shell, without a terminal: the idle tick reads the
/// list again only when another connection changed the database, and says
/// to redraw only then.
#[test]
fn the_idle_tick_reads_again_only_after_another_desks_change() {
    use jkda::app::{App, Clock, Screen};
    let dir = tempfile::tempdir().unwrap();
    let mut other = sync_support::Clinic::open(dir.path(), "clinic", "101");
    other.register(0);
    let store = Store::open(&other.path).unwrap();
    let mut shell = jkda::shell::Shell::new(store, jkda::form::Registry::embedded(), Actor::new("a"));
    let clock = Clock {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        time: chrono::NaiveTime::MIN,
        instant: Instant::now(),
    };
    let site = Some(sync_support::site("101"));
    let mut app = App::new(jkda::i18n::Lang::Zh, jkda::keymap::Keymap::default(), site, &clock);
    for m in shell.startup(&mut app, &clock) {
        shell.dispatch(&mut app, m, &clock);
    }
    let rows = |app: &App| match &app.screen {
        Screen::Residents(l) => l.rows.len(),
        _ => usize::MAX,
    };
    assert_eq!(rows(&app), 1);
    assert!(!shell.tick(&mut app), "nothing changed: no redraw");
    other.register(1);
    assert!(shell.tick(&mut app), "another desk registered someone");
    assert_eq!(rows(&app), 2);
    assert!(!shell.tick(&mut app));
}

/// A final record read on one desk while another desk amends it (or the
/// uploader brings down an amendment made at another PC): the idle tick
/// shows the new revision and says so; a record not viewed is left alone.
#[test]
fn a_record_being_read_shows_the_amendment_another_desk_made() {
    use jkda::app::{App, Clock, Effect, Notice, Screen};
    use jkda::store::Save;
    let dir = tempfile::tempdir().unwrap();
    let mut other = sync_support::Clinic::open(dir.path(), "clinic", "101");
    let (resident, _) = other.register(0);
    let record = other.follow_up(resident, "hypertension-followup", 3);
    let store = Store::open(&other.path).unwrap();
    let mut shell = jkda::shell::Shell::new(store, jkda::form::Registry::embedded(), Actor::new("a"));
    let clock = Clock {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        time: chrono::NaiveTime::MIN,
        instant: Instant::now(),
    };
    let site = Some(sync_support::site("101"));
    let mut app = App::new(jkda::i18n::Lang::Zh, jkda::keymap::Keymap::default(), site, &clock);
    for m in shell.startup(&mut app, &clock) {
        shell.dispatch(&mut app, m, &clock);
    }
    for m in shell.run(Effect::OpenRecord(record), &mut app, &clock) {
        shell.dispatch(&mut app, m, &clock);
    }
    let systolic = |app: &App| match &app.screen {
        Screen::Form(f) if f.read_only => f.answers.text("bp.systolic").map(str::to_string),
        _ => None,
    };
    let before = systolic(&app).expect("the record is open to read");
    assert!(!shell.tick(&mut app), "nothing changed: no redraw");

    // The other desk amends it.
    let actor = other.actor.clone();
    let r = other.store.amend(&actor, record).unwrap();
    let mut answers = r.answers.clone();
    answers.set_text("bp.systolic", "171");
    let save = Save {
        answers,
        focus: None,
        record_date: r.record_date.clone(),
        resident: None,
    };
    other.store.finalize(&actor, record, &save, None).unwrap();

    assert!(shell.tick(&mut app), "the amendment is drawn");
    assert_eq!(systolic(&app).as_deref(), Some("171"), "was {before}");
    assert!(
        matches!(&app.notice, Some(Notice::Info(m)) if m.key == "desks.updated_elsewhere"),
        "{:?}",
        app.notice
    );
    assert!(!shell.tick(&mut app), "shown once");
}
