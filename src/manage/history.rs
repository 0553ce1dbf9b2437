//! A resident's programme history derived from their final records: which
//! programmes they belong to since when, the facts of each follow-up, when
//! they left, and the dates the worklist sorts by. Pure, so the clinic's
//! store and the platform's supervision derive exactly the same thing from
//! the same records.

use super::rules;
use super::visit::{Visit, VisitStatus};
use super::Settings;
use crate::form::answers::Answers;
use crate::form::def::{Programme, Role};
use crate::identity::age_on;
use chrono::{Days, NaiveDate};
use std::collections::HashMap;

/// A stored `YYYY-MM-DD` (derived tables hold nothing else), read by hand:
/// chrono's format parser costs more than the rest of a worklist row.
pub fn day(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() < 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?
            .iter()
            .try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)
}

pub fn text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn parse_programme(s: &str) -> Option<Programme> {
    match s {
        "hypertension" => Some(Programme::Hypertension),
        "diabetes" => Some(Programme::Diabetes),
        _ => None,
    }
}

/// Why a membership ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    Death,
    Lost,
    Moved,
    Other,
}

impl LeaveReason {
    pub fn key(self) -> &'static str {
        match self {
            LeaveReason::Death => "death",
            LeaveReason::Lost => "lost",
            LeaveReason::Moved => "moved",
            LeaveReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<LeaveReason> {
        match s {
            "death" => Some(LeaveReason::Death),
            "lost" => Some(LeaveReason::Lost),
            "moved" => Some(LeaveReason::Moved),
            "other" => Some(LeaveReason::Other),
            _ => None,
        }
    }
}

/// One finalized follow-up, as the indicators read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitFact {
    pub record_id: i64,
    pub date: NaiveDate,
    pub face_to_face: bool,
    pub status: VisitStatus,
    pub measured: bool,
    pub controlled: Option<bool>,
    pub classification: Option<u8>,
    pub referred: bool,
    pub emergency: bool,
    pub next_visit: Option<NaiveDate>,
}

/// What one final record says about the programmes: read once from its
/// answers, then all a history needs (the platform stores exactly this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFact {
    pub record_id: i64,
    pub role: Role,
    pub date: NaiveDate,
    /// Programmes the record enrols the resident in: the follow-up's own,
    /// or the diagnoses a registration or health exam records.
    pub enrols: Vec<Programme>,
    /// A follow-up's facts, with its programme.
    pub visit: Option<(Programme, VisitFact)>,
    /// A follow-up that records the resident's death.
    pub death: Option<NaiveDate>,
}

/// Programmes a registration or health exam says the resident has.
fn diagnoses(role: Role, a: &Answers) -> Vec<Programme> {
    let mut out = Vec::new();
    match role {
        Role::Registration => {
            for (path, _) in a.iter() {
                let mut parts = path.split('.');
                if parts.next() == Some("past_diseases") && parts.nth(1) == Some("disease") {
                    match a.text(path) {
                        Some("2") => out.push(Programme::Hypertension),
                        Some("3") => out.push(Programme::Diabetes),
                        _ => {}
                    }
                }
            }
        }
        Role::Exam => {
            let detail = a.text("other_system_disease.detail").unwrap_or("").to_lowercase();
            if a.text("other_system_disease") == Some("2") {
                if detail.contains("高血压") || detail.contains("hypertension") {
                    out.push(Programme::Hypertension);
                }
                if detail.contains("糖尿病") || detail.contains("diabetes") {
                    out.push(Programme::Diabetes);
                }
            }
            if a.codes("kidney_disease").iter().any(|c| c == "2") {
                out.push(Programme::Diabetes);
            }
        }
        _ => {}
    }
    out.dedup();
    out
}

