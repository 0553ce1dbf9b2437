//! `POST /{Type}`: the FHIR create interaction, with the server choosing
//! the id, and its conditional form (`If-None-Exist: identifier=system|value`).
//!
//! Clinics claim blocks of record-number serials with it (`Basic`
//! resources, see `sync::serials`): the first installation whose create
//! goes through owns the block. The check for an existing match and the
//! write are one IMMEDIATE SQLite transaction, so two clinics asking at the
//! same moment cannot both get a 201 — the second sees the first's
//! resource (200, as the FHIR specification says for a single match).

use super::storage::{self, Written};
use super::HubError;
use crate::form::Registry;
use rusqlite::{params, Connection, TransactionBehavior};
use serde_json::Value;

/// What a create did: a new resource (201) or the one that already
/// matched the condition (200).
pub struct Created {
    pub status: u16,
    pub id: String,
}

/// The one search a condition may hold here: `identifier=system|value`.
fn parse_condition(condition: &str) -> Result<(String, String), HubError> {
    let unsupported =
        || HubError::NotSupported("If-None-Exist: only identifier=system|value is supported here".to_string());
    let (key, value) = condition.trim().split_once('=').ok_or_else(unsupported)?;
    if key != "identifier" || value.contains('&') {
        return Err(unsupported());
    }
    let value = crate::fhir::percent_decode(value);
    let (system, code) = value.split_once('|').ok_or_else(unsupported)?;
    if system.is_empty() || code.is_empty() {
        return Err(unsupported());
    }
    Ok((system.to_string(), code.to_string()))
}

/// Live resources of `kind` with the identifier `system|value`. Patients
/// through their indexed identifiers; other types (a few thousand serial
/// blocks) by reading their identifiers.
fn matching(tx: &Connection, kind: &str, system: &str, value: &str) -> Result<Vec<String>, HubError> {
    if kind == "Patient" {
        return Ok(tx
            .prepare_cached(
                "SELECT r.id FROM identifiers i JOIN resources r ON r.type = 'Patient' AND r.id = i.patient
                 WHERE i.system = ?1 AND i.value = ?2 AND r.deleted = 0 ORDER BY r.created_at, r.id",
            )?
            .query_map(params![system, value], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?);
    }
    let ids = tx
        .prepare_cached(
            "SELECT r.id FROM resources r
             WHERE r.type = ?1 AND r.deleted = 0 AND EXISTS (
                 SELECT 1 FROM json_each(r.content, '$.identifier') i
                 WHERE json_extract(i.value, '$.system') = ?2 AND json_extract(i.value, '$.value') = ?3)
             ORDER BY r.created_at, r.id",
        )?
        .query_map(params![kind, system, value], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(ids)
}

/// Creates `body` as a new `kind` with an id of the hub's choosing, unless
/// `condition` matches a live resource already (then that one's id, 200).
/// Several matches are a 412, as the specification asks.
pub fn create(
    conn: &mut Connection,
    forms: &Registry,
    site: &str,
    kind: &str,
    mut body: Value,
    condition: Option<&str>,
    now: &str,
) -> Result<Created, HubError> {
    let condition = condition.map(parse_condition).transpose()?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some((system, value)) = &condition {
        let found = matching(&tx, kind, system, value)?;
        match found.as_slice() {
            [] => {}
            [one] => {
                return Ok(Created {
                    status: 200,
                    id: one.clone(),
                })
            }
            _ => {
                return Err(HubError::VersionConflict(format!(
                    "If-None-Exist matches {} {kind} resources",
                    found.len()
                )))
            }
        }
    }
    let id = uuid::Uuid::now_v7().to_string();
    if let Some(o) = body.as_object_mut() {
        o.insert("id".into(), Value::String(id.clone()));
    }
    let Written { status, .. } = storage::write(&tx, forms, site, kind, &id, Some(&body), None, None, now)?;
    tx.commit()?;
    Ok(Created { status, id })
}

#[cfg(test)]
mod tests {
    use super::parse_condition;

    #[test]
    fn only_an_identifier_with_a_system_is_a_condition() {
        assert_eq!(
            parse_condition("identifier=urn:jkda:serial-block%7C220602101101-3").unwrap(),
            ("urn:jkda:serial-block".into(), "220602101101-3".into())
        );
        assert!(parse_condition("identifier=220602101101-3").is_err());
        assert!(parse_condition("name=x").is_err());
        assert!(parse_condition("identifier=a|b&name=c").is_err());
    }
}
