//! Autosaves that write only what changed (issue 12, part 7), on an
//! encrypted database, through the real core, shell and store: the health
//! exam filled key by key as a person fills it, each item left saved as one
//! journal row of the items it changed; a draft read back (after the
//! process stopped between saves, or reopened) has every answer; finalizing
//! writes the same record as a save of all the answers did.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jkda::app::{App, Clock, Effect, FormState, Msg, Screen};
use jkda::form::def::FieldKind;
use jkda::form::{Answers, Registry};
use jkda::i18n::Lang;
use jkda::keymap::Keymap;
use jkda::shell::Shell;
use jkda::store::crypt::DbKey;
use jkda::store::{Actor, Role, Save, SiteConfig, Store};
use std::path::Path;

fn clock() -> Clock {
    Clock {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        time: chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
        instant: std::time::Instant::now(),
    }
}

fn site() -> SiteConfig {
    SiteConfig {
        division: "220602".into(),
        township: "101".into(),
        village: "101".into(),
        name: "测试村卫生室".into(),
    }
}

fn doctor() -> Actor {
    Actor::with_role("li", Role::Doctor)
}

fn open(dir: &Path, key: &DbKey) -> Store {
    Store::open_with_key(&dir.join("jkda.db"), Some(key)).unwrap()
}

/// A second connection to the encrypted file, for what the store does not
/// show: the stored JSON text and the write-ahead log.
fn raw(dir: &Path, key: &DbKey) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(dir.join("jkda.db")).unwrap();
    c.execute_batch(&format!(
        "PRAGMA key = \"x'{}'\"; PRAGMA cipher_compatibility = 4;",
        key.to_hex()
    ))
    .unwrap();
    c
}

fn form(app: &App) -> &FormState {
    match &app.screen {
        Screen::Form(f) => f,
        _ => panic!("not on a form"),
    }
}

fn press(shell: &mut Shell, app: &mut App, code: KeyCode) {
    shell.dispatch(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), &clock());
}

/// A resident and a health exam just opened for them, in a fresh encrypted database.
fn new_exam(dir: &Path, key: &DbKey) -> (Shell, App, i64) {
    let mut store = open(dir, key);
    store.set_site(&site()).unwrap();
    let resident = store.create_resident(&doctor(), &site()).unwrap();
    let mut shell = Shell::new(store, Registry::embedded(), doctor());
    let mut app = App::new(Lang::Zh, Keymap::default(), Some(site()), &clock());
    let effect = Effect::NewRecord {
        resident_id: resident.id,
        form_id: "health-exam".into(),
    };
    for m in shell.run(effect, &mut app, &clock()) {
        shell.dispatch(&mut app, m, &clock());
    }
    let id = form(&app).record_id;
    (shell, app, id)
}

/// One save of the walk: the item left, what was typed into it, its kind.
struct Left {
    path: String,
    typed: String,
    decimal: bool,
}

/// Fills the exam as a person would, a plausible value in every input and
/// Tab (which saves), leaving the last item untouched.
fn fill(shell: &mut Shell, app: &mut App) -> Vec<Left> {
    let mut left = Vec::new();
    for _ in 0..400 {
        let f = form(app);
        let Some(slot) = f.slot().cloned() else { break };
        if f.cursor + 1 >= f.slots.len() {
            break;
        }
        let kind = slot.kind(&f.def).clone();
        let typed: String = match &kind {
            _ if slot.cell.is_some_and(|(row, _)| row > 0) => String::new(),
            FieldKind::Integer(_) => "72".into(),
            FieldKind::Decimal(_) => match slot.path.as_str() {
                "height" => "158.5".into(),
                "weight" => "56.5".into(),
                _ => "36.5".into(),
            },
            FieldKind::Date { .. } => "20261129".into(),
            FieldKind::Choice { options } | FieldKind::Multi { options, .. } => options[0].code.clone(),
            FieldKind::Text { .. } => "未见明显异常，建议每年体检一次".into(),
            _ => String::new(),
        };
        for ch in typed.chars() {
            press(shell, app, KeyCode::Char(ch));
        }
        if matches!(kind, FieldKind::Multi { .. }) {
            press(shell, app, KeyCode::Char(' '));
        }
        press(shell, app, KeyCode::Tab);
        left.push(Left {
            path: slot.path,
            typed,
            decimal: matches!(kind, FieldKind::Decimal(_)),
        });
    }
    left
}

