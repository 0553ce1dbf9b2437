//! The QuestionnaireResponse writer: a record's answers as the item tree of
//! its form's Questionnaire (sections, pairs, blood pressure, repeating rows,
//! the detail item under the coded answer it explains) with typed answer
//! values. The response is a typed struct serialized straight to text; its
//! fields are declared in sorted key order so the text is the same as
//! serializing the equivalent `serde_json::Value`.

use super::{RecordInput, Reference};
use crate::fhir::Resource;
use crate::form::answers::parse_number;
use crate::form::def::{Field, FieldKind, FormDef};
use crate::form::{Answer, Answers};
use serde::Serialize;

/// The QuestionnaireResponse of a record.
pub fn questionnaire_response(input: &RecordInput) -> Resource {
    Resource(serde_json::to_value(qr_out(input)).expect("a response serializes"))
}

/// The same QuestionnaireResponse as `questionnaire_response`, written
/// straight to JSON text (the same bytes as serializing that value: keys in
/// the same sorted order) without building a tree of values first.
pub fn questionnaire_response_json(input: &RecordInput) -> String {
    serde_json::to_string(&qr_out(input)).expect("a response serializes")
}

// The typed response. Fields are declared in the sorted order a
// `serde_json::Value` writes its keys in, so both give the same text.

#[derive(Serialize)]
struct QrOut<'a> {
    author: Display<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authored: Option<&'a str>,
    encounter: Reference,
    id: &'a str,
    item: Vec<QrNode<'a>>,
    questionnaire: String,
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    status: &'static str,
    subject: Reference,
}

#[derive(Serialize)]
struct Display<'a> {
    display: &'a str,
}

/// An item, or (a repeating group inside a repeating group) its rows.
#[derive(Serialize)]
#[serde(untagged)]
enum QrNode<'a> {
    Item(QrItem<'a>),
    Rows(Vec<QrNode<'a>>),
}

#[derive(Serialize)]
struct QrItem<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    answer: Vec<QrAnswer<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    item: Vec<QrNode<'a>>,
    #[serde(rename = "linkId")]
    link_id: String,
}

impl<'a> QrItem<'a> {
    fn group(link_id: String, item: Vec<QrNode<'a>>) -> QrNode<'a> {
        QrNode::Item(QrItem {
            answer: Vec::new(),
            item,
            link_id,
        })
    }

    fn answered(link_id: String, answer: Vec<QrAnswer<'a>>) -> QrNode<'a> {
        QrNode::Item(QrItem {
            answer,
            item: Vec::new(),
            link_id,
        })
    }
}

#[derive(Serialize)]
struct QrAnswer<'a> {
    /// The detail item a coded answer carries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    item: Vec<QrNode<'a>>,
    #[serde(flatten)]
    value: AnswerValue<'a>,
}

#[derive(Serialize)]
enum AnswerValue<'a> {
    #[serde(rename = "valueCoding")]
    Coding { code: &'a str, system: String },
    #[serde(rename = "valueDate")]
    Date(&'a str),
    #[serde(rename = "valueDecimal")]
    Decimal(f64),
    #[serde(rename = "valueInteger")]
    Integer(i64),
    #[serde(rename = "valueString")]
    String(&'a str),
}

fn qr_out<'a>(input: &RecordInput<'a>) -> QrOut<'a> {
    let r = input.record;
    let a = &r.answers;
    let item: Vec<QrNode> = input
        .def
        .sections
        .iter()
        .filter_map(|s| {
            let mut items = Vec::new();
            for f in &s.fields {
                match field_item(input.def, f, &f.id, &f.id, a) {
                    // A repeating field gives one sibling item per row.
                    Some(QrNode::Rows(rows)) => items.extend(rows),
                    Some(one) => items.push(one),
                    None => {}
                }
            }
            (!items.is_empty()).then(|| QrItem::group(format!("section-{}", s.id), items))
        })
        .collect();
    QrOut {
        author: Display { display: &r.author },
        authored: r.finalized_at.as_deref(),
        encounter: Reference::to("Encounter", &r.uuid),
        id: &r.uuid,
        item,
        questionnaire: input.def.canonical(),
        resource_type: "QuestionnaireResponse",
        status: if r.revision > 1 { "amended" } else { "completed" },
        subject: Reference::to("Patient", &input.resident.uuid),
    }
}

pub(super) fn code_system(def: &FormDef, field: &str) -> String {
    format!("{}/CodeSystem/{}", def.url, field)
}

/// One answer value for a scalar field kind, as typed text -> FHIR value[x].
fn value<'a>(def: &FormDef, field_id: &str, kind: &FieldKind, text: &'a str) -> AnswerValue<'a> {
    let number = || parse_number(text).map(|(v, _)| v);
    match kind {
        FieldKind::Integer(_) => match number() {
            Some(v) if v.fract() == 0.0 && v.abs() < 2_147_483_647.0 => AnswerValue::Integer(v as i64),
            _ => AnswerValue::String(text),
        },
        FieldKind::Decimal(_) | FieldKind::Calculated { .. } => match number() {
            Some(v) => AnswerValue::Decimal(v),
            None => AnswerValue::String(text),
        },
        FieldKind::Date { .. } => AnswerValue::Date(text),
        FieldKind::Choice { .. } | FieldKind::Multi { .. } => AnswerValue::Coding {
            code: text,
            system: code_system(def, field_id),
        },
        _ => AnswerValue::String(text),
    }
}

