//! Identity fields a resident record hangs on: the ID card number, phone
//! numbers, the 17-digit health-record number and age. Each parser turns what
//! a worker typed into a checked type and explains failures through
//! `identity.*` i18n keys, so screens never invent their own wording.

pub mod age;
pub mod idcard;
pub mod phone;
pub mod record_no;

pub use age::age_on;
pub use idcard::{check_char, check_consistency, parse_id, IdError, IdNumber, Mismatch};
pub use phone::{mask_phone, parse_phone, PhoneError};
pub use record_no::{
    compose as compose_record_no, parse as parse_record_no, validate_site_codes, RecordNoError, RecordNumber,
};

/// Chinese input methods often produce full-width digits and letters
/// (`１２３Ｘ`); fold them to ASCII so they are not rejected as bad characters.
pub(crate) fn to_halfwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{I18n, Lang, Msg};
    use chrono::NaiveDate;

    /// Every message this module can produce, one per variant.
    fn all_messages() -> Vec<Msg> {
        let d = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or_default();
        let mut out: Vec<Msg> = [
            IdError::Empty,
            IdError::WrongLength { len: 16 },
            IdError::BadCharacter { position: 5 },
            IdError::ImpossibleDate {
                date_digits: "19990230".into(),
            },
            IdError::FutureDate,
            IdError::CheckDigit {
                expected: 'X',
                found: '5',
            },
        ]
        .iter()
        .map(IdError::message)
        .collect();
        out.extend(
            [
                Mismatch::Sex {
                    id_says: "1",
                    entered: "2".into(),
                },
                Mismatch::Sex {
                    id_says: "2",
                    entered: "1".into(),
                },
                Mismatch::BirthDate { id_says: d, entered: d },
            ]
            .iter()
            .map(Mismatch::message),
        );
        out.extend(
            [
                PhoneError::Empty,
                PhoneError::BadCharacter { position: 3 },
                PhoneError::MobileLength { len: 10 },
                PhoneError::MobilePrefix,
                PhoneError::MissingAreaCode,
                PhoneError::BadLandline,
                PhoneError::Unrecognized,
            ]
            .iter()
            .map(PhoneError::message),
        );
        out.extend(
            [
                RecordNoError::DivisionFormat,
                RecordNoError::TownshipFormat,
                RecordNoError::VillageFormat,
                RecordNoError::VillageRange { village: "250".into() },
                RecordNoError::SerialRange { serial: 0 },
                RecordNoError::WrongLength { len: 16 },
                RecordNoError::BadCharacter { position: 2 },
            ]
            .iter()
            .map(RecordNoError::message),
        );
        out
    }

    #[test]
    fn every_message_exists_and_fills_its_placeholders() {
        for lang in [Lang::Zh, Lang::En] {
            let i18n = I18n::new(lang);
            for msg in all_messages() {
                let text = i18n.msg(&msg);
                assert_ne!(text, msg.key, "{lang:?}: missing key {}", msg.key);
                assert!(!text.contains('{'), "{lang:?}: {} left {text}", msg.key);
            }
        }
    }

    #[test]
    fn halfwidth_folding() {
        assert_eq!(to_halfwidth('１'), '1');
        assert_eq!(to_halfwidth('Ｘ'), 'X');
        assert_eq!(to_halfwidth('张'), '张');
    }
}
