//! Issue 11, the front desk: the real binary in a pseudo-terminal, driven
//! as the clinic staff drive it, and what it stored read back from the
//! encrypted database.

mod common;

use common::*;
use jkda::store::{Actor, Record, Store};

fn open_store(dir: &std::path::Path) -> Store {
    let mut keyring = jkda::store::crypt::Keyring::load(dir).unwrap().unwrap();
    let key = keyring.unlock("admin", &ADMIN_PW.into(), chrono::Utc::now()).unwrap();
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

    assert!(jkda::session::login(dir.path(), "wangfang", &"first-pass-1".into()).is_err());
    let s = jkda::session::login(dir.path(), "wangfang", &"my-own-pass-2".into()).expect("the new password works");
    assert!(!s.user.must_change, "the change is done");
}

// ------------------------------------------------ item 1: focus in view

mod walk {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use jkda::app::slots::Part;
    use jkda::app::{App, FormState, Msg, Screen};
    use jkda::form::def::FieldKind;
    use jkda::i18n::{I18n, Lang};
    use jkda::ui::{Theme, View};
    use ratatui::backend::TestBackend;
    use ratatui::style::Modifier;
    use ratatui::Terminal;
    use unicode_width::UnicodeWidthChar;

    pub const FORMS: [&str; 4] = [
        "resident-basic-info",
        "health-exam",
        "hypertension-followup",
        "diabetes-followup",
    ];

    use super::common::form_app::clock;

    /// A form on screen for a woman of 76 (so the items for the elderly show).
    pub fn app(form_id: &str, lang: Lang) -> App {
        super::common::form_app::app(form_id, lang)
    }

    pub fn form(app: &App) -> &FormState {
        match &app.screen {
            Screen::Form(f) => f,
            _ => panic!("not on a form"),
        }
    }

