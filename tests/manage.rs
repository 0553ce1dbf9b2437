//! The management half end to end: residents with hand-written follow-up
//! histories are stored through the real store, then `jkda worklist`,
//! `jkda report kpi` and `jkda check` (the real binary) must give the
//! figures worked out by hand below, from rules.md §1–§4. Dates are fixed
//! (`--today`), so the suite gives the same answers in any year.

mod common;

use common::*;
use jkda::form::{Answers, Registry};
use jkda::store::{Actor, ResidentFields, Save, Store};
use serde_json::Value;

fn open_store(dir: &std::path::Path) -> Store {
    let mut keyring = jkda::store::crypt::Keyring::load(dir).unwrap().unwrap();
    let key = keyring.unlock("admin", &ADMIN_PW.into(), chrono::Utc::now()).unwrap();
    Store::open_with_key(&dir.join("jkda.db"), Some(&key)).unwrap()
}

struct Visit<'a> {
    date: &'a str,
    method: &'a str,
    status: &'a str,
    bp: Option<(u32, u32)>,
    fbg: Option<&'a str>,
    referred: bool,
    next: Option<&'a str>,
}

fn v<'a>(date: &'a str, method: &'a str, bp: Option<(u32, u32)>, next: Option<&'a str>) -> Visit<'a> {
    Visit {
        date,
        method,
        status: "1",
        bp,
        fbg: None,
        referred: false,
        next,
    }
}

struct Clinic {
    store: Store,
    registry: Registry,
    actor: Actor,
}

