//! `OperationOutcome`: how a FHIR server says why it refused something, and
//! how the client turns it into words a person can act on.

use serde_json::{json, Value};

/// An OperationOutcome with one error issue. `code` is a FHIR issue type
/// (`invalid`, `forbidden`, `conflict`, `not-found`, `too-costly`, ...).
pub fn operation_outcome(code: &str, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": code, "diagnostics": diagnostics }]
    })
}

/// The server's reason in plain words: each error issue's diagnostics (or
/// details text, or code), joined; None when `v` is no OperationOutcome.
pub fn outcome_text(v: &Value) -> Option<String> {
    if v["resourceType"] != "OperationOutcome" {
        return None;
    }
    let parts: Vec<String> = v["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| matches!(i["severity"].as_str(), Some("error") | Some("fatal") | None))
        .filter_map(|i| {
            i["diagnostics"]
                .as_str()
                .or_else(|| i["details"]["text"].as_str())
                .or_else(|| i["code"].as_str())
                .map(|s| s.chars().take(300).collect::<String>())
        })
        .collect();
    Some(if parts.is_empty() {
        "no reason given".to_string()
    } else {
        parts.join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_read_from_any_issue_field() {
        assert_eq!(
            outcome_text(&operation_outcome("invalid", "bad date")).as_deref(),
            Some("bad date")
        );
        let v = json!({"resourceType": "OperationOutcome", "issue": [
            {"severity": "warning", "code": "informational", "diagnostics": "ignored"},
            {"severity": "error", "code": "invalid", "details": {"text": "missing subject"}}]});
        assert_eq!(outcome_text(&v).as_deref(), Some("missing subject"));
        assert_eq!(outcome_text(&json!({"resourceType": "Bundle"})), None);
    }
}
