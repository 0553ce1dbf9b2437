//! The 17-digit resident health-record number (居民健康档案编号):
//! `AAAAAA-TTT-VVV-SSSSS` = 6-digit county-level division (GB/T 2260),
//! 3-digit township, 3-digit village / residents' committee, 5-digit serial.
//!
//! The village segment follows the health-record convention, not the
//! statistical division code: 001–099 residents' committee (居委会), 101–199
//! village committee (村委会), 901–999 other organisations. Anything else is
//! refused, because a mixed-up convention would give two residents of
//! different places numbers that look alike.
//!
//! Forms other than the cover print only the last 8 digits (`VVV-SSSSS`).

use std::fmt;

use super::to_halfwidth;
use crate::i18n::Msg;

/// A checked 17-digit health-record number, stored as digits only.
/// It is a record id, not personal data, so it may appear in logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordNoError {
    #[error("division code must be 6 digits")]
    DivisionFormat,
    #[error("township code must be 3 digits")]
    TownshipFormat,
    #[error("village code must be 3 digits")]
    VillageFormat,
    #[error("village code {village} is outside 001-099, 101-199 and 901-999")]
    VillageRange { village: String },
    #[error("serial {serial} is outside 1-99999")]
    SerialRange { serial: u32 },
    #[error("record number has {len} digits; expected 17")]
    WrongLength { len: usize },
    #[error("record number has an invalid character at position {position}")]
    BadCharacter { position: usize },
}

impl RecordNoError {
    /// The text shown to the clinic worker.
    pub fn message(&self) -> Msg {
        match self {
            RecordNoError::DivisionFormat => Msg::new("identity.record_no.division_format"),
            RecordNoError::TownshipFormat => Msg::new("identity.record_no.township_format"),
            RecordNoError::VillageFormat => Msg::new("identity.record_no.village_format"),
            RecordNoError::VillageRange { village } => {
                Msg::new("identity.record_no.village_range").arg("village", village)
            }
            RecordNoError::SerialRange { serial } => Msg::new("identity.record_no.serial_range").arg("serial", serial),
            RecordNoError::WrongLength { len } => Msg::new("identity.record_no.wrong_length").arg("len", len),
            RecordNoError::BadCharacter { position } => {
                Msg::new("identity.record_no.bad_character").arg("position", position)
            }
        }
    }
}

impl RecordNumber {
    /// The 17 digits, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `AAAAAA-TTT-VVV-SSSSS`, as printed on the cover page.
    pub fn display_grouped(&self) -> String {
        let s = &self.0;
        format!("{}-{}-{}-{}", &s[..6], &s[6..9], &s[9..12], &s[12..])
    }

    /// `VVV-SSSSS`, the number box on every form but the cover.
    pub fn last8(&self) -> String {
        format!("{}-{}", &self.0[9..12], &self.0[12..])
    }

    /// The personal serial (1–99999).
    pub fn serial(&self) -> u32 {
        // Five validated ASCII digits always parse.
        self.0[12..].parse().unwrap_or(0)
    }

    /// Division + township + village: the 12 digits shared by every record
    /// created for the same village, used to find the next free serial.
    pub fn site_prefix(&self) -> &str {
        &self.0[..12]
    }

    pub fn division(&self) -> &str {
        &self.0[..6]
    }

    pub fn township(&self) -> &str {
        &self.0[6..9]
    }

    pub fn village(&self) -> &str {
        &self.0[9..12]
    }
}

