//! Age in completed years (周岁), the age the service rules use (e.g. the
//! 65-and-over elderly programme). The date is always passed in: the core
//! never reads the clock.

use chrono::{Datelike, NaiveDate};

/// Completed years of age on `on`, or `None` if `on` is before `birth`.
///
/// Someone born on 29 February has a birthday only in leap years; in other
/// years the new year of age starts on 1 March (28 February is still the
/// day before the birthday). This falls out of comparing (month, day).
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    if on < birth {
        return None;
    }
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn counts_completed_years() {
        let birth = ymd(1959, 6, 15);
        assert_eq!(age_on(birth, ymd(2024, 6, 14)), Some(64));
        assert_eq!(age_on(birth, ymd(2024, 6, 15)), Some(65));
        assert_eq!(age_on(birth, ymd(2024, 12, 31)), Some(65));
    }

    #[test]
    fn newborn_and_before_birth() {
        let birth = ymd(2024, 3, 1);
        assert_eq!(age_on(birth, birth), Some(0));
        assert_eq!(age_on(birth, ymd(2024, 2, 29)), None);
    }

    #[test]
    fn leap_day_birthdays() {
        let birth = ymd(2000, 2, 29);
        assert_eq!(age_on(birth, ymd(2001, 2, 28)), Some(0));
        assert_eq!(age_on(birth, ymd(2001, 3, 1)), Some(1));
        assert_eq!(age_on(birth, ymd(2004, 2, 28)), Some(3));
        assert_eq!(age_on(birth, ymd(2004, 2, 29)), Some(4));
    }
}
