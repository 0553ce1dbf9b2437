//! Records flow both ways (issue 14, part 3): a follow-up the village makes
//! for a resident the township registered reaches the township at its next
//! sync — through standard FHIR search on `_lastUpdated`, over loopback
//! with the real hub — and shows in its derived tables; nothing comes twice
//! and nothing of another unit's residents comes at all. An amendment made
//! at another PC comes down too: as the current revision when nothing of
//! this PC's own waits for the record, as a conflict when something does;
//! and `jkda residents fetch` on a resident already here refreshes them.

mod common;
mod sync_support;

use jkda::form::def::Programme;
use jkda::form::Answers;
use jkda::manage::kpi::Period;
use jkda::store::care_read::Measure;
use jkda::store::{Actor, Save};
use jkda::sync::client::Client;
use jkda::sync::Uploader;
use sync_support::*;

fn sync(clinic: &mut Clinic, platform: &Platform, token: usize) -> jkda::sync::RunReport {
    let r = sync_refused(clinic, platform, token);
    assert!(r.error.is_none() && r.pull_error.is_none(), "{r:?}");
    r
}

/// A sync that may meet a refusal (a conflict, say).
fn sync_refused(clinic: &mut Clinic, platform: &Platform, token: usize) -> jkda::sync::RunReport {
    let cfg = sync_config(&platform.url(), &platform.tokens[token]);
    let mut up = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync")).unwrap();
    up.run(&mut clinic.store)
}

#[test]
fn a_follow_up_made_elsewhere_arrives_at_the_next_sync_once() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut township = Clinic::open(dir.path(), "township", "101");
    let (resident, _) = township.register(0);
    let (other, _) = township.register(1);
    sync(&mut township, &platform, 0);
    assert_eq!(township.records_of(resident), 1);

    // The village fetches the resident, follows them up, uploads.
    let mut village = Clinic::open(dir.path(), "village", "102");
    let id_number = township.id_number_of(resident);
    let here = village.fetch_with(&platform.url(), &platform.tokens[1], &id_number);
    village.follow_up(here, "hypertension-followup", 20);
    // And registers someone of its own, who must not reach the township.
    village.register(7);
    assert_eq!(sync(&mut village, &platform, 1).sent, 2);

    // The township's next sync brings the follow-up down.
    let r = sync(&mut township, &platform, 0);
    assert_eq!(r.pulled.added, 1, "{r:?}");
    assert_eq!(township.records_of(resident), 2);
    assert_eq!(township.records_of(other), 1);
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
    assert_eq!(township.records_of(resident), 2);
    assert_eq!(township.store.outbox_status().unwrap().pending, 0);
}

/// Opens an amendment of a final record with `changes` set; finalized
/// unless `open`.
fn amend(pc: &mut Clinic, record: i64, changes: &[(&str, &str)], open: bool) {
    let actor = pc.actor.clone();
    let r = pc.store.amend(&actor, record).unwrap();
    if open {
        return;
    }
    let mut answers = r.answers.clone();
    for (path, value) in changes {
        answers.set_text(path, value);
    }
    let save = Save {
        answers,
        focus: None,
        record_date: r.record_date.clone(),
        resident: None,
    };
    pc.store.finalize(&actor, record, &save, None).unwrap();
}

fn current(pc: &Clinic, record: i64) -> (Answers, i64) {
    let actor = pc.actor.clone();
    let r = pc.store.record(&actor, record).unwrap();
    (r.answers, r.revision)
}

