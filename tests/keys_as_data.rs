//! Issue 12, parts 3 and 4: one overlay stack whose top gets the keys, the
//! hint line and the front of the screen; and keys as data everywhere — a
//! site's keymap changes what a key does, the hint line, the help and the
//! instructions in translated text, on every screen (setup and lock too).
//! Through the real shell and an in-memory store, drawn with TestBackend.

use crossterm::event::KeyEvent;
use jkda::app::overlay::Kind;
use jkda::app::{App, Clock, Effect, LockState, Msg, Overlay, Screen, SessionInfo};
use jkda::form::Registry;
use jkda::i18n::{I18n, Lang};
use jkda::keymap::{press, Context, Keymap};
use jkda::shell::Shell;
use jkda::store::{Actor, Role, Store};
use jkda::ui::{Theme, View};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::Instant;

fn clock() -> Clock {
    Clock {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        time: chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
        instant: Instant::now(),
    }
}

/// A site's keymap over the built-in one; it must be free of errors.
fn site_keys(src: &str) -> Keymap {
    let (map, errors) = Keymap::parse("keymap.toml", src, Some(&Keymap::default()));
    assert!(errors.is_empty(), "{errors:?}");
    map
}

struct Desk {
    shell: Shell,
    app: App,
    i18n: I18n,
}

impl Desk {
    /// jkda on a clinic with `residents` demo residents (0: the first-run
    /// setup), with `keys`.
    fn open(lang: Lang, keys: Keymap, residents: u32) -> Desk {
        let mut store = Store::open_in_memory().expect("in-memory store");
        let registry = Registry::embedded();
        let actor = Actor::with_role("tester", Role::System);
        if residents > 0 {
            jkda::demo::generate(
                &mut store,
                &registry,
                &actor,
                residents,
                7,
                clock().today,
                &mut |_, _| {},
            )
            .expect("demo residents");
        }
        let site = store.site().expect("site readable");
        let mut app = App::new(lang, keys, site, &clock());
        app.session = Some(SessionInfo {
            login: "tester".into(),
            display_name: "Tester".into(),
            role: Role::System,
        });
        let mut desk = Desk {
            shell: Shell::new(store, registry, actor),
            app,
            i18n: I18n::new(lang),
        };
        for m in desk.shell.startup(&mut desk.app, &clock()) {
            desk.shell.dispatch(&mut desk.app, m, &clock());
        }
        desk
    }

    fn key(&mut self, name: &str) -> Vec<Effect> {
        self.update(Msg::Key(press(name)))
    }

    /// The core's answer to a message (the effects are not run).
    fn update(&mut self, msg: Msg) -> Vec<Effect> {
        self.app.update(msg, &clock())
    }

    /// Through the shell: effects run, their results fed back.
    fn send(&mut self, name: &str) {
        self.shell.dispatch(&mut self.app, Msg::Key(press(name)), &clock());
    }

    fn type_str(&mut self, s: &str) {
        for c in s.chars() {
            self.shell.dispatch(
                &mut self.app,
                Msg::Key(KeyEvent::from(crossterm::event::KeyCode::Char(c))),
                &clock(),
            );
        }
    }

    /// The screen at 80×24, one string a row.
    fn rows(&self) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let view = View {
            i18n: &self.i18n,
            theme: Theme { color: false },
        };
        terminal.draw(|f| jkda::ui::draw(f, &self.app, &view)).unwrap();
        let buf = terminal.backend().buffer().clone();
        (0..24)
            .map(|y| {
                let mut row = String::new();
                for x in 0..80 {
                    let sym = buf[(x, y)].symbol();
                    // The second cell of a wide character is blank: skip it.
                    if x > 0 && unicode_width::UnicodeWidthStr::width(buf[(x - 1, y)].symbol()) == 2 {
                        continue;
                    }
                    row.push_str(sym);
                }
                row
            })
            .collect()
    }

    fn screen(&self) -> String {
        self.rows().join("\n")
    }

    fn hint_line(&self) -> String {
        self.rows().last().cloned().unwrap_or_default()
    }

    fn top(&self) -> Option<Kind> {
        self.app.overlays.top().map(Overlay::kind)
    }

    fn t(&self, key: &str) -> String {
        self.app.keymap.fill(self.i18n.t(key))
    }
}

/// From the list: a registration whose ID number another resident has,
/// which stops with the duplicate-ID box when the item is left.
fn duplicate_over_registration(desk: &mut Desk) {
    let rows = desk
        .shell
        .store
        .search_residents(&desk.shell.actor, "", 5)
        .expect("residents");
    let existing = desk
        .shell
        .store
        .resident(&desk.shell.actor, rows[0].id)
        .expect("a resident")
        .id_number
        .expect("with an ID number");
    desk.send("ctrl-r");
    let Screen::Form(f) = &desk.app.screen else {
        panic!("no registration form")
    };
    assert_eq!(f.def.id, "resident-basic-info");
    for _ in 0..50 {
        match &desk.app.screen {
            Screen::Form(f) if f.focus_path().as_deref() == Some("id_number") => break,
            _ => desk.send("tab"),
        }
    }
    desk.type_str(&existing);
    desk.send("tab");
    assert_eq!(desk.top(), Some(Kind::Duplicate), "the duplicate-ID stop");
}

