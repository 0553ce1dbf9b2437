//! A form as a FHIR R4 `Questionnaire`, so the city platform (or any FHIR
//! server) knows exactly what a QuestionnaireResponse from jkda contains.
//! linkIds are the answer paths jkda stores, so a response maps 1:1.

use super::def::*;
use serde_json::{json, Value};

const UNIT_EXT: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit";
const UCUM: &str = "http://unitsofmeasure.org";

/// The Questionnaire is written in Chinese, the language of the standard;
/// its few fixed texts come from the catalogue like every other string.
fn zh(key: &str) -> String {
    static ZH: std::sync::OnceLock<crate::i18n::I18n> = std::sync::OnceLock::new();
    ZH.get_or_init(|| crate::i18n::I18n::new(crate::i18n::Lang::Zh))
        .t(key)
        .to_string()
}

pub fn questionnaire(def: &FormDef) -> Value {
    let items: Vec<Value> = def
        .sections
        .iter()
        .map(|s| {
            let mut group = json!({
                // Field ids cannot contain '-', so group ids never collide with them.
                "linkId": format!("section-{}", s.id),
                "text": s.title.zh,
                "type": "group",
                "item": s.fields.iter().map(|f| field_item(def, f, &f.id)).collect::<Vec<_>>(),
            });
            if let Some(c) = &s.visible_if {
                add_enable_when(&mut group, def, c);
            }
            group
        })
        .collect();
    json!({
        "resourceType": "Questionnaire",
        "id": def.id,
        "url": def.url,
        "version": def.version,
        "name": def.id.replace('-', "_"),
        "title": def.title.zh,
        "status": "active",
        "subjectType": ["Patient"],
        "language": "zh-CN",
        "description": def.standard.clone().unwrap_or_default(),
        "item": items,
    })
}

fn code_system(def: &FormDef, field: &str) -> String {
    format!("{}/CodeSystem/{}", def.url, field)
}

fn field_item(def: &FormDef, f: &Field, link: &str) -> Value {
    let mut item = json!({ "linkId": link, "text": f.label.zh });
    let obj = item.as_object_mut().expect("json object");
    if f.required {
        obj.insert("required".into(), json!(true));
    }
    // Only units with a UCUM code are declared; a display-only unit such as
    // "年" after a calendar year is not a quantity unit.
    if let (Some(u), Some(code)) = (&f.unit, &f.ucum) {
        obj.insert(
            "extension".into(),
            json!([{ "url": UNIT_EXT, "valueCoding": { "system": UCUM, "code": code, "display": u } }]),
        );
    }
    if let Some(l) = &f.loinc {
        obj.insert("code".into(), json!([{ "system": "http://loinc.org", "code": l }]));
    }
    match &f.kind {
        FieldKind::Pair { of } => {
            obj.insert("type".into(), json!("group"));
            let parts: Vec<Value> = ["current", "target"]
                .iter()
                .map(|p| {
                    let mut sub = scalar_item(def, &f.id, of, &format!("{link}.{p}"));
                    sub["text"] = json!(format!(
                        "{} ({})",
                        f.label.zh,
                        zh(if *p == "current" { "form.current" } else { "form.target" })
                    ));
                    if f.required && *p == "current" {
                        sub["required"] = json!(true);
                    }
                    sub
                })
                .collect();
            obj.insert("item".into(), json!(parts));
        }
        FieldKind::BloodPressure { .. } => {
            obj.insert("type".into(), json!("group"));
            obj.insert(
                "item".into(),
                json!([
                    { "linkId": format!("{link}.systolic"), "text": zh("form.systolic"), "type": "integer", "required": f.required,
                      "code": [{ "system": "http://loinc.org", "code": "8480-6" }] },
                    { "linkId": format!("{link}.diastolic"), "text": zh("form.diastolic"), "type": "integer", "required": f.required,
                      "code": [{ "system": "http://loinc.org", "code": "8462-4" }] },
                ]),
            );
        }
        FieldKind::Rows { columns, .. } => {
            obj.insert("type".into(), json!("group"));
            obj.insert("repeats".into(), json!(true));
            let cols: Vec<Value> = columns
                .iter()
                .map(|c| field_item(def, c, &format!("{link}.{}", c.id)))
                .collect();
            obj.insert("item".into(), json!(cols));
        }
        FieldKind::Calculated { .. } => {
            obj.insert("type".into(), json!("decimal"));
            obj.insert("readOnly".into(), json!(true));
        }
        kind => {
            let sub = scalar_item(def, &f.id, kind, link);
            for (k, v) in sub.as_object().expect("json object") {
                if k != "linkId" && k != "text" {
                    obj.insert(k.clone(), v.clone());
                }
            }
            if let Some(options) = kind.options().filter(|o| o.iter().any(|o| o.detail)) {
                let codes: Vec<&str> = options.iter().filter(|o| o.detail).map(|o| o.code.as_str()).collect();
                let mut detail =
                    json!({ "linkId": format!("{link}.detail"), "text": zh("form.detail"), "type": "string" });
                detail["enableWhen"] = json!(codes
                    .iter()
                    .map(|c| json!({ "question": link, "operator": "=", "answerCoding": { "system": code_system(def, &f.id), "code": c } }))
                    .collect::<Vec<_>>());
                detail["enableBehavior"] = json!("any");
                obj.insert("item".into(), json!([detail]));
            }
        }
    }
    if let Some(c) = &f.visible_if {
        add_enable_when(&mut item, def, c);
    }
    item
}

