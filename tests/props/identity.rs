//! ID card numbers, phone numbers and health-record numbers as typed.

use crate::{date_between, full_width, today, typed, valid_id};
use chrono::{Duration, NaiveDate};
use jkda::identity::{check_char, compose_record_no, mask_phone, parse_id, parse_phone, parse_record_no, IdError};
use proptest::prelude::*;

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
