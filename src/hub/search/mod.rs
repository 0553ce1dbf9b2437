//! FHIR R4 search on the hub (search.html, http.html#paging), so a reader
//! such as the supervision report can page through any FHIR server the same
//! way: `GET [base]/{Type}?` with `_lastUpdated`, `identifier` (Patient),
//! `subject` / `patient` (the others; a comma-separated OR list of Patients
//! gives the union, so a PC asks for its own residents' records in one
//! search), `_count` and `_summary=count`. Live
//! resources only, in (`meta.lastUpdated`, id) order (`_sort=-_lastUpdated`
//! reverses it, for the latest records of a resident); the answer is a
//! searchset Bundle whose `total` counts every match and whose `next` link
//! carries a cursor (where the page ended) rather than an offset. With
//! stamps that only move forward (`hub::clock`), a resource written while a
//! client pages sorts after everything already read: nothing is skipped or
//! read twice, and new resources come on the last pages. A resource
//! *changed* while a client pages moves to the end too, so a client that
//! had read it meets it again, in its new version.

mod cursor;
mod params;

mod query;
mod when;

use super::HubError;
use crate::fhir::percent_encode;
use cursor::Cursor;
use params::Search;
use rusqlite::Connection;
use serde_json::{json, Value};

/// The searchset Bundle answering `GET {base}/{kind}?{query}`. `base` is
/// the hub's address as the client used it (`https://host:8080/fhir`), for
/// the links and each entry's fullUrl.
pub fn searchset(conn: &Connection, kind: &str, query: &str, base: &str) -> Result<Value, HubError> {
    let search = params::parse(kind, query)?;
    // Counted when a search begins; its next links carry the number on.
    let total = match &search.cursor {
        Some(c) => c.total,
        None => query::count(conn, &search)?,
    };
    let mut links = vec![link("self", base, &search, search.cursor.as_ref())];
    if search.summary_count {
        return Ok(json!({ "resourceType": "Bundle", "type": "searchset", "total": total, "link": links }));
    }
    let (found, more) = match search.count {
        0 => (Vec::new(), false),
        n => query::page(conn, &search, search.cursor.as_ref(), n)?,
    };
    if let Some(last) = found.last().filter(|_| more) {
        let next = Cursor {
            last_updated: last.last_updated.clone(),
            id: last.resource.id().to_string(),
            total,
        };
        links.push(link("next", base, &search, Some(&next)));
    }
    let entries: Vec<Value> = found
        .into_iter()
        .map(|s| {
            json!({
                "fullUrl": format!("{base}/{}", s.resource.url()),
                "resource": s.resource.0,
                "search": { "mode": "match" },
            })
        })
        .collect();
    Ok(json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": entries,
    }))
}

/// A link to this search from `cursor` on: the parameters as the client
/// gave them, then `_count` and `_cursor`.
fn link(relation: &str, base: &str, s: &Search, cursor: Option<&Cursor>) -> Value {
    let mut query: Vec<String> = s
        .echo
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    query.push(format!("_count={}", s.count));
    if let Some(c) = cursor {
        query.push(format!("_cursor={}", c.encode()));
    }
    json!({ "relation": relation, "url": format!("{base}/{}?{}", s.kind, query.join("&")) })
}

#[cfg(test)]
mod or_tests;
#[cfg(test)]
mod tests;
