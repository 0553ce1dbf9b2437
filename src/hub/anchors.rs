//! The platform's side of audit anchoring: an installation's anchor
//! (`AuditEvent/audit-head-…`, see `fhir::audit_anchor`) may only move
//! forward. A write that would move it back — a clinic whose trail was cut
//! or rebuilt by someone holding its database key — is refused, and the
//! attempt is kept (outside the refused transaction) for the bureau's
//! report, as a sign of a trail that went backwards.

use super::HubError;
use crate::fhir::audit_anchor;
use rusqlite::{params, Connection};
use serde_json::Value;

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS audit_rewinds (
    site         TEXT NOT NULL,
    installation TEXT NOT NULL,
    from_seq     INTEGER NOT NULL,
    to_seq       INTEGER NOT NULL,
    at           TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_rewinds_site ON audit_rewinds(site, at);
"#;

/// Refuses an anchor that is not one, or that moves the installation's
/// head back (a lower entry, or the same entry with another hash).
pub fn check(site: &str, old: Option<&str>, new: &Value) -> Result<(), HubError> {
    let Some(next) = audit_anchor::from_resource(new) else {
        return Err(HubError::Invalid(
            "AuditEvent: only audit-trail anchors (entity urn:jkda:audit-chain with sequence and hash) are kept here"
                .into(),
        ));
    };
    let Some(prev) = old
        .and_then(|o| serde_json::from_str::<Value>(o).ok())
        .and_then(|v| audit_anchor::from_resource(&v))
    else {
        return Ok(());
    };
    if next.seq < prev.seq || (next.seq == prev.seq && next.hash != prev.hash) {
        return Err(HubError::AuditRewound {
            site: site.to_string(),
            installation: next.installation,
            from: prev.seq,
            to: next.seq,
        });
    }
    Ok(())
}

/// Keeps a refused rewind (after its transaction was rolled back).
pub fn note(conn: &Connection, err: &HubError, now: &str) -> Result<(), HubError> {
    let mut e = err;
    while let HubError::InEntry { inner, .. } = e {
        e = inner;
    }
    if let HubError::AuditRewound {
        site,
        installation,
        from,
        to,
    } = e
    {
        conn.execute(
            "INSERT INTO audit_rewinds (site, installation, from_seq, to_seq, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![site, installation, from, to, now],
        )?;
    }
    Ok(())
}

/// Rewinds refused for each site between two instants (text, UTC).
pub fn rewinds_by_site(conn: &Connection, from: &str, to: &str) -> Result<Vec<(String, u64)>, HubError> {
    let mut stmt = conn.prepare("SELECT site, count(*) FROM audit_rewinds WHERE at >= ?1 AND at < ?2 GROUP BY site")?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
