//! Property tests for the hand-written parsers (issue 12): whatever a user
//! types or a file contains, each parser answers — a value or an error —
//! and never panics; where a format has a round trip, it holds.
//!
//! Typed text is drawn from what a clinic keyboard produces: ASCII and
//! full-width digits (Chinese input methods), Chinese, emoji, separators,
//! stray control characters, and any Unicode at all. The hub's query and
//! Bundle parsing are tested beside their private code (`src/hub/server.rs`);
//! `App::update` under random keys is `tests/props_keys.rs`.

use chrono::{Duration, NaiveDate};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jkda::form::answers::{parse_date, parse_number};
use jkda::identity::{check_char, compose_record_no, mask_phone, parse_id, parse_phone, parse_record_no, IdError};
use jkda::keymap::{Key, Keymap};
use proptest::prelude::*;
use proptest::sample::Index;
use std::path::Path;
use std::sync::Arc;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
}

/// One character as it might reach a text input.
fn typed_char() -> impl Strategy<Value = char> {
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

fn typed(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(typed_char(), 0..max).prop_map(|v| v.into_iter().collect())
}

/// ASCII digits and letters as a Chinese input method types them.
fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

fn date_between(from: NaiveDate, to: NaiveDate) -> impl Strategy<Value = NaiveDate> {
    (0..=(to - from).num_days()).prop_map(move |d| from + Duration::days(d))
}

/// A valid 18-character ID number with the birth date and sequence in it.
fn valid_id() -> impl Strategy<Value = (String, NaiveDate, u32)> {
    let born = date_between(NaiveDate::from_ymd_opt(1900, 1, 1).unwrap(), today());
    ("[1-9][0-9]{5}", born, 0u32..1000).prop_map(|(division, birth, seq)| {
        let first17 = format!("{division}{}{seq:03}", birth.format("%Y%m%d"));
        (format!("{first17}{}", check_char(&first17)), birth, seq)
    })
}

// ------------------------------------------------------------ ID numbers

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn id_parsing_never_panics(s in typed(24)) {
        if let Ok(id) = parse_id(&s, today()) {
            let id_text = id.as_str().to_string();
            prop_assert_eq!(id_text.len(), 18);
            prop_assert_eq!(parse_id(&id_text, today()), Ok(id.clone()));
            prop_assert!(id.birth_date() <= today());
            prop_assert_eq!(id.masked().chars().count(), 18);
        }
    }

    #[test]
    fn valid_id_numbers_round_trip((number, birth, seq) in valid_id()) {
        let id = parse_id(&number, today()).expect("valid");
        prop_assert_eq!(id.as_str(), number.as_str());
        prop_assert_eq!(id.birth_date(), birth);
        prop_assert_eq!(id.sex_code(), if seq % 2 == 1 { "1" } else { "2" });
        prop_assert_eq!(id.division(), &number[..6]);
        let masked = id.masked();
        prop_assert!(masked.starts_with(&number[..6]) && masked.ends_with(&number[14..]));
        // As typed: padded, lower-case x, full-width.
        for typed in [format!("  {}\t", number.to_lowercase()), full_width(&number)] {
            prop_assert_eq!(parse_id(&typed, today()), Ok(id.clone()));
        }
    }

    /// GB 11643's check character catches every single wrong digit and
    /// every swap of two neighbouring digits.
    #[test]
    fn the_check_character_catches_one_wrong_digit((number, _, _) in valid_id(), at in 0usize..17, to in 1u8..10) {
        let mut bytes = number.clone().into_bytes();
        bytes[at] = b'0' + (bytes[at] - b'0' + to) % 10;
        let wrong = String::from_utf8(bytes).unwrap();
        prop_assert!(parse_id(&wrong, today()).is_err(), "{} accepted", wrong);
    }

    #[test]
    fn the_check_character_catches_a_swap((number, _, _) in valid_id(), at in 0usize..16) {
        let mut bytes = number.clone().into_bytes();
        prop_assume!(bytes[at] != bytes[at + 1]);
        bytes.swap(at, at + 1);
        let wrong = String::from_utf8(bytes).unwrap();
        prop_assert!(parse_id(&wrong, today()).is_err(), "{} accepted", wrong);
    }

    /// A legacy 15-digit card becomes the 18-character number of the same person.
    #[test]
    fn legacy_numbers_upgrade(division in "[1-9][0-9]{5}", birth in date_between(
        NaiveDate::from_ymd_opt(1900, 1, 1).unwrap(), NaiveDate::from_ymd_opt(1999, 12, 31).unwrap()),
        seq in 0u32..1000)
    {
        let legacy = format!("{division}{}{seq:03}", birth.format("%y%m%d"));
        let id = parse_id(&legacy, today()).expect("valid legacy number");
        let first17 = format!("{division}{}{seq:03}", birth.format("%Y%m%d"));
        prop_assert_eq!(id.as_str(), format!("{first17}{}", check_char(&first17)));
        prop_assert_eq!(id.birth_date(), birth);
    }

    #[test]
    fn a_birth_date_after_today_is_refused((number, birth, _) in valid_id()) {
        let day_before = birth - Duration::days(1);
        prop_assert_eq!(parse_id(&number, day_before), Err(IdError::FutureDate));
    }
}

