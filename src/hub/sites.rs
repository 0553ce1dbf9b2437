//! `jkda-hub sites`: every site with its installations' last contact,
//! version, backlog and problems, the longest-standing problem first, so an
//! engineer sees which clinic has not synced for a week before anyone
//! calls. From the `Device` each installation sends at every sync
//! (`fhir::device_state`) and the audit anchors the hub refused.

use super::HubError;
use crate::fhir::device_state::{self, ClinicState};
use crate::i18n::I18n;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

/// Days without contact that make a site "silent".
const SILENT_DAYS: i64 = 7;
/// A clock this far off (seconds) breaks record dates and TLS.
const CLOCK_SKEW_S: i64 = 300;
/// Less free disk than this (MB) and backups and the database will fail.
const LOW_DISK_MB: u64 = 500;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Installation {
    /// When the platform last heard from it (UTC).
    pub last_contact: String,
    pub state: ClinicState,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SiteHealth {
    pub code: String,
    pub name: String,
    /// The latest contact of any of its installations, or of its records.
    pub last_contact: Option<String>,
    pub installations: Vec<Installation>,
    /// Problem keys (`hub.sites.problem.*`), worst first.
    pub problems: Vec<String>,
}

fn age_days(at: &str, now: DateTime<Utc>) -> Option<i64> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| (now - t.with_timezone(&Utc)).num_days())
}

pub fn health(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<SiteHealth>, HubError> {
    let sites: Vec<(String, String)> = conn
        .prepare("SELECT code, name FROM sites ORDER BY code")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for (code, name) in sites {
        let installations: Vec<Installation> = conn
            .prepare_cached(
                "SELECT content, last_updated FROM resources WHERE type = 'Device' AND site = ?1 AND deleted = 0
                 ORDER BY last_updated DESC",
            )?
            .query_map(params![code], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .filter_map(|row| {
                let (content, at) = row.ok()?;
                let v: serde_json::Value = serde_json::from_str(&content).ok()?;
                Some(Installation {
                    last_contact: at,
                    state: device_state::from_resource(&v)?,
                })
            })
            .collect();
        let records: Option<String> = conn
            .prepare_cached("SELECT max(created_at) FROM resources WHERE type = 'QuestionnaireResponse' AND site = ?1")?
            .query_row(params![code], |r| r.get(0))?;
        let last_contact = installations.first().map(|i| i.last_contact.clone()).max(records);
        let rewinds: i64 = conn
            .prepare_cached("SELECT count(*) FROM audit_rewinds WHERE site = ?1")?
            .query_row(params![code], |r| r.get(0))?;
        let mut problems = Vec::new();
        match last_contact.as_deref().and_then(|t| age_days(t, now)) {
            None => problems.push("never"),
            Some(d) if d >= SILENT_DAYS => problems.push("silent"),
            _ => {}
        }
        if rewinds > 0 {
            problems.push("audit_rewound");
        }
        for i in &installations {
            let s = &i.state;
            if s.conflict > 0 {
                problems.push("conflict");
            }
            if s.failed > 0 {
                problems.push("failed");
            }
            if s.pending > 0 {
                problems.push("backlog");
            }
            if s.last_error_class.is_some() {
                problems.push("error");
            }
            if s.clock_offset_s.is_some_and(|c| c.abs() > CLOCK_SKEW_S) {
                problems.push("clock");
            }
            if s.free_disk_mb.is_some_and(|m| m < LOW_DISK_MB) {
                problems.push("disk");
            }
        }
        problems.dedup();
        out.push(SiteHealth {
            code,
            name,
            last_contact,
            installations,
            problems: problems.into_iter().map(str::to_string).collect(),
        });
    }
    // Sites with problems first, the one not heard from longest first.
    out.sort_by(|a, b| {
        a.problems
            .is_empty()
            .cmp(&b.problems.is_empty())
            .then_with(|| a.last_contact.cmp(&b.last_contact))
            .then_with(|| a.code.cmp(&b.code))
    });
    Ok(out)
}

pub fn render(sites: &[SiteHealth], i18n: &I18n) -> String {
    let mut out = format!("{}\n", i18n.t("hub.sites.title"));
    for s in sites {
        let problems: Vec<String> = s
            .problems
            .iter()
            .map(|p| i18n.t(&format!("hub.sites.problem.{p}")).to_string())
            .collect();
        out.push_str(&format!(
            "{}  {}  {}  {}\n",
            s.code,
            s.name,
            s.last_contact.as_deref().unwrap_or("-"),
            if problems.is_empty() {
                i18n.t("hub.sites.ok").to_string()
            } else {
                problems.join("; ")
            }
        ));
        for i in &s.installations {
            let st = &i.state;
            out.push_str(&i18n.tf(
                "hub.sites.installation",
                &[
                    ("id", st.installation.get(..8).unwrap_or(&st.installation)),
                    ("version", &st.version),
                    ("contact", &i.last_contact),
                    ("pending", &st.pending.to_string()),
                    ("failed", &st.failed.to_string()),
                    ("conflict", &st.conflict.to_string()),
                    ("error", st.last_error_class.as_deref().unwrap_or("-")),
                    ("disk", &st.free_disk_mb.map_or("-".into(), |m| format!("{m} MB"))),
                    ("clock", &st.clock_offset_s.map_or("-".into(), |c| format!("{c:+} s"))),
                ],
            ));
            out.push('\n');
        }
    }
    out
}