impl Clinic {
    fn resident(&mut self, name: &str, sex: &str, birth: &str) -> i64 {
        let site = self.store.site().unwrap().unwrap();
        let r = self.store.create_resident(&self.actor, &site).unwrap();
        let def = self.registry.registration().unwrap().clone();
        let src = self.registry.source(&def.id).unwrap().to_string();
        let rec = self.store.create_record(&self.actor, r.id, &def, &src).unwrap();
        let save = Save {
            record_date: Some("2025-01-01".into()),
            resident: Some(ResidentFields {
                name: Some(name.into()),
                sex: Some(sex.into()),
                birth_date: Some(birth.into()),
                village: Some("测试村".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.store.finalize(&self.actor, rec.id, &save, None).unwrap();
        r.id
    }

    fn followup(&mut self, resident: i64, form: &str, visit: &Visit) -> i64 {
        let def = self.registry.get(form).unwrap().clone();
        let src = self.registry.source(form).unwrap().to_string();
        let rec = self.store.create_record(&self.actor, resident, &def, &src).unwrap();
        let mut a = Answers::new();
        a.set_text("visit_date", visit.date);
        a.set_text("visit_method", visit.method);
        a.set_text("visit_status", visit.status);
        if let Some((s, d)) = visit.bp {
            a.set_text("bp.systolic", &s.to_string());
            a.set_text("bp.diastolic", &d.to_string());
        }
        if let Some(g) = visit.fbg {
            a.set_text("fbg", g);
        }
        a.set_text("referred", if visit.referred { "2" } else { "1" });
        if let Some(n) = visit.next {
            a.set_text("next_visit_date", n);
        }
        let save = Save {
            answers: a,
            record_date: Some(visit.date.into()),
            ..Default::default()
        };
        self.store.finalize(&self.actor, rec.id, &save, None).unwrap();
        rec.id
    }
}

fn admin(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--user", "admin"];
    all.extend_from_slice(args);
    let o = run_jkda_input(dir, &all, &format!("{ADMIN_PW}\n"));
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A: 70, four face-to-face visits in 2026, the last on target for 65+
///    (149/89 < 150/90): standardised and controlled.
/// B: 46, two clinic visits and one by telephone: not standardised; last
///    measured 140/90 is not below 140/90: not controlled; booked for
///    08-15 and never came: 111 days overdue on 12-04, a lost candidate.
/// C: 66, diabetes, FBG 6.5 then 7.0, then lost to follow-up in September:
///    managed, not controlled, off the worklist's follow-ups.
/// D: 76, in no programme, never examined: an annual exam due.
/// E: 56, 185/112 on 11-25 (an emergency), referred: a referral to follow
///    up by 12-09.
#[test]
fn hand_computed_worklist_indicators_and_check() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 0);
    let mut c = Clinic {
        store: open_store(dir.path()),
        registry: Registry::embedded(),
        actor: Actor::new("li"),
    };
    let ht = "hypertension-followup";
    let a = c.resident("甲", "1", "1956-03-01");
    for visit in [
        v("2026-01-10", "1", Some((138, 85)), Some("2026-04-10")),
        v("2026-04-10", "2", Some((152, 88)), Some("2026-04-24")),
        v("2026-07-10", "1", Some((148, 86)), Some("2026-10-10")),
        v("2026-10-10", "1", Some((149, 89)), Some("2027-01-08")),
    ] {
        c.followup(a, ht, &visit);
    }
    let b = c.resident("乙", "2", "1980-05-05");
    for visit in [
        v("2026-02-01", "1", Some((150, 95)), Some("2026-02-15")),
        v("2026-05-01", "3", Some((130, 80)), Some("2026-08-01")),
        v("2026-08-01", "1", Some((140, 90)), Some("2026-08-15")),
    ] {
        c.followup(b, ht, &visit);
    }
    let cc = c.resident("丙", "1", "1960-02-02");
    let dm = "diabetes-followup";
    for mut visit in [
        v("2026-03-01", "1", Some((130, 80)), Some("2026-06-01")),
        v("2026-06-01", "1", Some((130, 80)), Some("2026-06-15")),
        v("2026-09-01", "3", None, None),
    ] {
        visit.fbg = match visit.date {
            "2026-03-01" => Some("6.5"),
            "2026-06-01" => Some("7.0"),
            _ => None,
        };
        if visit.date == "2026-09-01" {
            visit.status = "2";
        }
        c.followup(cc, dm, &visit);
    }
    let d = c.resident("丁", "2", "1950-07-07");
    let e = c.resident("戊", "1", "1970-06-06");
    let mut urgent = v("2026-11-25", "1", Some((185, 112)), Some("2026-12-09"));
    urgent.referred = true;
    let urgent_record = c.followup(e, ht, &urgent);
    // A had this year's health exam in June: no exam due for him.
    let def = c.registry.get("health-exam").unwrap().clone();
    let src = c.registry.source("health-exam").unwrap().to_string();
    let exam = c.store.create_record(&c.actor, a, &def, &src).unwrap();
    let mut answers = Answers::new();
    answers.set_text("exam_date", "2026-06-01");
    let save = Save {
        answers,
        record_date: Some("2026-06-01".into()),
        ..Default::default()
    };
    c.store.finalize(&c.actor, exam.id, &save, None).unwrap();
    drop(c);

    // The worklist on 2026-12-04.
    let (code, out, err) = admin(dir.path(), &["worklist", "--today", "2026-12-04", "--json"]);
    assert_eq!(code, 0, "{err}");
    let items: Vec<Value> = serde_json::from_str(&out).unwrap();
    let got: Vec<(String, String, i64)> = items
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_string(),
                i["name"].as_str().unwrap().to_string(),
                i["days_overdue"].as_i64().unwrap(),
            )
        })
        .collect();
    let want = |k: &str, n: &str, days: i64| (k.to_string(), n.to_string(), days);
    assert_eq!(got[0], want("referral", "戊", 0), "{got:?}");
    let exams: Vec<&str> = got[1..5]
        .iter()
        .filter(|g| g.0 == "exam_due")
        .map(|g| g.1.as_str())
        .collect();
    assert_eq!(exams.len(), 4, "{got:?}");
    assert!(!exams.contains(&"甲"), "examined in June: {got:?}");
    assert_eq!(got[5], want("lost_candidate", "乙", 111), "{got:?}");
    assert_eq!(got.len(), 6, "{got:?}");
    assert_eq!(items[0]["form_id"], "hypertension-followup");
    assert_eq!(items[0]["due"], "2026-12-09");
    let _ = d;

