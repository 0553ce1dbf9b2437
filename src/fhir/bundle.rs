//! Transaction Bundles: what the uploader sends (`transaction`) and what a
//! server answers (`parse_transaction_response`). Every write is a PUT to
//! `Type/id` with the client's id, so a resent Bundle writes the same
//! resources again instead of creating new ones.

use super::Resource;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Put,
    Delete,
}

/// One entry of a transaction. `Debug` comes from `Resource`: ids only.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// `Type/id`.
    pub url: String,
    pub resource: Option<Resource>,
    /// The server version this write replaces (`If-Match`), for amendments.
    pub if_match: Option<String>,
}

impl Request {
    pub fn put(resource: Resource, if_match: Option<String>) -> Request {
        Request {
            method: Method::Put,
            url: resource.url(),
            resource: Some(resource),
            if_match,
        }
    }
}

impl Request {
    /// A DELETE of `Type/id`: an amendment removes what it no longer has.
    pub fn delete(url: String) -> Request {
        Request {
            method: Method::Delete,
            url,
            resource: None,
            if_match: None,
        }
    }
}

pub fn transaction(entries: &[Request]) -> Value {
    let entries: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut request = json!({
                "method": match e.method { Method::Put => "PUT", Method::Delete => "DELETE" },
                "url": e.url,
            });
            if let Some(v) = &e.if_match {
                request["ifMatch"] = json!(super::etag(v));
            }
            let mut entry = json!({ "request": request });
            if let Some(r) = &e.resource {
                entry["resource"] = r.0.clone();
            }
            entry
        })
        .collect();
    json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries })
}

/// Writes the same transaction Bundle as `transaction`, straight from the
/// entries (no copy of the resources): what the uploader streams into gzip.
pub fn write_transaction<'a, W: std::io::Write>(
    entries: impl IntoIterator<Item = &'a Request>,
    mut w: W,
) -> std::io::Result<W> {
    w.write_all(br#"{"resourceType":"Bundle","type":"transaction","entry":["#)?;
    for (i, e) in entries.into_iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        let method = match e.method {
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        };
        let mut request = json!({ "method": method, "url": e.url });
        if let Some(v) = &e.if_match {
            request["ifMatch"] = json!(super::etag(v));
        }
        w.write_all(br#"{"request":"#)?;
        serde_json::to_writer(&mut w, &request)?;
        if let Some(r) = &e.resource {
            w.write_all(br#","resource":"#)?;
            serde_json::to_writer(&mut w, &r.0)?;
        }
        w.write_all(b"}")?;
    }
    w.write_all(b"]}")?;
    Ok(w)
}

/// What the server says about one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryResult {
    pub status: u16,
    /// The version the server now holds (from `etag` or `location`).
    pub version: Option<String>,
}

/// Reads a `transaction-response` Bundle: one result per entry sent, in
/// order. Anything else (a different count, a non-2xx entry in a response
/// that claims success) is an error: the client must not guess.
pub fn parse_transaction_response(v: &Value, sent: usize) -> Result<Vec<EntryResult>, String> {
    if v["resourceType"] != "Bundle" || v["type"] != "transaction-response" {
        return Err("the answer is not a transaction-response Bundle".into());
    }
    let entries = v["entry"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if entries.len() != sent {
        return Err(format!("the answer lists {} entries for {sent} sent", entries.len()));
    }
    entries
        .iter()
        .map(|e| {
            let r = &e["response"];
            let status_text = r["status"].as_str().ok_or("an entry has no response status")?;
            let status: u16 = status_text
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("unreadable entry status {status_text:?}"))?;
            let version = r["etag"]
                .as_str()
                .map(|t| super::version_of_etag(t).to_string())
                .or_else(|| {
                    r["location"]
                        .as_str()
                        .and_then(|l| l.split("/_history/").nth(1))
                        .map(|s| s.trim_matches('/').to_string())
                })
                .filter(|s| !s.is_empty());
            Ok(EntryResult { status, version })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_carry_ids_and_if_match() {
        let r = Resource(json!({"resourceType": "QuestionnaireResponse", "id": "q1"}));
        let b = transaction(&[Request::put(r, Some("2".into()))]);
        assert_eq!(b["type"], "transaction");
        assert_eq!(b["entry"][0]["request"]["method"], "PUT");
        assert_eq!(b["entry"][0]["request"]["url"], "QuestionnaireResponse/q1");
        assert_eq!(b["entry"][0]["request"]["ifMatch"], "W/\"2\"");
    }

    #[test]
    fn streamed_and_built_bundles_are_the_same() {
        let r = Resource(json!({"resourceType": "Patient", "id": "p1", "gender": "female"}));
        let entries = [
            Request::put(r, Some("3".into())),
            Request {
                method: Method::Delete,
                url: "Observation/o1".into(),
                resource: None,
                if_match: None,
            },
        ];
        let streamed: Value = serde_json::from_slice(&write_transaction(&entries, Vec::new()).unwrap()).unwrap();
        assert_eq!(streamed, transaction(&entries));
    }

    #[test]
    fn responses_are_read_strictly() {
        let ok = json!({"resourceType": "Bundle", "type": "transaction-response", "entry": [
            {"response": {"status": "201 Created", "etag": "W/\"1\""}},
            {"response": {"status": "200", "location": "Patient/p/_history/4"}}]});
        let r = parse_transaction_response(&ok, 2).unwrap();
        assert_eq!(
            r[0],
            EntryResult {
                status: 201,
                version: Some("1".into())
            }
        );
        assert_eq!(r[1].version.as_deref(), Some("4"));
        assert!(parse_transaction_response(&ok, 3).is_err());
        assert!(parse_transaction_response(&json!({"resourceType": "OperationOutcome"}), 0).is_err());
    }
}
