//! The clinic's own indicators (rules.md §4): per programme, residents under
//! management in a period, 规范管理率 and 控制率, annual-exam coverage; and
//! the record indicators 建档率 and 使用率. Pure: the caller streams one
//! [`MemberHistory`] per membership (the clinic from SQLite, the platform
//! from its own store) and every figure comes out of [`judge`], so a
//! numerator can always be listed resident by resident.

use super::history::{LeaveReason, VisitFact};
use super::settings::Settings;
use super::visit::VisitStatus;
use crate::form::def::Programme;
use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

/// A calendar year or one of its quarters, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub months: u32,
}

impl Period {
    pub fn year(y: i32) -> Option<Period> {
        Some(Period {
            start: NaiveDate::from_ymd_opt(y, 1, 1)?,
            end: NaiveDate::from_ymd_opt(y, 12, 31)?,
            months: 12,
        })
    }

    pub fn quarter(y: i32, q: u32) -> Option<Period> {
        if !(1..=4).contains(&q) {
            return None;
        }
        let start = NaiveDate::from_ymd_opt(y, 3 * (q - 1) + 1, 1)?;
        let end = start.checked_add_months(Months::new(3))?.pred_opt()?;
        Some(Period { start, end, months: 3 })
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.start <= d && d <= self.end
    }

    /// The quarters (start, end) the period spans.
    fn quarters(&self) -> Vec<(NaiveDate, NaiveDate)> {
        let mut out = Vec::new();
        let mut s = self.start;
        while s <= self.end {
            let Some(e) = s.checked_add_months(Months::new(3)).and_then(|d| d.pred_opt()) else {
                break;
            };
            out.push((s, e.min(self.end)));
            let Some(next) = e.succ_opt() else { break };
            s = next;
        }
        out
    }
}

/// One membership with its visits (sorted by date), as the indicators need it.
#[derive(Debug, Clone)]
pub struct MemberHistory<'a> {
    pub resident_id: i64,
    pub programme: Programme,
    pub enrolled_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub left_reason: Option<LeaveReason>,
    pub visits: &'a [VisitFact],
    /// A health examination dated within the period.
    pub examined: bool,
}

/// How one member counts in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Judgement {
    /// 年内已管理: enrolled before the period ended and not gone before it began.
    pub managed: bool,
    pub face_to_face: u32,
    pub standardised: bool,
    /// The latest follow-up of the period on target (lost = not).
    pub controlled: bool,
    pub examined: bool,
}

pub fn judge(m: &MemberHistory, period: &Period, settings: &Settings) -> Judgement {
    let managed = m.enrolled_on <= period.end && m.left_on.is_none_or(|l| l >= period.start);
    if !managed {
        return Judgement::default();
    }
    let in_period: Vec<&VisitFact> = m.visits.iter().filter(|v| period.contains(v.date)).collect();
    let counts = |v: &VisitFact| {
        v.face_to_face && v.status == VisitStatus::Normal && (v.measured || !settings.standardised_needs_measurement)
    };
    let face_to_face = in_period.iter().filter(|v| counts(v)).count() as u32;
    let mut standardised = face_to_face >= settings.min_visits_for(period.months);
    if settings.standardised_needs_exam {
        standardised &= m.examined;
    }
    if settings.standardised_each_quarter {
        standardised &= period.quarters().iter().all(|(s, e)| {
            let under_management = m.enrolled_on <= *e && m.left_on.is_none_or(|l| l >= *s);
            !under_management || in_period.iter().any(|v| counts(v) && *s <= v.date && v.date <= *e)
        });
    }
    let lost = in_period.last().is_some_and(|v| v.status != VisitStatus::Normal)
        || (m.left_reason == Some(LeaveReason::Lost) && m.left_on.is_some_and(|l| l <= period.end));
    let controlled = !lost
        && in_period
            .iter()
            .rev()
            .find(|v| v.status == VisitStatus::Normal && v.measured)
            .is_some_and(|v| v.controlled == Some(true));
    Judgement {
        managed,
        face_to_face,
        standardised,
        controlled,
        examined: m.examined,
    }
}

