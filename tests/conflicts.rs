//! Conflicts a person resolves (issue 14, part 4), over loopback with the
//! real hub: two PCs of one site amend the same record. Whichever uploads
//! second meets 412 (every amendment carries If-Match, also of a record
//! brought down by fetch or pull), nothing on the platform is overwritten,
//! and a person keeps theirs, takes the platform's or merges item by item.

mod common;
mod sync_support;

use jkda::form::Answers;
use jkda::i18n::Lang;
use jkda::store::{Actor, Save};
use jkda::sync::conflict::{self, Choice};
use jkda::sync::Uploader;
use std::collections::BTreeSet;
use sync_support::*;

fn sync(clinic: &mut Clinic, platform: &Platform) -> jkda::sync::RunReport {
    let cfg = sync_config(&platform.url(), &platform.tokens[0]);
    let mut up = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync")).unwrap();
    let r = up.run(&mut clinic.store);
    assert!(r.pull_error.is_none(), "{r:?}");
    r
}

/// Amends a final record: `changes` set on its answers, finalized.
fn amend(pc: &mut Clinic, record: i64, changes: &[(&str, &str)]) {
    let actor = pc.actor.clone();
    let r = pc.store.amend(&actor, record).unwrap();
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

/// The platform's current answers and version of a record.
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

fn local_answers(pc: &Clinic, record: i64) -> Answers {
    let actor = pc.actor.clone();
    pc.store.record(&actor, record).unwrap().answers
}

fn audited(pc: &Clinic, action: &str) -> i64 {
    pc.sql()
        .query_row("SELECT count(*) FROM audit WHERE action = ?1", [action], |r| r.get(0))
        .unwrap()
}

/// PC1 registers a resident with a follow-up and uploads; PC2 fetches them.
/// Returns (PC1, PC2, the follow-up's uuid).
fn two_pcs(dir: &std::path::Path, platform: &Platform) -> (Clinic, Clinic, String) {
    let mut pc1 = Clinic::open(dir, "pc1", "101");
    let (resident, _) = pc1.register(0);
    let visit = pc1.follow_up(resident, "hypertension-followup", 3);
    assert_eq!(sync(&mut pc1, platform).sent, 2);
    let mut pc2 = Clinic::open(dir, "pc2", "101");
    pc2.fetch_from(platform, &pc1.id_number_of(resident));
    let uuid = pc1.uuid_of(visit);
    (pc1, pc2, uuid)
}

#[test]
fn pc1_then_pc2_the_second_meets_a_conflict_and_keeps_its_own_on_top() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (mut pc1, mut pc2, uuid) = two_pcs(dir.path(), &platform);
    let (r1, r2) = (pc1.local_id(&uuid), pc2.local_id(&uuid));

    amend(&mut pc1, r1, &[("bp.systolic", "150")]);
    amend(&mut pc2, r2, &[("bp.systolic", "132")]);
    assert_eq!(sync(&mut pc1, &platform).sent, 1);
    let second = sync(&mut pc2, &platform);
    assert_eq!((second.sent, second.conflicts), (0, 1), "{:?}", second.error);
    // Nothing overwritten: the platform keeps PC1's amendment.
    let (hub, version) = on_hub(&platform, &pc1, &uuid);
    assert_eq!((hub.text("bp.systolic"), version), (Some("150"), 2));

    // PC2 sees both versions, item by item with the form's labels.
    assert_eq!(pc2.store.conflict_count().unwrap(), 1);
    let actor = pc2.actor.clone();
    let listed = pc2.store.conflicts(&actor).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].record_id, listed[0].server_known), (r2, true));
    let c = pc2.store.conflict(&actor, r2).unwrap();
    let server = c.server.clone().unwrap();
    assert_eq!(server.version.as_deref(), Some("2"));
    assert_eq!(server.site.as_deref(), Some("s1"));
    let def = pc2.registry.get("hypertension-followup").unwrap();
    let items = conflict::diff(def, &c.mine, &server.answers, Lang::Zh);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].label, def.field("bp").unwrap().label.zh);
    assert!(items[0].mine.starts_with("132/") && items[0].theirs.starts_with("150/"));

    // Keep mine: sent again over the platform's version, audited.
    let queued = conflict::resolve(&mut pc2.store, &pc2.registry, &actor, r2, &Choice::Mine).unwrap();
    assert_eq!(queued, Ok(true));
    assert_eq!(pc2.store.conflict_count().unwrap(), 0);
    assert_eq!(audited(&pc2, "conflict_mine"), 1);
    let again = sync(&mut pc2, &platform);
    assert_eq!((again.sent, again.conflicts), (1, 0), "{:?}", again.error);
    let (hub, version) = on_hub(&platform, &pc1, &uuid);
    assert_eq!((hub.text("bp.systolic"), version), (Some("132"), 3));
    // PC1's version is in the platform's history, not lost.
    let old = jkda::hub::storage::read(&platform.conn(), "QuestionnaireResponse", &uuid, Some(2))
        .unwrap()
        .unwrap();
    assert_eq!(old.version, 2);

    // PC1, amending again over its stale version, meets the clash in turn.
    amend(&mut pc1, r1, &[("bp.diastolic", "88")]);
    assert_eq!(sync(&mut pc1, &platform).conflicts, 1);
    assert_eq!(on_hub(&platform, &pc1, &uuid).1, 3);
}

