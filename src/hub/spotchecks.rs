//! Spot checks on the platform: a reproducible sample of a site's records
//! with a checklist each (`supervise::spotcheck`), and the results the
//! bureau enters, which count in the site's quality figure.

use super::HubError;
use crate::form::Registry;
use crate::manage::history::{day, text};
use crate::supervise::facts;
use crate::supervise::model::{SpotItem, SpotResult};
use crate::supervise::{month_bounds, spotcheck};
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

/// Draws `n` of a site's records (of the month `period`, or all) with a
/// seed, each with its checklist and any result already entered.
pub fn spot_sample(
    conn: &Connection,
    forms: &Registry,
    site: &str,
    n: usize,
    seed: u64,
    period: Option<&str>,
    lang: crate::i18n::Lang,
) -> Result<Vec<SpotItem>, HubError> {
    let (start, end) = match period {
        Some(p) => {
            month_bounds(p).ok_or_else(|| HubError::Usage(format!("period {p:?}: use YYYY-MM, e.g. 2026-11")))?
        }
        None => (
            NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default(),
            NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default(),
        ),
    };
    let keys: Vec<String> = conn
        .prepare(
            "SELECT id FROM record_facts WHERE site = ?1 AND visit_date BETWEEN ?2 AND ?3 AND role != 'other' ORDER BY id",
        )?
        .query_map(params![site, text(start), text(end)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let record_no_system = crate::fhir::mapping::Identifiers::default().record_no;
    let mut out = Vec::new();
    for i in spotcheck::draw(keys.len(), n, seed) {
        let Some(key) = keys.get(i) else { continue };
        let (content, subject): (String, Option<String>) = conn.query_row(
            "SELECT content, subject FROM resources WHERE type = 'QuestionnaireResponse' AND id = ?1",
            params![key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let qr: Value = serde_json::from_str(&content).unwrap_or(Value::Null);
        let patient: Value = match &subject {
            Some(s) => conn
                .query_row(
                    "SELECT content FROM resources WHERE type = 'Patient' AND id = ?1",
                    params![s],
                    |r| r.get::<_, String>(0),
                )
                .optional()?
                .and_then(|c| serde_json::from_str(&c).ok())
                .unwrap_or(Value::Null),
            None => Value::Null,
        };
        let def = facts::form_of(&qr, forms);
        let answers = def.map(|d| crate::fhir::mapping::answers_from_response(&qr, d));
        let checks = match (def, &answers) {
            (Some(d), Some(a)) => spotcheck::checklist(d, a, lang),
            _ => Vec::new(),
        };
        let visit_date = def
            .and_then(|d| d.date_field.as_deref())
            .zip(answers.as_ref())
            .and_then(|(f, a)| a.text(f))
            .and_then(day);
        let result = conn
            .query_row(
                "SELECT passed, note, checked_on, checker FROM spot_checks WHERE site = ?1 AND record = ?2",
                params![site, key],
                |r| {
                    Ok(SpotResult {
                        passed: r.get(0)?,
                        note: r.get(1)?,
                        checked_on: day(&r.get::<_, String>(2)?).unwrap_or_default(),
                        checker: r.get(3)?,
                    })
                },
            )
            .optional()?;
        out.push(SpotItem {
            record: key.clone(),
            form: def.map_or_else(|| "?".to_string(), |d| d.title.get(lang).to_string()),
            visit_date,
            resident_name: patient_name(&patient).into(),
            record_no: patient["identifier"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|i| i["system"].as_str() == Some(record_no_system.as_str()))
                .and_then(|i| i["value"].as_str())
                .map(str::to_string)
                .into(),
            checks: checks.into(),
            result,
        });
    }
    Ok(out)
}

fn patient_name(p: &Value) -> Option<String> {
    let n = p["name"].as_array()?.first()?;
    n["text"].as_str().map(str::to_string).or_else(|| {
        let family = n["family"].as_str().unwrap_or("");
        let given: String = n["given"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str())
            .collect();
        let s = format!("{family}{given}");
        (!s.is_empty()).then_some(s)
    })
}

/// Enters (or corrects) the result of checking one record on site.
pub fn record_spot_result(
    conn: &Connection,
    site: &str,
    record: &str,
    passed: bool,
    note: &str,
    checker: &str,
    on: NaiveDate,
) -> Result<(), HubError> {
    let known: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM record_facts WHERE id = ?1 AND site = ?2",
            params![record, site],
            |r| r.get(0),
        )
        .optional()?;
    if known.is_none() {
        return Err(HubError::NotFound(format!("site {site} has no record {record}")));
    }
    conn.execute(
        "INSERT INTO spot_checks (site, record, passed, note, checked_on, checker) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(site, record) DO UPDATE SET passed = ?3, note = ?4, checked_on = ?5, checker = ?6",
        params![
            site,
            record,
            passed,
            note.chars().take(500).collect::<String>(),
            text(on),
            checker
        ],
    )?;
    Ok(())
}
