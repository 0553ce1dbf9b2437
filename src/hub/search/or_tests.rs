//! `subject` / `patient` as an OR list: the union of each Patient's
//! matches, paged by the same cursor with nothing read twice or skipped.

use super::params::{parse, Filter};
use super::query;
use super::searchset;
use super::tests::{hub, ids, link, patient, response, write, BASE};
use crate::hub::HubError;

#[test]
fn an_or_list_of_patients_gives_the_union_and_nothing_else() {
    let (_dir, mut conn) = hub();
    write(
        &mut conn,
        &[
            patient("p1", "1"),
            patient("p2", "2"),
            patient("p3", "3"),
            response("q1", "p1"),
            response("q2", "p2"),
            response("q3", "p3"),
        ],
    );
    write(&mut conn, &[response("q4", "p1")]);
    let get = |q: &str| ids(&searchset(&conn, "QuestionnaireResponse", q, BASE).unwrap());
    let mut both = get("subject=Patient/p1,Patient/p3");
    both.sort();
    assert_eq!(both, ["q1", "q3", "q4"]);
    // Encoded as a client sends it, bare ids, `patient`, a full URL, an id twice.
    let mut same = get("subject=Patient%2Fp3%2CPatient%2Fp1");
    same.sort();
    assert_eq!(same, ["q1", "q3", "q4"]);
    let mut bare = get("patient=p2,http%3A%2F%2Fhub.test%2Ffhir%2FPatient%2Fp1,p2");
    bare.sort();
    assert_eq!(bare, ["q1", "q2", "q4"]);
    let s = parse("QuestionnaireResponse", "patient=p2,Patient/p1,p2").unwrap();
    assert_eq!(s.filters, [Filter::Subject(vec!["p2".into(), "p1".into()])]);
    // With _lastUpdated: both conditions hold.
    let q4_time = searchset(
        &conn,
        "QuestionnaireResponse",
        "subject=p1,p2&_sort=-_lastUpdated",
        BASE,
    )
    .unwrap()["entry"][0]["resource"]["meta"]["lastUpdated"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get(&format!("subject=p1,p2&_lastUpdated=ge{q4_time}")), ["q4"]);
    let total = searchset(&conn, "QuestionnaireResponse", "subject=p1,p2&_summary=count", BASE).unwrap();
    assert_eq!(total["total"], 3);
}

#[test]
fn an_or_list_pages_by_its_cursor_without_repeats_or_gaps() {
    let (_dir, mut conn) = hub();
    let mut first = vec![patient("p1", "1"), patient("p2", "2"), patient("p3", "3")];
    // Interleaved, many in one millisecond: the id decides among them.
    first.extend((0..30).map(|i| response(&format!("q{i:02}"), ["p1", "p2", "p3"][i % 3])));
    write(&mut conn, &first);
    let mut query = "subject=Patient/p1,Patient/p3&_count=4".to_string();
    let mut read: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        let page = searchset(&conn, "QuestionnaireResponse", &query, BASE).unwrap();
        assert_eq!(page["total"], 20, "counted once, when the search began");
        read.extend(ids(&page));
        pages += 1;
        if pages == 2 {
            // Written while paging: comes on a later page, p2's not at all.
            write(&mut conn, &[response("late-1", "p3"), response("late-2", "p2")]);
        }
        match link(&page, "next") {
            Some(next) => {
                assert!(next.contains("subject=Patient%2Fp1%2CPatient%2Fp3"), "{next}");
                query = next.split_once('?').unwrap().1.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 6);
    let mut expected: Vec<String> = (0..30).filter(|i| i % 3 != 1).map(|i| format!("q{i:02}")).collect();
    expected.push("late-1".into());
    let mut got = read.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "each match once, none of p2's");
    assert_eq!(read.last().map(String::as_str), Some("late-1"));
}

#[test]
fn an_or_list_with_a_bad_value_or_an_escaped_comma_is_refused() {
    for (query, says) in [
        ("subject=Patient/p1,Group/g1", "by Patient/id"),
        ("subject=Patient/p1,", "is not Patient/id"),
        ("subject=p1%5C%2Cp2", "no comma"),
        ("patient=p1,p2&subject=p3", "give subject only once"),
    ] {
        let err = parse("QuestionnaireResponse", query).unwrap_err();
        assert!(matches!(err, HubError::Invalid(_)), "{query}: {err}");
        assert!(err.to_string().contains(says), "{query}: {err}");
    }
}

/// One Patient keeps its ordered index range; a list reads the same index.
#[test]
fn an_or_list_reads_the_subject_index() {
    let (_dir, conn) = hub();
    let s = parse("QuestionnaireResponse", "subject=p1,p2,p3&_lastUpdated=gt2026-11").unwrap();
    let (count, page) = query::plans(&conn, &s, None);
    assert!(count.contains("resources_subject_updated"), "{count}");
    assert!(page.contains("resources_subject_updated"), "{page}");
}
