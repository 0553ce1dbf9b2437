//! Upload against the real hub on 127.0.0.1:0: every finalized record
//! arrives exactly once whatever the network and the server do (issue 4).

mod sync_support;

use jkda::fhir::{self, Request};
use jkda::i18n::{I18n, Lang};
use jkda::store::{Actor, Save};
use jkda::sync::{Client, Lookup, SyncError, Uploader};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use sync_support::*;

fn uploader(clinic: &Clinic, url: &str, token: &str) -> Uploader {
    Uploader::new(sync_config(url, token), clinic.registry.clone(), Actor::new("sync")).unwrap()
}

#[test]
fn a_thousand_records_arrive_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(250, 3); // 250 registrations + 750 follow-ups
    assert_eq!(clinic.store.outbox_status().unwrap().pending, 1000);
    let mut up = uploader(&clinic, &platform.url(), &platform.tokens[0]);
    let report = up.run(&mut clinic.store);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.sent, 1000);
    assert_eq!(report.requests, 10, "100 records per Bundle");
    assert_eq!(assert_hub_matches(&clinic, &platform), 1000);
    assert_eq!(extra_versions(&platform), 0);
    let status = clinic.store.outbox_status().unwrap();
    assert_eq!((status.pending, status.sent), (0, 1000));
    assert!(status.last_success.is_some() && status.last_error.is_none());
    // A second run has nothing to do and sends nothing.
    let again = up.run(&mut clinic.store);
    assert_eq!((again.sent, again.requests), (0, 0));
    // The access log has no personal data and no query values.
    let log = platform.log_text();
    assert!(log.contains("POST / 200") && log.contains("site=s1"), "{log}");
    assert!(!log.contains("测试") && !log.contains("220602"), "{log}");
}

#[test]
fn hub_crashing_mid_batch_and_restarting_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(60, 4); // 300 records
    let mut cfg = sync_config(&platform.url(), &platform.tokens[0]);
    cfg.request_timeout = Duration::from_secs(2);
    let mut up = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync")).unwrap();
    // The second batch stops after 200 of its writes, uncommitted, as a crash would.
    // (The first batch's drill is never reached: it goes through.)
    platform.faults.abort_next(usize::MAX);
    platform.faults.abort_next(200);
    let first = up.run(&mut clinic.store);
    assert_eq!(first.sent, 100);
    assert!(
        first.error.as_ref().is_some_and(|e| e.is_retryable()),
        "{:?}",
        first.error
    );
    assert_eq!(
        jkda::hub::storage::count(&platform.conn(), "QuestionnaireResponse").unwrap(),
        100,
        "nothing of batch two"
    );
    // The hub goes down completely, then comes back on the same address.
    let addr = platform.addr();
    platform.stop();
    std::thread::sleep(Duration::from_millis(100));
    let down = up.run(&mut clinic.store);
    // A pooled connection may still be open to a hub that no longer answers.
    assert!(
        matches!(down.error, Some(SyncError::Unreachable(_) | SyncError::Timeout)),
        "{:?}",
        down.error
    );
    assert!(
        clinic.store.outbox_status().unwrap().pending > 0,
        "nothing may count as sent while the hub is down"
    );
    platform.restart(&addr.to_string());
    let reports = upload_until_done(&mut up, &mut clinic.store, 50);
    assert_eq!(reports.last().unwrap().status.pending, 0);
    assert_eq!(assert_hub_matches(&clinic, &platform), 300);
    assert_eq!(extra_versions(&platform), 0);
}

#[test]
fn hub_process_killed_during_upload_and_restarted() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.sqlite");
    let token = {
        let conn = jkda::hub::storage::open(&db).unwrap();
        jkda::hub::storage::add_site(&conn, "s1", "site").unwrap()
    };
    let start = |listen: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jkda-hub"))
            .args(["--db", db.to_str().unwrap(), "serve", "--listen", listen])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().rsplit(' ').next().unwrap().to_string();
        (child, url)
    };
    let (mut child, url) = start("127.0.0.1:0");
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(100, 4); // 500 records
    let mut cfg = sync_config(&url, &token);
    cfg.batch_size = 250;
    let mut up = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync")).unwrap();
    // Kill the hub as soon as it logs the first request: the upload is under way.
    let stderr = child.stderr.take().unwrap();
    let path = clinic.path.clone();
    let uploading = std::thread::spawn(move || {
        let mut store = jkda::store::Store::open(&path).unwrap();
        up.run(&mut store)
    });
    let mut first = String::new();
    std::io::BufReader::new(stderr).read_line(&mut first).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let report = uploading.join().unwrap();
    assert!(report.sent < 500, "the kill came too late to test anything");
    let listen = url.trim_start_matches("http://").to_string();
    let (mut child, _) = start(&listen);
    let mut cfg = sync_config(&url, &token);
    cfg.batch_size = 250;
    let mut up = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync")).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let reports = upload_until_done(&mut up, &mut clinic.store, 50);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(reports.last().unwrap().status.pending, 0);
    let platform = Platform {
        hub: None,
        db,
        tokens: vec![token],
        faults: Default::default(),
        log: Default::default(),
    };
    assert_eq!(assert_hub_matches(&clinic, &platform), 500);
    assert_eq!(extra_versions(&platform), 0);
}

