//! The clinic program driven as a user drives it — key events through
//! `Shell::dispatch` into the core and the in-memory store — and its screens
//! rendered at 80×24 into ratatui's `TestBackend`, compared with insta
//! snapshots (`tests/snapshots/`). Besides the pictures, plain assertions pin
//! down what the keys must do to the stored answers.
//!
//! Snapshots hold nothing time- or machine-dependent: the app's clock is
//! fixed at 2026-11-29 and every age and date on screen comes from it, so
//! nothing is masked (`tests/dates.rs` renders the same screens in 2028).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jkda::app::overlay::Kind;
use jkda::app::{App, Clock, FormState, Msg, Overlay, Screen};
use jkda::form::def::Level;
use jkda::form::{Answer, Registry};
use jkda::i18n::{I18n, Lang};
use jkda::keymap::Keymap;
use jkda::shell::Shell;
use jkda::store::{Actor, RecordStatus, Store};
use jkda::ui::{Theme, View};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::Instant;
use unicode_width::UnicodeWidthStr;

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
}

/// The resident registered in these tests.
const NAME: &str = "张伟";

/// A valid 18-character ID number for a man born on 1965-01-15.
fn id_number() -> String {
    let first17 = "11010519650115001";
    format!("{first17}{}", jkda::identity::check_char(first17))
}

struct Ui {
    shell: Shell,
    app: App,
    clock: Clock,
    i18n: I18n,
}

impl Ui {
    /// A first run: empty database, no site configured.
    fn new(lang: Lang) -> Ui {
        Ui::new_on(lang, today())
    }

    /// A first run with the app's clock on another day.
    fn new_on(lang: Lang, today: chrono::NaiveDate) -> Ui {
        let store = Store::open_in_memory().expect("in-memory store");
        let site = store.site().expect("settings readable");
        let clock = Clock {
            today,
            time: chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
            instant: Instant::now(),
        };
        let app = App::new(lang, Keymap::default(), site, &clock);
        let shell = Shell::new(store, Registry::embedded(), Actor::new("tester"));
        let mut ui = Ui {
            shell,
            app,
            clock,
            i18n: I18n::new(lang),
        };
        let msgs = ui.shell.startup(&mut ui.app, &ui.clock);
        for m in msgs {
            ui.send(m);
        }
        ui
    }

    /// A site already set up, on the (empty) resident list.
    fn with_site(lang: Lang) -> Ui {
        Ui::with_site_on(lang, today())
    }

    fn with_site_on(lang: Lang, today: chrono::NaiveDate) -> Ui {
        let mut ui = Ui::new_on(lang, today);
        ui.type_str("测试村卫生室");
        ui.press(KeyCode::Tab);
        ui.type_str("220602");
        ui.press(KeyCode::Tab);
        ui.type_str("101");
        ui.press(KeyCode::Tab);
        ui.type_str("101");
        ui.press(KeyCode::Enter);
        assert!(matches!(ui.app.screen, Screen::Residents(_)), "setup did not finish");
        ui
    }

    fn send(&mut self, msg: Msg) {
        self.shell.dispatch(&mut self.app, msg, &self.clock);
    }

    fn key(&mut self, code: KeyCode, mods: KeyModifiers) {
        self.send(Msg::Key(KeyEvent::new(code, mods)));
    }

    fn press(&mut self, code: KeyCode) {
        self.key(code, KeyModifiers::NONE);
    }

    fn ctrl(&mut self, c: char) {
        self.key(KeyCode::Char(c), KeyModifiers::CONTROL);
    }

