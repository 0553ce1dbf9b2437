//! `jkda import` end to end: a clinic's residents and finalized records go
//! up to the real hub (127.0.0.1:0) with the real uploader, come back through
//! the hub's FHIR search API, are written as NDJSON and as a Bundle, and are
//! imported into fresh installations through the real binary. Bad files are
//! refused line by line with nothing written. All data is synthetic.

mod common;
mod sync_support;

use common::{run_jkda_input, ADMIN_PW, DOCTOR_PW};
use jkda::demo::{complete_required, id_number};
use jkda::fhir::mapping::{patient, questionnaire_response, RecordInput};
use jkda::fhir::Identifiers;
use jkda::form::rules::{evaluate, Context};
use jkda::form::{Answers, Registry};
use jkda::store::{Actor, Record, RecordStatus, Resident, ResidentFields, Role, Save, SiteConfig, Store};
use jkda::sync::{Client, Uploader};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A fresh encrypted installation: the same site codes as `common::install`
/// (so imported record numbers share this site's prefix), an administrator
/// and the doctor `li`, no residents.
fn install_empty(dir: &Path) {
    ok(&run_jkda_input(
        dir,
        &[
            "init",
            "--site-name",
            "新卫生室",
            "--division",
            "220602",
            "--township",
            "101",
            "--village",
            "101",
        ],
        &format!("{ADMIN_PW}\n"),
    ));
    ok(&run_jkda_input(
        dir,
        &[
            "--user",
            "admin",
            "user",
            "add",
            "li",
            "--role",
            "doctor",
            "--name",
            "李医生",
        ],
        &format!("{ADMIN_PW}\n{DOCTOR_PW}\n"),
    ));
}

/// Where the tests keep an installation's key file: beside the data
/// directory, since jkda refuses one inside it.
fn key_path(dir: &Path) -> PathBuf {
    dir.with_extension("key")
}

/// Opens an installation's encrypted store in this process, through a key
/// file the administrator writes.
fn open_store(dir: &Path) -> Store {
    let key_path = key_path(dir);
    if !key_path.exists() {
        ok(&run_jkda_input(
            dir,
            &["--user", "admin", "key-file", key_path.to_str().unwrap()],
            &format!("{ADMIN_PW}\n"),
        ));
    }
    let key = jkda::store::crypt::read_key_file(&key_path).unwrap();
    jkda::session::open_store(dir, Some(&key), true).unwrap()
}

