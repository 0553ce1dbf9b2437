//! The HTTP side of the hub: a pool of worker threads, each with its own
//! SQLite connection, taking requests from one `tiny_http` server. Bodies are
//! size-limited before and after gzip decoding (request heads are bounded
//! before the hub sees them, in the patched tiny_http of `vendor/`); answers
//! are gzip-compressed when the client accepts it; every request is logged
//! without personal data.

use super::storage;
use super::{search, HubError};
use crate::fhir::{self, operation_outcome, FHIR_JSON};
use crate::form::Registry;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tiny_http::{Header, Method, Request, Response, Server};

/// Where access-log lines go.
pub type LogSink = Arc<Mutex<Box<dyn Write + Send>>>;

pub struct HubConfig {
    pub db: PathBuf,
    pub workers: usize,
    /// Largest request body accepted, compressed and decompressed.
    pub max_body: usize,
    pub log: Option<LogSink>,
    /// Failures to inject, for tests and drills.
    pub faults: Arc<Faults>,
    /// Serve HTTPS with this certificate; plain HTTP (for a TLS proxy in
    /// front, or loopback tests) without.
    pub tls: Option<TlsIdentity>,
    /// The platform's clock (tests set it; receipt times come from it).
    pub clock: Clock,
}

pub type Clock = Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

/// The hub's certificate chain and private key, PEM.
pub struct TlsIdentity {
    pub certificate_pem: Vec<u8>,
    pub private_key_pem: Vec<u8>,
}

impl HubConfig {
    pub fn new(db: impl Into<PathBuf>) -> HubConfig {
        HubConfig {
            db: db.into(),
            workers: 4,
            max_body: 16 << 20,
            log: None,
            faults: Arc::new(Faults::default()),
            tls: None,
            clock: Arc::new(chrono::Utc::now),
        }
    }
}