#[test]
fn answer_lost_after_commit_resend_does_not_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let relay = Relay::start(platform.addr());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(20, 2); // 60 records
    let mut up = uploader(&clinic, &relay.url(), &platform.tokens[0]);
    relay.drop_next_answers(1);
    let first = up.run(&mut clinic.store);
    assert!(
        matches!(first.error, Some(SyncError::Unreachable(_))),
        "{:?}",
        first.error
    );
    assert_eq!(first.sent, 0, "no answer, so nothing counts as sent");
    // The hub did commit: the records are there already.
    assert_eq!(
        jkda::hub::storage::count(&platform.conn(), "QuestionnaireResponse").unwrap(),
        60
    );
    let reports = upload_until_done(&mut up, &mut clinic.store, 50);
    assert_eq!(reports.last().unwrap().status.pending, 0);
    assert_eq!(assert_hub_matches(&clinic, &platform), 60);
    assert_eq!(extra_versions(&platform), 0, "the resend wrote nothing new");

    // An amendment (If-Match on the server version) whose answer is lost:
    // the resend meets 412, finds its own version there, and counts as sent.
    let record_id: i64 = clinic
        .sql()
        .query_row("SELECT max(id) FROM records", [], |r| r.get(0))
        .unwrap();
    let actor = clinic.actor.clone();
    let amended = clinic.store.amend(&actor, record_id).unwrap();
    let mut answers = amended.answers.clone();
    answers.set_text("bp.systolic", "128");
    let save = Save {
        answers,
        focus: None,
        record_date: amended.record_date.clone(),
        resident: None,
    };
    clinic.store.finalize(&actor, record_id, &save, None).unwrap();
    relay.drop_next_answers(1);
    let lost = up.run(&mut clinic.store);
    assert!(lost.error.is_some());
    let reports = upload_until_done(&mut up, &mut clinic.store, 50);
    let last = reports.last().unwrap();
    assert_eq!((last.status.pending, last.status.conflict), (0, 0));
    assert_eq!(assert_hub_matches(&clinic, &platform), 60);
    let uuid: String = clinic
        .sql()
        .query_row("SELECT uuid FROM records WHERE id = ?1", [record_id], |r| r.get(0))
        .unwrap();
    assert_eq!(
        jkda::hub::storage::version_count(&platform.conn(), "QuestionnaireResponse", &uuid).unwrap(),
        2
    );
}

#[test]
fn errors_500_429_and_slow_answers_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(10, 1); // 20 records
    let mut cfg = sync_config(&platform.url(), &platform.tokens[0]);
    cfg.request_timeout = Duration::from_millis(700);
    let mut up = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync")).unwrap();

    platform.faults.fail_next(500, 1);
    let r = up.run(&mut clinic.store);
    assert!(matches!(r.error, Some(SyncError::Server(500))), "{:?}", r.error);
    assert_eq!((r.sent, r.deferred), (0, 20));
    let status = clinic.store.outbox_status().unwrap();
    assert_eq!((status.pending, status.failed), (20, 0));
    assert_eq!(
        jkda::sync::stored_message(status.last_error.as_deref().unwrap()).key,
        "sync.err_server"
    );
    std::thread::sleep(Duration::from_millis(100));

    platform.faults.fail_next(429, 1);
    let r = up.run(&mut clinic.store);
    assert!(
        matches!(r.error, Some(SyncError::RateLimited(Some(_)))),
        "{:?}",
        r.error
    );
    // Retry-After: 1 is honoured (within the test's 80 ms cap).
    std::thread::sleep(Duration::from_millis(100));

    platform.faults.delay_next(Duration::from_millis(1500), 1);
    let r = up.run(&mut clinic.store);
    assert!(matches!(r.error, Some(SyncError::Timeout)), "{:?}", r.error);
    assert_eq!(clinic.store.outbox_status().unwrap().pending, 20);

    let reports = upload_until_done(&mut up, &mut clinic.store, 50);
    assert_eq!(reports.last().unwrap().status.pending, 0);
    assert_eq!(assert_hub_matches(&clinic, &platform), 20);
    assert_eq!(
        extra_versions(&platform),
        0,
        "the slow request committed once; the resend was a no-op"
    );
    assert!(clinic.store.outbox_status().unwrap().last_error.is_none());
    let attempts: i64 = clinic
        .sql()
        .query_row("SELECT max(attempts) FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert!(attempts >= 4, "each try is counted");
}

