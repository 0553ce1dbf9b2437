//! Which elements of jkda's four resource types hold which FHIR primitive
//! type, and the check that each present one is well formed (`primitive`).
//! The hub runs it on everything it is sent, so a resource it stores can be
//! read by any FHIR client: `birthDate: "abcd"` or a number as text is
//! refused with the element's path. The error names the path and the type,
//! never the value, which may be a person's data.

use super::primitive;
use serde_json::Value;

/// An element whose value is not of its FHIR type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadElement {
    /// FHIRPath of the element, `Observation.component[1].valueQuantity.value`.
    pub path: String,
    /// What it should be, as the specification names it (`date`, `decimal`…).
    pub expected: &'static str,
}

impl std::fmt::Display for BadElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not a valid FHIR {}", self.path, self.expected)
    }
}

type Checked = Result<(), BadElement>;

/// Checks the elements jkda's resources use; absent ones are fine.
pub fn check(kind: &str, v: &Value) -> Checked {
    let at = Path(kind.to_string());
    text(v, &at, "id", "id", primitive::id)?;
    match kind {
        "Patient" => patient(v, &at),
        "Encounter" => encounter(v, &at),
        "QuestionnaireResponse" => questionnaire_response(v, &at),
        "Observation" => observation(v, &at),
        _ => Ok(()),
    }
}

fn patient(v: &Value, at: &Path) -> Checked {
    text(v, at, "birthDate", "date", primitive::date)?;
    text(v, at, "gender", "code (male, female, other or unknown)", |g| {
        matches!(g, "male" | "female" | "other" | "unknown")
    })?;
    boolean(v, at, "active")?;
    for (i, ident) in list(v, at, "identifier")? {
        text(ident, &i, "system", "uri", primitive::uri)?;
        text(ident, &i, "value", "string", primitive::string)?;
    }
    for (i, name) in list(v, at, "name")? {
        text(name, &i, "text", "string", primitive::string)?;
    }
    for (i, telecom) in list(v, at, "telecom")? {
        text(telecom, &i, "system", "code", primitive::code)?;
        text(telecom, &i, "value", "string", primitive::string)?;
    }
    Ok(())
}

fn encounter(v: &Value, at: &Path) -> Checked {
    text(v, at, "status", "code", primitive::code)?;
    coding(&v["class"], &at.field("class"))?;
    let period = at.field("period");
    text(&v["period"], &period, "start", "dateTime", primitive::date_time)?;
    text(&v["period"], &period, "end", "dateTime", primitive::date_time)?;
    for (i, t) in list(v, at, "type")? {
        codeable(t, &i)?;
    }
    reference(v, at, "subject")
}

fn questionnaire_response(v: &Value, at: &Path) -> Checked {
    text(v, at, "questionnaire", "canonical", primitive::uri)?;
    text(v, at, "status", "code", primitive::code)?;
    text(v, at, "authored", "dateTime", primitive::date_time)?;
    reference(v, at, "subject")?;
    items(v, at)
}

fn items(v: &Value, at: &Path) -> Checked {
    for (i, item) in list(v, at, "item")? {
        text(item, &i, "linkId", "string", primitive::string)?;
        for (a, answer) in list(item, &i, "answer")? {
            text(answer, &a, "valueDate", "date", primitive::date)?;
            text(answer, &a, "valueDateTime", "dateTime", primitive::date_time)?;
            text(answer, &a, "valueString", "string", primitive::string)?;
            number(answer, &a, "valueDecimal", "decimal", primitive::decimal)?;
            number(answer, &a, "valueInteger", "integer", primitive::integer)?;
            boolean(answer, &a, "valueBoolean")?;
            if answer.get("valueCoding").is_some() {
                coding(&answer["valueCoding"], &a.field("valueCoding"))?;
            }
            items(answer, &a)?;
        }
        items(item, &i)?;
    }
    Ok(())
}

fn observation(v: &Value, at: &Path) -> Checked {
    text(v, at, "status", "code", primitive::code)?;
    codeable(&v["code"], &at.field("code"))?;
    for (i, c) in list(v, at, "category")? {
        codeable(c, &i)?;
    }
    text(v, at, "effectiveDateTime", "dateTime", primitive::date_time)?;
    quantity(v, at)?;
    for (i, component) in list(v, at, "component")? {
        codeable(&component["code"], &i.field("code"))?;
        quantity(component, &i)?;
    }
    reference(v, at, "subject")?;
    reference(v, at, "encounter")?;
    for (i, from) in list(v, at, "derivedFrom")? {
        reference_value(from, &i)?;
    }
    Ok(())
}

fn quantity(v: &Value, at: &Path) -> Checked {
    if v.get("valueQuantity").is_none() {
        return Ok(());
    }
    let (q, at) = (&v["valueQuantity"], at.field("valueQuantity"));
    number(q, &at, "value", "decimal", primitive::decimal)?;
    text(q, &at, "unit", "string", primitive::string)?;
    text(q, &at, "system", "uri", primitive::uri)?;
    text(q, &at, "code", "code", primitive::code)
}

fn codeable(v: &Value, at: &Path) -> Checked {
    for (i, c) in list(v, at, "coding")? {
        coding(c, &i)?;
    }
    Ok(())
}

