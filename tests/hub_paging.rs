//! Reading the platform as any FHIR R4 server is read: standard search with
//! `_count` and next links, through `FhirSource`, against the real hub on
//! 127.0.0.1:0 filled by a clinic's uploads (real transaction Bundles). The
//! supervision report reads its source this way. Times in assertions come
//! from the stored `meta.lastUpdated`, never from this machine's clock.

mod sync_support;

use jkda::fhir::{FhirSource, SourceError};
use jkda::store::{Actor, Save};
use jkda::sync::Uploader;
use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use sync_support::*;

const QR: &str = "QuestionnaireResponse";

/// A hub holding one clinic's uploads, in two transactions: 5 residents
/// with 3 follow-ups each (20 QuestionnaireResponses), then 3 residents with
/// 2 each (9 more), the second sent to the `/fhir` base.
struct World {
    platform: Platform,
    clinic: Clinic,
    /// Last, so it goes after the hub and the clinic have closed their files.
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    let token = platform.tokens[0].clone();
    add_residents(&mut clinic, 0..5, 3);
    assert_eq!(upload(&mut clinic, &platform.url(), &token), 20);
    add_residents(&mut clinic, 5..8, 2);
    assert_eq!(upload(&mut clinic, &format!("{}/fhir", platform.url()), &token), 9);
    World {
        platform,
        clinic,
        _dir: dir,
    }
}

fn add_residents(clinic: &mut Clinic, residents: Range<usize>, follow_ups: usize) {
    for n in residents {
        let (resident, _) = clinic.register(n);
        for v in 0..follow_ups {
            let form = if v % 2 == 0 {
                "hypertension-followup"
            } else {
                "diabetes-followup"
            };
            clinic.follow_up(resident, form, 1 + v as u32);
        }
    }
}

/// Uploads what waits as site s1; returns how many records went.
fn upload(clinic: &mut Clinic, url: &str, token: &str) -> usize {
    let r = Uploader::new(sync_config(url, token), clinic.registry.clone(), Actor::new("sync"))
        .unwrap()
        .run(&mut clinic.store);
    assert!(r.error.is_none(), "{:?}", r.error);
    r.sent
}

impl World {
    fn url(&self) -> String {
        self.platform.url()
    }

    fn source(&self) -> FhirSource {
        FhirSource::new(&self.url(), &self.platform.tokens[0]).unwrap()
    }

    /// The finalized records' ids, as the clinic knows them.
    fn record_ids(&self) -> Vec<String> {
        let db = self.clinic.sql();
        let mut stmt = db
            .prepare("SELECT uuid FROM records WHERE status = 'final' ORDER BY uuid")
            .unwrap();
        let ids = stmt.query_map([], |r| r.get(0)).unwrap();
        ids.map(Result::unwrap).collect()
    }
}

/// Every resource a search gives, in the order given.
fn read_all(source: &FhirSource, kind: &str, params: &[(&str, &str)], page_size: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let n = source
        .for_each(kind, params, page_size, |r| {
            out.push(r);
            Ok::<_, SourceError>(())
        })
        .unwrap();
    assert_eq!(n, out.len());
    out
}

