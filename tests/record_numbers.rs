//! Issue 14: health-record numbers that never collide across the PCs of one
//! site, and linking a resident the platform already has. Real hub on
//! 127.0.0.1, real SQLite stores, the real uploader.

mod common;
mod sync_support;

use jkda::fhir::Identifiers;
use jkda::store::serials::is_provisional;
use jkda::sync::{Client, Uploader};
use std::collections::HashSet;
use sync_support::{sync_config, wait_out_backoff, Clinic, Platform};

fn sync(clinic: &mut Clinic, url: &str, token: &str) -> jkda::sync::RunReport {
    let mut up = Uploader::new(sync_config(url, token), clinic.registry.clone(), clinic.actor.clone()).unwrap();
    let report = up.run(&mut clinic.store);
    assert!(report.numbers_error.is_none(), "{:?}", report.numbers_error);
    report
}

fn numbers(clinic: &Clinic) -> Vec<String> {
    clinic
        .sql()
        .prepare("SELECT record_no FROM residents ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn number_of(clinic: &Clinic, resident: i64) -> String {
    clinic
        .sql()
        .query_row("SELECT record_no FROM residents WHERE id = ?1", [resident], |r| {
            r.get(0)
        })
        .unwrap()
}

/// Record numbers the hub's live Patients hold, with how many hold each.
fn hub_numbers(platform: &Platform) -> Vec<(String, i64)> {
    platform
        .conn()
        .prepare(
            "SELECT i.value, count(*) FROM identifiers i
             JOIN resources r ON r.type = 'Patient' AND r.id = i.patient AND r.deleted = 0
             WHERE i.system = ?1 GROUP BY i.value",
        )
        .unwrap()
        .query_map([Identifiers::default().record_no], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn three_installations_registering_offline_never_share_a_number_and_a_person_twice_is_linked() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (url, token) = (platform.url(), platform.tokens[0].clone());
    // Three PCs of one township centre: one site, one site code.
    let mut pcs: Vec<Clinic> = ["a", "b", "c"]
        .iter()
        .map(|name| Clinic::open(dir.path(), name, "101"))
        .collect();
    let mut residents: Vec<Vec<i64>> = Vec::new();
    for (i, pc) in pcs.iter_mut().enumerate() {
        // Set up to sync, never synced yet, offline: provisional numbers.
        pc.store.use_platform_numbers().unwrap();
        let ids: Vec<i64> = (0..3).map(|n| pc.register(10 * i + n).0).collect();
        residents.push(ids);
    }
    // The same person registered on PC a and PC b (same ID number).
    let twice_a = pcs[0].register(100).0;
    let twice_b = pcs[1].register(100).0;
    for pc in &pcs {
        for n in numbers(pc) {
            assert!(is_provisional(&n), "{n} should be provisional before the first sync");
        }
    }
    assert!(pcs[0].store.has_provisional_number(twice_a).unwrap());

    for pc in pcs.iter_mut() {
        let report = sync(pc, &url, &token);
        assert_eq!(report.numbers.claimed, 1);
        assert_eq!(report.numbers.provisional, 0);
    }
    // Every number is final now and no two residents share one, across PCs.
    let mut seen = HashSet::new();
    for pc in &pcs {
        for n in numbers(pc) {
            assert!(!is_provisional(&n), "{n}");
            assert!(n.starts_with("220602101101"), "{n}");
            assert!(seen.insert(n.clone()), "{n} given twice");
        }
        assert!(pc.store.provisional_residents().unwrap().is_empty());
    }
    // The old number is kept in the history.
    let changes = pcs[0].store.number_changes(&pcs[0].actor, residents[0][0]).unwrap();
    assert_eq!(changes.len(), 1);
    assert!(is_provisional(&changes[0].old_record_no));
    assert_eq!(changes[0].reason, "provisional");

    // PC b's copy of the person was refused (registered by PC a first) and
    // is offered for linking with the platform's record number.
    let refusals = pcs[1].store.registration_refusals().unwrap();
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].resident_id, twice_b);
    assert!(refusals[0].same);
    let a_number = number_of(&pcs[0], twice_a);
    let failed = pcs[1].store.outbox_rows(&["failed"], 10).unwrap();
    let shown = jkda::sync::stored_message(failed[0].last_error.as_deref().unwrap());
    assert_eq!(shown.key, "sync.err_registered_same");
    let text = jkda::i18n::I18n::new(jkda::i18n::Lang::En).msg(&shown);
    assert!(text.contains(&a_number) && text.contains("site s1"), "{text}");

    // Link it: PC b's resident becomes the platform's Patient.
    let cfg = sync_config(&url, &token);
    let client = Client::new(&cfg).unwrap();
    let patient = jkda::sync::link::find_patient(&client, &cfg, &a_number)
        .unwrap()
        .unwrap();
    assert_eq!(format!("Patient/{}", patient.id), refusals[0].patient);
    let b = &mut pcs[1];
    let kept_name: String = b
        .sql()
        .query_row("SELECT name FROM residents WHERE id = ?1", [twice_b], |r| r.get(0))
        .unwrap();
    let holder = b.store.link_resident(&b.actor, twice_b, &patient).unwrap();
    assert_eq!(holder, twice_b);
    assert_eq!(number_of(b, twice_b), a_number);
    let history = b.store.link_history(&b.actor, twice_b).unwrap();
    assert_eq!(history.len(), 1);
    assert!(history[0].2.contains(&kept_name), "what was entered here is kept");
    wait_out_backoff();
    let report = sync(b, &url, &token);
    assert_eq!(report.status.failed, 0);
    assert_eq!(report.status.pending, 0);
    // The records of PC b's copy are on the platform under PC a's Patient.
    let subjects: i64 = platform
        .conn()
        .query_row(
            "SELECT count(*) FROM resources WHERE type = 'QuestionnaireResponse' AND subject = ?1",
            [&patient.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(subjects, 2);
    // One Patient per person and number on the platform; nothing to resolve.
    let on_hub = hub_numbers(&platform);
    assert_eq!(on_hub.len(), 3 * 3 + 1);
    assert!(on_hub.iter().all(|(_, holders)| *holders == 1));
    assert!(jkda::hub::collisions::find(&platform.conn()).unwrap().is_empty());
    // Audited.
    let links: i64 = b
        .sql()
        .query_row("SELECT count(*) FROM audit WHERE action = 'link'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(links, 1);
}

#[test]
fn fetched_residents_never_break_registration_and_old_duplicates_are_renumbered() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (url, token) = (platform.url(), platform.tokens[0].clone());
    // Two PCs from before blocks: each counted serials on its own.
    let mut a = Clinic::open(dir.path(), "a", "101");
    let mut b = Clinic::open(dir.path(), "b", "101");
    let (first, _) = a.register(1);
    let (second, _) = a.register(2);
    assert_eq!(number_of(&a, first), "22060210110100001");
    assert_eq!(number_of(&a, second), "22060210110100002");
    sync(&mut a, &url, &token);
    // PC b registered someone else offline with the same first serial.
    let (own, _) = b.register(50);
    assert_eq!(number_of(&b, own), "22060210110100001");

    // Fetching a's first resident (number ...00001) does not fail: b's own
    // resident, not yet uploaded, makes room.
    let id_number: String = a
        .sql()
        .query_row("SELECT id_number FROM residents WHERE id = ?1", [first], |r| r.get(0))
        .unwrap();
    let cfg = sync_config(&url, &token);
    let client = Client::new(&cfg).unwrap();
    let actor = b.actor.clone();
    let fetched = jkda::sync::fetch_resident(&client, &cfg, &mut b.store, &b.registry, &actor, &id_number, 20)
        .unwrap()
        .expect("on the platform");
    assert_eq!(number_of(&b, fetched.resident_id), "22060210110100001");
    assert_ne!(number_of(&b, own), "22060210110100001");
    let changes = b.store.number_changes(&b.actor, own).unwrap();
    assert_eq!(changes[0].reason, "fetched");

    // Registering after the fetch works (the counter skips the fetched number)…
    let (later, _) = b.register(51);
    // …and lands on a's second number, which b cannot know: the platform
    // refuses it at upload, and the sync renumbers it from a claimed block.
    assert_eq!(number_of(&b, later), "22060210110100002");
    let report = sync(&mut b, &url, &token);
    assert_eq!(
        report.numbers.renumbered, 2,
        "the provisional one, then the refused one"
    );
    let renumbered = number_of(&b, later);
    assert_ne!(renumbered, "22060210110100002");
    assert_eq!(b.store.number_changes(&b.actor, later).unwrap()[0].reason, "duplicate");
    wait_out_backoff();
    let report = sync(&mut b, &url, &token);
    assert_eq!((report.status.pending, report.status.failed), (0, 0));
    let all: Vec<String> = numbers(&b);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len());
    assert!(all.iter().all(|n| !is_provisional(n)));
    assert!(hub_numbers(&platform).iter().all(|(_, holders)| *holders == 1));
}

#[test]
fn a_serial_block_goes_to_the_first_installation_that_asks() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let url = platform.url();
    let mut a = Clinic::open(dir.path(), "a", "101");
    let mut b = Clinic::open(dir.path(), "b", "101");
    let a_client = Client::new(&sync_config(&url, &platform.tokens[0])).unwrap();
    let b_client = Client::new(&sync_config(&url, &platform.tokens[1])).unwrap();
    let prefix = "220602101101";
    assert_eq!(jkda::sync::serials::claim(&a_client, &a.store, prefix, 150).unwrap(), 2);
    // b asks for the same blocks: the platform answers with a's claims.
    assert_eq!(jkda::sync::serials::claim(&b_client, &b.store, prefix, 1).unwrap(), 1);
    let block: i64 = b
        .sql()
        .query_row("SELECT block FROM serial_blocks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(block, 2);
    // Asking again for a block it has (an answer lost) keeps it: its author.
    a.store.passed_block(prefix, -1).unwrap();
    assert_eq!(jkda::sync::serials::claim(&a_client, &a.store, prefix, 250).unwrap(), 1);
    let blocks: Vec<i64> = a
        .sql()
        .prepare("SELECT block FROM serial_blocks ORDER BY block")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(blocks, vec![0, 1, 3]);
    let basics: i64 = platform
        .conn()
        .query_row("SELECT count(*) FROM resources WHERE type = 'Basic'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(basics, 4);
    a.store.use_platform_numbers().unwrap();
    let r = a.register(1).0;
    assert_eq!(number_of(&a, r), "22060210110100001");
    let _ = &mut b;
}

#[test]
fn the_collision_report_lists_patients_an_older_hub_accepted_twice() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let conn = platform.conn();
    let system = Identifiers::default().record_no;
    // Written as a hub from before the duplicate rule did.
    for (id, site, at) in [
        ("p-old", "s1", "2026-01-02T00:00:00Z"),
        ("p-new", "s2", "2026-03-04T00:00:00Z"),
    ] {
        let content = serde_json::json!({"resourceType": "Patient", "id": id,
            "identifier": [{"system": system, "value": "22060210110100007"}]});
        conn.execute(
            "INSERT INTO resources (type, id, version, site, content, created_at, last_updated)
             VALUES ('Patient', ?1, 1, ?2, ?3, ?4, ?4)",
            rusqlite::params![id, site, content.to_string(), at],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO identifiers (system, value, patient) VALUES (?1, '22060210110100007', ?2)",
            rusqlite::params![system, id],
        )
        .unwrap();
    }
    let found = jkda::hub::collisions::find(&conn).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, "record_no");
    let holders: Vec<&str> = found[0].holders.iter().map(|h| h.patient.as_str()).collect();
    assert_eq!(holders, ["p-old", "p-new"]);
    let text = jkda::hub::collisions::render(&found, &jkda::i18n::I18n::new(jkda::i18n::Lang::En));
    assert!(
        text.contains("22060210110100007") && text.contains("Patient/p-old  site s1"),
        "{text}"
    );
}

