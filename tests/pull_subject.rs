//! A pull asks only for the residents this PC holds (`patient=a,b,…` OR
//! lists with `_lastUpdated`), over loopback with the real hub and a
//! relay counting the bytes: another site's records never cross the link,
//! a follow-up made elsewhere for one of ours still comes, and a pull whose
//! hub stops between two lists keeps its watermark so the next one gets
//! everything. Times come from the hub's stamps, never this machine's date.

mod common;
mod sync_support;

use jkda::fhir::FhirSource;
use jkda::store::Actor;
use jkda::sync::pull::{pull, Pulled};
use jkda::sync::{SyncError, Uploader};
use serde_json::Value;
use sync_support::*;

/// Any fixed day: only the first pull's look-back uses it.
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
        .unwrap()
        .into()
}

fn sync(clinic: &mut Clinic, url: &str, token: &str) -> jkda::sync::RunReport {
    let mut up = Uploader::new(sync_config(url, token), clinic.registry.clone(), Actor::new("sync")).unwrap();
    let r = up.run(&mut clinic.store);
    assert!(r.error.is_none() && r.pull_error.is_none(), "{r:?}");
    r
}

/// A pull alone, through `url` (the relay).
fn pull_via(clinic: &mut Clinic, url: &str, token: &str) -> Result<Pulled, SyncError> {
    let src = FhirSource::from_config(&sync_config(url, token)).unwrap();
    let actor = clinic.actor.clone();
    pull(&src, &mut clinic.store, &clinic.registry, &actor, now())
}

fn since(clinic: &Clinic) -> String {
    clinic
        .store
        .setting("pull.since")
        .unwrap()
        .expect("set by the first sync")
}

fn count(clinic: &Clinic, sql: &str) -> i64 {
    clinic.sql().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// `other` brings `resident` of `holder` down by ID number and follows them up.
fn follow_up_elsewhere(holder: &Clinic, resident: i64, other: &mut Clinic, url: &str, token: &str) {
    let here = other.fetch_with(url, token, &holder.id_number_of(resident));
    other.follow_up(here, "hypertension-followup", 12);
}

#[test]
fn another_sites_records_never_cross_the_link_and_ours_still_come() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (url, t1, t2) = (platform.url(), platform.tokens[0].clone(), platform.tokens[1].clone());
    let mut township = Clinic::open(dir.path(), "township", "101");
    let (resident, _) = township.register(0);
    township.register(1); // registered here, never uploaded: nothing to ask
    sync(&mut township, &url, &t1);
    let unsent = township.register(2).0;
    assert_eq!(township.store.platform_patient_ids().unwrap().len(), 2);

    // Another site: 200 residents of its own, and one follow-up of ours.
    let mut village = Clinic::open(dir.path(), "village", "102");
    for n in 1000..1200 {
        village.register(n);
    }
    follow_up_elsewhere(&township, resident, &mut village, &url, &t2);
    assert_eq!(sync(&mut village, &url, &t2).sent, 201);

    let relay = Relay::start(platform.addr());
    let before = since(&township);
    let got = pull_via(&mut township, &relay.url(), &t1).unwrap();
    let bytes = relay.bytes_down();
    assert_eq!((got.seen, got.added, got.searches), (1, 1, 1), "{got:?}");
    assert_eq!(township.records_of(resident), 2);
    assert_eq!(township.records_of(unsent), 1);
    assert_eq!(count(&township, "SELECT count(*) FROM residents"), 3);
    assert!(since(&township) > before, "the watermark moved on");

    // The old way, platform-wide from the same watermark, for comparison.
    let src = FhirSource::from_config(&sync_config(&relay.url(), &t1)).unwrap();
    let gt = format!("gt{before}");
    let mut everyone = 0;
    src.for_each("QuestionnaireResponse", &[("_lastUpdated", &gt)], 200, |_: Value| {
        everyone += 1;
        Ok::<(), jkda::fhir::SourceError>(())
    })
    .unwrap();
    let wide = relay.bytes_down() - bytes;
    assert_eq!(everyone, 201);
    assert!(bytes * 20 < wide, "asked by list: {bytes} bytes; platform-wide: {wide}");

    // Nothing new: one small search, nothing kept, nothing sent back up.
    let again = pull_via(&mut township, &relay.url(), &t1).unwrap();
    assert_eq!((again.seen, again.added), (0, 0));
    assert_eq!(
        township.store.outbox_status().unwrap().pending,
        1,
        "only the unsent registration"
    );
}

