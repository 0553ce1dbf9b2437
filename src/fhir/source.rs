//! Reading any FHIR R4 server through standard search and paging: the
//! supervision report's transport. `for_each` asks `{base}/{Type}?…&_count=N`
//! and follows each page's `next` link until there is none; `count` asks for
//! `_summary=count`; `vread` reads one version (`_history/{v}`). Nothing is
//! specific to jkda-hub: HAPI FHIR or a cloud FHIR service answer the same.
//!
//! The HTTP agent is the uploader's (`sync::client::agent`): TLS verified
//! against the system's CAs or the city's `ca_file`, plain `http://` only to
//! this machine, a connect and a whole-request timeout, no redirects. A next
//! link is followed only to the server the reader was pointed at (the token
//! goes with every request), and never twice (a server whose links go round
//! in a circle would otherwise be read forever). Errors name the request by
//! its path and parameter names, never their values: a search value may be
//! an ID number, and errors end up in logs.

use super::{outcome_text, FHIR_JSON};
use crate::sync::client::{agent, checked_base, encode, not_json, transport};
use crate::sync::{Secret, SyncConfig, SyncError};
use serde_json::Value;
use std::collections::HashSet;
use ureq::Agent;

/// What went wrong reading a FHIR server.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("FHIR source: {0}")]
    Config(String),
    #[error("{request}: the FHIR server cannot be reached: {detail}")]
    Unreachable { request: String, detail: String },
    #[error("{request}: the FHIR server did not answer in time")]
    Timeout { request: String },
    #[error("{request}: HTTP {status}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Status {
        request: String,
        status: u16,
        /// The OperationOutcome's diagnostics, when the server sent one.
        reason: Option<String>,
    },
    #[error("{request}: {detail}")]
    BadAnswer { request: String, detail: String },
}

impl SourceError {
    /// Trouble that may pass (network, timeouts, 429, 5xx): reading again
    /// later may well succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            SourceError::Unreachable { .. } | SourceError::Timeout { .. } => true,
            SourceError::Status { status, .. } => *status == 429 || *status >= 500,
            SourceError::Config(_) | SourceError::BadAnswer { .. } => false,
        }
    }
}

/// A FHIR R4 server to read from. `Debug` shows the address, not the token.
pub struct FhirSource {
    agent: Agent,
    /// Without a trailing `/`: `https://host/fhir`.
    base: String,
    /// `scheme://host:port` of `base`, what next links must stay on.
    origin: String,
    host: String,
    token: Option<Secret>,
    max_response: u64,
}

