//! The clinic's worklist: who needs what, most urgent first. Pure: the
//! store hands in one [`Candidate`] per active membership (and per
//! older adult without this year's exam), with today from the clock.

use super::settings::Settings;
use crate::domain::debug_shows;
use crate::form::def::Programme;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// What is due, in order of urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A referral (or emergency referral) awaiting its 2-week follow-up.
    Referral,
    /// A follow-up past its date.
    Overdue,
    /// A follow-up due within the coming days.
    DueSoon,
    /// Under management but not seen face to face this quarter.
    NoVisitThisQuarter,
    /// No health examination this year (programme members and over-65s).
    ExamDue,
    /// Overdue so long that they may be lost to follow-up.
    LostCandidate,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Referral,
        Kind::Overdue,
        Kind::DueSoon,
        Kind::NoVisitThisQuarter,
        Kind::ExamDue,
        Kind::LostCandidate,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Kind::Referral => "referral",
            Kind::Overdue => "overdue",
            Kind::DueSoon => "due_soon",
            Kind::NoVisitThisQuarter => "no_visit_this_quarter",
            Kind::ExamDue => "exam_due",
            Kind::LostCandidate => "lost_candidate",
        }
    }
}

/// One active membership (or an older adult, `programme: None`) as the
/// store found it.
#[derive(Clone, PartialEq, Eq)]
pub struct Candidate {
    pub resident_id: i64,
    pub name: String,
    pub sex: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub village_code: String,
    pub village: String,
    pub programme: Option<Programme>,
    pub enrolled_on: Option<NaiveDate>,
    pub last_f2f: Option<NaiveDate>,
    pub next_due: Option<NaiveDate>,
    pub referral_due: Option<NaiveDate>,
    pub last_exam: Option<NaiveDate>,
}

debug_shows!(Candidate: resident_id, programme);

#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub kind: Kind,
    pub resident_id: i64,
    pub name: String,
    pub sex: Option<String>,
    pub age: Option<u32>,
    pub village_code: String,
    pub village: String,
    pub programme: Option<&'static str>,
    pub due: Option<NaiveDate>,
    /// Days past the due date (0 when not yet due).
    pub days_overdue: i64,
    /// The form to start when the item is opened.
    pub form_id: &'static str,
}

debug_shows!(Item: kind, resident_id, days_overdue);

pub fn followup_form(p: Programme) -> &'static str {
    match p {
        Programme::Hypertension => "hypertension-followup",
        Programme::Diabetes => "diabetes-followup",
    }
}

pub const EXAM_FORM: &str = "health-exam";

/// The first day of the quarter `d` is in.
pub fn quarter_start(d: NaiveDate) -> NaiveDate {
    let m = (d.month0() / 3) * 3 + 1;
    NaiveDate::from_ymd_opt(d.year(), m, 1).unwrap_or(d)
}

/// What sorts an item: the kind, then the longest overdue, the earliest
/// due, the resident.
type Rank = (Kind, std::cmp::Reverse<i64>, Option<NaiveDate>, i64);

struct Ranked(Rank, Item);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

/// The worklist: the most urgent `limit` items, and how many of each kind
/// there are in all.
#[derive(Debug, Clone, Default)]
pub struct Worklist {
    pub items: Vec<Item>,
    pub counts: Vec<(Kind, usize)>,
    pub total: usize,
}

/// Classifies candidates one at a time, keeping only the most urgent
/// `limit` items, so a county's worklist needs no more memory than a
/// screenful of it. Candidates of one resident must come together (the
/// exam item is listed once per resident).
pub struct Builder<'a> {
    today: NaiveDate,
    settings: &'a Settings,
    soon: NaiveDate,
    quarter: NaiveDate,
    year_start: NaiveDate,
    limit: usize,
    heap: std::collections::BinaryHeap<Ranked>,
    counts: std::collections::BTreeMap<Kind, usize>,
    last_exam_listed: Option<i64>,
}

