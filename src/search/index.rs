//! What a resident is found by, and how a typed query is looked up: pure
//! functions, no SQL. The store keeps one row per key in `resident_keys`
//! (kind, key, resident id) and answers every query with a few prefix range
//! scans over that table's primary key, so a keystroke costs the same at
//! 200 000 residents as at 200.
//!
//! * Chinese name parts: every suffix of the normalised name is a key, so a
//!   prefix scan finds any substring (two-character names included; FTS5's
//!   trigram tokenizer needs three). The suffix at position 0 has its own
//!   kind so that names *starting* with the query rank first.
//! * Pinyin: every initials and full spelling from [`name_keys`].
//! * ID number, phone, record number: the digits reversed, so the last 4–6
//!   digits a worker reads off a card are a prefix; the whole number reversed
//!   is an exact match.
//!
//! Ranking follows the order of [`Scan::rank`]: an exact ID or record number
//! first, then names, then pinyin, then number tails.

use crate::identity::to_halfwidth;
use crate::search::pinyin_keys::{name_keys, normalize_query};

/// Bumped whenever the keys computed for the same resident change (a new
/// surname reading, a new kind); the store rebuilds its index when the
/// version it recorded differs.
pub const KEYS_VERSION: i64 = 1;

/// Longest query taken seriously, in characters; anything longer is pasted
/// garbage (a full ID is 18).
pub const MAX_QUERY_CHARS: usize = 40;

/// Name suffixes beyond this many characters are not indexed: no one types
/// the 17th character of a name first.
const MAX_NAME_CHARS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    /// The whole normalised name: prefix scans find names starting with the query.
    NameHead = 1,
    /// The name from its second character on, from its third, …
    NameInner = 2,
    Initials = 3,
    FullPinyin = 4,
    /// ID number, reversed.
    IdTail = 5,
    /// Phone digits, reversed.
    PhoneTail = 6,
    /// Health-record number, reversed.
    RecordTail = 7,
    /// ID number from its start. Not stored in `resident_keys`: scanned on
    /// the residents table's own index, as typed from the card.
    IdHead = 8,
    /// Health-record number from its start, likewise on its own index.
    RecordHead = 9,
}

impl KeyKind {
    pub fn code(self) -> i64 {
        self as i64
    }
}

/// The resident attributes keys are made from.
#[derive(Clone, Copy, Default)]
pub struct KeySource<'a> {
    pub name: Option<&'a str>,
    pub id_number: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub record_no: Option<&'a str>,
}