impl std::fmt::Debug for FhirSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FhirSource")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl FhirSource {
    /// `base_url` is the server's FHIR base (`https://host/fhir`); `token`
    /// goes as `Authorization: Bearer`, none when empty. Waits at most 10 s
    /// to connect and 60 s for a whole answer.
    pub fn new(base_url: &str, token: &str) -> Result<FhirSource, SourceError> {
        FhirSource::from_config(&SyncConfig {
            server_url: Some(base_url.to_string()),
            token: Some(Secret::new(token)),
            ..SyncConfig::default()
        })
    }

    /// From the settings the uploader uses: `server_url`, `site_token`,
    /// `ca_file`, timeouts, the largest answer and name resolution.
    pub fn from_config(cfg: &SyncConfig) -> Result<FhirSource, SourceError> {
        let url = cfg
            .server_url
            .as_deref()
            .ok_or_else(|| SourceError::Config("no server address".into()))?;
        let config = |e: SyncError| SourceError::Config(e.to_string());
        let (base, host) = checked_base(url).map_err(config)?;
        let origin =
            origin_of(&base).ok_or_else(|| SourceError::Config(format!("{base:?} is not a server address")))?;
        Ok(FhirSource {
            agent: agent(cfg).map_err(config)?,
            base,
            origin,
            host,
            token: cfg.token.clone().filter(|t| !t.expose().trim().is_empty()),
            max_response: cfg.max_response,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Searches `kind` with `params` (`[("_lastUpdated", "ge2026-11-01")]`),
    /// `page_size` resources a page, and calls `f` with every resource found,
    /// page after page, until the server gives no next link. Returns how many
    /// resources `f` was given. Stops at the first error, `f`'s or the
    /// reading's (`E` takes `SourceError`s, so `f` and the reader can share
    /// one error type, `anyhow::Error` for one).
    pub fn for_each<E, F>(&self, kind: &str, params: &[(&str, &str)], page_size: usize, mut f: F) -> Result<usize, E>
    where
        E: From<SourceError>,
        F: FnMut(Value) -> Result<(), E>,
    {
        if page_size == 0 {
            return Err(SourceError::Config("a page must hold at least one resource".into()).into());
        }
        let count = page_size.to_string();
        let mut url = self.search_url(kind, params, &count)?;
        let mut fetched: HashSet<String> = HashSet::new();
        let mut read = 0;
        loop {
            let page = self.get_bundle(&url)?;
            fetched.insert(url.clone());
            for resource in matches(&page, &url)? {
                f(resource)?;
                read += 1;
            }
            let Some(next) = next_link(&page) else {
                return Ok(read);
            };
            url = self.resolve(next, &url)?;
            if fetched.contains(&url) {
                return Err(SourceError::BadAnswer {
                    request: shown(&url),
                    detail: "the next link leads to a page already read; the server's paging goes round in a circle"
                        .into(),
                }
                .into());
            }
        }
    }

    /// How many resources of `kind` match `params` (`_summary=count`).
    pub fn count(&self, kind: &str, params: &[(&str, &str)]) -> Result<u64, SourceError> {
        let mut with_summary = params.to_vec();
        with_summary.push(("_summary", "count"));
        let url = self.search_url(kind, &with_summary, "0")?;
        let bundle = self.get_bundle(&url)?;
        bundle["total"].as_u64().ok_or_else(|| SourceError::BadAnswer {
            request: shown(&url),
            detail: "the Bundle has no total".into(),
        })
    }

    /// Version `version` of `kind/id` (`GET {base}/{kind}/{id}/_history/{version}`):
    /// its `meta.lastUpdated` is when the server received that version. None
    /// when the server has no such version (404) or it is a deletion (410).
    pub fn vread(&self, kind: &str, id: &str, version: &str) -> Result<Option<Value>, SourceError> {
        check_kind(kind)?;
        let url = format!("{}/{kind}/{}/_history/{}", self.base, encode(id), encode(version));
        let (status, body) = self.get(&url)?;
        if status == 404 || status == 410 {
            return Ok(None);
        }
        let resource = self.expect_ok(&url, status, body)?;
        if resource["resourceType"] != kind {
            return Err(SourceError::BadAnswer {
                request: shown(&url),
                detail: format!("the answer is not a {kind}"),
            });
        }
        Ok(Some(resource))
    }

    /// `{base}/{kind}?{params}&_count={count}`, values percent-encoded.
    fn search_url(&self, kind: &str, params: &[(&str, &str)], count: &str) -> Result<String, SourceError> {
        check_kind(kind)?;
        if params.iter().any(|(k, _)| *k == "_count") {
            return Err(SourceError::Config(
                "the page size is for_each's page_size, not a _count parameter".into(),
            ));
        }
        let mut query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        query.push(format!("_count={count}"));
        Ok(format!("{}/{kind}?{}", self.base, query.join("&")))
    }

    /// A next link as a URL to fetch: relative links are read against the
    /// base, and an absolute one must stay on the server the reader was
    /// pointed at, which the token is meant for.
    fn resolve(&self, link: &str, from: &str) -> Result<String, SourceError> {
        let link = link.trim();
        if link.contains("://") {
            return match origin_of(link) {
                Some(o) if o == self.origin => Ok(link.to_string()),
                _ => Err(SourceError::BadAnswer {
                    request: shown(from),
                    detail: format!(
                        "the next link leads to {} instead of {}; not followed, so the token stays with this server",
                        origin_of(link).unwrap_or_else(|| "an unreadable address".into()),
                        self.origin
                    ),
                }),
            };
        }
        Ok(match link.strip_prefix('/') {
            Some(_) => format!("{}{link}", self.origin),
            None => format!("{}/{link}", self.base),
        })
    }

    fn get_bundle(&self, url: &str) -> Result<Value, SourceError> {
        let (status, body) = self.get(url)?;
        let bundle = self.expect_ok(url, status, body)?;
        let bad = |detail: String| SourceError::BadAnswer {
            request: shown(url),
            detail,
        };
        if bundle["resourceType"] != "Bundle" {
            return Err(bad(format!(
                "the server answered with {} instead of a Bundle",
                bundle["resourceType"].as_str().unwrap_or("something")
            )));
        }
        match bundle["type"].as_str() {
            Some("searchset") => Ok(bundle),
            other => Err(bad(format!(
                "a Bundle of type {} instead of searchset",
                other.unwrap_or("(none)")
            ))),
        }
    }

    /// GET with the token; the status and the JSON body (Null when empty).
    fn get(&self, url: &str) -> Result<(u16, Value), SourceError> {
        let mut req = self
            .agent
            .get(url)
            .header("Accept", format!("{FHIR_JSON}, application/json;q=0.9"));
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {}", t.expose()));
        }
        let failed = |e: ureq::Error| from_transport(transport(e, &self.host), url);
        let mut resp = req.call().map_err(failed)?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(self.max_response)
            .read_to_vec()
            .map_err(failed)?;
        if bytes.is_empty() {
            return Ok((status, Value::Null));
        }
        match serde_json::from_slice(&bytes) {
            Ok(v) => Ok((status, v)),
            // An error page that is not FHIR JSON: the status says enough.
            Err(_) if !(200..300).contains(&status) => Ok((status, Value::Null)),
            Err(_) => Err(SourceError::BadAnswer {
                request: shown(url),
                detail: not_json(&bytes, &content_type),
            }),
        }
    }

    fn expect_ok(&self, url: &str, status: u16, body: Value) -> Result<Value, SourceError> {
        if !(200..300).contains(&status) {
            return Err(SourceError::Status {
                request: shown(url),
                status,
                reason: outcome_text(&body),
            });
        }
        Ok(body)
    }
}

/// The resources of a searchset page's matches (not its `include`s or
/// `outcome`s).
fn matches(page: &Value, url: &str) -> Result<Vec<Value>, SourceError> {
    let mut out = Vec::new();
    for e in page["entry"].as_array().into_iter().flatten() {
        if !matches!(e["search"]["mode"].as_str(), None | Some("match")) {
            continue;
        }
        match e.get("resource") {
            Some(r) if r.is_object() => out.push(r.clone()),
            _ => {
                return Err(SourceError::BadAnswer {
                    request: shown(url),
                    detail: "a search entry without a resource".into(),
                })
            }
        }
    }
    Ok(out)
}

fn next_link(page: &Value) -> Option<&str> {
    page["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == "next")
        .and_then(|l| l["url"].as_str())
        .filter(|u| !u.trim().is_empty())
}

/// A resource type goes into the URL's path: letters only.
fn check_kind(kind: &str) -> Result<(), SourceError> {
    if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(SourceError::Config(format!("{kind:?} is not a FHIR resource type")));
    }
    Ok(())
}

/// `scheme://host:port` in lower case, the port written out; None for what
/// is not an http(s) URL or carries a user name.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    // `[::1]:8080`, `[::1]`, `host:8080`, `host`.
    let has_port = match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']'),
        None => false,
    };
    Some(if has_port {
        format!("{scheme}://{authority}")
    } else {
        format!("{scheme}://{authority}:{default_port}")
    })
}

