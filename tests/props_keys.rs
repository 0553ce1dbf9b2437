//! `App::update` driven by random key sequences (issue 12): keys as a clinic
//! keyboard sends them — ASCII, full-width digits, Chinese, emoji, editing
//! and function keys, Ctrl and Alt chords, pastes — with the terminal
//! resized (down to 10×3 and 1×1), time passing (autosave), the idle lock
//! coming down, and jkda quit and started again. Through the real shell
//! and an in-memory store with a few demo residents, so every screen is
//! reached: setup, list, resident page, picker, forms and their dialogs,
//! audit, upload list, worklist, indicators.
//!
//! After every step: nothing panicked (update or drawing at the current
//! size), the focused item of a form exists, the overlay stack holds (one
//! of each kind, the lock on top, the keys going to the top box), and
//! typed text is not lost —
//! a form left (or jkda quit) with unsaved typing has it in the database,
//! and an autosave stores exactly what is on screen.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jkda::app::overlay::Kind;
use jkda::app::{App, Clock, Msg, Overlay, Screen, SessionInfo};
use jkda::form::{Answer, Answers, FieldKind, Registry};
use jkda::i18n::{I18n, Lang};
use jkda::keymap::Keymap;
use jkda::shell::Shell;
use jkda::store::{Actor, Role, Store};
use jkda::ui::{Theme, View};
use proptest::prelude::*;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, Instant};

const IDLE_LOCK: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
enum Step {
    Key(KeyCode, KeyModifiers),
    Paste(String),
    Resize(u16, u16),
    /// Three seconds pass: an autosave falls due.
    Idle,
    /// Longer than the idle lock: the lock comes down.
    Lock,
}

fn printable() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::char::range('0', '9'),
        2 => proptest::char::range('０', '９'),
        2 => proptest::char::range('a', 'z'),
        2 => prop::sample::select(vec![
            ' ', 'X', 'x', 'n', 'y', 'j', 'k', 'e', 'p', 'v', 's', 'r', 't', '.', '-', '/', '张', '伟', '三', '〇',
            '😀', '\u{301}', '\u{200b}', '\u{3000}', 'Ｘ',
        ]),
        1 => any::<char>(),
    ]
}

fn key() -> impl Strategy<Value = (KeyCode, KeyModifiers)> {
    let none = KeyModifiers::NONE;
    let named = prop::sample::select(vec![
        KeyCode::Enter,
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Esc,
        KeyCode::Tab,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Backspace,
        KeyCode::Delete,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::Insert,
        KeyCode::Null,
    ]);
    prop_oneof![
        10 => printable().prop_map(move |c| (KeyCode::Char(c), none)),
        6 => named.prop_map(move |k| (k, none)),
        2 => (1u8..=12).prop_map(move |n| (KeyCode::F(n), none)),
        2 => proptest::char::range('a', 'z').prop_map(|c| (KeyCode::Char(c), KeyModifiers::CONTROL)),
        1 => (printable(), (0u8..16).prop_map(KeyModifiers::from_bits_truncate)).prop_map(|(c, m)| (KeyCode::Char(c), m)),
    ]
}

/// Where a case begins, so that deep screens are reached as often as the
/// list: keys from the resident list to a registration or a visit form.
#[derive(Debug, Clone, Copy)]
enum Start {
    FirstRun,
    List,
    Registration,
    /// The first resident's page, "new record", the n-th visit form.
    Visit(char),
}

fn start() -> impl Strategy<Value = Start> {
    prop_oneof![
        1 => Just(Start::FirstRun),
        1 => Just(Start::List),
        2 => Just(Start::Registration),
        3 => prop::sample::select(vec!['1', '2', '3']).prop_map(Start::Visit),
    ]
}