#[test]
fn pc2_then_pc1_a_fetched_record_is_amended_with_if_match_and_pc1_takes_the_platforms() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (mut pc1, mut pc2, uuid) = two_pcs(dir.path(), &platform);
    let (r1, r2) = (pc1.local_id(&uuid), pc2.local_id(&uuid));

    amend(&mut pc2, r2, &[("bp.systolic", "141")]);
    amend(&mut pc1, r1, &[("bp.systolic", "122")]);
    assert_eq!(sync(&mut pc2, &platform).sent, 1);
    let second = sync(&mut pc1, &platform);
    assert_eq!((second.sent, second.conflicts), (0, 1), "{:?}", second.error);
    assert_eq!(on_hub(&platform, &pc1, &uuid).0.text("bp.systolic"), Some("141"));

    // Take theirs: the platform's answers here, ours kept in the history.
    let actor = pc1.actor.clone();
    let mine_before = local_answers(&pc1, r1);
    let queued = conflict::resolve(&mut pc1.store, &pc1.registry, &actor, r1, &Choice::Theirs).unwrap();
    assert_eq!(queued, Ok(false), "nothing to upload: the platform has it");
    assert_eq!(local_answers(&pc1, r1), on_hub(&platform, &pc1, &uuid).0);
    let kept: String = pc1
        .sql()
        .query_row(
            "SELECT answers FROM record_revisions WHERE record_id = ?1 AND revision = 2",
            [r1],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(serde_json::from_str::<Answers>(&kept).unwrap(), mine_before);
    assert_eq!(audited(&pc1, "conflict_theirs"), 1);
    let after = sync(&mut pc1, &platform);
    assert_eq!((after.sent, after.conflicts, after.status.conflict), (0, 0, 0));
    assert_eq!(on_hub(&platform, &pc1, &uuid).1, 2);

    // The next amendment goes over the platform's version without a clash.
    amend(&mut pc1, r1, &[("bp.diastolic", "84")]);
    let next = sync(&mut pc1, &platform);
    assert_eq!((next.sent, next.conflicts), (1, 0), "{:?}", next.error);
    let (hub, version) = on_hub(&platform, &pc1, &uuid);
    assert_eq!(
        (hub.text("bp.systolic"), hub.text("bp.diastolic"), version),
        (Some("141"), Some("84"), 3)
    );
}

