//! Test fixtures shared by the import checks' tests: residents, a
//! finished diabetes follow-up for one, and a check of a list of resources
//! as one file (one resource a line).

use super::parse::At;
use super::Checker;
use crate::fhir::mapping::{questionnaire_response, RecordInput};
use crate::fhir::Identifiers;
use crate::form::rules::Context;
use crate::form::{Answers, Registry};
use crate::i18n::{I18n, Lang};
use crate::store::{Actor, ImportCounts, Record, RecordStatus, Resident, Store};
use chrono::NaiveDate;
use rand::SeedableRng;
use serde_json::Value;

pub(super) fn resident(n: u32) -> Resident {
    let birth = NaiveDate::from_ymd_opt(1970, 1, n).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from(n));
    Resident {
        id: 0,
        uuid: format!("00000000-0000-7000-8000-{n:012}"),
        record_no: format!("220602101101{:05}", n),
        status: "active".into(),
        name: Some(format!("测试{n}")),
        sex: Some("2".into()),
        birth_date: Some(birth.format("%Y-%m-%d").to_string()),
        id_number: Some(crate::demo::id_number("220602", birth, false, &mut rng)),
        phone: None,
        address: None,
        village: None,
        programmes: Vec::new(),
        created_at: String::new(),
        updated_at: String::new(),
    }
}

/// A fixed day: the checks take today as a parameter, so nothing here
/// depends on when the tests run.
pub(super) fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 29).expect("a date")
}

pub(super) fn response(reg: &Registry, r: &Resident, uuid: &str) -> Value {
    let def = reg.get("diabetes-followup").unwrap();
    let today = today();
    let date = today - chrono::Duration::days(10);
    let mut a = Answers::new();
    a.set_text("visit_date", &date.format("%Y-%m-%d").to_string());
    a.set_text(
        "next_visit_date",
        &(date + chrono::Duration::days(30)).format("%Y-%m-%d").to_string(),
    );
    a.set_text("bp.systolic", "132");
    a.set_text("bp.diastolic", "84");
    let ctx = Context {
        today,
        sex: r.sex.clone(),
        birth_date: NaiveDate::from_ymd_opt(1970, 1, 1),
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    crate::demo::complete_required(def, &mut a, &ctx, date, &mut rng);
    let record = Record {
        id: 0,
        uuid: uuid.into(),
        resident_id: 0,
        form_id: def.id.clone(),
        form_version: def.version.clone(),
        status: RecordStatus::Final,
        answers: a,
        record_date: None,
        focus: None,
        author: "doc".into(),
        created_at: String::new(),
        updated_at: String::new(),
        finalized_at: None,
        revision: 1,
    };
    let ids = Identifiers::default();
    questionnaire_response(&RecordInput {
        record: &record,
        resident: r,
        def,
        ids: &ids,
    })
    .0
}

/// Checks resources (one per line) against `store`; the problems' lines and texts.
pub(super) fn check(store: &Store, resources: &[Value]) -> Result<ImportCounts, Vec<(usize, String)>> {
    let reg = Registry::embedded();
    let ids = Identifiers::default();
    let i18n = I18n::new(Lang::En);
    let mut c = Checker::new(&reg, &ids, &i18n, today());
    for (i, r) in resources.iter().enumerate() {
        c.take(At::Line(i + 1), Ok(r.clone()));
    }
    match c.finish(store, &Actor::new("test")).unwrap() {
        Ok(plan) => Ok(plan.counts),
        Err(problems) => Err(problems
            .into_iter()
            .map(|p| match p.at {
                At::Line(n) => (n, p.reason),
                other => panic!("{other:?}"),
            })
            .collect()),
    }
}