// ------------------------------------------------------- phone numbers

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn phone_parsing_never_panics(s in typed(24)) {
        if let Ok(digits) = parse_phone(&s) {
            prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{}", digits);
            prop_assert_eq!(parse_phone(&digits), Ok(digits.clone()));
        }
        let masked = mask_phone(&s);
        prop_assert_eq!(masked.chars().count(), s.chars().count());
    }

    #[test]
    fn mobile_numbers_as_typed(mobile in "1[3-9][0-9]{9}", prefix in prop::sample::select(vec!["", "+86", "+86 ", "0086", "86"]),
        style in 0usize..4)
    {
        let (a, rest) = mobile.split_at(3);
        let (b, c) = rest.split_at(4);
        let body = match style {
            0 => mobile.clone(),
            1 => format!("{a} {b} {c}"),
            2 => format!("{a}-{b}-{c}"),
            _ => full_width(&mobile),
        };
        prop_assert_eq!(parse_phone(&format!("{prefix}{body}")), Ok(mobile.clone()));
        let masked = mask_phone(&mobile);
        prop_assert_eq!(masked, format!("{a}****{}", &mobile[7..]));
    }

    #[test]
    fn landlines_with_their_area_code(area in "0(10|2[0-9]|[3-9][0-9]{2})", local in "[2-9][0-9]{6,7}", dash in any::<bool>()) {
        let typed = if dash { format!("{area}-{local}") } else { format!("({area}) {local}") };
        prop_assert_eq!(parse_phone(&typed), Ok(format!("{area}{local}")));
    }
}

// ------------------------------------------------- health-record numbers

fn village_code() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..=99, 101u32..=199, 901u32..=999]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn record_number_parsing_never_panics(s in typed(30)) {
        if let Ok(n) = parse_record_no(&s) {
            prop_assert_eq!(n.as_str().len(), 17);
            prop_assert_eq!(parse_record_no(n.as_str()), Ok(n.clone()));
        }
    }

    #[test]
    fn record_numbers_round_trip(division in "[0-9]{6}", township in "[0-9]{3}", village in village_code(), serial in 1u32..=99_999) {
        let village = format!("{village:03}");
        let n = compose_record_no(&division, &township, &village, serial).expect("valid parts");
        prop_assert_eq!(n.as_str().len(), 17);
        for typed in [n.as_str().to_string(), n.display_grouped(), full_width(&n.display_grouped()), format!(" {} ", n.display_grouped().replace('-', " "))] {
            prop_assert_eq!(parse_record_no(&typed), Ok(n.clone()), "{}", typed);
        }
        prop_assert_eq!((n.division(), n.township(), n.village(), n.serial()), (division.as_str(), township.as_str(), village.as_str(), serial));
        prop_assert_eq!(n.last8(), format!("{village}-{serial:05}"));
    }
}

// ----------------------------------------------------- dates and numbers

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn date_parsing_never_panics(s in typed(16)) {
        if let Some(d) = parse_date(&s, today()) {
            // Whatever was accepted reads back the same in the stored spelling.
            prop_assert_eq!(parse_date(&d.format("%Y-%m-%d").to_string(), today()), Some(d));
        }
    }

    #[test]
    fn dates_round_trip_in_every_spelling(d in date_between(
        NaiveDate::from_ymd_opt(1000, 1, 1).unwrap(), NaiveDate::from_ymd_opt(9999, 12, 31).unwrap()))
    {
        for format in ["%Y%m%d", "%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%Y-%-m-%-d"] {
            let typed = d.format(format).to_string();
            prop_assert_eq!(parse_date(&typed, today()), Some(d), "{}", typed);
            prop_assert_eq!(parse_date(&full_width(&typed), today()), Some(d), "{}", full_width(&typed));
        }
    }

    #[test]
    fn number_parsing_never_panics(s in typed(16)) {
        if let Some((v, decimals)) = parse_number(&s) {
            prop_assert!(v.is_finite());
            prop_assert!(decimals <= s.len());
        }
    }

    #[test]
    fn numbers_round_trip(v in -1.0e6f64..1.0e6, decimals in 0usize..4) {
        let typed = format!("{v:.decimals$}");
        let (parsed, got) = parse_number(&typed).expect("a number");
        prop_assert_eq!(got, decimals);
        prop_assert_eq!(parsed, typed.parse::<f64>().unwrap());
    }
}

