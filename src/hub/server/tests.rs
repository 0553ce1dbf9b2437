//! Property tests (issue 12): whatever a client sends, the hub answers
//! with a FHIR resource — a transaction-response or an OperationOutcome
//! with a 4xx status — and never panics or blames itself (5xx).

use super::*;
use crate::fhir::percent_decode;
use crate::fhir::percent_encode as encode;
use proptest::prelude::*;
use proptest::sample::Index;

#[test]
fn a_percent_without_two_hex_digits_stays_as_it_is() {
    assert_eq!(percent_decode("%7Cx%7c"), "|x|");
    assert_eq!(percent_decode("a+b"), "a b");
    // from_str_radix takes a sign: "%+1" was read as byte 1.
    for s in ["%-1", "%", "%4", "%zz", "100%"] {
        assert_eq!(percent_decode(s), s);
    }
    assert_eq!(percent_decode("%+1"), "% 1");
    assert_eq!(percent_decode("%E5%BC%A0%FF"), "张\u{fffd}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    /// What the client encodes (the shared encoder), the hub decodes.
    fn percent_decoding_round_trips(s in any::<String>()) {
        prop_assert_eq!(percent_decode(&encode(&s)), s.clone());
        // Anything at all decodes to something, without a panic.
        let _ = percent_decode(&s);
    }

}

thread_local! {
    /// One hub database per test thread, kept across cases: later
    /// cases meet what earlier ones wrote (updates, version conflicts).
    static WORKER: std::cell::RefCell<(tempfile::TempDir, Worker)> = std::cell::RefCell::new(worker());
}

fn worker() -> (tempfile::TempDir, Worker) {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = storage::open(&dir.path().join("hub.sqlite")).expect("hub database");
    // Thousands of small transactions: no need to wait for the disk here.
    conn.pragma_update(None, "synchronous", "OFF").expect("pragma");
    let w = Worker {
        conn,
        forms: Arc::new(Registry::embedded()),
        max_body: 1 << 20,
        log: None,
        faults: Arc::new(Faults::default()),
        addr: "127.0.0.1:8080".parse().expect("an address"),
        https: false,
        clock: Arc::new(chrono::Utc::now),
    };
    (dir, w)
}

/// A transaction as jkda sends one: a Patient, a follow-up response with
/// nested items, its Encounter and an Observation, and a delete.
fn bundle() -> Value {
    static CANONICAL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let qr = CANONICAL.get_or_init(|| {
        Registry::embedded()
            .get("hypertension-followup")
            .expect("embedded form")
            .canonical()
    });
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "PUT", "url": "Patient/p-1"},
             "resource": {"resourceType": "Patient", "id": "p-1", "gender": "male", "birthDate": "1965-01-15",
                "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "110105196501150016"}],
                "name": [{"text": "张伟"}], "address": [{"text": "东山村", "line": ["东山村"]}]}},
            {"request": {"method": "PUT", "url": "QuestionnaireResponse/q-1"},
             "resource": {"resourceType": "QuestionnaireResponse", "id": "q-1", "questionnaire": qr,
                "status": "completed", "subject": {"reference": "Patient/p-1"}, "authored": "2026-11-29",
                "item": [
                    {"linkId": "visit_date", "answer": [{"valueDate": "2026-11-29"}]},
                    {"linkId": "bp", "item": [{"linkId": "bp.systolic", "answer": [{"valueInteger": 135}]}]},
                    {"linkId": "symptoms", "answer": [{"valueCoding": {"code": "2"}}, {"valueCoding": {"code": "4"}}]}
                ]}},
            {"request": {"method": "PUT", "url": "Encounter/e-1"},
             "resource": {"resourceType": "Encounter", "id": "e-1", "status": "finished",
                "class": {"code": "AMB"}, "subject": {"reference": "Patient/p-1"}}},
            {"request": {"method": "PUT", "url": "Observation/o-1"},
             "resource": {"resourceType": "Observation", "id": "o-1", "status": "final",
                "code": {"text": "systolic"}, "subject": {"reference": "Patient/p-1"},
                "valueQuantity": {"value": 135, "unit": "mmHg"}}},
            {"request": {"method": "DELETE", "url": "Observation/o-2"}}
        ]
    })
}

/// Every node of a JSON tree, as a path of object keys and array indexes.
fn paths(v: &Value, here: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(here.clone());
    let children: Vec<(Value, &Value)> = match v {
        Value::Object(o) => o.iter().map(|(k, v)| (json!(k), v)).collect(),
        Value::Array(a) => a.iter().enumerate().map(|(i, v)| (json!(i), v)).collect(),
        _ => Vec::new(),
    };
    for (step, child) in children {
        here.push(step);
        paths(child, here, out);
        here.pop();
    }
}

