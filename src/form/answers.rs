//! What a person typed into a form, kept as typed. Values are stored as text
//! (or a set of codes) even when they do not parse, so nothing entered is ever
//! lost; the rules module interprets them. Keys are answer paths: `field`,
//! `field.part` (`bp.systolic`, `weight.current`, `adr.detail`) and
//! `field.ROW.column` for repeating rows (`meds.0.name`).

use crate::domain::Sensitive;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    Text(String),
    Codes(Vec<String>),
}

/// Names the kind of answer, never its value: answers are health data.
impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Text(s) => f.debug_tuple("Text").field(&Sensitive(s)).finish(),
            Answer::Codes(c) => f.debug_tuple("Codes").field(&Sensitive(c)).finish(),
        }
    }
}

/// Every answer of a record. `Debug` is `Answers(<redacted>)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Answers(Sensitive<BTreeMap<String, Answer>>);

impl Answers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn text(&self, path: &str) -> Option<&str> {
        match self.0.get(path) {
            Some(Answer::Text(s)) if !s.trim().is_empty() => Some(s.as_str()),
            _ => None,
        }
    }

    pub fn codes(&self, path: &str) -> &[String] {
        match self.0.get(path) {
            Some(Answer::Codes(c)) => c,
            _ => &[],
        }
    }

    pub fn is_answered(&self, path: &str) -> bool {
        match self.0.get(path) {
            Some(Answer::Text(s)) => !s.trim().is_empty(),
            Some(Answer::Codes(c)) => !c.is_empty(),
            None => false,
        }
    }

    /// Stores text with control characters removed; empty text removes the answer.
    pub fn set_text(&mut self, path: &str, value: &str) {
        let clean = sanitize(value);
        if clean.is_empty() {
            self.0.remove(path);
        } else {
            self.0.insert(path.to_string(), Answer::Text(clean));
        }
    }

    pub fn set_codes(&mut self, path: &str, mut codes: Vec<String>) {
        codes.dedup();
        if codes.is_empty() {
            self.0.remove(path);
        } else {
            self.0.insert(path.to_string(), Answer::Codes(codes));
        }
    }

    pub fn remove(&mut self, path: &str) {
        self.0.remove(path);
    }

    /// Puts back an answer exactly as it was stored (None removes it):
    /// replaying a saved change must not clean it a second time.
    pub fn put(&mut self, path: &str, answer: Option<Answer>) {
        match answer {
            Some(a) => self.0.insert(path.to_string(), a),
            None => self.0.remove(path),
        };
    }

    /// The answer at `path`, as stored.
    pub fn get(&self, path: &str) -> Option<&Answer> {
        self.0.get(path)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Answer)> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of stored rows of a repeating field (highest index + 1).
    pub fn row_count(&self, field: &str) -> usize {
        let prefix = format!("{field}.");
        self.0
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, _)| k[prefix.len()..].split('.').next()?.parse::<usize>().ok())
            .map(|i| i + 1)
            .max()
            .unwrap_or(0)
    }

    /// Drops rows whose cells are all empty and renumbers the rest, so the
    /// stored rows are always 0..n without gaps.
    pub fn compact_rows(&mut self, field: &str) {
        let n = self.row_count(field);
        let mut kept: Vec<Vec<(String, Answer)>> = Vec::new();
        for i in 0..n {
            let prefix = format!("{field}.{i}.");
            let cells: Vec<(String, Answer)> = self
                .0
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
                .collect();
            for (col, _) in &cells {
                self.0.remove(&format!("{prefix}{col}"));
            }
            if !cells.is_empty() {
                kept.push(cells);
            }
        }
        for (i, cells) in kept.into_iter().enumerate() {
            for (col, v) in cells {
                self.0.insert(format!("{field}.{i}.{col}"), v);
            }
        }
    }
}

/// Removes control characters and terminal escape sequences, which a paste
/// can carry and which would corrupt both the screen and the stored record.
/// Trailing blanks go too: a stored value does not end in spaces.
pub fn sanitize(input: &str) -> String {
    strip_controls(input).trim_end_matches([' ', '\u{3000}']).to_string()
}