    pub fn key(app: &mut App, code: KeyCode) {
        app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), &clock());
    }

    pub fn type_str(app: &mut App, s: &str) {
        for c in s.chars() {
            key(app, KeyCode::Char(c));
        }
    }

    /// The screen's rows as text, and for each row the text drawn in the
    /// focus style (underlined).
    pub fn draw(app: &App, i18n: &I18n, cols: u16, rows: u16) -> (Vec<String>, Vec<String>) {
        let mut terminal = Terminal::new(TestBackend::new(cols, rows)).unwrap();
        let view = View {
            i18n,
            theme: Theme { color: false },
        };
        terminal.draw(|f| jkda::ui::draw(f, app, &view)).unwrap();
        let buf = terminal.backend().buffer().clone();
        let (mut text, mut focus) = (Vec::new(), Vec::new());
        for y in 0..rows {
            let (mut t, mut u) = (String::new(), String::new());
            let mut skip = 0;
            for x in 0..cols {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let cell = &buf[(x, y)];
                let sym = cell.symbol();
                skip = sym
                    .chars()
                    .next()
                    .and_then(|c| c.width())
                    .unwrap_or(1)
                    .saturating_sub(1);
                t.push_str(sym);
                if cell.modifier.contains(Modifier::UNDERLINED) {
                    u.push_str(sym);
                }
            }
            text.push(t);
            focus.push(u);
        }
        (text, focus)
    }

    /// The start of `s` that a label column shows whole.
    fn head(s: &str, cols: usize) -> String {
        let mut out = String::new();
        let mut used = 0;
        for c in s.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > cols {
                break;
            }
            out.push(c);
            used += w;
        }
        out.trim_end().to_string()
    }

    /// Asserts that the focused input is on screen: its label drawn in the
    /// focus style, all the options of a choice, and the item's label above
    /// a detail or a cell of a table.
    pub fn assert_focus_visible(app: &App, i18n: &I18n, cols: u16, rows: u16, what: &str) {
        let f = form(app);
        let slot = f.slot().expect("a focused input").clone();
        let field = &f.def.sections[slot.section].fields[slot.field];
        let lang = i18n.lang();
        let label_cols = if lang == Lang::Zh { 14 } else { 20 };
        let (text, focus) = draw(app, i18n, cols, rows);
        // Title, form heading, progress, message line; status and hints below.
        let body = &text[4..text.len() - 2];
        let body_focus = &focus[4..focus.len() - 2];
        let screen = text.join("\n");
        let own = match (slot.cell, &field.kind) {
            (Some((r, c)), FieldKind::Rows { columns, .. }) => format!("{}. {}", r + 1, columns[c].label.get(lang)),
            _ if slot.part == Part::Detail => i18n.t("form.detail").to_string(),
            _ => field.label.get(lang).to_string(),
        };
        let own = head(&own, label_cols);
        assert!(
            body_focus.iter().any(|l| l.contains(&own)),
            "{what}: focus on {} but its label {own:?} is not shown focused:\n{screen}",
            slot.path
        );
        if slot.cell.is_some() || slot.part == Part::Detail {
            let item = head(field.label.get(lang), label_cols);
            assert!(
                body.iter().any(|l| l.contains(&item)),
                "{what}: {} is shown without its item {item:?}:\n{screen}",
                slot.path
            );
        }
        if slot.part == Part::Whole && slot.cell.is_none() {
            if let FieldKind::Choice { options } | FieldKind::Multi { options, .. } = &field.kind {
                for o in options {
                    let shown = head(&format!("{} {}", o.code, o.label.get(lang)), 12);
                    assert!(
                        body.iter().any(|l| l.contains(&shown)),
                        "{what}: option {shown:?} of {} is off screen:\n{screen}",
                        slot.path
                    );
                }
            }
        }
    }

    /// Answers the focused input so that what depends on it opens: option
    /// number `pick` of a choice (and of a multiple choice, also the last
    /// option that asks for details), a value in text and number inputs and
    /// in the first two rows of a table.
    pub fn fill(app: &mut App, pick: usize) {
        let f = form(app);
        let slot = f.slot().unwrap().clone();
        if slot.cell.is_some_and(|(r, _)| r > 1) {
            return;
        }
        let kind = slot.kind(&f.def).clone();
        match kind {
            FieldKind::Choice { options } => {
                let code = options[pick.min(options.len() - 1)].code.clone();
                type_str(app, &code);
            }
            FieldKind::Multi { options, .. } => {
                let mut codes = vec![options[pick.min(options.len() - 1)].code.clone()];
                if let Some(d) = options.iter().rev().find(|o| o.detail && !o.exclusive) {
                    codes.push(d.code.clone());
                }
                for code in codes {
                    type_str(app, &code);
                    key(app, KeyCode::Char(' '));
                }
            }
            FieldKind::Text { .. } => type_str(app, "x"),
            FieldKind::Integer(_) | FieldKind::Decimal(_) => type_str(app, "1"),
            FieldKind::Date { .. } => type_str(app, "t"),
            _ => {}
        }
    }
}

