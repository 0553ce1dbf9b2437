use super::*;

fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

#[test]
fn builtin_keymap_parses_cleanly() {
    let (map, errors) = Keymap::parse("keymap.toml", DEFAULT, None);
    assert!(errors.is_empty(), "{errors:?}");
    let ctrl_q = ev(KeyCode::Char('q'), KeyModifiers::CONTROL);
    assert_eq!(map.action(Context::Form, &ctrl_q), Some(Action::Quit));
    let backtab = ev(KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(map.action(Context::Form, &backtab), Some(Action::PrevField));
}

#[test]
fn every_action_has_a_key_without_function_keys() {
    let map = Keymap::default();
    for ctx in Context::ALL {
        for (action, keys) in map.entries(*ctx) {
            // Home and End are shortcuts for what ← and → reach anyway.
            if matches!(action, Action::LineStart | Action::LineEnd) {
                continue;
            }
            assert!(
                keys.iter()
                    .any(|k| !matches!(k.code, KeyCode::F(_) | KeyCode::Home | KeyCode::End)),
                "{}.{} needs a key that is not a function key",
                ctx.name(),
                action.name()
            );
        }
    }
}

#[test]
fn bad_entries_are_reported_with_their_line_and_the_rest_applies() {
    let src = "[form]\nfinalize = [\"ctrl-f\"]\nnonsense = [\"x\"]\nback = [\"hyper-z\"]\n\n[nowhere]\nquit = [\"q\"]\n[list]\nopen = \"enter\"\n";
    let (map, errors) = Keymap::parse("user.toml", src, Some(&Keymap::default()));
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 4, 6, 9], "{errors:?}");
    assert!(errors[0].detail.contains("nonsense"));
    assert!(errors[1].detail.contains("hyper-z"));
    assert!(errors[2].detail.contains("[nowhere]"));
    assert!(errors[3].detail.contains("list of keys"));
    let ctrl_f = ev(KeyCode::Char('f'), KeyModifiers::CONTROL);
    assert_eq!(map.action(Context::Form, &ctrl_f), Some(Action::Finalize));
    let enter = ev(KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(
        map.action(Context::List, &enter),
        Some(Action::Open),
        "the built-in stays"
    );
}

/// A file that is not TOML at all: the line of the syntax error.
#[test]
fn a_syntax_error_names_its_line() {
    let src = "[list]\nopen = [\"enter\"]\n\nnew_resident = [\"f2\"\n";
    let (_, errors) = Keymap::parse("user.toml", src, Some(&Keymap::default()));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].line >= 4, "{errors:?}");
}

/// Issue 12: one key for two actions in a context is reported at the line
/// that made it so, and the key keeps its earlier meaning.
#[test]
fn a_key_bound_twice_in_a_context_is_reported() {
    let src = "# site keys\n[list]\n\nnew_resident = [\"ctrl-n\", \"f7\"]\n";
    let (map, errors) = Keymap::parse("user.toml", src, Some(&Keymap::default()));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 4);
    assert!(
        errors[0].detail.contains("Ctrl-N") && errors[0].detail.contains("down"),
        "{errors:?}"
    );
    assert!(errors[0].detail.contains("keeps its built-in keys"), "{errors:?}");
    let ctrl_n = ev(KeyCode::Char('n'), KeyModifiers::CONTROL);
    assert_eq!(map.action(Context::List, &ctrl_n), Some(Action::Down));
    // The entry is ignored as a bad one is: the built-in keys stay, so the
    // action never ends up without a key.
    let f2 = ev(KeyCode::F(2), KeyModifiers::NONE);
    assert_eq!(map.action(Context::List, &f2), Some(Action::NewResident));
    let f7 = ev(KeyCode::F(7), KeyModifiers::NONE);
    assert_eq!(map.action(Context::List, &f7), None);
    // Both in one file: the later line gives way.
    let src = "[uploads]\nsend = [\"x\"]\nretry = [\"x\"]\n";
    let (map, errors) = Keymap::parse("user.toml", src, None);
    assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [3]);
    let x = ev(KeyCode::Char('x'), KeyModifiers::NONE);
    assert_eq!(map.action(Context::Uploads, &x), Some(Action::Send));
}

#[test]
fn placeholders_are_filled_from_the_keymap() {
    let site = "[list]\nnew_resident = [\"f7\", \"ctrl-b\"]\n";
    let (map, errors) = Keymap::parse("user.toml", site, Some(&Keymap::default()));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        map.fill("按 {keys:new_resident} 建档，{key:uploads.back} 关闭"),
        "按 F7 / Ctrl-B 建档，Esc 关闭"
    );
    assert_eq!(
        map.fill("{key:nonsense} {key:list.toggle} {x}"),
        "{key:nonsense} {key:list.toggle} {x}"
    );
    assert_eq!(map.fill("{key:quit"), "{key:quit");
}

/// Every placeholder in both catalogues names a bound action.
#[test]
fn catalogue_placeholders_name_bound_actions() {
    let map = Keymap::default();
    for lang in [crate::i18n::Lang::Zh, crate::i18n::Lang::En] {
        let i18n = crate::i18n::I18n::new(lang);
        for key in i18n.keys() {
            let filled = map.fill(i18n.t(key));
            let left = filled.contains("{key:") || filled.contains("{keys:");
            assert!(!left, "{lang:?} {key}: {filled}");
        }
    }
}

#[test]
fn typed_characters_are_text_and_chords_are_not() {
    assert_eq!(typed_char(&ev(KeyCode::Char('张'), KeyModifiers::NONE)), Some('张'));
    assert_eq!(typed_char(&ev(KeyCode::Char('N'), KeyModifiers::SHIFT)), Some('N'));
    assert_eq!(typed_char(&ev(KeyCode::Char('q'), KeyModifiers::CONTROL)), None);
    assert_eq!(typed_char(&ev(KeyCode::Char('\u{7}'), KeyModifiers::NONE)), None);
    assert_eq!(typed_char(&ev(KeyCode::Enter, KeyModifiers::NONE)), None);
}

#[test]
fn key_names_round_trip() {
    for s in ["ctrl-q", "f10", "shift-tab", "pagedown", "space", "x"] {
        assert!(Key::parse(s).is_some(), "{s}");
    }
    assert!(Key::parse("f13").is_none());
    assert_eq!(Key::parse("ctrl-q").unwrap().label(), "Ctrl-Q");
    for label in ["Ctrl-Q", "PgDn", "Del", "↑", "Shift-Tab", "N", "Ctrl-Space", "F12"] {
        let key = Key::parse(label).expect(label);
        assert_eq!(key.label(), label);
    }
}

/// A binding must be able to match what the terminal sends: `shift-n`
/// and `N` are the event `N`, `shift-backtab` is BackTab.
#[test]
fn parsed_keys_match_the_terminals_events() {
    let map = |s: &str| Key::parse(s).expect(s);
    let shift_n = ev(KeyCode::Char('N'), KeyModifiers::SHIFT);
    assert_eq!(map("shift-n"), Key::from_event(&shift_n));
    assert_eq!(map("N"), Key::from_event(&shift_n));
    assert_ne!(map("n"), Key::from_event(&shift_n));
    let backtab = ev(KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(map("shift-backtab"), Key::from_event(&backtab));
    let ctrl_shift_a = ev(KeyCode::Char('A'), KeyModifiers::CONTROL | KeyModifiers::SHIFT);
    assert_eq!(map("Ctrl-Shift-A"), Key::from_event(&ctrl_shift_a));
}