/// A fraction, 0 when there is nothing to divide.
pub fn rate(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// One programme's figures; rates are fractions (0.5 = 50 %).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgrammeKpi {
    pub programme: &'static str,
    pub managed: u64,
    pub standardised: u64,
    pub standardised_rate: f64,
    pub controlled: u64,
    pub control_rate: f64,
    pub examined: u64,
    pub exam_rate: f64,
    /// Face-to-face follow-ups per month of the period.
    pub followups_by_month: Vec<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub managed: u64,
    pub standardised: u64,
    pub controlled: u64,
    pub examined: u64,
    pub by_month: Vec<u64>,
}

impl Tally {
    pub fn add(&mut self, m: &MemberHistory, j: &Judgement, period: &Period) {
        if !j.managed {
            return;
        }
        self.managed += 1;
        self.standardised += u64::from(j.standardised);
        self.controlled += u64::from(j.controlled);
        self.examined += u64::from(j.examined);
        if self.by_month.is_empty() {
            self.by_month = vec![0; period.months as usize];
        }
        for v in m.visits.iter().filter(|v| period.contains(v.date) && v.face_to_face) {
            let i = (v.date.year() - period.start.year()) * 12 + v.date.month0() as i32 - period.start.month0() as i32;
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| self.by_month.get_mut(i)) {
                *slot += 1;
            }
        }
    }

    pub fn finish(&self, programme: Programme, period: &Period) -> ProgrammeKpi {
        let mut by_month = self.by_month.clone();
        by_month.resize(period.months as usize, 0);
        ProgrammeKpi {
            programme: programme.key(),
            managed: self.managed,
            standardised: self.standardised,
            standardised_rate: rate(self.standardised, self.managed),
            controlled: self.controlled,
            control_rate: rate(self.controlled, self.managed),
            examined: self.examined,
            exam_rate: rate(self.examined, self.managed),
            followups_by_month: by_month,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn visit(date: &str, f2f: bool, controlled: Option<bool>) -> VisitFact {
        VisitFact {
            record_id: 0,
            date: d(date),
            face_to_face: f2f,
            status: VisitStatus::Normal,
            measured: controlled.is_some(),
            controlled,
            classification: None,
            referred: false,
            emergency: false,
            next_visit: None,
        }
    }

    fn member(visits: &[VisitFact]) -> MemberHistory<'_> {
        MemberHistory {
            resident_id: 1,
            programme: Programme::Hypertension,
            enrolled_on: d("2025-06-01"),
            left_on: None,
            left_reason: None,
            visits,
            examined: false,
        }
    }

    #[test]
    fn four_face_to_face_visits_make_standardised_and_a_phone_call_does_not_count() {
        let s = Settings::default();
        let y = Period::year(2026).unwrap();
        let mut vs = vec![
            visit("2026-01-10", true, Some(true)),
            visit("2026-04-10", true, Some(true)),
            visit("2026-07-10", true, Some(false)),
            visit("2026-10-10", false, Some(true)),
        ];
        let j = judge(&member(&vs), &y, &s);
        assert!(j.managed);
        assert_eq!(j.face_to_face, 3);
        assert!(!j.standardised, "the telephone visit does not count");
        assert!(
            j.controlled,
            "the latest visit (by telephone, BP reported) is on target"
        );
        vs[3].face_to_face = true;
        assert!(judge(&member(&vs), &y, &s).standardised);
        // A visit of the year before does not count for this one.
        vs[0].date = d("2025-12-31");
        assert!(!judge(&member(&vs), &y, &s).standardised);
        // Without BP a face-to-face visit does not count (setting on by default).
        vs[0].date = d("2026-01-10");
        vs[1].measured = false;
        assert!(!judge(&member(&vs), &y, &s).standardised);
        let lax = Settings {
            standardised_needs_measurement: false,
            ..Settings::default()
        };
        assert!(judge(&member(&vs), &y, &lax).standardised);
    }

    #[test]
    fn control_is_the_latest_measured_visit_and_lost_counts_as_not_controlled() {
        let s = Settings::default();
        let y = Period::year(2026).unwrap();
        let mut vs = vec![
            visit("2026-02-01", true, Some(true)),
            visit("2026-05-01", true, Some(false)),
        ];
        assert!(!judge(&member(&vs), &y, &s).controlled);
        vs.push(visit("2026-08-01", true, None));
        assert!(
            !judge(&member(&vs), &y, &s).controlled,
            "an unmeasured visit leaves the last measured one"
        );
        vs.push(visit("2026-09-01", true, Some(true)));
        assert!(judge(&member(&vs), &y, &s).controlled);
        let mut lost = visit("2026-12-01", false, None);
        lost.status = VisitStatus::Lost;
        vs.push(lost);
        assert!(!judge(&member(&vs), &y, &s).controlled);
        // No visit in the year: managed, neither standardised nor controlled.
        let j = judge(&member(&[]), &y, &s);
        assert!(j.managed && !j.standardised && !j.controlled);
    }

    #[test]
    fn membership_decides_who_is_managed_in_the_period() {
        let s = Settings::default();
        let y = Period::year(2026).unwrap();
        let mut m = member(&[]);
        m.enrolled_on = d("2027-01-01");
        assert!(!judge(&m, &y, &s).managed);
        m.enrolled_on = d("2026-12-31");
        assert!(judge(&m, &y, &s).managed);
        m.left_on = Some(d("2025-12-31"));
        m.enrolled_on = d("2024-01-01");
        assert!(!judge(&m, &y, &s).managed);
        m.left_on = Some(d("2026-01-01"));
        m.left_reason = Some(LeaveReason::Lost);
        let j = judge(&m, &y, &s);
        assert!(j.managed && !j.controlled);
    }

    #[test]
    fn a_quarter_needs_one_visit_and_quarters_can_be_required_within_a_year() {
        let s = Settings::default();
        let q2 = Period::quarter(2026, 2).unwrap();
        assert_eq!((q2.start, q2.end), (d("2026-04-01"), d("2026-06-30")));
        let vs = vec![visit("2026-06-30", true, Some(true))];
        let j = judge(&member(&vs), &q2, &s);
        assert!(j.standardised && j.controlled);
        let each = Settings {
            standardised_each_quarter: true,
            ..Settings::default()
        };
        let y = Period::year(2026).unwrap();
        let four_in_h1 = vec![
            visit("2026-01-10", true, Some(true)),
            visit("2026-02-10", true, Some(true)),
            visit("2026-04-10", true, Some(true)),
            visit("2026-05-10", true, Some(true)),
        ];
        assert!(judge(&member(&four_in_h1), &y, &s).standardised);
        assert!(!judge(&member(&four_in_h1), &y, &each).standardised);
        assert!(Period::quarter(2026, 5).is_none());
    }

    #[test]
    fn tallies_count_members_and_rates_are_fractions() {
        let s = Settings::default();
        let y = Period::year(2026).unwrap();
        let good = [
            visit("2026-01-10", true, Some(true)),
            visit("2026-04-10", true, Some(true)),
            visit("2026-07-10", true, Some(true)),
            visit("2026-10-10", true, Some(true)),
        ];
        let bad = [visit("2026-03-10", true, Some(false))];
        let mut t = Tally::default();
        for vs in [&good[..], &bad[..], &[][..]] {
            let m = member(vs);
            t.add(&m, &judge(&m, &y, &s), &y);
        }
        let k = t.finish(Programme::Hypertension, &y);
        assert_eq!((k.managed, k.standardised, k.controlled), (3, 1, 1));
        assert!((k.standardised_rate - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(k.followups_by_month[0], 1);
        assert_eq!(k.followups_by_month[2], 1);
        assert_eq!(k.followups_by_month.iter().sum::<u64>(), 5);
        assert_eq!(rate(0, 0), 0.0);
    }
}
