//! Property tests for the hand-written parsers (issue 12): whatever a user
//! types or a file contains, each parser answers — a value or an error —
//! and never panics; where a format has a round trip, it holds.
//!
//! Typed text is drawn from what a clinic keyboard produces: ASCII and
//! full-width digits (Chinese input methods), Chinese, emoji, separators,
//! stray control characters, and any Unicode at all. Files are the real
//! ones (`forms/`, the default keymap) mangled. The hub's query and Bundle
//! parsing are tested beside their private code (`src/hub/server/tests.rs`);
//! `App::update` under random keys is `tests/props_keys.rs`.

mod forms;
mod identity;
mod keys;
mod mangle;
mod values;

use chrono::{Duration, NaiveDate};
use jkda::identity::check_char;
use proptest::prelude::*;

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
}

/// One character as it might reach a text input.
pub fn typed_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('0', '9'),
        2 => proptest::char::range('０', '９'),
        2 => prop::sample::select(vec![
            'X', 'x', 'Ｘ', ' ', '\u{3000}', '-', '—', '+', '(', ')', '.', '。', '/', ':', '张', '伟', '〇', '😀',
            '\u{200b}', '\u{1b}', '\t', '\n', 'é', 'ß', '\u{301}',
        ]),
        1 => any::<char>(),
    ]
}

pub fn typed(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(typed_char(), 0..max).prop_map(|v| v.into_iter().collect())
}

/// ASCII digits and letters as a Chinese input method types them.
pub fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

pub fn date_between(from: NaiveDate, to: NaiveDate) -> impl Strategy<Value = NaiveDate> {
    (0..=(to - from).num_days()).prop_map(move |d| from + Duration::days(d))
}

/// A valid 18-character ID number with the birth date and sequence in it.
pub fn valid_id() -> impl Strategy<Value = (String, NaiveDate, u32)> {
    let born = date_between(NaiveDate::from_ymd_opt(1900, 1, 1).unwrap(), today());
    ("[1-9][0-9]{5}", born, 0u32..1000).prop_map(|(division, birth, seq)| {
        let first17 = format!("{division}{}{seq:03}", birth.format("%Y%m%d"));
        (format!("{first17}{}", check_char(&first17)), birth, seq)
    })
}
