//! Test fixtures shared by the mapping's tests: one resident, one record of
//! any form, and a diabetes follow-up with every kind of answer.

use crate::domain::{Record, RecordStatus, Resident};
use crate::form::Answers;

pub(super) fn resident() -> Resident {
    Resident {
        id: 1,
        uuid: "11111111-1111-4111-8111-111111111111".into(),
        record_no: "22060210110100001".into(),
        status: "active".into(),
        name: Some("测试甲".into()),
        sex: Some("2".into()),
        birth_date: Some("1950-03-04".into()),
        id_number: Some("220602195003040020".into()),
        phone: Some("13800000000".into()),
        address: Some("东山村一组1号".into()),
        village: Some("东山村".into()),
        programmes: vec![],
        created_at: String::new(),
        updated_at: String::new(),
    }
}

pub(super) fn record(form: &str, answers: Answers, revision: i64) -> Record {
    Record {
        id: 7,
        uuid: "22222222-2222-4222-8222-222222222222".into(),
        resident_id: 1,
        form_id: form.into(),
        form_version: "2017.1".into(),
        status: RecordStatus::Final,
        answers,
        record_date: Some("2026-11-01".into()),
        focus: None,
        author: "doc".into(),
        created_at: String::new(),
        updated_at: String::new(),
        finalized_at: Some("2026-11-01T10:00:00.000+08:00".into()),
        revision,
    }
}

pub(super) fn diabetes_answers() -> Answers {
    let mut a = Answers::new();
    a.set_text("visit_date", "2026-11-01");
    a.set_text("visit_method", "2");
    a.set_codes("symptoms", vec!["2".into(), "4".into()]);
    a.set_text("bp.systolic", "135");
    a.set_text("bp.diastolic", "85");
    a.set_text("weight.current", "70.5");
    a.set_text("weight.target", "68.0");
    a.set_text("height", "165.0");
    a.set_text("heart_rate", "72");
    a.set_text("fbg", "7.2");
    a.set_text("hba1c", "6.8");
    a.set_text("adr", "2");
    a.set_text("adr.detail", "皮疹");
    a.set_text("meds.0.name", "二甲双胍");
    a.set_text("meds.0.times_per_day", "2");
    a.set_text("meds.1.name", "格列美脲");
    a
}
