//! A hub on loopback with five sites, a bureau account and three months of
//! uploads (January to March 2026, received at times the test's clock
//! sets), for the supervision page tests and the browser tests. One site's
//! name is hostile HTML. The sites differ on purpose: A uploads the next
//! day, B after three days, C sends January to March in one batch on 03-25,
//! D's blood pressures all end in 0, E has few records and classifies
//! against the blood pressure.

#![allow(dead_code)]

use chrono::{DateTime, Days, NaiveDate, Utc};
use jkda::fhir::mapping::{patient, Identifiers};
use jkda::form::Registry;
use jkda::hub::{self, Hub, HubConfig};
use jkda::store::Resident;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub const A: &str = "220602101001";
pub const B: &str = "220602101002";
pub const C: &str = "220602102001";
pub const D: &str = "220603101001";
pub const E: &str = "220603101002";
pub const HOSTILE: &str = "<script>alert(1)</script>卫生室";
pub const SITES: [(&str, &str); 5] = [
    (A, "东山村卫生室"),
    (B, HOSTILE),
    (C, "南湖村卫生室"),
    (D, "北岭村卫生室"),
    (E, "西河乡卫生院"),
];
pub const USER: &str = "wang.li";
pub const PASSWORD: &str = "bureau-pass-2026";
/// The month the data is about; the hub's clock ends in April.
pub const PERIOD: &str = "2026-03";

pub struct Platform {
    pub hub: Hub,
    pub db: PathBuf,
    pub clock: Arc<Mutex<DateTime<Utc>>>,
    pub tokens: Vec<(String, String)>,
    pub log: Arc<Mutex<Vec<u8>>>,
}

struct SharedLog(Arc<Mutex<Vec<u8>>>);

impl Write for SharedLog {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn instant(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

impl Platform {
    /// The hub with the sites and the bureau account, no records yet.
    pub fn start(dir: &Path) -> Platform {
        let db = dir.join("hub.sqlite");
        let clock = Arc::new(Mutex::new(instant("2026-01-01T00:00:00Z")));
        let c = clock.clone();
        let log: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink: Box<dyn Write + Send> = Box::new(SharedLog(log.clone()));
        let config = HubConfig {
            workers: 2,
            clock: Arc::new(move || *c.lock().unwrap()),
            log: Some(Arc::new(Mutex::new(sink))),
            ..HubConfig::new(&db)
        };
        let hub = Hub::start("127.0.0.1:0", config).unwrap();
        let conn = hub::storage::open(&db).unwrap();
        let tokens = SITES
            .iter()
            .map(|(code, name)| (code.to_string(), hub::storage::add_site(&conn, code, name).unwrap()))
            .collect();
        for (code, population) in [(A, 40), (B, 60), (C, 50), (D, 30)] {
            hub::supervision::set_target(&conn, code, Some(population), Some(0.9)).unwrap();
        }
        hub::users::add(&conn, USER, PASSWORD, "2026-01-01T00:00:00Z").unwrap();
        Platform {
            hub,
            db,
            clock,
            tokens,
            log,
        }
    }

    /// The hub with three months of uploads; the clock then stands at
    /// 2026-04-02 (so the default month is April).
    pub fn filled(dir: &Path) -> Platform {
        let p = Platform::start(dir);
        fill(&p);
        *p.clock.lock().unwrap() = instant("2026-04-02T01:00:00Z");
        p
    }

    pub fn token(&self, site: &str) -> &str {
        &self.tokens.iter().find(|t| t.0 == site).unwrap().1
    }

    pub fn url(&self) -> String {
        self.hub.url()
    }

    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }

    /// Uploads resources as one transaction Bundle, received at `at`.
    pub fn upload(&self, site: &str, at: DateTime<Utc>, resources: Vec<Value>) {
        *self.clock.lock().unwrap() = at;
        let entries: Vec<Value> = resources
            .into_iter()
            .map(|r| {
                let url = format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap());
                json!({ "fullUrl": url, "resource": r, "request": { "method": "PUT", "url": url } })
            })
            .collect();
        let bundle = json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries });
        let r = got(agent()
            .post(format!("{}/", self.url()))
            .header("Authorization", &format!("Bearer {}", self.token(site)))
            .header("Content-Type", "application/fhir+json")
            .send(serde_json::to_vec(&bundle).unwrap()));
        assert_eq!(r.status, 200, "upload of {site} at {at}: {}", r.body);
    }

    pub fn report(&self) -> jkda::supervise::model::Report {
        let conn = hub::storage::open(&self.db).unwrap();
        hub::supervision::build_report(
            &conn,
            &Registry::embedded(),
            PERIOD,
            &jkda::supervise::SupervisionSettings::default(),
        )
        .unwrap()
    }
}

// ---------------------------------------------------------------- requests

