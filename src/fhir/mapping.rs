//! jkda's residents and records as FHIR R4 resources, and back.
//!
//! A resident is a `Patient`; a finalized record is a `QuestionnaireResponse`
//! (every answered item by linkId, nested like the form's Questionnaire), an
//! `Encounter` (the visit) and one `Observation` per measured vital sign or
//! laboratory value whose field carries a LOINC code. Ids are the client's
//! stable UUIDs, so sending a record twice writes the same resources.

use super::{Resource, ACT_CODE, DIVISION_EXT, LOINC, OBSERVATION_CATEGORY, UCUM};
use crate::domain::debug_shows;
use crate::domain::{Record, Resident, ResidentFields};
use crate::form::answers::parse_number;
use crate::form::def::{Field, FieldKind, FormDef};
use crate::form::{Answer, Answers};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// The identifier systems of the city platform (configurable: each province
/// names its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifiers {
    /// The 18-digit resident ID card number.
    pub id_number: String,
    /// The 17-digit health record number.
    pub record_no: String,
}

impl Default for Identifiers {
    fn default() -> Self {
        Identifiers {
            id_number: "urn:jkda:identifier:resident-id-card".into(),
            record_no: "urn:jkda:identifier:health-record-no".into(),
        }
    }
}

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

/// What one record's resources are made from. `Debug` shows ids only.
pub struct RecordInput<'a> {
    pub record: &'a Record,
    pub resident: &'a Resident,
    pub def: &'a FormDef,
    pub ids: &'a Identifiers,
}

debug_shows!(RecordInput<'a>: record, resident);

pub fn gender(sex: Option<&str>) -> &'static str {
    match sex {
        Some("1") => "male",
        Some("2") => "female",
        Some("9") => "other",
        _ => "unknown",
    }
}

fn sex_code(gender: &str) -> Option<&'static str> {
    match gender {
        "male" => Some("1"),
        "female" => Some("2"),
        "other" => Some("9"),
        "unknown" => Some("0"),
        _ => None,
    }
}

pub fn patient(r: &Resident, ids: &Identifiers) -> Resource {
    let mut identifier = Vec::new();
    if let Some(n) = r.id_number.as_deref().filter(|s| !s.is_empty()) {
        identifier.push(json!({ "system": ids.id_number, "value": n }));
    }
    identifier.push(json!({ "system": ids.record_no, "value": r.record_no }));
    let mut p = json!({
        "resourceType": "Patient",
        "id": r.uuid,
        "identifier": identifier,
        "active": r.status != "inactive",
        "gender": gender(r.sex.as_deref()),
    });
    let o = p.as_object_mut().expect("object");
    if let Some(n) = r.name.as_deref().filter(|s| !s.is_empty()) {
        o.insert("name".into(), json!([{ "text": n }]));
    }
    if let Some(b) = r.birth_date.as_deref().filter(|s| !s.is_empty()) {
        o.insert("birthDate".into(), json!(b));
    }
    if let Some(t) = r.phone.as_deref().filter(|s| !s.is_empty()) {
        o.insert("telecom".into(), json!([{ "system": "phone", "value": t }]));
    }
    let mut address = Map::new();
    if let Some(a) = r.address.as_deref().filter(|s| !s.is_empty()) {
        address.insert("text".into(), json!(a));
    }
    if let Some(v) = r.village.as_deref().filter(|s| !s.is_empty()) {
        address.insert("line".into(), json!([v]));
    }
    if r.record_no.len() >= 12 && r.record_no.is_ascii() {
        address.insert("district".into(), json!(&r.record_no[..6]));
        address.insert(
            "extension".into(),
            json!([{ "url": DIVISION_EXT, "valueCode": &r.record_no[..12] }]),
        );
    }
    if !address.is_empty() {
        o.insert("address".into(), json!([address]));
    }
    Resource(p)
}

/// The resident attributes a Patient carries, and its record number.
pub fn patient_fields(p: &Value, ids: &Identifiers) -> (ResidentFields, Option<String>) {
    let ident = |system: &str| {
        p["identifier"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["system"] == system))
            .and_then(|i| i["value"].as_str())
            .map(str::to_string)
    };
    let s = |v: &Value| v.as_str().map(str::to_string);
    let fields = ResidentFields {
        name: s(&p["name"][0]["text"]),
        sex: p["gender"].as_str().and_then(sex_code).map(str::to_string),
        birth_date: s(&p["birthDate"]),
        id_number: ident(&ids.id_number),
        phone: p["telecom"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["system"] == "phone"))
            .and_then(|t| s(&t["value"])),
        address: s(&p["address"][0]["text"]),
        village: s(&p["address"][0]["line"][0]),
    };
    (fields, ident(&ids.record_no))
}

fn reference(kind: &str, id: &str) -> Value {
    json!({ "reference": format!("{kind}/{id}") })
}

