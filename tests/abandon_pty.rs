//! A draft that will never be finished is abandoned from the resident page
//! (issue 10, part 6): `x` on the draft, the reason typed (in Chinese, as
//! staff type it), Enter — the draft leaves the page and the store keeps
//! who abandoned it and why. A final record cannot be abandoned. The real
//! binary at 80×24.

mod common;

use common::*;
use jkda::store::Store;

fn open_store(dir: &std::path::Path) -> Store {
    let mut keyring = jkda::store::crypt::Keyring::load(dir).unwrap().unwrap();
    let key = keyring.unlock("admin", &ADMIN_PW.into(), chrono::Utc::now()).unwrap();
    Store::open_with_key(&dir.join("jkda.db"), Some(&key)).unwrap()
}

fn drafts(dir: &std::path::Path) -> usize {
    open_store(dir).drafts(&jkda::store::Actor::new("test")).unwrap().len()
}

#[test]
fn a_draft_is_abandoned_with_a_reason_and_leaves_the_page() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 5);
    let name = {
        let store = open_store(dir.path());
        store.recent_residents(&jkda::store::Actor::new("test"), 1).unwrap()[0]
            .name
            .clone()
    };
    let before = drafts(dir.path());
    let mut tui = Tui::start(dir.path(), &[], 80, 24);
    login(&mut tui, "li", DOCTOR_PW);
    start_hypertension_followup(&mut tui, &name);
    tui.send("t");
    tui.send(TAB);
    // Back to the resident page: the draft is kept and listed first.
    tui.send(ESC);
    let page = tui.wait_for("档案编号");
    assert!(page.contains("草稿"), "{page}");
    assert_eq!(drafts(dir.path()), before + 1);

    // A final record (the registration) cannot be abandoned.
    tui.send("x");
    tui.wait_for("放弃这份草稿");
    tui.send(ESC);
    tui.send("\x1b[B");
    tui.send("x");
    tui.wait_for("只能放弃从未提交的草稿");
    tui.send("\x1b[A");

    // The draft: x, a reason, Enter.
    tui.send("x");
    tui.wait_for("为什么不再填写");
    tui.send("录错了人");
    tui.wait_for("录错了人");
    tui.send(ENTER);
    let page = tui.wait_for("草稿已放弃");
    assert!(!page.contains("草稿 "), "{page}");
    assert_eq!(drafts(dir.path()), before);
}

#[test]
fn in_english_the_reason_takes_spaces_and_full_width_digits() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 3);
    let name = {
        let store = open_store(dir.path());
        store.recent_residents(&jkda::store::Actor::new("test"), 1).unwrap()[0]
            .name
            .clone()
    };
    let mut tui = Tui::start(dir.path(), &["--lang", "en"], 80, 24);
    tui.wait_for("Log in");
    tui.send("li");
    tui.send(TAB);
    tui.send(DOCTOR_PW);
    tui.send(ENTER);
    tui.wait_for("Find:");
    tui.send(&name);
    tui.wait_for(&format!("{name} "));
    tui.send(ENTER);
    tui.send("n");
    let screen = tui.wait_for("Hypertension");
    let digit = screen
        .lines()
        .find(|l| l.contains("Hypertension"))
        .and_then(|l| l.trim_start_matches(['│', ' ']).chars().next())
        .expect("picker line");
    tui.send(&digit.to_string());
    tui.wait_for("Visit date");
    tui.send(ESC);
    tui.wait_for("Draft");
    tui.send("x");
    tui.wait_for("Why will it never be finished");
    tui.send("wrong person ２０２６");
    let screen = tui.wait_for("wrong person ２０２６");
    assert!(screen.contains("Enter abandon · Esc keep it"), "{screen}");
    tui.send(ENTER);
    let screen = tui.wait_for("Draft abandoned");
    assert!(!screen.contains("Draft     "), "the draft left the page:\n{screen}");
}