#[test]
fn a_wrong_token_changes_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(3, 1);
    let mut up = uploader(&clinic, &platform.url(), "not-the-token");
    let r = up.run(&mut clinic.store);
    assert!(matches!(r.error, Some(SyncError::Unauthorized(401))), "{:?}", r.error);
    let status = clinic.store.outbox_status().unwrap();
    assert_eq!((status.pending, status.failed, status.sent), (6, 0, 0));
    assert_eq!(
        jkda::sync::stored_message(status.last_error.as_deref().unwrap()).key,
        "sync.err_token"
    );
    assert_eq!(jkda::hub::storage::count(&platform.conn(), "Patient").unwrap(), 0);
    assert!(!platform.log_text().contains("not-the-token"));
}

#[test]
fn a_site_cannot_write_another_sites_resident() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut a = Clinic::open(dir.path(), "a", "101");
    a.fill(1, 1);
    let mut up = uploader(&a, &platform.url(), &platform.tokens[0]);
    assert_eq!(up.run(&mut a.store).sent, 2);
    // Site s2 tries to overwrite s1's Patient.
    let hub = platform.conn();
    let uuid: String = a
        .sql()
        .query_row("SELECT uuid FROM residents", [], |r| r.get(0))
        .unwrap();
    let mut p = jkda::hub::storage::read(&hub, "Patient", &uuid, None)
        .unwrap()
        .unwrap()
        .resource;
    p.0["name"] = serde_json::json!([{ "text": "改名" }]);
    let b = Client::new(&sync_config(&platform.url(), &platform.tokens[1])).unwrap();
    let e = b.transaction(&fhir::transaction(&[Request::put(p, None)])).unwrap_err();
    match e {
        SyncError::Refused { status: 403, reason } => assert!(reason.contains("belongs to site s1"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let stored = jkda::hub::storage::read(&hub, "Patient", &uuid, None).unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.resource.0["name"][0]["text"], "测试0");
}

#[test]
fn fetched_resident_is_followed_up_by_another_site() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut township = Clinic::open(dir.path(), "township", "101");
    township.fill(2, 2);
    assert_eq!(
        uploader(&township, &platform.url(), &platform.tokens[0])
            .run(&mut township.store)
            .sent,
        6
    );
    let id_number: String = township
        .sql()
        .query_row("SELECT id_number FROM residents ORDER BY id LIMIT 1", [], |r| r.get(0))
        .unwrap();

    let mut village = Clinic::open(dir.path(), "village", "102");
    let cfg = sync_config(&platform.url(), &platform.tokens[1]);
    let client = Client::new(&cfg).unwrap();
    let actor = village.actor.clone();
    let got = jkda::sync::fetch_resident(
        &client,
        &cfg,
        &mut village.store,
        &village.registry,
        &actor,
        &id_number,
        20,
    )
    .unwrap()
    .expect("found on the platform");
    assert_eq!((got.records, got.skipped), (3, 0));
    assert!(jkda::sync::fetch_resident(
        &client,
        &cfg,
        &mut village.store,
        &village.registry,
        &actor,
        "110101199001011234",
        20
    )
    .unwrap()
    .is_none());
    // The same person, the same id; no outbox rows for what came down.
    assert_eq!(village.store.outbox_status().unwrap().pending, 0);
    let found = village
        .store
        .residents_with_id_number(&Actor::new("test"), &id_number, None)
        .unwrap();
    assert_eq!(found.len(), 1);
    // A follow-up at the village goes up under the village's site, about the township's Patient.
    village.follow_up(got.resident_id, "hypertension-followup", 20);
    let r = uploader(&village, &platform.url(), &platform.tokens[1]).run(&mut village.store);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.sent, 1);
    let hub = platform.conn();
    let owner: String = hub
        .query_row("SELECT site FROM resources WHERE type = 'QuestionnaireResponse' ORDER BY created_at DESC, rowid DESC LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(owner, "s2");
    let patient_owner: String = hub
        .query_row(
            "SELECT site FROM resources WHERE type = 'Patient' AND version = 1 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(patient_owner, "s1");
    assert_eq!(
        extra_versions(&platform),
        0,
        "the village did not rewrite the township's Patient"
    );
}

#[test]
fn a_refused_record_is_flagged_with_the_reason_and_the_rest_go_through() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(5, 1);
    // One resident's birth date is not a date (a draft typed long ago, say).
    let bad: i64 = clinic
        .sql()
        .query_row("SELECT min(id) FROM residents", [], |r| r.get(0))
        .unwrap();
    clinic
        .sql()
        .execute("UPDATE residents SET birth_date = '1950-13-45' WHERE id = ?1", [bad])
        .unwrap();
    let mut up = uploader(&clinic, &platform.url(), &platform.tokens[0]);
    let r = up.run(&mut clinic.store);
    assert_eq!(r.sent, 8);
    assert_eq!(r.failed, 2);
    let failed = clinic.store.outbox_rows(&["failed"], 10).unwrap();
    assert_eq!(failed.len(), 2);
    let reason = jkda::sync::stored_message(failed[0].last_error.as_deref().unwrap());
    assert_eq!(reason.key, "sync.err_refused");
    assert!(
        failed
            .iter()
            .any(|f| f.last_error.as_deref().unwrap().contains("birthDate")),
        "{failed:?}"
    );
    // Corrected, then sent again.
    clinic
        .sql()
        .execute("UPDATE residents SET birth_date = '1950-12-15' WHERE id = ?1", [bad])
        .unwrap();
    assert_eq!(clinic.store.retry_failed().unwrap(), 2);
    let r = up.run(&mut clinic.store);
    assert_eq!((r.sent, r.failed), (2, 0));
    assert_eq!(assert_hub_matches(&clinic, &platform), 10);
}

