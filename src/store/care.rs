//! What the management rules keep beside the records: programme membership
//! (enrolment, leaving, with dates and never deleted), one row of facts per
//! finalized follow-up visit, and per member the dates the worklist sorts by.
//!
//! Everything here is derived from a resident's final records (plus the
//! leave/rejoin events a person records), recomputed for that resident in
//! the same transaction as every change to them ([`refresh`]), so it can
//! never drift from the records; a database from before this table existed
//! is filled once at open ([`backfill_if_needed`]).

use super::{audit, now_text, Actor, Result, Store, StoreError};
use crate::form::answers::Answers;
use crate::form::def::{Programme, Role};
use crate::form::Registry;
use crate::identity::age_on;
use crate::manage::rules;
use crate::manage::visit::{Visit, VisitStatus};
use crate::manage::Settings;
use chrono::{Days, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::HashMap;
use std::sync::OnceLock;

const DAY: &str = "%Y-%m-%d";

/// A stored `YYYY-MM-DD` (the derived tables hold nothing else), read by
/// hand: chrono's format parser costs more than the rest of a worklist row.
pub(crate) fn day(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?
            .iter()
            .try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)
}

pub(crate) fn text(d: NaiveDate) -> String {
    d.format(DAY).to_string()
}

#[cfg(test)]
mod day_tests {
    #[test]
    fn stored_days_read_by_hand_as_chrono_reads_them() {
        for s in ["2026-12-04", "2024-02-29", "1956-03-01T10:00:00+08:00"] {
            assert_eq!(
                super::day(s),
                chrono::NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").ok()
            );
        }
        for s in ["2026-13-01", "2023-02-29", "2026/12/04", "20261204", "", "2026-1-04x"] {
            assert_eq!(super::day(s), None, "{s}");
        }
    }
}

pub fn parse_programme(s: &str) -> Option<Programme> {
    match s {
        "hypertension" => Some(Programme::Hypertension),
        "diabetes" => Some(Programme::Diabetes),
        _ => None,
    }
}

/// What each form is, by id: the derived tables need to know which records
/// are follow-ups of which programme, registrations or health exams.
#[derive(Debug, Clone, Default)]
pub struct FormKinds(HashMap<String, (Role, Option<Programme>)>);

impl FormKinds {
    pub fn from_registry(r: &Registry) -> FormKinds {
        FormKinds(r.all().map(|d| (d.id.clone(), (d.role, d.programme))).collect())
    }

    fn get(&self, form_id: &str) -> Option<(Role, Option<Programme>)> {
        self.0.get(form_id).copied()
    }

    /// Form ids of health examinations.
    pub fn exam_forms(&self) -> Vec<String> {
        self.with_role(Role::Exam)
    }

    /// Every form id, sorted.
    pub fn all_ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self.0.keys().cloned().collect();
        v.sort();
        v
    }

    pub fn with_role(&self, role: Role) -> Vec<String> {
        let mut v: Vec<String> = self
            .0
            .iter()
            .filter(|(_, (r, _))| *r == role)
            .map(|(k, _)| k.clone())
            .collect();
        v.sort();
        v
    }
}

/// The forms shipped with jkda; a site's own `forms_dir` keeps their ids.
pub fn kinds() -> &'static FormKinds {
    static KINDS: OnceLock<FormKinds> = OnceLock::new();
    KINDS.get_or_init(|| FormKinds::from_registry(&Registry::embedded()))
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

/// A resident's membership of one programme.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Membership {
    pub programme: Programme,
    pub enrolled_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    pub left_reason: Option<LeaveReason>,
    pub last_visit: Option<NaiveDate>,
    pub next_due: Option<NaiveDate>,
    pub referral_due: Option<NaiveDate>,
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

struct FinalRecord {
    id: i64,
    form_id: String,
    date: Option<NaiveDate>,
    answers: Answers,
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
    out
}

