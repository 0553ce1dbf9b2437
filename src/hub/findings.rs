//! What the platform's checks found in a site's records, as the site sees
//! it: its own records with problems (on its page), and each record's
//! problems as an OperationOutcome in the upload's answer.

use super::HubError;
use crate::form::def::Level;
use crate::manage::history::day;
use crate::supervise::facts::Problem;
use chrono::NaiveDate;
use rusqlite::{params, Connection};
use serde_json::Value;

/// A site's own records with problems, latest visit first: what it sees of
/// the platform's checks.
pub type RecordProblems = (String, Option<NaiveDate>, String, Vec<Problem>);

pub fn site_problems(conn: &Connection, site: &str, limit: usize) -> Result<Vec<RecordProblems>, HubError> {
    let mut stmt = conn.prepare(
        "SELECT f.id, f.visit_date, f.form FROM record_facts f
         WHERE f.site = ?1 AND (f.errors > 0 OR f.warnings > 0)
         ORDER BY f.visit_date DESC, f.id LIMIT ?2",
    )?;
    let heads: Vec<(String, Option<String>, String)> = stmt
        .query_map(params![site, limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for (id, date, form) in heads {
        let problems = conn
            .prepare_cached(
                "SELECT item, code, error FROM record_problems WHERE id = ?1 ORDER BY error DESC, item, code",
            )?
            .query_map(params![id], |r| {
                Ok(Problem {
                    item: r.get(0)?,
                    code: r.get(1)?,
                    level: if r.get::<_, bool>(2)? {
                        Level::Error
                    } else {
                        Level::Warning
                    },
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        out.push((id, date.as_deref().and_then(day), form, problems));
    }
    Ok(out)
}

/// The problems the platform found in a record as an OperationOutcome (for
/// `Bundle.entry.response.outcome`), or None when it found none. Each issue
/// points at the item (`expression`, FHIRPath) and gives the problem's
/// stable code.
pub fn outcome_of(conn: &Connection, id: &str) -> Result<Option<Value>, HubError> {
    let issues: Vec<Value> = conn
        .prepare_cached("SELECT item, code, error FROM record_problems WHERE id = ?1 ORDER BY error DESC, item, code")?
        .query_map(params![id], |r| {
            let (item, code, error): (String, String, bool) = (r.get(0)?, r.get(1)?, r.get(2)?);
            // FHIRPath to the item (its linkId is the form's item id).
            let expression = if item.is_empty() {
                "QuestionnaireResponse.questionnaire".to_string()
            } else {
                format!("QuestionnaireResponse.descendants().where(linkId='{item}')")
            };
            Ok(serde_json::json!({
                "severity": if error { "error" } else { "warning" },
                "code": "business-rule",
                "details": { "coding": [{ "system": "urn:jkda:problem", "code": code }] },
                "expression": [expression],
            }))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok((!issues.is_empty()).then(|| serde_json::json!({ "resourceType": "OperationOutcome", "issue": issues })))
}