/// A running hub. Dropping it stops the workers.
pub struct Hub {
    addr: SocketAddr,
    https: bool,
    server: Arc<Server>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

struct Worker {
    conn: Connection,
    /// Where the hub listens and whether with TLS: the links a search
    /// answers with fall back to this address when a request has no Host.
    addr: SocketAddr,
    https: bool,
    forms: Arc<Registry>,
    max_body: usize,
    log: Option<LogSink>,
    faults: Arc<Faults>,
    clock: Clock,
}

impl Hub {
    /// Binds `listen` (`127.0.0.1:0` picks a free port) and starts serving.
    pub fn start(listen: &str, config: HubConfig) -> Result<Hub, HubError> {
        // Create the schema once before the workers open their connections.
        super::users::ensure_schema(&storage::open(&config.db)?)?;
        let https = config.tls.is_some();
        let server = match config.tls {
            Some(id) => Server::https(
                listen,
                tiny_http::SslConfig {
                    certificate: id.certificate_pem,
                    private_key: id.private_key_pem,
                },
            ),
            None => Server::http(listen),
        }
        .map_err(|e| HubError::Io(std::io::Error::other(format!("{listen}: {e}"))))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| HubError::Io(std::io::Error::other("not an IP address")))?;
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let forms = Arc::new(Registry::embedded());
        let mut workers = Vec::new();
        for _ in 0..config.workers.max(1) {
            let w = Worker {
                conn: storage::open(&config.db)?,
                addr,
                https,
                forms: forms.clone(),
                max_body: config.max_body,
                log: config.log.clone(),
                faults: config.faults.clone(),
                clock: config.clock.clone(),
            };
            let (server, stop) = (server.clone(), stop.clone());
            workers.push(std::thread::spawn(move || w.run(&server, &stop)));
        }
        Ok(Hub {
            addr,
            https,
            server,
            stop,
            workers,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stops taking requests and waits for the workers to finish theirs.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Answer {
    status: u16,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
    /// Freed only after the answer is sent: a Bundle's resources take a
    /// while to drop, and the client need not wait for that.
    garbage: Option<Box<dyn std::any::Any>>,
}

impl Answer {
    fn json(status: u16, v: &Value) -> Answer {
        Answer::bytes(status, serde_json::to_vec(v).unwrap_or_default())
    }

    fn bytes(status: u16, body: Vec<u8>) -> Answer {
        Answer {
            status,
            body,
            headers: Vec::new(),
            garbage: None,
        }
    }

    fn error(e: &HubError) -> Answer {
        let path = e.element_path();
        let outcome = match e.registered_to() {
            // The existing Patient and its site, for the clinic to link to.
            Some(to) => crate::fhir::registered_elsewhere(&to, &e.to_string(), path.unwrap_or("Patient.identifier")),
            None => {
                let mut o = operation_outcome(e.issue_code(), &e.to_string());
                if let Some(path) = path {
                    o["issue"][0]["expression"] = json!([path]);
                }
                o
            }
        };
        let mut a = Answer::json(e.status(), &outcome);
        if e.status() == 401 {
            a.headers.push(("WWW-Authenticate", "Bearer".into()));
        }
        if e.status() == 503 {
            a.headers.push(("Retry-After", "1".into()));
        }
        a
    }

    fn resource(status: u16, s: &storage::Stored) -> Answer {
        let mut a = Answer::json(status, &s.resource.0);
        a.headers.push(("ETag", fhir::etag(&s.version.to_string())));
        a.headers.push(("Last-Modified", s.last_updated.clone()));
        a
    }
}

/// Sends the answer in one write. tiny_http writes the head and the body
/// separately; the body (over about 1 KB) then waits under Nagle's algorithm
/// for the client's delayed ACK of the head, about 40 ms an answer. The
/// head is tiny_http's own (`raw_print`), so HEAD, 204 and HTTP/1.0 are
/// handled as `Request::respond` would.
fn respond_whole(req: Request, resp: Response<std::io::Cursor<Vec<u8>>>) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(resp.data_length().unwrap_or(0) + 512);
    let head_only = *req.method() == Method::Head;
    resp.raw_print(&mut bytes, req.http_version().clone(), req.headers(), head_only, None)?;
    let mut out = req.into_writer();
    out.write_all(&bytes)?;
    out.flush()
}

fn header<'a>(req: &'a Request, name: &'static str) -> Option<&'a str> {
    req.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

/// The path with query values removed (`/Patient?identifier=`): an ID
/// number in a search must never reach the log.
fn loggable(url: &str) -> String {
    match url.split_once('?') {
        Some((path, query)) => {
            let keys: Vec<&str> = query.split('&').map(|kv| kv.split('=').next().unwrap_or("")).collect();
            format!(
                "{path}?{}",
                keys.iter().map(|k| format!("{k}=")).collect::<Vec<_>>().join("&")
            )
        }
        None => url.to_string(),
    }
}

impl Worker {
    fn now(&self) -> String {
        crate::store::utc_text((self.clock)())
    }

    fn run(mut self, server: &Server, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            match server.recv_timeout(Duration::from_millis(200)) {
                Ok(Some(req)) => self.handle(req),
                Ok(None) => {}
                Err(_) => break,
            }
        }
    }

    fn handle(&mut self, mut req: Request) {
        let started = Instant::now();
        let method = req.method().clone();
        let url = req.url().to_string();
        let mut site = String::from("-");
        let gzip_ok = header(&req, "Accept-Encoding").is_some_and(|v| v.contains("gzip"));
        let answer = match self.route(&mut req, &method, &url, &mut site) {
            Ok(a) => a,
            Err(HubError::Aborted) => {
                // A drill of a crash mid-transaction: nothing was committed.
                self.log(&method, &url, 500, 0, started, &site);
                drop(req);
                return;
            }
            Err(e) => Answer::error(&e),
        };
        let Answer {
            status,
            body,
            headers,
            garbage,
        } = answer;
        let (body, gzipped) = if gzip_ok && body.len() > 1024 {
            let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
            match enc.write_all(&body).and_then(|_| enc.finish()) {
                Ok(z) => (z, true),
                Err(_) => (body, false),
            }
        } else {
            (body, false)
        };
        let bytes = body.len();
        let mut resp = Response::from_data(body).with_status_code(status);
        let mut add = |k: &str, v: &str| {
            if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                resp.add_header(h);
            }
        };
        add("Content-Type", &format!("{FHIR_JSON}; charset=utf-8"));
        if gzipped {
            add("Content-Encoding", "gzip");
        }
        for (k, v) in &headers {
            add(k, v);
        }
        let _ = respond_whole(req, resp);
        drop(garbage);
        self.log(&method, &url, status, bytes, started, &site);
    }

    fn log(&self, method: &Method, url: &str, status: u16, bytes: usize, started: Instant, site: &str) {
        if let Some(log) = &self.log {
            let line = format!(
                "{} {method} {} {status} {bytes}B {}ms site={site}\n",
                crate::store::utc_text(chrono::Utc::now()),
                loggable(url),
                started.elapsed().as_millis()
            );
            if let Ok(mut w) = log.lock() {
                let _ = w.write_all(line.as_bytes());
                let _ = w.flush();
            }
        }
    }

    /// The request body, gunzipped when it says so, within the size limit.
    fn body_bytes(&self, req: &mut Request) -> Result<Vec<u8>, HubError> {
        let limit = self.max_body;
        if req.body_length().is_some_and(|n| n > limit) {
            return Err(HubError::TooLarge(format!("request body larger than {limit} bytes")));
        }
        let gz = header(req, "Content-Encoding").is_some_and(|v| v.contains("gzip"));
        let mut raw = Vec::new();
        req.as_reader().take(limit as u64 + 1).read_to_end(&mut raw)?;
        if raw.len() > limit {
            return Err(HubError::TooLarge(format!("request body larger than {limit} bytes")));
        }
        let data = if gz {
            let mut out = Vec::new();
            GzDecoder::new(&raw[..])
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| HubError::Invalid(format!("gzip body cannot be read: {e}")))?;
            if out.len() > limit {
                return Err(HubError::TooLarge(format!(
                    "decompressed body larger than {limit} bytes"
                )));
            }
            out
        } else {
            raw
        };
        Ok(data)
    }