fn node_mut<'a>(v: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, step| match step {
        Value::String(k) => v.get_mut(k.as_str()),
        Value::Number(i) => v.get_mut(usize::try_from(i.as_u64()?).ok()?),
        _ => None,
    })
}

#[derive(Debug, Clone)]
enum Edit {
    Remove(Index),
    CopyOver(Index, Index),
    Replace(Index, Value),
}

fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            Value::Null,
            json!(true),
            json!(0),
            json!(-1),
            json!(1e308),
            json!(u64::MAX),
            json!(""),
            json!("PUT"),
            json!("DELETE"),
            json!("POST"),
            json!("Patient/"),
            json!("Patient/p-1/_history/1"),
            json!("Observation/o-1?x=1"),
            json!("Patient/p-2"),
            json!("W/\"7\""),
            json!("not a date"),
            json!("Bundle"),
            json!("transaction"),
            json!([]),
            json!({}),
            (0..40).fold(json!([]), |v, _| json!([v])),
        ]),
        any::<String>().prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        2 => any::<Index>().prop_map(Edit::Remove),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::CopyOver(a, b)),
        3 => (any::<Index>(), odd_value()).prop_map(|(a, v)| Edit::Replace(a, v)),
    ]
}

fn mutate(mut root: Value, edits: &[Edit]) -> Value {
    for e in edits {
        let mut all = Vec::new();
        paths(&root, &mut Vec::new(), &mut all);
        let pick = |i: &Index| all[i.index(all.len())].clone();
        match e {
            Edit::Remove(i) => {
                let path = pick(i);
                let Some((last, parent)) = path.split_last() else {
                    continue;
                };
                match (node_mut(&mut root, parent), last) {
                    (Some(Value::Object(o)), Value::String(k)) => {
                        o.remove(k);
                    }
                    (Some(Value::Array(a)), Value::Number(i)) => {
                        if let Some(i) = i.as_u64().and_then(|i| usize::try_from(i).ok()) {
                            a.remove(i);
                        }
                    }
                    _ => {}
                }
            }
            Edit::CopyOver(to, from) => {
                let value = node_mut(&mut root, &pick(from)).map(|v| v.clone());
                if let (Some(value), Some(slot)) = (value, node_mut(&mut root, &pick(to))) {
                    *slot = value;
                }
            }
            Edit::Replace(at, value) => {
                if let Some(slot) = node_mut(&mut root, &pick(at)) {
                    *slot = value.clone();
                }
            }
        }
    }
    root
}

/// The status and body the hub sends for a POSTed transaction body.
fn answer(body: Vec<u8>) -> (u16, Value) {
    let a = WORKER.with_borrow_mut(|(_, w)| match w.transaction(body, "s1", None) {
        Ok(a) => a,
        Err(e) => Answer::error(&e),
    });
    let body = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
    (a.status, body)
}

fn check(status: u16, body: &Value) -> Result<(), TestCaseError> {
    if status == 200 {
        prop_assert_eq!(&body["resourceType"], "Bundle");
        prop_assert_eq!(&body["type"], "transaction-response");
    } else {
        prop_assert!((400..500).contains(&status), "status {}: {}", status, body);
        prop_assert_eq!(&body["resourceType"], "OperationOutcome", "{}", body);
    }
    Ok(())
}

#[test]
fn the_seed_bundle_is_accepted() {
    let body = serde_json::to_vec(&bundle()).expect("JSON");
    let (status, out) = answer(body.clone());
    assert_eq!(status, 200, "{out}");
    assert_eq!(answer(body).0, 200, "sent again: unchanged");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_get_an_operation_outcome(body in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        any::<String>().prop_map(String::into_bytes),
        Just(b"{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[".to_vec()),
    ]) {
        let (status, out) = answer(body);
        check(status, &out)?;
    }

    #[test]
    fn a_mangled_bundle_gets_an_answer(edits in prop::collection::vec(edit(), 1..5),
        cut in prop::option::weighted(0.2, any::<Index>()))
    {
        let mut body = serde_json::to_vec(&mutate(bundle(), &edits)).expect("JSON");
        if let Some(at) = cut {
            body.truncate(at.index(body.len() + 1));
        }
        let (status, out) = answer(body);
        check(status, &out)?;
    }
}
