//! Resident ID card numbers (公民身份号码, GB 11643-1999).
//!
//! This module owns turning what a clinic worker typed into a checked
//! [`IdNumber`], and cross-checking it against the sex and birth date entered
//! on the same form. An 18-character number is 6 address digits, 8 birth-date
//! digits (YYYYMMDD), 3 sequence digits (the 17th is odd for men, even for
//! women) and an ISO 7064 MOD 11-2 check character (`0`–`9` or `X`).
//!
//! Legacy 15-digit cards (6 address + YYMMDD + 3 sequence, no check
//! character) are still in drawers in villages. They are accepted and upgraded
//! to 18 characters by inserting "19" before the year and appending the
//! computed check character. "19" is always right: 15-digit cards were only
//! issued to people born 1900–1999, before the 18-character standard took over
//! in 1999, so no century guess is involved.
//!
//! The address code is deliberately not checked against today's division list:
//! it records where the person was registered when the card was issued, and
//! abolished codes remain valid in IDs.
//!
//! Privacy: an ID number identifies a person, so [`IdNumber`]'s `Debug` and
//! `Display` show only the masked form, and error texts meant for logs carry
//! no digits of the number.

use std::fmt;

use chrono::NaiveDate;

use super::to_halfwidth;
use crate::i18n::Msg;

/// GB 11643 weights for positions 1–17 (Wᵢ = 2^(18−i) mod 11).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// A checked 18-character ID number: digits, last one possibly `X`
/// (always uppercase), a real birth date not in the future.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

impl IdNumber {
    /// The full number, for storage and upload only; never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `220602********1234`: address code and last four kept so staff can
    /// tell records apart on screen, the birth date hidden.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }

    /// Birth date from digits 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        date_from_digits(&self.0[6..14]).expect("IdNumber is only built from a validated birth date")
    }

    /// GB/T 2261.1 sex code from the 17th digit: "1" male (odd), "2" female (even).
    pub fn sex_code(&self) -> &'static str {
        if digit_at(&self.0, 16) % 2 == 1 {
            "1"
        } else {
            "2"
        }
    }

    /// The 6-digit address (division) code at the time of issue.
    pub fn division(&self) -> &str {
        &self.0[..6]
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Why typed text is not a valid ID number. The `#[error]` texts are for
/// developers and contain no digits of the number; users see [`IdError::message`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("ID number is empty")]
    Empty,
    #[error("ID number has {len} characters; expected 18 (or 15 for a legacy card)")]
    WrongLength { len: usize },
    #[error("ID number has an invalid character at position {position}")]
    BadCharacter { position: usize },
    #[error("ID number's birth-date digits are not a real date")]
    ImpossibleDate { date_digits: String },
    #[error("ID number's birth date is in the future")]
    FutureDate,
    #[error("ID number's check character is wrong (expected {expected}, found {found})")]
    CheckDigit { expected: char, found: char },
}

impl IdError {
    /// The text shown to the clinic worker.
    pub fn message(&self) -> Msg {
        match self {
            IdError::Empty => Msg::new("identity.empty"),
            IdError::WrongLength { len } => Msg::new("identity.wrong_length").arg("len", len),
            IdError::BadCharacter { position } => Msg::new("identity.bad_character").arg("position", position),
            IdError::ImpossibleDate { date_digits } => Msg::new("identity.impossible_date").arg("date", date_digits),
            IdError::FutureDate => Msg::new("identity.future_date"),
            IdError::CheckDigit { expected, found } => Msg::new("identity.check_digit")
                .arg("expected", expected)
                .arg("found", found),
        }
    }
}

/// The check character for the first 17 digits. Callers pass 17 ASCII
/// digits; any other character counts as 0 rather than panicking.
pub fn check_char(first17: &str) -> char {
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    match (12 - sum % 11) % 11 {
        10 => 'X',
        d => char::from_digit(d, 10).unwrap_or('0'),
    }
}

/// Parses what a worker typed: surrounding whitespace is ignored, `x` and
/// full-width characters (from Chinese input methods) are accepted, and a
/// legacy 15-digit number is upgraded to 18 characters. `today` is injected so
/// the future-date check is testable.
pub fn parse_id(input: &str, today: NaiveDate) -> Result<IdNumber, IdError> {
    let chars: Vec<char> = input
        .trim()
        .chars()
        .map(|c| to_halfwidth(c).to_ascii_uppercase())
        .collect();
    if chars.is_empty() {
        return Err(IdError::Empty);
    }
    if chars.len() != 18 && chars.len() != 15 {
        return Err(IdError::WrongLength { len: chars.len() });
    }
    for (i, c) in chars.iter().enumerate() {
        let x_allowed = chars.len() == 18 && i == 17;
        if !(c.is_ascii_digit() || (x_allowed && *c == 'X')) {
            return Err(IdError::BadCharacter { position: i + 1 });
        }
    }
    let typed: String = chars.into_iter().collect();

    let first17 = if typed.len() == 15 {
        format!("{}19{}", &typed[..6], &typed[6..])
    } else {
        typed[..17].to_string()
    };

    let date_digits = &first17[6..14];
    let birth = date_from_digits(date_digits).ok_or_else(|| IdError::ImpossibleDate {
        date_digits: date_digits.to_string(),
    })?;
    if birth > today {
        return Err(IdError::FutureDate);
    }

    let expected = check_char(&first17);
    if typed.len() == 18 {
        let found = char::from(typed.as_bytes()[17]);
        if found != expected {
            return Err(IdError::CheckDigit { expected, found });
        }
    }
    Ok(IdNumber(format!("{first17}{expected}")))
}