/// Every resource of a finalized record, in the order a transaction should
/// write them: the Patient first (when `with_patient`), then Encounter,
/// QuestionnaireResponse and Observations.
pub fn record_resources(input: &RecordInput, with_patient: bool) -> Vec<Resource> {
    let mut out = Vec::new();
    if with_patient {
        out.push(patient(input.resident, input.ids));
    }
    out.push(encounter(input));
    out.push(questionnaire_response(input));
    out.extend(observations(input));
    out
}

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

#[derive(Serialize)]
struct Reference {
    reference: String,
}

impl Reference {
    fn to(kind: &str, id: &str) -> Reference {
        Reference {
            reference: format!("{kind}/{id}"),
        }
    }
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

fn code_system(def: &FormDef, field: &str) -> String {
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

fn observation_id(record_uuid: &str, field_id: &str) -> String {
    let id = format!("{record_uuid}-{}", field_id.replace('_', "-"));
    if super::valid_id(&id) {
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

fn category(loinc: &str) -> &'static str {
    if VITAL_SIGNS.contains(&loinc) || VITAL_SIGNS_EXTRA.contains(&loinc) {
        "vital-signs"
    } else {
        "laboratory"
    }
}

/// The answers a QuestionnaireResponse carries, as jkda answer paths, for a
/// record brought down from the platform. Numbers are written with the
/// field's precision so they read as they were typed.
pub fn answers_from_response(qr: &Value, def: &FormDef) -> Answers {
    let def = &Fields::of(def);
    let mut a = Answers::new();
    let mut rows: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    if let Some(items) = qr["item"].as_array() {
        for section in items {
            for item in section["item"].as_array().into_iter().flatten() {
                read_item(item, def, &mut a, &mut rows, None);
            }
        }
    }
    a
}

/// A form's fields by id (the first of an id, as `FormDef::field` finds),
/// for reading a response's items without scanning the form for each.
struct Fields<'a>(std::collections::HashMap<&'a str, &'a Field>);

impl<'a> Fields<'a> {
    fn of(def: &'a FormDef) -> Fields<'a> {
        let mut map = std::collections::HashMap::new();
        for (_, f) in def.fields() {
            map.entry(f.id.as_str()).or_insert(f);
        }
        Fields(map)
    }

    fn field(&self, id: &str) -> Option<&'a Field> {
        self.0.get(id).copied()
    }
}

fn precision_of(def: &Fields, link: &str) -> Option<u8> {
    let mut parts = link.split('.');
    let field = def.field(parts.next()?)?;
    let kind = match &field.kind {
        FieldKind::Rows { columns, .. } => &columns.iter().find(|c| Some(c.id.as_str()) == parts.next())?.kind,
        FieldKind::Pair { of } => of,
        k => k,
    };
    match kind {
        FieldKind::Decimal(s) | FieldKind::Integer(s) => Some(s.precision),
        FieldKind::Calculated { precision, .. } => Some(*precision),
        _ => None,
    }
}

fn answer_text(v: &Value, def: &Fields, link: &str) -> Option<String> {
    if let Some(n) = v.get("valueDecimal").and_then(Value::as_f64) {
        let p = precision_of(def, link).unwrap_or(1);
        return Some(format!("{n:.*}", usize::from(p)));
    }
    if let Some(n) = v.get("valueInteger").and_then(Value::as_i64) {
        return Some(n.to_string());
    }
    for key in ["valueString", "valueDate", "valueDateTime"] {
        if let Some(s) = v.get(key).and_then(Value::as_str) {
            return Some(s.to_string());
        }
    }
    v.get("valueCoding")
        .and_then(|c| c["code"].as_str())
        .map(str::to_string)
}

fn read_item(
    item: &Value,
    def: &Fields,
    a: &mut Answers,
    rows: &mut std::collections::HashMap<String, usize>,
    row: Option<(&str, usize)>,
) {
    let Some(link) = item["linkId"].as_str() else { return };
    // The answer path: rows insert their index after the field id.
    let path = match row {
        Some((field, i)) => format!(
            "{field}.{i}.{}",
            link.strip_prefix(&format!("{field}.")).unwrap_or(link)
        ),
        None => link.to_string(),
    };
    let field = link.split('.').next().unwrap_or(link);
    let is_rows =
        row.is_none() && matches!(def.field(field).map(|f| &f.kind), Some(FieldKind::Rows { .. })) && link == field;
    if is_rows {
        let n = rows.entry(field.to_string()).or_insert(0);
        let i = *n;
        *n += 1;
        for child in item["item"].as_array().into_iter().flatten() {
            read_item(child, def, a, rows, Some((field, i)));
        }
        return;
    }
    if let Some(answers) = item["answer"].as_array() {
        let texts: Vec<String> = answers.iter().filter_map(|v| answer_text(v, def, link)).collect();
        let multi = matches!(def.field(field).map(|f| &f.kind), Some(FieldKind::Multi { .. }));
        if multi {
            a.set_codes(&path, texts);
        } else if let Some(t) = texts.first() {
            a.set_text(&path, t);
        }
        for v in answers {
            for child in v["item"].as_array().into_iter().flatten() {
                read_item(child, def, a, rows, row);
            }
        }
    }
    for child in item["item"].as_array().into_iter().flatten() {
        read_item(child, def, a, rows, row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RecordStatus;
    use crate::form::Registry;

    /// The mapping as it was when it built `serde_json` values: the typed
    /// response must give exactly the same text.
    mod old {
        use super::super::{category, code_system, reference, RecordInput, FBG_MG, FBG_MMOL};
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

    fn resident() -> Resident {
        Resident {
            id: 1,
            uuid: "11111111-1111-4111-8111-111111111111".into(),
            record_no: "22060210110100001".into(),
            status: "active".into(),
            name: Some("测试甲".into()),
            sex: Some("2".into()),
            birth_date: Some("1950-03-04".into()),
            id_number: Some("220602195003040020".into()),
            phone: Some("13800000000".into()),
            address: Some("东山村一组1号".into()),
            village: Some("东山村".into()),
            programmes: vec![],
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn record(form: &str, answers: Answers, revision: i64) -> Record {
        Record {
            id: 7,
            uuid: "22222222-2222-4222-8222-222222222222".into(),
            resident_id: 1,
            form_id: form.into(),
            form_version: "2017.1".into(),
            status: RecordStatus::Final,
            answers,
            record_date: Some("2026-11-01".into()),
            focus: None,
            author: "doc".into(),
            created_at: String::new(),
            updated_at: String::new(),
            finalized_at: Some("2026-11-01T10:00:00.000+08:00".into()),
            revision,
        }
    }

    fn diabetes_answers() -> Answers {
        let mut a = Answers::new();
        a.set_text("visit_date", "2026-11-01");
        a.set_text("visit_method", "2");
        a.set_codes("symptoms", vec!["2".into(), "4".into()]);
        a.set_text("bp.systolic", "135");
        a.set_text("bp.diastolic", "85");
        a.set_text("weight.current", "70.5");
        a.set_text("weight.target", "68.0");
        a.set_text("height", "165.0");
        a.set_text("heart_rate", "72");
        a.set_text("fbg", "7.2");
        a.set_text("hba1c", "6.8");
        a.set_text("adr", "2");
        a.set_text("adr.detail", "皮疹");
        a.set_text("meds.0.name", "二甲双胍");
        a.set_text("meds.0.times_per_day", "2");
        a.set_text("meds.1.name", "格列美脲");
        a
    }

    fn find<'a>(obs: &'a [Resource], loinc: &str) -> &'a Value {
        &obs.iter()
            .find(|o| o.0["code"]["coding"][0]["code"] == loinc)
            .unwrap_or_else(|| panic!("no {loinc}"))
            .0
    }

    #[test]
    fn patient_carries_identifiers_and_division() {
        let ids = Identifiers::default();
        let p = patient(&resident(), &ids).0;
        assert_eq!(p["identifier"][0]["value"], "220602195003040020");
        assert_eq!(p["identifier"][1]["system"], ids.record_no);
        assert_eq!(p["gender"], "female");
        assert_eq!(p["address"][0]["district"], "220602");
        assert_eq!(p["address"][0]["extension"][0]["valueCode"], "220602101101");
        let (fields, record_no) = patient_fields(&p, &ids);
        assert_eq!(record_no.as_deref(), Some("22060210110100001"));
        assert_eq!(fields.sex.as_deref(), Some("2"));
        assert_eq!(fields.village.as_deref(), Some("东山村"));
        assert_eq!(fields.name.as_deref(), Some("测试甲"));
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
        let enc = encounter(&input).0;
        assert_eq!(enc["class"]["code"], "HH");
        assert_eq!(enc["period"]["start"], "2026-11-01");
    }

    #[test]
    fn response_round_trips_to_the_same_answers() {
        let reg = Registry::embedded();
        let def = reg.get("diabetes-followup").unwrap();
        let answers = diabetes_answers();
        let (res, rec) = (resident(), record("diabetes-followup", answers.clone(), 2));
        let ids = Identifiers::default();
        let qr = questionnaire_response(&RecordInput {
            record: &rec,
            resident: &res,
            def,
            ids: &ids,
        })
        .0;
        assert_eq!(
            qr["questionnaire"],
            format!("urn:jkda:form:diabetes-followup|{}", def.version)
        );
        assert_eq!(qr["status"], "amended");
        assert_eq!(answers_from_response(&qr, def), answers);
    }

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
