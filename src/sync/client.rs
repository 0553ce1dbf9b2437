//! The HTTP side of sync: one ureq agent with timeouts, TLS verification
//! always on (Mozilla roots, or only the city's CA when a CA file is given),
//! gzip both ways, a size limit on answers, and every failure turned into a
//! `SyncError` that says what to do. The site token goes in the
//! Authorization header and nowhere else.

use super::{SyncConfig, SyncError};
use crate::fhir::{outcome_text, FHIR_JSON};
use flate2::write::GzEncoder;
use serde_json::Value;
use std::time::Duration;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::Agent;

/// Body bytes of one exchange: `up` as sent (gzip), `down` as the server's
/// Content-Length says, or as read when the length is not known (ureq
/// decompresses on the fly, so that count may be the decompressed size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub up: u64,
    pub down: u64,
}

impl std::ops::AddAssign for Traffic {
    fn add_assign(&mut self, o: Traffic) {
        self.up += o.up;
        self.down += o.down;
    }
}

pub struct Client {
    agent: Agent,
    base: String,
    /// The server's host name, for saying which name did not resolve.
    host: String,
    token: String,
    max_response: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A FHIR server's address checked for use, without a trailing `/`, and its
/// host name: `https://`, or plain `http://` to this machine only.
pub(crate) fn checked_base(url: &str) -> Result<(String, String), SyncError> {
    let base = url.trim().trim_end_matches('/').to_string();
    let host = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"))
        .ok_or_else(|| SyncError::Config(format!("server_url {base:?} must start with https://")))?
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let host_only = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    if base.starts_with("http://") && !is_loopback(host_only) {
        return Err(SyncError::Config(format!(
            "server_url {base:?}: health data travels only over https://"
        )));
    }
    let host = host_only.trim_start_matches('[').trim_end_matches(']').to_string();
    Ok((base, host))
}

/// The HTTP agent for talking to a FHIR server: the system's OpenSSL and CA
/// store (or only the city's CA from `ca_file`), the configured timeouts,
/// statuses returned rather than raised, and no redirects (one could carry
/// the site token to another host).
pub(crate) fn agent(cfg: &SyncConfig) -> Result<Agent, SyncError> {
    // The system's OpenSSL (the one SQLCipher uses) and its CA store.
    let mut tls = TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::NativeTls)
        .root_certs(RootCerts::PlatformVerifier);
    if let Some(path) = &cfg.ca_file {
        let pem = crate::bounded_read::read(path, crate::bounded_read::PEM_FILE)
            .map_err(|e| SyncError::Config(format!("CA file {}: {e}", path.display())))?;
        let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(SyncError::Config(format!(
                "CA file {}: no PEM certificate in it",
                path.display()
            )));
        }
        tls = tls.root_certs(RootCerts::new_with_certs(&certs));
    }
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(cfg.connect_timeout))
        .timeout_global(Some(cfg.request_timeout))
        .max_redirects(0)
        .user_agent(concat!("jkda/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls.build())
        .build();
    let resolve = Resolve {
        lookup: cfg.lookup.clone(),
        system: DefaultResolver::default(),
    };
    Ok(Agent::with_parts(config, DefaultConnector::default(), resolve))
}

impl Client {
    pub fn new(cfg: &SyncConfig) -> Result<Client, SyncError> {
        let (Some(url), Some(token)) = (cfg.server_url.as_deref(), cfg.token.as_ref()) else {
            return Err(SyncError::NotConfigured);
        };
        let (base, host) = checked_base(url)?;
        Ok(Client {
            agent: agent(cfg)?,
            base,
            host,
            token: token.expose().to_string(),
            max_response: cfg.max_response,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// POSTs a transaction Bundle, gzip-compressed; returns the server's
    /// answer (which the caller checks entry by entry).
    pub fn transaction(&self, bundle: &Value) -> Result<(Value, Traffic), SyncError> {
        let body = gzip(|w| serde_json::to_writer(w, bundle).map_err(std::io::Error::other))?;
        self.post_gzip(&body)
    }

    /// POSTs the transaction Bundle of `entries`, streamed into gzip without
    /// copying the resources.
    pub fn transaction_of(&self, entries: &[&crate::fhir::Request]) -> Result<(Value, Traffic), SyncError> {
        self.post_gzip(&encode_transaction(entries)?)
    }

    /// POSTs a Bundle already encoded by `encode_transaction`.
    pub fn post_gzip(&self, body: &[u8]) -> Result<(Value, Traffic), SyncError> {
        let up = body.len() as u64;
        let result = self
            .agent
            .post(format!("{}/", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", FHIR_JSON)
            .header("Content-Encoding", "gzip")
            .header("Accept", FHIR_JSON)
            .header("Prefer", "return=minimal")
            .send(body);
        let (status, value, down, retry_after) = self.answer(result)?;
        check_status(status, &value, retry_after)?;
        Ok((value, Traffic { up, down }))
    }

    /// GET `Type/id`: None when the server has no such resource.
    pub fn read(&self, kind: &str, id: &str) -> Result<Option<Value>, SyncError> {
        let result = self.get(&format!("{}/{kind}/{}", self.base, encode(id)));
        let (status, value, _, retry_after) = self.answer(result)?;
        if status == 404 || status == 410 {
            return Ok(None);
        }
        check_status(status, &value, retry_after)?;
        Ok(Some(value))
    }

    /// A search (`Patient?identifier=...`) returning a searchset Bundle.
    pub fn search(&self, kind: &str, params: &[(&str, &str)]) -> Result<Value, SyncError> {
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
        let result = self.get(&format!("{}/{kind}?{}", self.base, query.join("&")));
        let (status, value, _, retry_after) = self.answer(result)?;
        check_status(status, &value, retry_after)?;
        if value["resourceType"] != "Bundle" {
            return Err(SyncError::BadResponse(
                "a search answered with something other than a Bundle".into(),
            ));
        }
        Ok(value)
    }

    /// The FHIR create interaction (`POST Type`), conditional when
    /// `if_none_exist` is given (a search such as `identifier=system|value`):
    /// the status (201 created, 200 an existing match) and the resource,
    /// read from its Location when the server answered without a body.
    pub fn create(&self, kind: &str, resource: &Value, if_none_exist: Option<&str>) -> Result<(u16, Value), SyncError> {
        let body = serde_json::to_vec(resource).map_err(|e| SyncError::BadResponse(e.to_string()))?;
        let mut req = self
            .agent
            .post(format!("{}/{kind}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", FHIR_JSON)
            .header("Accept", FHIR_JSON)
            .header("Prefer", "return=representation");
        if let Some(cond) = if_none_exist {
            req = req.header("If-None-Exist", cond);
        }
        let result = req.send(&body[..]);
        let location = result.as_ref().ok().and_then(|r| {
            r.headers()
                .get("location")
                .or_else(|| r.headers().get("content-location"))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
        let (status, value, _, retry_after) = self.answer(result)?;
        check_status(status, &value, retry_after)?;
        if value["resourceType"] == *kind {
            return Ok((status, value));
        }
        // `…/Type/id[/_history/n]`: read the resource it names.
        let id = location
            .as_deref()
            .and_then(|l| l.split_once(&format!("{kind}/")))
            .and_then(|(_, rest)| rest.split('/').next())
            .map(str::to_string)
            .ok_or_else(|| SyncError::BadResponse(format!("a {kind} create answered without the resource")))?;
        let read = self
            .read(kind, &id)?
            .ok_or_else(|| SyncError::BadResponse(format!("{kind}/{id} named by a create is not there")))?;
        Ok((status, read))
    }

    fn get(&self, url: &str) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        self.agent
            .get(url)
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Accept", FHIR_JSON)
            .call()
    }

    /// Reads status and JSON body, mapping transport failures and answers
    /// that are not FHIR JSON (an HTML error page, a truncated body).
    fn answer(
        &self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<(u16, Value, u64, Option<Duration>), SyncError> {
        let mut resp = result.map_err(|e| transport(e, &self.host))?;
        let status = resp.status().as_u16();
        let h = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = h("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let content_type = h("content-type").unwrap_or_default();
        let wire_len = h("content-length").and_then(|v| v.parse::<u64>().ok());
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(self.max_response)
            .read_to_vec()
            .map_err(|e| transport(e, &self.host))?;
        let down = wire_len.unwrap_or(bytes.len() as u64);
        if bytes.is_empty() {
            return Ok((status, Value::Null, down, retry_after));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => Ok((status, v, down, retry_after)),
            Err(_) if (200..300).contains(&status) || status == 409 || status == 412 => {
                Err(SyncError::BadResponse(not_json(&bytes, &content_type)))
            }
            // An error page without FHIR JSON: classified by status alone.
            Err(_) => Ok((status, Value::Null, down, retry_after)),
        }
    }
}

/// The transaction Bundle of `entries` as gzip, ready for `Client::post_gzip`.
pub fn encode_transaction(entries: &[&crate::fhir::Request]) -> Result<Vec<u8>, SyncError> {
    gzip(|w| crate::fhir::write_transaction(entries.iter().copied(), w).map(|_| ()))
}

fn gzip(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<Vec<u8>, SyncError> {
    // JSON into memory first, then gzip in one go: the encoder is slow with
    // serde's many small writes. Level 3 costs about half of level 6's CPU
    // for a slightly larger body (`cargo bench --bench upload` prints levels
    // 1, 3 and 6); village links are slow, so not level 1.
    let mut json = Vec::with_capacity(1 << 20);
    write(&mut json).map_err(|e| SyncError::Config(e.to_string()))?;
    let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 8), flate2::Compression::new(3));
    std::io::Write::write_all(&mut gz, &json).map_err(|e| SyncError::Config(e.to_string()))?;
    gz.finish().map_err(|e| SyncError::Config(e.to_string()))
}

pub(crate) fn not_json(bytes: &[u8], content_type: &str) -> String {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(64)])
        .trim_start()
        .to_ascii_lowercase();
    if head.starts_with('<') || content_type.contains("html") {
        "an HTML page instead of FHIR JSON (a proxy or login page?)".into()
    } else {
        format!("{} bytes that are not complete JSON", bytes.len())
    }
}

/// Status -> error, using the OperationOutcome's words when there is one.
fn check_status(status: u16, body: &Value, retry_after: Option<Duration>) -> Result<(), SyncError> {
    let reason = outcome_text(body);
    if let Some(to) = crate::fhir::registered_to(body).filter(|_| (400..500).contains(&status)) {
        return Err(SyncError::RegisteredElsewhere {
            status,
            id_card: to.code == crate::fhir::REGISTERED_ID_CARD,
            patient: to.patient,
            site: to.site,
        });
    }
    match status {
        200..=299 => Ok(()),
        401 => Err(SyncError::Unauthorized(status)),
        403 if reason.is_none() => Err(SyncError::Unauthorized(status)),
        409 | 412 => Err(SyncError::Conflict {
            status,
            reason: reason.unwrap_or_else(|| format!("HTTP {status}")),
        }),
        429 => Err(SyncError::RateLimited(retry_after)),
        500..=599 => Err(SyncError::Server(status)),
        _ => match reason {
            Some(reason) => Err(SyncError::Refused { status, reason }),
            None => Err(SyncError::Endpoint(status)),
        },
    }
}

pub(crate) fn transport(e: ureq::Error, host: &str) -> SyncError {
    use std::io::ErrorKind;
    match e {
        ureq::Error::Timeout(_) => SyncError::Timeout,
        ureq::Error::HostNotFound => SyncError::HostNotFound(host.to_string()),
        ureq::Error::ConnectionFailed => SyncError::Unreachable("connection failed".into()),
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => SyncError::Timeout,
            ErrorKind::ConnectionRefused => SyncError::Unreachable("connection refused".into()),
            ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe => SyncError::Unreachable("connection dropped before the answer arrived".into()),
            _ => SyncError::Unreachable(io.to_string()),
        },
        ureq::Error::Tls(m) => SyncError::Tls(m.to_string()),
        // A certificate the CA store does not vouch for, or for another name.
        ureq::Error::NativeTls(e) => SyncError::Tls(e.to_string()),
        ureq::Error::Pem(e) => SyncError::Tls(e.to_string()),
        ureq::Error::BodyExceedsLimit(n) => SyncError::BadResponse(format!("answer larger than {n} bytes")),
        ureq::Error::Decompress(_, _) => SyncError::BadResponse("compressed answer cut off or damaged".into()),
        ureq::Error::BadUri(u) => SyncError::Config(format!("server_url: {u}")),
        ureq::Error::Protocol(p) => SyncError::BadResponse(format!("not HTTP: {p}")),
        ureq::Error::StatusCode(s) => SyncError::Server(s),
        other => SyncError::Unreachable(other.to_string()),
    }
}

/// Name resolution for the agent: the supplied `Lookup`, or the system's.
/// Any failure to find an address becomes `HostNotFound` (the system
/// resolver reports a failed lookup as a plain I/O error), so it is told
/// apart from a server that refuses connections.
#[derive(Debug)]
struct Resolve {
    lookup: Option<super::Lookup>,
    system: DefaultResolver,
}

impl Resolver for Resolve {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let Some(lookup) = &self.lookup else {
            return self.system.resolve(uri, config, timeout).map_err(|e| match e {
                ureq::Error::Io(_) => ureq::Error::HostNotFound,
                other => other,
            });
        };
        let host = uri.host().ok_or(ureq::Error::HostNotFound)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 });
        let found = (lookup.0)(host, port).map_err(|_| ureq::Error::HostNotFound)?;
        let mut out = self.empty();
        for addr in found {
            if out.try_push(addr).is_err() {
                break;
            }
        }
        if out.is_empty() {
            Err(ureq::Error::HostNotFound)
        } else {
            Ok(out)
        }
    }
}

/// Percent-encodes a query value or id (RFC 3986 unreserved kept).
pub fn encode(s: &str) -> String {
    crate::fhir::percent_encode(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_html_error_page_is_named_as_such() {
        assert!(not_json(b"<!DOCTYPE html><html>502 Bad Gateway</html>", "text/html").contains("HTML"));
        assert!(not_json(b"{\"resourceType\":\"Bun", "application/fhir+json").contains("not complete JSON"));
    }

    #[test]
    fn statuses_are_classified_with_the_servers_words() {
        let oo = crate::fhir::operation_outcome("invalid", "Patient.birthDate is not a date");
        assert!(
            matches!(check_status(400, &oo, None), Err(SyncError::Refused { status: 400, reason }) if reason.contains("birthDate"))
        );
        assert!(matches!(
            check_status(404, &Value::Null, None),
            Err(SyncError::Endpoint(404))
        ));
        assert!(matches!(
            check_status(502, &Value::Null, None),
            Err(SyncError::Server(502))
        ));
        assert!(matches!(
            check_status(412, &oo, None),
            Err(SyncError::Conflict { status: 412, .. })
        ));
        assert!(matches!(
            check_status(403, &Value::Null, None),
            Err(SyncError::Unauthorized(403))
        ));
        assert!(matches!(
            check_status(403, &oo, None),
            Err(SyncError::Refused { status: 403, .. })
        ));
        let wait = Some(Duration::from_secs(3));
        assert!(matches!(check_status(429, &json!({}), wait), Err(SyncError::RateLimited(w)) if w == wait));
        assert!(check_status(201, &Value::Null, None).is_ok());
    }

    #[test]
    fn only_loopback_may_use_plain_http() {
        let cfg = |url: &str| SyncConfig {
            server_url: Some(url.into()),
            token: Some(super::super::Secret::new("t")),
            ..Default::default()
        };
        assert!(Client::new(&cfg("http://127.0.0.1:8080")).is_ok());
        assert!(Client::new(&cfg("http://localhost:8080/fhir")).is_ok());
        assert!(matches!(
            Client::new(&cfg("http://10.1.2.3/fhir")),
            Err(SyncError::Config(_))
        ));
        assert!(matches!(Client::new(&cfg("ftp://x")), Err(SyncError::Config(_))));
        assert!(Client::new(&cfg("https://platform.example/fhir")).is_ok());
        let missing = SyncConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..cfg("https://x")
        };
        assert!(matches!(Client::new(&missing), Err(SyncError::Config(m)) if m.contains("CA file")));
    }
}
