//! The Encounter of a record: the visit, its class taken from the form's
//! visit method (clinic, home, remote) and its period from the record date.

use super::{reference, RecordInput};
use crate::fhir::{Resource, ACT_CODE};
use serde_json::json;

fn record_date(input: &RecordInput) -> Option<String> {
    input.record.record_date.clone().filter(|d| !d.is_empty())
}

pub fn encounter(input: &RecordInput) -> Resource {
    let r = input.record;
    let method = input.record.answers.text("visit_method");
    let (class, display) = match method {
        Some("2") => ("HH", "home health"),
        Some("3") => ("VR", "virtual"),
        _ => ("AMB", "ambulatory"),
    };
    let mut e = json!({
        "resourceType": "Encounter",
        "id": r.uuid,
        "status": "finished",
        "class": { "system": ACT_CODE, "code": class, "display": display },
        "subject": reference("Patient", &input.resident.uuid),
    });
    let o = e.as_object_mut().expect("object");
    if let Some(code) = method {
        o.insert(
            "type".into(),
            json!([{ "coding": [{ "system": format!("{}/CodeSystem/visit_method", input.def.url), "code": code }] }]),
        );
    }
    if let Some(d) = record_date(input) {
        o.insert("period".into(), json!({ "start": d, "end": d }));
    }
    Resource(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::mapping::fixtures::{diabetes_answers, record, resident};
    use crate::fhir::mapping::Identifiers;
    use crate::form::Registry;

    #[test]
    fn a_home_visit_is_a_home_health_encounter_on_the_record_date() {
        let reg = Registry::embedded();
        let def = reg.get("diabetes-followup").unwrap();
        let (res, rec) = (resident(), record("diabetes-followup", diabetes_answers(), 1));
        let ids = Identifiers::default();
        let input = RecordInput {
            record: &rec,
            resident: &res,
            def,
            ids: &ids,
        };
        let enc = encounter(&input).0;
        assert_eq!(enc["class"]["code"], "HH");
        assert_eq!(enc["period"]["start"], "2026-11-01");
    }
}
