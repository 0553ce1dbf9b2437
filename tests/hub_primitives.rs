//! The hub refuses FHIR primitives that are not what the specification says
//! (issue 13, item 6), over loopback against the real hub: a birth date
//! "abcd", a number sent as text, an id no client can read back. Each is a
//! 400 whose OperationOutcome names the element, and nothing is stored;
//! what jkda itself uploads still goes through.

mod sync_support;

use jkda::store::Actor;
use jkda::sync::Uploader;
use serde_json::{json, Value};
use sync_support::*;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// PUTs `body` at `path`; the status and the answer's JSON.
fn put(platform: &Platform, path: &str, body: &Value) -> (u16, Value) {
    let mut r = agent()
        .put(format!("{}/{path}", platform.url()))
        .header("Authorization", &format!("Bearer {}", platform.tokens[0]))
        .send(&serde_json::to_vec(body).unwrap()[..])
        .unwrap();
    (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null))
}

fn refused_at(answer: &(u16, Value)) -> String {
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert_eq!(answer.1["resourceType"], "OperationOutcome");
    answer.1["issue"][0]["expression"][0].as_str().unwrap_or("").to_string()
}

#[test]
fn a_patient_with_a_birth_date_that_is_no_date_is_refused_and_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    for birth in ["abcd", "19a0", "1950-1", "1950-02-30", "1950-13", "0000"] {
        let p = json!({"resourceType": "Patient", "id": "p1", "birthDate": birth});
        let answer = put(&platform, "Patient/p1", &p);
        assert_eq!(refused_at(&answer), "Patient.birthDate", "{birth}");
        let text = answer.1["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(!text.contains(birth), "the value is echoed: {text}");
    }
    let p = json!({"resourceType": "Patient", "id": "p1", "gender": "M"});
    assert_eq!(refused_at(&put(&platform, "Patient/p1", &p)), "Patient.gender");
    assert_eq!(jkda::hub::storage::count(&platform.conn(), "Patient").unwrap(), 0);
    // A real date (year, month or day precision) is taken.
    for birth in ["1950", "1950-03", "1950-03-04"] {
        let p = json!({"resourceType": "Patient", "id": "p1", "birthDate": birth, "gender": "female"});
        assert!(matches!(put(&platform, "Patient/p1", &p).0, 200 | 201), "{birth}");
    }
}

#[test]
fn dot_dot_and_other_unreadable_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    // Sent raw: an HTTP library would resolve `..` away before sending.
    use std::io::{Read, Write};
    let body = br#"{"resourceType":"Patient","id":".."}"#;
    let mut s = std::net::TcpStream::connect(platform.addr()).unwrap();
    write!(
        s,
        "PUT /Patient/.. HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        platform.tokens[0],
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("Patient.id"), "{answer}");
    assert_eq!(jkda::hub::storage::count(&platform.conn(), "Patient").unwrap(), 0);

    // In a transaction too, with the entry named.
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "PUT", "url": "Patient/."}, "resource": {"resourceType": "Patient", "id": "."}}
    ]});
    let mut r = agent()
        .post(format!("{}/", platform.url()))
        .header("Authorization", &format!("Bearer {}", platform.tokens[0]))
        .send(&serde_json::to_vec(&bundle).unwrap()[..])
        .unwrap();
    assert_eq!(r.status(), 400);
    let outcome: Value = r.body_mut().read_json().unwrap();
    assert_eq!(outcome["issue"][0]["expression"][0], "Patient.id", "{outcome}");
}

#[test]
fn records_with_malformed_dates_numbers_or_codes_are_refused_with_the_element_path() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let patient = json!({"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1950-03-04",
        "identifier": [{"system": "urn:oid:1.2.156", "value": "110101195003040011"}]});
    assert_eq!(put(&platform, "Patient/p1", &patient).0, 201);
    let subject = json!({"reference": "Patient/p1"});
    let observation = |extra: Value| {
        let mut o = json!({"resourceType": "Observation", "id": "o1", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}, "subject": subject,
            "effectiveDateTime": "2026-11-29", "valueQuantity": {"value": 72, "unit": "/min",
            "system": "http://unitsofmeasure.org", "code": "/min"}});
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        o
    };
    let cases = [
        (
            "Observation/o1",
            observation(json!({"valueQuantity": {"value": "72"}})),
            "Observation.valueQuantity.value",
        ),
        (
            "Observation/o1",
            observation(json!({"effectiveDateTime": "2026-11-29 10:00"})),
            "Observation.effectiveDateTime",
        ),
        (
            "Observation/o1",
            observation(json!({"component": [{"code": {"coding": [{"code": "8480-6"}]},
                "valueQuantity": {"value": 1.5e3}}, {"code": {"coding": [{"code": "8462-4"}]},
                "valueQuantity": {"value": "85"}}]})),
            "Observation.component[1].valueQuantity.value",
        ),
        (
            "Encounter/e1",
            json!({"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"},
                "subject": subject, "period": {"start": "2026-11-31", "end": "2026-11-31"}}),
            "Encounter.period.start",
        ),
        (
            "QuestionnaireResponse/q1",
            json!({"resourceType": "QuestionnaireResponse", "id": "q1", "status": "completed",
                "questionnaire": "urn:jkda:form|1", "subject": subject, "authored": "2026-11-29T10:00+08:00"}),
            "QuestionnaireResponse.authored",
        ),
        (
            "Patient/p1",
            json!({"resourceType": "Patient", "id": "p1", "identifier": [{"system": "urn:oid:1.2.156", "value": ""}]}),
            "Patient.identifier[0].value",
        ),
    ];
    for (path, body, element) in cases {
        assert_eq!(refused_at(&put(&platform, path, &body)), element);
    }
    assert_eq!(jkda::hub::storage::count(&platform.conn(), "Observation").unwrap(), 0);
    assert_eq!(put(&platform, "Observation/o1", &observation(json!({}))).0, 201);
}

#[test]
fn what_jkda_uploads_passes_the_checks() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(20, 3);
    let mut up = Uploader::new(
        sync_config(&platform.url(), &platform.tokens[0]),
        clinic.registry.clone(),
        Actor::new("sync"),
    )
    .unwrap();
    let reports = upload_until_done(&mut up, &mut clinic.store, 10);
    let last = reports.last().unwrap();
    assert_eq!((last.status.pending, last.status.failed), (0, 0));
    assert!(assert_hub_matches(&clinic, &platform) > 20);
}
