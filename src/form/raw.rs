//! The form file exactly as written on disk. Nothing here is trusted: the
//! loader (`load.rs`) checks every value and builds the `def` types that the
//! rest of jkda uses. `deny_unknown_fields` turns a misspelt key into an error
//! that names the key and lists the ones allowed.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawForm {
    pub id: String,
    pub version: String,
    pub url: Option<String>,
    pub title: RawText,
    pub role: Option<String>,
    pub programme: Option<String>,
    pub date_field: Option<String>,
    pub standard: Option<String>,
    #[serde(default, rename = "section")]
    pub sections: Vec<RawSection>,
    #[serde(default, rename = "check")]
    pub checks: Vec<RawCheck>,
    #[serde(default)]
    pub resident: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawText {
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSection {
    pub id: String,
    pub title: RawText,
    pub visible_if: Option<RawCond>,
    #[serde(default, rename = "field")]
    pub fields: Vec<RawField>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawField {
    pub id: String,
    pub kind: String,
    pub label: RawText,
    pub hint: Option<RawText>,
    pub unit: Option<String>,
    pub ucum: Option<String>,
    pub loinc: Option<String>,
    pub required: Option<bool>,
    pub required_if: Option<RawCond>,
    pub visible_if: Option<RawCond>,
    pub range: Option<Vec<f64>>,
    pub plausible: Option<Vec<f64>>,
    pub precision: Option<u8>,
    pub max_len: Option<usize>,
    pub not_future: Option<bool>,
    pub options: Option<Vec<RawOption>>,
    pub max_choices: Option<usize>,
    pub of: Option<String>,
    pub systolic: Option<RawLimits>,
    pub diastolic: Option<RawLimits>,
    #[serde(rename = "column")]
    pub columns: Option<Vec<RawField>>,
    pub max_rows: Option<usize>,
    pub formula: Option<String>,
    pub inputs: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOption {
    pub code: String,
    pub zh: String,
    pub en: String,
    #[serde(default)]
    pub exclusive: bool,
    #[serde(default)]
    pub detail: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub range: Option<Vec<f64>>,
    pub plausible: Option<Vec<f64>>,
}

/// A condition for skip logic, conditional requirement and checks. Exactly
/// one subject (`field`, `context`, `all`, `any`, `not`) per condition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCond {
    pub field: Option<String>,
    pub context: Option<String>,
    pub any_of: Option<Vec<String>>,
    pub none_of: Option<Vec<String>>,
    pub at_least: Option<f64>,
    pub at_most: Option<f64>,
    pub answered: Option<bool>,
    pub all: Option<Vec<RawCond>>,
    pub any: Option<Vec<RawCond>>,
    pub not: Option<Box<RawCond>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub id: String,
    pub kind: String,
    pub left: Option<String>,
    pub right: Option<String>,
    pub when: Option<RawCond>,
    pub level: Option<String>,
    pub message: Option<RawText>,
    pub focus: Option<String>,
}
