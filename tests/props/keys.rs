//! Key names: what a keymap file may say, and the labels on screen.

use crate::mangle::{edit, mangle};
use crate::typed;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jkda::keymap::{Key, Keymap};
use proptest::prelude::*;

fn key_code() -> impl Strategy<Value = KeyCode> {
    let named = prop::sample::select(vec![
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Backspace,
        KeyCode::Delete,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::PageUp,
        KeyCode::PageDown,
    ]);
    // Any character that can be written in a keymap: not blank, not a
    // control character, not an arrow (the arrows' labels are the keys).
    let printable = any::<char>()
        .prop_filter("written as a name", |c| {
            !c.is_whitespace() && !c.is_control() && !matches!(c, '↑' | '↓' | '←' | '→')
        })
        .prop_map(KeyCode::Char);
    prop_oneof![
        3 => named,
        1 => (1u8..=12).prop_map(KeyCode::F),
        1 => Just(KeyCode::Char(' ')),
        3 => proptest::char::range('a', 'z').prop_map(KeyCode::Char),
        1 => proptest::char::range('A', 'Z').prop_map(KeyCode::Char),
        2 => printable,
    ]
}

fn modifiers() -> impl Strategy<Value = KeyModifiers> {
    (0u8..64).prop_map(KeyModifiers::from_bits_truncate)
}

/// Text shaped like key names, to reach past the first character.
fn key_name_text() -> impl Strategy<Value = String> {
    let part = prop::sample::select(vec![
        "ctrl-",
        "Ctrl-",
        "alt-",
        "shift-",
        "SHIFT-",
        "f",
        "F1",
        "f12",
        "f13",
        "f0",
        "f99999999999",
        "tab",
        "Tab",
        "backtab",
        "space",
        "enter",
        "esc",
        "del",
        "PgDn",
        "↑",
        "x",
        "X",
        "-",
        "--",
        "张",
        "😀",
        " ",
        "",
    ]);
    prop::collection::vec(part, 0..5).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// `parse(label(k)) == k` for every key a terminal can send.
    #[test]
    fn key_labels_round_trip(code in key_code(), mods in modifiers()) {
        let key = Key::from_event(&KeyEvent::new(code, mods));
        prop_assert_eq!(Key::parse(&key.label()), Some(key), "{}", key.label());
    }

    /// Whatever a keymap file says parses to a key a terminal can send (or
    /// is refused), and reads back the same from its label.
    #[test]
    fn key_parsing_never_panics(s in prop_oneof![key_name_text(), typed(12), any::<String>()]) {
        if let Some(key) = Key::parse(&s) {
            prop_assert_eq!(Key::from_event(&KeyEvent::new(key.code, key.mods)), key);
            prop_assert_eq!(Key::parse(&key.label()), Some(key), "{:?} -> {}", s, key.label());
        }
    }

    #[test]
    fn a_mangled_keymap_file_is_reported_not_a_panic(edits in prop::collection::vec(edit(), 1..4)) {
        let src = mangle(jkda::keymap::DEFAULT, &edits);
        let (_, errors) = Keymap::parse("keymap.toml", &src, Some(&Keymap::default()));
        let lines = src.lines().count() + 1;
        prop_assert!(errors.iter().all(|e| e.line <= lines), "{:?}", errors);
    }
}