fn scalar_item(def: &FormDef, field_id: &str, kind: &FieldKind, link: &str) -> Value {
    let ty = match kind {
        FieldKind::Text { .. } | FieldKind::IdNumber | FieldKind::Phone => "string",
        FieldKind::Integer(_) => "integer",
        FieldKind::Decimal(_) | FieldKind::Calculated { .. } => "decimal",
        FieldKind::Date { .. } => "date",
        FieldKind::Choice { .. } | FieldKind::Multi { .. } => "choice",
        FieldKind::Pair { .. } | FieldKind::BloodPressure { .. } | FieldKind::Rows { .. } => "group",
    };
    let mut item = json!({ "linkId": link, "type": ty });
    if let FieldKind::Text { max_len } = kind {
        item["maxLength"] = json!(max_len);
    }
    if let Some(options) = kind.options() {
        item["answerOption"] = json!(options
            .iter()
            .map(|o| json!({ "valueCoding": { "system": code_system(def, field_id), "code": o.code, "display": o.label.zh } }))
            .collect::<Vec<_>>());
    }
    if matches!(kind, FieldKind::Multi { .. }) {
        item["repeats"] = json!(true);
    }
    item
}

/// Adds `enableWhen` for the conditions FHIR can express (answers compared
/// with codes or numbers, joined by all/any). Conditions on resident context
/// (sex, age) have no enableWhen form and are left to the client.
fn add_enable_when(item: &mut Value, def: &FormDef, c: &Cond) {
    let (clauses, behavior) = match c {
        Cond::All(cs) => (cs.iter().map(|c| simple(def, c)).collect::<Option<Vec<_>>>(), "all"),
        Cond::Any(cs) => (cs.iter().map(|c| simple(def, c)).collect::<Option<Vec<_>>>(), "any"),
        c => (simple(def, c).map(|v| vec![v]), "any"),
    };
    let Some(clauses) = clauses.map(|v: Vec<Vec<Value>>| v.concat()) else {
        return;
    };
    if clauses.is_empty() {
        return;
    }
    let several = clauses.len() > 1;
    item["enableWhen"] = json!(clauses);
    if several {
        item["enableBehavior"] = json!(behavior);
    }
}

fn simple(def: &FormDef, c: &Cond) -> Option<Vec<Value>> {
    let Cond::Is {
        subject: Subject::Field(path),
        tests,
    } = c
    else {
        return None;
    };
    if tests.len() != 1 {
        return None;
    }
    let field = path.split('.').next().unwrap_or(path);
    match &tests[0] {
        Test::AnyOf(codes) => Some(
            codes
                .iter()
                .map(|code| json!({ "question": path, "operator": "=", "answerCoding": { "system": code_system(def, field), "code": code } }))
                .collect(),
        ),
        Test::AtLeast(v) => Some(vec![json!({ "question": path, "operator": ">=", "answerDecimal": v })]),
        Test::AtMost(v) => Some(vec![json!({ "question": path, "operator": "<=", "answerDecimal": v })]),
        Test::Answered(b) => Some(vec![json!({ "question": path, "operator": "exists", "answerBoolean": b })]),
        Test::NoneOf(codes) if codes.len() == 1 => Some(vec![
            json!({ "question": path, "operator": "!=", "answerCoding": { "system": code_system(def, field), "code": codes[0] } }),
        ]),
        Test::NoneOf(_) => None,
    }
}