fn revision_answers(pc: &Clinic, record: i64, revision: i64) -> Answers {
    let json: String = pc
        .sql()
        .query_row(
            "SELECT answers FROM record_revisions WHERE record_id = ?1 AND revision = ?2",
            [record, revision],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

fn on_hub(platform: &Platform, pc: &Clinic, uuid: &str) -> (Answers, i64) {
    let stored = jkda::hub::storage::read(&platform.conn(), "QuestionnaireResponse", uuid, None)
        .unwrap()
        .unwrap();
    let def = pc.registry.get("hypertension-followup").unwrap();
    (
        jkda::fhir::mapping::answers_from_response(&stored.resource.0, def),
        stored.version,
    )
}

/// Whether the resident counts as controlled in 2026's hypertension
/// figures, and the derived visit's own judgement.
fn controlled(pc: &Clinic, resident: i64, record: i64) -> (bool, Option<bool>) {
    let actor = pc.actor.clone();
    let year = Period::year(2026).unwrap();
    let listed = pc
        .store
        .kpi_residents(&actor, &year, None, Programme::Hypertension, Measure::Controlled)
        .unwrap();
    let visit: Option<bool> = pc
        .sql()
        .query_row("SELECT controlled FROM visits WHERE record_id = ?1", [record], |r| {
            r.get(0)
        })
        .unwrap();
    (listed.contains(&resident), visit)
}

fn audited(pc: &Clinic, action: &str) -> i64 {
    pc.sql()
        .query_row("SELECT count(*) FROM audit WHERE action = ?1", [action], |r| r.get(0))
        .unwrap()
}

/// PC1 registers a resident with a follow-up and uploads; PC2 (same site)
/// fetches them. Returns (PC1, PC2, resident on PC1, the follow-up's uuid).
fn two_pcs(dir: &std::path::Path, platform: &Platform) -> (Clinic, Clinic, i64, String) {
    let mut pc1 = Clinic::open(dir, "pc1", "101");
    let (resident, _) = pc1.register(0);
    let visit = pc1.follow_up(resident, "hypertension-followup", 3);
    assert_eq!(sync(&mut pc1, platform, 0).sent, 2);
    let mut pc2 = Clinic::open(dir, "pc2", "101");
    pc2.fetch_from(platform, &pc1.id_number_of(resident));
    let uuid = pc1.uuid_of(visit);
    (pc1, pc2, resident, uuid)
}

/// A blood pressure on the other side of the control line from `a`'s.
fn other_side(a: &Answers) -> [(&'static str, &'static str); 2] {
    let systolic: u32 = a.text("bp.systolic").unwrap().parse().unwrap();
    let diastolic: u32 = a.text("bp.diastolic").unwrap().parse().unwrap();
    if systolic < 140 && diastolic < 90 {
        [("bp.systolic", "168"), ("bp.diastolic", "98")]
    } else {
        [("bp.systolic", "124"), ("bp.diastolic", "76")]
    }
}

#[test]
fn an_amendment_made_at_another_pc_becomes_the_current_revision_here() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (mut pc1, mut pc2, resident, uuid) = two_pcs(dir.path(), &platform);
    let (r1, r2) = (pc1.local_id(&uuid), pc2.local_id(&uuid));
    let (mine, revision) = current(&pc1, r1);
    assert_eq!(revision, 1);
    let before = controlled(&pc1, resident, r1);
    assert_eq!(Some(before.0), before.1, "the figures follow the visit");

    amend(&mut pc2, r2, &other_side(&mine), false);
    assert_eq!(sync(&mut pc2, &platform, 0).sent, 1);

    let r = sync(&mut pc1, &platform, 0);
    assert_eq!((r.pulled.amended.updated, r.pulled.amended.conflicts), (1, 0), "{r:?}");
    // PC2's amendment is the current revision; PC1's own stays in history.
    let (now, revision) = current(&pc1, r1);
    assert_eq!(revision, 2);
    assert_eq!(now, on_hub(&platform, &pc1, &uuid).0);
    assert_ne!(now, mine);
    assert_eq!(revision_answers(&pc1, r1, 1), mine);
    // The worklist and the indicators read the new blood pressure.
    let after = controlled(&pc1, resident, r1);
    assert_eq!(after, (!before.0, Some(!before.0)));
    assert_eq!(audited(&pc1, "platform_amendment"), 1);
    // Not sent back up, not taken twice.
    let again = sync(&mut pc1, &platform, 0);
    assert_eq!((again.sent, again.pulled.amended), (0, Default::default()));
    assert_eq!(current(&pc1, r1).1, 2);
    assert_eq!(on_hub(&platform, &pc1, &uuid).1, 2);

    // PC1's next amendment goes over the platform's version: no clash.
    amend(&mut pc1, r1, &[("bp.diastolic", "81")], false);
    let next = sync(&mut pc1, &platform, 0);
    assert_eq!((next.sent, next.conflicts), (1, 0), "{:?}", next.error);
    let (hub, version) = on_hub(&platform, &pc1, &uuid);
    assert_eq!((hub.text("bp.diastolic"), version), (Some("81"), 3));
    // And PC2 takes it in turn.
    let back = sync(&mut pc2, &platform, 0);
    assert_eq!(back.pulled.amended.updated, 1, "{back:?}");
    assert_eq!(current(&pc2, r2).0, hub);
}

#[test]
fn an_amendment_made_elsewhere_over_a_change_waiting_here_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (mut pc1, mut pc2, resident, uuid) = two_pcs(dir.path(), &platform);
    let (r1, r2) = (pc1.local_id(&uuid), pc2.local_id(&uuid));
    amend(&mut pc2, r2, &[("bp.systolic", "151")], false);
    assert_eq!(sync(&mut pc2, &platform, 0).sent, 1);
    let theirs = on_hub(&platform, &pc1, &uuid).0;

    // PC1 amended too, without syncing: bringing the resident down again
    // meets PC2's version and keeps it next to ours.
    amend(&mut pc1, r1, &[("bp.systolic", "133")], false);
    let (mine, revision) = current(&pc1, r1);
    let cfg = sync_config(&platform.url(), &platform.tokens[0]);
    let actor = pc1.actor.clone();
    let id_number = pc1.id_number_of(resident);
    let got = jkda::sync::refresh_resident(
        &Client::new(&cfg).unwrap(),
        &cfg,
        &mut pc1.store,
        &pc1.registry,
        &actor,
        &id_number,
    )
    .unwrap()
    .expect("the same registration");
    assert_eq!((got.amended.updated, got.amended.conflicts, got.added), (0, 1, 0));
    // Nothing overwritten, here or there; the clash waits for a person.
    assert_eq!(current(&pc1, r1), (mine.clone(), revision));
    assert_eq!(pc1.store.conflict_count().unwrap(), 1);
    let c = pc1.store.conflict(&actor, r1).unwrap();
    assert_eq!((c.row.revision, c.mine.clone()), (revision, mine.clone()));
    let server = c.server.expect("the platform's copy kept");
    assert_eq!((server.version.as_deref(), &server.answers), (Some("2"), &theirs));
    // The sync neither sends it nor keeps the clash twice.
    let r = sync(&mut pc1, &platform, 0);
    assert_eq!((r.sent, r.pulled.amended), (0, Default::default()), "{r:?}");
    assert_eq!(pc1.store.conflict_count().unwrap(), 1);
    assert_eq!(on_hub(&platform, &pc1, &uuid), (theirs.clone(), 2));

    // A person keeps ours: it goes over PC2's version.
    let choice = jkda::sync::conflict::Choice::Mine;
    let queued = jkda::sync::conflict::resolve(&mut pc1.store, &pc1.registry, &actor, r1, &choice).unwrap();
    assert_eq!(queued, Ok(true));
    let sent = sync(&mut pc1, &platform, 0);
    assert_eq!((sent.sent, sent.conflicts), (1, 0), "{:?}", sent.error);
    assert_eq!(on_hub(&platform, &pc1, &uuid), (mine, 3));
}