    /// Types text one key at a time.
    fn type_str(&mut self, s: &str) {
        for c in s.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    /// The problems box in front of the form, if open.
    fn problems(&self) -> Option<&jkda::app::form_fill::Dialog> {
        match self.app.overlays.top() {
            Some(Overlay::Problems(d)) => Some(d),
            _ => None,
        }
    }

    fn form(&self) -> &FormState {
        match &self.app.screen {
            Screen::Form(f) => f,
            _ => panic!("not on a form screen"),
        }
    }

    fn focus(&self) -> String {
        self.form().focus_path().unwrap_or_default()
    }

    fn text(&self, path: &str) -> Option<String> {
        self.form().answers.text(path).map(str::to_string)
    }

    fn codes(&self, path: &str) -> Vec<String> {
        self.form().answers.codes(path).to_vec()
    }

    fn resident_id(&self) -> i64 {
        match &self.app.screen {
            Screen::Resident(p) => p.resident.id,
            Screen::Form(f) => f.header.resident_id,
            _ => panic!("no resident on screen"),
        }
    }

    /// Tab (and only Tab) to the input for `path`, as a user would.
    fn tab_to(&mut self, path: &str) {
        for _ in 0..300 {
            if self.focus() == path {
                return;
            }
            let before = self.form().cursor;
            self.press(KeyCode::Tab);
            assert_ne!(
                self.form().cursor,
                before,
                "reached the last input without finding {path}"
            );
        }
        panic!("{path} not reached");
    }

    /// Tabs to `path` and enters `value` the way its input takes it: text is
    /// typed, a choice by its code, a multi-choice by codes (`2,3`) each
    /// ticked with Space.
    fn fill(&mut self, path: &str, value: &str) {
        self.tab_to(path);
        let options = self.form().current_options().is_some();
        let multi = options
            && matches!(
                self.form().slot().unwrap().kind(&self.form().def),
                jkda::form::FieldKind::Multi { .. }
            );
        if multi {
            for code in value.split(',') {
                self.type_str(code);
                self.press(KeyCode::Char(' '));
            }
        } else {
            self.type_str(value);
        }
    }

    /// From the resident list: registers a resident through the
    /// registration form (every required item), finalizes, and lands on the
    /// resident's page.
    fn register_resident(&mut self) {
        self.ctrl('r');
        assert_eq!(self.form().def.id, "resident-basic-info");
        for (path, value) in [
            ("name", NAME),
            ("current_address", "东山村一组12号"),
            ("township", "江源镇"),
            ("village", "东山村"),
            ("record_org", "东山村卫生室"),
            ("record_creator", "李医生"),
            ("doctor", "李医生"),
            ("record_date", "t"),
            ("sex", "1"),
            ("birth_date", "19650115"),
            ("id_number", &id_number()),
            ("residence_type", "1"),
            ("ethnicity", "01"),
            ("blood_abo", "3"),
            ("blood_rh", "2"),
            ("education", "7"),
            ("occupation", "4"),
            ("marital_status", "2"),
            ("payment_methods", "3"),
            ("drug_allergy", "1"),
            ("exposure", "1"),
            ("past_disease_status", "1"),
            ("surgery", "1"),
            ("trauma", "1"),
            ("transfusion", "1"),
            ("hereditary_disease", "1"),
            ("disability", "1"),
        ] {
            self.fill(path, value);
        }
        self.press(KeyCode::Tab);
        let errors: Vec<String> = self
            .form()
            .eval
            .errors()
            .map(|f| format!("{} {}", f.path, describe_finding(f, &self.i18n)))
            .collect();
        assert!(errors.is_empty(), "registration still has errors: {errors:?}");
        self.ctrl('f');
        if let Screen::Form(_) = self.app.screen {
            // Warnings only: confirm them.
            self.press(KeyCode::Char('y'));
        }
        assert!(
            matches!(self.app.screen, Screen::Resident(_)),
            "registration was not finalized"
        );
    }

    /// From the resident list: starts a registration, types only the name
    /// (pasted), and leaves the draft; ends on the new resident's page.
    fn draft_resident(&mut self) {
        self.ctrl('r');
        self.send(Msg::Paste(NAME.to_string()));
        self.press(KeyCode::Esc);
        assert!(
            matches!(self.app.screen, Screen::Resident(_)),
            "Esc on a form returns to the resident page"
        );
    }

    /// From a resident's page: starts a hypertension follow-up with the
    /// picker's digit.
    fn start_hypertension(&mut self) {
        let pos = self
            .app
            .visit_forms
            .iter()
            .position(|(id, _)| id == "hypertension-followup")
            .expect("offered");
        self.press(KeyCode::Char('n'));
        self.type_str(&(pos + 1).to_string());
        assert_eq!(self.form().def.id, "hypertension-followup");
    }

    fn screen(&self, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let view = View {
            i18n: &self.i18n,
            theme: Theme { color: false },
        };
        terminal.draw(|f| jkda::ui::draw(f, &self.app, &view)).unwrap();
        render(terminal.backend_mut())
    }
}

fn describe_finding(f: &jkda::form::rules::Finding, i18n: &I18n) -> String {
    match &f.text {
        jkda::form::rules::FindingText::Msg(m) => i18n.msg(m),
        jkda::form::rules::FindingText::Form(t) => t.get(i18n.lang()).to_string(),
    }
}

/// The buffer as text, one line per row with trailing blanks trimmed. A wide
/// (CJK) character fills two cells; the blank continuation cell after it is
/// skipped so lines read naturally. The last line says where the cursor is.
fn render(backend: &mut TestBackend) -> String {
    let buf = backend.buffer().clone();
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        let mut skip = 0;
        for x in area.left()..area.right() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            line.push_str(sym);
            skip = sym.width().saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let pos = backend.cursor_position();
    if backend.cursor_visible() {
        out.push_str(&format!("[cursor at column {}, row {}]", pos.x, pos.y));
    } else {
        out.push_str("[cursor hidden]");
    }
    out
}

fn lang_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "zh",
        Lang::En => "en",
    }
}