/// Issue 11, item 1: every input of the four forms, reached with Tab and
/// then with Shift-Tab, is on screen at 80×24 (and 100×30), in both
/// languages; empty, and filled so that the items that depend on others
/// (details, skip logic) open too.
#[test]
fn every_focused_input_is_on_screen() {
    use crossterm::event::KeyCode;
    use jkda::i18n::{I18n, Lang};
    for lang in [Lang::Zh, Lang::En] {
        let i18n = I18n::new(lang);
        for (cols, rows) in [(80, 24), (100, 30)] {
            for form_id in walk::FORMS {
                // None: walk the empty form; Some(k): choose option k on the
                // way. The larger size in one language, to keep this quick.
                let picks: &[Option<usize>] = match (cols, lang) {
                    (80, _) => &[None, Some(1), Some(2)],
                    (_, Lang::Zh) => &[None, Some(1)],
                    _ => &[],
                };
                for &pick in picks {
                    let what = format!("{form_id} {lang:?} {cols}×{rows} pick {pick:?}");
                    let mut app = walk::app(form_id, lang);
                    let mut seen = 0;
                    for step in 0..3000 {
                        walk::assert_focus_visible(&app, &i18n, cols, rows, &format!("{what} Tab {step}"));
                        if let Some(k) = pick {
                            walk::fill(&mut app, k);
                        }
                        let before = walk::form(&app).cursor;
                        walk::key(&mut app, KeyCode::Tab);
                        seen += 1;
                        if walk::form(&app).cursor == before {
                            break;
                        }
                    }
                    let f = walk::form(&app);
                    assert_eq!(f.cursor + 1, f.slots.len(), "{what}: Tab reached the last input");
                    assert!(seen > 10, "{what}: walked {seen} inputs");
                    for step in 0..3000 {
                        walk::key(&mut app, KeyCode::BackTab);
                        walk::assert_focus_visible(&app, &i18n, cols, rows, &format!("{what} Shift-Tab {step}"));
                        if walk::form(&app).cursor == 0 {
                            break;
                        }
                    }
                    assert_eq!(walk::form(&app).cursor, 0, "{what}: Shift-Tab reached the first input");
                }
            }
        }
    }
}

/// Tabs until the input labelled `label` is drawn focused (at most `max`
/// Tabs; each Tab waits for the focus to move on screen).
fn tab_to_focused(tui: &mut Tui, label: &str, max: usize) -> String {
    let focused_has = |tui: &Tui| tui.focused().iter().any(|(_, _, t)| t.contains(label));
    let mut before = tui.focused();
    for _ in 0..max {
        if focused_has(tui) {
            return tui.screen();
        }
        tui.send(TAB);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while tui.focused() == before && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        before = tui.focused();
    }
    panic!(
        "{label} never shown focused within {max} Tabs; screen:\n{}",
        tui.screen()
    );
}

/// Issue 11, item 1, as reported: 婚姻状况 and 医疗费用支付方式 of the
/// registration at 80×24, 胸部X线片 and both B超 items of the health exam at
/// 100×30 are shown, with all their options, when Tab reaches them.
#[test]
fn the_reported_items_are_scrolled_into_view() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 3);
    let (_, name) = first_resident(dir.path());

    let mut tui = Tui::start(dir.path(), &[], 80, 24);
    login(&mut tui, "li", DOCTOR_PW);
    tui.wait_for("查找");
    tui.send(CTRL_R);
    tui.wait_for("居民健康档案封面");
    let screen = tab_to_focused(&mut tui, "婚姻状况", 40);
    assert!(screen.contains("5 未说明的婚姻状况"), "{screen}");
    tui.send("2");
    tui.wait_for("<2 已婚>");
    let screen = tab_to_focused(&mut tui, "医疗费用支付方式", 3);
    assert!(screen.contains("8 其他"), "all payment methods shown:\n{screen}");
    tui.send(ESC);
    tui.wait_for("档案编号");
    tui.send(ESC);
    tui.wait_for("查找");

    tui.resize(100, 30);
    tui.send(ESC);
    start_form(&mut tui, &name, "健康体检表", "体检日期");
    for n in 2..=7 {
        tui.send(PAGE_DOWN);
        tui.wait_for(&format!("[{n}/"));
    }
    tui.wait_for("辅助检查");
    for label in ["胸部X线片", "B超：腹部B超", "B超：其他"] {
        let screen = tab_to_focused(&mut tui, label, 40);
        let line = line_with(&screen, label);
        assert!(line.contains("1 正常") && line.contains("2 异常"), "{label}:\n{screen}");
    }
    tui.send(CTRL_Q);
    assert!(tui.wait_exit(), "jkda did not exit cleanly");
}