#[test]
fn an_amendment_open_here_is_left_alone_and_meets_the_platforms_version_when_it_goes_up() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (mut pc1, mut pc2, _, uuid) = two_pcs(dir.path(), &platform);
    let (r1, r2) = (pc1.local_id(&uuid), pc2.local_id(&uuid));
    amend(&mut pc2, r2, &[("bp.systolic", "149")], false);
    assert_eq!(sync(&mut pc2, &platform, 0).sent, 1);

    amend(&mut pc1, r1, &[], true);
    let r = sync(&mut pc1, &platform, 0);
    assert_eq!(r.pulled.amended.held, 1, "{r:?}");
    let (draft, revision) = current(&pc1, r1);
    assert_eq!(revision, 2);
    assert_eq!(draft, revision_answers(&pc1, r1, 1), "the draft is untouched");
    assert_eq!(pc1.store.conflict_count().unwrap(), 0);

    // Finished and uploaded, it carries If-Match of the older version.
    let mut answers = draft;
    answers.set_text("bp.systolic", "127");
    let save = Save {
        answers,
        focus: None,
        record_date: None,
        resident: None,
    };
    let actor = pc1.actor.clone();
    pc1.store.finalize(&actor, r1, &save, None).unwrap();
    let up = sync_refused(&mut pc1, &platform, 0);
    assert_eq!((up.sent, up.conflicts), (0, 1), "{:?}", up.error);
    assert_eq!(on_hub(&platform, &pc1, &uuid).0.text("bp.systolic"), Some("149"));
    assert_eq!(pc1.store.conflict_count().unwrap(), 1);
}