/// Issue 12: the upload list opened over the duplicate-ID box is in front
/// for everything — it takes the keys, the hint line is its own, and it is
/// drawn over the box; closed, the box is back in front for all three.
#[test]
fn the_top_overlay_gets_the_keys_the_hint_line_and_the_front() {
    for lang in [Lang::Zh, Lang::En] {
        let mut desk = Desk::open(lang, Keymap::default(), 3);
        duplicate_over_registration(&mut desk);
        let box_title = desk.i18n.t("duplicate.title").to_string();
        assert!(desk.screen().contains(&box_title), "{}", desk.screen());
        assert!(desk.hint_line().contains(desk.i18n.t("action.confirm")));

        let effects = desk.key("f9");
        assert!(
            matches!(effects.as_slice(), [Effect::LoadOutbox, Effect::Sync(_)]),
            "{effects:?}"
        );
        assert_eq!(desk.top(), Some(Kind::Uploads));
        assert_eq!(desk.app.key_contexts().first(), Some(&Context::Uploads));
        let screen = desk.screen();
        assert!(screen.contains(desk.i18n.t("sync.screen_title")), "{screen}");
        assert!(
            !screen.contains(&box_title),
            "the upload list is drawn over the box:\n{screen}"
        );
        assert!(!screen.contains('…'), "the list's keys fit at 80 columns:\n{screen}");
        let hints = desk.hint_line();
        assert!(
            hints.contains(desk.i18n.t("action.send")) && !hints.contains(desk.i18n.t("action.confirm")),
            "{hints}"
        );
        // Enter is "upload now" here, not the box's "open the existing resident".
        let effects = desk.key("enter");
        assert!(matches!(effects.as_slice(), [Effect::Sync(_)]), "{effects:?}");
        assert_eq!(desk.top(), Some(Kind::Uploads));

        desk.key("esc");
        assert_eq!(desk.top(), Some(Kind::Duplicate));
        assert_eq!(desk.app.key_contexts().first(), Some(&Context::Dialog));
        assert!(desk.screen().contains(&box_title));
        assert!(desk.hint_line().contains(desk.i18n.t("action.confirm")));
        let effects = desk.key("enter");
        assert!(
            effects.iter().any(|e| matches!(e, Effect::OpenResident(_))),
            "{effects:?}"
        );
        assert!(desk.app.overlays.is_empty());
    }
}

/// A site that registers with F7 (or Ctrl-B): the key does it and F2 no
/// longer does; the hint line, the help and the instruction on the empty
/// list all say F7.
#[test]
fn a_site_keymap_changes_keys_hints_help_and_instructions() {
    let keys = site_keys("[list]\nnew_resident = [\"f7\", \"ctrl-b\"]\n");
    for lang in [Lang::Zh, Lang::En] {
        let mut desk = Desk::open(lang, keys.clone(), 0);
        desk.type_str("测试村卫生室");
        desk.send("tab");
        desk.type_str("220602");
        desk.send("tab");
        desk.type_str("101");
        desk.send("tab");
        desk.type_str("101");
        desk.send("enter");
        assert!(matches!(desk.app.screen, Screen::Residents(_)));

        assert!(desk.key("f2").is_empty(), "F2 is no longer bound");
        assert!(matches!(desk.key("f7").as_slice(), [Effect::Register]));
        assert!(matches!(desk.key("ctrl-b").as_slice(), [Effect::Register]));

        let screen = desk.screen();
        let register = desk.i18n.t("action.new_resident");
        assert!(desk.hint_line().contains(&format!("F7 {register}")), "{screen}");
        let instruction = desk.t("list.empty");
        assert!(
            instruction.contains("F7 / Ctrl-B") && !instruction.contains("F2"),
            "{instruction}"
        );
        assert!(screen.contains(&instruction), "{screen}");

        desk.key("f1");
        assert_eq!(desk.top(), Some(Kind::Help));
        let mut help = String::new();
        for _ in 0..10 {
            help.push_str(&desk.screen());
            desk.key("pagedown");
        }
        assert!(help.contains("F7 / Ctrl-B"), "{help}");
        assert!(!help.contains("F2 / Ctrl-R"), "{help}");
    }
}