/// Every key of one resident, without duplicates.
pub fn resident_keys(src: &KeySource) -> Vec<(KeyKind, String)> {
    let mut out: Vec<(KeyKind, String)> = Vec::with_capacity(12);
    if let Some(name) = src.name {
        let chars: Vec<char> = name_key(name).chars().collect();
        for start in 0..chars.len() {
            let kind = if start == 0 {
                KeyKind::NameHead
            } else {
                KeyKind::NameInner
            };
            out.push((kind, chars[start..].iter().collect()));
        }
        let head: String = name.chars().take(MAX_NAME_CHARS).collect();
        let keys = name_keys(&head);
        out.extend(keys.initials.into_iter().map(|k| (KeyKind::Initials, k)));
        out.extend(keys.full.into_iter().map(|k| (KeyKind::FullPinyin, k)));
    }
    for (kind, value) in [
        (KeyKind::IdTail, src.id_number),
        (KeyKind::PhoneTail, src.phone),
        (KeyKind::RecordTail, src.record_no),
    ] {
        if let Some(key) = value.map(reversed_digits).filter(|k| !k.is_empty()) {
            out.push((kind, key));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A name as its [`KeyKind::NameHead`] key: normalised like a query, capped.
pub fn name_key(name: &str) -> String {
    normalize_query(name).chars().take(MAX_NAME_CHARS).collect()
}

/// Digits (and an ID's check character X) of a number, last first.
fn reversed_digits(s: &str) -> String {
    s.chars()
        .map(to_halfwidth)
        .map(|c| c.to_ascii_uppercase())
        .filter(|c| c.is_ascii_digit() || *c == 'X')
        .rev()
        .collect()
}

/// One range scan: keys of `kind` starting with `prefix` (or equal to it when
/// `exact`). Hits are ranked by `rank`, then by key, then by resident id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub kind: KeyKind,
    pub prefix: String,
    pub exact: bool,
    pub rank: u8,
}

/// How a query is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Nothing typed: the most recently touched residents.
    Recent,
    /// Symbols, quotes, wildcards, a pasted essay: no match, no error.
    NoMatch,
    Scans(Vec<Scan>),
}

/// What kind of thing a worker typed, and the scans that answer it.
pub fn plan(query: &str) -> Plan {
    if query.trim().is_empty() {
        return Plan::Recent;
    }
    if query.chars().count() > MAX_QUERY_CHARS * 2 {
        return Plan::NoMatch;
    }
    let q = normalize_query(query);
    let n = q.chars().count();
    if n == 0 || n > MAX_QUERY_CHARS {
        return Plan::NoMatch;
    }
    let scan = |kind, prefix: &str, exact, rank| Scan {
        kind,
        prefix: prefix.to_string(),
        exact,
        rank,
    };
    let mut scans = Vec::new();
    if is_number(&q) {
        let digits = q.to_ascii_uppercase();
        let rev: String = digits.chars().rev().collect();
        // A whole ID (18, or a legacy 15 as stored after upgrading) or record number.
        if n == 18 || n == 15 {
            scans.push(scan(KeyKind::IdTail, &rev, true, 0));
        }
        if n == 15 {
            if let Some(upgraded) = upgrade_legacy_id(&digits) {
                scans.push(scan(KeyKind::IdTail, &reversed_digits(&upgraded), true, 0));
            }
        }
        if n == 17 {
            scans.push(scan(KeyKind::RecordTail, &rev, true, 0));
        }
        // Typed from the start, past the 6-digit division code every ID and
        // record number here shares: the list narrows as the digits come.
        if n >= 7 {
            scans.push(scan(KeyKind::IdHead, &digits, false, 4));
            scans.push(scan(KeyKind::RecordHead, &digits, false, 4));
        }
        // Tails: the last 4–6 digits of an ID, the last 4 of a phone; fewer
        // digits would list a tenth of the county, so they only look for the
        // serial part of a record number.
        if n >= 4 {
            scans.push(scan(KeyKind::IdTail, &rev, false, 5));
            scans.push(scan(KeyKind::PhoneTail, &rev, false, 6));
        }
        scans.push(scan(KeyKind::RecordTail, &rev, false, 7));
    } else if q.chars().all(|c| c.is_ascii_lowercase()) {
        // Latin letters: a name written in them first, then pinyin.
        scans.push(scan(KeyKind::NameHead, &q, false, 1));
        scans.push(scan(KeyKind::NameInner, &q, false, 2));
        scans.push(scan(KeyKind::Initials, &q, true, 3));
        scans.push(scan(KeyKind::FullPinyin, &q, true, 3));
        scans.push(scan(KeyKind::Initials, &q, false, 4));
        scans.push(scan(KeyKind::FullPinyin, &q, false, 4));
    } else if q.chars().any(is_hanzi) && q.chars().all(|c| is_hanzi(c) || c.is_alphanumeric()) {
        scans.push(scan(KeyKind::NameHead, &q, false, 1));
        scans.push(scan(KeyKind::NameInner, &q, false, 2));
    } else {
        return Plan::NoMatch;
    }
    Plan::Scans(scans)
}

/// Digits, with at most a final X (an ID's check character).
fn is_number(q: &str) -> bool {
    let body = q.strip_suffix(['x', 'X']).unwrap_or(q);
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit())
}

/// A 15-digit legacy ID as it is stored after the upgrade to 18 (GB 11643:
/// insert "19" before the year, append the check character).
fn upgrade_legacy_id(digits: &str) -> Option<String> {
    if digits.len() != 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let first17 = format!("{}19{}", &digits[..6], &digits[6..]);
    let check = crate::identity::check_char(&first17);
    Some(format!("{first17}{check}"))
}

/// CJK ideographs (basic block, extensions A–F, compatibility) and 〇.
pub fn is_hanzi(c: char) -> bool {
    matches!(c as u32,
        0x3007 | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x323AF)
}

