//! What the hub accepts: a resource's shape checked before storage sees it.
//! The rules are FHIR R4's (ids, dates, codes, required elements of the
//! types the clinics send) plus the hub's own few (a record's parts name a
//! Patient subject); the message is what the OperationOutcome tells the
//! client. Storage (`storage.rs`) only writes what passed; whether a site
//! may write a resource (`identity`, `anchors`) is decided there, with the
//! database at hand.

use super::HubError;
use crate::fhir;
use serde_json::Value;

/// Checks a resource's shape; the message is what the OperationOutcome says.
pub fn resource(kind: &str, id: &str, v: &Value) -> Result<(), HubError> {
    let bad = |m: String| Err(HubError::Invalid(m));
    if !v.is_object() {
        return bad("the body is not a JSON object".into());
    }
    if v["resourceType"] != kind {
        return bad(format!(
            "resourceType {} does not match the URL type {kind}",
            v["resourceType"]
        ));
    }
    if !fhir::TYPES.contains(&kind) {
        return Err(HubError::NotSupported(format!(
            "resource type {kind} is not supported here"
        )));
    }
    if v["id"] != id {
        return bad(format!("resource id {} does not match the URL id {id:?}", v["id"]));
    }
    let has_subject = v["subject"]["reference"]
        .as_str()
        .is_some_and(|r| r.starts_with("Patient/"));
    match kind {
        "Patient" => {
            if let Some(ids) = v.get("identifier") {
                if !ids.as_array().is_some_and(|a| a.iter().all(|i| i["value"].is_string())) {
                    return bad("Patient.identifier must be a list of identifiers with a value".into());
                }
            }
        }
        "QuestionnaireResponse" => {
            if !v["questionnaire"].is_string() {
                return bad("QuestionnaireResponse.questionnaire is missing".into());
            }
            if !matches!(
                v["status"].as_str(),
                Some("in-progress" | "completed" | "amended" | "entered-in-error" | "stopped")
            ) {
                return bad(format!(
                    "QuestionnaireResponse.status {} is not a valid status",
                    v["status"]
                ));
            }
            if !has_subject {
                return bad("QuestionnaireResponse.subject must reference a Patient".into());
            }
            if !items_ok(&v["item"]) {
                return bad("QuestionnaireResponse.item: every item needs a linkId".into());
            }
        }
        "Encounter" => {
            if !v["status"].is_string() || !v["class"].is_object() || !has_subject {
                return bad("Encounter needs status, class and a subject Patient".into());
            }
        }
        // An audit anchor (its shape checked by `anchors::check`) and an
        // installation's state: no Patient, nothing to check here.
        // Published forms too (`hub::forms`).
        "AuditEvent" | "Device" | "Binary" | "Questionnaire" => {}
        // A serial block (`hub::create`): Basic.code is required by FHIR.
        "Basic" => {
            if !v["code"].is_object() {
                return bad("Basic.code is missing".into());
            }
        }
        _ => {
            if !v["status"].is_string() || !v["code"].is_object() || !has_subject {
                return bad("Observation needs status, code and a subject Patient".into());
            }
        }
    }
    // Dates, numbers, codes and ids as FHIR defines them.
    fhir::elements::check(kind, v).map_err(HubError::Element)
}

fn items_ok(items: &Value) -> bool {
    match items {
        Value::Null => true,
        Value::Array(a) => a.iter().all(|i| {
            i["linkId"].is_string()
                && items_ok(&i["item"])
                && i["answer"]
                    .as_array()
                    .is_none_or(|ans| ans.iter().all(|x| items_ok(&x["item"])))
        }),
        _ => false,
    }
}

/// A DELETE's type and id: a supported type and a well-formed id.
pub fn deletion(kind: &str, id: &str) -> Result<(), HubError> {
    if !fhir::TYPES.contains(&kind) {
        return Err(HubError::NotSupported(format!(
            "resource type {kind} is not supported here"
        )));
    }
    if !fhir::valid_id(id) {
        return Err(HubError::Invalid(format!("{id:?} is not a resource id")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_url_and_the_body_must_agree() {
        let p = json!({"resourceType": "Patient", "id": "p1"});
        assert!(resource("Patient", "p1", &p).is_ok());
        assert!(matches!(resource("Patient", "p2", &p), Err(HubError::Invalid(_))));
        assert!(matches!(resource("Encounter", "p1", &p), Err(HubError::Invalid(_))));
        assert!(matches!(
            resource("Medication", "m1", &json!({"resourceType": "Medication", "id": "m1"})),
            Err(HubError::NotSupported(_))
        ));
    }

    #[test]
    fn a_record_part_needs_a_patient_subject_and_linked_items() {
        let qr = |subject: &str, item: Value| {
            json!({"resourceType": "QuestionnaireResponse", "id": "r1", "status": "completed",
                   "questionnaire": "Questionnaire/f", "subject": {"reference": subject}, "item": item})
        };
        assert!(resource(
            "QuestionnaireResponse",
            "r1",
            &qr("Patient/p1", json!([{"linkId": "a"}]))
        )
        .is_ok());
        assert!(resource("QuestionnaireResponse", "r1", &qr("Group/g1", json!([]))).is_err());
        assert!(resource(
            "QuestionnaireResponse",
            "r1",
            &qr("Patient/p1", json!([{"text": "no id"}]))
        )
        .is_err());
    }

    #[test]
    fn a_deletion_names_a_supported_type_and_a_valid_id() {
        assert!(deletion("Patient", "p1").is_ok());
        assert!(matches!(deletion("Medication", "m1"), Err(HubError::NotSupported(_))));
        assert!(matches!(deletion("Patient", "no spaces"), Err(HubError::Invalid(_))));
    }
}