#[test]
fn a_pulled_record_amended_on_both_pcs_is_merged_item_by_item() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut pc1 = Clinic::open(dir.path(), "pc1", "101");
    let (resident, _) = pc1.register(0);
    sync(&mut pc1, &platform);
    let mut pc2 = Clinic::open(dir.path(), "pc2", "101");
    pc2.fetch_from(&platform, &pc1.id_number_of(resident));
    // The follow-up reaches PC2 by pull, not fetch.
    let visit = pc1.follow_up(resident, "hypertension-followup", 3);
    sync(&mut pc1, &platform);
    assert_eq!(sync(&mut pc2, &platform).pulled.added, 1);
    let uuid = pc1.uuid_of(visit);
    let (r1, r2) = (pc1.local_id(&uuid), pc2.local_id(&uuid));

    amend(&mut pc1, r1, &[("bp.systolic", "155"), ("height", "171.0")]);
    amend(&mut pc2, r2, &[("bp.systolic", "128"), ("weight.current", "66.0")]);
    assert_eq!(sync(&mut pc1, &platform).sent, 1);
    assert_eq!(sync(&mut pc2, &platform).conflicts, 1);

    let actor = pc2.actor.clone();
    let c = pc2.store.conflict(&actor, r2).unwrap();
    let def = pc2.registry.get("hypertension-followup").unwrap();
    let items = conflict::diff(def, &c.mine, &c.server.unwrap().answers, Lang::En);
    let fields: BTreeSet<&str> = items.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(fields, BTreeSet::from(["bp", "height", "weight"]), "{items:?}");

    // PC1's blood pressure and height, PC2's weight.
    let take: BTreeSet<String> = ["bp".to_string(), "height".to_string()].into();
    let queued = conflict::resolve(&mut pc2.store, &pc2.registry, &actor, r2, &Choice::Merge(take)).unwrap();
    assert_eq!(queued, Ok(true));
    assert_eq!(audited(&pc2, "conflict_merged"), 1);
    let merged = sync(&mut pc2, &platform);
    assert_eq!((merged.sent, merged.conflicts), (1, 0), "{:?}", merged.error);
    let (hub, version) = on_hub(&platform, &pc1, &uuid);
    assert_eq!(
        (
            hub.text("bp.systolic"),
            hub.text("height"),
            hub.text("weight.current"),
            version
        ),
        (Some("155"), Some("171.0"), Some("66.0"), 3)
    );
    assert_eq!(local_answers(&pc2, r2), hub);
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A sysadmin over SSH: `jkda sync --status` lists the clash and exits 1
/// while it waits; `jkda conflicts` lists it, shows both versions item by
/// item, refuses an item that does not differ, and resolves it; the next
/// `jkda sync` sends ours over the platform's version and exits 0.
#[test]
fn the_command_line_lists_shows_and_resolves_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (mut pc1, mut pc2, uuid) = two_pcs(dir.path(), &platform);
    let (r1, r2) = (pc1.local_id(&uuid), pc2.local_id(&uuid));
    amend(&mut pc1, r1, &[("bp.systolic", "150")]);
    amend(&mut pc2, r2, &[("bp.systolic", "132")]);
    sync(&mut pc1, &platform);
    assert_eq!(sync(&mut pc2, &platform).conflicts, 1);
    // PC2's database becomes a data directory the binary opens.
    let data = dir.path().join("pc2-data");
    std::fs::create_dir(&data).unwrap();
    let from = pc2.path.clone();
    drop(pc2);
    std::fs::rename(&from, data.join(jkda::paths::DB_FILE)).unwrap();
    std::fs::write(
        data.join("config.toml"),
        format!(
            "server_url = \"{}\"\nsite_token = \"{}\"\n",
            platform.url(),
            platform.tokens[0]
        ),
    )
    .unwrap();
    let run = |args: &[&str]| common::run_jkda(&data, &[&["--lang", "en"], args].concat());

    let status = run(&["sync", "--status"]);
    assert_eq!(status.status.code(), Some(1), "{}", text(&status));
    assert!(text(&status).contains("jkda conflicts show"), "{}", text(&status));
    let list = run(&["conflicts", "list"]);
    assert_eq!(list.status.code(), Some(1), "{}", text(&list));
    assert!(text(&list).contains(&format!("#{r2}")), "{}", text(&list));
    let show = run(&["conflicts", "show", &r2.to_string()]);
    let shown = text(&show);
    assert_eq!(show.status.code(), Some(0), "{shown}");
    let label = &pc1
        .registry
        .get("hypertension-followup")
        .unwrap()
        .field("bp")
        .unwrap()
        .label
        .en;
    assert!(shown.contains(&format!("{label} [bp]")), "{shown}");
    assert!(
        shown.contains("ours: 132/") && shown.contains("platform: 150/"),
        "{shown}"
    );
    let json = run(&["conflicts", "show", &r2.to_string(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["items"][0]["field"], "bp", "{v}");

    let typo = run(&["conflicts", "resolve", &r2.to_string(), "--take", "bpp"]);
    assert_eq!(typo.status.code(), Some(1), "{}", text(&typo));
    let done = run(&["conflicts", "resolve", &r2.to_string(), "--keep", "mine"]);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done));
    let none = run(&["conflicts", "list"]);
    assert_eq!(none.status.code(), Some(0), "{}", text(&none));
    let up = run(&["sync"]);
    assert_eq!(up.status.code(), Some(0), "{}", text(&up));
    assert_eq!(on_hub(&platform, &pc1, &uuid).0.text("bp.systolic"), Some("132"));
}

