//! A form as a FHIR R4 `Questionnaire`, so the city platform (or any FHIR
//! server) knows exactly what a QuestionnaireResponse from jkda contains.
//! linkIds are the answer paths jkda stores, so a response maps 1:1.
//!
//! The export keeps to the R4 Questionnaire invariants (que-1…que-13) and to
//! what standard renderers and the HL7 validator check beyond them: units only
//! on integer and decimal items, `enableWhen` answers of the question's type,
//! answer options only on choice items, `maxLength` only on strings.

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
        "name": machine_name(&def.id),
        "title": def.title.zh,
        "status": "active",
        "subjectType": ["Patient"],
        "language": "zh-CN",
        "description": def.standard.clone().unwrap_or_default(),
        "item": items,
    })
}

/// The form id as a computable name (que-0: `[A-Z]([A-Za-z0-9_]){0,254}`):
/// `hypertension-followup` becomes `HypertensionFollowup`.
fn machine_name(id: &str) -> String {
    id.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|first| first.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn code_system(def: &FormDef, field: &str) -> String {
    format!("{}/CodeSystem/{}", def.url, field)
}

/// The `questionnaire-unit` extension, which R4 allows on integer, decimal
/// and quantity items only; callers put it on those and nowhere else. Only
/// units with a UCUM code are declared: a unit shown to the user without one
/// (such as "年" after a calendar year) is not a quantity unit.
fn add_unit(item: &mut Value, f: &Field) {
    if let (Some(u), Some(code)) = (&f.unit, &f.ucum) {
        item["extension"] = json!([{ "url": UNIT_EXT, "valueCoding": { "system": UCUM, "code": code, "display": u } }]);
    }
}

fn is_number(kind: &FieldKind) -> bool {
    matches!(kind, FieldKind::Integer(_) | FieldKind::Decimal(_))
}

fn field_item(def: &FormDef, f: &Field, link: &str) -> Value {
    let mut item = match &f.kind {
        FieldKind::Pair { of } => {
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
                    if is_number(of) {
                        add_unit(&mut sub, f);
                    }
                    sub
                })
                .collect();
            json!({ "type": "group", "item": parts })
        }
        FieldKind::BloodPressure { .. } => {
            let parts: Vec<Value> = [("systolic", "8480-6"), ("diastolic", "8462-4")]
                .iter()
                .map(|(p, loinc)| {
                    let mut sub = json!({
                        "linkId": format!("{link}.{p}"),
                        "text": zh(&format!("form.{p}")),
                        "type": "integer",
                        "code": [{ "system": "http://loinc.org", "code": loinc }],
                    });
                    if f.required {
                        sub["required"] = json!(true);
                    }
                    add_unit(&mut sub, f);
                    sub
                })
                .collect();
            json!({ "type": "group", "item": parts })
        }
        FieldKind::Rows { columns, .. } => {
            let cols: Vec<Value> = columns
                .iter()
                .map(|c| field_item(def, c, &format!("{link}.{}", c.id)))
                .collect();
            json!({ "type": "group", "repeats": true, "item": cols })
        }
        FieldKind::Calculated { .. } => {
            let mut calc = json!({ "type": "decimal", "readOnly": true });
            add_unit(&mut calc, f);
            calc
        }
        kind => {
            let mut q = scalar_item(def, &f.id, kind, link);
            if is_number(kind) {
                add_unit(&mut q, f);
            }
            if let Some(options) = kind.options().filter(|o| o.iter().any(|o| o.detail)) {
                let codes: Vec<&str> = options.iter().filter(|o| o.detail).map(|o| o.code.as_str()).collect();
                let mut detail =
                    json!({ "linkId": format!("{link}.detail"), "text": zh("form.detail"), "type": "string" });
                detail["enableWhen"] = json!(codes
                    .iter()
                    .map(|c| json!({ "question": link, "operator": "=", "answerCoding": { "system": code_system(def, &f.id), "code": c } }))
                    .collect::<Vec<_>>());
                if codes.len() > 1 {
                    detail["enableBehavior"] = json!("any");
                }
                q["item"] = json!([detail]);
            }
            q
        }
    };
    item["linkId"] = json!(link);
    item["text"] = json!(f.label.zh);
    if f.required {
        item["required"] = json!(true);
    }
    if let Some(l) = &f.loinc {
        item["code"] = json!([{ "system": "http://loinc.org", "code": l }]);
    }
    if let Some(c) = &f.visible_if {
        add_enable_when(&mut item, def, c);
    }
    item
}

