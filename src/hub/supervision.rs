//! The platform's side of supervision: what it keeps of every record it
//! receives (facts and problems, written in the same transaction as the
//! record, so they never drift), the sites' populations and targets, spot
//! checks, and the report built from them by `crate::supervise` (spot-check
//! samples in `spotchecks`, what a site sees of its findings in `findings`).
//!
//! The same tables are filled by `source` when the report reads another
//! FHIR server, so both give the same numbers by construction.

use super::HubError;
use crate::form::def::{Level, Role};
use crate::form::Registry;
use crate::manage::history::{day, parse_programme, text, RecordFact, VisitFact};
use crate::manage::{Settings, VisitStatus};
use crate::supervise::facts::{self, Person};
use crate::supervise::model::{ProblemCount, Report};
use crate::supervise::{month_bounds, Aggregator, Row, SiteInfo, SupervisionSettings};
use chrono::{DateTime, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::collections::HashMap;

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS record_facts (
    id            TEXT PRIMARY KEY,
    site          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    form          TEXT NOT NULL,
    role          TEXT NOT NULL,
    visit_date    TEXT,
    received_at   TEXT NOT NULL,
    errors        INTEGER NOT NULL,
    warnings      INTEGER NOT NULL,
    answer_hash   INTEGER,
    sbp           INTEGER,
    dbp           INTEGER,
    enrols        TEXT,
    programme     TEXT,
    face_to_face  INTEGER,
    status        TEXT,
    measured      INTEGER,
    controlled    INTEGER,
    class         INTEGER,
    referred      INTEGER,
    emergency     INTEGER,
    next_visit    TEXT,
    death         TEXT,
    fact_date     TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS record_facts_subject ON record_facts(subject);
CREATE INDEX IF NOT EXISTS record_facts_site ON record_facts(site, visit_date);
CREATE TABLE IF NOT EXISTS record_problems (
    id    TEXT NOT NULL,
    item  TEXT NOT NULL,
    code  TEXT NOT NULL,
    error INTEGER NOT NULL,
    PRIMARY KEY (id, item, code)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS patient_facts (
    id         TEXT PRIMARY KEY,
    site       TEXT NOT NULL,
    birth_date TEXT,
    sex        TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS patient_facts_site ON patient_facts(site);
CREATE TABLE IF NOT EXISTS site_targets (
    code        TEXT PRIMARY KEY,
    population  INTEGER,
    target_rate REAL
) STRICT;
CREATE TABLE IF NOT EXISTS spot_checks (
    site       TEXT NOT NULL,
    record     TEXT NOT NULL,
    passed     INTEGER NOT NULL,
    note       TEXT NOT NULL,
    checked_on TEXT NOT NULL,
    checker    TEXT NOT NULL,
    PRIMARY KEY (site, record)
) STRICT;
"#;

/// Hours east of UTC of the city: visit dates are local days, the
/// platform's clock is UTC (China has one time zone).
pub const CITY_UTC_OFFSET_HOURS: i64 = 8;

/// The local day of a stored UTC instant.
pub fn local_day(instant: &str) -> Option<NaiveDate> {
    let t = DateTime::parse_from_rfc3339(instant).ok()?;
    Some((t.naive_utc() + chrono::Duration::hours(CITY_UTC_OFFSET_HOURS)).date())
}

fn person(conn: &Connection, subject: &str) -> Result<Person, HubError> {
    Ok(conn
        .prepare_cached("SELECT birth_date, sex FROM patient_facts WHERE id = ?1")?
        .query_row(params![subject], |r| {
            Ok(Person {
                birth_date: r.get::<_, Option<String>>(0)?.as_deref().and_then(day),
                sex: r.get(1)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// Keeps what supervision needs of a Patient just written.
pub fn ingest_patient(tx: &Connection, site: &str, id: &str, v: &Value) -> Result<(), HubError> {
    let birth = v["birthDate"].as_str().and_then(day).map(text);
    // The clinic's sex codes, from the FHIR gender the client maps them to.
    let sex = match v["gender"].as_str() {
        Some("male") => Some("1"),
        Some("female") => Some("2"),
        _ => None,
    };
    tx.prepare_cached(
        "INSERT INTO patient_facts (id, site, birth_date, sex) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET site = ?2, birth_date = ?3, sex = ?4",
    )?
    .execute(params![id, site, birth, sex])?;
    Ok(())
}

/// Checks a QuestionnaireResponse just written and keeps its facts.
/// `received_at` is when the platform first had it, `now` when this version
/// arrived (the day the form's rules judge dates against).
pub fn ingest_response(
    tx: &Connection,
    forms: &Registry,
    site: &str,
    id: &str,
    v: &Value,
    received_at: &str,
    now: &str,
) -> Result<(), HubError> {
    let subject = v["subject"]["reference"]
        .as_str()
        .and_then(|r| r.strip_prefix("Patient/"))
        .unwrap_or("");
    let today = local_day(now).unwrap_or_default();
    let f = facts::extract(v, forms, &person(tx, subject)?, today, &Settings::default());
    let h = f.history.as_ref();
    let visit = h.and_then(|h| h.visit.as_ref());
    tx.prepare_cached(
        "INSERT INTO record_facts (id, site, subject, form, role, visit_date, received_at, errors, warnings, answer_hash,
             sbp, dbp, enrols, programme, face_to_face, status, measured, controlled, class, referred, emergency,
             next_visit, death, fact_date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
             ?23, ?24)
         ON CONFLICT(id) DO UPDATE SET site = ?2, subject = ?3, form = ?4, role = ?5, visit_date = ?6, errors = ?8,
             warnings = ?9, answer_hash = ?10, sbp = ?11, dbp = ?12, enrols = ?13, programme = ?14,
             face_to_face = ?15, status = ?16, measured = ?17, controlled = ?18, class = ?19, referred = ?20,
             emergency = ?21, next_visit = ?22, death = ?23, fact_date = ?24",
    )?
    .execute(params![
        id,
        site,
        subject,
        f.form_id,
        role_key(f.role),
        f.visit_date.map(text),
        received_at,
        f.errors() as i64,
        f.warnings() as i64,
        f.answer_hash,
        f.bp.map(|b| b.0),
        f.bp.map(|b| b.1),
        h.map(|h| h.enrols.iter().map(|p| p.key()).collect::<Vec<_>>().join(",")),
        visit.map(|v| v.0.key()),
        visit.map(|v| v.1.face_to_face),
        visit.map(|v| v.1.status.code()),
        visit.map(|v| v.1.measured),
        visit.and_then(|v| v.1.controlled),
        visit.and_then(|v| v.1.classification),
        visit.map(|v| v.1.referred),
        visit.map(|v| v.1.emergency),
        visit.and_then(|v| v.1.next_visit).map(text),
        h.and_then(|h| h.death).map(text),
        h.map(|h| text(h.date)),
    ])?;
    tx.prepare_cached("DELETE FROM record_problems WHERE id = ?1")?
        .execute(params![id])?;
    for p in &f.problems {
        tx.prepare_cached("INSERT OR IGNORE INTO record_problems (id, item, code, error) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![id, p.item, p.code, p.level == Level::Error])?;
    }
    Ok(())
}

/// A deleted resource leaves the figures.
pub fn forget(tx: &Connection, kind: &str, id: &str) -> Result<(), HubError> {
    match kind {
        "QuestionnaireResponse" => {
            tx.prepare_cached("DELETE FROM record_facts WHERE id = ?1")?
                .execute(params![id])?;
            tx.prepare_cached("DELETE FROM record_problems WHERE id = ?1")?
                .execute(params![id])?;
        }
        "Patient" => {
            tx.prepare_cached("DELETE FROM patient_facts WHERE id = ?1")?
                .execute(params![id])?;
        }
        _ => {}
    }
    Ok(())
}

fn role_key(r: Role) -> &'static str {
    match r {
        Role::Registration => "registration",
        Role::FollowUp => "followup",
        Role::Exam => "exam",
        Role::Other => "other",
    }
}

fn parse_role(s: &str) -> Role {
    match s {
        "registration" => Role::Registration,
        "followup" => Role::FollowUp,
        "exam" => Role::Exam,
        _ => Role::Other,
    }
}

/// Sets a site's resident population and the share of it that should have
/// a record by now (建档率 target).
pub fn set_target(
    conn: &Connection,
    code: &str,
    population: Option<u64>,
    target_rate: Option<f64>,
) -> Result<(), HubError> {
    let known: Option<i64> = conn
        .query_row("SELECT 1 FROM sites WHERE code = ?1", params![code], |r| r.get(0))
        .optional()?;
    if known.is_none() {
        return Err(HubError::Usage(format!(
            "no site {code:?}; add it with `jkda-hub site add`"
        )));
    }
    if let Some(r) = target_rate.filter(|r| !(0.0..=1.0).contains(r)) {
        return Err(HubError::Usage(format!(
            "target rate {r}: give a share between 0 and 1, e.g. 0.9"
        )));
    }
    conn.execute(
        "INSERT INTO site_targets (code, population, target_rate) VALUES (?1, ?2, ?3)
         ON CONFLICT(code) DO UPDATE SET population = coalesce(?2, population), target_rate = coalesce(?3, target_rate)",
        params![code, population.map(|p| p as i64), target_rate],
    )?;
    Ok(())
}

/// Reads `code,population[,target_rate]` lines (a header line and blank
/// lines are skipped) as the statistics bureau gives them; all or nothing.
pub fn import_targets(conn: &mut Connection, csv: &str) -> Result<usize, HubError> {
    let tx = conn.transaction()?;
    let mut n = 0;
    for (i, line) in csv.lines().enumerate() {
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let Some(code) = cols.first().filter(|c| !c.is_empty()) else {
            continue;
        };
        let population = cols.get(1).map(|p| p.parse::<u64>());
        match population {
            Some(Ok(p)) => {
                let rate =
                    match cols.get(2).filter(|r| !r.is_empty()) {
                        Some(r) => Some(r.parse::<f64>().map_err(|_| {
                            HubError::Usage(format!("line {}: target rate {r:?} is not a number", i + 1))
                        })?),
                        None => None,
                    };
                set_target(&tx, code, Some(p), rate).map_err(|e| HubError::Usage(format!("line {}: {e}", i + 1)))?;
                n += 1;
            }
            _ if i == 0 => {} // the header
            _ => {
                return Err(HubError::Usage(format!(
                    "line {}: expected code,population[,target_rate]",
                    i + 1
                )))
            }
        }
    }
    tx.commit()?;
    Ok(n)
}

fn site_infos(conn: &Connection, start: NaiveDate, end: NaiveDate) -> Result<Vec<SiteInfo>, HubError> {
    let mut infos: Vec<SiteInfo> = conn
        .prepare(
            "SELECT s.code, s.name, t.population, t.target_rate,
                 (SELECT count(*) FROM patient_facts p WHERE p.site = s.code)
             FROM sites s LEFT JOIN site_targets t ON t.code = s.code ORDER BY s.code",
        )?
        .query_map([], |r| {
            Ok(SiteInfo {
                code: r.get(0)?,
                name: r.get(1)?,
                population: r.get::<_, Option<i64>>(2)?.map(|p| p.max(0) as u64),
                target_rate: r.get(3)?,
                residents: r.get::<_, i64>(4)?.max(0) as u64,
                ..SiteInfo::default()
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut by_code: HashMap<String, usize> = HashMap::new();
    for (i, s) in infos.iter().enumerate() {
        by_code.insert(s.code.clone(), i);
    }
    let mut stmt = conn.prepare(
        "SELECT f.site, f.form, p.item, p.code, p.error, count(*) AS n
         FROM record_problems p JOIN record_facts f ON f.id = p.id
         WHERE f.visit_date BETWEEN ?1 AND ?2
         GROUP BY f.site, f.form, p.item, p.code, p.error ORDER BY f.site, n DESC, f.form, p.item, p.code",
    )?;
    let rows = stmt.query_map(params![text(start), text(end)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            ProblemCount {
                form: r.get(1)?,
                item: r.get(2)?,
                code: r.get(3)?,
                error: r.get(4)?,
                count: r.get::<_, i64>(5)?.max(0) as u64,
            },
        ))
    })?;
    for row in rows {
        let (site, p) = row?;
        if let Some(s) = by_code.get(&site).and_then(|i| infos.get_mut(*i)) {
            if s.problems.len() < 10 {
                s.problems.push(p);
            }
        }
    }
    let next_day = end.succ_opt().unwrap_or(end);
    for (site, n) in super::anchors::rewinds_by_site(conn, &text(start), &text(next_day))? {
        if let Some(s) = by_code.get(&site).and_then(|i| infos.get_mut(*i)) {
            s.audit_rewinds = n;
        }
    }
    let mut stmt = conn.prepare(
        "SELECT c.site, count(*), sum(1 - c.passed) FROM spot_checks c JOIN record_facts f ON f.id = c.record
         WHERE f.visit_date BETWEEN ?1 AND ?2 GROUP BY c.site",
    )?;
    let rows = stmt.query_map(params![text(start), text(end)], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    })?;
    for row in rows {
        let (site, checked, failed) = row?;
        if let Some(s) = by_code.get(&site).and_then(|i| infos.get_mut(*i)) {
            s.spot_checked = checked.max(0) as u64;
            s.spot_failed = failed.max(0) as u64;
        }
    }
    Ok(infos)
}

fn bool_col(v: Option<i64>) -> bool {
    v.unwrap_or(0) != 0
}

/// The supervision report for the month `period` (`YYYY-MM`).
pub fn build_report(
    conn: &Connection,
    _forms: &Registry,
    period: &str,
    settings: &SupervisionSettings,
) -> Result<Report, HubError> {
    let (start, end) =
        month_bounds(period).ok_or_else(|| HubError::Usage(format!("period {period:?}: use YYYY-MM, e.g. 2026-11")))?;
    let mut agg = Aggregator::new(period, settings)
        .ok_or_else(|| HubError::Usage(format!("period {period:?}: use YYYY-MM, e.g. 2026-11")))?;
    let mut stmt = conn.prepare(
        "SELECT f.id, f.site, f.subject, p.site, f.role, f.visit_date, f.received_at, f.errors, f.warnings,
             f.answer_hash, f.sbp, f.dbp, f.enrols, f.programme, f.face_to_face, f.status, f.measured, f.controlled,
             f.class, f.referred, f.emergency, f.next_visit, f.death, f.fact_date
         FROM record_facts f LEFT JOIN patient_facts p ON p.id = f.subject
         ORDER BY f.subject",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let role = parse_role(&r.get::<_, String>(4)?);
        let visit_date = r.get::<_, Option<String>>(5)?.as_deref().and_then(day);
        let received: String = r.get(6)?;
        let Some(received_day) = local_day(&received) else {
            continue;
        };
        let history = r.get::<_, Option<String>>(23)?.as_deref().and_then(day).map(|date| {
            let enrols = r
                .get::<_, Option<String>>(12)
                .ok()
                .flatten()
                .unwrap_or_default()
                .split(',')
                .filter_map(parse_programme)
                .collect();
            let visit = r
                .get::<_, Option<String>>(13)
                .ok()
                .flatten()
                .as_deref()
                .and_then(parse_programme)
                .map(|p| {
                    (
                        p,
                        VisitFact {
                            record_id: 0,
                            date: visit_date.unwrap_or(date),
                            face_to_face: bool_col(r.get(14).ok().flatten()),
                            status: VisitStatus::parse(
                                &r.get::<_, Option<String>>(15).ok().flatten().unwrap_or_default(),
                            ),
                            measured: bool_col(r.get(16).ok().flatten()),
                            controlled: r.get::<_, Option<bool>>(17).ok().flatten(),
                            classification: r.get::<_, Option<u8>>(18).ok().flatten(),
                            referred: bool_col(r.get(19).ok().flatten()),
                            emergency: bool_col(r.get(20).ok().flatten()),
                            next_visit: r.get::<_, Option<String>>(21).ok().flatten().as_deref().and_then(day),
                        },
                    )
                });
            RecordFact {
                record_id: 0,
                role,
                date,
                enrols,
                visit,
                death: r.get::<_, Option<String>>(22).ok().flatten().as_deref().and_then(day),
            }
        });
        agg.add(Row {
            key: r.get(0)?,
            site: r.get(1)?,
            subject: r.get(2)?,
            patient_site: r.get(3)?,
            role,
            visit_date,
            received_day,
            errors: r.get::<_, i64>(7)?.max(0) as u32,
            warnings: r.get::<_, i64>(8)?.max(0) as u32,
            answer_hash: r.get(9)?,
            bp: match (r.get::<_, Option<i64>>(10)?, r.get::<_, Option<i64>>(11)?) {
                (Some(s), Some(d)) => Some((s.max(0) as u32, d.max(0) as u32)),
                _ => None,
            },
            history,
        });
    }
    Ok(agg.finish(site_infos(conn, start, end)?))
}
