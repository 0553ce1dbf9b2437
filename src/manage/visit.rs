//! One follow-up visit as the rules see it, read from a record's answers.
//!
//! The follow-up forms of both programmes share these item ids (see
//! `forms/README.md`, "Follow-up forms and the management rules"): a form
//! file may reword or reorder them, but the ids are the contract.

use crate::form::answers::{parse_date, parse_number, Answers};
use crate::form::def::Programme;
use chrono::NaiveDate;

pub const VISIT_DATE: &str = "visit_date";
pub const METHOD: &str = "visit_method";
pub const STATUS: &str = "visit_status";
pub const DEATH_DATE: &str = "death_date";
pub const SYSTOLIC: &str = "bp.systolic";
pub const DIASTOLIC: &str = "bp.diastolic";
pub const FBG: &str = "fbg";
pub const HEART_RATE: &str = "heart_rate";
pub const TEMPERATURE: &str = "temperature";
pub const DANGER_SIGNS: &str = "danger_signs";
pub const ADR: &str = "adr";
pub const CLASSIFICATION: &str = "classification";
pub const NEXT_STEP: &str = "next_step";
pub const REFERRED: &str = "referred";
pub const REFERRAL_REASON: &str = "referral_reason";
pub const NEXT_VISIT: &str = "next_visit_date";
pub const DOCTOR: &str = "doctor";
pub const REMARKS: &str = "remarks";
pub const HEIGHT: &str = "height";
pub const WEIGHT_TARGET: &str = "weight.target";
pub const MEDS: &str = "meds";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Clinic,
    Home,
    Phone,
}

impl Method {
    /// 面对面: clinic or home; a telephone call does not count.
    pub fn face_to_face(self) -> bool {
        matches!(self, Method::Clinic | Method::Home)
    }

    pub fn code(self) -> &'static str {
        match self {
            Method::Clinic => "1",
            Method::Home => "2",
            Method::Phone => "3",
        }
    }

    pub fn parse(code: &str) -> Option<Method> {
        match code {
            "1" => Some(Method::Clinic),
            "2" => Some(Method::Home),
            "3" => Some(Method::Phone),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VisitStatus {
    #[default]
    Normal,
    Lost,
    Dead,
}

impl VisitStatus {
    pub fn code(self) -> &'static str {
        match self {
            VisitStatus::Normal => "1",
            VisitStatus::Lost => "2",
            VisitStatus::Dead => "3",
        }
    }

    pub fn parse(code: &str) -> VisitStatus {
        match code {
            "2" => VisitStatus::Lost,
            "3" => VisitStatus::Dead,
            _ => VisitStatus::Normal,
        }
    }
}

/// The facts of one visit the rules need; everything optional, as a draft
/// may not have it yet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Visit {
    pub date: Option<NaiveDate>,
    pub method: Option<Method>,
    pub status: VisitStatus,
    pub death_date: Option<NaiveDate>,
    pub systolic: Option<f64>,
    pub diastolic: Option<f64>,
    pub fbg: Option<f64>,
    pub heart_rate: Option<f64>,
    pub temperature: Option<f64>,
    /// Danger-sign codes ticked, other than `1` 无.
    pub danger_signs: Vec<String>,
    pub adr: bool,
    pub classification: Option<u8>,
    pub next_step: Option<u8>,
    pub referred: bool,
    pub next_visit: Option<NaiveDate>,
    /// 备注 filled: the doctor's stated reason for departing from a rule.
    pub reason_given: bool,
}

fn code_number(a: &Answers, path: &str) -> Option<u8> {
    a.text(path).and_then(|c| c.trim().parse().ok())
}

impl Visit {
    /// Reads a follow-up's answers. `today` only resolves `t` in a date
    /// typed but not yet tidied.
    pub fn from_answers(a: &Answers, today: NaiveDate) -> Visit {
        let date = |p| a.text(p).and_then(|s| parse_date(s, today));
        let num = |p| a.text(p).and_then(parse_number).map(|v| v.0);
        Visit {
            date: date(VISIT_DATE),
            method: a.text(METHOD).and_then(Method::parse),
            status: a.text(STATUS).map(VisitStatus::parse).unwrap_or_default(),
            death_date: date(DEATH_DATE),
            systolic: num(SYSTOLIC),
            diastolic: num(DIASTOLIC),
            fbg: num(FBG),
            heart_rate: num(HEART_RATE),
            temperature: num(TEMPERATURE),
            danger_signs: a.codes(DANGER_SIGNS).iter().filter(|c| *c != "1").cloned().collect(),
            adr: a.text(ADR) == Some("2"),
            classification: code_number(a, CLASSIFICATION),
            next_step: code_number(a, NEXT_STEP),
            referred: a.text(REFERRED) == Some("2"),
            next_visit: date(NEXT_VISIT),
            reason_given: a.text(REMARKS).is_some(),
        }
    }

    /// The measurement the programme is controlled by was taken.
    pub fn measured(&self, programme: Programme) -> bool {
        match programme {
            Programme::Hypertension => self.systolic.is_some() && self.diastolic.is_some(),
            Programme::Diabetes => self.fbg.is_some(),
        }
    }
}

/// What the rules need to know of the previous visit of the same programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Previous {
    pub date: NaiveDate,
    /// Not controlled by its measurement (or classified 控制不满意).
    pub uncontrolled: bool,
    pub referred: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shared_item_ids_and_ignores_none_among_danger_signs() {
        let mut a = Answers::new();
        a.set_text(VISIT_DATE, "20261101");
        a.set_text(METHOD, "2");
        a.set_text(SYSTOLIC, "１５２");
        a.set_text(DIASTOLIC, "96");
        a.set_codes(DANGER_SIGNS, vec!["1".into()]);
        a.set_text(ADR, "2");
        a.set_text(REFERRED, "1");
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let v = Visit::from_answers(&a, today);
        assert_eq!(v.date, NaiveDate::from_ymd_opt(2026, 11, 1));
        assert_eq!(v.method, Some(Method::Home));
        assert_eq!(v.systolic, Some(152.0));
        assert!(v.danger_signs.is_empty());
        assert!(v.adr && !v.referred);
        assert!(v.measured(Programme::Hypertension));
        assert!(!v.measured(Programme::Diabetes));
        assert!(Method::Home.face_to_face() && !Method::Phone.face_to_face());
    }
}