    fn authorize(&self, req: &Request) -> Result<String, HubError> {
        let token = header(req, "Authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match token {
            Some(t) if !t.is_empty() => storage::site_of_token(&self.conn, t)?.ok_or(HubError::Unauthorized),
            _ => Err(HubError::Unauthorized),
        }
    }

    /// `scheme://host:port` as the client addressed the hub, for the links
    /// in an answer: the Host header (or a TLS proxy's X-Forwarded-Host and
    /// -Proto), else the address the hub listens on.
    fn origin(&self, req: &Request) -> String {
        let forwarded = |name| header(req, name).map(|v| v.split(',').next().unwrap_or("").trim());
        let scheme = match forwarded("X-Forwarded-Proto") {
            Some(p @ ("http" | "https")) => p,
            _ if self.https => "https",
            _ => "http",
        };
        // A host name, an IPv4 or [IPv6] address, and a port: nothing that
        // could change the meaning of the URL around it.
        let plausible = |h: &&str| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
        };
        let host = forwarded("X-Forwarded-Host")
            .filter(plausible)
            .or_else(|| header(req, "Host").map(str::trim).filter(plausible));
        match host {
            Some(h) => format!("{scheme}://{h}"),
            None => format!("{scheme}://{}", self.addr),
        }
    }