// ---------------------------------------------------------------- snapshots

/// Setup, its error, the empty list and the help overlay in one language.
fn setup_screens(lang: Lang) {
    let l = lang_name(lang);
    let mut ui = Ui::new(lang);
    assert!(matches!(ui.app.screen, Screen::Setup(_)));
    insta::assert_snapshot!(format!("setup_first_run_{l}"), ui.screen(80, 24));

    ui.type_str("测试村卫生室");
    ui.press(KeyCode::Tab);
    ui.type_str("22060");
    ui.press(KeyCode::Tab);
    ui.type_str("101");
    ui.press(KeyCode::Tab);
    ui.type_str("101");
    ui.press(KeyCode::Enter);
    assert!(
        matches!(ui.app.screen, Screen::Setup(_)),
        "a 5-digit division code is refused"
    );
    insta::assert_snapshot!(format!("setup_invalid_division_{l}"), ui.screen(80, 24));

    // Back to the division code (Tab wraps round), complete it, Enter through.
    ui.press(KeyCode::Tab);
    ui.press(KeyCode::Tab);
    ui.type_str("2");
    for _ in 0..3 {
        ui.press(KeyCode::Enter);
    }
    assert!(matches!(ui.app.screen, Screen::Residents(_)), "setup saved");
    insta::assert_snapshot!(format!("residents_empty_{l}"), ui.screen(80, 24));

    ui.ctrl('g');
    assert!(ui.app.overlays.is_open(Kind::Help));
    insta::assert_snapshot!(format!("help_{l}"), ui.screen(80, 24));
    ui.press(KeyCode::Char('x'));
    assert!(
        !ui.app.overlays.is_open(Kind::Help),
        "any key not bound in help closes it"
    );
    assert!(matches!(ui.app.screen, Screen::Residents(_)), "and does nothing else");

    // A registration with only the name: a long problems list over a full form.
    ui.ctrl('r');
    ui.type_str(NAME);
    ui.ctrl('f');
    assert!(ui.problems().is_some());
    insta::assert_snapshot!(format!("registration_problems_{l}"), ui.screen(80, 24));
    ui.press(KeyCode::Enter);
    assert_eq!(ui.focus(), "current_address", "Enter goes to the first problem");
    insta::assert_snapshot!(format!("registration_cover_{l}"), ui.screen(80, 24));
}

#[test]
fn setup_screens_zh() {
    setup_screens(Lang::Zh);
}

#[test]
fn setup_screens_en() {
    setup_screens(Lang::En);
}

