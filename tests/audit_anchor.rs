//! The audit trail anchored outside the clinic's database: each upload
//! sends the trail's head to the platform as a FHIR AuditEvent; the
//! platform refuses to let it go back (and keeps the attempt for the
//! bureau); `verify` compares the trail with it. Reproduces the attacks of
//! issue 13 item 2 — a row changed and rehashed, rows deleted and the
//! chain rebuilt, the tail cut — by someone holding the database key.

mod common;
mod sync_support;

use jkda::store::Actor;
use jkda::sync::anchor::{self, Comparison};
use jkda::sync::client::Client;
use jkda::sync::Uploader;
use sha2::{Digest, Sha256};
use sync_support::*;

fn upload(clinic: &mut Clinic, platform: &Platform) -> jkda::sync::uploader::RunReport {
    let cfg = sync_config(&platform.url(), &platform.tokens[0]);
    let mut up = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync")).unwrap();
    up.run(&mut clinic.store)
}

fn platform_says(clinic: &Clinic, platform: &Platform) -> Comparison {
    let client = Client::new(&sync_config(&platform.url(), &platform.tokens[0])).unwrap();
    let installation = clinic.store.installation_id().unwrap();
    let anchor = anchor::fetch(&client, &installation).unwrap();
    anchor::compare(&clinic.store, anchor.as_ref()).unwrap()
}

/// What an attacker with the key does: rewrites every hash from `from` on
/// so the local chain verifies again, and moves the kept head along.
fn rehash_from(c: &rusqlite::Connection, from: i64) {
    let mut rows: Vec<(i64, String, String, String, String, String)> = c
        .prepare("SELECT id, at, actor, action, entity, entity_id FROM audit WHERE id >= ?1 ORDER BY id")
        .unwrap()
        .query_map([from], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut prev: String = c
        .query_row(
            "SELECT hash FROM audit WHERE id < ?1 ORDER BY id DESC LIMIT 1",
            [from],
            |r| r.get(0),
        )
        .unwrap_or_else(|_| "0".repeat(64));
    for (id, at, actor, action, entity, entity_id) in rows.drain(..) {
        let mut h = Sha256::new();
        for part in [prev.as_str(), &at, &actor, &action, &entity, &entity_id] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let hash: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        c.execute(
            "UPDATE audit SET prev_hash = ?2, hash = ?3 WHERE id = ?1",
            rusqlite::params![id, prev, hash],
        )
        .unwrap();
        prev = hash;
    }
    let head: (i64, String) = c
        .query_row("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    c.execute(
        "UPDATE settings SET value = ?1 WHERE key = 'audit.head'",
        [format!("{}:{}", head.0, head.1)],
    )
    .unwrap();
}

#[test]
fn an_upload_anchors_the_trail_and_a_rewritten_or_cut_trail_no_longer_matches() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    assert_eq!(platform_says(&clinic, &platform), Comparison::NoAnchor);
    clinic.fill(5, 1);
    let report = upload(&mut clinic, &platform);
    assert!(report.error.is_none() && report.anchor_error.is_none(), "{report:?}");
    let (seq, _) = clinic.store.audit_head().unwrap().unwrap();
    assert!(matches!(platform_says(&clinic, &platform), Comparison::Matches { seq: s, .. } if s == seq));
    assert!(clinic.store.verify_audit().unwrap().is_none());

    // A row changed and the chain rebuilt: this PC's check says intact, the
    // platform's copy does not agree.
    let c = clinic.sql();
    c.execute("UPDATE audit SET actor = 'someone-else' WHERE id = 2", [])
        .unwrap();
    rehash_from(&c, 2);
    assert!(
        clinic.store.verify_audit().unwrap().is_none(),
        "the local check is fooled"
    );
    assert!(matches!(platform_says(&clinic, &platform), Comparison::Altered { seq: s, .. } if s == seq));

    // The tail cut back behind the anchor: the platform's entry is missing.
    c.execute("DELETE FROM audit WHERE id > 3", []).unwrap();
    rehash_from(&c, 1);
    assert!(
        clinic.store.verify_audit().unwrap().is_none(),
        "the local check is fooled"
    );
    assert!(matches!(
        platform_says(&clinic, &platform),
        Comparison::Shorter { seq: s, local_last: 3, .. } if s == seq
    ));

    // The next upload would move the anchor back: refused, and kept for
    // the bureau.
    let report = upload(&mut clinic, &platform);
    let refused = report.anchor_error.expect("the rewind is refused");
    assert!(refused.to_string().contains("409"), "{refused}");
    let hub = platform.conn();
    let kept: (i64, i64) = hub
        .query_row("SELECT from_seq, to_seq FROM audit_rewinds", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(kept.0, seq);
    assert!(kept.1 < seq);
    // And the platform still holds the old head.
    assert!(matches!(platform_says(&clinic, &platform), Comparison::Shorter { .. }));
}

#[test]
fn the_trail_emptied_is_caught_and_an_unchanged_trail_is_not_sent_twice() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(3, 0);
    assert!(upload(&mut clinic, &platform).anchor_error.is_none());
    let versions = |p: &Platform| -> i64 {
        p.conn()
            .query_row("SELECT version FROM resources WHERE type = 'AuditEvent'", [], |r| {
                r.get(0)
            })
            .unwrap()
    };
    let first = versions(&platform);
    // Nothing new in the trail: nothing new sent.
    let head = clinic.store.audit_head().unwrap();
    let report = upload(&mut clinic, &platform);
    assert!(report.anchor_error.is_none());
    if clinic.store.audit_head().unwrap() == head {
        assert_eq!(versions(&platform), first);
    }
    let c = clinic.sql();
    c.execute("DELETE FROM audit", []).unwrap();
    c.execute("DELETE FROM settings WHERE key = 'audit.head'", []).unwrap();
    assert!(
        clinic.store.verify_audit().unwrap().is_none(),
        "an empty trail looks intact here"
    );
    assert!(matches!(
        platform_says(&clinic, &platform),
        Comparison::Shorter { local_last: 0, .. }
    ));
}

#[test]
fn audit_verify_on_the_command_line_says_what_it_could_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut platform = Platform::start(dir.path());
    let data = dir.path().join("clinic");
    let out = common::run_jkda_input(&data, &["init", "--no-encrypt"], &format!("{}\n", common::ADMIN_PW));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(
        data.join("config.toml"),
        format!(
            "server_url = \"{}\"\nsite_token = \"{}\"\n",
            platform.url(),
            platform.tokens[0]
        ),
    )
    .unwrap();
    let verify = |lang: &str| {
        let out = common::run_jkda(&data, &["--lang", lang, "audit", "verify"]);
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, said) = verify("en");
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("holds no copy of this trail yet"), "{said}");
    let out = common::run_jkda(&data, &["sync"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (code, said) = verify("zh");
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("与本机一致"), "{said}");

    // Emptied by someone with the (here: no) key: caught by the platform.
    let db = rusqlite::Connection::open(jkda::paths::db_path(&data)).unwrap();
    db.execute_batch("DELETE FROM audit; DELETE FROM settings WHERE key = 'audit.head';")
        .unwrap();
    drop(db);
    let (code, said) = verify("en");
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("entries were removed"), "{said}");

    // The platform down: only this PC's copy, and it says so.
    platform.stop();
    let (code, said) = verify("en");
    assert!(said.contains("could not be asked"), "{said}");
    assert_eq!(code, Some(0), "{said}");
}