/// Where the ID number disagrees with what was entered elsewhere on the form.
#[derive(Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The 17th digit says one sex (`id_says` is "1" or "2"), the form another.
    Sex { id_says: &'static str, entered: String },
    /// Digits 7–14 say one birth date, the form another.
    BirthDate { id_says: NaiveDate, entered: NaiveDate },
}

impl Mismatch {
    /// The text shown to the clinic worker, naming the part that disagrees.
    pub fn message(&self) -> Msg {
        match self {
            Mismatch::Sex { id_says: "1", .. } => Msg::new("identity.sex_mismatch_id_male"),
            Mismatch::Sex { .. } => Msg::new("identity.sex_mismatch_id_female"),
            Mismatch::BirthDate { id_says, entered } => Msg::new("identity.birth_mismatch")
                .arg("id_date", id_says.format("%Y-%m-%d"))
                .arg("entered", entered.format("%Y-%m-%d")),
        }
    }
}

// Birth dates are personal data: keep them out of `{:?}` in logs.
impl fmt::Debug for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Sex { id_says, entered } => f
                .debug_struct("Sex")
                .field("id_says", id_says)
                .field("entered", entered)
                .finish(),
            Mismatch::BirthDate { .. } => f.write_str("BirthDate { .. }"),
        }
    }
}

/// Compares the ID number with the sex code and birth date entered on the
/// form. Sex codes other than "1"/"2" ("9" not stated, "0" unknown, or a code
/// the form validator will reject anyway) are not treated as a mismatch.
pub fn check_consistency(id: &IdNumber, sex_code: Option<&str>, birth_date: Option<NaiveDate>) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(entered) = sex_code.map(str::trim) {
        let id_says = id.sex_code();
        if (entered == "1" || entered == "2") && entered != id_says {
            out.push(Mismatch::Sex {
                id_says,
                entered: entered.to_string(),
            });
        }
    }
    if let Some(entered) = birth_date {
        let id_says = id.birth_date();
        if entered != id_says {
            out.push(Mismatch::BirthDate { id_says, entered });
        }
    }
    out
}

fn digit_at(s: &str, index: usize) -> u32 {
    s.as_bytes()
        .get(index)
        .and_then(|b| char::from(*b).to_digit(10))
        .unwrap_or(0)
}

