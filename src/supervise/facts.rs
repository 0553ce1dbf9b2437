//! What the platform keeps of each QuestionnaireResponse it receives: the
//! form, the visit date, every problem the clinic's own checks find (the
//! form's rules and the follow-up rules), a fingerprint of its clinical
//! answers and its blood pressure (for the authenticity checks), and the
//! programme facts the indicators are computed from. Read once, at receipt,
//! by the same code whether the record arrives at the hub or is read from
//! another FHIR server.

use crate::fhir::mapping::answers_from_response;
use crate::form::answers::{parse_date, parse_number, Answers};
use crate::form::def::{FieldKind, FormDef, Level, Programme, Role};
use crate::form::rules::{evaluate, Context, FindingText};
use crate::form::Registry;
use crate::manage::history::{record_fact, RecordFact};
use crate::manage::{assess_answers, Settings};
use chrono::NaiveDate;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One problem found in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The form's item (its top-level field id: `bp`, `fbg`, `meds`).
    pub item: String,
    /// A stable code: the message key of a standard rule, `check.<id>` of
    /// a form's own check, or the follow-up rule's code.
    pub code: String,
    pub level: Level,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The form's id, or the canonical URL sent when the form is unknown.
    pub form_id: String,
    pub role: Role,
    pub programme: Option<Programme>,
    pub visit_date: Option<NaiveDate>,
    pub problems: Vec<Problem>,
    /// Same clinical answers, same fingerprint (follow-ups and exams with
    /// enough answers only).
    pub answer_hash: Option<i64>,
    /// Systolic and diastolic as typed.
    pub bp: Option<(u32, u32)>,
    /// The programme facts (record id 0: the caller's key replaces it).
    pub history: Option<RecordFact>,
}

impl Facts {
    pub fn errors(&self) -> usize {
        self.problems.iter().filter(|p| p.level == Level::Error).count()
    }

    pub fn warnings(&self) -> usize {
        self.problems.iter().filter(|p| p.level == Level::Warning).count()
    }
}

/// What the resident's Patient says, as far as the checks need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<String>,
}

/// The form a response was filled in: `questionnaire` is `url|version`.
pub fn form_of<'a>(qr: &Value, forms: &'a Registry) -> Option<&'a FormDef> {
    let q = qr["questionnaire"].as_str()?;
    let (url, version) = q.split_once('|').unwrap_or((q, ""));
    forms
        .all()
        .find(|d| d.url == url && (version.is_empty() || d.version == version))
}

/// Fewer answered clinical items than this and two records are alike by
/// chance (a short follow-up of a resident who was not at home).
const FINGERPRINT_MIN_ITEMS: usize = 8;

/// Reads one QuestionnaireResponse. `received` is the day its current
/// version reached the platform: the form's rules judge dates against it.
pub fn extract(qr: &Value, forms: &Registry, person: &Person, received: NaiveDate, settings: &Settings) -> Facts {
    let Some(def) = form_of(qr, forms) else {
        return Facts {
            form_id: qr["questionnaire"].as_str().unwrap_or("").chars().take(200).collect(),
            role: Role::Other,
            programme: None,
            visit_date: None,
            problems: vec![Problem {
                item: String::new(),
                code: "unknown_form".into(),
                level: Level::Error,
            }],
            answer_hash: None,
            bp: None,
            history: None,
        };
    };
    let answers = answers_from_response(qr, def);
    let visit_date = def
        .date_field
        .as_deref()
        .and_then(|f| answers.text(f))
        .and_then(|s| parse_date(s, received));
    let ctx = Context {
        today: received,
        sex: person.sex.clone(),
        birth_date: person.birth_date,
    };
    let mut problems: Vec<Problem> = evaluate(def, &answers, &ctx)
        .findings
        .into_iter()
        .map(|f| Problem {
            item: item_of(&f.path),
            code: match &f.text {
                FindingText::Msg(m) => m.key.to_string(),
                FindingText::Form(t) => def
                    .checks
                    .iter()
                    .find(|c| &c.message == t)
                    .map_or_else(|| "check".to_string(), |c| format!("check.{}", c.id)),
            },
            level: f.level,
        })
        .collect();
    if let Some(a) = assess_answers(def, &answers, person.birth_date, None, settings, received) {
        problems.extend(a.findings.iter().map(|f| Problem {
            item: item_of(f.path),
            code: f.code.to_string(),
            level: f.level,
        }));
    }
    problems.sort_by(|a, b| (&a.item, &a.code).cmp(&(&b.item, &b.code)));
    problems.dedup();
    let history = visit_date.map(|d| record_fact(0, def.role, def.programme, &answers, d, person.birth_date, settings));
    Facts {
        form_id: def.id.clone(),
        role: def.role,
        programme: def.programme,
        visit_date,
        problems,
        answer_hash: fingerprint(def, &answers),
        bp: blood_pressure(def, &answers),
        history,
    }
}