/// Issue 11, item 2: in a multiple choice a typed code is ticked, as in a
/// single choice; `1` then `0` ticks 10 (not 1 and 10); a `1` still waiting
/// (it could have become 10) is ticked on leaving; "code, Space" still
/// ticks; and a code no option has is reported, not dropped in silence.
#[test]
fn typed_codes_are_taken_in_multiple_choice_and_nothing_is_dropped_silently() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 0);
    let mut tui = Tui::start(dir.path(), &[], 80, 24);
    login(&mut tui, "li", DOCTOR_PW);
    tui.wait_for("查找");
    tui.send(CTRL_R);
    tui.wait_for("居民健康档案封面");
    tui.send("王秀英");

    // 民族 is 01 or 99: a lone 0 is no option, and leaving says so.
    tui.send(PAGE_DOWN);
    tui.wait_for("[2/");
    tab_to_focused(&mut tui, "民族", 20);
    tui.send("0");
    tui.send(TAB);
    tui.wait_for("没有代码为 0 的选项");

    // 家族史.
    for n in 3..=5 {
        tui.send(PAGE_DOWN);
        tui.wait_for(&format!("[{n}/"));
    }
    tab_to_focused(&mut tui, "父亲", 1);
    tui.send("2");
    tui.wait_for("<2 高血压>");
    tui.send(TAB);
    tab_to_focused(&mut tui, "母亲", 1);
    tui.send("1");
    tui.send("0");
    tui.wait_for("<10 肝炎>");
    tui.send(TAB);
    tab_to_focused(&mut tui, "兄弟姐妹", 1);
    tui.send("1");
    tui.send(TAB);
    tab_to_focused(&mut tui, "子女", 1);
    tui.send("3");
    tui.send(" ");
    tui.send(TAB);
    tui.send(ESC);
    tui.wait_for("档案编号");
    tui.send(CTRL_Q);
    assert!(tui.wait_exit(), "jkda did not exit cleanly");

    let store = open_store(dir.path());
    let actor = Actor::new("test");
    let rows = store.recent_residents(&actor, 10).unwrap();
    let record = rows
        .iter()
        .flat_map(|r| store.records_of(&actor, r.id).unwrap())
        .find(|r| r.author == "li" && r.form_id == "resident-basic-info")
        .expect("the registration typed");
    let a = store.record(&actor, record.id).unwrap().answers;
    assert_eq!(a.text("name"), Some("王秀英"));
    assert_eq!(a.text("ethnicity"), None, "nothing chosen for a lone 0");
    assert_eq!(a.codes("family_father"), ["2".to_string()], "2 then Tab keeps 2");
    assert_eq!(a.codes("family_mother"), ["10".to_string()], "1 then 0 is 10 alone");
    assert_eq!(
        a.codes("family_siblings"),
        ["1".to_string()],
        "a waiting 1 is taken on leaving"
    );
    assert_eq!(a.codes("family_children"), ["3".to_string()], "code, Space still ticks");
}

