//! Abandoning drafts (issue 10, part 6): the draft leaves every list, a
//! registration's draft resident with it, the reason is kept and the act
//! audited; final records and amendments are refused.

mod common;

use common::{install, run_jkda_input, DOCTOR_PW};
use jkda::form::Registry;
use jkda::store::{ResidentFields, Save};
use serde_json::Value;

#[test]
fn an_abandoned_draft_leaves_every_list() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    install(&dir, 3);
    let registry = Registry::embedded();
    let (registration_draft, visit_draft, final_id, resident) = {
        let mut s = jkda::session::login(&dir, "li", &DOCTOR_PW.into()).unwrap_or_else(|m| panic!("{m:?}"));
        let site = s.store.site().unwrap().unwrap();
        // A registration started and left: a draft resident with a name.
        let def = registry.registration().unwrap().clone();
        let src = registry.source(&def.id).unwrap().to_string();
        let r = s.store.create_resident(&s.actor, &site).unwrap();
        let rec = s.store.create_record(&s.actor, r.id, &def, &src).unwrap();
        let save = Save {
            answers: Default::default(),
            focus: None,
            record_date: None,
            resident: Some(ResidentFields {
                name: Some("弃档测试".into()),
                ..Default::default()
            }),
        };
        s.store.save_draft(&s.actor, rec.id, &save).unwrap();
        // A follow-up begun for an existing resident.
        let existing = s.store.recent_residents(&s.actor, 10).unwrap();
        let someone = existing.iter().find(|x| x.status == "active").unwrap().id;
        let ht = registry.get("hypertension-followup").unwrap().clone();
        let ht_src = registry.source(&ht.id).unwrap().to_string();
        let visit = s.store.create_record(&s.actor, someone, &ht, &ht_src).unwrap();
        let final_id = s
            .store
            .records_of(&s.actor, someone)
            .unwrap()
            .iter()
            .find(|x| x.id != visit.id)
            .unwrap()
            .id;
        (rec.id, visit.id, final_id, someone)
    };
    let jkda = |args: &[&str]| run_jkda_input(&dir, args, &format!("{DOCTOR_PW}\n"));
    let list = || -> Vec<i64> {
        let o = jkda(&["--user", "li", "drafts", "list", "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(list(), [registration_draft, visit_draft]);
    let o = jkda(&["--user", "li", "drafts", "list"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("弃*") && !text.contains("弃档测试"),
        "names are masked: {text}"
    );

    // Refused: no reason, a final record.
    let id = registration_draft.to_string();
    let o = jkda(&["--user", "li", "drafts", "abandon", &id, "--reason", "  "]);
    assert_eq!(o.status.code(), Some(1));
    let o = jkda(&[
        "--user",
        "li",
        "drafts",
        "abandon",
        &final_id.to_string(),
        "--reason",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(1));

    let o = jkda(&["--user", "li", "drafts", "abandon", &id, "--reason", "本人拒绝建档"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = jkda(&[
        "--user",
        "li",
        "drafts",
        "abandon",
        &visit_draft.to_string(),
        "--reason",
        "选错了居民",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(list().is_empty());

    // Gone from search, the resident list and the resident's timeline.
    let o = jkda(&["--user", "li", "residents", "search", "弃档测试", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&o.stdout).unwrap(),
        serde_json::json!([])
    );
    let s = jkda::session::login(&dir, "li", &DOCTOR_PW.into()).unwrap();
    assert!(s
        .store
        .recent_residents(&s.actor, 100)
        .unwrap()
        .iter()
        .all(|r| r.status != "draft"));
    assert!(s
        .store
        .records_of(&s.actor, resident)
        .unwrap()
        .iter()
        .all(|r| r.id != visit_draft));
    assert!(s.store.record(&s.actor, visit_draft).is_err());
    // Audited, by whom, with record ids only.
    let o = run_jkda_input(
        &dir,
        &["--user", "admin", "audit", "show", "--json"],
        &format!("{}\n", common::ADMIN_PW),
    );
    let entries: Value = serde_json::from_slice(&o.stdout).unwrap();
    let abandoned: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "abandon_draft" && e["actor"] == "li")
        .map(|e| e["entity_id"].as_str().unwrap())
        .collect();
    assert_eq!(abandoned, [id.as_str(), visit_draft.to_string().as_str()]);
}
