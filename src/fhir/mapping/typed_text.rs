//! Test only: the mapping as it was when it built `serde_json` values, kept
//! to prove that the typed response and Observations written straight to text
//! give exactly the same bytes, for every shipped form.

use super::fixtures::{diabetes_answers, record, resident};
use super::{observations, observations_json, questionnaire_response, questionnaire_response_json};
use super::{Identifiers, RecordInput};
use crate::form::def::{FieldKind, FormDef};
use crate::form::{Answers, Registry};
use serde_json::Value;

/// The mapping as it was when it built `serde_json` values: the typed
/// response must give exactly the same text.
mod old {
    use super::super::observation::category;
    use super::super::response::code_system;
    use super::super::{reference, RecordInput, FBG_MG, FBG_MMOL};
    use crate::fhir::Resource;
    use crate::fhir::{LOINC, OBSERVATION_CATEGORY, UCUM};
    use crate::form::answers::parse_number;
    use crate::form::def::{Field, FieldKind, FormDef};
    use crate::form::{Answer, Answers};
    use serde_json::{json, Value};

    pub(super) fn questionnaire_response(input: &RecordInput) -> Resource {
        let r = input.record;
        let a = &r.answers;
        let sections: Vec<Value> = input
            .def
            .sections
            .iter()
            .filter_map(|s| {
                let items: Vec<Value> = s
                    .fields
                    .iter()
                    .filter_map(|f| field_item(input.def, f, &f.id, &f.id, a))
                    // A repeating field gives one sibling item per row.
                    .flat_map(|v| match v {
                        Value::Array(rows) => rows,
                        one => vec![one],
                    })
                    .collect();
                (!items.is_empty()).then(|| json!({ "linkId": format!("section-{}", s.id), "item": items }))
            })
            .collect();
        let mut qr = json!({
            "resourceType": "QuestionnaireResponse",
            "id": r.uuid,
            "questionnaire": input.def.canonical(),
            "status": if r.revision > 1 { "amended" } else { "completed" },
            "subject": reference("Patient", &input.resident.uuid),
            "encounter": reference("Encounter", &r.uuid),
            "author": { "display": r.author },
            "item": sections,
        });
        if let Some(at) = &r.finalized_at {
            qr["authored"] = json!(at);
        }
        Resource(qr)
    }

    /// One answer value for a scalar field kind, as typed text -> FHIR value[x].
    fn value(def: &FormDef, field_id: &str, kind: &FieldKind, text: &str) -> Value {
        let number = || parse_number(text).map(|(v, _)| v);
        match kind {
            FieldKind::Integer(_) => match number() {
                Some(v) if v.fract() == 0.0 && v.abs() < 2_147_483_647.0 => json!({ "valueInteger": v as i64 }),
                _ => json!({ "valueString": text }),
            },
            FieldKind::Decimal(_) | FieldKind::Calculated { .. } => match number() {
                Some(v) => json!({ "valueDecimal": v }),
                None => json!({ "valueString": text }),
            },
            FieldKind::Date { .. } => json!({ "valueDate": text }),
            FieldKind::Choice { .. } | FieldKind::Multi { .. } => {
                json!({ "valueCoding": { "system": code_system(def, field_id), "code": text } })
            }
            _ => json!({ "valueString": text }),
        }
    }

    fn answers_of(def: &FormDef, field_id: &str, kind: &FieldKind, path: &str, a: &Answers) -> Vec<Value> {
        match a.iter().find(|(k, _)| k.as_str() == path).map(|(_, v)| v) {
            Some(Answer::Text(t)) if !t.trim().is_empty() => vec![value(def, field_id, kind, t)],
            Some(Answer::Codes(cs)) => cs.iter().map(|c| value(def, field_id, kind, c)).collect(),
            _ => Vec::new(),
        }
    }

