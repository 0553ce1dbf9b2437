//! Observations: one per answered numeric field that carries a LOINC code
//! (fasting glucose takes its code from the unit chosen), with its UCUM
//! quantity, blood pressure as systolic and diastolic components, and the
//! vital-signs or laboratory category. Typed and serialized straight to text
//! like the response, keys in sorted order.

use super::{RecordInput, Reference};
use crate::domain::Record;
use crate::fhir::{Resource, LOINC, OBSERVATION_CATEGORY, UCUM};
use crate::form::answers::parse_number;
use crate::form::def::{FieldKind, FormDef};
use serde::Serialize;

/// LOINC codes whose Observation is a vital sign; other coded fields are
/// laboratory results.
const VITAL_SIGNS: [&str; 9] = [
    "85354-9", "8480-6", "8462-4", "8867-4", "29463-7", "8302-2", "39156-5", "8280-0", "8310-5",
];
const VITAL_SIGNS_EXTRA: [&str; 1] = ["9279-1"];

/// Fasting glucose LOINC by unit: the molar code for mmol/L (what Chinese
/// clinics measure), the mass code for mg/dL.
pub const FBG_MMOL: &str = "14771-0";
pub const FBG_MG: &str = "1558-6";

fn observation_id(record_uuid: &str, field_id: &str) -> String {
    let id = format!("{record_uuid}-{}", field_id.replace('_', "-"));
    if crate::fhir::valid_id(&id) {
        id
    } else {
        // Too long or odd: a short stable suffix keeps the id unique and legal.
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(field_id.as_bytes());
        format!("{record_uuid}-{}", hex::encode(&h[..4]))
    }
}

/// One Observation per LOINC-coded numeric field that is answered.
pub fn observations(input: &RecordInput) -> Vec<Resource> {
    observations_out(input)
        .iter()
        .map(|o| Resource(serde_json::to_value(o).expect("an observation serializes")))
        .collect()
}

/// The same Observations as `observations`, each as (`Type/id`, JSON text),
/// written without building values (the same text as serializing them).
pub fn observations_json(input: &RecordInput) -> Vec<(String, String)> {
    observations_out(input)
        .iter()
        .map(|o| {
            let text = serde_json::to_string(o).expect("an observation serializes");
            (format!("Observation/{}", o.id), text)
        })
        .collect()
}

// The typed Observation, fields in sorted key order like QrOut's.

#[derive(Serialize)]
struct ObsOut<'a> {
    category: [CodeableConcept<'a>; 1],
    code: CodeableConcept<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    component: Vec<Component<'a>>,
    #[serde(rename = "derivedFrom")]
    derived_from: [Reference; 1],
    #[serde(rename = "effectiveDateTime", skip_serializing_if = "Option::is_none")]
    effective: Option<&'a str>,
    encounter: Reference,
    id: String,
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    status: &'static str,
    subject: Reference,
    #[serde(rename = "valueQuantity", skip_serializing_if = "Option::is_none")]
    value: Option<Quantity<'a>>,
}

#[derive(Serialize)]
struct CodeableConcept<'a> {
    coding: [Coding<'a>; 1],
}

#[derive(Serialize)]
struct Coding<'a> {
    code: &'a str,
    system: &'static str,
}

impl<'a> CodeableConcept<'a> {
    fn of(system: &'static str, code: &'a str) -> CodeableConcept<'a> {
        CodeableConcept {
            coding: [Coding { code, system }],
        }
    }
}

#[derive(Serialize)]
struct Component<'a> {
    code: CodeableConcept<'a>,
    #[serde(rename = "valueQuantity")]
    value: Quantity<'a>,
}

#[derive(Serialize)]
struct Quantity<'a> {
    code: &'a str,
    system: &'static str,
    unit: &'a str,
    value: f64,
}

fn quantity(v: f64, ucum: &str) -> Quantity<'_> {
    Quantity {
        code: ucum,
        system: UCUM,
        unit: ucum,
        value: v,
    }
}