#[test]
fn unreachable_cut_and_oversized_answers_keep_records_queued() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(3, 1);
    // Nothing listens on a port we just released.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let r = uploader(&clinic, &format!("http://{dead}"), "t").run(&mut clinic.store);
    assert!(matches!(r.error, Some(SyncError::Unreachable(_))), "{:?}", r.error);
    // An answer cut off mid-way, once the failed records are due again.
    wait_out_backoff();
    let relay = Relay::start(platform.addr());
    relay.cut_next_answers(1);
    let r = uploader(&clinic, &relay.url(), &platform.tokens[0]).run(&mut clinic.store);
    assert!(r.error.as_ref().is_some_and(|e| e.is_retryable()), "{:?}", r.error);
    // An answer larger than we accept.
    let mut cfg = sync_config(&platform.url(), &platform.tokens[0]);
    cfg.max_response = 64;
    wait_out_backoff();
    let r = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync"))
        .unwrap()
        .run(&mut clinic.store);
    assert!(matches!(r.error, Some(SyncError::BadResponse(_))), "{:?}", r.error);
    assert_eq!(clinic.store.outbox_status().unwrap().sent, 0);
    // Plain http to anything but this machine is refused before any traffic.
    let cfg = sync_config("http://city-platform.example:8080", "t");
    assert!(matches!(Client::new(&cfg), Err(SyncError::Config(_))));
    // And then everything arrives.
    wait_out_backoff();
    let reports = upload_until_done(
        &mut uploader(&clinic, &platform.url(), &platform.tokens[0]),
        &mut clinic.store,
        50,
    );
    assert_eq!(reports.last().unwrap().status.pending, 0);
    assert_eq!(assert_hub_matches(&clinic, &platform), 6);
    assert_eq!(extra_versions(&platform), 0);
}

