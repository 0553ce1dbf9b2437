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
    /// The resource already written as JSON text, sent as it is (then
    /// `resource` is None): what the uploader makes of a record's response.
    pub text: Option<ResourceText>,
    /// The server version this write replaces (`If-Match`), for amendments.
    pub if_match: Option<String>,
}

/// A resource as JSON text. `Debug` shows its length only: like `Resource`,
/// a stray `{:?}` must not print a person's details.
#[derive(Clone, PartialEq, Eq)]
pub struct ResourceText(pub String);

impl std::fmt::Debug for ResourceText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResourceText({} bytes)", self.0.len())
    }
}

impl Request {
    pub fn put(resource: Resource, if_match: Option<String>) -> Request {
        Request {
            method: Method::Put,
            url: resource.url(),
            resource: Some(resource),
            text: None,
            if_match,
        }
    }

    /// A PUT of a resource already written as JSON text, to `url` (`Type/id`).
    pub fn put_text(url: String, text: String, if_match: Option<String>) -> Request {
        Request {
            method: Method::Put,
            url,
            resource: None,
            text: Some(ResourceText(text)),
            if_match,
        }
    }

    /// The resource of a PUT, as a value (parsed again when it was sent as text).
    pub fn resource_value(&self) -> Option<Resource> {
        match (&self.resource, &self.text) {
            (Some(r), _) => Some(r.clone()),
            (None, Some(t)) => serde_json::from_str(&t.0).ok().map(Resource),
            (None, None) => None,
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
            text: None,
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
            if let Some(r) = e.resource_value() {
                entry["resource"] = r.0;
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
        // Keys in the sorted order a serde_json value writes them in.
        w.write_all(br#"{"request":{"#)?;
        if let Some(v) = &e.if_match {
            w.write_all(br#""ifMatch":"#)?;
            serde_json::to_writer(&mut w, &super::etag(v))?;
            w.write_all(b",")?;
        }
        w.write_all(br#""method":""#)?;
        w.write_all(method.as_bytes())?;
        w.write_all(br#"","url":"#)?;
        serde_json::to_writer(&mut w, &e.url)?;
        w.write_all(b"}")?;
        if let Some(r) = &e.resource {
            w.write_all(br#","resource":"#)?;
            serde_json::to_writer(&mut w, &r.0)?;
        } else if let Some(t) = &e.text {
            w.write_all(br#","resource":"#)?;
            w.write_all(t.0.as_bytes())?;
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
                text: None,
                if_match: None,
            },
            Request::put_text(
                "Encounter/e1".into(),
                r#"{"id":"e1","resourceType":"Encounter"}"#.into(),
                None,
            ),
            Request::put(Resource(json!({"resourceType": "Encounter", "id": "e2"})), None),
        ];
        let bytes = write_transaction(&entries, Vec::new()).unwrap();
        let streamed: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(streamed, transaction(&entries));
        // Each entry is the same text as serializing the built Bundle's entry.
        let built = transaction(&entries);
        let text = String::from_utf8(bytes).unwrap();
        for e in built["entry"].as_array().unwrap() {
            assert!(text.contains(&serde_json::to_string(e).unwrap()), "{e}");
        }
        assert_eq!(format!("{:?}", entries[2].text), "Some(ResourceText(38 bytes))");
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