/// Recomputes one resident's memberships and visit facts from their final
/// records and recorded events. Runs inside the caller's transaction.
pub(crate) fn refresh(conn: &Connection, resident_id: i64, settings: &Settings) -> Result<()> {
    let kinds = kinds();
    let (birth, record_no): (Option<String>, String) = conn
        .query_row(
            "SELECT birth_date, record_no FROM residents WHERE id = ?1",
            params![resident_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or_default();
    let birth = birth.as_deref().and_then(day);
    let village = record_no.get(9..12).unwrap_or("");
    let mut stmt = conn.prepare_cached(
        "SELECT id, form_id, record_date, answers FROM records
         WHERE resident_id = ?1 AND status = 'final' ORDER BY record_date, id",
    )?;
    let records: Vec<FinalRecord> = stmt
        .query_map(params![resident_id], |r| {
            let date: Option<String> = r.get(2)?;
            let answers: String = r.get(3)?;
            Ok(FinalRecord {
                id: r.get(0)?,
                form_id: r.get(1)?,
                date: date.as_deref().and_then(day),
                answers: serde_json::from_str(&answers).unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    conn.prepare_cached("DELETE FROM visits WHERE resident_id = ?1")?
        .execute(params![resident_id])?;

    // Enrolment: the first record that says so; visits per programme.
    let mut enrolled: HashMap<Programme, (NaiveDate, i64)> = HashMap::new();
    let mut visits: HashMap<Programme, Vec<VisitFact>> = HashMap::new();
    let mut died: Option<NaiveDate> = None;
    let mut last_exam: Option<NaiveDate> = None;
    for rec in &records {
        let Some((role, programme)) = kinds.get(&rec.form_id) else {
            continue;
        };
        let Some(date) = rec.date else { continue };
        if role == Role::Exam {
            last_exam = last_exam.max(Some(date));
        }
        let found = match (role, programme) {
            (Role::FollowUp, Some(p)) => vec![p],
            (role, _) => diagnoses(role, &rec.answers),
        };
        for p in found {
            let e = enrolled.entry(p).or_insert((date, rec.id));
            if date < e.0 {
                *e = (date, rec.id);
            }
        }
        let (Role::FollowUp, Some(p)) = (role, programme) else {
            continue;
        };
        let visit = Visit::from_answers(&rec.answers, date);
        let vdate = visit.date.unwrap_or(date);
        let age = birth.and_then(|b| age_on(b, vdate));
        let a = rules::assess(p, age, &visit, None, settings);
        if visit.status == VisitStatus::Dead {
            let d = visit.death_date.unwrap_or(vdate);
            died = Some(died.map_or(d, |x| x.min(d)));
        }
        let fact = VisitFact {
            record_id: rec.id,
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
        conn.prepare_cached(
            "INSERT INTO visits (record_id, resident_id, programme, visit_date, face_to_face, status, measured,
                 controlled, classification, referred, emergency, next_visit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            fact.record_id,
            resident_id,
            p.key(),
            text(fact.date),
            fact.face_to_face,
            fact.status.code(),
            fact.measured,
            fact.controlled,
            fact.classification,
            fact.referred,
            fact.emergency,
            fact.next_visit.map(text),
        ])?;
        visits.entry(p).or_default().push(fact);
    }

    // Events a person recorded (moved away, ...), in date order.
    let mut stmt = conn.prepare_cached(
        "SELECT programme, event, on_date, reason FROM programme_events WHERE resident_id = ?1 ORDER BY on_date, id",
    )?;
    let events: Vec<(String, String, String, String)> = stmt
        .query_map(params![resident_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;

    let mut names = Vec::new();
    for (p, (enrolled_on, source)) in &enrolled {
        names.push(p.key());
        let vs = visits.remove(p).unwrap_or_default();
        let mut vs = vs;
        vs.sort_by_key(|v| (v.date, v.record_id));
        // Walk visits and events in date order: lost leaves, a later visit
        // or a rejoin event comes back; death is final.
        let mut timeline: Vec<(NaiveDate, u8, Option<LeaveReason>)> = Vec::new();
        for v in &vs {
            match v.status {
                VisitStatus::Lost => timeline.push((v.date, 1, Some(LeaveReason::Lost))),
                VisitStatus::Normal => timeline.push((v.date, 0, None)),
                VisitStatus::Dead => {}
            }
        }
        for (ep, ev, on, reason) in &events {
            if ep != p.key() {
                continue;
            }
            let Some(on) = day(on) else { continue };
            match ev.as_str() {
                "leave" => timeline.push((on, 1, LeaveReason::parse(reason).or(Some(LeaveReason::Other)))),
                _ => timeline.push((on, 0, None)),
            }
        }
        timeline.sort_by_key(|t| (t.0, t.1));
        let mut left: Option<(NaiveDate, LeaveReason)> = None;
        for (on, _, reason) in timeline {
            match reason {
                Some(r) if left.is_none() && on >= *enrolled_on => left = Some((on, r)),
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
        let last_f2f = normal.iter().rev().find(|v| v.face_to_face).map(|v| v.date);
        let next_due = match last {
            Some(v) => v.next_visit.or_else(|| {
                let days = if v.controlled == Some(false) || v.referred || v.emergency {
                    settings.revisit_days
                } else {
                    settings.routine_interval_days
                };
                v.date.checked_add_days(Days::new(u64::from(days)))
            }),
            None => Some(*enrolled_on),
        };
        let referral_due = last
            .filter(|v| v.referred || v.emergency)
            .and_then(|v| v.date.checked_add_days(Days::new(u64::from(settings.revisit_days))));
        conn.prepare_cached(
            "INSERT INTO memberships (resident_id, programme, enrolled_on, source_record, left_on, left_reason,
                 last_visit, last_f2f, next_due, referral_due, village, birth_date, last_exam)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (resident_id, programme) DO UPDATE SET enrolled_on = ?3, source_record = ?4, left_on = ?5,
                 left_reason = ?6, last_visit = ?7, last_f2f = ?8, next_due = ?9, referral_due = ?10, village = ?11,
                 birth_date = ?12, last_exam = ?13",
        )?
        .execute(params![
            resident_id,
            p.key(),
            text(*enrolled_on),
            source,
            left.map(|l| text(l.0)),
            left.map(|l| l.1.key()),
            last.map(|v| text(v.date)),
            last_f2f.map(text),
            next_due.map(text),
            referral_due.map(text),
            village,
            birth.map(text),
            last_exam.map(text),
        ])?;
    }
    // A programme no record supports any more (a record amended): the
    // membership row goes, its history stays in the records and the trail.
    let mut stmt = conn.prepare_cached("SELECT programme FROM memberships WHERE resident_id = ?1")?;
    let have: Vec<String> = stmt
        .query_map(params![resident_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for p in have {
        if !names.contains(&p.as_str()) {
            conn.prepare_cached("DELETE FROM memberships WHERE resident_id = ?1 AND programme = ?2")?
                .execute(params![resident_id, p])?;
        }
    }
    names.sort_unstable();
    conn.prepare_cached("UPDATE residents SET programmes = ?2, last_exam = ?3 WHERE id = ?1")?
        .execute(params![resident_id, names.join(","), last_exam.map(text)])?;
    Ok(())
}

/// Fills the derived tables once for a database that had records before
/// them (or after a change to how they are derived).
pub(crate) fn backfill_if_needed(conn: &mut Connection) -> Result<()> {
    const VERSION: &str = "1";
    let have: Option<String> = conn
        .query_row("SELECT value FROM settings WHERE key = 'care.version'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if have.as_deref() == Some(VERSION) {
        return Ok(());
    }
    let settings = Settings::default();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ids: Vec<i64> = tx
        .prepare("SELECT DISTINCT resident_id FROM records WHERE status = 'final'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in ids {
        refresh(&tx, id, &settings)?;
    }
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('care.version', ?1)
         ON CONFLICT(key) DO UPDATE SET value = ?1",
        params![VERSION],
    )?;
    tx.commit()?;
    Ok(())
}

impl Store {
    /// The management settings in force (from `config.toml`).
    pub fn care_settings(&self) -> &Settings {
        &self.care
    }

    pub fn set_care_settings(&mut self, s: Settings) {
        self.care = s;
    }

    /// Recomputes the derived tables for residents (after a bulk write).
    pub fn refresh_care(&mut self, resident_ids: &[i64]) -> Result<()> {
        let settings = self.care.clone();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for id in resident_ids {
            refresh(&tx, *id, &settings)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A resident's programme memberships (counted as a timeline read).
    pub fn memberships(&self, actor: &Actor, resident_id: i64) -> Result<Vec<Membership>> {
        actor.require(super::Permission::ReadRecords)?;
        self.count_read("timeline");
        let mut stmt = self.conn().prepare_cached(
            "SELECT programme, enrolled_on, left_on, left_reason, last_visit, next_due, referral_due
             FROM memberships WHERE resident_id = ?1 ORDER BY programme",
        )?;
        let rows = stmt.query_map(params![resident_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (p, en, left, reason, last, due, referral) = row?;
            let (Some(programme), Some(enrolled_on)) = (parse_programme(&p), day(&en)) else {
                continue;
            };
            out.push(Membership {
                programme,
                enrolled_on,
                left_on: left.as_deref().and_then(day),
                left_reason: reason.as_deref().and_then(LeaveReason::parse),
                last_visit: last.as_deref().and_then(day),
                next_due: due.as_deref().and_then(day),
                referral_due: referral.as_deref().and_then(day),
            });
        }
        Ok(out)
    }

    /// Records that a resident left a programme (moved away, lost, died,
    /// other) on a date: an event, audited; the membership is kept.
    pub fn leave_programme(
        &mut self,
        actor: &Actor,
        resident_id: i64,
        programme: Programme,
        on: NaiveDate,
        reason: LeaveReason,
    ) -> Result<()> {
        self.programme_event(actor, resident_id, programme, "leave", on, reason.key())
    }

    /// Records that a resident came back to a programme they had left.
    pub fn rejoin_programme(
        &mut self,
        actor: &Actor,
        resident_id: i64,
        programme: Programme,
        on: NaiveDate,
    ) -> Result<()> {
        self.programme_event(actor, resident_id, programme, "rejoin", on, "")
    }

    fn programme_event(
        &mut self,
        actor: &Actor,
        resident_id: i64,
        programme: Programme,
        event: &str,
        on: NaiveDate,
        reason: &str,
    ) -> Result<()> {
        actor.require(super::Permission::WriteRecords)?;
        let settings = self.care.clone();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let member: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM memberships WHERE resident_id = ?1 AND programme = ?2",
                params![resident_id, programme.key()],
                |r| r.get(0),
            )
            .optional()?;
        if member.is_none() {
            return Err(StoreError::NotFound);
        }
        tx.execute(
            "INSERT INTO programme_events (resident_id, programme, event, on_date, reason, actor, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                resident_id,
                programme.key(),
                event,
                text(on),
                reason,
                actor.user,
                now_text(chrono::Local::now())
            ],
        )?;
        refresh(&tx, resident_id, &settings)?;
        audit::append(
            &tx,
            actor,
            &format!("programme_{event}"),
            "resident",
            &resident_id.to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }
}
