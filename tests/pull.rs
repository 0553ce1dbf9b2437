//! Records flow both ways (issue 14, part 3): a follow-up the village makes
//! for a resident the township registered reaches the township at its next
//! sync — through standard FHIR search on `_lastUpdated`, over loopback
//! with the real hub — and shows in its derived tables; nothing comes twice
//! and nothing of another unit's residents comes at all.

mod sync_support;

use jkda::store::Actor;
use jkda::sync::client::Client;
use jkda::sync::Uploader;
use sync_support::*;

fn sync(clinic: &mut Clinic, platform: &Platform, token: usize) -> jkda::sync::RunReport {
    let cfg = sync_config(&platform.url(), &platform.tokens[token]);
    let mut up = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync")).unwrap();
    let r = up.run(&mut clinic.store);
    assert!(r.error.is_none() && r.pull_error.is_none(), "{r:?}");
    r
}

fn records_of(clinic: &Clinic, resident: i64) -> i64 {
    clinic
        .sql()
        .query_row("SELECT count(*) FROM records WHERE resident_id = ?1", [resident], |r| {
            r.get(0)
        })
        .unwrap()
}

#[test]
fn a_follow_up_made_elsewhere_arrives_at_the_next_sync_once() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut township = Clinic::open(dir.path(), "township", "101");
    let (resident, _) = township.register(0);
    let (other, _) = township.register(1);
    sync(&mut township, &platform, 0);
    assert_eq!(records_of(&township, resident), 1);

    // The village fetches the resident, follows them up, uploads.
    let mut village = Clinic::open(dir.path(), "village", "102");
    let id_number: String = township
        .sql()
        .query_row("SELECT id_number FROM residents WHERE id = ?1", [resident], |r| {
            r.get(0)
        })
        .unwrap();
    let cfg = sync_config(&platform.url(), &platform.tokens[1]);
    let actor = village.actor.clone();
    let got = jkda::sync::fetch_resident(
        &Client::new(&cfg).unwrap(),
        &cfg,
        &mut village.store,
        &village.registry,
        &actor,
        &id_number,
        20,
    )
    .unwrap()
    .expect("on the platform");
    village.follow_up(got.resident_id, "hypertension-followup", 20);
    // And registers someone of its own, who must not reach the township.
    village.register(7);
    assert_eq!(sync(&mut village, &platform, 1).sent, 2);

    // The township's next sync brings the follow-up down.
    let r = sync(&mut township, &platform, 0);
    assert_eq!(r.pulled.added, 1, "{r:?}");
    assert_eq!(records_of(&township, resident), 2);
    assert_eq!(records_of(&township, other), 1);
    let residents: i64 = township
        .sql()
        .query_row("SELECT count(*) FROM residents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(residents, 2, "the village's own resident stays there");
    // It counts in the township's management: the visit is in its tables.
    let visits: i64 = township
        .sql()
        .query_row("SELECT count(*) FROM visits WHERE resident_id = ?1", [resident], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(visits, 1);
    // Nothing comes twice, and what came is not sent back up.
    let again = sync(&mut township, &platform, 0);
    assert_eq!((again.pulled.added, again.sent), (0, 0));
    assert_eq!(records_of(&township, resident), 2);
    assert_eq!(township.store.outbox_status().unwrap().pending, 0);
}