/// A real calendar date from 8 ASCII digits YYYYMMDD.
fn date_from_digits(d: &str) -> Option<NaiveDate> {
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = d[..4].parse().ok()?;
    let month: u32 = d[4..6].parse().ok()?;
    let day: u32 = d[6..].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()
    }

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn standard_test_vectors_are_valid() {
        let a = parse_id("11010519491231002X", today()).unwrap();
        assert_eq!(a.as_str(), "11010519491231002X");
        assert_eq!(a.birth_date(), ymd(1949, 12, 31));
        assert_eq!(a.sex_code(), "2");
        assert_eq!(a.division(), "110105");

        let b = parse_id("440524188001010014", today()).unwrap();
        assert_eq!(b.birth_date(), ymd(1880, 1, 1));
        assert_eq!(b.sex_code(), "1");
    }

    #[test]
    fn check_char_matches_the_standard() {
        assert_eq!(check_char("11010519491231002"), 'X');
        assert_eq!(check_char("44052418800101001"), '4');
        assert_eq!(check_char("22060219900101123"), '6');
        assert_eq!(check_char("22060220000229001"), '7');
    }

    #[test]
    fn lowercase_x_and_whitespace_are_accepted_and_normalised() {
        let id = parse_id("  11010519491231002x\t", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn full_width_input_from_chinese_ime_is_accepted() {
        let id = parse_id("１１０１０５１９４９１２３１００２Ｘ", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn wrong_check_digit_reports_expected_and_found() {
        let err = parse_id("220602199001011235", today()).unwrap_err();
        assert_eq!(
            err,
            IdError::CheckDigit {
                expected: '6',
                found: '5'
            }
        );
        let msg = err.message();
        assert_eq!(msg.key, "identity.check_digit");
        assert!(msg.args.contains(&("expected", "6".to_string())));
        assert!(msg.args.contains(&("found", "5".to_string())));
    }

    #[test]
    fn impossible_date_is_rejected() {
        // 1999-02-30 does not exist; check char computed so only the date is wrong.
        let first17 = "22060219990230001";
        let input = format!("{first17}{}", check_char(first17));
        assert_eq!(
            parse_id(&input, today()),
            Err(IdError::ImpossibleDate {
                date_digits: "19990230".into()
            })
        );
        // Feb 29 only in leap years.
        let first17 = "22060219890229001";
        let input = format!("{first17}{}", check_char(first17));
        assert!(matches!(parse_id(&input, today()), Err(IdError::ImpossibleDate { .. })));
        let first17 = "22060219880229003";
        let input = format!("{first17}{}", check_char(first17));
        assert_eq!(parse_id(&input, today()).unwrap().birth_date(), ymd(1988, 2, 29));
    }

    #[test]
    fn future_birth_date_is_rejected_but_today_is_fine() {
        let first17 = "22060220240602001";
        let input = format!("{first17}{}", check_char(first17));
        assert_eq!(parse_id(&input, today()), Err(IdError::FutureDate));

        let first17 = "22060220240601001";
        let input = format!("{first17}{}", check_char(first17));
        assert!(parse_id(&input, today()).is_ok());
    }

    #[test]
    fn length_and_character_errors() {
        assert_eq!(parse_id("   ", today()), Err(IdError::Empty));
        assert_eq!(
            parse_id("2206021990010112", today()),
            Err(IdError::WrongLength { len: 16 })
        );
        assert_eq!(
            parse_id("2206O2199001011236", today()),
            Err(IdError::BadCharacter { position: 5 })
        );
        // X is only allowed as the check character.
        assert_eq!(
            parse_id("22060219900101X236", today()),
            Err(IdError::BadCharacter { position: 15 })
        );
        // ...and a legacy number has no check character at all.
        assert_eq!(
            parse_id("11010580010100X", today()),
            Err(IdError::BadCharacter { position: 15 })
        );
    }

    #[test]
    fn legacy_15_digit_number_is_upgraded() {
        let id = parse_id("110105800101003", today()).unwrap();
        assert_eq!(id.as_str(), "110105198001010032");
        assert_eq!(id.birth_date(), ymd(1980, 1, 1));
        assert_eq!(id.sex_code(), "1");

        assert_eq!(
            parse_id("110105990230003", today()),
            Err(IdError::ImpossibleDate {
                date_digits: "19990230".into()
            })
        );
    }

    #[test]
    fn debug_and_display_are_masked() {
        let id = parse_id("220602199001011236", today()).unwrap();
        assert_eq!(id.masked(), "220602********1236");
        assert_eq!(id.to_string(), "220602********1236");
        let debug = format!("{id:?}");
        assert!(!debug.contains("19900101"), "{debug}");
        assert!(debug.contains("220602********1236"));
    }

    #[test]
    fn error_display_carries_no_birth_digits() {
        let err = IdError::ImpossibleDate {
            date_digits: "19990230".into(),
        };
        assert!(!err.to_string().contains("1999"));
    }

    #[test]
    fn consistent_entries_give_no_mismatch() {
        let id = parse_id("220602199001011236", today()).unwrap(); // 17th digit 3: male
        assert!(check_consistency(&id, Some("1"), Some(ymd(1990, 1, 1))).is_empty());
        assert!(check_consistency(&id, None, None).is_empty());
        // Not stated / unknown are not contradictions.
        assert!(check_consistency(&id, Some("9"), None).is_empty());
        assert!(check_consistency(&id, Some("0"), None).is_empty());
    }

    #[test]
    fn sex_mismatch_names_the_17th_digit() {
        let male = parse_id("220602199001011236", today()).unwrap();
        let found = check_consistency(&male, Some("2"), None);
        assert_eq!(
            found,
            vec![Mismatch::Sex {
                id_says: "1",
                entered: "2".into()
            }]
        );
        assert_eq!(found[0].message().key, "identity.sex_mismatch_id_male");

        let female = parse_id("220602199001011244", today()).unwrap();
        let found = check_consistency(&female, Some("1"), None);
        assert_eq!(found[0].message().key, "identity.sex_mismatch_id_female");
    }

    #[test]
    fn birth_mismatch_names_both_dates() {
        let id = parse_id("220602199001011236", today()).unwrap();
        let found = check_consistency(&id, Some("1"), Some(ymd(1990, 10, 1)));
        assert_eq!(
            found,
            vec![Mismatch::BirthDate {
                id_says: ymd(1990, 1, 1),
                entered: ymd(1990, 10, 1)
            }]
        );
        let msg = found[0].message();
        assert_eq!(msg.key, "identity.birth_mismatch");
        assert!(msg.args.contains(&("id_date", "1990-01-01".to_string())));
        assert!(msg.args.contains(&("entered", "1990-10-01".to_string())));
        assert!(!format!("{:?}", found[0]).contains("1990"));
    }

    #[test]
    fn both_mismatches_are_reported_together() {
        let id = parse_id("220602199001011236", today()).unwrap();
        let found = check_consistency(&id, Some("2"), Some(ymd(1991, 1, 1)));
        assert_eq!(found.len(), 2);
    }
}