    // The year's indicators.
    let (code, out, err) = admin(dir.path(), &["report", "kpi", "--year", "2026", "--json"]);
    assert_eq!(code, 0, "{err}");
    let kpi: Value = serde_json::from_str(&out).unwrap();
    let programme = |key: &str| {
        kpi["programmes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["programme"] == key)
            .cloned()
            .unwrap()
    };
    let h = programme("hypertension");
    assert_eq!(
        (
            h["managed"].as_u64(),
            h["standardised"].as_u64(),
            h["controlled"].as_u64()
        ),
        (Some(3), Some(1), Some(1))
    );
    assert!((h["standardised_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert!((h["control_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    let m = programme("diabetes");
    assert_eq!(
        (
            m["managed"].as_u64(),
            m["standardised"].as_u64(),
            m["controlled"].as_u64()
        ),
        (Some(1), Some(0), Some(0))
    );
    assert_eq!(kpi["older_adults"], 3, "A, C and D are 65 or older");
    assert_eq!(kpi["older_adults_examined"], 1, "A");
    assert_eq!(h["examined"], 1, "A");
    assert_eq!(kpi["records"], 5);
    // The first quarter: A (clinic 01-10, on target) and B (clinic 02-01, not)
    // are standardised with one face-to-face visit; C (03-01) too.
    let (_, out, _) = admin(
        dir.path(),
        &["report", "kpi", "--year", "2026", "--quarter", "1", "--json"],
    );
    let q1: Value = serde_json::from_str(&out).unwrap();
    let h1 = &q1["programmes"][0];
    assert_eq!(
        (
            h1["managed"].as_u64(),
            h1["standardised"].as_u64(),
            h1["controlled"].as_u64()
        ),
        (Some(2), Some(2), Some(1))
    );
    let (_, csv, _) = admin(dir.path(), &["report", "kpi", "--year", "2026", "--csv"]);
    assert!(
        csv.lines().any(|l| l.starts_with(",,hypertension,3,1,0.3333,1,0.3333")),
        "{csv}"
    );

    // Leaving a programme is an event: B moved away on 12-01.
    let store = open_store(dir.path());
    let b_no = store.resident(&Actor::new("t"), b).unwrap().record_no;
    drop(store);
    let (code, _, err) = admin(
        dir.path(),
        &[
            "programme",
            "leave",
            &b_no,
            "hypertension",
            "--date",
            "2026-12-01",
            "--reason",
            "moved",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = admin(dir.path(), &["worklist", "--today", "2026-12-04", "--json"]);
    let items: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(!items.iter().any(|i| i["kind"] == "lost_candidate"), "B left: {out}");
    let (_, out, _) = admin(dir.path(), &["report", "kpi", "--year", "2026", "--json"]);
    let kpi: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(kpi["programmes"][0]["managed"], 3, "B was still managed in 2026");

    // `jkda check`: E's referral follow-up on 12-08, still 165/100: the
    // second uncontrolled visit in a row. Classified 控制满意 and booked in
    // three months: the rules say 2, refer, within 14 days.
    let store = open_store(dir.path());
    let actor = Actor::new("t");
    let resident = store.resident(&actor, e).unwrap();
    let mut record = store.record(&actor, urgent_record).unwrap();
    record.uuid = "0190a0a0-0000-7000-8000-000000000001".into();
    record.answers = Answers::new();
    for (k, val) in [
        ("visit_date", "2026-12-08"),
        ("visit_method", "1"),
        ("visit_status", "1"),
        ("bp.systolic", "165"),
        ("bp.diastolic", "100"),
        ("classification", "1"),
        ("referred", "1"),
        ("next_visit_date", "2027-03-08"),
        ("doctor", "李医生"),
    ] {
        record.answers.set_text(k, val);
    }
    record.answers.set_codes("symptoms", vec!["1".into()]);
    record.record_date = Some("2026-12-08".into());
    let registry = Registry::embedded();
    let def = registry.get(ht).unwrap();
    let ids = jkda::fhir::mapping::Identifiers::default();
    let qr = jkda::fhir::mapping::questionnaire_response_json(&jkda::fhir::mapping::RecordInput {
        record: &record,
        resident: &resident,
        def,
        ids: &ids,
    });
    drop(store);
    let file = dir.path().join("qr.json");
    std::fs::write(&file, qr).unwrap();
    let (code, out, err) = admin(
        dir.path(),
        &["check", file.to_str().unwrap(), "--today", "2026-12-08", "--json"],
    );
    assert_eq!(code, 1, "errors exit 1: {out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["suggested"]["classification"], 2);
    assert_eq!(report["suggested"]["next_step"], 3);
    assert_eq!(report["suggested"]["next_visit_by"], "2026-12-22");
    assert_eq!(report["suggested"]["referral"], "twice_uncontrolled");
    let codes: Vec<&str> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"referral_missing") && codes.contains(&"next_visit_late_after_uncontrolled"),
        "{out}"
    );
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect();
    assert!(warnings.contains(&"classification_contradicts_bp"), "{out}");
}