fn start_keys(start: Start) -> Vec<Step> {
    let key = |k| Step::Key(k, KeyModifiers::NONE);
    match start {
        Start::FirstRun | Start::List => Vec::new(),
        Start::Registration => vec![key(KeyCode::F(2))],
        Start::Visit(n) => vec![key(KeyCode::Enter), key(KeyCode::Char('n')), key(KeyCode::Char(n))],
    }
}

fn step() -> impl Strategy<Value = Step> {
    let sizes = prop::sample::select(vec![
        (80, 24),
        (80, 24),
        (10, 3),
        (1, 1),
        (20, 6),
        (40, 12),
        (132, 43),
        (300, 80),
    ]);
    prop_oneof![
        80 => key().prop_map(|(k, m)| Step::Key(k, m)),
        2 => prop_oneof![
            "[0-9]{1,18}".boxed(),
            any::<String>().boxed(),
            Just("张三\n李四".to_string()).boxed(),
            Just("\u{1b}[31m红\u{7}".to_string()).boxed(),
            Just("１２３４５６".to_string()).boxed(),
        ].prop_map(Step::Paste),
        2 => sizes.prop_map(|(w, h)| Step::Resize(w, h)),
        3 => Just(Step::Idle),
        1 => Just(Step::Lock),
    ]
}

/// A clinic: a store with a site and a few demo residents (memberships,
/// records, a worklist), the shell over it, and jkda started on it.
struct Clinic {
    shell: Shell,
    app: App,
    start: Instant,
    elapsed: Duration,
    size: (u16, u16),
    i18n: I18n,
}

fn clock_at(start: Instant, elapsed: Duration) -> Clock {
    Clock {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        time: chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
        instant: start + elapsed,
    }
}

impl Clinic {
    fn open(first_run: bool, lang: Lang) -> Clinic {
        let mut store = Store::open_in_memory().expect("in-memory store");
        let registry = Registry::embedded();
        let actor = Actor::with_role("tester", Role::System);
        let start = Instant::now();
        if !first_run {
            let today = clock_at(start, Duration::ZERO).today;
            jkda::demo::generate(&mut store, &registry, &actor, 6, 7, today, &mut |_, _| {}).expect("demo residents");
        }
        let mut c = Clinic {
            shell: Shell::new(store, registry, actor),
            app: App::new(lang, Keymap::default(), None, &clock_at(start, Duration::ZERO)),
            start,
            elapsed: Duration::ZERO,
            size: (80, 24),
            i18n: I18n::new(lang),
        };
        c.start_app();
        c
    }

    fn clock(&self) -> Clock {
        clock_at(self.start, self.elapsed)
    }

    /// jkda starting (again) on the same database, logged in as in the TUI.
    fn start_app(&mut self) {
        let clock = self.clock();
        let site = self.shell.store.site().expect("site readable");
        self.app = App::new(self.i18n.lang(), Keymap::default(), site, &clock);
        self.app.session = Some(SessionInfo {
            login: "tester".into(),
            display_name: "Tester".into(),
            role: Role::System,
        });
        self.app.idle_after = Some(IDLE_LOCK);
        for m in self.shell.startup(&mut self.app, &clock) {
            self.shell.dispatch(&mut self.app, m, &clock);
        }
    }

    fn send(&mut self, msg: Msg) {
        let clock = self.clock();
        self.shell.dispatch(&mut self.app, msg, &clock);
    }

    /// Runs one step; true when jkda quit (or logged out) and started again.
    fn run(&mut self, step: &Step) -> bool {
        match step {
            Step::Key(code, mods) => {
                self.elapsed += Duration::from_millis(150);
                self.send(Msg::Key(KeyEvent::new(*code, *mods)));
            }
            Step::Paste(s) => self.send(Msg::Paste(s.clone())),
            Step::Resize(w, h) => {
                self.size = (*w, *h);
                self.send(Msg::Resize);
            }
            Step::Idle => {
                self.elapsed += Duration::from_secs(3);
                self.send(Msg::AutosaveDue);
            }
            Step::Lock => {
                self.elapsed += IDLE_LOCK + Duration::from_secs(1);
                self.send(Msg::AutosaveDue);
            }
        }
        let quit = self.shell.quit;
        if quit {
            self.start_app();
        }
        quit
    }