/// Registration, the resident list and page, the follow-up form with values
/// and the problems dialog, in one language.
fn resident_screens(lang: Lang) {
    let l = lang_name(lang);
    let mut ui = Ui::with_site(lang);
    ui.register_resident();
    // 61 on the app's clock (2026-11-29), whatever the machine's date.
    insta::assert_snapshot!(format!("resident_page_registered_{l}"), ui.screen(80, 24));

    ui.press(KeyCode::Esc);
    assert!(matches!(ui.app.screen, Screen::Residents(_)));
    insta::assert_snapshot!(format!("residents_one_{l}"), ui.screen(80, 24));

    ui.press(KeyCode::Enter);
    ui.start_hypertension();
    ui.type_str("20261129");
    ui.press(KeyCode::Tab);
    ui.type_str("1");
    ui.fill("symptoms", "2,4");
    ui.fill("bp.systolic", "135");
    ui.fill("bp.diastolic", "85");
    ui.fill("weight.current", "72.5");
    ui.fill("weight.target", "70");
    ui.fill("height", "170");
    ui.press(KeyCode::Tab);
    assert_eq!(ui.focus(), "heart_rate");
    let screen = ui.screen(80, 24);
    assert!(
        screen.contains("25.1 kg/m²"),
        "BMI 72.5 kg / (1.70 m)² = 25.1 is shown:\n{screen}"
    );
    assert!(
        screen.contains("24.2 kg/m²"),
        "target BMI 70 / 1.70² = 24.2 is shown:\n{screen}"
    );
    insta::assert_snapshot!(format!("hypertension_signs_{l}"), screen);

    // The symptoms section, with the chosen options marked.
    ui.key(KeyCode::PageUp, KeyModifiers::NONE);
    ui.key(KeyCode::PageUp, KeyModifiers::NONE);
    assert_eq!(ui.focus(), "symptoms");
    insta::assert_snapshot!(format!("hypertension_symptoms_{l}"), ui.screen(80, 24));

    // The visit section: the date as normalized, 门诊 chosen by its digit.
    ui.key(KeyCode::PageUp, KeyModifiers::NONE);
    assert_eq!(ui.focus(), "visit_date");
    assert_eq!(ui.text("visit_date").as_deref(), Some("2026-11-29"));
    assert_eq!(ui.text("visit_method").as_deref(), Some("1"));
    insta::assert_snapshot!(format!("hypertension_visit_{l}"), ui.screen(80, 24));

    // The rules filled classification and next visit and the doctor's name
    // came from the login; cleared, the signature is missing again.
    ui.tab_to("doctor");
    ui.ctrl('u');
    ui.ctrl('f');
    assert!(ui.problems().is_some(), "required items missing: finalizing is refused");
    insta::assert_snapshot!(format!("problems_dialog_{l}"), ui.screen(80, 24));
}

#[test]
fn resident_screens_zh() {
    resident_screens(Lang::Zh);
}

#[test]
fn resident_screens_en() {
    resident_screens(Lang::En);
}

/// Issue 14: a PC set up to sync that has no serial block yet registers
/// with a provisional number, and the resident page says so.
#[test]
fn a_provisional_record_number_is_marked_on_the_resident_page() {
    for (lang, words) in [(Lang::Zh, "（临时编号"), (Lang::En, "(provisional")] {
        let mut ui = Ui::with_site(lang);
        ui.shell.store.use_platform_numbers().unwrap();
        ui.register_resident();
        let screen = ui.screen(80, 24);
        // Grouped like every number, and the line still has room for the village.
        assert!(
            screen.contains("220602-101-000-00001") && screen.contains(words) && screen.contains("东山村"),
            "{screen}"
        );
    }
}

#[test]
fn too_small_terminal_says_so() {
    for lang in [Lang::Zh, Lang::En] {
        let ui = Ui::with_site(lang);
        let screen = ui.screen(60, 20);
        insta::assert_snapshot!(format!("too_small_{}", lang_name(lang)), screen);
        assert!(screen.contains("60×20") && screen.contains("80×24"), "{screen}");
    }
}

// ---------------------------------------------------------------- behaviour

#[test]
fn a_digit_on_visit_method_chooses_that_code() {
    let mut ui = Ui::with_site(Lang::Zh);
    ui.draft_resident();
    ui.start_hypertension();
    ui.tab_to("visit_method");
    ui.type_str("1");
    assert_eq!(ui.text("visit_method").as_deref(), Some("1"));
    let screen = ui.screen(80, 24);
    assert!(screen.contains("<1 门诊>"), "门诊 is marked chosen:\n{screen}");
    // Another digit replaces it; a code the field lacks changes nothing.
    ui.type_str("3");
    assert_eq!(ui.text("visit_method").as_deref(), Some("3"));
    ui.type_str("7");
    assert_eq!(ui.text("visit_method").as_deref(), Some("3"));
}