impl<'a> Builder<'a> {
    pub fn new(today: NaiveDate, settings: &'a Settings, limit: usize) -> Self {
        Builder {
            today,
            settings,
            soon: today + chrono::Days::new(u64::from(settings.due_soon_days)),
            quarter: quarter_start(today),
            year_start: NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
            limit,
            heap: Default::default(),
            counts: Default::default(),
            last_exam_listed: None,
        }
    }

    /// Counts the item and keeps it if it is among the `limit` most urgent
    /// so far; an item that would not be kept is never built.
    fn offer(&mut self, c: &Candidate, kind: Kind, due: Option<NaiveDate>, form_id: &'static str) {
        *self.counts.entry(kind).or_default() += 1;
        let days_overdue = due.map(|d| (self.today - d).num_days().max(0)).unwrap_or(0);
        let rank = (kind, std::cmp::Reverse(days_overdue), due, c.resident_id);
        if self.heap.len() >= self.limit && self.heap.peek().is_none_or(|worst| rank >= worst.0) {
            return;
        }
        let item = Item {
            kind,
            resident_id: c.resident_id,
            name: c.name.clone(),
            sex: c.sex.clone(),
            age: c.birth_date.and_then(|b| crate::identity::age_on(b, self.today)),
            village_code: c.village_code.clone(),
            village: c.village.clone(),
            programme: c.programme.map(Programme::key),
            due,
            days_overdue,
            form_id,
        };
        self.heap.push(Ranked(rank, item));
        if self.heap.len() > self.limit {
            self.heap.pop();
        }
    }

    pub fn add(&mut self, c: &Candidate) {
        let today = self.today;
        if let Some(p) = c.programme {
            let form = followup_form(p);
            let lost_after = i64::from(self.settings.lost_after_days);
            // A referral not followed up for months is a lost candidate too.
            let referral = c.referral_due.filter(|r| (today - *r).num_days() <= lost_after);
            let followup = if let Some(r) = referral {
                Some((Kind::Referral, Some(r)))
            } else {
                match c.referral_due.or(c.next_due) {
                    Some(d) if (today - d).num_days() > lost_after => Some((Kind::LostCandidate, Some(d))),
                    Some(d) if d < today => Some((Kind::Overdue, Some(d))),
                    Some(d) if d < self.soon => Some((Kind::DueSoon, Some(d))),
                    _ => None,
                }
            };
            let seen_this_quarter = c.last_f2f.is_some_and(|d| d >= self.quarter);
            let enrolled_this_quarter = c.enrolled_on.is_some_and(|d| d >= self.quarter);
            match followup {
                Some((kind, due)) => self.offer(c, kind, due, form),
                None if !seen_this_quarter && !enrolled_this_quarter => {
                    self.offer(c, Kind::NoVisitThisQuarter, c.next_due, form)
                }
                None => {}
            }
        }
        // One exam item per resident, whatever their programmes.
        if c.last_exam.is_none_or(|d| d < self.year_start) && self.last_exam_listed != Some(c.resident_id) {
            self.last_exam_listed = Some(c.resident_id);
            self.offer(c, Kind::ExamDue, None, EXAM_FORM);
        }
    }

    pub fn finish(self) -> Worklist {
        let items: Vec<Item> = self.heap.into_sorted_vec().into_iter().map(|r| r.1).collect();
        let total = self.counts.values().sum();
        Worklist {
            items,
            counts: self.counts.into_iter().collect(),
            total,
        }
    }
}