#[test]
fn hub_speaks_fhir_for_reads_updates_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(1, 1);
    uploader(&clinic, &platform.url(), &platform.tokens[0]).run(&mut clinic.store);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let auth = format!("Bearer {}", platform.tokens[0]);
    let base = platform.url();
    let meta = agent
        .get(format!("{base}/metadata"))
        .call()
        .unwrap()
        .body_mut()
        .read_json::<serde_json::Value>()
        .unwrap();
    assert_eq!(meta["fhirVersion"], "4.0.1");
    let uuid: String = clinic
        .sql()
        .query_row("SELECT uuid FROM residents", [], |r| r.get(0))
        .unwrap();
    let mut resp = agent
        .get(format!("{base}/Patient/{uuid}"))
        .header("Authorization", &auth)
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("etag").unwrap(), "W/\"1\"");
    let mut p: serde_json::Value = resp.body_mut().read_json().unwrap();
    assert_eq!(p["meta"]["versionId"], "1");
    // Update with a stale If-Match: 412 with an OperationOutcome.
    p["active"] = serde_json::json!(false);
    let body = serde_json::to_vec(&p).unwrap();
    let put = |m: &str| {
        agent
            .put(format!("{base}/Patient/{uuid}"))
            .header("Authorization", &auth)
            .header("If-Match", m)
            .send(&body[..])
            .unwrap()
    };
    let mut stale = put("W/\"7\"");
    assert_eq!(stale.status(), 412);
    assert_eq!(
        stale.body_mut().read_json::<serde_json::Value>().unwrap()["resourceType"],
        "OperationOutcome"
    );
    let mut ok = put("W/\"1\"");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers().get("etag").unwrap(), "W/\"2\"");
    assert_eq!(
        ok.body_mut().read_json::<serde_json::Value>().unwrap()["meta"]["versionId"],
        "2"
    );
    // Search by identifier and by subject.
    let id_number: String = clinic
        .sql()
        .query_row("SELECT id_number FROM residents", [], |r| r.get(0))
        .unwrap();
    let found: serde_json::Value = agent
        .get(format!("{base}/Patient?identifier={id_number}"))
        .header("Authorization", &auth)
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(found["total"], 1);
    let qrs: serde_json::Value = agent
        .get(format!("{base}/QuestionnaireResponse?subject=Patient/{uuid}"))
        .header("Authorization", &auth)
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(qrs["total"], 2);
    // Malformed input gets an OperationOutcome and a clear status.
    for (body, status) in [
        (&b"{not json"[..], 400),
        (br#"{"resourceType":"Bundle","type":"batch"}"#, 400),
        (br#"{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"PUT","url":"Patient/x"},"resource":{"resourceType":"Observation","id":"x"}}]}"#, 400),
    ] {
        let mut r = agent.post(format!("{base}/")).header("Authorization", &auth).send(body).unwrap();
        assert_eq!(r.status(), status, "{}", String::from_utf8_lossy(body));
        assert_eq!(r.body_mut().read_json::<serde_json::Value>().unwrap()["resourceType"], "OperationOutcome");
    }
    // Too large: refused before it is read.
    let huge = vec![b' '; 17 << 20];
    let r = agent
        .post(format!("{base}/"))
        .header("Authorization", &auth)
        .send(&huge[..]);
    assert!(r.map(|r| r.status() == 413).unwrap_or(true));
    // The log never shows query values (the ID number searched for).
    let log = platform.log_text();
    assert!(log.contains("GET /Patient?identifier= 200"), "{log}");
    assert!(!log.contains(&id_number));
}

#[test]
fn the_uploader_thread_reports_and_stops() {
    use jkda::sync::{SyncCommand, SyncEvent};
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(2, 1);
    let (tx, rx) = std::sync::mpsc::channel();
    let path = clinic.path.clone();
    let handle = jkda::sync::spawn(
        Box::new(move || jkda::store::Store::open(&path)),
        sync_config(&platform.url(), &platform.tokens[0]),
        clinic.registry.clone(),
        Actor::new("sync"),
        move |ev| {
            let _ = tx.send(ev);
        },
    );
    // It runs at once on start.
    match rx.recv_timeout(Duration::from_secs(20)).unwrap() {
        SyncEvent::Ran {
            sent, status, error, ..
        } => {
            assert_eq!((sent, status.pending), (4, 0));
            assert!(error.is_none());
            assert!(status.last_success.is_some());
        }
        other => panic!("{other:?}"),
    }
    // A finalize elsewhere, then a nudge: it is sent without waiting for the idle interval.
    let rid: i64 = clinic
        .sql()
        .query_row("SELECT min(id) FROM residents", [], |r| r.get(0))
        .unwrap();
    clinic.follow_up(rid, "diabetes-followup", 9);
    handle.send(SyncCommand::Nudge);
    match rx.recv_timeout(Duration::from_secs(20)).unwrap() {
        SyncEvent::Ran { sent, .. } => assert_eq!(sent, 1),
        other => panic!("{other:?}"),
    }
    // A fetch of an unknown ID number answers None.
    handle.send(SyncCommand::Fetch(jkda::domain::Sensitive::new(
        "110101199001011234".into(),
    )));
    let fetched = (0..5).find_map(|_| match rx.recv_timeout(Duration::from_secs(20)).unwrap() {
        SyncEvent::Fetched { result, .. } => Some(result),
        _ => None,
    });
    assert_eq!(fetched, Some(Ok(None)));
    handle.stop();
    let last = rx.iter().last();
    assert_eq!(last, Some(SyncEvent::Stopped));
}

#[test]
fn without_configuration_the_thread_says_so_and_waits() {
    use jkda::sync::{SyncCommand, SyncConfig, SyncEvent};
    let dir = tempfile::tempdir().unwrap();
    let clinic = Clinic::open(dir.path(), "clinic", "101");
    let (tx, rx) = std::sync::mpsc::channel();
    let path = clinic.path.clone();
    let handle = jkda::sync::spawn(
        Box::new(move || jkda::store::Store::open(&path)),
        SyncConfig::default(),
        clinic.registry.clone(),
        Actor::new("sync"),
        move |ev| {
            let _ = tx.send(ev);
        },
    );
    match rx.recv_timeout(Duration::from_secs(20)).unwrap() {
        SyncEvent::Disabled(m) => assert_eq!(m.key, "sync.err_not_configured"),
        other => panic!("{other:?}"),
    }
    handle.send(SyncCommand::Nudge);
    handle.stop();
    assert_eq!(rx.iter().last(), Some(SyncEvent::Stopped));
}

#[test]
fn a_retry_time_set_by_a_wrong_clock_does_not_block_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(1, 1);
    // The PC's clock was years ahead when the last try was scheduled.
    clinic
        .sql()
        .execute(
            "UPDATE outbox SET next_attempt_at = '2099-01-01T00:00:00.000Z', attempts = 3",
            [],
        )
        .unwrap();
    let r = uploader(&clinic, &platform.url(), &platform.tokens[0]).run(&mut clinic.store);
    assert_eq!(r.sent, 2);
    assert_eq!(assert_hub_matches(&clinic, &platform), 2);
}

