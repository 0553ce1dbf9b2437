//! Made-up residents and their records as the clinic uploads them (the
//! client's own FHIR mapping), for the hub's supervision tests, pages and
//! benchmark. Names and ID numbers are synthetic (valid check digits).

#![allow(dead_code)]

use jkda::fhir::mapping::{questionnaire_response_json, Identifiers, RecordInput};
use jkda::form::answers::Answers;
use jkda::form::Registry;
use jkda::store::{Record, RecordStatus, Resident};

/// A valid ID number for a birth date and sex (odd 17th digit: male).
pub fn id_number(birth: &str, serial: u32, male: bool) -> String {
    let sequence = serial * 2 + u32::from(male);
    let first17 = format!("220602{}{:03}", birth.replace('-', ""), sequence % 1000);
    format!("{first17}{}", jkda::identity::check_char(&first17))
}

/// Resident `n` (its uuid and record number follow from `n`).
pub fn resident(n: u32, name: &str, birth: &str, male: bool) -> Resident {
    Resident {
        id: i64::from(n),
        uuid: format!("00000000-0000-4000-8000-{n:012}"),
        record_no: format!("22060210100{:06}", n % 1_000_000),
        status: "active".into(),
        name: Some(name.into()),
        sex: Some(if male { "1" } else { "2" }.into()),
        birth_date: Some(birth.into()),
        id_number: Some(id_number(birth, n, male)),
        phone: None,
        address: Some("一组".into()),
        village: Some("东山村".into()),
        programmes: vec![],
        created_at: String::new(),
        updated_at: String::new(),
    }
}

/// The id of record `n`.
pub fn record_id(n: u64) -> String {
    format!("10000000-0000-4000-8000-{n:012}")
}

/// Record `n` of a form as the QuestionnaireResponse the clinic uploads.
pub fn record_text(forms: &Registry, r: &Resident, form: &str, n: u64, date: &str, answers: Answers) -> String {
    let def = forms.get(form).expect("form");
    let record = Record {
        id: n as i64,
        uuid: record_id(n),
        resident_id: r.id,
        form_id: form.into(),
        form_version: def.version.clone(),
        status: RecordStatus::Final,
        answers,
        record_date: Some(date.into()),
        focus: None,
        author: "测试医生".into(),
        created_at: String::new(),
        updated_at: String::new(),
        finalized_at: Some(format!("{date}T10:00:00.000+08:00")),
        revision: 1,
    };
    questionnaire_response_json(&RecordInput {
        record: &record,
        resident: r,
        def,
        ids: &Identifiers::default(),
    })
}

pub fn record_json(r: &Resident, form: &str, n: u32, date: &str, answers: Answers) -> serde_json::Value {
    let text = record_text(&Registry::embedded(), r, form, u64::from(n), date, answers);
    serde_json::from_str(&text).expect("json")
}

/// A complete basic-information record (every required item answered);
/// `disease` is a past-disease code (`2` hypertension, `3` diabetes).
pub fn registration_answers(r: &Resident, date: &str, disease: Option<&str>) -> Answers {
    let mut a = Answers::new();
    for (k, v) in [
        ("name", r.name.as_deref().unwrap_or("")),
        ("current_address", "一组"),
        ("township", "东山镇"),
        ("village", "东山村"),
        ("record_org", "东山村卫生室"),
        ("record_creator", "测试医生"),
        ("doctor", "测试医生"),
        ("record_date", date),
        ("sex", r.sex.as_deref().unwrap_or("")),
        ("birth_date", r.birth_date.as_deref().unwrap_or("")),
        ("id_number", r.id_number.as_deref().unwrap_or("")),
        ("residence_type", "1"),
        ("ethnicity", "01"),
        ("blood_abo", "5"),
        ("blood_rh", "3"),
        ("education", "1"),
        ("occupation", "1"),
        ("marital_status", "1"),
        ("surgery", "1"),
        ("trauma", "1"),
        ("transfusion", "1"),
        ("hereditary_disease", "1"),
    ] {
        a.set_text(k, v);
    }
    for k in ["payment_methods", "drug_allergy", "exposure", "disability"] {
        a.set_codes(k, vec!["1".into()]);
    }
    match disease {
        Some(code) => {
            a.set_text("past_disease_status", "2");
            a.set_text("past_diseases.0.disease", code);
            a.set_text("past_diseases.0.diagnosed_year", "2020");
        }
        None => a.set_text("past_disease_status", "1"),
    }
    a
}

/// A follow-up at the clinic with the blood pressure, classification and
/// next visit given; `weight` and `heart_rate` vary the answers.
pub struct Visit<'a> {
    pub date: &'a str,
    pub bp: (u32, u32),
    pub class: &'a str,
    pub next: &'a str,
    pub weight: u32,
    pub heart_rate: u32,
}

pub fn followup_answers(v: &Visit) -> Answers {
    let mut a = Answers::new();
    for (k, val) in [
        ("visit_date", v.date),
        ("visit_method", "1"),
        ("visit_status", "1"),
        ("bp.systolic", &v.bp.0.to_string()),
        ("bp.diastolic", &v.bp.1.to_string()),
        ("weight.current", &v.weight.to_string()),
        ("weight.target", "60"),
        ("heart_rate", &v.heart_rate.to_string()),
        ("cigarettes.current", "0"),
        ("cigarettes.target", "0"),
        ("alcohol.current", "0"),
        ("alcohol.target", "0"),
        ("classification", v.class),
        ("referred", "1"),
        ("next_visit_date", v.next),
        ("doctor", "测试医生"),
    ] {
        a.set_text(k, val);
    }
    a.set_codes("symptoms", vec!["1".into()]);
    a.set_codes("danger_signs", vec!["1".into()]);
    a
}
