//! Reading a transaction Bundle sent to `POST /`: the request line of each
//! entry checked (PUT with the client's id, or DELETE, at `Type/id`) and each
//! resource kept as the text it came as. Pure, so it is fuzzed on its own
//! (`fuzz/`); what the resources say is checked by the storage that writes them.

use super::storage::Entry;
use super::HubError;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;

/// The most entries one transaction may hold.
pub const MAX_ENTRIES: usize = 20_000;

/// The entries of a transaction Bundle, or why the body is not one (the
/// error names the entry). Resources borrow their text from `body`.
pub fn read_transaction(body: &[u8]) -> Result<Vec<Entry<'_>>, HubError> {
    // Typed, with each resource kept as its text: the Bundle is not
    // built as one tree of JSON values.
    let bundle: BundleIn = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            HubError::Invalid("POST / takes a Bundle of type transaction".into())
        } else {
            HubError::Invalid(format!("body is not valid JSON: {e}"))
        }
    })?;
    if bundle.resource_type.as_deref() != Some("Bundle") || bundle.kind.as_deref() != Some("transaction") {
        return Err(HubError::Invalid("POST / takes a Bundle of type transaction".into()));
    }
    let raw = bundle.entry;
    if raw.len() > MAX_ENTRIES {
        return Err(HubError::TooLarge(format!(
            "{} entries in one transaction; send at most {MAX_ENTRIES}",
            raw.len()
        )));
    }
    let mut entries = Vec::with_capacity(raw.len());
    for (i, e) in raw.iter().enumerate() {
        let method = e.request.method.as_deref().unwrap_or("");
        let url = e.request.url.as_deref().unwrap_or("").trim_start_matches('/');
        let (kind, id) = url.split_once('/').unwrap_or((url, ""));
        let bad = |m: String| HubError::Invalid(m).in_entry(i, url);
        let (resource, text) = match method {
            "PUT" => match e.resource {
                Some(r) => {
                    let v: Value = serde_json::from_str(r.get())
                        .map_err(|err| bad(format!("resource is not valid JSON: {err}")))?;
                    (Some(v), Some(r.get()))
                }
                None => (Some(Value::Null), None),
            },
            "DELETE" => (None, None),
            m => {
                return Err(bad(format!(
                    "method {m:?}: transactions here take PUT (with the client's id) or DELETE"
                )))
            }
        };
        if id.is_empty() || id.contains('/') || id.contains('?') {
            return Err(bad(format!("request.url {url:?} must be Type/id")));
        }
        entries.push(Entry {
            kind: kind.to_string(),
            id: id.to_string(),
            resource,
            raw: text,
            if_match: e.request.if_match.as_deref().map(str::to_string),
        });
    }
    Ok(entries)
}

/// A transaction Bundle as read: each resource stays the text it came as.
#[derive(serde::Deserialize)]
struct BundleIn<'a> {
    #[serde(rename = "resourceType", borrow, default)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    entry: Vec<EntryIn<'a>>,
}

#[derive(serde::Deserialize)]
struct EntryIn<'a> {
    #[serde(borrow, default)]
    request: RequestIn<'a>,
    #[serde(borrow, default)]
    resource: Option<&'a RawValue>,
}

#[derive(serde::Deserialize, Default)]
struct RequestIn<'a> {
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    url: Option<Cow<'a, str>>,
    #[serde(rename = "ifMatch", borrow, default)]
    if_match: Option<Cow<'a, str>>,
}
