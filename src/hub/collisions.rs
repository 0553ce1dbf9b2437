//! `jkda-hub collisions`: Patients that share an ID card number or a
//! health-record number. Since the rule of `identity` a new Patient cannot
//! take a number another holds, but a database from before it (and clinics
//! that counted serials on their own) may hold such pairs; the bureau
//! resolves them with the sites named here. ID card numbers are shown
//! masked: the report names Patients, the platform has the rest.

use super::HubError;
use crate::fhir::Identifiers;
use crate::i18n::I18n;
use rusqlite::{params, Connection};

/// One Patient holding a shared number.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    pub patient: String,
    pub site: String,
    pub created: String,
    pub last_updated: String,
}

/// A number held by more than one live Patient.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Collision {
    /// `id_card` or `record_no`.
    pub kind: &'static str,
    /// The record number, or the ID card number masked.
    pub value: String,
    pub holders: Vec<Holder>,
}

/// Every shared number, record numbers first, each with its Patients oldest first.
pub fn find(conn: &Connection) -> Result<Vec<Collision>, HubError> {
    let systems = Identifiers::default();
    let mut out = Vec::new();
    for (kind, system) in [("record_no", &systems.record_no), ("id_card", &systems.id_number)] {
        let values: Vec<String> = conn
            .prepare(
                "SELECT upper(i.value) FROM identifiers i
                 JOIN resources r ON r.type = 'Patient' AND r.id = i.patient AND r.deleted = 0
                 WHERE i.system = ?1 GROUP BY upper(i.value) HAVING count(DISTINCT i.patient) > 1
                 ORDER BY upper(i.value)",
            )?
            .query_map(params![system], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for value in values {
            let holders = conn
                .prepare(
                    "SELECT DISTINCT r.id, r.site, r.created_at, r.last_updated FROM identifiers i
                     JOIN resources r ON r.type = 'Patient' AND r.id = i.patient AND r.deleted = 0
                     WHERE i.system = ?1 AND upper(i.value) = ?2 ORDER BY r.created_at, r.id",
                )?
                .query_map(params![system, value], |r| {
                    Ok(Holder {
                        patient: r.get(0)?,
                        site: r.get(1)?,
                        created: r.get(2)?,
                        last_updated: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let value = if kind == "id_card" {
                crate::store::mask_id(&value)
            } else {
                value
            };
            out.push(Collision { kind, value, holders });
        }
    }
    Ok(out)
}

/// The report as text in the reader's language.
pub fn render(found: &[Collision], i18n: &I18n) -> String {
    if found.is_empty() {
        return format!("{}\n", i18n.t("hub.collisions.none"));
    }
    let mut out = format!("{}\n", i18n.t("hub.collisions.title"));
    for c in found {
        let kind = i18n.t(&format!("hub.collisions.{}", c.kind)).to_string();
        out.push_str(&format!("{kind} {}\n", c.value));
        for h in &c.holders {
            out.push_str(&i18n.tf(
                "hub.collisions.holder",
                &[
                    ("patient", &h.patient),
                    ("site", &h.site),
                    ("created", &h.created),
                    ("updated", &h.last_updated),
                ],
            ));
            out.push('\n');
        }
    }
    out
}