#[test]
fn jkda_residents_fetch_on_a_resident_here_brings_down_what_another_pc_did() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (url, token) = (platform.url(), platform.tokens[0].clone());
    let data = dir.path().join("clinic");
    let out = common::run_jkda_input(&data, &["init", "--no-encrypt"], &format!("{}\n", common::ADMIN_PW));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(
        data.join("config.toml"),
        format!("server_url = \"{url}\"\nsite_token = \"{token}\"\n"),
    )
    .unwrap();
    let mut pc1 = Clinic::open_path(jkda::paths::db_path(&data), "101");
    let (resident, _) = pc1.register(3);
    let visit = pc1.follow_up(resident, "hypertension-followup", 2);
    let (id_number, uuid) = (pc1.id_number_of(resident), pc1.uuid_of(visit));
    drop(pc1);
    let out = common::run_jkda(&data, &["sync"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // PC2 amends the follow-up and adds one of its own.
    let mut pc2 = Clinic::open(dir.path(), "pc2", "101");
    let on_pc2 = pc2.fetch_from(&platform, &id_number);
    let r2 = pc2.local_id(&uuid);
    amend(&mut pc2, r2, &[("bp.systolic", "166")], false);
    let new_visit = pc2.follow_up(on_pc2, "hypertension-followup", 20);
    assert_eq!(sync(&mut pc2, &platform, 0).sent, 2);

    let out = common::run_jkda(&data, &["--lang", "en", "residents", "fetch", &id_number]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("1 new records, 1 updated, 0 held as conflicts"), "{said}");
    let pc1 = Clinic::open_path(jkda::paths::db_path(&data), "101");
    let new_uuid = pc2.uuid_of(new_visit);
    assert_eq!(current(&pc1, pc1.local_id(&new_uuid)).0, current(&pc2, new_visit).0);
    let (now, revision) = current(&pc1, pc1.local_id(&uuid));
    assert_eq!((now.text("bp.systolic"), revision), (Some("166"), 2));
    let visits: i64 = pc1
        .sql()
        .query_row("SELECT count(*) FROM visits WHERE resident_id = ?1", [resident], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(visits, 2);
    // Again: nothing more to bring.
    let out = common::run_jkda(&data, &["--lang", "en", "residents", "fetch", &id_number]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("0 new records, 0 updated, 0 held as conflicts"), "{said}");
}

/// A sync whose retries wait an hour, against `url` (a failed upload then
/// stays put through the next sync, as when a PC was offline a moment ago).
fn sync_patient(clinic: &mut Clinic, url: &str, platform: &Platform) -> jkda::sync::RunReport {
    let mut cfg = sync_config(url, &platform.tokens[0]);
    cfg.backoff_base = std::time::Duration::from_secs(1800);
    cfg.backoff_cap = std::time::Duration::from_secs(3600);
    let mut up = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync")).unwrap();
    up.run(&mut clinic.store)
}

/// An address where nothing listens.
fn nowhere() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

#[test]
fn an_amendment_still_waiting_here_meets_one_made_elsewhere_as_a_conflict_at_sync() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (mut pc1, mut pc2, _, uuid) = two_pcs(dir.path(), &platform);
    let (r1, r2) = (pc1.local_id(&uuid), pc2.local_id(&uuid));
    amend(&mut pc2, r2, &[("bp.systolic", "152")], false);
    assert_eq!(sync(&mut pc2, &platform, 0).sent, 1);
    let theirs = on_hub(&platform, &pc1, &uuid);

    // PC1's amendment could not go up and waits for its retry.
    amend(&mut pc1, r1, &[("bp.systolic", "129")], false);
    let mine = current(&pc1, r1);
    let offline = sync_patient(&mut pc1, &nowhere(), &platform);
    assert_eq!((offline.sent, offline.deferred), (0, 1), "{:?}", offline.error);
    // Back online before the retry is due: the pull meets PC2's version.
    let r = sync_patient(&mut pc1, &platform.url(), &platform);
    assert!(r.error.is_none() && r.pull_error.is_none(), "{r:?}");
    assert_eq!(
        (r.sent, r.pulled.amended.conflicts, r.status.conflict),
        (0, 1, 1),
        "{r:?}"
    );
    assert_eq!(current(&pc1, r1), mine, "nothing overwritten here");
    assert_eq!(on_hub(&platform, &pc1, &uuid), theirs, "nor there");
    let actor = pc1.actor.clone();
    let c = pc1.store.conflict(&actor, r1).unwrap();
    assert_eq!(c.server.map(|s| s.answers), Some(theirs.0.clone()));
    // Said as what happened: changed elsewhere while ours waited, not "after it was sent".
    let rows = pc1.store.outbox_rows(&["conflict"], 10).unwrap();
    assert!(
        rows.iter().any(|o| o
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("sync.err_changed_elsewhere|"))),
        "{rows:?}"
    );
    // Taking theirs settles it; nothing goes up.
    let choice = jkda::sync::conflict::Choice::Theirs;
    let queued = jkda::sync::conflict::resolve(&mut pc1.store, &pc1.registry, &actor, r1, &choice).unwrap();
    assert_eq!(queued, Ok(false));
    assert_eq!(current(&pc1, r1), (theirs.0, mine.1 + 1));
    let after = sync(&mut pc1, &platform, 0);
    assert_eq!((after.sent, after.status.pending, after.status.conflict), (0, 0, 0));
}

