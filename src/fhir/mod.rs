//! FHIR R4 on the wire, shared by the uploader (`sync`) and the reference
//! server (`hub`). Resources are kept as JSON values wrapped in `Resource`,
//! whose `Debug` shows type and id only: a stray `{:?}` must not print a
//! person's name or ID number. The mapping from jkda's records to FHIR is
//! pure (`mapping`), as is the transaction Bundle builder (`bundle`), so both
//! are plain unit tests. `source` reads any FHIR R4 server page by page.

pub mod audit_anchor;
pub mod bundle;
pub mod device_state;
pub mod elements;
pub mod mapping;
pub mod outcome;
pub mod primitive;
pub mod source;

pub use bundle::{
    parse_transaction_response, transaction, write_transaction, EntryResult, Method, Request, ResourceText,
};
pub use mapping::{record_resources, Identifiers, RecordInput};
pub use outcome::{
    operation_outcome, outcome_text, registered_elsewhere, registered_to, RegisteredTo, REGISTERED_ID_CARD,
    REGISTERED_RECORD_NO,
};
pub use source::{FhirSource, SourceError};

use serde_json::Value;

pub const LOINC: &str = "http://loinc.org";
pub const UCUM: &str = "http://unitsofmeasure.org";
pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
/// The 12-digit administrative division (county + township + village) of an address.
pub const DIVISION_EXT: &str = "urn:jkda:fhir:StructureDefinition/division-code";
/// The JSON media type FHIR servers speak.
pub const FHIR_JSON: &str = "application/fhir+json";

/// The resource types jkda writes and reads.
pub const TYPES: [&str; 9] = [
    "Patient",
    "QuestionnaireResponse",
    "Encounter",
    "Observation",
    "AuditEvent",
    "Device",
    "Binary",
    "Questionnaire",
    // Record-number serial blocks claimed by installations (`sync::serials`).
    "Basic",
];

/// A FHIR resource as JSON. `Debug` prints its type and id only.
#[derive(Clone, PartialEq)]
pub struct Resource(pub Value);

impl Resource {
    pub fn resource_type(&self) -> &str {
        self.0.get("resourceType").and_then(Value::as_str).unwrap_or("")
    }

    pub fn id(&self) -> &str {
        self.0.get("id").and_then(Value::as_str).unwrap_or("")
    }

    /// `Type/id`, the relative URL of the resource.
    pub fn url(&self) -> String {
        format!("{}/{}", self.resource_type(), self.id())
    }

    /// The content without server-assigned `meta` and narrative `text`, for
    /// comparing what a client sent with what a server holds.
    pub fn content(&self) -> Value {
        let mut v = self.0.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("meta");
            o.remove("text");
        }
        v
    }
}

impl std::fmt::Debug for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Resource({})", self.url())
    }
}

/// A FHIR id: 1–64 of `A-Z a-z 0-9 - .`, and not `.` or `..` (see
/// [`primitive::id`]).
pub fn valid_id(id: &str) -> bool {
    primitive::id(id)
}

/// The weak ETag of a version: `W/"3"`.
pub fn etag(version: &str) -> String {
    format!("W/\"{version}\"")
}

/// The version inside an ETag or If-Match value (`W/"3"`, `"3"` or `3`).
pub fn version_of_etag(tag: &str) -> &str {
    let t = tag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.trim_matches('"')
}

/// Percent-encodes a query key or value, or an id, for a URL (RFC 3986
/// unreserved characters kept): one spelling for the client and the hub.
pub fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

/// Every byte but RFC 3986's unreserved characters is encoded.
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A query key or value as sent (`%7C` for `|`, `+` for a space): the
/// decoding of `application/x-www-form-urlencoded`. A `%` not followed by two
/// hex digits stays as it is; bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(percent_encode("sys|张 +/"), "sys%7C%E5%BC%A0%20%2B%2F");
        assert_eq!(percent_decode("sys%7C%E5%BC%A0+%2B%2F"), "sys|张 +/");
        assert_eq!(
            percent_decode(&percent_encode("110101199003071234|x")),
            "110101199003071234|x"
        );
    }

    #[test]
    fn etags_round_trip() {
        assert_eq!(etag("3"), "W/\"3\"");
        for t in ["W/\"3\"", "\"3\"", "3", " W/\"3\" "] {
            assert_eq!(version_of_etag(t), "3");
        }
    }

    #[test]
    fn ids_follow_the_fhir_pattern() {
        assert!(valid_id("0f8c1e6a-1b2c-4d5e-8f90-123456789abc"));
        assert!(valid_id("a.b-1"));
        assert!(!valid_id(""));
        assert!(!valid_id("a_b"));
        assert!(!valid_id(&"x".repeat(65)));
    }

    #[test]
    fn debug_shows_no_content() {
        let r = Resource(serde_json::json!({"resourceType": "Patient", "id": "p1", "name": [{"text": "张三"}]}));
        assert_eq!(format!("{r:?}"), "Resource(Patient/p1)");
    }
}