/// The help scrolls at 80×24 and shows every key of every context in
/// full; any key it does not use closes it.
#[test]
fn help_scrolls_and_cuts_nothing_at_80x24() {
    for lang in [Lang::Zh, Lang::En] {
        let mut desk = Desk::open(lang, Keymap::default(), 1);
        desk.key("ctrl-g");
        let first = desk.screen();
        let mut seen = first.clone();
        let mut last = String::new();
        for _ in 0..20 {
            desk.key("pagedown");
            last = desk.screen();
            seen.push_str(&last);
        }
        assert_ne!(first, last, "it scrolled");
        assert!(!seen.contains('…'), "something was cut:\n{seen}");
        for ctx in Context::ALL {
            for (action, keys) in desk.app.keymap.entries(*ctx) {
                let labels: Vec<String> = keys.iter().map(jkda::keymap::Key::label).collect();
                let keys = labels.join(" / ");
                assert!(
                    seen.contains(&keys),
                    "{}.{}: {keys} not shown",
                    ctx.name(),
                    action.name()
                );
                let label = desk.i18n.t(&format!("action.{}", action.name())).to_string();
                assert!(seen.contains(&label), "{label} not shown");
            }
        }
        // Back up to the start, then a key help does not use closes it.
        for _ in 0..20 {
            desk.key("pageup");
        }
        assert_eq!(desk.screen(), first);
        assert!(desk.key("x").is_empty());
        assert!(desk.app.overlays.is_empty());
        assert!(matches!(desk.app.screen, Screen::Residents(_)), "and did nothing else");
    }
}

/// The first-run setup follows the keymap: its own keys move between the
/// inputs and save, and the instruction under them names them.
#[test]
fn the_setup_screen_follows_the_keymap() {
    let keys = site_keys("[setup]\nnext_field = [\"f6\"]\nconfirm = [\"f5\"]\n");
    let mut desk = Desk::open(Lang::En, keys, 0);
    assert!(matches!(desk.app.screen, Screen::Setup(_)));
    let instruction = desk.t("setup.finish");
    assert!(
        instruction.starts_with("F6 ") && instruction.contains("F5"),
        "{instruction}"
    );
    assert!(desk.screen().contains(&instruction));
    assert!(desk.hint_line().contains("F6 Next"), "{}", desk.hint_line());
    desk.type_str("Village clinic");
    desk.send("tab");
    desk.send("enter");
    let Screen::Setup(s) = &desk.app.screen else { panic!() };
    assert_eq!(s.focus, 0, "Tab and Enter are not bound here any more");
    for part in ["220602", "101", "101"] {
        desk.send("f6");
        desk.type_str(part);
    }
    desk.send("left");
    desk.send("backspace");
    desk.type_str("0");
    let Screen::Setup(s) = &desk.app.screen else { panic!() };
    assert_eq!(s.inputs[3].text(), "101", "the [text] keys edit: ← then ⌫ then 0");
    desk.send("f5");
    assert!(matches!(desk.app.screen, Screen::Residents(_)), "saved");
}

/// The idle lock follows the keymap: unlock, quit and the editing keys.
#[test]
fn the_lock_follows_the_keymap() {
    let keys =
        site_keys("[lock]\nconfirm = [\"f5\"]\n[text]\ndelete_back = [\"ctrl-h\"]\n[global]\nquit = [\"ctrl-x\"]\n");
    let mut desk = Desk::open(Lang::Zh, keys, 1);
    desk.app.overlays.push(Overlay::Lock(LockState::default()));
    let screen = desk.screen();
    let instruction = desk.t("lock.keys");
    assert!(
        instruction.contains("F5") && instruction.contains("Ctrl-X"),
        "{instruction}"
    );
    assert!(screen.contains(&instruction), "{screen}");
    for k in ["a", "b", "ctrl-h", "c"] {
        assert!(desk.key(k).is_empty());
    }
    assert!(desk.key("enter").is_empty(), "Enter does not unlock here");
    assert!(desk.key("ctrl-q").is_empty(), "nor does Ctrl-Q quit");
    assert!(
        matches!(desk.key("f5").as_slice(), [Effect::Unlock(p)] if secrecy::ExposeSecret::expose_secret(p) == "ac")
    );
    assert!(desk.key("ctrl-x").iter().any(|e| matches!(e, Effect::Quit)));
}

/// Keys are data: no code in `src/app` matches a key's code; only the
/// keymap does (issue 12 counted 37 such matches).
#[test]
fn no_raw_key_codes_in_the_core() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app");
    let mut found = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            files += 1;
            let src = std::fs::read_to_string(&path).unwrap();
            for (i, line) in src.lines().enumerate() {
                if line.contains("KeyCode") || line.contains("KeyModifiers") {
                    found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(files > 10, "read the core's files");
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Every action and every context has words in both languages: the help,
/// the hint line and the placeholders never show a bare key name such as
/// `action.link`.
#[test]
fn every_action_and_context_is_named_in_both_languages() {
    for lang in [Lang::Zh, Lang::En] {
        let i18n = I18n::new(lang);
        for action in jkda::keymap::Action::ALL {
            let key = format!("action.{}", action.name());
            assert!(i18n.lookup(&key).is_some(), "{lang:?}: {key} has no text");
        }
        for ctx in Context::ALL {
            let key = format!("help.context.{}", ctx.name());
            assert!(i18n.lookup(&key).is_some(), "{lang:?}: {key} has no text");
        }
    }
}