/// Issue 11, item 8: a form just opened shows no errors — the problems of
/// items not yet visited are to-dos — and an item's problem counts once the
/// user has left it, or for every item after a finalize attempt.
#[test]
fn untouched_items_are_to_dos_not_errors() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use jkda::i18n::{I18n, Lang};
    let i18n = I18n::new(Lang::Zh);
    let screen = |app: &jkda::app::App| walk::draw(app, &i18n, 80, 24).0.join("\n");
    let progress = |app: &jkda::app::App| screen(app).lines().nth(2).unwrap_or("").to_string();

    let mut app = walk::app("health-exam", Lang::Zh);
    let opened = screen(&app);
    assert!(progress(&app).contains("错误 0"), "errors before typing:\n{opened}");
    assert!(!opened.contains("x "), "an error shown inline before typing:\n{opened}");
    let errors_at_open: Vec<String> = walk::form(&app)
        .eval
        .errors()
        .filter(|f| !matches!(&f.text, jkda::form::rules::FindingText::Msg(m) if m.key == "rules.required"))
        .map(|f| f.path.clone())
        .collect();
    assert!(
        !errors_at_open.is_empty(),
        "the form has a problem to do at once (a blood pressure side)"
    );

    // Visiting the item with the problem and leaving it empty makes it an error.
    let first = errors_at_open[0].clone();
    let field = first.split('.').next().unwrap().to_string();
    for _ in 0..300 {
        if walk::form(&app).slot().unwrap().field_id(&walk::form(&app).def) == field {
            break;
        }
        walk::key(&mut app, KeyCode::Tab);
    }
    assert!(progress(&app).contains("错误 0"), "not while the item is focused");
    while walk::form(&app).slot().unwrap().field_id(&walk::form(&app).def) == field {
        walk::key(&mut app, KeyCode::Tab);
    }
    assert!(
        !progress(&app).contains("错误 0"),
        "{field} left with its problem counts:\n{}",
        screen(&app)
    );

    // A fresh form: a finalize attempt shows every error, and the check
    // itself is what it always was.
    let mut app = walk::app("health-exam", Lang::Zh);
    let clock = jkda::app::Clock {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        time: chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
        instant: std::time::Instant::now(),
    };
    app.update(
        jkda::app::Msg::Key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::CONTROL)),
        &clock,
    );
    assert!(
        matches!(app.overlays.top(), Some(jkda::app::Overlay::Problems(_))),
        "finalizing is refused"
    );
    walk::key(&mut app, KeyCode::Esc);
    assert!(!progress(&app).contains("错误 0"), "after finalize:\n{}", screen(&app));
}

/// Issue 11, item 6: at 80 columns in English a label never runs into its
/// value (`Exercise (minutes/time)now`), nor the sex into the age in the
/// resident list (`female65`): a blank column always stands between.
#[test]
fn labels_and_columns_keep_a_blank_between_them_at_80_columns() {
    use crossterm::event::KeyCode;
    use jkda::i18n::{I18n, Lang};
    let i18n = I18n::new(Lang::En);
    // The English label column is 24 wide: its last column stays blank.
    for form_id in walk::FORMS {
        let mut app = walk::app(form_id, Lang::En);
        for _ in 0..3000 {
            let (text, _) = walk::draw(&app, &i18n, 80, 24);
            for line in &text[4..text.len() - 2] {
                let col: Vec<char> = line.chars().collect();
                assert!(
                    col.get(23).is_none_or(|c| *c == ' '),
                    "{form_id}: a label runs into its value:\n{line}\n{}",
                    text.join("\n")
                );
            }
            let before = walk::form(&app).cursor;
            walk::fill(&mut app, 1);
            walk::key(&mut app, KeyCode::Tab);
            if walk::form(&app).cursor == before {
                break;
            }
        }
    }
    let mut app = walk::app("hypertension-followup", Lang::En);
    for _ in 0..3 {
        walk::key(&mut app, KeyCode::PageDown);
    }
    let (text, _) = walk::draw(&app, &i18n, 80, 24);
    let screen = text.join("\n");
    let line = screen
        .lines()
        .find(|l| l.contains("Exercise (minutes"))
        .expect("on screen");
    assert!(line.contains("… now ["), "cut short, then a blank:\n{screen}");

    // The resident list.
    let mut app = walk::app("hypertension-followup", Lang::En);
    app.today = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let rows = vec![jkda::store::ResidentRow {
        id: 1,
        record_no: "22060210110100001".into(),
        status: "active".into(),
        name: "赵霞萍".into(),
        sex: Some("2".into()),
        birth_date: Some("1961-01-01".into()),
        id_masked: "220602********8865".into(),
        phone_masked: String::new(),
        village: "东山村".into(),
    }];
    app.screen = jkda::app::Screen::Residents(jkda::app::ListState {
        rows,
        ..Default::default()
    });
    let (text, _) = walk::draw(&app, &i18n, 80, 24);
    let screen = text.join("\n");
    assert!(screen.contains("female 65"), "{screen}");
}
