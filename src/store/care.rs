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
use crate::manage::Settings;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::manage::history::{self, Event, RecordFact};
pub use crate::manage::history::{day, parse_programme, text, LeaveReason, VisitFact};

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
    let rows = stmt.query_map(params![resident_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut facts: Vec<RecordFact> = Vec::new();
    for row in rows {
        let (id, form_id, date, answers) = row?;
        let (Some((role, programme)), Some(date)) = (kinds.get(&form_id), date.as_deref().and_then(day)) else {
            continue;
        };
        let answers: Answers = serde_json::from_str(&answers).unwrap_or_default();
        facts.push(history::record_fact(
            id, role, programme, &answers, date, birth, settings,
        ));
    }
    let mut stmt = conn.prepare_cached(
        "SELECT programme, event, on_date, reason FROM programme_events WHERE resident_id = ?1 ORDER BY on_date, id",
    )?;
    let rows = stmt.query_map(params![resident_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut events = Vec::new();
    for row in rows {
        let (p, ev, on, reason) = row?;
        let (Some(programme), Some(on)) = (parse_programme(&p), day(&on)) else {
            continue;
        };
        let leave = (ev == "leave").then(|| LeaveReason::parse(&reason).unwrap_or(LeaveReason::Other));
        events.push(Event { programme, on, leave });
    }
    let derived = history::derive(&facts, &events, settings);

    conn.prepare_cached("DELETE FROM visits WHERE resident_id = ?1")?
        .execute(params![resident_id])?;
    let mut names = Vec::new();
    for m in &derived.members {
        names.push(m.programme.key());
        for fact in &m.visits {
            conn.prepare_cached(
                "INSERT INTO visits (record_id, resident_id, programme, visit_date, face_to_face, status, measured,
                     controlled, classification, referred, emergency, next_visit)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                fact.record_id,
                resident_id,
                m.programme.key(),
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
        }
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
            m.programme.key(),
            text(m.enrolled_on),
            m.source_record,
            m.left.map(|l| text(l.0)),
            m.left.map(|l| l.1.key()),
            m.last_visit.map(text),
            m.last_face_to_face.map(text),
            m.next_due.map(text),
            m.referral_due.map(text),
            village,
            birth.map(text),
            derived.last_exam.map(text),
        ])?;
    }
    let last_exam = derived.last_exam;
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