fn import(dir: &Path, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["--user", "li", "import", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_jkda_input(dir, &args, &format!("{DOCTOR_PW}\n"))
}

fn doctor() -> Actor {
    Actor::with_role("li", Role::Doctor)
}

fn ctx_of(r: &Resident, today: chrono::NaiveDate) -> Context {
    Context {
        today,
        sex: r.sex.clone(),
        birth_date: r
            .birth_date
            .as_deref()
            .and_then(|b| chrono::NaiveDate::parse_from_str(b, "%Y-%m-%d").ok()),
    }
}

/// A finalized follow-up for `resident`, `days` ago; returns the record id.
fn follow_up(store: &mut Store, reg: &Registry, resident: &Resident, form: &str, days: i64, rng: &mut StdRng) -> i64 {
    let actor = doctor();
    let def = reg.get(form).unwrap();
    let rec = store
        .create_record(&actor, resident.id, def, reg.source(form).unwrap())
        .unwrap();
    let today = chrono::Local::now().date_naive();
    let date = today - chrono::Duration::days(days);
    let d = date.format("%Y-%m-%d").to_string();
    let mut a = Answers::new();
    a.set_text("visit_date", &d);
    a.set_text("visit_method", "1");
    a.set_codes("symptoms", vec!["1".into()]);
    a.set_text("bp.systolic", &rng.random_range(118..160).to_string());
    a.set_text("bp.diastolic", &rng.random_range(70..90).to_string());
    a.set_text("weight.current", &format!("{:.1}", rng.random_range(50.0..85.0f64)));
    a.set_text("height", &format!("{:.1}", rng.random_range(150.0..180.0f64)));
    if def.field("heart_rate").is_some() {
        a.set_text("heart_rate", &rng.random_range(60..95).to_string());
    }
    if def.field("fbg").is_some() {
        a.set_text("fbg", &format!("{:.1}", rng.random_range(5.0..10.0f64)));
    }
    a.set_text(
        "next_visit_date",
        &(date + chrono::Duration::days(14)).format("%Y-%m-%d").to_string(),
    );
    let ctx = ctx_of(resident, today);
    complete_required(def, &mut a, &ctx, date, rng);
    let eval = evaluate(def, &a, &ctx);
    assert!(!eval.has_errors(), "{:?}", eval.errors().collect::<Vec<_>>());
    let save = Save {
        answers: a,
        focus: None,
        record_date: Some(d),
        resident: None,
    };
    store
        .finalize(&actor, rec.id, &save, def.programme.map(|p| p.key()))
        .unwrap();
    rec.id
}

/// A resident registered here through the registration form (finalized).
fn register(store: &mut Store, reg: &Registry, n: u32, rng: &mut StdRng) -> i64 {
    let actor = doctor();
    let site = store.site().unwrap().unwrap();
    let def = reg.registration().unwrap();
    let r = store.create_resident(&actor, &site).unwrap();
    let rec = store
        .create_record(&actor, r.id, def, reg.source(&def.id).unwrap())
        .unwrap();
    let birth = chrono::NaiveDate::from_ymd_opt(1950 + n as i32, 3, 1 + n).unwrap();
    let male = n % 2 == 0;
    let fields = ResidentFields {
        name: Some(format!("导入测试{n}")),
        sex: Some(if male { "1" } else { "2" }.into()),
        birth_date: Some(birth.format("%Y-%m-%d").to_string()),
        id_number: Some(id_number("220602", birth, male, rng)),
        phone: Some(format!("1390000{:04}", n)),
        address: Some(format!("东山村二组{n}号")),
        village: Some("东山村".into()),
    };
    let b = &def.resident;
    let mut a = Answers::new();
    for (slot, value) in [
        (&b.name, &fields.name),
        (&b.sex, &fields.sex),
        (&b.birth_date, &fields.birth_date),
        (&b.id_number, &fields.id_number),
        (&b.phone, &fields.phone),
        (&b.address, &fields.address),
        (&b.village, &fields.village),
    ] {
        if let (Some(p), Some(v)) = (slot, value) {
            a.set_text(p, v);
        }
    }
    let today = chrono::Local::now().date_naive();
    let date = today - chrono::Duration::days(400);
    let d = date.format("%Y-%m-%d").to_string();
    if let Some(df) = &def.date_field {
        a.set_text(df, &d);
    }
    let ctx = Context {
        today,
        sex: fields.sex.clone(),
        birth_date: Some(birth),
    };
    complete_required(def, &mut a, &ctx, date, rng);
    let save = Save {
        answers: a,
        focus: None,
        record_date: Some(d),
        resident: Some(fields),
    };
    store.finalize(&actor, rec.id, &save, None).unwrap();
    r.id
}

/// uuid, form, version, answers, record date, finalized at, author.
type RecordFacts = (String, String, String, Answers, Option<String>, Option<String>, String);

/// A resident's data and their final records, for comparing two stores.
#[derive(PartialEq)]
struct Snapshot {
    resident: Vec<Option<String>>,
    records: Vec<RecordFacts>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Synthetic data: showing it helps when a comparison fails.
        write!(f, "{:?} / {} records", self.resident, self.records.len())?;
        for r in &self.records {
            write!(f, "\n  {} {} {} {:?} {:?} {} {:?}", r.0, r.1, r.2, r.4, r.5, r.6, r.3)?;
        }
        Ok(())
    }
}