    fn draw(&self) {
        let (w, h) = self.size;
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
        let view = View {
            i18n: &self.i18n,
            theme: Theme { color: true },
        };
        terminal.draw(|f| jkda::ui::draw(f, &self.app, &view)).expect("drawn");
    }

    fn stored_answers(&self, record_id: i64) -> Answers {
        self.shell
            .store
            .record(&self.shell.actor, record_id)
            .expect("the record is in the database")
            .answers
    }
}

/// What a form on screen held before a step.
struct Draft {
    record_id: i64,
    answers: Answers,
    def: std::sync::Arc<jkda::form::FormDef>,
}

fn open_draft(app: &App) -> Option<Draft> {
    match &app.screen {
        Screen::Form(f) if !f.read_only && f.unsaved_since.is_some() => Some(Draft {
            record_id: f.record_id,
            answers: f.answers.clone(),
            def: f.def.clone(),
        }),
        _ => None,
    }
}

fn on_form(app: &App, record_id: i64) -> bool {
    matches!(&app.screen, Screen::Form(f) if f.record_id == record_id)
}

/// Leaving a form tidies what it saves (dates written out, empty rows
/// dropped, a code still being typed ticked): the typed text of every other
/// item is stored as it was, and every item answered keeps an answer.
fn check_kept(draft: &Draft, stored: &Answers) -> Result<(), TestCaseError> {
    for (path, answer) in draft.answers.iter() {
        let field_id = path.split('.').next().unwrap_or(path);
        let tidied = draft
            .def
            .field(field_id)
            .is_none_or(|f| matches!(f.kind, FieldKind::Date { .. } | FieldKind::Rows { .. }));
        let kept = stored
            .iter()
            .any(|(p, _)| p == field_id || p.starts_with(&format!("{field_id}.")));
        prop_assert!(kept, "{} lost: stored {:?}", path, stored);
        if let (Answer::Text(typed), false) = (answer, tidied) {
            prop_assert_eq!(stored.text(path), Some(typed.as_str()), "{} changed", path);
        }
    }
    Ok(())
}

fn check_state(app: &App) -> Result<(), TestCaseError> {
    match &app.screen {
        Screen::Form(f) => {
            prop_assert!(
                f.slots.is_empty() || f.slot().is_some(),
                "focus {} of {} inputs",
                f.cursor,
                f.slots.len()
            );
            if let Some(slot) = f.slot() {
                prop_assert!(
                    f.def.field(slot.field_id(&f.def)).is_some(),
                    "focused item {} exists",
                    slot.path
                );
                if let Some(options) = f.current_options() {
                    prop_assert!(options.is_empty() || f.highlight < options.len(), "highlight");
                }
            }
        }
        Screen::Setup(s) => prop_assert!(s.focus < s.inputs.len()),
        Screen::Residents(l) => prop_assert!(l.rows.is_empty() || l.selected < l.rows.len()),
        Screen::Resident(p) => prop_assert!(p.records.is_empty() || p.selected < p.records.len()),
        _ => {}
    }
    check_overlays(app)?;
    Ok(())
}

