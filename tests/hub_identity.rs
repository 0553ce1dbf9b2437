//! Who a resident is across sites (issue 13, item 7), against the real hub
//! on 127.0.0.1:0: an ID card or health-record number belongs to the
//! Patient that registered it first, and a record's parts to the record's
//! site, so one site can neither register another's resident a second time
//! nor block another's upload by creating its Observations first.

mod sync_support;

use jkda::fhir::{self, Identifiers, Request, Resource};
use jkda::i18n::{I18n, Lang};
use jkda::store::{Actor, Save};
use jkda::sync::{Client, SyncError, Uploader};
use serde_json::{json, Value};
use sync_support::*;

fn uploader(clinic: &Clinic, url: &str, token: &str) -> Uploader {
    Uploader::new(sync_config(url, token), clinic.registry.clone(), Actor::new("sync")).unwrap()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// `PUT {url}/{Type}/{id}` with a site's token: (status, body).
fn put(platform: &Platform, token: &str, v: &Value) -> (u16, Value) {
    let url = format!(
        "{}/{}/{}",
        platform.url(),
        v["resourceType"].as_str().unwrap(),
        v["id"].as_str().unwrap()
    );
    let mut resp = agent()
        .put(url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/fhir+json")
        .send(serde_json::to_vec(v).unwrap())
        .unwrap();
    let body: Value = serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap_or(Value::Null);
    (resp.status().as_u16(), body)
}

/// (resident uuid, ID number, record number) of a clinic's resident.
fn resident(clinic: &Clinic, id: i64) -> (String, String, String) {
    clinic
        .sql()
        .query_row(
            "SELECT uuid, id_number, record_no FROM residents WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

#[test]
fn a_second_site_cannot_register_an_id_number_and_is_told_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let mut platform = Platform::start(dir.path());
    let mut a = Clinic::open(dir.path(), "a", "101");
    let (a_resident, _) = a.register(0);
    assert_eq!(
        uploader(&a, &platform.url(), &platform.tokens[0])
            .run(&mut a.store)
            .sent,
        1
    );
    let (a_uuid, id_number, a_record_no) = resident(&a, a_resident);

    // Site s2 registers a resident with the same ID number (the clinics'
    // made-up residents come from the same seed): its upload is refused,
    // and the outbox says where the resident is, without the number.
    let mut b = Clinic::open(dir.path(), "b", "102");
    let (b_resident, _) = b.register(0);
    let (b_uuid, b_id_number, _) = resident(&b, b_resident);
    assert_eq!(
        b_id_number, id_number,
        "the test needs the same ID number at both sites"
    );
    let mut up_b = uploader(&b, &platform.url(), &platform.tokens[1]);
    let r = up_b.run(&mut b.store);
    assert_eq!((r.sent, r.failed, r.conflicts), (0, 1, 0), "{:?}", r.error);
    assert!(
        matches!(&r.error, Some(SyncError::RegisteredElsewhere { status: 422, id_card: true, site, patient })
            if site == "s1" && *patient == format!("Patient/{a_uuid}")),
        "{:?}",
        r.error
    );
    let failed = b.store.outbox_rows(&["failed"], 10).unwrap();
    assert_eq!(failed.len(), 1);
    let stored = failed[0].last_error.clone().unwrap();
    assert!(!stored.contains(&id_number), "{stored}");
    let m = jkda::sync::stored_message(&stored);
    // Read back at the end of the sync (issue 14): the same person, with
    // the platform's record number to show and link to.
    assert_eq!(m.key, "sync.err_registered_same");
    for lang in [Lang::Zh, Lang::En] {
        let text = I18n::new(lang).msg(&m);
        assert!(
            text.contains("s1") && text.contains(&format!("Patient/{a_uuid}")) && text.contains(&a_record_no),
            "{text}"
        );
        assert!(!text.contains(&id_number) && !text.contains('{'), "{text}");
    }
    assert!(I18n::new(Lang::Zh)
        .msg(&m)
        .contains(&format!("已在平台建档（档案编号 {a_record_no}，s1")));

    // The same through the FHIR API: 422, issue `duplicate` at
    // Patient.identifier, naming the existing Patient and its site.
    let mut forged = jkda::hub::storage::read(&platform.conn(), "Patient", &a_uuid, None)
        .unwrap()
        .unwrap()
        .resource
        .0;
    forged["id"] = json!(b_uuid);
    forged.as_object_mut().unwrap().remove("meta");
    let (status, body) = put(&platform, &platform.tokens[1], &forged);
    assert_eq!(status, 422, "{body}");
    let issue = &body["issue"][0];
    assert_eq!(issue["code"], "duplicate");
    let diagnostics = issue["diagnostics"].as_str().unwrap();
    assert!(
        diagnostics.contains(&format!("Patient/{a_uuid}")) && diagnostics.contains("site s1"),
        "{diagnostics}"
    );
    assert!(
        issue["expression"][0]
            .as_str()
            .unwrap()
            .starts_with("Patient.identifier"),
        "{issue}"
    );
    let text = body.to_string();
    assert!(!text.contains(&id_number) && !text.contains(&a_record_no), "{text}");
    assert!(!platform.log_text().contains(&id_number));

    // A fresh ID number with site s1's health-record number: refused too.
    let ids = Identifiers::default();
    let other = json!({
        "resourceType": "Patient", "id": "b-other",
        "identifier": [
            { "system": ids.id_number, "value": "110101199001011237" },
            { "system": ids.record_no, "value": a_record_no },
        ],
    });
    let (status, body) = put(&platform, &platform.tokens[1], &other);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["issue"][0]["expression"][0], "Patient.identifier[1]");
    assert_eq!(
        fhir::registered_to(&body).map(|t| t.code),
        Some(fhir::REGISTERED_RECORD_NO.to_string())
    );
    // A lower-case check letter is the same number.
    let with_x = |id: &str, value: &str| {
        json!({
            "resourceType": "Patient", "id": id,
            "identifier": [{ "system": ids.id_number, "value": value }],
        })
    };
    assert_eq!(
        put(&platform, &platform.tokens[0], &with_x("a-x", "11010119900101123X")).0,
        201
    );
    assert_eq!(
        put(&platform, &platform.tokens[1], &with_x("b-x", "11010119900101123x")).0,
        422
    );

    // One person on the platform for the number, not two.
    let found = Client::new(&sync_config(&platform.url(), &platform.tokens[1]))
        .unwrap()
        .search("Patient", &[("identifier", &format!("{}|{id_number}", ids.id_number))])
        .unwrap();
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["entry"][0]["resource"]["id"], a_uuid.as_str());

    // Site s1 sends its own Patient again, unchanged and changed: fine.
    let client_a = Client::new(&sync_config(&platform.url(), &platform.tokens[0])).unwrap();
    let mut own = Resource(
        jkda::hub::storage::read(&platform.conn(), "Patient", &a_uuid, None)
            .unwrap()
            .unwrap()
            .resource
            .content(),
    );
    client_a
        .transaction(&fhir::transaction(&[Request::put(own.clone(), None)]))
        .unwrap();
    own.0["telecom"] = json!([{ "system": "phone", "value": "13800009999" }]);
    let (answer, _) = client_a
        .transaction(&fhir::transaction(&[Request::put(own, None)]))
        .unwrap();
    assert_eq!(answer["entry"][0]["response"]["status"], "200 OK", "{answer}");
    let (status, _) = put(
        &platform,
        &platform.tokens[0],
        &jkda::hub::storage::read(&platform.conn(), "Patient", &a_uuid, None)
            .unwrap()
            .unwrap()
            .resource
            .content(),
    );
    assert_eq!(status, 200);

    // Once s1's Patient is deleted the number is free, and s2's upload,
    // tried again, goes through.
    assert_eq!(
        agent()
            .delete(format!("{}/Patient/{a_uuid}", platform.url()))
            .header("Authorization", &format!("Bearer {}", platform.tokens[0]))
            .call()
            .unwrap()
            .status(),
        204
    );
    assert_eq!(b.store.retry_failed().unwrap(), 1);
    let r = up_b.run(&mut b.store);
    assert_eq!((r.sent, r.failed), (1, 0), "{:?}", r.error);
    platform.stop();
}

#[test]
fn a_record_part_made_up_by_another_site_no_longer_blocks_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    // Site s2 has a resident of its own on the platform.
    let mut b = Clinic::open(dir.path(), "b", "102");
    let (b_resident, _) = b.register(5);
    assert_eq!(
        uploader(&b, &platform.url(), &platform.tokens[1])
            .run(&mut b.store)
            .sent,
        1
    );
    let (b_patient, ..) = resident(&b, b_resident);
    let forge = |id: String| {
        json!({
            "resourceType": "Observation", "id": id, "status": "final",
            "code": { "text": "made up" },
            "subject": { "reference": format!("Patient/{b_patient}") },
        })
    };

    // Site s1's record, not uploaded yet; site s2 creates one of its
    // Observations first (a record id known early, or a hub database from
    // before the rule).
    let mut a = Clinic::open(dir.path(), "a", "101");
    let (a_resident, _) = a.register(0);
    let record_id = a.follow_up(a_resident, "hypertension-followup", 3);
    let uuid: String = a
        .sql()
        .query_row("SELECT uuid FROM records WHERE id = ?1", [record_id], |r| r.get(0))
        .unwrap();
    let bp = format!("{uuid}-bp");
    let (status, body) = put(&platform, &platform.tokens[1], &forge(bp.clone()));
    assert_eq!(status, 201, "{body}");

    // Site s1's upload goes through and the Observation is its own now;
    // the made-up version stays in the history.
    let mut up_a = uploader(&a, &platform.url(), &platform.tokens[0]);
    let r = up_a.run(&mut a.store);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!((r.sent, r.status.pending, r.status.failed), (2, 0, 0));
    let hub = platform.conn();
    let owner: String = hub
        .query_row(
            "SELECT site FROM resources WHERE type = 'Observation' AND id = ?1",
            [&bp],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(owner, "s1");
    let now = jkda::hub::storage::read(&hub, "Observation", &bp, None)
        .unwrap()
        .unwrap();
    assert_eq!(now.version, 2);
    assert_eq!(now.resource.0["code"]["coding"][0]["code"], "85354-9");
    let old = jkda::hub::storage::read(&hub, "Observation", &bp, Some(1))
        .unwrap()
        .unwrap();
    assert_eq!(old.resource.0["code"]["text"], "made up");

    // With the record on the platform, site s2 may create none of its parts
    // (say the waist circumference s1 adds in an amendment) nor change one.
    for id in [format!("{uuid}-waist"), bp.clone()] {
        let (status, body) = put(&platform, &platform.tokens[1], &forge(id.clone()));
        assert_eq!(status, 403, "{id}: {body}");
        let why = body["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(
            why.contains(&format!("QuestionnaireResponse/{uuid}")) && why.contains("s1"),
            "{why}"
        );
    }
    assert!(
        jkda::hub::storage::read(&hub, "Observation", &format!("{uuid}-waist"), None)
            .unwrap()
            .is_none()
    );
    // Nor in a transaction.
    let other = Client::new(&sync_config(&platform.url(), &platform.tokens[1])).unwrap();
    let e = other
        .transaction(&fhir::transaction(&[Request::put(
            Resource(forge(format!("{uuid}-waist"))),
            None,
        )]))
        .unwrap_err();
    assert!(matches!(e, SyncError::Refused { status: 403, .. }), "{e:?}");

    // Site s1 amends its record: uploaded as usual.
    let actor = a.actor.clone();
    let amended = a.store.amend(&actor, record_id).unwrap();
    let mut answers = amended.answers.clone();
    answers.set_text("bp.systolic", "133");
    let save = Save {
        answers,
        focus: None,
        record_date: amended.record_date.clone(),
        resident: None,
    };
    a.store.finalize(&actor, record_id, &save, None).unwrap();
    let r = up_a.run(&mut a.store);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.sent, 1);
    let bp_now = jkda::hub::storage::read(&hub, "Observation", &bp, None)
        .unwrap()
        .unwrap();
    assert_eq!(bp_now.resource.0["component"][0]["valueQuantity"]["value"], 133.0);

    // Ids that are not a record's parts keep the plain rule: whoever
    // created the resource owns it.
    let (status, _) = put(&platform, &platform.tokens[1], &forge("s2-own-observation".into()));
    assert_eq!(status, 201);
    let (status, _) = put(&platform, &platform.tokens[0], &forge("s2-own-observation".into()));
    assert_eq!(status, 403);
}