fn journal_rows(c: &rusqlite::Connection, id: i64) -> Vec<String> {
    let mut stmt = c
        .prepare("SELECT changes FROM draft_journal WHERE record_id = ?1 ORDER BY seq")
        .unwrap();
    stmt.query_map([id], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Pages the next transaction writes: the write-ahead log is emptied first,
/// then its frames (one per page) counted after.
fn pages_written(dir: &Path, c: &rusqlite::Connection, write: impl FnOnce()) -> u64 {
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    let wal = dir.join("jkda.db-wal");
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0, "log emptied");
    write();
    let page: u64 = c
        .query_row("PRAGMA page_size", [], |r| {
            r.get::<_, String>(0)
                .or_else(|_| r.get::<_, i64>(0).map(|n| n.to_string()))
        })
        .unwrap()
        .parse()
        .unwrap();
    let len = std::fs::metadata(&wal).unwrap().len();
    // A 32-byte header, then per frame a 24-byte header and the page.
    (len - 32) / (page + 24)
}

#[test]
fn an_autosave_writes_only_the_item_that_was_left() {
    let dir = tempfile::tempdir().unwrap();
    let key = DbKey::generate();
    let (mut shell, mut app, id) = new_exam(dir.path(), &key);
    let left = fill(&mut shell, &mut app);
    let c = raw(dir.path(), &key);
    let rows = journal_rows(&c, id);
    assert!(left.len() > 80, "the exam has many items: {}", left.len());
    // Each save is one row; leaving an item not changed saves nothing.
    let changed = left.iter().filter(|l| !l.typed.is_empty()).count();
    assert!(rows.len() >= changed && rows.len() <= left.len(), "{} rows", rows.len());
    let mut decimals = 0;
    for l in left.iter().filter(|l| l.decimal) {
        let row = format!("{{\"{}\":\"{}\"}}", l.path, l.typed);
        assert!(rows.contains(&row), "no save of {} alone: {rows:?}", l.path);
        decimals += 1;
    }
    assert!(decimals >= 4, "temperature, height, weight, waist at least");
    // Nothing rewrote the answers: they are all in the journal.
    let stored: String = c
        .query_row("SELECT answers FROM records WHERE id = ?1", [id], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, "{}");

    // One item changed on a long exam (an older patient's: ten drugs, three
    // stays in hospital, findings written out; about 10 KB of answers,
    // folded into the record as on reopening): the save writes a few pages
    // — the journal row, the record's time, the audit entry — however long
    // the answers, where writing all of them again writes every page.
    let mut store = open(dir.path(), &key);
    assert!(store.fold_draft_journal(&doctor(), id).unwrap());
    let mut long = Save {
        answers: store.record(&doctor(), id).unwrap().answers,
        ..Default::default()
    };
    for i in 0..10 {
        long.answers
            .set_text(&format!("meds.{i}.name"), "硝苯地平控释片（拜新同）");
        long.answers.set_text(&format!("meds.{i}.route"), "口服");
        long.answers
            .set_text(&format!("meds.{i}.dosage"), "每日一次，每次30mg，早餐后");
        long.answers.set_text(&format!("meds.{i}.duration"), "三年以上");
    }
    for i in 0..3 {
        long.answers.set_text(
            &format!("hospital_stays.{i}.reason"),
            "高血压病3级（极高危）合并冠心病，不稳定型心绞痛",
        );
        long.answers.set_text(
            &format!("hospital_stays.{i}.institution"),
            "吉林省通化市中心医院心血管内科",
        );
        long.answers
            .set_text(&format!("hospital_stays.{i}.case_number"), "ZY2026110012345");
    }
    let finding = "双肺呼吸音清，未闻及干湿性啰音；心率72次/分，律齐，各瓣膜听诊区未闻及病理性杂音；".repeat(20);
    long.answers.set_text("physical_other", &finding);
    long.answers.set_text("auxiliary_other", &finding);
    store.save_draft(&doctor(), id, &long).unwrap();
    let base = long.answers;
    let json_len = serde_json::to_string(&base).unwrap().len();
    assert!(json_len > 9_000, "answers of the long exam: {json_len} bytes");
    let mut one = Save {
        answers: base.clone(),
        focus: Some("waist".into()),
        ..Default::default()
    };
    one.answers.set_text("waist", "81.0");
    let incremental = pages_written(dir.path(), &c, || {
        store.save_draft_changes(&doctor(), id, &base, &one).unwrap();
    });
    assert_eq!(journal_rows(&c, id), [r#"{"waist":"81.0"}"#]);
    one.answers.set_text("waist", "82.0");
    let whole = pages_written(dir.path(), &c, || {
        store.save_draft(&doctor(), id, &one).unwrap();
    });
    println!("pages written: one item {incremental}, all the answers {whole}");
    // The journal row, the record's time, the audit entry and the head of
    // the audit chain kept beside it.
    assert!(incremental <= 4, "{incremental} pages for one item");
    assert!(whole > incremental, "{whole} pages for the whole save");
}

#[test]
fn a_draft_saved_item_by_item_reads_back_whole_after_a_stop_and_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let key = DbKey::generate();
    let (mut shell, mut app, id) = new_exam(dir.path(), &key);
    fill(&mut shell, &mut app);
    let typed: Answers = form(&app).answers.clone();
    let focus = form(&app).focus_path();
    assert!(typed.len() > 80);
    // The process stops between two saves: nothing runs after the last
    // save (no fold, no shutdown), its connection is simply gone.
    std::mem::forget(shell);

    let store = open(dir.path(), &key);
    assert!(store.draft_journal_len(id).unwrap() > 80);
    let read = store.record(&doctor(), id).unwrap();
    assert_eq!(read.answers, typed, "every answer, from the journal");
    assert_eq!(read.focus, focus, "where it was left");

    // A viewer reads it whole too, and writes nothing.
    let mut store = store;
    let viewer = Actor::with_role("wang", Role::Viewer);
    assert!(!store.fold_draft_journal(&viewer, id).unwrap());
    assert_eq!(store.record(&viewer, id).unwrap().answers, typed);

    // Reopened in a new session: the journal is folded into the record.
    let mut shell = Shell::new(store, Registry::embedded(), doctor());
    let mut app = App::new(Lang::Zh, Keymap::default(), Some(site()), &clock());
    for m in shell.run(Effect::OpenRecord(id), &mut app, &clock()) {
        shell.dispatch(&mut app, m, &clock());
    }
    assert_eq!(form(&app).answers, typed);
    assert_eq!(shell.store.draft_journal_len(id).unwrap(), 0);
    let c = raw(dir.path(), &key);
    let stored: String = c
        .query_row("SELECT answers FROM records WHERE id = ?1", [id], |r| r.get(0))
        .unwrap();
    assert_eq!(serde_json::from_str::<Answers>(&stored).unwrap(), typed);

    // Typing on after the reopening journals again, from the folded answers.
    let before = form(&app).answers.clone();
    for _ in 0..200 {
        if form(&app).focus_path().as_deref() == Some("waist") {
            break;
        }
        press(&mut shell, &mut app, KeyCode::BackTab);
    }
    press(&mut shell, &mut app, KeyCode::Char('9'));
    press(&mut shell, &mut app, KeyCode::Tab);
    let rows = journal_rows(&c, id);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let changed: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&rows[0]).unwrap();
    assert_eq!(changed.keys().collect::<Vec<_>>(), ["waist"], "{rows:?}");
    assert_ne!(form(&app).answers, before);
    assert_eq!(shell.store.record(&doctor(), id).unwrap().answers, form(&app).answers);

    // Abandoned, the draft's journal goes with it.
    shell.store.abandon_draft(&doctor(), id, "测试").unwrap();
    let left: i64 = c
        .query_row("SELECT count(*) FROM draft_journal WHERE record_id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn finalizing_writes_the_same_record_as_whole_saves_did() {
    let dir = tempfile::tempdir().unwrap();
    let key = DbKey::generate();
    // Filled key by key through the shell: journalled saves.
    let (mut shell, mut app, journalled) = new_exam(dir.path(), &key);
    fill(&mut shell, &mut app);
    let save = form(&app).save(&clock());
    assert!(shell.store.draft_journal_len(journalled).unwrap() > 80);
    let msgs = shell.run(
        Effect::Finalize {
            record_id: journalled,
            save: save.clone(),
        },
        &mut app,
        &clock(),
    );
    assert!(
        msgs.iter().any(|m| matches!(m, Msg::Finalized { .. })),
        "the exam was not finalized"
    );
    assert_eq!(shell.store.draft_journal_len(journalled).unwrap(), 0);

    // The same answers saved whole, as every autosave used to, then finalized.
    let def = Registry::embedded().get("health-exam").unwrap().clone();
    let src = Registry::embedded().source("health-exam").unwrap().to_string();
    let resident = shell.store.create_resident(&doctor(), &site()).unwrap();
    let whole = shell
        .store
        .create_record(&doctor(), resident.id, &def, &src)
        .unwrap()
        .id;
    shell.store.save_draft(&doctor(), whole, &save).unwrap();
    shell.store.finalize(&doctor(), whole, &save, None).unwrap();

    let c = raw(dir.path(), &key);
    let texts = |id: i64| -> (String, String) {
        let record = c
            .query_row("SELECT answers FROM records WHERE id = ?1", [id], |r| r.get(0))
            .unwrap();
        let revision = c
            .query_row("SELECT answers FROM record_revisions WHERE record_id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap();
        (record, revision)
    };
    let (a, b) = (texts(journalled), texts(whole));
    assert_eq!(a, b, "the same JSON, byte for byte");
    assert_eq!(a.0, serde_json::to_string(&save.answers).unwrap());
}