fn snapshot(store: &Store, uuid: &str, only: Option<&[String]>) -> (Snapshot, Vec<String>) {
    let actor = doctor();
    let id = store.resident_by_uuid(uuid).unwrap().expect("resident here");
    let r = store.resident(&actor, id).unwrap();
    let mut records = Vec::new();
    for s in store.records_of(&actor, id).unwrap() {
        let rec: Record = store.record(&actor, s.id).unwrap();
        if only.is_some_and(|o| !o.contains(&rec.uuid)) {
            continue;
        }
        assert_eq!(rec.status, RecordStatus::Final);
        records.push((
            rec.uuid,
            rec.form_id,
            rec.form_version,
            rec.answers,
            rec.record_date,
            rec.finalized_at,
            rec.author,
        ));
    }
    records.sort_by(|a, b| a.0.cmp(&b.0));
    let snap = Snapshot {
        resident: vec![
            Some(r.uuid),
            Some(r.record_no),
            Some(r.status),
            r.name,
            r.sex,
            r.birth_date,
            r.id_number,
            r.phone,
            r.address,
            r.village,
        ],
        records,
    };
    (snap, r.programmes)
}

/// Everything the hub holds about the residents, read back through its
/// FHIR search API as a client would: Patient by record number, the rest by
/// subject.
fn read_back(client: &Client, ids: &Identifiers, residents: &[(String, String)]) -> Vec<Value> {
    let mut patients = Vec::new();
    let mut rest = Vec::new();
    for (uuid, record_no) in residents {
        let found = client
            .search("Patient", &[("identifier", &format!("{}|{record_no}", ids.record_no))])
            .unwrap();
        let entries = found["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "Patient {record_no}");
        patients.push(entries[0]["resource"].clone());
        for kind in ["QuestionnaireResponse", "Encounter", "Observation"] {
            let subject = format!("Patient/{uuid}");
            let found = client
                .search(kind, &[("subject", &subject), ("_count", "500")])
                .unwrap();
            rest.extend(
                found["entry"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| e["resource"].clone()),
            );
        }
    }
    // Patients last in the NDJSON: an import must not depend on order.
    rest.extend(patients);
    rest
}

fn write_ndjson(path: &Path, resources: &[Value]) {
    let text: String = resources.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn write_bundle(path: &Path, resources: &[Value], kind: &str) {
    let entries: Vec<Value> = resources
        .iter()
        .rev()
        .map(|r| {
            json!({
                "fullUrl": format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap()),
                "resource": r,
            })
        })
        .collect();
    let bundle = json!({ "resourceType": "Bundle", "type": kind, "entry": entries });
    std::fs::write(path, serde_json::to_string_pretty(&bundle).unwrap()).unwrap();
}

fn count_import_audits(store: &Store) -> (usize, usize) {
    let entries = store.audit_entries(0, 1_000_000).unwrap();
    let n = |entity: &str| {
        entries
            .iter()
            .filter(|e| e.action == "import" && e.entity == entity && e.actor == "li")
            .count()
    };
    (n("resident"), n("record"))
}

#[test]
fn residents_uploaded_to_the_hub_come_back_into_a_fresh_install_equal_and_only_once() {
    let tmp = tempfile::tempdir().unwrap();
    let clinic = tmp.path().join("clinic");
    std::fs::create_dir(&clinic).unwrap();
    common::install(&clinic, 40);
    let platform = sync_support::Platform::start(tmp.path());
    let reg = Registry::embedded();
    let mut rng = StdRng::seed_from_u64(11);

    // Follow-ups for demo residents, and a few residents registered here.
    let mut store = open_store(&clinic);
    let actor = doctor();
    let mut residents: Vec<i64> = Vec::new();
    for row in store.recent_residents(&actor, 40).unwrap() {
        let r = store.resident(&actor, row.id).unwrap();
        if r.birth_date.is_none() || residents.len() == 6 {
            continue;
        }
        let n = residents.len() as i64;
        follow_up(&mut store, &reg, &r, "hypertension-followup", 20 + n, &mut rng);
        if n % 2 == 0 {
            follow_up(&mut store, &reg, &r, "diabetes-followup", 50 + n, &mut rng);
        }
        residents.push(r.id);
    }
    for n in 0..3 {
        let id = register(&mut store, &reg, n, &mut rng);
        let r = store.resident(&actor, id).unwrap();
        follow_up(&mut store, &reg, &r, "hypertension-followup", 10, &mut rng);
        residents.push(id);
    }
    let uploaded = store.outbox_status().unwrap().pending as usize;
    assert_eq!(uploaded, 6 + 3 + 3 + 3);

    // Up to the hub with the real uploader.
    let cfg = sync_support::sync_config(&platform.url(), &platform.tokens[0]);
    let mut up = Uploader::new(cfg.clone(), Arc::new(Registry::embedded()), Actor::new("sync")).unwrap();
    let report = up.run(&mut store);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.sent, uploaded);

    // The originals: each resident and the records that went up.
    let sent_uuids: Vec<String> = {
        let mut v = Vec::new();
        for id in &residents {
            for s in store.records_of(&actor, *id).unwrap() {
                let rec = store.record(&actor, s.id).unwrap();
                if rec.author == "li" {
                    v.push(rec.uuid);
                }
            }
        }
        v
    };
    assert_eq!(sent_uuids.len(), uploaded);
    let keys: Vec<(String, String)> = residents
        .iter()
        .map(|id| {
            let r = store.resident(&actor, *id).unwrap();
            (r.uuid, r.record_no)
        })
        .collect();
    let originals: Vec<(Snapshot, Vec<String>)> = keys
        .iter()
        .map(|(uuid, _)| snapshot(&store, uuid, Some(&sent_uuids)))
        .collect();
    drop(store);

    // Back down through the FHIR search API, written both ways.
    let client = Client::new(&cfg).unwrap();
    let resources = read_back(&client, &cfg.identifiers, &keys);
    let qrs = resources
        .iter()
        .filter(|r| r["resourceType"] == "QuestionnaireResponse")
        .count();
    assert_eq!(qrs, uploaded);
    assert!(resources.iter().any(|r| r["resourceType"] == "Observation"));
    let ndjson = tmp.path().join("export.ndjson");
    let bundle = tmp.path().join("export.json");
    write_ndjson(&ndjson, &resources);
    write_bundle(&bundle, &resources, "searchset");

    let check = |dir: &Path, file: &Path| {
        // A dry run checks and writes nothing.
        let dry = import(dir, file, &["--dry-run", "--lang", "en"]);
        ok(&dry);
        assert!(text(&dry).0.contains("would add 9 residents"), "{}", text(&dry).0);
        let first = import(dir, file, &["--lang", "en"]);
        ok(&first);
        let (out, _) = text(&first);
        assert!(
            out.contains(&format!(
                "Imported 9 new residents (0 already here) and {uploaded} new records (0 already here)"
            )),
            "{out}"
        );
        let store = open_store(dir);
        for ((uuid, _), (want, programmes)) in keys.iter().zip(&originals) {
            let (got, got_programmes) = snapshot(&store, uuid, None);
            assert_eq!(&got, want);
            // Programmes follow the imported records' forms (the demo's own
            // records stayed at the clinic).
            let mut expected: Vec<String> = got
                .records
                .iter()
                .filter_map(|r| reg.get(&r.1).and_then(|d| d.programme).map(|p| p.key().to_string()))
                .collect();
            expected.sort();
            expected.dedup();
            assert_eq!(got_programmes, expected);
            assert!(expected.iter().all(|p| programmes.contains(p)));
            let id = store.resident_by_uuid(uuid).unwrap().unwrap();
            assert!(store.patient_state(id).unwrap().from_platform);
        }
        // Final, never uploaded again, every creation audited by the doctor.
        let status = store.outbox_status().unwrap();
        assert_eq!((status.pending, status.failed, status.sent), (0, 0, 0));
        assert_eq!(store.record_count().unwrap(), (0, uploaded as i64));
        assert_eq!(count_import_audits(&store), (9, uploaded));
        assert_eq!(store.verify_audit().unwrap(), None);
        drop(store);
        let sync = run_jkda_input(
            dir,
            &["--user", "li", "--lang", "en", "sync", "--status", "--json"],
            &format!("{DOCTOR_PW}\n"),
        );
        let json: Value = serde_json::from_slice(&sync.stdout).unwrap_or_else(|_| panic!("{:?}", text(&sync)));
        assert_eq!(json["pending"], 0, "{json}");

        // Again, either format: nothing new.
        for again in [&ndjson, &bundle] {
            let second = import(dir, again, &["--lang", "en"]);
            ok(&second);
            assert!(
                text(&second).0.contains(&format!(
                    "Imported 0 new residents (9 already here) and 0 new records ({uploaded} already here)"
                )),
                "{}",
                text(&second).0
            );
        }
        let store = open_store(dir);
        assert_eq!(store.record_count().unwrap(), (0, uploaded as i64));
        assert_eq!(count_import_audits(&store), (9, uploaded));
        store
    };

    let from_ndjson = tmp.path().join("fresh-ndjson");
    std::fs::create_dir(&from_ndjson).unwrap();
    install_empty(&from_ndjson);
    let mut store = check(&from_ndjson, &ndjson);
    // The imported record numbers share this site's prefix: registering a
    // new resident afterwards must not take one of them.
    let site: SiteConfig = store.site().unwrap().unwrap();
    let new = store.create_resident(&doctor(), &site).unwrap();
    assert!(keys.iter().all(|(_, no)| *no != new.record_no), "{}", new.record_no);
    drop(store);

    let from_bundle = tmp.path().join("fresh-bundle");
    std::fs::create_dir(&from_bundle).unwrap();
    install_empty(&from_bundle);
    drop(check(&from_bundle, &bundle));
}