    /// Injected failures for writes; Some(answer) replaces the real one.
    fn fault(&self) -> (Option<Answer>, Option<usize>) {
        let (status, delay, abort) = self.faults.take();
        if let Some(d) = delay {
            std::thread::sleep(d);
        }
        let answer = status.map(|s| {
            let mut a = Answer::json(
                s,
                &operation_outcome("transient", "the platform is busy; try again later"),
            );
            if s == 429 || s == 503 {
                a.headers.push(("Retry-After", "1".into()));
            }
            a
        });
        (answer, abort)
    }

    fn route(&mut self, req: &mut Request, method: &Method, url: &str, site: &mut String) -> Result<Answer, HubError> {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        // The bureau's pages have their own access rules (hub::web).
        if path == "/supervision" || path.starts_with("/supervision/") {
            let p = super::web::handle(&self.conn, &self.forms, req, site, (self.clock)());
            return Ok(Answer {
                status: p.status,
                body: p.body,
                headers: p.headers,
                garbage: None,
            });
        }
        let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        // The hub answers at `/` and under `/fhir`, the base path FHIR
        // servers usually have (`server_url = "https://host/fhir"`).
        let base_path = if parts.first() == Some(&"fhir") {
            parts.remove(0);
            "/fhir"
        } else {
            ""
        };
        if parts == ["metadata"] && *method == Method::Get {
            return Ok(Answer::json(200, &capability()));
        }
        *site = self.authorize(req)?;
        match (method, parts.as_slice()) {
            (Method::Post, []) => {
                let (fault, abort) = self.fault();
                if let Some(a) = fault {
                    return Ok(a);
                }
                let bundle = self.body_bytes(req)?;
                self.transaction(bundle, site, abort)
            }
            (Method::Post, [kind]) => {
                let (fault, _) = self.fault();
                if let Some(a) = fault {
                    return Ok(a);
                }
                let raw = self.body_bytes(req)?;
                let body: Value = serde_json::from_slice(&raw)
                    .map_err(|e| HubError::Invalid(format!("body is not valid JSON: {e}")))?;
                let condition = header(req, "If-None-Exist").map(str::to_string);
                let now = self.now();
                let c = super::create::create(
                    &mut self.conn,
                    &self.forms,
                    site,
                    kind,
                    body,
                    condition.as_deref(),
                    &now,
                )?;
                let stored = storage::read(&self.conn, kind, &c.id, None)?
                    .ok_or_else(|| HubError::NotFound(format!("{kind}/{}", c.id)))?;
                let mut a = Answer::resource(c.status, &stored);
                let base = format!("{}{base_path}", self.origin(req));
                a.headers.push((
                    "Location",
                    format!("{base}/{kind}/{}/_history/{}", c.id, stored.version),
                ));
                Ok(a)
            }
            (Method::Get, [kind]) => {
                let base = format!("{}{base_path}", self.origin(req));
                let bundle = search::searchset(&self.conn, kind, query, &base)?;
                Ok(Answer::json(200, &bundle))
            }
            (Method::Get, [kind, id]) => self.read(kind, id, None),
            (Method::Get, [kind, id, "_history", v]) => {
                let v = v
                    .parse()
                    .map_err(|_| HubError::Invalid(format!("version {v:?} is not a number")))?;
                self.read(kind, id, Some(v))
            }
            (Method::Put, [kind, id]) => {
                let (fault, _) = self.fault();
                if let Some(a) = fault {
                    return Ok(a);
                }
                let raw = self.body_bytes(req)?;
                let body: Value = serde_json::from_slice(&raw)
                    .map_err(|e| HubError::Invalid(format!("body is not valid JSON: {e}")))?;
                // Valid JSON, so UTF-8.
                let text = std::str::from_utf8(&raw).ok();
                let if_match = header(req, "If-Match").map(str::to_string);
                let now = self.now();
                // IMMEDIATE: the write lock first, then the time stamp (hub::clock).
                let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let w = storage::write(
                    &tx,
                    &self.forms,
                    site,
                    kind,
                    id,
                    Some(&body),
                    text,
                    if_match.as_deref(),
                    &now,
                );
                let w = match w {
                    Ok(w) => w,
                    Err(e) => {
                        drop(tx);
                        super::anchors::note(&self.conn, &e, &now)?;
                        return Err(e);
                    }
                };
                tx.commit()?;
                let stored = storage::read(&self.conn, kind, id, None)?
                    .ok_or_else(|| HubError::NotFound(format!("{kind}/{id}")))?;
                Ok(Answer::resource(w.status, &stored))
            }
            (Method::Delete, [kind, id]) => {
                if !fhir::TYPES.contains(kind) {
                    return Err(HubError::NotSupported(format!(
                        "resource type {kind} is not supported here"
                    )));
                }
                let now = self.now();
                let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                storage::write(
                    &tx,
                    &self.forms,
                    site,
                    kind,
                    id,
                    None,
                    None,
                    header(req, "If-Match"),
                    &now,
                )?;
                tx.commit()?;
                Ok(Answer::bytes(204, Vec::new()))
            }
            _ => Err(HubError::NotFound(format!("no such endpoint: {method} {path}"))),
        }
    }