fn observations_out<'a>(input: &RecordInput<'a>) -> Vec<ObsOut<'a>> {
    let r: &'a Record = input.record;
    let def: &'a FormDef = input.def;
    let a = &r.answers;
    let status = if r.revision > 1 { "amended" } else { "final" };
    let mut out = Vec::new();
    for (_, f) in def.fields() {
        let num = |path: &str| a.text(path).and_then(parse_number).map(|(v, _)| v);
        let (loinc, ucum): (&'a str, &'a str) = match (&f.loinc, &f.ucum) {
            (Some(l), u) => (l, u.as_deref().or(f.unit.as_deref()).unwrap_or("")),
            // Fasting glucose recorded with a unit choice (the health exam).
            (None, _) if f.id == "fbg" => match a.text("fbg_unit") {
                Some("1") => (FBG_MMOL, "mmol/L"),
                Some("2") => (FBG_MG, "mg/dL"),
                _ => continue,
            },
            _ => continue,
        };
        let mut obs = ObsOut {
            category: [CodeableConcept::of(OBSERVATION_CATEGORY, category(loinc))],
            code: CodeableConcept::of(LOINC, loinc),
            component: Vec::new(),
            derived_from: [Reference::to("QuestionnaireResponse", &r.uuid)],
            effective: r.record_date.as_deref().filter(|d| !d.is_empty()),
            encounter: Reference::to("Encounter", &r.uuid),
            id: observation_id(&r.uuid, &f.id),
            resource_type: "Observation",
            status,
            subject: Reference::to("Patient", &input.resident.uuid),
            value: None,
        };
        let value = match &f.kind {
            FieldKind::BloodPressure { .. } => {
                obs.component = [("systolic", "8480-6"), ("diastolic", "8462-4")]
                    .iter()
                    .filter_map(|(p, code)| {
                        num(&format!("{}.{p}", f.id)).map(|v| Component {
                            code: CodeableConcept::of(LOINC, code),
                            value: quantity(v, ucum),
                        })
                    })
                    .collect();
                if obs.component.is_empty() {
                    continue;
                }
                out.push(obs);
                continue;
            }
            FieldKind::Pair { .. } => num(&format!("{}.current", f.id)),
            FieldKind::Integer(_) | FieldKind::Decimal(_) | FieldKind::Calculated { .. } => num(&f.id),
            _ => None,
        };
        let Some(v) = value else { continue };
        obs.value = Some(quantity(v, ucum));
        out.push(obs);
    }
    out
}

pub(super) fn category(loinc: &str) -> &'static str {
    if VITAL_SIGNS.contains(&loinc) || VITAL_SIGNS_EXTRA.contains(&loinc) {
        "vital-signs"
    } else {
        "laboratory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::mapping::fixtures::{diabetes_answers, record, resident};
    use crate::fhir::mapping::Identifiers;
    use crate::form::Registry;
    use serde_json::Value;

    fn find<'a>(obs: &'a [Resource], loinc: &str) -> &'a Value {
        &obs.iter()
            .find(|o| o.0["code"]["coding"][0]["code"] == loinc)
            .unwrap_or_else(|| panic!("no {loinc}"))
            .0
    }

    #[test]
    fn vital_signs_become_coded_observations() {
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
        let obs = observations(&input);
        let bp = find(&obs, "85354-9");
        assert_eq!(bp["component"][0]["code"]["coding"][0]["code"], "8480-6");
        assert_eq!(bp["component"][0]["valueQuantity"]["value"], 135.0);
        assert_eq!(bp["component"][1]["valueQuantity"]["code"], "mm[Hg]");
        assert_eq!(find(&obs, "29463-7")["valueQuantity"]["value"], 70.5);
        assert_eq!(find(&obs, "8302-2")["valueQuantity"]["code"], "cm");
        assert_eq!(find(&obs, "8867-4")["valueQuantity"]["code"], "/min");
        assert_eq!(find(&obs, "14771-0")["valueQuantity"]["code"], "mmol/L");
        assert_eq!(find(&obs, "14771-0")["category"][0]["coding"][0]["code"], "laboratory");
        assert_eq!(find(&obs, "4548-4")["valueQuantity"]["code"], "%");
        assert_eq!(bp["category"][0]["coding"][0]["code"], "vital-signs");
        for o in &obs {
            assert!(crate::fhir::valid_id(o.id()), "{}", o.id());
        }
    }
}