/// The FHIR item type answers of this kind have.
fn item_type(kind: &FieldKind) -> &'static str {
    match kind {
        FieldKind::Text { .. } | FieldKind::IdNumber | FieldKind::Phone => "string",
        FieldKind::Integer(_) => "integer",
        FieldKind::Decimal(_) | FieldKind::Calculated { .. } => "decimal",
        FieldKind::Date { .. } => "date",
        FieldKind::Choice { .. } | FieldKind::Multi { .. } => "choice",
        FieldKind::Pair { .. } | FieldKind::BloodPressure { .. } | FieldKind::Rows { .. } => "group",
    }
}

fn scalar_item(def: &FormDef, field_id: &str, kind: &FieldKind, link: &str) -> Value {
    let mut item = json!({ "linkId": link, "type": item_type(kind) });
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

/// The FHIR type of the question an answer path names, or None when the
/// path names a group (a pair, blood pressure or rows as a whole), which
/// `enableWhen` cannot refer to.
fn question_type(def: &FormDef, path: &str) -> Option<&'static str> {
    let (id, part) = path.split_once('.').unwrap_or((path, ""));
    let field = def.field(id)?;
    let ty = match (&field.kind, part) {
        (_, "detail") => "string",
        (FieldKind::Pair { of }, "current" | "target") => item_type(of),
        (FieldKind::BloodPressure { .. }, "systolic" | "diastolic") => "integer",
        (kind, "") => item_type(kind),
        _ => return None,
    };
    (ty != "group").then_some(ty)
}

/// An `enableWhen` list and how its clauses combine.
struct EnableWhen {
    clauses: Vec<Value>,
    /// "all" or "any"; irrelevant for a single clause.
    behavior: &'static str,
}

impl EnableWhen {
    fn one(clause: Value) -> Self {
        EnableWhen {
            clauses: vec![clause],
            behavior: "all",
        }
    }

    /// Can these clauses join a list whose behaviour is `behavior`?
    fn fits(&self, behavior: &str) -> bool {
        self.clauses.len() == 1 || self.behavior == behavior
    }
}

/// Adds `enableWhen` for a condition. FHIR `enableWhen` is one flat list of
/// comparisons joined by all or any, and cannot see the resident (sex, age);
/// where a condition does not fit, the item gets the nearest condition that
/// is never stricter than jkda's: a conjunct FHIR cannot express is left out
/// (jkda still applies it), and a condition with no expressible part leaves
/// the item always enabled. A FHIR client never hides what jkda would show.
fn add_enable_when(item: &mut Value, def: &FormDef, c: &Cond) {
    let Some(ew) = enable_when(def, c) else {
        return;
    };
    if ew.clauses.len() > 1 {
        item["enableBehavior"] = json!(ew.behavior);
    }
    item["enableWhen"] = json!(ew.clauses);
}