// ------------------------------------------------------------ key names

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

// ------------------------------------------------------------ form files

/// One change to a file's text, at places chosen by index.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// The value of one `key = value` line put on another.
    MoveValue(Index, Index),
    Insert(Index, String),
    ReplaceChar(Index, char),
    Truncate(Index),
}

fn toml_snippet() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "[[section]]",
        "[[section.field]]",
        "id = \"x\"",
        "id = \"\"",
        "kind = \"rows\"",
        "kind = \"choice\"",
        "kind = \"calculated\"",
        "required = true",
        "visible_if = \"sex = 1\"",
        "visible_if = \"(\"",
        "check = \"x > \"",
        "range = [1, 0]",
        "range = [\"a\"]",
        "options = []",
        "columns = []",
        "max_len = -1",
        "max_len = 18446744073709551615",
        "precision = 99",
        "[",
        "\"",
        "=",
        "\u{feff}",
        "张 = \"伟\"",
    ]);
    prop_oneof![piece.prop_map(str::to_string), typed(20), any::<String>()]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => any::<Index>().prop_map(Edit::DeleteLine),
        1 => any::<Index>().prop_map(Edit::DuplicateLine),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        4 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::MoveValue(a, b)),
        2 => (any::<Index>(), toml_snippet()).prop_map(|(a, s)| Edit::Insert(a, s)),
        1 => (any::<Index>(), any::<char>()).prop_map(|(a, c)| Edit::ReplaceChar(a, c)),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ]
}

/// The text with the edits applied (on lines and characters, so it stays a `str`).
fn mangle(src: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
    for e in edits {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match e {
            Edit::DeleteLine(i) => {
                lines.remove(i.index(n));
            }
            Edit::DuplicateLine(i) => {
                let l = lines[i.index(n)].clone();
                lines.insert(i.index(n), l);
            }
            Edit::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
            Edit::MoveValue(a, b) => {
                let value = lines[b.index(n)].split_once('=').map(|(_, v)| v.to_string());
                let line = &mut lines[a.index(n)];
                if let (Some(v), Some((key, _))) = (value, line.clone().split_once('=')) {
                    *line = format!("{key}={v}");
                }
            }
            Edit::Insert(i, s) => lines.insert(i.index(n + 1), s.clone()),
            Edit::ReplaceChar(i, c) => {
                let line = &mut lines[i.index(n)];
                let chars: Vec<char> = line.chars().collect();
                if !chars.is_empty() {
                    let at = i.index(chars.len());
                    *line = chars[..at].iter().chain([c]).chain(&chars[at + 1..]).collect();
                }
            }
            Edit::Truncate(i) => lines.truncate(i.index(n) + 1),
        }
    }
    lines.join("\n")
}

/// One change to a parsed file (a TOML tree), at nodes chosen by index:
/// the result is still TOML, so it reaches the form validator and rules.
#[derive(Debug, Clone)]
enum TreeEdit {
    Remove(Index),
    /// A node replaced by a copy of another node of the same file.
    CopyOver(Index, Index),
    Replace(Index, toml::Value),
    /// A value replaced by another of the same type (passes the file's
    /// types, so it reaches the validator's own checks).
    Retype(Index, Index),
    SwapInArray(Index, Index, Index),
}

/// Strings a form file holds: ids, kinds, conditions, codes, dates.
const FORM_WORDS: &[&str] = &[
    "",
    "x",
    "1",
    "0",
    "99",
    "01",
    "sex",
    "sex = 1",
    "sex = 9",
    "(",
    ")",
    "bp.systolic > 140",
    "age >= 65",
    "a and",
    "not",
    "bmi",
    "t",
    "2026-11-29",
    "2099-01-01",
    "choice",
    "rows",
    "multi",
    "text",
    "integer",
    "decimal",
    "date",
    "pair",
    "blood_pressure",
    "calculated",
    "registration",
    "followup",
    "exam",
    "hypertension",
    "diabetes",
    "name",
    "id_number",
    "visit_date",
    "birth_date",
    "张三",
    "😀",
    "kg",
    "cm",
    "mmHg",
    "error",
    "warning",
];

