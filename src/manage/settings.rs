//! The management settings (`[management]` in `config.toml`). Where the
//! 规范 gives a number it is the default here; where it does not (marked
//! [U] or *(impl)* in the reference) the default is our reading, and the
//! README says so, so a county can set its own rule.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// A controlled patient's next visit at most this many days later
    /// (the 规范 only says "book the next visit"; quarterly keeps ≥4 a year). [U]
    pub routine_interval_days: u32,
    /// Uncontrolled, adverse reaction, emergency or referral: revisit within
    /// this many days (规范: 2 weeks).
    pub revisit_days: u32,
    /// 规范管理: at least this many face-to-face follow-ups in the year
    /// (clinic or home; telephone does not count). *(impl)*
    pub standardised_min_visits: u32,
    /// A face-to-face visit counts only with its BP (hypertension) or FBG
    /// (diabetes) recorded.
    pub standardised_needs_measurement: bool,
    /// 规范管理 also needs the year's health examination (some provinces).
    pub standardised_needs_exam: bool,
    /// 规范管理 also needs a face-to-face visit in every quarter the patient
    /// was under management (some provinces).
    pub standardised_each_quarter: bool,
    /// "Due this week": due within this many days from today.
    pub due_soon_days: u32,
    /// Overdue by more than this many days: a lost-to-follow-up candidate.
    pub lost_after_days: u32,
    /// Permanent residents (常住人口) of the site, for 建档率.
    pub population: Option<u32>,
    /// Permanent residents per village code (3 digits), for 建档率 by village.
    pub village_population: BTreeMap<String, u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            routine_interval_days: 90,
            revisit_days: 14,
            standardised_min_visits: 4,
            standardised_needs_measurement: true,
            standardised_needs_exam: false,
            standardised_each_quarter: false,
            due_soon_days: 7,
            lost_after_days: 90,
            population: None,
            village_population: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// Face-to-face visits that make a period of `months` months 规范管理:
    /// the yearly minimum pro rata, at least one (a quarter of a 4-a-year
    /// rule needs one visit).
    pub fn min_visits_for(&self, months: u32) -> u32 {
        (self.standardised_min_visits * months).div_ceil(12).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_needs_a_quarter_of_the_visits_rounded_up() {
        let s = Settings::default();
        assert_eq!(s.min_visits_for(12), 4);
        assert_eq!(s.min_visits_for(3), 1);
        let six = Settings {
            standardised_min_visits: 6,
            ..Settings::default()
        };
        assert_eq!(six.min_visits_for(3), 2);
        assert_eq!(six.min_visits_for(12), 6);
    }

    #[test]
    fn config_section_parses_with_defaults_for_what_is_missing() {
        let s: Settings = toml::from_str("revisit_days = 10\n[village_population]\n\"101\" = 1200\n").unwrap();
        assert_eq!(s.revisit_days, 10);
        assert_eq!(s.routine_interval_days, 90);
        assert_eq!(s.village_population.get("101"), Some(&1200));
        assert!(toml::from_str::<Settings>("revisit = 10").is_err());
    }
}
