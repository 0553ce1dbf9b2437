//! The checked form definition: the only form type the rest of jkda sees.
//! Built by `load.rs` from `raw.rs`; every reference in it has been resolved
//! and every range is sane, so code using it need not re-check.

use crate::i18n::Lang;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// What a form is for; decides where it appears and what it updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Creates or revises the resident (cover page + basic information).
    Registration,
    FollowUp,
    Exam,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Programme {
    Hypertension,
    Diabetes,
}

impl Programme {
    pub fn key(self) -> &'static str {
        match self {
            Programme::Hypertension => "hypertension",
            Programme::Diabetes => "diabetes",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FormDef {
    pub id: String,
    pub version: String,
    pub url: String,
    pub title: Text,
    pub role: Role,
    pub programme: Option<Programme>,
    /// The field holding the date the record is about (visit, exam, record date).
    pub date_field: Option<String>,
    pub standard: Option<String>,
    pub sections: Vec<Section>,
    pub checks: Vec<Check>,
    /// Registration forms: resident attribute -> field id.
    pub resident: ResidentBinding,
}

/// Which fields of a registration form describe the resident.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResidentBinding {
    pub name: Option<String>,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub village: Option<String>,
}

impl ResidentBinding {
    pub const ATTRIBUTES: [&'static str; 7] = ["name", "sex", "birth_date", "id_number", "phone", "address", "village"];

    pub fn get(&self, attr: &str) -> Option<&str> {
        match attr {
            "name" => self.name.as_deref(),
            "sex" => self.sex.as_deref(),
            "birth_date" => self.birth_date.as_deref(),
            "id_number" => self.id_number.as_deref(),
            "phone" => self.phone.as_deref(),
            "address" => self.address.as_deref(),
            "village" => self.village.as_deref(),
            _ => None,
        }
    }

    pub fn set(&mut self, attr: &str, field: String) -> bool {
        let slot = match attr {
            "name" => &mut self.name,
            "sex" => &mut self.sex,
            "birth_date" => &mut self.birth_date,
            "id_number" => &mut self.id_number,
            "phone" => &mut self.phone,
            "address" => &mut self.address,
            "village" => &mut self.village,
            _ => return false,
        };
        *slot = Some(field);
        true
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: String,
    pub title: Text,
    pub visible_if: Option<Cond>,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub id: String,
    pub label: Text,
    pub hint: Option<Text>,
    pub unit: Option<String>,
    pub ucum: Option<String>,
    pub loinc: Option<String>,
    pub required: bool,
    pub required_if: Option<Cond>,
    pub visible_if: Option<Cond>,
    pub kind: FieldKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limits {
    pub range: Option<(f64, f64)>,
    pub plausible: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NumSpec {
    pub limits: Limits,
    /// Digits after the decimal point; 0 for integers.
    pub precision: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChoiceOption {
    pub code: String,
    pub label: Text,
    /// Chosen alone: selecting it clears the others (无症状, 无).
    pub exclusive: bool,
    /// Chosen, it asks for a text ("有 ____", "其他 ____").
    pub detail: bool,
}

/// The scalar kinds that may appear inside a pair or a repeating row.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    Text {
        max_len: usize,
    },
    Integer(NumSpec),
    Decimal(NumSpec),
    Date {
        not_future: bool,
    },
    Choice {
        options: Vec<ChoiceOption>,
    },
    Multi {
        options: Vec<ChoiceOption>,
        max_choices: Option<usize>,
    },
    IdNumber,
    Phone,
    /// Current value / target value agreed for the next visit.
    Pair {
        of: Box<FieldKind>,
    },
    BloodPressure {
        systolic: Limits,
        diastolic: Limits,
    },
    Rows {
        columns: Vec<Field>,
        max_rows: Option<usize>,
    },
    Calculated {
        formula: Formula,
        precision: u8,
        limits: Limits,
    },
}

impl FieldKind {
    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "text",
            FieldKind::Integer(_) => "integer",
            FieldKind::Decimal(_) => "decimal",
            FieldKind::Date { .. } => "date",
            FieldKind::Choice { .. } => "choice",
            FieldKind::Multi { .. } => "multi",
            FieldKind::IdNumber => "id_number",
            FieldKind::Phone => "phone",
            FieldKind::Pair { .. } => "pair",
            FieldKind::BloodPressure { .. } => "blood_pressure",
            FieldKind::Rows { .. } => "rows",
            FieldKind::Calculated { .. } => "calculated",
        }
    }

    pub fn options(&self) -> Option<&[ChoiceOption]> {
        match self {
            FieldKind::Choice { options } | FieldKind::Multi { options, .. } => Some(options),
            FieldKind::Pair { of } => of.options(),
            _ => None,
        }
    }

    /// The sub-inputs a field of this kind is typed into.
    pub fn parts(&self) -> &'static [&'static str] {
        match self {
            FieldKind::Pair { .. } => &["current", "target"],
            FieldKind::BloodPressure { .. } => &["systolic", "diastolic"],
            _ => &[],
        }
    }
}

/// The calculations jkda knows. A closed set keeps forms free of code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "formula", rename_all = "snake_case")]
pub enum Formula {
    /// weight (kg) / height (m)²; height is entered in cm.
    Bmi { weight: String, height: String },
}

impl Formula {
    pub fn inputs(&self) -> Vec<&str> {
        match self {
            Formula::Bmi { weight, height } => vec![weight, height],
        }
    }
}

/// What a condition looks at.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// An answer path: `field`, `field.part`.
    Field(String),
    /// A fact about the resident at the record's date.
    Context(ContextVar),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextVar {
    Sex,
    Age,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    AnyOf(Vec<String>),
    NoneOf(Vec<String>),
    AtLeast(f64),
    AtMost(f64),
    Answered(bool),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cond {
    Is { subject: Subject, tests: Vec<Test> },
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Warning,
    Error,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckRule {
    /// left < right (numbers or dates), when both are answered.
    LessThan { left: String, right: String },
    /// left <= right (numbers or dates), when both are answered.
    NotAfter { left: String, right: String },
    /// The condition holding is itself the finding.
    When(Cond),
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: String,
    pub rule: CheckRule,
    pub level: Level,
    pub message: Text,
    /// The answer path the cursor jumps to for this finding.
    pub focus: String,
}

impl FormDef {
    pub fn fields(&self) -> impl Iterator<Item = (&Section, &Field)> {
        self.sections.iter().flat_map(|s| s.fields.iter().map(move |f| (s, f)))
    }

    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields().map(|(_, f)| f).find(|f| f.id == id)
    }

    pub fn section_of(&self, field_id: &str) -> Option<usize> {
        self.sections
            .iter()
            .position(|s| s.fields.iter().any(|f| f.id == field_id))
    }

    /// The canonical reference a record keeps: `url|version`.
    pub fn canonical(&self) -> String {
        format!("{}|{}", self.url, self.version)
    }
}