    fn read(&self, kind: &str, id: &str, version: Option<i64>) -> Result<Answer, HubError> {
        if !fhir::TYPES.contains(&kind) {
            return Err(HubError::NotSupported(format!(
                "resource type {kind} is not supported here"
            )));
        }
        match storage::read(&self.conn, kind, id, version)? {
            Some(s) if s.deleted => Ok(Answer::json(
                410,
                &operation_outcome("deleted", &format!("{kind}/{id} was deleted")),
            )),
            Some(s) => Ok(Answer::resource(200, &s)),
            None => Err(HubError::NotFound(format!("{kind}/{id} is not on the platform"))),
        }
    }

    fn transaction(&mut self, body: Vec<u8>, site: &str, abort: Option<usize>) -> Result<Answer, HubError> {
        let entries = super::bundle_in::read_transaction(&body)?;
        let now = self.now();
        let written = storage::transaction(&mut self.conn, &self.forms, site, &entries, abort, &now)?;
        // Written straight out, not built as JSON values first: one entry per
        // resource of the Bundle.
        let mut out = Vec::with_capacity(64 + written.len() * 160);
        out.extend_from_slice(br#"{"resourceType":"Bundle","type":"transaction-response","entry":["#);
        for (i, (e, w)) in entries.iter().zip(&written).enumerate() {
            let status = match w.status {
                201 => "201 Created",
                204 => "204 No Content",
                _ => "200 OK",
            };
            if i > 0 {
                out.push(b',');
            }
            let location = format!("{}/{}/_history/{}", e.kind, e.id, w.version);
            let entry = [
                ("status", status),
                ("location", &location),
                ("etag", &fhir::etag(&w.version.to_string())),
                ("lastModified", &w.last_updated),
            ];
            out.extend_from_slice(br#"{"response":{"#);
            for (j, (k, v)) in entry.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut out, k).map_err(std::io::Error::other)?;
                out.push(b':');
                serde_json::to_writer(&mut out, v).map_err(std::io::Error::other)?;
            }
            // What the platform's checks found in a record, where FHIR puts
            // a transaction's hints and warnings: the site sees it at once.
            if e.kind == "QuestionnaireResponse" && w.status != 204 {
                if let Some(outcome) = super::findings::outcome_of(&self.conn, &e.id)? {
                    out.extend_from_slice(br#","outcome":"#);
                    serde_json::to_writer(&mut out, &outcome).map_err(std::io::Error::other)?;
                }
            }
            out.extend_from_slice(b"}}");
        }
        out.extend_from_slice(b"]}");
        let mut answer = Answer::bytes(200, out);
        let values: Vec<Value> = entries.into_iter().filter_map(|e| e.resource).collect();
        answer.garbage = Some(Box::new((values, body)));
        Ok(answer)
    }
}

mod capability;
mod faults;

use capability::capability;
pub use faults::Faults;

#[cfg(test)]
mod tests;
