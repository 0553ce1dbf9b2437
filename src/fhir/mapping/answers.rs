//! Reading a QuestionnaireResponse back into answers: each item's linkId
//! becomes a jkda answer path (rows get their index after the field id),
//! each value[x] the text a user would have typed.

use crate::form::def::{Field, FieldKind, FormDef};
use crate::form::Answers;
use serde_json::Value;

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
    use crate::fhir::mapping::fixtures::{diabetes_answers, record, resident};
    use crate::fhir::mapping::{questionnaire_response, Identifiers, RecordInput};
    use crate::form::Registry;

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
}