fn answers_of<'a>(def: &FormDef, field_id: &str, kind: &FieldKind, path: &str, a: &'a Answers) -> Vec<QrAnswer<'a>> {
    let answer = |text| QrAnswer {
        item: Vec::new(),
        value: value(def, field_id, kind, text),
    };
    match a.get(path) {
        Some(Answer::Text(t)) if !t.trim().is_empty() => vec![answer(t)],
        Some(Answer::Codes(cs)) => cs.iter().map(|c| answer(c)).collect(),
        _ => Vec::new(),
    }
}

/// The QR item for a field at answer path `path` (linkId `link`), or None
/// when nothing in it is answered.
fn field_item<'a>(def: &FormDef, f: &Field, path: &str, link: &str, a: &'a Answers) -> Option<QrNode<'a>> {
    match &f.kind {
        FieldKind::Pair { of } => {
            let parts: Vec<QrNode> = ["current", "target"]
                .iter()
                .filter_map(|p| {
                    let ans = answers_of(def, &f.id, of, &format!("{path}.{p}"), a);
                    (!ans.is_empty()).then(|| QrItem::answered(format!("{link}.{p}"), ans))
                })
                .collect();
            (!parts.is_empty()).then(|| QrItem::group(link.to_string(), parts))
        }
        FieldKind::BloodPressure { .. } => {
            let int = FieldKind::Integer(crate::form::def::NumSpec {
                limits: crate::form::def::Limits {
                    range: None,
                    plausible: None,
                },
                precision: 0,
            });
            let parts: Vec<QrNode> = ["systolic", "diastolic"]
                .iter()
                .filter_map(|p| {
                    let ans = answers_of(def, &f.id, &int, &format!("{path}.{p}"), a);
                    (!ans.is_empty()).then(|| QrItem::answered(format!("{link}.{p}"), ans))
                })
                .collect();
            (!parts.is_empty()).then(|| QrItem::group(link.to_string(), parts))
        }
        FieldKind::Rows { columns, .. } => {
            // A repeating group: one item per row, rows in order.
            let rows: Vec<QrNode> = (0..a.row_count(&f.id))
                .filter_map(|i| {
                    let cells: Vec<QrNode> = columns
                        .iter()
                        .filter_map(|c| {
                            field_item(def, c, &format!("{path}.{i}.{}", c.id), &format!("{link}.{}", c.id), a)
                        })
                        .collect();
                    (!cells.is_empty()).then(|| QrItem::group(link.to_string(), cells))
                })
                .collect();
            (!rows.is_empty()).then_some(QrNode::Rows(rows))
        }
        kind => {
            let mut ans = answers_of(def, &f.id, kind, path, a);
            if ans.is_empty() {
                return None;
            }
            let detail = format!("{path}.detail");
            if let Some(t) = a.text(&detail) {
                // The detail item is a child of the coded answer it explains.
                let child = QrItem::answered(
                    format!("{link}.detail"),
                    vec![QrAnswer {
                        item: Vec::new(),
                        value: AnswerValue::String(t),
                    }],
                );
                if let Some(last) = ans.last_mut() {
                    last.item = vec![child];
                }
            }
            Some(QrItem::answered(link.to_string(), ans))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::mapping::fixtures::{diabetes_answers, record, resident};
    use crate::fhir::mapping::Identifiers;
    use crate::form::Registry;
    use serde_json::Value;

    #[test]
    fn every_link_id_is_in_the_questionnaire() {
        let reg = Registry::embedded();
        let def = reg.get("diabetes-followup").unwrap();
        let q = crate::form::fhir::questionnaire(def);
        let mut links = std::collections::HashSet::new();
        fn walk(v: &Value, out: &mut std::collections::HashSet<String>) {
            if let Some(l) = v["linkId"].as_str() {
                out.insert(l.to_string());
            }
            for i in v["item"].as_array().into_iter().flatten() {
                walk(i, out);
            }
            for a in v["answer"].as_array().into_iter().flatten() {
                walk(a, out);
            }
        }
        walk(&q, &mut links);
        let (res, rec) = (resident(), record("diabetes-followup", diabetes_answers(), 1));
        let ids = Identifiers::default();
        let qr = questionnaire_response(&RecordInput {
            record: &rec,
            resident: &res,
            def,
            ids: &ids,
        })
        .0;
        let mut used = std::collections::HashSet::new();
        walk(&qr, &mut used);
        let unknown: Vec<_> = used.difference(&links).collect();
        assert!(unknown.is_empty(), "linkIds not in the Questionnaire: {unknown:?}");
    }
}