#[test]
fn linking_to_a_patient_already_fetched_moves_the_records_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (url, token) = (platform.url(), platform.tokens[0].clone());
    let mut a = Clinic::open(dir.path(), "a", "101");
    let mut b = Clinic::open(dir.path(), "b", "101");
    let (on_a, _) = a.register(3);
    sync(&mut a, &url, &token);
    // PC b registered the same person offline, then fetched them too.
    let (on_b, _) = b.register(3);
    let id_number: String = a
        .sql()
        .query_row("SELECT id_number FROM residents WHERE id = ?1", [on_a], |r| r.get(0))
        .unwrap();
    let cfg = sync_config(&url, &token);
    let client = Client::new(&cfg).unwrap();
    let actor = b.actor.clone();
    let fetched = jkda::sync::fetch_resident(&client, &cfg, &mut b.store, &b.registry, &actor, &id_number, 20)
        .unwrap()
        .unwrap()
        .resident_id;
    sync(&mut b, &url, &token);
    let refusal = &b.store.registration_refusals().unwrap()[0];
    assert_eq!(refusal.resident_id, on_b);
    assert!(refusal.same);

    let target = jkda::sync::link::link_to(&client, &cfg, &mut b.store, &actor, on_b, &refusal.patient).unwrap();
    assert_eq!(target, number_of(&a, on_a));
    let (status, records): (String, i64) = b
        .sql()
        .query_row(
            "SELECT status, (SELECT count(*) FROM records WHERE resident_id = ?1) FROM residents WHERE id = ?1",
            [on_b],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), records), ("inactive", 0));
    let moved: i64 = b
        .sql()
        .query_row("SELECT count(*) FROM records WHERE resident_id = ?1", [fetched], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(moved, 2, "the fetched registration and the one made here");
    wait_out_backoff();
    let report = sync(&mut b, &url, &token);
    assert_eq!((report.status.pending, report.status.failed), (0, 0));
    let uuid: String = a
        .sql()
        .query_row("SELECT uuid FROM residents WHERE id = ?1", [on_a], |r| r.get(0))
        .unwrap();
    let on_platform: i64 = platform
        .conn()
        .query_row(
            "SELECT count(*) FROM resources WHERE type = 'QuestionnaireResponse' AND subject = ?1",
            [&uuid],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(on_platform, 2);
    assert_eq!(jkda::store::Store::resident_count(&b.store).unwrap(), 2);
}

#[test]
fn jkda_residents_link_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (url, token) = (platform.url(), platform.tokens[0].clone());
    let mut a = Clinic::open(dir.path(), "a", "101");
    let (on_a, _) = a.register(4);
    sync(&mut a, &url, &token);

    let data = dir.path().join("clinic");
    let out = common::run_jkda_input(&data, &["init", "--no-encrypt"], &format!("{}\n", common::ADMIN_PW));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(
        data.join("config.toml"),
        format!("server_url = \"{url}\"\nsite_token = \"{token}\"\n"),
    )
    .unwrap();
    let mut pc = Clinic::open_path(jkda::paths::db_path(&data), "101");
    let (same, _) = pc.register(4);
    drop(pc);
    // `jkda sync` meets the refusal and says how to link.
    let out = common::run_jkda(&data, &["--lang", "en", "sync"]);
    assert!(!out.status.success());
    let a_number = number_of(&a, on_a);
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&a_number) && said.contains(&format!("jkda residents link {same} Patient/")),
        "{said}"
    );
    let out = common::run_jkda(
        &data,
        &["--lang", "en", "residents", "link", &same.to_string(), &a_number],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        said.contains(&format!("now the platform's record {a_number}")),
        "{said}"
    );
    let out = common::run_jkda(&data, &["sync"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Nothing left for the bureau to resolve.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jkda-hub"))
        .args(["--db", platform.db.to_str().unwrap(), "collisions", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
}

#[test]
fn a_conditional_create_of_a_patient_finds_the_one_there() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let client = Client::new(&sync_config(&platform.url(), &platform.tokens[0])).unwrap();
    let system = Identifiers::default().record_no;
    let patient = serde_json::json!({"resourceType": "Patient",
        "identifier": [{"system": system, "value": "22060210110100009"}]});
    let condition = format!(
        "identifier={}",
        jkda::sync::client::encode(&format!("{system}|22060210110100009"))
    );
    let (status, first) = client.create("Patient", &patient, Some(&condition)).unwrap();
    assert_eq!(status, 201);
    let (status, again) = client.create("Patient", &patient, Some(&condition)).unwrap();
    assert_eq!((status, &again["id"]), (200, &first["id"]));
    assert_eq!(jkda::hub::storage::count(&platform.conn(), "Patient").unwrap(), 1);
    // A condition the hub cannot evaluate is refused, never ignored.
    assert!(client.create("Patient", &patient, Some("name=x")).is_err());
}