/// The exact `enableWhen` form of a condition, or a weaker one (enabled in
/// more cases), or None when nothing of it can be expressed.
fn enable_when(def: &FormDef, c: &Cond) -> Option<EnableWhen> {
    match c {
        Cond::Is {
            subject: Subject::Field(path),
            tests,
        } => {
            let parts: Vec<Cond> = tests
                .iter()
                .map(|t| Cond::Is {
                    subject: Subject::Field(path.clone()),
                    tests: vec![t.clone()],
                })
                .collect();
            if parts.len() == 1 {
                test_clauses(def, path, &tests[0])
            } else {
                enable_when(def, &Cond::All(parts))
            }
        }
        // The resident's sex and age are not answers; jkda applies them.
        Cond::Is {
            subject: Subject::Context(_),
            ..
        } => None,
        Cond::All(cs) => {
            // Leaving a conjunct out only weakens the condition.
            let clauses: Vec<Value> = cs
                .iter()
                .filter_map(|c| enable_when(def, c))
                .filter(|e| e.fits("all"))
                .flat_map(|e| e.clauses)
                .collect();
            (!clauses.is_empty()).then_some(EnableWhen {
                clauses,
                behavior: "all",
            })
        }
        Cond::Any(cs) => {
            // Every alternative must be kept, or the condition would be stricter.
            let mut clauses = Vec::new();
            for c in cs {
                let e = enable_when(def, c)?;
                if e.fits("any") {
                    clauses.extend(e.clauses);
                } else {
                    // A conjunction is weakened to its first conjunct.
                    clauses.push(e.clauses.into_iter().next()?);
                }
            }
            (!clauses.is_empty()).then_some(EnableWhen {
                clauses,
                behavior: "any",
            })
        }
        Cond::Not(inner) => {
            let e = enable_when(def, inner)?;
            match e.clauses.as_slice() {
                [one] => negate(one).map(EnableWhen::one),
                _ => None,
            }
        }
    }
}

/// One test on one answer path as `enableWhen` clauses, each answer of the
/// question's own type (answerCoding for choice, answerInteger for integer).
fn test_clauses(def: &FormDef, path: &str, t: &Test) -> Option<EnableWhen> {
    let ty = question_type(def, path)?;
    let field = path.split('.').next().unwrap_or(path);
    let coding = |op: &str, code: &str| json!({ "question": path, "operator": op, "answerCoding": { "system": code_system(def, field), "code": code } });
    let number = |op: &str, v: f64| match ty {
        // Integer answers: `>= 16.5` is `>= 17`, `<= 16.5` is `<= 16`.
        "integer" => {
            let n = if op == ">=" { v.ceil() } else { v.floor() };
            Some(json!({ "question": path, "operator": op, "answerInteger": n as i64 }))
        }
        "decimal" => Some(json!({ "question": path, "operator": op, "answerDecimal": v })),
        _ => None,
    };
    match t {
        Test::AnyOf(codes) if ty == "choice" && !codes.is_empty() => Some(EnableWhen {
            clauses: codes.iter().map(|c| coding("=", c)).collect(),
            behavior: "any",
        }),
        // `!=` holds when no answer equals the code, as none_of does.
        Test::NoneOf(codes) if ty == "choice" && !codes.is_empty() => Some(EnableWhen {
            clauses: codes.iter().map(|c| coding("!=", c)).collect(),
            behavior: "all",
        }),
        Test::AnyOf(_) | Test::NoneOf(_) => None,
        Test::AtLeast(v) => number(">=", *v).map(EnableWhen::one),
        Test::AtMost(v) => number("<=", *v).map(EnableWhen::one),
        Test::Answered(b) => Some(EnableWhen::one(
            json!({ "question": path, "operator": "exists", "answerBoolean": b }),
        )),
    }
}

/// The clause that holds exactly when `clause` does not.
fn negate(clause: &Value) -> Option<Value> {
    let mut out = clause.clone();
    let op = match clause["operator"].as_str()? {
        "=" => "!=",
        "!=" => "=",
        ">=" => "<",
        "<=" => ">",
        ">" => "<=",
        "<" => ">=",
        "exists" => {
            out["answerBoolean"] = json!(!clause["answerBoolean"].as_bool()?);
            "exists"
        }
        _ => return None,
    };
    out["operator"] = json!(op);
    Some(out)
}