#[test]
fn a_pull_whose_hub_stops_between_lists_keeps_its_watermark_and_the_next_gets_everything() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (url, t1, t2) = (platform.url(), platform.tokens[0].clone(), platform.tokens[1].clone());
    // 110 residents on the platform: two lists (102 UUIDs fit one).
    let mut township = Clinic::open(dir.path(), "township", "101");
    let ours: Vec<i64> = (0..110).map(|n| township.register(n).0).collect();
    sync(&mut township, &url, &t1);
    let (first, last) = (ours[0], ours[109]);

    let mut village = Clinic::open(dir.path(), "village", "102");
    follow_up_elsewhere(&township, first, &mut village, &url, &t2);
    follow_up_elsewhere(&township, last, &mut village, &url, &t2);
    assert_eq!(sync(&mut village, &url, &t2).sent, 2);

    // The first list is answered, then the hub is gone.
    let relay = Relay::start(platform.addr());
    let before = since(&township);
    relay.dead_from_get(Some(2));
    assert!(pull_via(&mut township, &relay.url(), &t1).is_err());
    assert_eq!(relay.gets(), 2);
    assert_eq!(since(&township), before, "the watermark stays");
    assert_eq!((township.records_of(first), township.records_of(last)), (1, 1));

    // Back: the next pull gets both, from the same watermark.
    relay.dead_from_get(None);
    let got = pull_via(&mut township, &relay.url(), &t1).unwrap();
    assert_eq!((got.added, got.searches), (2, 2), "{got:?}");
    assert_eq!((township.records_of(first), township.records_of(last)), (2, 2));
    assert!(since(&township) > before);
    // What the next one reads again (its watermark is moved back by the
    // pull's duration) is known here: nothing twice.
    let again = pull_via(&mut township, &relay.url(), &t1).unwrap();
    assert_eq!(again.added, 0);
    assert_eq!(count(&township, "SELECT count(*) FROM records"), 112);
}

/// The OR list through `FhirSource` paging, as any client reads a server:
/// the union of the Patients' records, each once, in the hub's order.
#[test]
fn an_or_list_of_patients_pages_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(6, 2);
    sync(&mut clinic, &platform.url(), &platform.tokens[0]);
    let uuids = clinic.store.platform_patient_ids().unwrap();
    let list = format!("Patient/{},Patient/{},Patient/{}", uuids[0], uuids[2], uuids[5]);
    let src = FhirSource::new(&platform.url(), &platform.tokens[0]).unwrap();
    let mut read: Vec<(String, String, String)> = Vec::new();
    let n = src
        .for_each("QuestionnaireResponse", &[("subject", &list)], 4, |qr: Value| {
            read.push((
                qr["meta"]["lastUpdated"].as_str().unwrap().to_string(),
                qr["id"].as_str().unwrap().to_string(),
                qr["subject"]["reference"].as_str().unwrap().to_string(),
            ));
            Ok::<(), jkda::fhir::SourceError>(())
        })
        .unwrap();
    assert_eq!(n, 9, "three residents, a registration and two follow-ups each");
    let mut sorted = read.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, read, "in (lastUpdated, id) order, none twice");
    for (_, _, subject) in &read {
        assert!(list.split(',').any(|p| p == subject), "{subject}");
    }
}

/// A FHIR server without OR lists on `patient` refuses the first list with
/// a 400: the pull reads platform-wide instead, as before lists, and what
/// was made elsewhere for our residents still comes.
#[test]
fn a_server_without_or_lists_is_read_platform_wide() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (url, t1, t2) = (platform.url(), platform.tokens[0].clone(), platform.tokens[1].clone());
    let mut township = Clinic::open(dir.path(), "township", "101");
    let (resident, _) = township.register(0);
    township.register(1);
    sync(&mut township, &url, &t1);
    let mut village = Clinic::open(dir.path(), "village", "102");
    village.register(1000);
    follow_up_elsewhere(&township, resident, &mut village, &url, &t2);
    sync(&mut village, &url, &t2);

    let relay = Relay::start(platform.addr());
    relay.refuse_or_lists(true);
    let before = since(&township);
    let got = pull_via(&mut township, &relay.url(), &t1).unwrap();
    assert_eq!(
        (got.added, got.searches),
        (1, 2),
        "a refused list, then platform-wide: {got:?}"
    );
    assert!(
        got.seen >= 2,
        "platform-wide reads the other site's records too: {got:?}"
    );
    assert_eq!(township.records_of(resident), 2);
    assert!(since(&township) > before);
}
