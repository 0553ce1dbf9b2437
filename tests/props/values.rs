//! Dates and numbers as typed into a form.

use crate::{date_between, full_width, today, typed};
use chrono::NaiveDate;
use jkda::form::answers::{parse_date, parse_number};
use proptest::prelude::*;

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
