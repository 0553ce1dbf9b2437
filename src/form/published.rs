//! Form files as the platform publishes them: a FHIR `Binary`
//! (`Binary/form-<id>-<version>`, `contentType: application/toml`, the
//! exact file) beside its `Questionnaire` for other systems. A clinic adopts
//! a published version only when it is newer than what it has and its own
//! loader accepts it; records keep the version they were filled with.

use super::def::FormDef;
use super::load::{parse_form, FormError};
use base64::Engine;
use serde_json::{json, Value};
use std::cmp::Ordering;

pub const CONTENT_TYPE: &str = "application/toml";

/// The published resource id of a form version.
pub fn binary_id(def: &FormDef) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let id = format!("form-{}-{}", clean(&def.id), clean(&def.version));
    id.chars().take(64).collect()
}

pub fn to_binary(def: &FormDef, source: &str) -> Value {
    json!({
        "resourceType": "Binary",
        "id": binary_id(def),
        "contentType": CONTENT_TYPE,
        "data": base64::engine::general_purpose::STANDARD.encode(source.as_bytes()),
    })
}

/// A published form's text, if the resource is one.
pub fn source_of(v: &Value) -> Option<String> {
    if v["resourceType"] != "Binary" || v["contentType"] != CONTENT_TYPE {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v["data"].as_str()?)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Parses a published form with the clinic's own loader.
pub fn parse(name: &str, source: &str) -> Result<FormDef, Vec<FormError>> {
    parse_form(name, source)
}

/// Compares form versions (`2017.2` < `2017.10`): numeric segments as
/// numbers, others as text.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    _ => p.cmp(q),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Registry;

    #[test]
    fn versions_compare_by_number_and_a_form_survives_publishing() {
        assert_eq!(compare_versions("2017.2", "2017.10"), Ordering::Less);
        assert_eq!(compare_versions("2017.2", "2017.2"), Ordering::Equal);
        assert_eq!(compare_versions("2018", "2017.9"), Ordering::Greater);
        assert_eq!(compare_versions("2017.2", "2017.2.1"), Ordering::Less);
        let forms = Registry::embedded();
        let def = forms.get("hypertension-followup").unwrap();
        let src = forms.source(&def.id).unwrap();
        let b = to_binary(def, src);
        assert_eq!(b["id"], "form-hypertension-followup-2017.2");
        assert!(crate::fhir::valid_id(b["id"].as_str().unwrap()));
        assert_eq!(source_of(&b).as_deref(), Some(src));
        assert_eq!(parse("x", &source_of(&b).unwrap()).unwrap().version, def.version);
    }
}