/// Reads one final record. `date` is the record's date; `birth` gives the
/// age at the visit, which decides the blood-pressure target.
pub fn record_fact(
    record_id: i64,
    role: Role,
    programme: Option<Programme>,
    answers: &Answers,
    date: NaiveDate,
    birth: Option<NaiveDate>,
    settings: &Settings,
) -> RecordFact {
    let (Role::FollowUp, Some(p)) = (role, programme) else {
        return RecordFact {
            record_id,
            role,
            date,
            enrols: diagnoses(role, answers),
            visit: None,
            death: None,
        };
    };
    let visit = Visit::from_answers(answers, date);
    let vdate = visit.date.unwrap_or(date);
    let age = birth.and_then(|b| age_on(b, vdate));
    let a = rules::assess(p, age, &visit, None, settings);
    let death = (visit.status == VisitStatus::Dead).then(|| visit.death_date.unwrap_or(vdate));
    let fact = VisitFact {
        record_id,
        date: vdate,
        face_to_face: visit.method.is_some_and(|m| m.face_to_face()),
        status: visit.status,
        measured: visit.measured(p),
        controlled: rules::on_target(p, age, &visit),
        classification: visit.classification,
        referred: visit.referred,
        emergency: a.emergency,
        next_visit: visit.next_visit,
    };
    RecordFact {
        record_id,
        role,
        date,
        enrols: vec![p],
        visit: Some((p, fact)),
        death,
    }
}

/// A leave or rejoin a person recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub programme: Programme,
    pub on: NaiveDate,
    /// `Some` for leaving, `None` for coming back.
    pub leave: Option<LeaveReason>,
}

/// One programme membership with its visits and the dates that follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub programme: Programme,
    pub enrolled_on: NaiveDate,
    /// The record the enrolment comes from.
    pub source_record: i64,
    pub left: Option<(NaiveDate, LeaveReason)>,
    /// Sorted by date.
    pub visits: Vec<VisitFact>,
    pub last_visit: Option<NaiveDate>,
    pub last_face_to_face: Option<NaiveDate>,
    pub next_due: Option<NaiveDate>,
    pub referral_due: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Sorted by programme key.
    pub members: Vec<Member>,
    pub last_exam: Option<NaiveDate>,
}

/// Derives the history from a resident's record facts (any order) and
/// recorded events (in the order recorded).
pub fn derive(records: &[RecordFact], events: &[Event], settings: &Settings) -> History {
    let mut order: Vec<&RecordFact> = records.iter().collect();
    order.sort_by_key(|r| (r.date, r.record_id));
    let mut enrolled: HashMap<Programme, (NaiveDate, i64)> = HashMap::new();
    let mut visits: HashMap<Programme, Vec<VisitFact>> = HashMap::new();
    let mut died: Option<NaiveDate> = None;
    let mut last_exam: Option<NaiveDate> = None;
    for rec in order {
        if rec.role == Role::Exam {
            last_exam = last_exam.max(Some(rec.date));
        }
        for p in &rec.enrols {
            let e = enrolled.entry(*p).or_insert((rec.date, rec.record_id));
            if rec.date < e.0 {
                *e = (rec.date, rec.record_id);
            }
        }
        if let Some(d) = rec.death {
            died = Some(died.map_or(d, |x| x.min(d)));
        }
        if let Some((p, v)) = &rec.visit {
            visits.entry(*p).or_default().push(v.clone());
        }
    }
    let mut members: Vec<Member> = enrolled
        .into_iter()
        .map(|(p, (enrolled_on, source))| {
            let mut vs = visits.remove(&p).unwrap_or_default();
            vs.sort_by_key(|v| (v.date, v.record_id));
            member(p, enrolled_on, source, vs, events, died, settings)
        })
        .collect();
    members.sort_by_key(|m| m.programme.key());
    History { members, last_exam }
}