/// The smallest string greater than every string starting with `prefix`,
/// for a `key >= prefix AND key < upper` range scan. Keys are compared as
/// UTF-8 bytes (SQLite's BINARY collation), and no key contains U+10FFFF.
pub fn upper_bound(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 4);
    s.push_str(prefix);
    s.push(char::MAX);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_of(name: &str) -> Vec<(KeyKind, String)> {
        resident_keys(&KeySource {
            name: Some(name),
            ..KeySource::default()
        })
    }

    fn has(keys: &[(KeyKind, String)], kind: KeyKind, key: &str) -> bool {
        keys.iter().any(|(k, v)| *k == kind && v == key)
    }

    #[test]
    fn name_suffixes_and_pinyin() {
        let k = keys_of("王秀英");
        assert!(has(&k, KeyKind::NameHead, "王秀英"));
        assert!(has(&k, KeyKind::NameInner, "秀英"));
        assert!(has(&k, KeyKind::NameInner, "英"));
        assert!(has(&k, KeyKind::Initials, "wxy"));
        assert!(has(&k, KeyKind::FullPinyin, "wangxiuying"));
        assert!(!has(&k, KeyKind::NameHead, "秀英"));
    }

    #[test]
    fn numbers_are_reversed() {
        let k = resident_keys(&KeySource {
            id_number: Some("11010519491231002X"),
            phone: Some("13812345678"),
            record_no: Some("22060210110100042"),
            ..KeySource::default()
        });
        assert!(has(&k, KeyKind::IdTail, "X20013219491501011"));
        assert!(has(&k, KeyKind::PhoneTail, "87654321831"));
        assert!(has(&k, KeyKind::RecordTail, "24000101101206022"));
        assert_eq!(k.len(), 3);
    }

    #[test]
    fn minority_name_dot_is_ignored() {
        let k = keys_of("阿依古丽·买买提");
        assert!(has(&k, KeyKind::NameInner, "古丽买买提"));
    }

    #[test]
    fn long_names_are_capped() {
        let name: String = std::iter::repeat_n('张', 100).collect();
        let k = keys_of(&name);
        assert!(k.iter().all(|(_, v)| v.chars().count() <= MAX_NAME_CHARS * 6));
        assert!(k.len() <= MAX_NAME_CHARS + 2);
    }

    #[test]
    fn query_kinds() {
        assert_eq!(plan(""), Plan::Recent);
        assert_eq!(plan("   "), Plan::Recent);
        for garbage in ["%", "'", "\"", "%' OR 1=1 --", "_", "*", "张%", "\\", "()", "；", "😀"] {
            assert_eq!(plan(garbage), Plan::NoMatch, "{garbage}");
        }
        assert_eq!(plan(&"1".repeat(500)), Plan::NoMatch);
        let Plan::Scans(s) = plan("zs") else { panic!() };
        assert!(s.iter().any(|s| s.kind == KeyKind::Initials && s.prefix == "zs"));
        let Plan::Scans(s) = plan("张三") else { panic!() };
        assert!(s
            .iter()
            .all(|s| matches!(s.kind, KeyKind::NameHead | KeyKind::NameInner)));
        let Plan::Scans(s) = plan("1234") else { panic!() };
        assert!(s
            .iter()
            .any(|s| s.kind == KeyKind::IdTail && s.prefix == "4321" && !s.exact));
        let Plan::Scans(s) = plan("123") else { panic!() };
        assert!(s.iter().all(|s| s.kind == KeyKind::RecordTail));
        let Plan::Scans(s) = plan("2206021") else { panic!() };
        assert!(s.iter().any(|s| s.kind == KeyKind::IdHead && s.prefix == "2206021"));
        assert!(s.iter().any(|s| s.kind == KeyKind::RecordHead && s.prefix == "2206021"));
        let Plan::Scans(s) = plan("11010519491231002x") else {
            panic!()
        };
        assert_eq!(
            s[0],
            Scan {
                kind: KeyKind::IdTail,
                prefix: "X20013219491501011".into(),
                exact: true,
                rank: 0
            }
        );
    }

    #[test]
    fn legacy_id_query_finds_the_upgraded_number() {
        let Plan::Scans(s) = plan("110105491231002") else {
            panic!()
        };
        let up = upgrade_legacy_id("110105491231002").unwrap();
        assert_eq!(up.len(), 18);
        assert!(s.iter().any(|s| s.exact && s.prefix == reversed_digits(&up)));
    }

    #[test]
    fn upper_bound_brackets_every_extension() {
        let ub = upper_bound("zh");
        for k in ["zh", "zhang", "zhz", "zh\u{9fff}"] {
            assert!(k >= "zh" && *k < *ub.as_str(), "{k}");
        }
        assert!("zi" > ub.as_str());
    }
}
