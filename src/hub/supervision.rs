//! TEMPORARY in branch `web`: a stand-in with the signatures of main's
//! supervision computation, so the pages compile and run before it lands.
//! The merge of main replaces this whole file.

use super::HubError;
use crate::form::Registry;
use crate::supervise::facts::Problem;
use crate::supervise::model::*;
use crate::supervise::SupervisionSettings;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};

pub fn build_report(
    conn: &Connection,
    _forms: &Registry,
    period: &str,
    settings: &SupervisionSettings,
) -> Result<Report, HubError> {
    let start = NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d")
        .map_err(|_| HubError::Usage(format!("period {period:?}: use YYYY-MM")))?;
    let end = start
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(start);
    let mut stmt = conn.prepare("SELECT code, name FROM sites ORDER BY code")?;
    let sites: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let n = sites.len();
    let sites = sites
        .into_iter()
        .enumerate()
        .map(|(i, (code, name))| SiteReport {
            rank: i + 1,
            code,
            name,
            score: 50.0,
            components: Components {
                timeliness: 0.5,
                quality: 0.5,
                indicators: 0.5,
                progress: None,
            },
            flagged: i + 3 >= n,
            reasons: Vec::new(),
            progress: Progress {
                population: None,
                target_rate: None,
                residents: 0,
                complete: 0,
                rate: None,
                by_week: Vec::new(),
            },
            timeliness: Timeliness {
                records: 0,
                median_lag_days: None,
                p90_lag_days: None,
                timely: 0,
                timely_share: None,
            },
            quality: Quality {
                records: 0,
                clean: 0,
                clean_share: None,
                errors_per_100: None,
                warnings_per_100: None,
                top_problems: Vec::new(),
                spot_checked: 0,
                spot_failed: 0,
            },
            authenticity: Vec::new(),
            indicators: Vec::new(),
            trend: Vec::new(),
        })
        .collect();
    Ok(Report {
        period: period.to_string(),
        period_start: start,
        period_end: end,
        indicator_year: chrono::Datelike::year(&start),
        settings: settings.clone(),
        sites,
        city: CityFigures {
            records: 0,
            timely_share: 0.0,
            clean_share: 0.0,
            standardised_rate: 0.0,
            control_rate: 0.0,
        },
        townships: Vec::new(),
        counties: Vec::new(),
    })
}

fn stub_table(conn: &Connection) -> Result<(), HubError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS stub_spot (site TEXT, record TEXT, passed INTEGER, note TEXT, checker TEXT, day TEXT, PRIMARY KEY (site, record))",
    )?;
    Ok(())
}

pub fn spot_sample(
    conn: &Connection,
    site: &str,
    n: usize,
    _seed: u64,
    _period: Option<&str>,
) -> Result<Vec<SpotItem>, HubError> {
    stub_table(conn)?;
    let mut stmt = conn.prepare(
        "SELECT id FROM resources WHERE type = 'QuestionnaireResponse' AND site = ?1 AND deleted = 0 ORDER BY id LIMIT ?2",
    )?;
    let ids: Vec<String> = stmt
        .query_map(params![site, n as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for id in ids {
        let result = conn
            .query_row(
                "SELECT passed, note, checker, day FROM stub_spot WHERE site = ?1 AND record = ?2",
                params![site, id],
                |r| {
                    Ok(SpotResult {
                        passed: r.get(0)?,
                        note: r.get(1)?,
                        checker: r.get(2)?,
                        checked_on: NaiveDate::parse_from_str(&r.get::<_, String>(3)?, "%Y-%m-%d")
                            .unwrap_or_default(),
                    })
                },
            )
            .optional()?;
        out.push(SpotItem {
            record: id,
            form: String::new(),
            visit_date: None,
            resident_name: None,
            record_no: None,
            checks: Vec::new(),
            result,
        });
    }
    Ok(out)
}

pub fn record_spot_result(
    conn: &Connection,
    site: &str,
    record: &str,
    passed: bool,
    note: &str,
    checker: &str,
    on: NaiveDate,
) -> Result<(), HubError> {
    stub_table(conn)?;
    conn.execute(
        "INSERT OR REPLACE INTO stub_spot VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![site, record, passed, note, checker, on.to_string()],
    )?;
    Ok(())
}

#[allow(clippy::type_complexity)]
pub fn site_problems(
    _conn: &Connection,
    _site: &str,
    _limit: usize,
) -> Result<Vec<(String, Option<NaiveDate>, String, Vec<Problem>)>, HubError> {
    Ok(Vec::new())
}