/// An answer: status, headers (lower-case names) and body.
pub struct Got {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Got {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .build()
        .into()
}

fn got(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Got {
    let mut r = r.unwrap_or_else(|e| panic!("request: {e}"));
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string()))
        .collect();
    Got {
        status: r.status().as_u16(),
        headers,
        body: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

pub fn bureau() -> String {
    basic(USER, PASSWORD)
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub fn get(url: &str, authorization: Option<&str>) -> Got {
    let mut req = agent().get(url);
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    got(req.call())
}

pub fn post_form(url: &str, authorization: &str, fields: &[(&str, &str)], extra: &[(&str, &str)]) -> Got {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", form_encode(v))).collect();
    let mut req = agent()
        .post(url)
        .header("Authorization", authorization)
        .header("Content-Type", "application/x-www-form-urlencoded");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    got(req.send(body.join("&")))
}

pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".into(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// The values of `name="NAME" value="…"` inputs, in page order.
pub fn input_values(html: &str, name: &str) -> Vec<String> {
    let needle = format!(r#"name="{name}" value=""#);
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

// ---------------------------------------------------------------- records

use super::fhir_fixtures as fx;

fn resident(n: u32, name: &str, birth: &str, male: bool) -> Resident {
    fx::resident(n, name, birth, male)
}

/// A complete basic-information record of a resident with hypertension.
fn registration(r: &Resident, n: u32, date: &str) -> Value {
    fx::record_json(
        r,
        "resident-basic-info",
        n,
        date,
        fx::registration_answers(r, date, Some("2")),
    )
}

fn followup(r: &Resident, n: u32, date: &str, bp: (u32, u32), class: &str, next: &str) -> Value {
    let visit = fx::Visit {
        date,
        bp,
        class,
        next,
        weight: 55 + n % 20,
        heart_rate: 64 + n % 15,
    };
    fx::record_json(r, "hypertension-followup", n, date, fx::followup_answers(&visit))
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn at(d: NaiveDate, lag_days: u64) -> DateTime<Utc> {
    let t = (d + Days::new(lag_days)).format("%Y-%m-%dT02:00:00Z").to_string();
    instant(&t)
}

/// Three months of registrations and monthly follow-ups per site.
pub fn fill(p: &Platform) {
    let mut uploads: Vec<(DateTime<Utc>, &str, Value)> = Vec::new();
    let mut n = 1000u32;
    let per_site = [(A, 16u32), (B, 18), (C, 16), (D, 28), (E, 4)];
    for (s, (code, residents)) in per_site.iter().enumerate() {
        let lag = |visit: NaiveDate| -> DateTime<Utc> {
            match *code {
                A => at(visit, 1),
                B => at(visit, 3),
                // January and February in one late batch with March's first.
                C => at(visit, 2).max(instant("2026-03-25T02:00:00Z")),
                D => at(visit, 5),
                _ => at(visit, 12),
            }
        };
        for i in 0..*residents {
            let k = s as u32 * 100 + i;
            let birth = format!("19{}-0{}-1{}", 60 + i % 20, 1 + i % 9, i % 10);
            let r = resident(k, &format!("居民{k}"), &birth, i % 2 == 0);
            // Three in four registered in January, the rest in March.
            let reg = if i < residents * 3 / 4 {
                day("2026-01-05") + Days::new(u64::from(i % 6) * 5)
            } else {
                day("2026-03-02") + Days::new(u64::from(i % 4) * 6)
            };
            let reg_s = reg.format("%Y-%m-%d").to_string();
            n += 1;
            uploads.push((lag(reg), code, patient(&r, &Identifiers::default()).0));
            uploads.push((lag(reg), code, registration(&r, n, &reg_s)));
            for (m, month) in ["2026-01", "2026-02", "2026-03"].iter().enumerate() {
                let visit = day(&format!("{month}-{:02}", 12 + (i % 6)));
                if visit <= reg {
                    continue;
                }
                let mut bp = (122 + (i * 7 + m as u32 * 5) % 26, 72 + (i * 3 + m as u32 * 7) % 16);
                if *code == D {
                    bp = (bp.0 / 10 * 10, bp.1 / 10 * 10);
                }
                let controlled = bp.0 < 140 && bp.1 < 90;
                let (mut class, days) = if controlled { ("1", 60) } else { ("2", 14) };
                if *code == E {
                    bp = (152, 96);
                    class = "1";
                }
                let next = (visit + Days::new(days)).format("%Y-%m-%d").to_string();
                n += 1;
                let v = visit.format("%Y-%m-%d").to_string();
                uploads.push((lag(visit), code, followup(&r, n, &v, bp, class, &next)));
            }
        }
    }
    uploads.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut batch: Vec<Value> = Vec::new();
    let mut key: Option<(DateTime<Utc>, &str)> = None;
    for (when, code, v) in uploads {
        if key.is_some_and(|k| k != (when, code)) {
            let (w, c) = key.unwrap();
            p.upload(c, w, std::mem::take(&mut batch));
        }
        key = Some((when, code));
        batch.push(v);
    }
    if let Some((w, c)) = key {
        p.upload(c, w, batch);
    }
}
