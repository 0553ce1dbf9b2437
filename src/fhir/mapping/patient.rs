//! Identifiers and the Patient, both ways: a resident becomes a `Patient`
//! (ID card and record number as identifiers, the administrative division
//! taken from the record number), and a Patient read from the platform gives
//! back the resident's attributes.

use crate::domain::{Resident, ResidentFields};
use crate::fhir::{Resource, DIVISION_EXT};
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::mapping::fixtures::resident;

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
}