/// The overlay stack (issue 12): at most one of each kind; the lock on top
/// whenever it is down; the boxes about a screen only over that screen;
/// and the top box is the one the keys and the hint line are for.
fn check_overlays(app: &App) -> Result<(), TestCaseError> {
    let kinds: Vec<Kind> = app.overlays.iter().map(Overlay::kind).collect();
    for (i, k) in kinds.iter().enumerate() {
        prop_assert!(!kinds[..i].contains(k), "two {:?} in {:?}", k, kinds);
    }
    if app.overlays.locked() {
        prop_assert_eq!(kinds.last(), Some(&Kind::Lock), "the lock is on top: {:?}", kinds);
    }
    for o in app.overlays.iter() {
        match o {
            Overlay::Picker(i) => {
                prop_assert!(matches!(app.screen, Screen::Resident(_)), "picker off its page");
                prop_assert!(*i < app.visit_forms.len());
            }
            Overlay::AbandonReason(_) => prop_assert!(matches!(app.screen, Screen::Resident(_))),
            Overlay::Problems(_) | Overlay::Duplicate(_) | Overlay::Suspects(_) => {
                prop_assert!(matches!(app.screen, Screen::Form(_)), "a form's box off the form")
            }
            Overlay::Uploads => {
                prop_assert!(app.sync.rows.is_empty() || app.sync.selected < app.sync.rows.len())
            }
            _ => {}
        }
    }
    if let Some(top) = app.overlays.top() {
        prop_assert_eq!(app.key_contexts(), top.key_contexts(), "keys go to the top box");
    }
    Ok(())
}

fn play(start: Start, lang: Lang, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut c = Clinic::open(matches!(start, Start::FirstRun), lang);
    c.draw();
    for step in start_keys(start).iter().chain(steps) {
        let before = open_draft(&c.app);
        let restarted = c.run(step);
        check_state(&c.app)?;
        c.draw();
        if let Some(draft) = before {
            if restarted || !on_form(&c.app, draft.record_id) {
                check_kept(&draft, &c.stored_answers(draft.record_id))?;
            } else if matches!(step, Step::Idle | Step::Lock) {
                // Autosaved: the database holds exactly what is on screen.
                if let Screen::Form(f) = &c.app.screen {
                    prop_assert!(f.unsaved_since.is_none(), "saved");
                    prop_assert_eq!(&c.stored_answers(f.record_id), &f.answers);
                }
            }
        }
    }
    Ok(())
}

/// Cases to run: 48 (about 10 seconds in a debug build: each case is a
/// fresh database and up to 120 steps, each drawn), or `PROPTEST_CASES`
/// to search longer.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_keys_never_panic_and_keep_typed_text(
        start in start(),
        lang in prop::sample::select(vec![Lang::Zh, Lang::En]),
        steps in prop::collection::vec(step(), 1..120),
    ) {
        play(start, lang, &steps)?;
    }
}

/// The starts reach the screens they are for.
#[test]
fn the_starts_open_their_forms() {
    for (start, form) in [
        (Start::Registration, "resident-basic-info"),
        (Start::Visit('1'), ""),
        (Start::Visit('3'), ""),
    ] {
        let mut c = Clinic::open(false, Lang::Zh);
        for s in start_keys(start) {
            assert!(!c.run(&s), "{start:?} quit");
        }
        let Screen::Form(f) = &c.app.screen else {
            panic!("{start:?} did not open a form")
        };
        assert!(form.is_empty() || f.def.id == form, "{start:?} opened {}", f.def.id);
    }
}

/// Typing, then leaving the form at once in each way there is (Esc, quit,
/// log out, finalize): the typing is in the database every time.
#[test]
fn typing_survives_every_way_of_leaving_a_form() {
    let key = |k| Step::Key(k, KeyModifiers::NONE);
    let ctrl = |c| Step::Key(KeyCode::Char(c), KeyModifiers::CONTROL);
    for leave in [
        key(KeyCode::Esc),
        ctrl('q'),
        ctrl('o'),
        key(KeyCode::F(12)),
        ctrl('f'),
        key(KeyCode::F(10)),
    ] {
        for start in [Start::Registration, Start::Visit('1')] {
            let typing = "１２3".chars().map(|c| key(KeyCode::Char(c)));
            let steps: Vec<Step> = typing.chain([leave.clone()]).collect();
            play(start, Lang::Zh, &steps).unwrap_or_else(|e| panic!("{start:?} then {leave:?}: {e}"));
        }
    }
}