fn toml_scalar() -> impl Strategy<Value = toml::Value> {
    use toml::Value as V;
    prop_oneof![
        prop::sample::select(vec![
            "",
            "x",
            "1",
            "0",
            "99",
            "sex = 1",
            "(",
            "bp.systolic > 140",
            "age >= 65",
            "bmi",
            "t",
            "2026-11-29",
            "choice",
            "rows",
            "multi",
            "text",
            "integer",
            "decimal",
            "date",
            "pair",
            "blood_pressure",
            "calculated",
            "registration",
            "followup",
            "exam",
            "hypertension",
            "张三",
            "😀",
        ])
        .prop_map(|s| V::String(s.to_string())),
        any::<i64>().prop_map(V::Integer),
        prop::sample::select(vec![-1i64, 0, 1, 2, 17, 18, 500]).prop_map(V::Integer),
        prop::sample::select(vec![0.0f64, -1.5, 1e300, f64::NAN, f64::INFINITY]).prop_map(V::Float),
        any::<bool>().prop_map(V::Boolean),
        Just(V::Array(Vec::new())),
        Just(V::Table(toml::Table::new())),
        typed(10).prop_map(V::String),
    ]
}

fn tree_edit() -> impl Strategy<Value = TreeEdit> {
    prop_oneof![
        3 => any::<Index>().prop_map(TreeEdit::Remove),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TreeEdit::CopyOver(a, b)),
        2 => (any::<Index>(), toml_scalar()).prop_map(|(a, v)| TreeEdit::Replace(a, v)),
        6 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TreeEdit::Retype(a, b)),
        1 => (any::<Index>(), any::<Index>(), any::<Index>()).prop_map(|(a, b, c)| TreeEdit::SwapInArray(a, b, c)),
    ]
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    At(usize),
}

/// Every node's path, parents before children.
fn node_paths(v: &toml::Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(here.clone());
    let children: Vec<(Step, &toml::Value)> = match v {
        toml::Value::Table(t) => t.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
        toml::Value::Array(a) => a.iter().enumerate().map(|(i, v)| (Step::At(i), v)).collect(),
        _ => Vec::new(),
    };
    for (step, child) in children {
        here.push(step);
        node_paths(child, here, out);
        here.pop();
    }
}

fn node_mut<'a>(v: &'a mut toml::Value, path: &[Step]) -> Option<&'a mut toml::Value> {
    path.iter().try_fold(v, |v, step| match (v, step) {
        (toml::Value::Table(t), Step::Key(k)) => t.get_mut(k),
        (toml::Value::Array(a), Step::At(i)) => a.get_mut(*i),
        _ => None,
    })
}

/// The file with the tree edits applied, written out as TOML again.
fn mangle_tree(tree: &toml::Value, edits: &[TreeEdit]) -> Option<String> {
    let mut root = tree.clone();
    for e in edits {
        let mut paths = Vec::new();
        node_paths(&root, &mut Vec::new(), &mut paths);
        let pick = |i: &Index| paths[i.index(paths.len())].clone();
        match e {
            TreeEdit::Remove(i) => {
                let path = pick(i);
                let Some((last, parent)) = path.split_last() else {
                    continue;
                };
                match (node_mut(&mut root, parent), last) {
                    (Some(toml::Value::Table(t)), Step::Key(k)) => {
                        t.remove(k);
                    }
                    (Some(toml::Value::Array(a)), Step::At(i)) => {
                        a.remove(*i);
                    }
                    _ => {}
                }
            }
            TreeEdit::CopyOver(to, from) => {
                let (to, from) = (pick(to), pick(from));
                let Some(value) = node_mut(&mut root, &from).map(|v| v.clone()) else {
                    continue;
                };
                if let Some(slot) = node_mut(&mut root, &to).filter(|_| !to.is_empty()) {
                    *slot = value;
                }
            }
            TreeEdit::Replace(at, value) => {
                let at = pick(at);
                if let Some(slot) = node_mut(&mut root, &at).filter(|_| !at.is_empty()) {
                    *slot = value.clone();
                }
            }
            TreeEdit::Retype(at, seed) => {
                use toml::Value as V;
                let Some(slot) = node_mut(&mut root, &pick(at)) else {
                    continue;
                };
                *slot = match &*slot {
                    V::String(_) => V::String(FORM_WORDS[seed.index(FORM_WORDS.len())].to_string()),
                    V::Integer(_) => V::Integer([-1, 0, 1, 2, 17, 18, 500, i64::MAX][seed.index(8)]),
                    V::Float(_) => V::Float([0.0, -1.5, 0.05, 1e300][seed.index(4)]),
                    V::Boolean(b) => V::Boolean(!b),
                    V::Array(a) if !a.is_empty() => V::Array(a[..seed.index(a.len())].to_vec()),
                    other => other.clone(),
                };
            }
            TreeEdit::SwapInArray(at, a, b) => {
                if let Some(toml::Value::Array(arr)) = node_mut(&mut root, &pick(at)) {
                    if !arr.is_empty() {
                        let n = arr.len();
                        arr.swap(a.index(n), b.index(n));
                    }
                }
            }
        }
    }
    toml::to_string(&root).ok()
}