#[test]
fn an_exclusive_option_is_cleared_by_another_and_clears_the_others() {
    let mut ui = Ui::with_site(Lang::Zh);
    ui.draft_resident();
    ui.start_hypertension();
    ui.tab_to("symptoms");
    ui.type_str("1");
    ui.press(KeyCode::Char(' '));
    assert_eq!(ui.codes("symptoms"), ["1"]);
    ui.type_str("2");
    ui.press(KeyCode::Char(' '));
    assert_eq!(ui.codes("symptoms"), ["2"], "ticking 头痛头晕 clears 无症状");
    ui.type_str("10");
    ui.press(KeyCode::Char(' '));
    assert_eq!(ui.codes("symptoms"), ["2", "10"]);
    assert!(
        ui.form().slots.iter().any(|s| s.path == "symptoms.detail"),
        "其他 asks for details"
    );
    ui.type_str("1");
    ui.press(KeyCode::Char(' '));
    assert_eq!(ui.codes("symptoms"), ["1"], "ticking 无症状 clears the others");
    ui.press(KeyCode::Char(' '));
    assert!(ui.codes("symptoms").is_empty(), "Space again unticks");
}

#[test]
fn dates_are_normalized_when_the_input_is_left() {
    let mut ui = Ui::with_site(Lang::Zh);
    ui.draft_resident();
    ui.start_hypertension();
    assert_eq!(ui.focus(), "visit_date");
    ui.type_str("20261129");
    assert_eq!(
        ui.text("visit_date").as_deref(),
        Some("20261129"),
        "kept as typed while typing"
    );
    ui.press(KeyCode::Tab);
    assert_eq!(ui.text("visit_date").as_deref(), Some("2026-11-29"));

    ui.tab_to("next_visit_date");
    ui.type_str("t");
    ui.press(KeyCode::Tab);
    assert_eq!(ui.text("next_visit_date").as_deref(), Some("2026-11-29"), "t is today");
}

#[test]
fn the_form_shows_when_it_was_last_saved_and_a_failed_save() {
    let mut ui = Ui::with_site(Lang::Zh);
    ui.draft_resident();
    ui.start_hypertension();
    ui.type_str("20261129");
    ui.press(KeyCode::Tab);
    let saved = ui.screen(80, 24);
    assert!(saved.contains("已保存 09:30"), "{saved}");
    // Typing does not flip the state back and forth: the time stays.
    ui.type_str("1");
    let typing = ui.screen(80, 24);
    assert!(
        typing.lines().nth(2).unwrap().trim_end().ends_with("已保存 09:30"),
        "{typing}"
    );
    ui.send(Msg::Failed(jkda::i18n::Msg::new("store.disk_full")));
    let failed = ui.screen(80, 24);
    assert!(failed.contains("未保存，稍后自动重试"), "{failed}");
    assert!(!failed.contains("已保存"), "{failed}");
}

#[test]
fn pasted_escape_sequences_are_not_stored() {
    let mut ui = Ui::with_site(Lang::Zh);
    ui.ctrl('r');
    assert_eq!(ui.focus(), "name");
    ui.send(Msg::Paste("张\x1b[31m三\x07".to_string()));
    assert_eq!(ui.text("name").as_deref(), Some("张三"));
    // Only the first line of a multi-line paste is taken.
    ui.tab_to("current_address");
    ui.send(Msg::Paste("东山村\r\n一组".to_string()));
    assert_eq!(ui.text("current_address").as_deref(), Some("东山村"));
    ui.press(KeyCode::Esc);
    let id = ui.resident_id();
    let resident = ui.shell.store.resident(&ui.shell.actor, id).unwrap();
    assert_eq!(
        resident.name.as_deref(),
        Some("张三"),
        "the draft resident is saved clean"
    );
}