/// A request as errors show it: the URL with the query's values removed.
fn shown(url: &str) -> String {
    match url.split_once('?') {
        Some((path, query)) => {
            let keys: Vec<String> = query
                .split('&')
                .map(|kv| format!("{}=", kv.split('=').next().unwrap_or("")))
                .collect();
            format!("GET {path}?{}", keys.join("&"))
        }
        None => format!("GET {url}"),
    }
}

fn from_transport(e: SyncError, url: &str) -> SourceError {
    let request = shown(url);
    match e {
        SyncError::Timeout => SourceError::Timeout { request },
        SyncError::Unreachable(detail) => SourceError::Unreachable { request, detail },
        SyncError::HostNotFound(host) => SourceError::Unreachable {
            request,
            detail: format!("the name {host} could not be resolved (DNS)"),
        },
        SyncError::Tls(d) => SourceError::Unreachable {
            request,
            detail: format!("secure connection failed: {d}"),
        },
        SyncError::Config(detail) => SourceError::Config(detail),
        other => SourceError::BadAnswer {
            request,
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_stay_on_the_server() {
        let s = FhirSource::new("http://127.0.0.1:8080/fhir/", "t").unwrap();
        let from = "http://127.0.0.1:8080/fhir/Patient?_count=2";
        assert_eq!(s.base(), "http://127.0.0.1:8080/fhir");
        for (link, want) in [
            (
                "http://127.0.0.1:8080/fhir/Patient?_cursor=ab",
                "http://127.0.0.1:8080/fhir/Patient?_cursor=ab",
            ),
            (
                "HTTP://127.0.0.1:8080/fhir/Patient?_cursor=ab",
                "HTTP://127.0.0.1:8080/fhir/Patient?_cursor=ab",
            ),
            (
                "/fhir/Patient?_cursor=ab",
                "http://127.0.0.1:8080/fhir/Patient?_cursor=ab",
            ),
            ("Patient?_cursor=ab", "http://127.0.0.1:8080/fhir/Patient?_cursor=ab"),
        ] {
            assert_eq!(s.resolve(link, from).unwrap(), want);
        }
        for foreign in [
            "http://127.0.0.1:8081/fhir/Patient?x",
            "https://127.0.0.1:8080/fhir/Patient?x",
            "http://evil.example/fhir/Patient?x",
            "http://user@127.0.0.1:8080/fhir/Patient?x",
            "ftp://127.0.0.1:8080/x",
        ] {
            let err = s.resolve(foreign, from).unwrap_err();
            assert!(
                err.to_string().contains("token stays with this server"),
                "{foreign}: {err}"
            );
        }
        assert_eq!(
            origin_of("https://Host.example/fhir").unwrap(),
            "https://host.example:443"
        );
        assert_eq!(origin_of("http://[::1]/fhir").unwrap(), "http://[::1]:80");
        assert_eq!(origin_of("http://[::1]:8080").unwrap(), "http://[::1]:8080");
    }

    #[test]
    fn errors_show_parameter_names_not_values() {
        assert_eq!(
            shown("https://h/fhir/Patient?identifier=urn%7C110105&_count=7"),
            "GET https://h/fhir/Patient?identifier=&_count="
        );
        let e = SourceError::Status {
            request: shown("https://h/fhir/Patient?identifier=110105"),
            status: 400,
            reason: Some("search parameter \"x\" is not supported".into()),
        };
        assert_eq!(
            e.to_string(),
            "GET https://h/fhir/Patient?identifier=: HTTP 400: search parameter \"x\" is not supported"
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn only_https_or_this_machine() {
        assert!(matches!(
            FhirSource::new("http://10.1.2.3/fhir", "t"),
            Err(SourceError::Config(m)) if m.contains("https")
        ));
        assert!(FhirSource::new("https://fhir.example/r4", "").unwrap().token.is_none());
        let s = FhirSource::new("https://fhir.example/r4", "t").unwrap();
        for bad in ["", "Patient/x", "../metadata"] {
            assert!(
                matches!(s.search_url(bad, &[], "1"), Err(SourceError::Config(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            s.search_url("Patient", &[("_count", "5")], "1"),
            Err(SourceError::Config(_))
        ));
        assert_eq!(
            s.search_url(
                "QuestionnaireResponse",
                &[("_lastUpdated", "ge2026-11-01T08:00:00+08:00")],
                "7"
            )
            .unwrap(),
            "https://fhir.example/r4/QuestionnaireResponse?_lastUpdated=ge2026-11-01T08%3A00%3A00%2B08%3A00&_count=7"
        );
        assert!(!format!("{s:?}").contains("\"t\""));
    }
}