/// [`sanitize`] for text being typed: a space typed now is kept, since the
/// next word follows it ("5 mg").
pub fn strip_controls(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ params final-byte; OSC: ESC ] ... BEL or ESC \
            match chars.peek() {
                Some('[') => {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    chars.next();
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.peek() == Some(&'\\')) {
                            break;
                        }
                    }
                }
                _ => {
                    chars.next();
                }
            }
            continue;
        }
        if c.is_control() || ('\u{80}'..='\u{9f}').contains(&c) || c == '\u{200b}' {
            continue;
        }
        out.push(c);
    }
    out
}

/// Full-width digits and punctuation, which Chinese input methods produce,
/// read as their ASCII forms.
pub fn to_halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{ff10}'..='\u{ff19}' => char::from_u32(c as u32 - 0xff10 + '0' as u32).unwrap_or(c),
            '\u{ff0e}' | '\u{3002}' => '.',
            '\u{ff0d}' => '-',
            '\u{ff0f}' => '/',
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// Parses a number as typed (half- or full-width), returning it and the
/// number of digits after the decimal point.
pub fn parse_number(s: &str) -> Option<(f64, usize)> {
    let s = to_halfwidth(s.trim());
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-') {
        return None;
    }
    let decimals = s.split_once('.').map(|(_, d)| d.len()).unwrap_or(0);
    s.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| (v, decimals))
}

/// Dates as staff type them: `20261129`, `2026-11-29`, `2026.11.29`,
/// `2026/11/29`, or `t` for today.
pub fn parse_date(s: &str, today: NaiveDate) -> Option<NaiveDate> {
    let s = to_halfwidth(s.trim());
    if s.eq_ignore_ascii_case("t") {
        return Some(today);
    }
    if s.len() == 8 && s.chars().all(|c| c.is_ascii_digit()) {
        return NaiveDate::parse_from_str(&s, "%Y%m%d").ok();
    }
    let parts: Vec<&str> = s.split(['-', '.', '/']).collect();
    if parts.len() == 3 && parts[0].len() == 4 {
        let y = parts[0].parse().ok()?;
        let m = parts[1].parse().ok()?;
        let d = parts[2].parse().ok()?;
        return NaiveDate::from_ymd_opt(y, m, d);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_controls_and_escape_sequences() {
        assert_eq!(sanitize("张\u{1b}[31m三\u{7}"), "张三");
        assert_eq!(sanitize("a\u{1b}]0;title\u{7}b"), "ab");
        assert_eq!(sanitize("x\ty\nz\r"), "xyz");
    }

    #[test]
    fn dates_in_every_accepted_spelling() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        for s in [
            "20261129",
            "2026-11-29",
            "2026.11.29",
            "2026/11/29",
            "t",
            "T",
            "２０２６１１２９",
        ] {
            assert_eq!(parse_date(s, today), Some(today), "{s}");
        }
        assert_eq!(parse_date("20260230", today), None);
        assert_eq!(parse_date("2026-13-01", today), None);
        assert_eq!(parse_date("yesterday", today), None);
    }

    #[test]
    fn numbers_report_their_decimals() {
        assert_eq!(parse_number("72.5"), Some((72.5, 1)));
        assert_eq!(parse_number("１３５"), Some((135.0, 0)));
        assert_eq!(parse_number("12a"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn rows_compact_without_gaps() {
        let mut a = Answers::new();
        a.set_text("meds.0.name", "A");
        a.set_text("meds.2.name", "C");
        a.set_text("meds.2.dose", "5mg");
        assert_eq!(a.row_count("meds"), 3);
        a.compact_rows("meds");
        assert_eq!(a.row_count("meds"), 2);
        assert_eq!(a.text("meds.1.name"), Some("C"));
        assert_eq!(a.text("meds.1.dose"), Some("5mg"));
    }

    #[test]
    fn empty_text_removes_the_answer() {
        let mut a = Answers::new();
        a.set_text("x", "1");
        a.set_text("x", "  ");
        assert!(!a.is_answered("x"));
    }
}