/// `meds.2.name` and `bp.systolic` belong to the items `meds` and `bp`.
fn item_of(path: &str) -> String {
    path.split('.').next().unwrap_or("").to_string()
}

/// A hash of the answers a clinician measures or chooses, leaving out what
/// differs between residents by nature (dates, names, free text).
fn fingerprint(def: &FormDef, a: &Answers) -> Option<i64> {
    if !matches!(def.role, Role::FollowUp | Role::Exam) {
        return None;
    }
    let free: Vec<&str> = def
        .sections
        .iter()
        .flat_map(|s| &s.fields)
        .filter(|f| matches!(f.kind, FieldKind::Date { .. } | FieldKind::Text { .. }))
        .map(|f| f.id.as_str())
        .collect();
    let mut h = Sha256::new();
    let mut n = 0;
    // `Answers` iterates in path order, so equal answers hash equally.
    for (path, answer) in a.iter() {
        let item = path.split('.').next().unwrap_or("");
        if free.contains(&item) || path.ends_with(".detail") {
            continue;
        }
        n += 1;
        h.update(path.as_bytes());
        h.update([0]);
        h.update(serde_json::to_string(answer).unwrap_or_default().as_bytes());
        h.update([0]);
    }
    if n < FINGERPRINT_MIN_ITEMS {
        return None;
    }
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    Some(i64::from_le_bytes(b))
}

/// The record's blood pressure: the follow-up's, or the exam's left arm.
fn blood_pressure(def: &FormDef, a: &Answers) -> Option<(u32, u32)> {
    let field = def
        .sections
        .iter()
        .flat_map(|s| &s.fields)
        .find(|f| matches!(f.kind, FieldKind::BloodPressure { .. }))?;
    let num = |p: String| {
        a.text(&p)
            .and_then(parse_number)
            .map(|v| v.0)
            .filter(|v| v.fract() == 0.0 && *v > 0.0 && *v < 400.0)
            .map(|v| v as u32)
    };
    Some((
        num(format!("{}.systolic", field.id))?,
        num(format!("{}.diastolic", field.id))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_ignores_dates_and_free_text_but_not_measurements() {
        let forms = Registry::embedded();
        let def = forms.get("hypertension-followup").unwrap();
        let mut a = Answers::new();
        for (p, v) in [
            ("visit_method", "1"),
            ("symptoms", "1"),
            ("bp.systolic", "150"),
            ("bp.diastolic", "92"),
            ("weight.current", "70"),
            ("heart_rate", "78"),
            ("cigarettes.current", "0"),
            ("alcohol.current", "0"),
            ("salt.current", "2"),
            ("classification", "2"),
        ] {
            a.set_text(p, v);
        }
        let base = fingerprint(def, &a).expect("enough items");
        let mut b = a.clone();
        b.set_text("visit_date", "2026-03-01");
        b.set_text("doctor", "王医生");
        assert_eq!(fingerprint(def, &b), Some(base));
        b.set_text("bp.systolic", "152");
        assert_ne!(fingerprint(def, &b), Some(base));
        assert_eq!(blood_pressure(def, &b), Some((152, 92)));
    }
}
