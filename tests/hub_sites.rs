//! Clinics' health seen from the centre (issue 10, part 4): each sync sends
//! the installation's state as a FHIR Device; `jkda-hub sites` lists the
//! sites, the ones with problems (never heard from, silent for a week, …)
//! first. The hub and the uploads are real, over loopback.

mod sync_support;

use chrono::{Duration, Utc};
use jkda::store::Actor;
use jkda::sync::Uploader;
use sync_support::*;

fn upload(clinic: &mut Clinic, platform: &Platform) {
    let cfg = sync_config(&platform.url(), &platform.tokens[0]);
    let mut up = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync")).unwrap();
    let report = up.run(&mut clinic.store);
    assert!(report.error.is_none() && report.anchor_error.is_none(), "{report:?}");
}

#[test]
fn the_site_that_never_synced_comes_first_and_a_week_of_silence_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(3, 1);
    upload(&mut clinic, &platform);
    // The second sync carries the clock difference the first one measured.
    clinic.fill(1, 0);
    upload(&mut clinic, &platform);

    let conn = platform.conn();
    let now = Utc::now();
    let sites = jkda::hub::sites::health(&conn, now).unwrap();
    assert_eq!(
        sites
            .iter()
            .map(|s| (s.code.as_str(), s.problems.clone()))
            .collect::<Vec<_>>(),
        [("s2", vec!["never".to_string()]), ("s1", vec![])]
    );
    let s1 = &sites[1];
    assert_eq!(s1.installations.len(), 1);
    let state = &s1.installations[0].state;
    assert_eq!(state.version, env!("CARGO_PKG_VERSION"));
    assert_eq!((state.pending, state.failed, state.conflict), (0, 0, 0));
    assert_eq!(state.site.as_deref(), Some("220602101101"));
    assert!(state.free_disk_mb.is_some_and(|m| m > 0));
    assert!(state.clock_offset_s.is_some_and(|c| c.abs() <= 5), "{state:?}");
    assert_eq!(state.installation, clinic.store.installation_id().unwrap());

    // Eight days later, nothing more heard: silent, and before s2 (heard
    // from never) only by kind, after it by age.
    let later = jkda::hub::sites::health(&conn, now + Duration::days(8)).unwrap();
    let s1 = later.iter().find(|s| s.code == "s1").unwrap();
    assert_eq!(s1.problems, ["silent"]);

    // The command line, in Chinese.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jkda-hub"))
        .arg("--db")
        .arg(dir.path().join("hub.sqlite"))
        .arg("sites")
        .env("JKDA_LANG", "zh")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let never = text.find("从未联系").expect("s2 is listed as never heard from");
    let fine = text.find("正常").expect("s1 is fine");
    assert!(never < fine, "{text}");
    // No personal data in what the centre sees of a clinic.
    let devices: String = conn
        .query_row(
            "SELECT group_concat(content) FROM resources WHERE type = 'Device'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let names: Vec<String> = clinic
        .sql()
        .prepare("SELECT name FROM residents WHERE name IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(!names.is_empty());
    for name in names {
        assert!(!devices.contains(&name), "{devices}");
    }
}