/// A synthetic resident and a complete hypertension follow-up for them, as
/// jkda's own mapping writes them.
struct Synthetic {
    reg: Registry,
    ids: Identifiers,
    rng: StdRng,
    n: u32,
}

impl Synthetic {
    fn new() -> Synthetic {
        Synthetic {
            reg: Registry::embedded(),
            ids: Identifiers::default(),
            rng: StdRng::seed_from_u64(5),
            n: 0,
        }
    }

    fn resident(&mut self) -> Resident {
        self.n += 1;
        let birth = chrono::NaiveDate::from_ymd_opt(1960, 5, self.n).unwrap();
        Resident {
            id: 0,
            uuid: uuid::Uuid::now_v7().to_string(),
            record_no: format!("220602101101{:05}", 90000 + self.n),
            status: "active".into(),
            name: Some(format!("测试{}", self.n)),
            sex: Some("1".into()),
            birth_date: Some(birth.format("%Y-%m-%d").to_string()),
            id_number: Some(id_number("220602", birth, true, &mut self.rng)),
            phone: None,
            address: Some("西河村一组".into()),
            village: Some("西河村".into()),
            programmes: Vec::new(),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn patient(&self, r: &Resident) -> Value {
        patient(r, &self.ids).0
    }

    fn response(&mut self, r: &Resident, edit: impl FnOnce(&mut Answers)) -> Value {
        let def = self.reg.get("hypertension-followup").unwrap();
        let today = chrono::Local::now().date_naive();
        let date = today - chrono::Duration::days(30);
        let mut a = Answers::new();
        a.set_text("visit_date", &date.format("%Y-%m-%d").to_string());
        a.set_text("visit_method", "1");
        a.set_codes("symptoms", vec!["1".into()]);
        a.set_text("bp.systolic", "142");
        a.set_text("bp.diastolic", "88");
        a.set_text(
            "next_visit_date",
            &(date + chrono::Duration::days(14)).format("%Y-%m-%d").to_string(),
        );
        let ctx = ctx_of(r, today);
        complete_required(def, &mut a, &ctx, date, &mut self.rng);
        edit(&mut a);
        let record = Record {
            id: 0,
            uuid: uuid::Uuid::now_v7().to_string(),
            resident_id: 0,
            form_id: def.id.clone(),
            form_version: def.version.clone(),
            status: RecordStatus::Final,
            answers: a,
            record_date: Some(date.format("%Y-%m-%d").to_string()),
            focus: None,
            author: "wang".into(),
            created_at: String::new(),
            updated_at: String::new(),
            finalized_at: Some("2026-01-05T10:00:00.000+08:00".into()),
            revision: 1,
        };
        let input = RecordInput {
            record: &record,
            resident: r,
            def,
            ids: &self.ids,
        };
        questionnaire_response(&input).0
    }
}

fn nothing_written(dir: &Path) {
    let store = open_store(dir);
    assert_eq!(store.resident_count().unwrap(), 0);
    assert_eq!(store.record_count().unwrap(), (0, 0));
    assert_eq!(count_import_audits(&store), (0, 0));
}

#[test]
fn every_bad_line_is_reported_with_its_number_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("clinic");
    std::fs::create_dir(&dir).unwrap();
    install_empty(&dir);
    let mut s = Synthetic::new();
    let good = s.resident();
    let mut bad_id = s.resident();
    let id = bad_id.id_number.clone().unwrap();
    let last = if id.ends_with('0') { '1' } else { '0' };
    bad_id.id_number = Some(format!("{}{last}", &id[..17]));
    let stranger = s.resident();
    let mut unknown_version = s.response(&good, |_| {});
    let q = unknown_version["questionnaire"].as_str().unwrap().to_string();
    let (url, _) = q.split_once('|').unwrap();
    unknown_version["questionnaire"] = json!(format!("{url}|9.9"));
    let lines = [
        s.patient(&good).to_string(),                                        // 1 good
        "{\"resourceType\": \"Patient\", \"id\": ".to_string(),              // 2 not JSON
        s.patient(&bad_id).to_string(),                                      // 3 bad ID number
        s.response(&stranger, |_| {}).to_string(),                           // 4 unknown subject
        unknown_version.to_string(),                                         // 5 unknown form version
        s.response(&good, |a| a.set_text("bp.systolic", "999")).to_string(), // 6 refused value
        s.response(&good, |_| {}).to_string(),                               // 7 good
    ];
    let file = tmp.path().join("bad.ndjson");
    std::fs::write(&file, lines.join("\n")).unwrap();

    let out = import(&dir, &file, &["--lang", "en"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    let (_, err) = text(&out);
    for n in 2..=6 {
        assert!(err.contains(&format!("line {n}: ")), "line {n} not reported:\n{err}");
    }
    assert!(!err.contains("line 1: ") && !err.contains("line 7: "), "{err}");
    assert!(err.contains("line 2: not valid JSON (broken near column"), "{err}");
    assert!(
        err.contains("line 3: ID number: The ID card number's check character is wrong"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "line 4: its resident Patient/{} is neither in the file nor here",
            stranger.uuid
        )),
        "{err}"
    );
    assert!(
        err.contains("line 5: form hypertension-followup version 9.9 is not available here"),
        "{err}"
    );
    assert!(err.contains("line 6: the form's checks fail: "), "{err}");
    assert!(err.contains("5 problem(s): nothing was imported"), "{err}");
    // Resident data stays out of the report: no names, no ID numbers.
    assert!(!err.contains("测试") && !err.contains(&id[..17]), "{err}");
    nothing_written(&dir);

    // The default language reports in Chinese.
    let zh = import(&dir, &file, &[]);
    assert_eq!(zh.status.code(), Some(1));
    let (_, err) = text(&zh);
    assert!(
        err.contains("第 2 行：") && err.contains("第 6 行：") && err.contains("未导入任何内容"),
        "{err}"
    );
    nothing_written(&dir);

    // The good lines alone go in.
    let fine = tmp.path().join("good.ndjson");
    std::fs::write(&fine, format!("{}\n{}\n", lines[6], lines[0])).unwrap();
    let out = import(&dir, &fine, &["--lang", "en"]);
    ok(&out);
    let store = open_store(&dir);
    assert_eq!(store.resident_count().unwrap(), 1);
    assert_eq!(store.record_count().unwrap(), (0, 1));
    assert_eq!(store.outbox_status().unwrap().pending, 0);
    let rid = store.resident_by_uuid(&good.uuid).unwrap().unwrap();
    assert_eq!(
        store.resident(&doctor(), rid).unwrap().programmes,
        vec!["hypertension".to_string()]
    );
}

#[test]
fn bundle_entries_are_reported_by_index_and_encounters_must_match_their_response() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("clinic");
    std::fs::create_dir(&dir).unwrap();
    install_empty(&dir);
    let mut s = Synthetic::new();
    let a = s.resident();
    let b = s.resident();
    let qr = s.response(&a, |_| {});
    let record_id = qr["id"].as_str().unwrap().to_string();
    // An Encounter (the record's id) whose subject is someone else.
    let encounter = json!({
        "resourceType": "Encounter", "id": record_id, "status": "finished",
        "class": {"code": "AMB"}, "subject": {"reference": format!("Patient/{}", b.uuid)},
    });
    let bundle = json!({
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            {"resource": s.patient(&a), "request": {"method": "PUT", "url": format!("Patient/{}", a.uuid)}},
            {"resource": s.patient(&b)},
            {"resource": qr},
            {"resource": encounter},
            {"resource": {"resourceType": "Condition", "id": "c1"}},
            {"fullUrl": "nothing"},
        ]
    });
    let file = tmp.path().join("bundle.json");
    std::fs::write(&file, bundle.to_string()).unwrap();
    let out = import(&dir, &file, &["--lang", "en"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    let (_, err) = text(&out);
    assert!(err.contains("entry[3]: its resident Patient/"), "{err}");
    assert!(err.contains("entry[4]: Condition resources are not imported"), "{err}");
    assert!(err.contains("entry[5]: the Bundle entry has no resource"), "{err}");
    assert!(!err.contains("entry[0]") && !err.contains("entry[2]"), "{err}");
    nothing_written(&dir);
}

#[test]
fn usage_and_io_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("clinic");
    std::fs::create_dir(&dir).unwrap();
    install_empty(&dir);
    let missing: PathBuf = tmp.path().join("no-such-file.ndjson");
    let out = import(&dir, &missing, &["--lang", "en"]);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    assert!(text(&out).1.contains("Cannot read"), "{:?}", text(&out));
    // A key file opens the database but names no person: refused.
    let file = tmp.path().join("empty.ndjson");
    std::fs::write(&file, "").unwrap();
    drop(open_store(&dir));
    let key = key_path(&dir);
    let out = run_jkda_input(
        &dir,
        &[
            "--key-file",
            key.to_str().unwrap(),
            "--lang",
            "en",
            "import",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    assert!(text(&out).1.contains("needs a login"), "{:?}", text(&out));
    // Over the size limit: refused before reading (a sparse file costs no disk).
    let huge = tmp.path().join("huge.ndjson");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(jkda::import::parse::MAX_FILE_BYTES + 1)
        .unwrap();
    let out = import(&dir, &huge, &["--lang", "en"]);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    assert!(
        text(&out).1.contains("over the import limit of 512 MB"),
        "{:?}",
        text(&out)
    );
    // An empty file is nothing to import.
    let out = import(&dir, &file, &["--lang", "en"]);
    ok(&out);
    assert!(text(&out).0.contains("Imported 0 new residents"), "{:?}", text(&out));
}