#[test]
fn our_own_amendment_whose_answer_was_lost_is_no_conflict_when_pulled() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut pc1 = Clinic::open(dir.path(), "pc1", "101");
    let (resident, _) = pc1.register(0);
    let visit = pc1.follow_up(resident, "hypertension-followup", 3);
    assert_eq!(sync(&mut pc1, &platform, 0).sent, 2);
    let uuid = pc1.uuid_of(visit);

    // The amendment reaches the platform, its answer never reaches PC1.
    amend(&mut pc1, visit, &[("bp.systolic", "138")], false);
    let relay = Relay::start(platform.addr());
    relay.drop_next_answers(1);
    let lost = sync_patient(&mut pc1, &relay.url(), &platform);
    assert_eq!((lost.sent, lost.deferred), (0, 1), "{:?}", lost.error);
    assert_eq!(on_hub(&platform, &pc1, &uuid).1, 2);
    // The pull meets our own version: no clash for a person.
    let r = sync_patient(&mut pc1, &platform.url(), &platform);
    assert_eq!((r.pulled.amended, r.status.conflict), (Default::default(), 0), "{r:?}");
    // The retry confirms it.
    let done = sync(&mut pc1, &platform, 0);
    assert_eq!(
        (done.sent, done.conflicts, done.status.pending),
        (1, 0, 0),
        "{:?}",
        done.error
    );
    assert_eq!(current(&pc1, visit).1, 2);
}
