//! `OperationOutcome`: how a FHIR server says why it refused something, and
//! how the client turns it into words a person can act on.

use serde_json::{json, Value};

/// An OperationOutcome with one error issue. `code` is a FHIR issue type
/// (`invalid`, `forbidden`, `conflict`, `not-found`, `too-costly`, ...).
pub fn operation_outcome(code: &str, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": code, "diagnostics": diagnostics }]
    })
}

/// The server's reason in plain words: each error issue's diagnostics (or
/// details text, or code), joined; None when `v` is no OperationOutcome.
pub fn outcome_text(v: &Value) -> Option<String> {
    if v["resourceType"] != "OperationOutcome" {
        return None;
    }
    let parts: Vec<String> = v["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| matches!(i["severity"].as_str(), Some("error") | Some("fatal") | None))
        .filter_map(|i| {
            i["diagnostics"]
                .as_str()
                .or_else(|| i["details"]["text"].as_str())
                .or_else(|| i["code"].as_str())
                .map(|s| s.chars().take(300).collect::<String>())
        })
        .collect();
    Some(if parts.is_empty() {
        "no reason given".to_string()
    } else {
        parts.join("; ")
    })
}

/// The `details` codes of a Patient refused because another Patient holds
/// its ID card or health-record number (`hub::identity`).
pub const REGISTERED_ID_CARD: &str = "id-card-registered";
pub const REGISTERED_RECORD_NO: &str = "record-no-registered";
const ISSUE_SYSTEM: &str = "urn:jkda:issue";
/// Issue extensions carrying the existing Patient and its site, so a client
/// need not read them out of the English diagnostics.
const EXT_PATIENT: &str = "urn:jkda:registered-patient";
const EXT_SITE: &str = "urn:jkda:registered-site";

/// Where an identifier is already registered, as the OperationOutcome says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredTo {
    /// `REGISTERED_ID_CARD` or `REGISTERED_RECORD_NO`.
    pub code: String,
    /// `Patient/<id>`.
    pub patient: String,
    pub site: String,
}

/// The OperationOutcome of a Patient whose identifier (at `expression`)
/// already belongs to `patient` of `site`: issue type `duplicate`.
pub fn registered_elsewhere(to: &RegisteredTo, diagnostics: &str, expression: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "extension": [
                { "url": EXT_PATIENT, "valueReference": { "reference": to.patient } },
                { "url": EXT_SITE, "valueCode": to.site },
            ],
            "severity": "error",
            "code": "duplicate",
            "details": { "coding": [{ "system": ISSUE_SYSTEM, "code": to.code }] },
            "diagnostics": diagnostics,
            "expression": [expression],
        }]
    })
}

/// Reads `registered_elsewhere` back; None for any other answer.
pub fn registered_to(v: &Value) -> Option<RegisteredTo> {
    if v["resourceType"] != "OperationOutcome" {
        return None;
    }
    v["issue"].as_array()?.iter().find_map(|i| {
        let code = i["details"]["coding"]
            .as_array()?
            .iter()
            .find(|c| c["system"] == ISSUE_SYSTEM)?["code"]
            .as_str()?;
        if i["code"] != "duplicate" || ![REGISTERED_ID_CARD, REGISTERED_RECORD_NO].contains(&code) {
            return None;
        }
        let ext = |url: &str| i["extension"].as_array()?.iter().find(|e| e["url"] == url).cloned();
        let patient = ext(EXT_PATIENT)?["valueReference"]["reference"].as_str()?.to_string();
        let site = ext(EXT_SITE)?["valueCode"].as_str()?.to_string();
        // Shown to a person: what a Patient id and a site code may be, nothing else.
        let plain = |s: &str, extra: &[char]| {
            !s.is_empty() && s.len() <= 80 && s.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
        };
        let patient_ok = patient
            .strip_prefix("Patient/")
            .is_some_and(|id| plain(id, &['-', '.']));
        (patient_ok && plain(&site, &['-', '_'])).then(|| RegisteredTo {
            code: code.to_string(),
            patient,
            site,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_read_from_any_issue_field() {
        assert_eq!(
            outcome_text(&operation_outcome("invalid", "bad date")).as_deref(),
            Some("bad date")
        );
        let v = json!({"resourceType": "OperationOutcome", "issue": [
            {"severity": "warning", "code": "informational", "diagnostics": "ignored"},
            {"severity": "error", "code": "invalid", "details": {"text": "missing subject"}}]});
        assert_eq!(outcome_text(&v).as_deref(), Some("missing subject"));
        assert_eq!(outcome_text(&json!({"resourceType": "Bundle"})), None);
    }

    #[test]
    fn a_registration_elsewhere_reads_back_and_nothing_else_does() {
        let to = RegisteredTo {
            code: REGISTERED_ID_CARD.into(),
            patient: "Patient/p-1".into(),
            site: "s1".into(),
        };
        let oo = registered_elsewhere(&to, "already registered", "Patient.identifier[0]");
        assert_eq!(registered_to(&oo), Some(to));
        assert_eq!(outcome_text(&oo).as_deref(), Some("already registered"));
        assert_eq!(registered_to(&operation_outcome("duplicate", "x")), None);
        let mut odd = oo.clone();
        odd["issue"][0]["extension"][1]["valueCode"] = json!("s1; rm -rf");
        assert_eq!(registered_to(&odd), None);
    }
}