    /// The QR item for a field at answer path `path` (linkId `link`), or None
    /// when nothing in it is answered.
    fn field_item(def: &FormDef, f: &Field, path: &str, link: &str, a: &Answers) -> Option<Value> {
        match &f.kind {
            FieldKind::Pair { of } => {
                let parts: Vec<Value> = ["current", "target"]
                    .iter()
                    .filter_map(|p| {
                        let ans = answers_of(def, &f.id, of, &format!("{path}.{p}"), a);
                        (!ans.is_empty()).then(|| json!({ "linkId": format!("{link}.{p}"), "answer": ans }))
                    })
                    .collect();
                (!parts.is_empty()).then(|| json!({ "linkId": link, "item": parts }))
            }
            FieldKind::BloodPressure { .. } => {
                let int = FieldKind::Integer(crate::form::def::NumSpec {
                    limits: crate::form::def::Limits {
                        range: None,
                        plausible: None,
                    },
                    precision: 0,
                });
                let parts: Vec<Value> = ["systolic", "diastolic"]
                    .iter()
                    .filter_map(|p| {
                        let ans = answers_of(def, &f.id, &int, &format!("{path}.{p}"), a);
                        (!ans.is_empty()).then(|| json!({ "linkId": format!("{link}.{p}"), "answer": ans }))
                    })
                    .collect();
                (!parts.is_empty()).then(|| json!({ "linkId": link, "item": parts }))
            }
            FieldKind::Rows { columns, .. } => {
                // A repeating group: one item per row, rows in order.
                let rows: Vec<Value> = (0..a.row_count(&f.id))
                    .filter_map(|i| {
                        let cells: Vec<Value> = columns
                            .iter()
                            .filter_map(|c| {
                                field_item(def, c, &format!("{path}.{i}.{}", c.id), &format!("{link}.{}", c.id), a)
                            })
                            .collect();
                        (!cells.is_empty()).then(|| json!({ "linkId": link, "item": cells }))
                    })
                    .collect();
                (!rows.is_empty()).then_some(Value::Array(rows))
            }
            kind => {
                let mut ans = answers_of(def, &f.id, kind, path, a);
                if ans.is_empty() {
                    return None;
                }
                let detail = format!("{path}.detail");
                if let Some(t) = a.text(&detail) {
                    // The detail item is a child of the coded answer it explains.
                    let child = json!([{ "linkId": format!("{link}.detail"), "answer": [{ "valueString": t }] }]);
                    if let Some(last) = ans.last_mut() {
                        last["item"] = child;
                    }
                }
                Some(json!({ "linkId": link, "answer": ans }))
            }
        }
    }

    fn quantity(v: f64, ucum: &str) -> Value {
        json!({ "value": v, "unit": ucum, "system": UCUM, "code": ucum })
    }

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
    pub(super) fn observations(input: &RecordInput) -> Vec<Resource> {
        let r = input.record;
        let a = &r.answers;
        let mut out = Vec::new();
        for (_, f) in input.def.fields() {
            let num = |path: &str| a.text(path).and_then(parse_number).map(|(v, _)| v);
            let (loinc, ucum) = match (&f.loinc, &f.ucum) {
                (Some(l), u) => (
                    l.clone(),
                    u.clone().unwrap_or_else(|| f.unit.clone().unwrap_or_default()),
                ),
                // Fasting glucose recorded with a unit choice (the health exam).
                (None, _) if f.id == "fbg" => match a.text("fbg_unit") {
                    Some("1") => (FBG_MMOL.to_string(), "mmol/L".to_string()),
                    Some("2") => (FBG_MG.to_string(), "mg/dL".to_string()),
                    _ => continue,
                },
                _ => continue,
            };
            let mut obs = json!({
                "resourceType": "Observation",
                "id": observation_id(&r.uuid, &f.id),
                "status": if r.revision > 1 { "amended" } else { "final" },
                "category": [{ "coding": [{ "system": OBSERVATION_CATEGORY, "code": category(&loinc) }] }],
                "code": { "coding": [{ "system": LOINC, "code": loinc }] },
                "subject": reference("Patient", &input.resident.uuid),
                "encounter": reference("Encounter", &r.uuid),
                "derivedFrom": [reference("QuestionnaireResponse", &r.uuid)],
            });
            if let Some(d) = r.record_date.as_deref().filter(|d| !d.is_empty()) {
                obs["effectiveDateTime"] = json!(d);
            }
            let value = match &f.kind {
                FieldKind::BloodPressure { .. } => {
                    let parts: Vec<Value> = [("systolic", "8480-6"), ("diastolic", "8462-4")]
                        .iter()
                        .filter_map(|(p, code)| {
                            num(&format!("{}.{p}", f.id)).map(|v| {
                                json!({ "code": { "coding": [{ "system": LOINC, "code": code }] }, "valueQuantity": quantity(v, &ucum) })
                            })
                        })
                        .collect();
                    if parts.is_empty() {
                        continue;
                    }
                    obs["component"] = json!(parts);
                    out.push(Resource(obs));
                    continue;
                }
                FieldKind::Pair { .. } => num(&format!("{}.current", f.id)),
                FieldKind::Integer(_) | FieldKind::Decimal(_) | FieldKind::Calculated { .. } => num(&f.id),
                _ => None,
            };
            let Some(v) = value else { continue };
            obs["valueQuantity"] = quantity(v, &ucum);
            out.push(Resource(obs));
        }
        out
    }
}