#[test]
fn tls_to_a_server_that_does_not_speak_it_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(1, 0);
    // https:// to the plain-HTTP hub: the handshake fails; nothing counts as sent.
    let url = format!("https://{}", platform.addr());
    let r = uploader(&clinic, &url, &platform.tokens[0]).run(&mut clinic.store);
    assert!(r.error.as_ref().is_some_and(|e| e.is_retryable()), "{:?}", r.error);
    assert_eq!(clinic.store.outbox_status().unwrap().pending, 1);
}

#[test]
fn a_name_that_does_not_resolve_keeps_records_queued_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(2, 1);
    // The test's own resolver answers "no such name" as a DNS server would,
    // without asking anyone: no lookup leaves this machine.
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    let mut cfg = sync_config("https://fhir.city-platform.invalid/fhir", &platform.tokens[0]);
    cfg.lookup = Some(Lookup(Arc::new(move |host: &str, port: u16| {
        seen.lock().unwrap().push(format!("{host}:{port}"));
        Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such name"))
    })));
    let r = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync"))
        .unwrap()
        .run(&mut clinic.store);
    match &r.error {
        Some(e @ SyncError::HostNotFound(host)) => {
            assert_eq!(host, "fhir.city-platform.invalid");
            assert!(e.is_retryable());
        }
        other => panic!("expected a DNS failure, got {other:?}"),
    }
    assert_eq!(*asked.lock().unwrap(), ["fhir.city-platform.invalid:443"]);
    assert_eq!((r.sent, r.deferred), (0, 4));
    // Everything stays queued, and the status says why in the reader's language.
    let status = clinic.store.outbox_status().unwrap();
    assert_eq!((status.pending, status.failed, status.sent), (4, 0, 0));
    let msg = jkda::sync::stored_message(status.last_error.as_deref().unwrap());
    assert_eq!(msg, r.error.as_ref().unwrap().message());
    let zh = I18n::new(Lang::Zh).msg(&msg);
    assert!(
        zh.contains("无法解析") && zh.contains("fhir.city-platform.invalid"),
        "{zh}"
    );
    let en = I18n::new(Lang::En).msg(&msg);
    assert!(
        en.contains("could not be resolved") && en.contains("fhir.city-platform.invalid"),
        "{en}"
    );
    // With the right address the queue goes through, nothing lost.
    wait_out_backoff();
    let reports = upload_until_done(
        &mut uploader(&clinic, &platform.url(), &platform.tokens[0]),
        &mut clinic.store,
        50,
    );
    assert_eq!(reports.last().unwrap().status.pending, 0);
    assert_eq!(assert_hub_matches(&clinic, &platform), 4);
}