#[test]
fn finalize_with_errors_opens_the_dialog_and_enter_goes_to_the_first_problem() {
    let mut ui = Ui::with_site(Lang::Zh);
    ui.draft_resident();
    ui.start_hypertension();
    ui.type_str("t");
    ui.press(KeyCode::Tab);
    ui.type_str("1");
    ui.fill("bp.systolic", "85");
    ui.fill("bp.diastolic", "135");
    ui.press(KeyCode::Tab);
    ui.ctrl('f');
    let (first, errors) = match ui.problems() {
        Some(jkda::app::form_fill::Dialog::Problems { items, errors, .. }) => (items[0].clone(), *errors),
        None => panic!("no dialog"),
    };
    assert!(errors, "errors block finalizing");
    assert_eq!(first.level, Level::Error);
    assert_eq!(
        first.path, "symptoms",
        "problems are in form order: symptoms comes first"
    );
    assert!(ui
        .shell
        .store
        .records_of(&ui.shell.actor, ui.resident_id())
        .unwrap()
        .iter()
        .all(|r| r.status == RecordStatus::Draft));

    ui.press(KeyCode::Enter);
    assert!(ui.problems().is_none());
    assert_eq!(ui.focus(), "symptoms", "Enter jumps to the first problem");

    // Down then Enter goes to the second problem: diastolic above systolic.
    ui.ctrl('f');
    ui.press(KeyCode::Down);
    ui.press(KeyCode::Enter);
    assert_eq!(ui.focus(), "bp.diastolic");
}

#[test]
fn finalize_with_only_warnings_asks_and_y_finalizes() {
    let mut ui = Ui::with_site(Lang::Zh);
    ui.draft_resident();
    let resident = ui.resident_id();
    ui.start_hypertension();
    let record_id = ui.form().record_id;
    ui.type_str("t");
    ui.press(KeyCode::Tab);
    ui.type_str("1");
    ui.fill("symptoms", "1");
    ui.fill("bp.systolic", "135");
    ui.fill("bp.diastolic", "85");
    ui.fill("heart_rate", "160");
    ui.fill("classification", "1");
    ui.fill("next_visit_date", "20261229");
    ui.fill("doctor", "李医生");
    ui.press(KeyCode::Tab);
    assert!(!ui.form().eval.has_errors());
    assert_eq!(ui.shell.store.pending_outbox().unwrap(), 0);

    ui.ctrl('f');
    match ui.problems() {
        Some(jkda::app::form_fill::Dialog::Problems { items, errors, .. }) => {
            assert!(!errors);
            assert_eq!(items.len(), 1);
            assert_eq!(items[0].path, "heart_rate");
            assert_eq!(items[0].level, Level::Warning);
        }
        None => panic!("warnings must be confirmed"),
    }
    insta::assert_snapshot!("warnings_dialog_zh", ui.screen(80, 24));

    ui.press(KeyCode::Char('y'));
    assert!(
        matches!(ui.app.screen, Screen::Resident(_)),
        "back on the resident page"
    );
    let records = ui.shell.store.records_of(&ui.shell.actor, resident).unwrap();
    let rec = records.iter().find(|r| r.id == record_id).expect("record listed");
    assert_eq!(rec.status, RecordStatus::Final);
    assert_eq!(rec.record_date.as_deref(), Some("2026-11-29"));
    assert_eq!(ui.shell.store.pending_outbox().unwrap(), 1);
    assert_eq!(ui.app.pending_uploads, 1, "the status line counts the upload");
    let stored = ui.shell.store.record(&ui.shell.actor, record_id).unwrap();
    assert_eq!(
        stored.answers.iter().find(|(k, _)| *k == "heart_rate").map(|(_, v)| v),
        Some(&Answer::Text("160".into()))
    );
    let r = ui.shell.store.resident(&ui.shell.actor, resident).unwrap();
    assert_eq!(r.programmes, ["hypertension"], "a final follow-up enrols the resident");
}

#[test]
fn a_warnings_dialog_can_be_left_with_esc() {
    let mut ui = Ui::with_site(Lang::En);
    ui.draft_resident();
    ui.start_hypertension();
    ui.type_str("t");
    ui.press(KeyCode::Tab);
    ui.type_str("1");
    ui.fill("symptoms", "1");
    ui.fill("bp.systolic", "135");
    ui.fill("bp.diastolic", "85");
    ui.fill("heart_rate", "160");
    ui.fill("classification", "1");
    ui.fill("next_visit_date", "20261229");
    ui.fill("doctor", "Dr Li");
    ui.ctrl('f');
    assert!(ui.problems().is_some());
    ui.press(KeyCode::Esc);
    assert!(ui.problems().is_none());
    assert_eq!(ui.focus(), "heart_rate", "Esc goes to the item");
    assert_eq!(ui.shell.store.pending_outbox().unwrap(), 0, "nothing finalized");
}

