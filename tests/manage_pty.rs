//! The management half as a doctor meets it, in a pseudo-terminal at 80×24:
//! the rules fill in and mark the classification and the next visit of a
//! follow-up (the 70-year-old at 152/96), and the worklist is one
//! key from the resident list and starts the right form.

mod common;

use common::*;
use jkda::form::Registry;
use jkda::store::{Actor, ResidentFields, Save, Store};

fn open_store(dir: &std::path::Path) -> Store {
    let mut keyring = jkda::store::crypt::Keyring::load(dir).unwrap().unwrap();
    let key = keyring.unlock("admin", &ADMIN_PW.into(), chrono::Utc::now()).unwrap();
    Store::open_with_key(&dir.join("jkda.db"), Some(&key)).unwrap()
}

/// A registered resident born on 1956-03-01 (70 on 2026-11-01).
fn register(dir: &std::path::Path, name: &str) -> i64 {
    let mut store = open_store(dir);
    let actor = Actor::new("admin");
    let registry = Registry::embedded();
    let site = store.site().unwrap().unwrap();
    let r = store.create_resident(&actor, &site).unwrap();
    let def = registry.registration().unwrap().clone();
    let src = registry.source(&def.id).unwrap().to_string();
    let rec = store.create_record(&actor, r.id, &def, &src).unwrap();
    let save = Save {
        record_date: Some("2025-01-01".into()),
        resident: Some(ResidentFields {
            name: Some(name.into()),
            sex: Some("1".into()),
            birth_date: Some("1956-03-01".into()),
            village: Some("测试村".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    store.finalize(&actor, rec.id, &save, None).unwrap();
    r.id
}

#[test]
fn the_rules_suggest_and_the_worklist_opens_the_right_form() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 0);
    let resident = register(dir.path(), "甲老汉");

    let mut tui = Tui::start(dir.path(), &[], 80, 24);
    login(&mut tui, "li", DOCTOR_PW);
    start_hypertension_followup(&mut tui, "甲老汉");
    // 2026-11-01 at the clinic, no symptoms, no danger sign, BP 152/96.
    tui.send("20261101");
    tui.send(TAB);
    tui.send("1");
    tui.send(TAB);
    tui.send(TAB);
    tui.wait_for("无症状");
    tui.send("1");
    tui.send(TAB);
    tui.send("1");
    tui.send(TAB);
    tui.wait_for("[3/6]");
    tui.send("152");
    tui.send(TAB);
    tui.send("96");
    tui.send(TAB);
    // The classification is further down: jump to it with the section keys.
    let mut screen = String::new();
    for _ in 0..6 {
        screen = tui.screen();
        if screen.contains("此次随访分类") {
            break;
        }
        tui.send("\x1b[6~"); // PgDn
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let screen = if screen.contains("此次随访分类") {
        screen
    } else {
        tui.wait_for("此次随访分类")
    };
    assert!(screen.contains("建议值"), "suggested values are marked:\n{screen}");
    assert!(
        screen.lines().any(|l| l.contains("<2 控制不满意>")),
        "152/96 at 70 is not controlled (target <150/90):\n{screen}"
    );
    tui.send(CTRL_F);
    std::thread::sleep(std::time::Duration::from_millis(400));
    if tui.screen().contains("请确认") {
        tui.send("y");
    }
    // His page shows the programme from this visit on, and the older
    // adults' programme (he is 70).
    let page = tui.wait_for("高血压（2026-11-01 起）");
    assert!(page.contains("老年人健康管理"), "{page}");

    let store = open_store(dir.path());
    let actor = Actor::new("test");
    let records = store.records_of(&actor, resident).unwrap();
    let visit = records
        .iter()
        .find(|r| r.form_id == "hypertension-followup")
        .expect("finalized");
    let record = store.record(&actor, visit.id).unwrap();
    assert_eq!(record.answers.text("classification"), Some("2"));
    assert_eq!(record.answers.text("next_step"), Some("2"));
    assert_eq!(record.answers.text("next_visit_date"), Some("2026-11-15"));
    assert_eq!(record.answers.text("doctor"), Some("李医生"));
    let members = store.memberships(&actor, resident).unwrap();
    assert_eq!(members.len(), 1, "enrolled by the first follow-up");
    drop(store);

    // The worklist is one key from the resident list; the follow-up due on
    // 11-15 is on it (overdue, or a lost candidate later on), and Enter
    // starts the hypertension follow-up for him.
    tui.send(ESC);
    tui.wait_for("查找");
    tui.send("\x1bOR"); // F3
    let screen = tui.wait_for("甲老汉");
    assert!(screen.contains("随访工作表"), "{screen}");
    // His follow-up line; on a later day his older adults' exam for that
    // year is listed too, and may come first (issue 12: red under faketime).
    assert!(
        screen.lines().any(|l| l.contains("甲老汉") && l.contains("2026-11-15")),
        "{screen}"
    );
    // Move to his line (older adults' exams may come first) and open it.
    let rows: Vec<&str> = screen.lines().skip_while(|l| !l.contains("类别")).skip(1).collect();
    let pos = rows.iter().position(|l| l.contains("2026-11-15")).unwrap();
    for _ in 0..pos {
        tui.send("\x1b[B");
    }
    tui.send(ENTER);
    let form = tui.wait_for("高血压患者随访服务记录表");
    assert!(form.contains("甲老汉"), "{form}");
    tui.send(CTRL_Q);
    assert!(tui.wait_exit());
}
