//! Who may write what on the platform beyond "each site writes its own
//! resources" (issue 13, item 7).
//!
//! **A resident's ID card number and health-record number belong to the
//! Patient that registered them first.** A Patient write that would attach
//! such a number to a Patient which does not hold it yet, while another live
//! Patient does, is refused with 422 and an OperationOutcome pointing at the
//! existing Patient and its site, so the clinic can find the resident there
//! instead of registering them twice. 422
//! and not 409: the FHIR RESTful API keeps 409/412 for version conflicts
//! ("the resource changed since you read it"; the client then compares
//! versions) and answers a violated business rule with 422 Unprocessable
//! Entity; the issue code is `duplicate` ("an attempt was made to create a
//! duplicate record"). A number a Patient already holds stays allowed on it:
//! the owning site re-sending its Patient is fine, and two holders left from
//! before this rule are not made worse (nor locked out) — the bureau
//! resolves those. A deleted Patient frees its numbers.
//!
//! **A record's parts belong to the site of the record.** jkda names a
//! record's Observations `<record uuid>-<field>` (`fhir::mapping`), and
//! record ids are readable by every site, so another site could create such
//! an Observation first and make the owner's whole transaction fail with
//! 403. The rule: an id made of a record's UUID and a suffix may be written
//! only by the site that owns the QuestionnaireResponse with that UUID,
//! when that record is on the platform — before or in the same transaction
//! (records are written before their parts). So the squatting write is
//! refused, and one that got in before the record existed (the UUID cannot
//! be known before the record is uploaded, but a database from before this
//! rule may hold one) is taken over by the record's site, the squatter's
//! version kept in the history. Ids without a record prefix keep the plain
//! rule: whoever created the resource owns it.

use super::HubError;
use crate::fhir::mapping::Identifiers;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

/// An identifier value already registered to another Patient.
#[derive(Debug)]
pub struct Registered {
    /// Which number (the OperationOutcome's `details` code).
    pub what: IdentifierKind,
    /// The Patient that holds it, and the site that registered that Patient.
    pub patient: String,
    pub site: String,
    /// Its place in the refused Patient's `identifier` list.
    pub index: usize,
    /// `Patient.identifier[index]`, the OperationOutcome's `expression`.
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierKind {
    IdCard,
    RecordNo,
}

impl IdentifierKind {
    /// The code in the OperationOutcome (`fhir::outcome::registered_elsewhere`).
    pub fn code(self) -> &'static str {
        match self {
            IdentifierKind::IdCard => crate::fhir::REGISTERED_ID_CARD,
            IdentifierKind::RecordNo => crate::fhir::REGISTERED_RECORD_NO,
        }
    }

    fn words(self) -> &'static str {
        match self {
            IdentifierKind::IdCard => "ID card number",
            IdentifierKind::RecordNo => "health record number",
        }
    }
}

/// What the OperationOutcome's diagnostics say: the number itself never.
impl std::fmt::Display for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: this {} is already registered on the platform to Patient/{} by site {}; \
             link the resident to that Patient instead of registering them again",
            self.path,
            self.what.words(),
            self.patient,
            self.site
        )
    }
}

/// Refuses a Patient whose ID card or record number another live Patient
/// holds, unless `patient` holds it already (see the module header).
pub(super) fn check_patient(tx: &Connection, patient: &str, v: &Value) -> Result<(), HubError> {
    let systems = Identifiers::default();
    for (index, i) in v["identifier"].as_array().into_iter().flatten().enumerate() {
        let what = match i["system"].as_str() {
            Some(s) if s == systems.id_number => IdentifierKind::IdCard,
            Some(s) if s == systems.record_no => IdentifierKind::RecordNo,
            _ => continue,
        };
        let Some(value) = i["value"].as_str() else {
            continue;
        };
        let system = i["system"].as_str().unwrap_or_default();
        // The check letter of an ID card number in either case.
        let (upper, lower) = (value.to_ascii_uppercase(), value.to_ascii_lowercase());
        let holders: Vec<(String, String)> = tx
            .prepare_cached(
                "SELECT i.patient, r.site FROM identifiers i
                 JOIN resources r ON r.type = 'Patient' AND r.id = i.patient AND r.deleted = 0
                 WHERE i.system = ?1 AND i.value IN (?2, ?3, ?4)
                 ORDER BY r.created_at, r.id",
            )?
            .query_map(params![system, value, upper, lower], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if holders.iter().any(|(p, _)| p == patient) {
            continue;
        }
        if let Some((existing, site)) = holders.into_iter().next() {
            return Err(HubError::Registered(Box::new(Registered {
                what,
                patient: existing,
                site,
                index,
                path: format!("Patient.identifier[{index}]"),
            })));
        }
    }
    Ok(())
}

/// The record a resource id is derived from: `<uuid>-<suffix>` gives the
/// UUID (the id of the record's QuestionnaireResponse).
fn record_of(id: &str) -> Option<&str> {
    let (uuid, suffix) = (id.get(..36)?, id.get(36..)?);
    let shaped = uuid.bytes().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    (shaped && suffix.len() > 1 && suffix.starts_with('-')).then_some(uuid)
}

/// Whether `site` may write `kind/id`, whose current owner (if it exists)
/// is `owner`. Ok(true) when the write takes the resource over from another
/// site (a record's part created by someone else; see the module header).
pub(super) fn may_write(
    tx: &Connection,
    site: &str,
    kind: &str,
    id: &str,
    owner: Option<&str>,
) -> Result<bool, HubError> {
    if let Some(record) = record_of(id).filter(|_| kind != "QuestionnaireResponse") {
        let record_site: Option<String> = tx
            .prepare_cached("SELECT site FROM resources WHERE type = 'QuestionnaireResponse' AND id = ?1")?
            .query_row(params![record], |r| r.get(0))
            .optional()?;
        match record_site {
            Some(s) if s != site => {
                return Err(HubError::Forbidden(format!(
                    "{kind}/{id} is part of record QuestionnaireResponse/{record}, which belongs to site {s}; \
                     site {site} may not write it"
                )))
            }
            Some(_) => return Ok(owner.is_some_and(|o| o != site)),
            None => {}
        }
    }
    match owner {
        Some(o) if o != site => Err(HubError::Forbidden(format!(
            "{kind}/{id} belongs to site {o}; site {site} may not change it"
        ))),
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::record_of;

    #[test]
    fn only_a_uuid_and_a_suffix_name_a_record() {
        let uuid = "0190d8a4-5b7c-7e21-9f3a-0123456789ab";
        assert_eq!(record_of(&format!("{uuid}-sbp")), Some(uuid));
        assert_eq!(record_of(uuid), None);
        assert_eq!(record_of(&format!("{uuid}-")), None);
        assert_eq!(record_of(&format!("{uuid}x1")), None);
        assert_eq!(record_of("0190d8a4x5b7c-7e21-9f3a-0123456789ab-sbp"), None);
        assert_eq!(record_of("short-sbp"), None);
        assert_eq!(record_of("长长长长长长长长长长长长长长长长长长长长"), None);
    }
}