/// The standard forms: name, text and parsed tree (read once per run).
fn form_files() -> &'static [(String, String, toml::Value)] {
    static FILES: std::sync::OnceLock<Vec<(String, String, toml::Value)>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("forms");
        let mut files: Vec<(String, String, toml::Value)> = std::fs::read_dir(&dir)
            .expect("forms/")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("readable");
                let tree = toml::Value::Table(toml::from_str(&text).expect("TOML"));
                (p.display().to_string(), text, tree)
            })
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(files.len() >= 4, "the standard forms are in forms/");
        files
    })
}

/// A form that loads must also open: its rules evaluate and its inputs are
/// laid out, with no answers and with every input given a value.
fn use_form(def: jkda::form::FormDef, value: &str) {
    let ctx = jkda::form::rules::Context {
        today: today(),
        sex: Some("1".into()),
        birth_date: NaiveDate::from_ymd_opt(1950, 3, 1),
    };
    let _ = jkda::form::fhir::questionnaire(&def);
    let def = Arc::new(def);
    let mut form = jkda::app::FormState::new(
        def.clone(),
        1,
        Default::default(),
        Default::default(),
        ctx.clone(),
        false,
        None,
    );
    let clock = jkda::app::Clock {
        today: today(),
        time: chrono::NaiveTime::MIN,
        instant: std::time::Instant::now(),
    };
    // The first screens' worth: most kinds of input the standard forms have.
    for _ in 0..form.slots.len().min(30) {
        form.type_text(value, &clock);
        form.handle_action(jkda::keymap::Action::NextField, &clock);
    }
    let _ = jkda::form::rules::evaluate(&def, &form.answers, &ctx);
    form.handle_action(jkda::keymap::Action::Finalize, &clock);
}

proptest! {
    // Each case loads a form of up to 60 KB and types into it: a few seconds in all.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A broken form file is an error with its place, never a panic; one
    /// that still loads can be filled in.
    #[test]
    fn a_mangled_form_file_is_an_error_not_a_panic(file in any::<Index>(), edits in prop::collection::vec(edit(), 1..5),
        value in prop::sample::select(vec!["1", "2026-11-29", "72.5", "张三", ""]))
    {
        let files = form_files();
        let (name, src, _) = &files[file.index(files.len())];
        let text = mangle(src, &edits);
        match jkda::form::parse_form(name, &text) {
            Ok(def) => use_form(def, value),
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    /// Still TOML, but with keys gone, values moved and of the wrong type:
    /// every problem is reported, and a form that still loads can be filled in.
    #[test]
    fn a_form_with_changed_values_is_an_error_not_a_panic(file in any::<Index>(), edits in prop::collection::vec(tree_edit(), 1..4),
        value in prop::sample::select(vec!["1", "2026-11-29", "72.5", "张三", ""]))
    {
        let files = form_files();
        let (name, _, tree) = &files[file.index(files.len())];
        let Some(text) = mangle_tree(tree, &edits) else { return Ok(()) };
        match jkda::form::parse_form(name, &text) {
            Ok(def) => use_form(def, value),
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    #[test]
    fn random_text_is_not_a_form(text in prop_oneof![any::<String>(), toml_snippet()]) {
        if let Err(errors) = jkda::form::parse_form("random.toml", &text) {
            prop_assert!(!errors.is_empty());
        }
    }
}

/// The unchanged files load and fill (the base the mutations start from).
#[test]
fn every_standard_form_opens_and_fills() {
    for (name, src, _) in form_files() {
        let def = jkda::form::parse_form(name, src).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        use_form(def, "1");
    }
}