fn member(
    p: Programme,
    enrolled_on: NaiveDate,
    source_record: i64,
    vs: Vec<VisitFact>,
    events: &[Event],
    died: Option<NaiveDate>,
    settings: &Settings,
) -> Member {
    // Visits and events in date order: lost leaves, a later visit or a
    // rejoin comes back; death is final.
    let mut timeline: Vec<(NaiveDate, u8, Option<LeaveReason>)> = Vec::new();
    for v in &vs {
        match v.status {
            VisitStatus::Lost => timeline.push((v.date, 1, Some(LeaveReason::Lost))),
            VisitStatus::Normal => timeline.push((v.date, 0, None)),
            VisitStatus::Dead => {}
        }
    }
    for e in events.iter().filter(|e| e.programme == p) {
        timeline.push((e.on, u8::from(e.leave.is_some()), e.leave));
    }
    timeline.sort_by_key(|t| (t.0, t.1));
    let mut left: Option<(NaiveDate, LeaveReason)> = None;
    for (on, _, reason) in timeline {
        match reason {
            Some(r) if left.is_none() && on >= enrolled_on => left = Some((on, r)),
            None if left.is_some_and(|(l, _)| on > l) => left = None,
            _ => {}
        }
    }
    if let Some(d) = died {
        if left.is_none_or(|(l, _)| d < l) {
            left = Some((d, LeaveReason::Death));
        }
    }
    let normal: Vec<&VisitFact> = vs.iter().filter(|v| v.status == VisitStatus::Normal).collect();
    let last = normal.last().copied();
    let last_face_to_face = normal.iter().rev().find(|v| v.face_to_face).map(|v| v.date);
    let next_due = match last {
        Some(v) => v.next_visit.or_else(|| {
            let days = if v.controlled == Some(false) || v.referred || v.emergency {
                settings.revisit_days
            } else {
                settings.routine_interval_days
            };
            v.date.checked_add_days(Days::new(u64::from(days)))
        }),
        None => Some(enrolled_on),
    };
    let referral_due = last
        .filter(|v| v.referred || v.emergency)
        .and_then(|v| v.date.checked_add_days(Days::new(u64::from(settings.revisit_days))));
    Member {
        programme: p,
        enrolled_on,
        source_record,
        left,
        last_visit: last.map(|v| v.date),
        last_face_to_face,
        next_due,
        referral_due,
        visits: vs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        day(s).unwrap()
    }

    fn followup(id: i64, date: &str, status: VisitStatus, controlled: Option<bool>) -> RecordFact {
        RecordFact {
            record_id: id,
            role: Role::FollowUp,
            date: d(date),
            enrols: vec![Programme::Hypertension],
            visit: Some((
                Programme::Hypertension,
                VisitFact {
                    record_id: id,
                    date: d(date),
                    face_to_face: true,
                    status,
                    measured: true,
                    controlled,
                    classification: None,
                    referred: false,
                    emergency: false,
                    next_visit: None,
                },
            )),
            death: None,
        }
    }

    #[test]
    fn stored_days_read_by_hand_as_chrono_reads_them() {
        for s in ["2026-12-04", "2024-02-29", "1956-03-01T10:00:00+08:00"] {
            assert_eq!(day(s), NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").ok());
        }
        for s in [
            "2026-13-01",
            "2023-02-29",
            "2026/12/04",
            "20261204",
            "",
            "2026-1-04x",
            "２０２６-12-04",
        ] {
            assert_eq!(day(s), None, "{s}");
        }
    }

    #[test]
    fn an_uncontrolled_visit_is_due_again_within_the_revisit_days_and_records_come_in_any_order() {
        let s = Settings::default();
        let recs = [
            followup(2, "2026-03-10", VisitStatus::Normal, Some(false)),
            followup(1, "2026-01-05", VisitStatus::Normal, Some(true)),
        ];
        let h = derive(&recs, &[], &s);
        let m = &h.members[0];
        assert_eq!(m.enrolled_on, d("2026-01-05"));
        assert_eq!(m.source_record, 1);
        assert_eq!(m.visits.iter().map(|v| v.record_id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(
            m.next_due,
            d("2026-03-10").checked_add_days(Days::new(u64::from(s.revisit_days)))
        );
        assert_eq!(m.left, None);
    }

    #[test]
    fn lost_then_seen_again_is_back_and_a_rejoin_event_after_leaving_too() {
        let s = Settings::default();
        let recs = [
            followup(1, "2026-01-05", VisitStatus::Normal, Some(true)),
            followup(2, "2026-04-05", VisitStatus::Lost, None),
        ];
        let h = derive(&recs, &[], &s);
        assert_eq!(h.members[0].left, Some((d("2026-04-05"), LeaveReason::Lost)));
        let back = Event {
            programme: Programme::Hypertension,
            on: d("2026-05-01"),
            leave: None,
        };
        assert_eq!(derive(&recs, &[back], &s).members[0].left, None);
    }
}