fn coding(v: &Value, at: &Path) -> Checked {
    text(v, at, "system", "uri", primitive::uri)?;
    text(v, at, "code", "code", primitive::code)
}

/// `{"reference": "Type/id"}`: the only form jkda writes, and the one the
/// hub's searches by subject understand.
fn reference(v: &Value, at: &Path, key: &str) -> Checked {
    match v.get(key) {
        None => Ok(()),
        Some(r) => reference_value(r, &at.field(key)),
    }
}

fn reference_value(v: &Value, at: &Path) -> Checked {
    text(v, at, "reference", "reference (Type/id)", |r| {
        r.split_once('/').is_some_and(|(kind, id)| {
            !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphabetic()) && primitive::id(id)
        })
    })
}

/// The FHIRPath of an element, built as the walk goes down.
struct Path(String);

impl Path {
    fn field(&self, key: &str) -> Path {
        Path(format!("{}.{key}", self.0))
    }

    fn bad(&self, key: &str, expected: &'static str) -> BadElement {
        BadElement {
            path: self.field(key).0,
            expected,
        }
    }
}

/// A string element, when present, passing `ok`.
fn text(v: &Value, at: &Path, key: &str, expected: &'static str, ok: impl Fn(&str) -> bool) -> Checked {
    match v.get(key) {
        None => Ok(()),
        Some(Value::String(s)) if ok(s) => Ok(()),
        Some(_) => Err(at.bad(key, expected)),
    }
}

/// A number element (FHIR JSON writes decimals and integers as numbers,
/// never as text), when present, whose text passes `ok`.
fn number(v: &Value, at: &Path, key: &str, expected: &'static str, ok: fn(&str) -> bool) -> Checked {
    match v.get(key) {
        None => Ok(()),
        Some(Value::Number(n)) if ok(&n.to_string()) => Ok(()),
        Some(_) => Err(at.bad(key, expected)),
    }
}

fn boolean(v: &Value, at: &Path, key: &str) -> Checked {
    match v.get(key) {
        None | Some(Value::Bool(_)) => Ok(()),
        Some(_) => Err(at.bad(key, "boolean")),
    }
}

/// The entries of a list element with their paths; absent is empty.
fn list<'a>(v: &'a Value, at: &Path, key: &str) -> Result<Vec<(Path, &'a Value)>, BadElement> {
    match v.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => Ok(a
            .iter()
            .enumerate()
            .map(|(i, x)| (Path(format!("{}.{key}[{i}]", at.0)), x))
            .collect()),
        Some(_) => Err(at.bad(key, "list")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path_of(kind: &str, v: Value) -> Option<String> {
        check(kind, &v).err().map(|e| e.path)
    }

    #[test]
    fn each_element_is_named_by_its_path() {
        let p = json!({"resourceType": "Patient", "id": "p1", "birthDate": "abcd"});
        assert_eq!(path_of("Patient", p), Some("Patient.birthDate".into()));
        let p = json!({"resourceType": "Patient", "id": "p1", "gender": "M"});
        assert_eq!(path_of("Patient", p), Some("Patient.gender".into()));
        let p = json!({"resourceType": "Patient", "id": "p1", "identifier": [{"value": "1"}, {"value": ""}]});
        assert_eq!(path_of("Patient", p), Some("Patient.identifier[1].value".into()));
        let e = json!({"id": "e1", "period": {"start": "2026-11-29", "end": "2026-11-29T10:00"}});
        assert_eq!(path_of("Encounter", e), Some("Encounter.period.end".into()));
        let q = json!({"id": "q1", "authored": "2026-02-30T10:00:00+08:00"});
        assert_eq!(
            path_of("QuestionnaireResponse", q),
            Some("QuestionnaireResponse.authored".into())
        );
        let q = json!({"id": "q1", "item": [{"linkId": "a", "item": [{"linkId": "b", "answer": [{"valueDecimal": "1.5"}]}]}]});
        assert_eq!(
            path_of("QuestionnaireResponse", q),
            Some("QuestionnaireResponse.item[0].item[0].answer[0].valueDecimal".into())
        );
        let o = json!({"id": "o1", "component": [{"valueQuantity": {"value": 1}}, {"valueQuantity": {"value": "85"}}]});
        assert_eq!(
            path_of("Observation", o),
            Some("Observation.component[1].valueQuantity.value".into())
        );
        let o = json!({"id": "o1", "effectiveDateTime": "29/11/2026"});
        assert_eq!(path_of("Observation", o), Some("Observation.effectiveDateTime".into()));
        let o = json!({"id": "o1", "subject": {"reference": "Patient/.."}});
        assert_eq!(path_of("Observation", o), Some("Observation.subject.reference".into()));
        assert_eq!(path_of("Patient", json!({"id": ".."})), Some("Patient.id".into()));
    }

    #[test]
    fn the_message_names_path_and_type_but_not_the_value() {
        let err = check("Patient", &json!({"id": "p1", "birthDate": "1950-13-45"})).unwrap_err();
        let text = err.to_string();
        assert_eq!(text, "Patient.birthDate is not a valid FHIR date");
        assert!(!text.contains("1950"));
    }
}