/// A status message longer than 80 columns takes a second line instead of
/// being cut (issue 11: "`site_t`" at 80 columns).
#[test]
fn a_long_status_message_wraps_at_80_columns() {
    for lang in [Lang::Zh, Lang::En] {
        let mut ui = Ui::with_site(lang);
        ui.app.pending_uploads = 12;
        ui.app.notice = Some(jkda::app::Notice::Error(jkda::i18n::Msg::new(
            "sync.err_not_configured",
        )));
        let screen = ui.screen(80, 24);
        let joined: String = screen.lines().map(str::trim_end).collect::<Vec<_>>().join("");
        let whole = ui.i18n.t("sync.err_not_configured").replace(' ', "");
        assert!(
            joined.replace(' ', "").contains(&whole),
            "the whole message is on screen:\n{screen}"
        );
    }
}

/// Issue 12 (no date bombs): with the app's clock in 2028 every age and date
/// on screen follows it — the resident page, the list, a form's header and a
/// date typed as `t` — whatever the machine's own date.
#[test]
fn screens_follow_the_app_clock_in_2028() {
    let day = chrono::NaiveDate::from_ymd_opt(2028, 6, 1).unwrap();
    for lang in [Lang::Zh, Lang::En] {
        let mut ui = Ui::with_site_on(lang, day);
        ui.register_resident();
        // Born 1965-01-15: 63 on 2028-06-01 (61 on the other tests' day).
        let age = ui.i18n.tf("form.age", &[("age", "63")]);
        let page = ui.screen(80, 24);
        assert!(page.contains(&age), "resident page says {age}:\n{page}");
        assert!(page.contains("2028-06-01"), "registered today:\n{page}");

        ui.press(KeyCode::Esc);
        let list = ui.screen(80, 24);
        let row = list.lines().find(|l| l.starts_with(NAME)).expect("the resident's row");
        assert!(row.split_whitespace().any(|w| w == "63"), "list age is 63:\n{list}");

        ui.press(KeyCode::Enter);
        ui.start_hypertension();
        ui.type_str("t");
        ui.press(KeyCode::Tab);
        assert_eq!(ui.text("visit_date").as_deref(), Some("2028-06-01"));
        let form = ui.screen(80, 24);
        assert!(
            form.lines().nth(1).is_some_and(|l| l.contains(&age)),
            "form header:\n{form}"
        );
    }
}

/// A version clash over the upload list at 80×24, both languages: who wrote
/// each version and when, what differs item by item with the form's labels
/// (the ticked one taken from the platform), and the keys.
#[test]
fn the_conflict_screen_shows_both_versions_side_by_side() {
    use jkda::app::conflict_screen::ConflictState;
    let reg = Registry::embedded();
    let def = reg.get("hypertension-followup").unwrap();
    let mut mine = jkda::form::Answers::new();
    mine.set_text("bp.systolic", "150");
    mine.set_text("bp.diastolic", "90");
    mine.set_text("visit_method", "1");
    mine.set_text("weight.current", "66.0");
    let mut theirs = mine.clone();
    theirs.set_text("bp.systolic", "132");
    theirs.set_text("visit_method", "2");
    theirs.remove("weight.current");
    for lang in [Lang::Zh, Lang::En] {
        let mut ui = Ui::with_site(lang);
        ui.press(KeyCode::F(9));
        let items = jkda::sync::conflict::diff(def, &mine, &theirs, lang);
        assert_eq!(items.len(), 3, "{items:?}");
        let state = ConflictState {
            record_id: 12,
            form_id: def.id.clone(),
            record_date: Some("2026-11-03".into()),
            resident_masked: "王*".into(),
            mine_who: "li".into(),
            // Already local: the snapshot must not depend on the machine's zone.
            mine_at: "2026-11-28 16:05".into(),
            theirs_who: "zhang (s1) v2".into(),
            theirs_at: Some("2026-11-28 17:40".into()),
            take: vec![false; items.len()],
            items,
            selected: 0,
            blocked: None,
        };
        ui.send(Msg::ConflictLoaded(Box::new(state)));
        ui.press(KeyCode::Char(' '));
        ui.press(KeyCode::Down);
        let screen = ui.screen(80, 24);
        insta::assert_snapshot!(format!("conflict_{}", lang_name(lang)), screen);
        assert!(screen.contains("[x]") && screen.contains("132/90 mmHg"), "{screen}");
    }
}