/// The conflict screen through the shell and a real store, as a person
/// uses it: F9, `c` on the clash, Space on an item, Enter to merge — the
/// merged version is a new revision queued over the platform's version.
#[test]
fn the_conflict_screen_merges_ticked_items_through_the_shell() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use jkda::app::{App, Clock, Msg, Notice};
    use jkda::store::ServerCopy;
    let dir = tempfile::tempdir().unwrap();
    let mut pc = Clinic::open(dir.path(), "pc", "101");
    let (resident, _) = pc.register(0);
    let visit = pc.follow_up(resident, "hypertension-followup", 3);
    // Both records confirmed at version 1; then an amendment the platform refuses.
    let now = chrono::Utc::now();
    let items = pc.store.claim_outbox(now, chrono::Duration::hours(1), 10).unwrap();
    let sent: Vec<jkda::store::Sent> = items
        .iter()
        .map(|i| jkda::store::Sent {
            outbox_id: i.outbox_id,
            server_version: Some("1".into()),
            patient: None,
        })
        .collect();
    let actor = pc.actor.clone();
    pc.store.mark_sent(&actor, &sent, now).unwrap();
    let original = local_answers(&pc, visit);
    amend(&mut pc, visit, &[("bp.systolic", "150"), ("weight.current", "66.0")]);
    let refused = pc.store.claim_outbox(now, chrono::Duration::hours(1), 10).unwrap();
    assert_eq!(refused[0].if_match.as_deref(), Some("1"));
    pc.store
        .mark_refused(refused[0].outbox_id, true, "version conflict")
        .unwrap();
    let mut theirs = original.clone();
    theirs.set_text("bp.systolic", "132");
    theirs.set_text("weight.current", "70.0");
    let copy = ServerCopy {
        version: Some("2".into()),
        answers: theirs,
        author: Some("zhang".into()),
        at: Some("2026-11-28T09:40:00Z".into()),
        site: Some("s1".into()),
    };
    pc.store.keep_conflict(refused[0].outbox_id, Some(&copy)).unwrap();

    let store = jkda::store::Store::open(&pc.path).unwrap();
    let mut shell = jkda::shell::Shell::new(store, jkda::form::Registry::embedded(), Actor::new("doc"));
    let clock = Clock {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        time: chrono::NaiveTime::MIN,
        instant: std::time::Instant::now(),
    };
    let site = Some(site("101"));
    let mut app = App::new(Lang::En, jkda::keymap::Keymap::default(), site, &clock);
    for m in shell.startup(&mut app, &clock) {
        shell.dispatch(&mut app, m, &clock);
    }
    let mut press = |app: &mut App, code: KeyCode| {
        shell.dispatch(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), &clock);
    };
    press(&mut app, KeyCode::F(9));
    let row = app
        .sync
        .rows
        .iter()
        .position(|r| r.state == "conflict")
        .expect("listed");
    for _ in 0..row {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Char('c'));
    let shown = app.conflict().cloned().expect("the conflict screen is open");
    let fields: Vec<&str> = shown.items.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(fields, ["bp", "weight"], "in the form's order");
    assert!(shown.theirs_who.contains("zhang") && shown.theirs_who.contains("s1"));
    // Tick blood pressure (the platform's), keep our weight, merge.
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Enter);
    assert!(app.conflict().is_none(), "closed once resolved");
    assert!(matches!(app.notice, Some(Notice::Info(_))), "{:?}", app.notice);

    let merged = local_answers(&pc, visit);
    assert_eq!(
        (merged.text("bp.systolic"), merged.text("weight.current")),
        (Some("132"), Some("66.0"))
    );
    assert_eq!(audited(&pc, "conflict_merged"), 1);
    let next = pc.store.claim_outbox(now, chrono::Duration::hours(1), 10).unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!((next[0].record.revision, next[0].if_match.as_deref()), (3, Some("2")));
    assert_eq!(pc.store.conflict_count().unwrap(), 0);
}

/// A clash kept without the platform's copy (the read failed, or it is from
/// a database older than the copies) cannot be compared yet; the next sync
/// reads the copy, and then it is resolved — never stuck.
#[test]
fn a_conflict_without_the_platforms_copy_gets_it_at_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let (mut pc1, mut pc2, uuid) = two_pcs(dir.path(), &platform);
    let (r1, r2) = (pc1.local_id(&uuid), pc2.local_id(&uuid));
    amend(&mut pc1, r1, &[("bp.systolic", "150")]);
    sync(&mut pc1, &platform);
    amend(&mut pc2, r2, &[("bp.systolic", "132")]);
    let now = chrono::Utc::now();
    let due = pc2.store.claim_outbox(now, chrono::Duration::hours(1), 10).unwrap();
    pc2.store
        .mark_refused(due[0].outbox_id, true, "version conflict")
        .unwrap();
    let actor = pc2.actor.clone();
    assert!(!pc2.store.conflicts(&actor).unwrap()[0].server_known);
    let early = conflict::resolve(&mut pc2.store, &pc2.registry, &actor, r2, &Choice::Mine).unwrap();
    assert_eq!(early, Err(jkda::store::Unresolvable::ServerUnknown));

    let r = sync(&mut pc2, &platform);
    assert_eq!(r.status.conflict, 1, "still waiting for a person");
    let listed = pc2.store.conflicts(&actor).unwrap();
    assert_eq!(
        (listed[0].server_known, listed[0].server_version.as_deref()),
        (true, Some("2"))
    );
    let done = conflict::resolve(&mut pc2.store, &pc2.registry, &actor, r2, &Choice::Mine).unwrap();
    assert_eq!(done, Ok(true));
    assert_eq!(sync(&mut pc2, &platform).sent, 1);
    assert_eq!(on_hub(&platform, &pc1, &uuid).0.text("bp.systolic"), Some("132"));
}