fn ids(resources: &[Value]) -> Vec<String> {
    resources
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn last_updated(r: &Value) -> String {
    r["meta"]["lastUpdated"].as_str().unwrap().to_string()
}

/// One GET with the site token, as plain HTTP: status and JSON body.
fn get(url: &str, token: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut req = agent.get(url).header("Authorization", format!("Bearer {token}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().unwrap();
    (resp.status().as_u16(), resp.body_mut().read_json().unwrap())
}

fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .map(|l| l["url"].as_str().unwrap().to_string())
}

#[test]
fn every_questionnaire_response_is_read_once_in_pages_of_seven() {
    let w = world();
    let source = w.source();
    let all = read_all(&source, QR, &[], 7);
    assert_eq!(all.len(), 29);
    assert_eq!(sorted(ids(&all)), w.record_ids(), "each record once, none missing");
    // In stored-time order, ties broken by id.
    let keys: Vec<(String, String)> = all
        .iter()
        .map(|r| (last_updated(r), r["id"].as_str().unwrap().to_string()))
        .collect();
    let mut in_order = keys.clone();
    in_order.sort();
    assert_eq!(keys, in_order);
    assert_eq!(source.count(QR, &[]).unwrap(), 29);
    assert_eq!(source.count("Patient", &[]).unwrap(), 8);
    // Reads are open to every site's token: the platform shares residents.
    let other = FhirSource::new(&w.url(), &w.platform.tokens[1]).unwrap();
    assert_eq!(read_all(&other, QR, &[], 7).len(), 29);

    // The first page as sent: a searchset whose total counts every match,
    // with absolute self and next links and full URLs.
    let (status, page) = get(&format!("{}/{QR}?_count=7", w.url()), &w.platform.tokens[0], &[]);
    assert_eq!(status, 200);
    assert_eq!(
        (page["resourceType"].as_str(), page["type"].as_str()),
        (Some("Bundle"), Some("searchset"))
    );
    assert_eq!(page["total"], 29);
    assert_eq!(page["entry"].as_array().unwrap().len(), 7);
    assert_eq!(link(&page, "self").unwrap(), format!("{}/{QR}?_count=7", w.url()));
    let next = link(&page, "next").unwrap();
    assert!(
        next.starts_with(&format!("{}/{QR}?_count=7&_cursor=", w.url())),
        "{next}"
    );
    let first = &page["entry"][0];
    assert_eq!(
        first["fullUrl"],
        format!("{}/{QR}/{}", w.url(), first["resource"]["id"].as_str().unwrap())
    );
    assert_eq!(first["search"]["mode"], "match");
    // Following the next links: five pages, the last with one entry and no next link.
    let mut pages = vec![page.clone()];
    while let Some(next) = link(pages.last().unwrap(), "next") {
        pages.push(get(&next, &w.platform.tokens[0], &[]).1);
    }
    assert_eq!(pages.len(), 5);
    assert_eq!(pages[4]["entry"].as_array().unwrap().len(), 1);
    assert!(pages.iter().all(|p| p["total"] == 29));

    // Links follow the address the client used, behind a TLS proxy too.
    let (_, proxied) = get(
        &format!("{}/{QR}?_count=7", w.url()),
        &w.platform.tokens[0],
        &[("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "platform.example")],
    );
    assert!(link(&proxied, "next")
        .unwrap()
        .starts_with(&format!("https://platform.example/{QR}?_count=7&_cursor=")));

    // Five pages were fetched by each read; the log has the parameters'
    // names, never their values (the cursor holds record ids).
    let log = w.platform.log_text();
    assert!(log.contains(&format!("GET /{QR}?_count=&_cursor= 200")), "{log}");
    let cursor_values = log.lines().filter(|l| l.contains("_cursor=3")).count();
    assert_eq!(cursor_values, 0, "{log}");
}

#[test]
fn last_updated_selects_by_the_stored_times() {
    let w = world();
    let source = w.source();
    let all = read_all(&source, QR, &[], 7);
    let times: BTreeMap<String, String> = all
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), last_updated(r)))
        .collect();
    let expect = |keep: &dyn Fn(&str) -> bool| -> Vec<String> {
        times
            .iter()
            .filter(|(_, t)| keep(t))
            .map(|(id, _)| id.clone())
            .collect()
    };
    let mut distinct: Vec<&String> = times.values().collect();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() >= 2, "two transactions, two times at least");
    // The first, a middle and the last stored time.
    for t in [distinct[0], distinct[distinct.len() / 2], distinct[distinct.len() - 1]] {
        let t = t.as_str();
        for (prefix, keep) in [
            ("ge", &(|x: &str| x >= t) as &dyn Fn(&str) -> bool),
            ("gt", &|x: &str| x > t),
            ("le", &|x: &str| x <= t),
            ("lt", &|x: &str| x < t),
            ("eq", &|x: &str| x == t),
            ("", &|x: &str| x == t),
        ] {
            let value = format!("{prefix}{t}");
            let got = sorted(ids(&read_all(&source, QR, &[("_lastUpdated", &value)], 7)));
            assert_eq!(got, expect(keep), "_lastUpdated={value}");
            let counted = source.count(QR, &[("_lastUpdated", &value)]).unwrap();
            assert_eq!(counted as usize, got.len(), "_lastUpdated={value}");
        }
    }
    // The same instant written at +08:00 (the '+' must survive the URL).
    let t = distinct[distinct.len() / 2].as_str();
    let beijing = chrono::DateTime::parse_from_rfc3339(t)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("ge%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string();
    let got = sorted(ids(&read_all(&source, QR, &[("_lastUpdated", &beijing)], 7)));
    assert_eq!(got, expect(&|x| x >= t), "{beijing}");
    // A day stands for the whole day (UTC), a range for what lies in it.
    let day = &t[..10];
    let got = sorted(ids(&read_all(&source, QR, &[("_lastUpdated", day)], 7)));
    assert_eq!(got, expect(&|x| x.starts_with(day)));
    let first = distinct[0].as_str();
    let last = distinct[distinct.len() - 1].as_str();
    let between = [
        ("_lastUpdated", format!("gt{first}")),
        ("_lastUpdated", format!("lt{last}")),
    ];
    let between: Vec<(&str, &str)> = between.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let got = sorted(ids(&read_all(&source, QR, &between, 7)));
    assert_eq!(got, expect(&|x| x > first && x < last));
    // Combined with a resident.
    let patient: String = w
        .clinic
        .sql()
        .query_row("SELECT uuid FROM residents ORDER BY id LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let subject = format!("Patient/{patient}");
    let theirs = read_all(&source, QR, &[("subject", &subject)], 7);
    assert_eq!(theirs.len(), 4, "a registration and three follow-ups");
    assert!(theirs.iter().all(|r| r["subject"]["reference"] == subject.as_str()));
    let their_last = theirs.iter().map(last_updated).max().unwrap();
    let got = read_all(
        &source,
        QR,
        &[("patient", &patient), ("_lastUpdated", &format!("gt{their_last}"))],
        7,
    );
    assert!(got.is_empty());
    // And a Patient by identifier, as a village clinic looks one up.
    let id_number: String = w
        .clinic
        .sql()
        .query_row("SELECT id_number FROM residents ORDER BY id LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let found = read_all(&source, "Patient", &[("identifier", &id_number)], 7);
    assert_eq!(ids(&found), [patient]);
}

#[test]
fn the_hub_answers_under_fhir_and_its_next_links_keep_that_base() {
    let w = world();
    let base = format!("{}/fhir", w.url());
    let source = FhirSource::new(&base, &w.platform.tokens[0]).unwrap();
    assert_eq!(sorted(ids(&read_all(&source, QR, &[], 7))), w.record_ids());
    let (status, page) = get(&format!("{base}/{QR}?_count=7"), &w.platform.tokens[0], &[]);
    assert_eq!(status, 200);
    assert!(link(&page, "next")
        .unwrap()
        .starts_with(&format!("{base}/{QR}?_count=7&_cursor=")));
    assert!(page["entry"][0]["fullUrl"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{base}/{QR}/")));
    let (status, meta) = get(&format!("{base}/metadata"), "", &[]);
    assert_eq!((status, meta["fhirVersion"].as_str()), (200, Some("4.0.1")));
    let log = w.platform.log_text();
    assert!(
        log.contains("POST /fhir/ 200"),
        "the second upload went to /fhir: {log}"
    );
}

#[test]
fn a_deleted_record_is_not_found_but_its_history_stays() {
    let w = world();
    let source = w.source();
    let victim = w.record_ids()[3].clone();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let status = agent
        .delete(format!("{}/fhir/{QR}/{victim}", w.url()))
        .header("Authorization", &format!("Bearer {}", w.platform.tokens[0]))
        .call()
        .unwrap()
        .status();
    assert_eq!(status, 204);
    let left = ids(&read_all(&source, QR, &[], 7));
    assert_eq!(left.len(), 28);
    assert!(!left.contains(&victim));
    assert_eq!(source.count(QR, &[]).unwrap(), 28);
    // Version 1 is still there to read; version 2 is the deletion.
    let v1 = source.vread(QR, &victim, "1").unwrap().unwrap();
    assert_eq!(v1["meta"]["versionId"], "1");
    assert!(source.vread(QR, &victim, "2").unwrap().is_none());
}

#[test]
fn a_record_written_between_two_pages_is_read_once_and_a_changed_one_again() {
    let mut w = world();
    let source = FhirSource::new(&w.url(), &w.platform.tokens[0]).unwrap();
    let (url, token) = (w.url(), w.platform.tokens[0].clone());
    let (resident, _) = w.clinic.register(99);
    let mut seen: Vec<Value> = Vec::new();
    let mut amended: Option<String> = None;
    let n = source
        .for_each(QR, &[], 7, |r| {
            seen.push(r);
            if seen.len() == 7 {
                // Between the first page and the second: a new record, and
                // an amendment of one already read.
                let first_id = seen[0]["id"].as_str().unwrap().to_string();
                let record_id: i64 = w
                    .clinic
                    .sql()
                    .query_row("SELECT id FROM records WHERE uuid = ?1", [&first_id], |r| r.get(0))
                    .unwrap();
                w.clinic.follow_up(resident, "hypertension-followup", 9);
                amend(&mut w.clinic, record_id);
                assert_eq!(
                    upload(&mut w.clinic, &url, &token),
                    3,
                    "registration, follow-up, amendment"
                );
                amended = Some(first_id);
            }
            Ok::<_, SourceError>(())
        })
        .unwrap();
    assert_eq!(n, seen.len());
    let amended = amended.unwrap();
    // 29 before, 2 new, and the amended one again at the end.
    assert_eq!(n, 32);
    let mut counts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &seen {
        let id = r["id"].as_str().unwrap().to_string();
        counts
            .entry(id)
            .or_default()
            .push(r["meta"]["versionId"].as_str().unwrap().to_string());
    }
    assert_eq!(counts.len(), 31);
    assert_eq!(
        counts[&amended],
        ["1", "2"],
        "the change is read too, in its new version"
    );
    assert!(counts.iter().all(|(id, v)| *id == amended || v.len() == 1));
    assert_eq!(sorted(counts.keys().cloned().collect()), w.record_ids());
}

/// Amends a finalized record: a corrected blood pressure.
fn amend(clinic: &mut Clinic, record_id: i64) {
    let actor = clinic.actor.clone();
    let amended = clinic.store.amend(&actor, record_id).unwrap();
    let mut answers = amended.answers.clone();
    answers.set_text("bp.systolic", "131");
    answers.set_text("visit_date", "2026-11-02");
    let save = Save {
        answers,
        focus: None,
        record_date: amended.record_date.clone(),
        resident: None,
    };
    clinic.store.finalize(&actor, record_id, &save, None).unwrap();
}

#[test]
fn vread_of_version_one_tells_when_an_amended_record_was_first_received() {
    let mut w = world();
    let source = w.source();
    let before = read_all(&source, QR, &[], 50);
    let target = before
        .iter()
        .find(|r| r["item"].to_string().contains("bp"))
        .unwrap()
        .clone();
    let id = target["id"].as_str().unwrap().to_string();
    let record_id: i64 = w
        .clinic
        .sql()
        .query_row("SELECT id FROM records WHERE uuid = ?1", [&id], |r| r.get(0))
        .unwrap();
    amend(&mut w.clinic, record_id);
    let (url, token) = (w.url(), w.platform.tokens[0].clone());
    assert_eq!(upload(&mut w.clinic, &url, &token), 1);
    let now = read_all(&source, QR, &[], 50);
    let current = now.iter().find(|r| r["id"] == id.as_str()).unwrap();
    assert_eq!(current["meta"]["versionId"], "2");
    assert!(last_updated(current) > last_updated(&target));
    let first = source.vread(QR, &id, "1").unwrap().expect("version 1 kept");
    assert_eq!(first["meta"]["versionId"], "1");
    assert_eq!(
        last_updated(&first),
        last_updated(&target),
        "the time version 1 arrived"
    );
    assert_eq!(first["item"], target["item"]);
    assert_eq!(source.vread(QR, &id, "2").unwrap().unwrap()["meta"]["versionId"], "2");
    assert!(source.vread(QR, &id, "7").unwrap().is_none());
    assert!(source.vread(QR, "no-such-record", "1").unwrap().is_none());
}

#[test]
fn a_dead_server_fails_quickly_with_a_clear_error() {
    // Nothing listens on a port just released.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let source = FhirSource::new(&format!("http://{dead}/fhir"), "t").unwrap();
    let started = Instant::now();
    let err = source
        .for_each(QR, &[("_lastUpdated", "ge2026-11-01")], 7, |_| Ok::<_, SourceError>(()))
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("cannot be reached"), "{text}");
    assert!(
        text.contains(&format!("GET http://{dead}/fhir/{QR}?_lastUpdated=&_count=")),
        "{text}"
    );
    assert!(!text.contains("2026-11-01"), "no search values in errors: {text}");
    assert!(matches!(
        source.vread(QR, "x", "1"),
        Err(SourceError::Unreachable { .. })
    ));
}

#[test]
fn the_servers_reasons_come_through() {
    let w = world();
    let source = w.source();
    let err = source
        .for_each(QR, &[("status", "completed")], 7, |_| Ok::<_, SourceError>(()))
        .unwrap_err();
    match &err {
        SourceError::Status {
            status: 400,
            reason: Some(r),
            ..
        } => {
            assert!(
                r.contains("\"status\" is not supported for QuestionnaireResponse"),
                "{r}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    let stranger = FhirSource::new(&w.url(), "not-a-token").unwrap();
    assert!(matches!(
        stranger.count(QR, &[]),
        Err(SourceError::Status { status: 401, .. })
    ));
    assert!(matches!(
        source.count("Medication", &[]),
        Err(SourceError::Status { status: 400, reason: Some(r), .. }) if r.contains("Medication")
    ));
}

/// A FHIR server on loopback that answers each GET with what `answer`
/// makes of its path and query: paging as a broken server would do it, which
/// the hub never does. Keeps the requests' paths and whether they carried
/// a token.
struct OddServer {
    url: String,
    requests: Arc<Mutex<Vec<(String, bool)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Answer = (u16, &'static str, String);

impl OddServer {
    fn start(answer: impl Fn(&str, &str) -> Answer + Send + 'static) -> OddServer {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let requests: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (base, seen, stopped) = (url.clone(), requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                let Ok(Some(req)) = server.recv_timeout(Duration::from_millis(20)) else {
                    continue;
                };
                let token = req.headers().iter().any(|h| h.field.equiv("Authorization"));
                seen.lock().unwrap().push((req.url().to_string(), token));
                let (status, content_type, body) = answer(&base, req.url());
                let header = tiny_http::Header::from_bytes("Content-Type", content_type).unwrap();
                let _ = req.respond(
                    tiny_http::Response::from_string(body)
                        .with_status_code(status)
                        .with_header(header),
                );
            }
        });
        OddServer {
            url,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<(String, bool)> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for OddServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A searchset page of one Patient, with a next link when given.
fn one_patient_page(id: &str, next: Option<String>) -> Answer {
    let mut page = serde_json::json!({
        "resourceType": "Bundle", "type": "searchset",
        "entry": [
            { "resource": { "resourceType": "Patient", "id": id }, "search": { "mode": "match" } },
            { "resource": { "resourceType": "OperationOutcome" }, "search": { "mode": "outcome" } },
        ],
    });
    if let Some(next) = next {
        page["link"] = serde_json::json!([{ "relation": "next", "url": next }]);
    }
    (200, "application/json", page.to_string())
}

fn read_ids(source: &FhirSource) -> (Vec<String>, Result<usize, SourceError>) {
    let mut got = Vec::new();
    let result = source.for_each("Patient", &[], 7, |r| {
        got.push(r["id"].as_str().unwrap().to_string());
        Ok::<_, SourceError>(())
    });
    (got, result)
}

#[test]
fn next_links_relative_or_absolute_are_followed_but_not_in_circles_or_elsewhere() {
    // Relative links, the second page pointing back at the first.
    let circle = OddServer::start(|base, url| match url {
        "/r4/Patient?_count=7" => one_patient_page("a", Some("Patient?page=2".into())),
        "/r4/Patient?page=2" => one_patient_page("b", Some("/r4/Patient?page=3".into())),
        _ => one_patient_page("c", Some(format!("{base}/r4/Patient?_count=7"))),
    });
    let source = FhirSource::new(&format!("{}/r4", circle.url), "t").unwrap();
    let (got, result) = read_ids(&source);
    assert_eq!(got, ["a", "b", "c"], "outcome entries are not matches");
    let err = result.unwrap_err();
    assert!(err.to_string().contains("goes round in a circle"), "{err}");
    assert_eq!(circle.requests().len(), 3);

    // A next link to another server: not followed, the token stays here.
    let elsewhere = OddServer::start(|_, _| one_patient_page("x", None));
    let target = format!("{}/r4/Patient?page=2", elsewhere.url);
    let leaky = OddServer::start(move |_, _| one_patient_page("a", Some(target.clone())));
    let (got, result) = read_ids(&FhirSource::new(&leaky.url, "t").unwrap());
    assert_eq!(got, ["a"]);
    let err = result.unwrap_err();
    assert!(err.to_string().contains("token stays with this server"), "{err}");
    assert!(elsewhere.requests().is_empty());
    assert!(leaky.requests().iter().all(|(_, token)| *token));
}

#[test]
fn answers_that_are_not_a_searchset_are_refused() {
    for (answer, says) in [
        (
            (
                200,
                "application/fhir+json",
                r#"{"resourceType":"OperationOutcome","issue":[]}"#.to_string(),
            ),
            "OperationOutcome instead of a Bundle",
        ),
        (
            (
                200,
                "application/json",
                r#"{"resourceType":"Bundle","type":"history"}"#.to_string(),
            ),
            "type history instead of searchset",
        ),
        (
            (200, "text/html", "<html><body>Sign in</body></html>".to_string()),
            "HTML page",
        ),
        (
            (
                200,
                "application/fhir+json",
                r#"{"resourceType":"Bundle","type":"searchset","entry":[{"resou"#.to_string(),
            ),
            "not complete JSON",
        ),
        (
            (
                200,
                "application/fhir+json",
                r#"{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"x"}]}"#.to_string(),
            ),
            "entry without a resource",
        ),
        ((503, "text/html", "<html>down</html>".to_string()), "HTTP 503"),
    ] {
        let server = OddServer::start(move |_, _| answer.clone());
        let (got, result) = read_ids(&FhirSource::new(&server.url, "").unwrap());
        assert!(got.is_empty());
        let err = result.unwrap_err();
        assert!(err.to_string().contains(says), "{says}: {err}");
        assert!(server.requests().iter().all(|(_, token)| !token), "no token, no header");
    }
}