impl fmt::Display for RecordNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks the site codes a clinic is set up with (division 6 digits,
/// township 3 digits, village 3 digits in an allowed range).
pub fn validate_site_codes(division: &str, township: &str, village: &str) -> Result<(), RecordNoError> {
    if !all_digits(division, 6) {
        return Err(RecordNoError::DivisionFormat);
    }
    if !all_digits(township, 3) {
        return Err(RecordNoError::TownshipFormat);
    }
    if !all_digits(village, 3) {
        return Err(RecordNoError::VillageFormat);
    }
    let v: u32 = village.parse().map_err(|_| RecordNoError::VillageFormat)?;
    if !matches!(v, 1..=99 | 101..=199 | 901..=999) {
        return Err(RecordNoError::VillageRange {
            village: village.to_string(),
        });
    }
    Ok(())
}

/// Builds the number for a new record from the site codes and the next serial.
pub fn compose(division: &str, township: &str, village: &str, serial: u32) -> Result<RecordNumber, RecordNoError> {
    validate_site_codes(division, township, village)?;
    if !(1..=99_999).contains(&serial) {
        return Err(RecordNoError::SerialRange { serial });
    }
    Ok(RecordNumber(format!("{division}{township}{village}{serial:05}")))
}

/// Parses a typed or stored number; hyphens and spaces between groups are
/// allowed. Error positions count characters as typed (1-based).
pub fn parse(input: &str) -> Result<RecordNumber, RecordNoError> {
    let mut digits = String::with_capacity(17);
    for (i, c) in input.trim().chars().map(to_halfwidth).enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '-' | ' ' => {}
            _ => return Err(RecordNoError::BadCharacter { position: i + 1 }),
        }
    }
    if digits.len() != 17 {
        return Err(RecordNoError::WrongLength { len: digits.len() });
    }
    let serial: u32 = digits[12..]
        .parse()
        .map_err(|_| RecordNoError::WrongLength { len: digits.len() })?;
    compose(&digits[..6], &digits[6..9], &digits[9..12], serial)
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_and_views() {
        let n = compose("220602", "003", "105", 42).unwrap();
        assert_eq!(n.as_str(), "22060200310500042");
        assert_eq!(n.display_grouped(), "220602-003-105-00042");
        assert_eq!(n.last8(), "105-00042");
        assert_eq!(n.serial(), 42);
        assert_eq!(n.site_prefix(), "220602003105");
        assert_eq!((n.division(), n.township(), n.village()), ("220602", "003", "105"));
        assert_eq!(n.to_string(), "22060200310500042");
    }

    #[test]
    fn village_ranges() {
        for ok in ["001", "099", "101", "199", "901", "999"] {
            assert!(validate_site_codes("220602", "003", ok).is_ok(), "{ok}");
        }
        for bad in ["000", "100", "200", "399", "900"] {
            assert_eq!(
                validate_site_codes("220602", "003", bad),
                Err(RecordNoError::VillageRange { village: bad.into() }),
                "{bad}"
            );
        }
    }

    #[test]
    fn segment_formats() {
        assert_eq!(
            validate_site_codes("22060", "003", "105"),
            Err(RecordNoError::DivisionFormat)
        );
        assert_eq!(
            validate_site_codes("220602", "0a3", "105"),
            Err(RecordNoError::TownshipFormat)
        );
        assert_eq!(
            validate_site_codes("220602", "003", "１05"),
            Err(RecordNoError::VillageFormat)
        );
    }

    #[test]
    fn serial_range() {
        assert_eq!(
            compose("220602", "003", "105", 0),
            Err(RecordNoError::SerialRange { serial: 0 })
        );
        assert_eq!(
            compose("220602", "003", "105", 100_000),
            Err(RecordNoError::SerialRange { serial: 100_000 })
        );
        assert!(compose("220602", "003", "105", 99_999).is_ok());
    }

    #[test]
    fn parse_with_and_without_hyphens() {
        let a = parse("220602-003-105-00042").unwrap();
        let b = parse(" 22060200310500042 ").unwrap();
        assert_eq!(a, b);
        assert_eq!(parse("220602 003 105 00042").unwrap(), a);
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            parse("220602-003-105-0004"),
            Err(RecordNoError::WrongLength { len: 16 })
        );
        assert_eq!(
            parse("220602-003-1O5-00042"),
            Err(RecordNoError::BadCharacter { position: 13 })
        );
        assert_eq!(
            parse("220602-003-250-00042"),
            Err(RecordNoError::VillageRange { village: "250".into() })
        );
        assert_eq!(
            parse("220602-003-105-00000"),
            Err(RecordNoError::SerialRange { serial: 0 })
        );
    }

    #[test]
    fn messages_use_identity_keys() {
        let m = RecordNoError::VillageRange { village: "250".into() }.message();
        assert_eq!(m.key, "identity.record_no.village_range");
        assert!(m.args.contains(&("village", "250".to_string())));
    }
}