#[test]
fn an_amendment_that_drops_a_vital_sign_deletes_its_observation() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    let (resident_id, _) = clinic.register(0);
    let record_id = clinic.follow_up(resident_id, "hypertension-followup", 3);
    let mut up = uploader(&clinic, &platform.url(), &platform.tokens[0]);
    assert_eq!(up.run(&mut clinic.store).sent, 2);
    let (uuid, patient): (String, String) = clinic
        .sql()
        .query_row(
            "SELECT r.uuid, s.uuid FROM records r JOIN residents s ON s.id = r.resident_id WHERE r.id = ?1",
            [record_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let hub = platform.conn();
    let live = |hub: &rusqlite::Connection| -> Vec<String> {
        let mut ids: Vec<String> = jkda::hub::storage::search_by_subject(hub, "Observation", &patient, 100)
            .unwrap()
            .iter()
            .map(|s| s.resource.id().to_string())
            .collect();
        ids.sort();
        ids
    };
    let heart_rate = format!("{uuid}-heart-rate");
    let before = live(&hub);
    assert!(before.contains(&heart_rate), "{before:?}");

    // The amendment removes the heart rate and corrects the blood pressure.
    let actor = clinic.actor.clone();
    let amended = clinic.store.amend(&actor, record_id).unwrap();
    let mut answers = amended.answers.clone();
    answers.remove("heart_rate");
    answers.set_text("bp.systolic", "131");
    let save = Save {
        answers,
        focus: None,
        record_date: amended.record_date.clone(),
        resident: None,
    };
    clinic.store.finalize(&actor, record_id, &save, None).unwrap();
    let r = up.run(&mut clinic.store);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.sent, 1);
    assert_eq!(assert_hub_matches(&clinic, &platform), 2);
    // The heart rate is gone from the platform, as a new deleted version
    // (its old value kept in the history); the other vital signs stay.
    let after = live(&hub);
    let mut want = before.clone();
    want.retain(|id| *id != heart_rate);
    assert_eq!(after, want);
    let gone = jkda::hub::storage::read(&hub, "Observation", &heart_rate, None)
        .unwrap()
        .unwrap();
    assert!(gone.deleted);
    assert_eq!(gone.version, 2);
    assert_eq!(
        jkda::hub::storage::version_count(&hub, "Observation", &heart_rate).unwrap(),
        2
    );
    let bp = jkda::hub::storage::read(&hub, "Observation", &format!("{uuid}-bp"), None)
        .unwrap()
        .unwrap();
    assert_eq!(bp.version, 2);
    assert_eq!(bp.resource.0["component"][0]["valueQuantity"]["value"], 131.0);
    // Nothing more to send.
    assert_eq!(up.run(&mut clinic.store).requests, 0);

    // Another site may not delete this site's resources, in a transaction
    // or by a plain DELETE; a read of a deleted one says it is gone.
    let weight = format!("Observation/{uuid}-weight");
    let other = Client::new(&sync_config(&platform.url(), &platform.tokens[1])).unwrap();
    match other.transaction(&fhir::transaction(&[Request::delete(weight.clone())])) {
        Err(SyncError::Refused { status: 403, reason }) => assert!(reason.contains("belongs to site s1"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let delete = |token: &str| {
        agent
            .delete(format!("{}/{weight}", platform.url()))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .status()
    };
    assert_eq!(delete(&platform.tokens[1]), 403);
    assert!(live(&hub).contains(&format!("{uuid}-weight")));
    assert_eq!(delete(&platform.tokens[0]), 204);
    let read = agent
        .get(format!("{}/{weight}", platform.url()))
        .header("Authorization", &format!("Bearer {}", platform.tokens[0]))
        .call()
        .unwrap();
    assert_eq!(read.status(), 410);
}
