//! The bureau's supervision view: per site, what arrived in a period and how
//! complete it is, ranked, with the bottom three flagged. Counts use the
//! hub's own receive time (UTC), never a clinic PC's clock.

use super::HubError;
use rusqlite::{params, Connection};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SiteReport {
    pub rank: usize,
    pub site: String,
    pub name: String,
    /// QuestionnaireResponses first received in the period.
    pub records: i64,
    /// Patients first registered in the period.
    pub residents: i64,
    /// Follow-ups per programme (hypertension, diabetes).
    pub followups: BTreeMap<String, i64>,
    /// Share of the period's records with every required item answered.
    pub complete_share: f64,
    /// Among the bottom three.
    pub flagged: bool,
}

/// `period` is `YYYY-MM`; None reports everything.
pub fn report(conn: &Connection, period: Option<&str>) -> Result<Vec<SiteReport>, HubError> {
    if let Some(p) = period {
        let ok = p.len() == 7 && chrono::NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d").is_ok();
        if !ok {
            return Err(HubError::Usage(format!("period {p:?}: use YYYY-MM, e.g. 2026-11")));
        }
    }
    let prefix = format!("{}%", period.unwrap_or(""));
    let mut sites: Vec<SiteReport> = {
        let mut stmt = conn.prepare(
            "SELECT s.code, s.name,
               (SELECT count(*) FROM resources r WHERE r.type = 'QuestionnaireResponse' AND r.site = s.code
                  AND r.deleted = 0 AND r.created_at LIKE ?1),
               (SELECT count(*) FROM resources r WHERE r.type = 'Patient' AND r.site = s.code
                  AND r.deleted = 0 AND r.created_at LIKE ?1),
               (SELECT count(*) FROM resources r WHERE r.type = 'QuestionnaireResponse' AND r.site = s.code
                  AND r.deleted = 0 AND r.created_at LIKE ?1 AND r.complete = 1)
             FROM sites s ORDER BY s.code",
        )?;
        let rows = stmt.query_map(params![prefix], |r| {
            let records: i64 = r.get(2)?;
            let complete: i64 = r.get(4)?;
            Ok(SiteReport {
                rank: 0,
                site: r.get(0)?,
                name: r.get(1)?,
                records,
                residents: r.get(3)?,
                followups: BTreeMap::new(),
                complete_share: if records > 0 {
                    complete as f64 / records as f64
                } else {
                    0.0
                },
                flagged: false,
            })
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut stmt = conn.prepare(
        "SELECT site, programme, count(*) FROM resources
         WHERE type = 'QuestionnaireResponse' AND deleted = 0 AND programme IS NOT NULL AND created_at LIKE ?1
         GROUP BY site, programme",
    )?;
    let rows = stmt.query_map(params![prefix], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
    })?;
    for row in rows {
        let (site, programme, n) = row?;
        if let Some(s) = sites.iter_mut().find(|s| s.site == site) {
            s.followups.insert(programme, n);
        }
    }
    for s in &mut sites {
        for p in ["hypertension", "diabetes"] {
            s.followups.entry(p.to_string()).or_insert(0);
        }
    }
    // Ranked by records received, then by completeness.
    sites.sort_by(|a, b| {
        b.records
            .cmp(&a.records)
            .then(b.complete_share.total_cmp(&a.complete_share))
            .then(a.site.cmp(&b.site))
    });
    let n = sites.len();
    for (i, s) in sites.iter_mut().enumerate() {
        s.rank = i + 1;
        s.flagged = n > 1 && i + 3 >= n;
    }
    Ok(sites)
}

/// The report as a text table.
pub fn render(rows: &[SiteReport], period: Option<&str>) -> String {
    let mut out = format!("jkda-hub report — {}\n", period.unwrap_or("all time"));
    out.push_str("rank  site        records  residents  hypertension  diabetes  complete  flag  name\n");
    for r in rows {
        out.push_str(&format!(
            "{:>4}  {:<10}  {:>7}  {:>9}  {:>12}  {:>8}  {:>7.1}%  {:<4}  {}\n",
            r.rank,
            r.site,
            r.records,
            r.residents,
            r.followups.get("hypertension").unwrap_or(&0),
            r.followups.get("diabetes").unwrap_or(&0),
            r.complete_share * 100.0,
            if r.flagged { "LOW" } else { "" },
            r.name
        ));
    }
    out
}