/// Classifies candidates into worklist items (a member can have a
/// follow-up item and an exam item), most urgent first.
pub fn build(candidates: &[Candidate], today: NaiveDate, settings: &Settings) -> Vec<Item> {
    let mut b = Builder::new(today, settings, usize::MAX);
    for c in candidates {
        b.add(c);
    }
    b.finish().items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn member(id: i64, next_due: &str) -> Candidate {
        Candidate {
            resident_id: id,
            name: format!("r{id}"),
            sex: Some("1".into()),
            birth_date: Some(d("1956-03-01")),
            village_code: "101".into(),
            village: "v".into(),
            programme: Some(Programme::Hypertension),
            enrolled_on: Some(d("2025-01-01")),
            last_f2f: Some(d("2026-10-20")),
            next_due: Some(d(next_due)),
            referral_due: None,
            last_exam: Some(d("2026-03-01")),
        }
    }

    #[test]
    fn items_are_classified_and_sorted_by_urgency() {
        let today = d("2026-12-04");
        let s = Settings::default();
        let mut referral = member(1, "2026-12-20");
        referral.referral_due = Some(d("2026-12-01"));
        let overdue_3 = member(2, "2026-12-01");
        let overdue_10 = member(3, "2026-11-24");
        let soon = member(4, "2026-12-10");
        let later = member(5, "2026-12-11");
        let lost = member(6, "2026-09-04");
        let mut unseen = member(7, "2027-01-20");
        unseen.last_f2f = Some(d("2026-09-30"));
        let mut no_exam = member(8, "2027-02-01");
        no_exam.last_exam = Some(d("2025-12-31"));
        let mut older = member(9, "2027-02-01");
        older.programme = None;
        older.last_exam = None;
        let items = build(
            &[
                referral, overdue_3, overdue_10, soon, later, lost, unseen, no_exam, older,
            ],
            today,
            &s,
        );
        let got: Vec<(Kind, i64, i64)> = items.iter().map(|i| (i.kind, i.resident_id, i.days_overdue)).collect();
        assert_eq!(
            got,
            vec![
                (Kind::Referral, 1, 3),
                (Kind::Overdue, 3, 10),
                (Kind::Overdue, 2, 3),
                (Kind::DueSoon, 4, 0),
                (Kind::NoVisitThisQuarter, 7, 0),
                (Kind::ExamDue, 8, 0),
                (Kind::ExamDue, 9, 0),
                (Kind::LostCandidate, 6, 91),
            ]
        );
        assert_eq!(items[0].form_id, "hypertension-followup");
        assert_eq!(items[6].form_id, "health-exam");
        assert_eq!(items[0].age, Some(70));
    }

    #[test]
    fn a_referral_never_followed_up_for_months_becomes_a_lost_candidate() {
        let today = d("2026-12-04");
        let s = Settings::default();
        let mut old = member(1, "2027-01-01");
        old.referral_due = Some(d("2026-09-04"));
        let mut recent = member(2, "2027-01-01");
        recent.referral_due = Some(d("2026-09-05"));
        let items = build(&[old, recent], today, &s);
        let got: Vec<(Kind, i64, i64)> = items.iter().map(|i| (i.kind, i.resident_id, i.days_overdue)).collect();
        assert_eq!(got, vec![(Kind::Referral, 2, 90), (Kind::LostCandidate, 1, 91)]);
    }

    #[test]
    fn a_limited_worklist_keeps_the_most_urgent_and_counts_everything() {
        let today = d("2026-12-04");
        let s = Settings::default();
        let mut b = Builder::new(today, &s, 2);
        for (id, due) in [
            (1, "2026-12-01"),
            (2, "2026-11-20"),
            (3, "2026-12-10"),
            (4, "2026-11-30"),
        ] {
            b.add(&member(id, due));
        }
        let w = b.finish();
        let got: Vec<i64> = w.items.iter().map(|i| i.resident_id).collect();
        assert_eq!(got, vec![2, 4], "the two longest overdue");
        assert_eq!(w.counts, vec![(Kind::Overdue, 3), (Kind::DueSoon, 1)]);
        assert_eq!(w.total, 4);
    }

    #[test]
    fn ninety_days_overdue_is_still_overdue_ninety_one_is_a_lost_candidate() {
        let today = d("2026-12-04");
        let s = Settings::default();
        let items = build(&[member(1, "2026-09-05"), member(2, "2026-09-04")], today, &s);
        assert_eq!(items[0].kind, Kind::Overdue);
        assert_eq!(items[0].days_overdue, 90);
        assert_eq!(items[1].kind, Kind::LostCandidate);
        assert_eq!(quarter_start(today), d("2026-10-01"));
        // Due in exactly 7 days is not "this week"; 6 days is.
        let items = build(&[member(1, "2026-12-11"), member(2, "2026-12-10")], today, &s);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].resident_id, 2);
    }
}