/// Every field of a form answered, two rows of each repeating group,
/// details on coded answers, and text where a number belongs.
fn everything(def: &FormDef) -> Answers {
    fn fill(kind: &FieldKind, path: &str, n: usize, a: &mut Answers) {
        match kind {
            FieldKind::Integer(_) => a.set_text(path, if n % 3 == 2 { "约80" } else { "72" }),
            FieldKind::Decimal(_) | FieldKind::Calculated { .. } => {
                a.set_text(path, if n % 3 == 2 { "x" } else { "61.5" })
            }
            FieldKind::Date { .. } => a.set_text(path, "2026-11-02"),
            FieldKind::Choice { options } => {
                if let Some(o) = options.first() {
                    a.set_text(path, &o.code);
                    a.set_text(&format!("{path}.detail"), "说明 \"引号\"");
                }
            }
            FieldKind::Multi { options, .. } => {
                a.set_codes(path, options.iter().take(2).map(|o| o.code.clone()).collect());
                a.set_text(&format!("{path}.detail"), "其他");
            }
            FieldKind::Pair { of } => {
                fill(of, &format!("{path}.current"), n, a);
                fill(of, &format!("{path}.target"), n + 1, a);
            }
            FieldKind::BloodPressure { .. } => {
                a.set_text(&format!("{path}.systolic"), "131");
                a.set_text(&format!("{path}.diastolic"), "85");
            }
            FieldKind::Rows { columns, .. } => {
                for row in 0..2 {
                    for (k, c) in columns.iter().enumerate() {
                        fill(&c.kind, &format!("{path}.{row}.{}", c.id), n + k, a);
                    }
                }
            }
            _ => a.set_text(path, "文字\n第二行"),
        }
    }
    let mut a = Answers::new();
    for (n, (_, f)) in def.fields().enumerate() {
        fill(&f.kind, &f.id, n, &mut a);
    }
    a
}

#[test]
fn typed_responses_are_the_text_the_values_gave() {
    let reg = Registry::embedded();
    let ids = Identifiers::default();
    let res = resident();
    let mut seen = String::new();
    for def in reg.all() {
        for (answers, revision) in [(everything(def), 1), (diabetes_answers(), 2), (Answers::new(), 1)] {
            let mut rec = record(&def.id, answers, revision);
            if revision == 2 {
                rec.finalized_at = None;
            }
            let input = RecordInput {
                record: &rec,
                resident: &res,
                def,
                ids: &ids,
            };
            let obs: Vec<(String, String)> = old::observations(&input)
                .iter()
                .map(|o| (o.url(), serde_json::to_string(&o.0).unwrap()))
                .collect();
            assert_eq!(observations_json(&input), obs, "{}", def.id);
            assert_eq!(observations(&input), old::observations(&input), "{}", def.id);
            obs.iter().for_each(|(_, o)| seen.push_str(o));
            let want = serde_json::to_string(&old::questionnaire_response(&input).0).unwrap();
            assert_eq!(questionnaire_response_json(&input), want, "{}", def.id);
            seen.push_str(&want);
            assert_eq!(
                questionnaire_response(&input).0,
                serde_json::from_str::<Value>(&want).unwrap()
            );
        }
    }
    for kind in [
        "valueCoding",
        "valueDate",
        "valueDecimal",
        "valueInteger",
        "valueString",
        ".detail\"",
        "authored",
        "component",
        "effectiveDateTime",
        "\"valueQuantity\"",
    ] {
        assert!(seen.contains(kind), "no {kind} in any response");
    }
}
