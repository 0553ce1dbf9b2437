//! The bureau's supervision pages, served by the hub beside the FHIR API:
//!
//! - `GET /supervision?period=YYYY-MM` — the ranked table (bureau accounts);
//! - `GET /supervision/site/CODE?period=…` — one site's page (bureau
//!   accounts, and that site's own token);
//! - `POST /supervision/site/CODE/spotcheck` — a spot-check result, form
//!   fields `record`, `result` (`pass`|`fail`), `note` (bureau accounts);
//!   answered 303 back to the site page.
//!
//! Server-rendered HTML without any script (`?lang=en` for English), so the
//! browser's own HTTP Basic dialog is the login page: a bureau account
//! (`jkda-hub user add`) as Basic credentials, or a site token as
//! `Authorization: Bearer`. Bureau accounts never open the FHIR API (it
//! takes only site tokens) and site tokens never open the ranking. This
//! module owns the routing and the access rules; `html`, `site` and `svg`
//! draw. The computation is `hub::supervision`'s; the report it builds is
//! kept a few minutes (a city's report takes seconds, a click on a site
//! should not), and a spot-check result entered here drops it.

mod html;
mod site;
mod svg;

#[cfg(test)]
mod fixtures;

use super::{storage, supervision, users, HubError};
use crate::form::Registry;
use crate::i18n::{I18n, Lang};
use crate::supervise::model::Report;
use crate::supervise::SupervisionSettings;
use html::{View, Viewer};
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// An answer for the server to send as it is.
pub(crate) struct Page {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

/// The realm browsers show in their login dialog.
const REALM: &str = r#"Basic realm="jkda-hub supervision", charset="UTF-8""#;
/// The wait after wrong credentials: slows guessing, says nothing of which
/// part was wrong (an unknown name costs a password check too).
/// It holds a worker thread, so it stays short.
const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(250);
/// How long a computed report is shown before it is computed again.
const REPORT_TTL: Duration = Duration::from_secs(300);
/// How long a verified Basic login skips the (deliberately slow) password
/// check on the next requests of the same browser.
const LOGIN_TTL: Duration = Duration::from_secs(600);
/// Largest spot-check form accepted.
const MAX_FORM: u64 = 16 * 1024;
/// Spot-check sample size per site and month.
const SPOT_N: usize = 20;
/// A site's own records with findings, most recent first.
const OWN_RECORDS: usize = 100;

use super::cli::SETTINGS_FILE;

enum Route {
    Ranking,
    Site(String),
    SpotCheck(String),
}

/// Serves one request under `/supervision`. `who` is set to what the
/// access log shows: `bureau:NAME` or the site code.
/// `now` is the hub's clock, read once for the request: the default month,
/// the day a spot check is dated, and the time shown on the page.
pub(crate) fn handle(
    conn: &Connection,
    forms: &Registry,
    req: &mut tiny_http::Request,
    who: &mut String,
    now: chrono::DateTime<chrono::Utc>,
) -> Page {
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let lang = param(query, "lang").and_then(|l| Lang::parse(&l)).unwrap_or_default();
    let t = i18n(lang);
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let method = req.method().clone();
    use tiny_http::Method::{Get, Head, Post};
    let route = match (&method, parts.as_slice()) {
        (Get | Head, ["supervision"]) => Some(Route::Ranking),
        (Get | Head, ["supervision", "site", code]) if valid_code(code) => Some(Route::Site(code.to_string())),
        (Post, ["supervision", "site", code, "spotcheck"]) if valid_code(code) => {
            Some(Route::SpotCheck(code.to_string()))
        }
        _ => None,
    };

    let viewer = match authenticate(conn, header(req, "Authorization")) {
        Ok(v) => v,
        Err(wrong) => {
            if wrong {
                std::thread::sleep(FAILED_LOGIN_DELAY);
            }
            let mut p = message(t, 401, "unauthorized", "unauthorized_text");
            p.headers.push(("WWW-Authenticate", REALM.into()));
            return p;
        }
    };
    *who = match &viewer {
        Viewer::Bureau(name) => format!("bureau:{name}"),
        Viewer::Site(code) => code.clone(),
    };
    let Some(route) = route else {
        let known = match parts.as_slice() {
            ["supervision"] => true,
            ["supervision", "site", code] | ["supervision", "site", code, "spotcheck"] => valid_code(code),
            _ => false,
        };
        return if known {
            message(t, 405, "not_allowed", "not_allowed_text")
        } else {
            message(t, 404, "not_found", "not_found_text")
        };
    };
    let allowed = match (&route, &viewer) {
        (_, Viewer::Bureau(_)) => true,
        (Route::Site(code), Viewer::Site(own)) => code == own,
        _ => false,
    };
    if !allowed {
        return message(t, 403, "forbidden", "forbidden_text");
    }

    let settings = match load_settings(conn) {
        Ok(s) => s,
        Err(e) => return message_with(t, 500, "server_error", &e),
    };
    let local = now.naive_utc() + chrono::Duration::hours(supervision::CITY_UTC_OFFSET_HOURS);
    let today = local.date();
    let this_month = super::cli::this_month(now);

    let result = match route {
        Route::SpotCheck(code) => {
            let Viewer::Bureau(checker) = &viewer else {
                return message(t, 403, "forbidden", "forbidden_text");
            };
            if !same_origin(req) {
                return message(t, 403, "forbidden", "cross_site_text");
            }
            spot_check(conn, req, &code, checker, today, &this_month)
        }
        route => {
            let period = match param(query, "period").filter(|p| !p.is_empty()) {
                Some(p) if valid_period(&p) => p,
                Some(_) => return message(t, 400, "bad_request", "bad_period_text"),
                None => this_month,
            };
            let cached = match cached_report(
                conn,
                forms,
                &period,
                &settings,
                &local.format("%Y-%m-%d %H:%M").to_string(),
            ) {
                Ok(c) => c,
                Err(e) => return message_with(t, e.status(), "server_error", &e.to_string()),
            };
            let v = View {
                t,
                lang,
                period: &period,
                forms,
                viewer: &viewer,
                computed_at: &cached.computed_at,
            };
            match route {
                Route::Ranking => Ok(html_page(200, html::ranked_page(&cached.report, &v))),
                Route::Site(code) => site_page(conn, &cached.report, &code, &v),
                Route::SpotCheck(_) => unreachable!("handled above"),
            }
        }
    };
    result.unwrap_or_else(|e| match e {
        HubError::NotFound(_) => message(t, 404, "not_found", "not_found_text"),
        e => message_with(t, e.status(), "server_error", &e.to_string()),
    })
}

fn site_page(conn: &Connection, report: &Report, code: &str, v: &View) -> Result<Page, HubError> {
    let s = report
        .sites
        .iter()
        .find(|s| s.code == code)
        .ok_or_else(|| HubError::NotFound(format!("site {code}")))?;
    // The same draw as `jkda-hub spotcheck --site CODE --period P`.
    let seed = super::cli::default_seed(code, Some(v.period));
    let spots = super::spotchecks::spot_sample(conn, v.forms, code, SPOT_N, seed, Some(v.period), v.lang)?;
    let records = super::findings::site_problems(conn, code, OWN_RECORDS)?;
    Ok(html_page(200, site::site_page(report, s, &spots, &records, v)))
}

fn spot_check(
    conn: &Connection,
    req: &mut tiny_http::Request,
    code: &str,
    checker: &str,
    today: chrono::NaiveDate,
    this_month: &str,
) -> Result<Page, HubError> {
    if req.body_length().is_some_and(|n| n as u64 > MAX_FORM) {
        return Err(HubError::TooLarge("form too large".into()));
    }
    let mut raw = Vec::new();
    req.as_reader().take(MAX_FORM + 1).read_to_end(&mut raw)?;
    if raw.len() as u64 > MAX_FORM {
        return Err(HubError::TooLarge("form too large".into()));
    }
    let body = String::from_utf8_lossy(&raw);
    let record = param(&body, "record").unwrap_or_default();
    let passed = match param(&body, "result").as_deref() {
        Some("pass") => true,
        Some("fail") => false,
        _ => return Err(HubError::Invalid("result: pass or fail".into())),
    };
    let note = param(&body, "note").unwrap_or_default();
    if record.is_empty() || note.chars().count() > 500 {
        return Err(HubError::Invalid(
            "record is required; the note has at most 500 characters".into(),
        ));
    }
    let exists = conn
        .query_row("SELECT 1 FROM sites WHERE code = ?1", [code], |_| Ok(()))
        .optional()?;
    if exists.is_none() {
        return Err(HubError::NotFound(format!("site {code}")));
    }
    super::spotchecks::record_spot_result(conn, code, &record, passed, note.trim(), checker, today)?;
    forget_reports(conn);
    let period = param(&body, "period")
        .filter(|p| valid_period(p))
        .unwrap_or_else(|| this_month.to_string());
    let lang = param(&body, "lang").and_then(|l| Lang::parse(&l)).unwrap_or_default();
    let mut location = format!("/supervision/site/{code}?period={period}");
    if lang == Lang::En {
        location.push_str("&lang=en");
    }
    let mut p = html_page(303, String::new());
    p.headers.push(("Location", location));
    Ok(p)
}

/// A browser's form post from another site must not act with the Basic
/// credentials the browser attaches by itself. Browsers say where a post
/// comes from: `Sec-Fetch-Site` (current browsers; it survives a TLS proxy
/// that rewrites `Host`), else `Origin`, which must then be this hub as the
/// browser addressed it. A client that says neither is no browser.
fn same_origin(req: &tiny_http::Request) -> bool {
    if let Some(site) = header(req, "Sec-Fetch-Site") {
        return matches!(site.trim(), "same-origin" | "none");
    }
    let Some(origin) = header(req, "Origin") else {
        return true;
    };
    let Some((_, origin_host)) = origin.trim().split_once("://") else {
        return false;
    };
    let origin_host = origin_host.trim_end_matches('/');
    ["X-Forwarded-Host", "Host"]
        .iter()
        .filter_map(|h| header(req, h))
        .any(|host| origin_host.eq_ignore_ascii_case(host.trim()))
}

// ---------------------------------------------------------------- access

/// Who the credentials belong to; `Err(true)` for wrong credentials,
/// `Err(false)` for none.
fn authenticate(conn: &Connection, authorization: Option<&str>) -> Result<Viewer, bool> {
    let Some(value) = authorization.map(str::trim) else {
        return Err(false);
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64_decode(rest).ok_or(true)?;
        let text = String::from_utf8(decoded).map_err(|_| true)?;
        let (name, password) = text.split_once(':').ok_or(true)?;
        return match check_login(conn, name, password) {
            true => Ok(Viewer::Bureau(name.to_string())),
            false => Err(true),
        };
    }
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return match storage::site_of_token(conn, rest) {
            Ok(Some(code)) => Ok(Viewer::Site(code)),
            _ => Err(true),
        };
    }
    Err(false)
}

/// Logins verified recently: a keyed hash of name and password -> the
/// stored hash it matched. Basic sends the password with every request;
/// each Argon2 check costs tens of milliseconds. An entry counts only while
/// the account still has the same stored hash, so removing the account or
/// changing its password ends it at once.
struct LoginCache {
    key: [u8; 32],
    seen: Vec<([u8; 32], String, Instant)>,
}

fn check_login(conn: &Connection, name: &str, password: &str) -> bool {
    static CACHE: OnceLock<Mutex<LoginCache>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        let mut key = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut key);
        Mutex::new(LoginCache { key, seen: Vec::new() })
    });
    let stored = if users::check_name(name).is_ok() {
        users::stored_hash(conn, name).ok().flatten()
    } else {
        None
    };
    let tag = {
        let c = cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut h = Sha256::new();
        h.update(c.key);
        h.update(name.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        let tag: [u8; 32] = h.finalize().into();
        if let Some(phc) = &stored {
            if c.seen
                .iter()
                .any(|(t, p, at)| *t == tag && p == phc && at.elapsed() < LOGIN_TTL)
            {
                return true;
            }
        }
        tag
    };
    let ok = users::verify_hash(stored.as_deref(), password);
    if ok {
        let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
        c.seen.retain(|(t, _, at)| *t != tag && at.elapsed() < LOGIN_TTL);
        if c.seen.len() >= 256 {
            c.seen.remove(0);
        }
        c.seen.push((tag, stored.unwrap_or_default(), Instant::now()));
    }
    ok
}

/// Standard base64 with padding, as HTTP Basic uses.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

// ---------------------------------------------------------------- reports

struct Cached {
    db: String,
    period: String,
    settings: SupervisionSettings,
    at: Instant,
    computed_at: String,
    report: Arc<Report>,
}

/// What a page shows: the report and when it was computed.
struct Shown {
    report: Arc<Report>,
    computed_at: String,
}

fn reports() -> &'static Mutex<Vec<Cached>> {
    static REPORTS: OnceLock<Mutex<Vec<Cached>>> = OnceLock::new();
    REPORTS.get_or_init(Mutex::default)
}

fn db_of(conn: &Connection) -> String {
    conn.path().unwrap_or("").to_string()
}

fn cached_report(
    conn: &Connection,
    forms: &Registry,
    period: &str,
    settings: &SupervisionSettings,
    now_text: &str,
) -> Result<Shown, HubError> {
    let db = db_of(conn);
    {
        let list = reports().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = list
            .iter()
            .find(|c| c.db == db && c.period == period && c.settings == *settings && c.at.elapsed() < REPORT_TTL)
        {
            return Ok(Shown {
                report: c.report.clone(),
                computed_at: c.computed_at.clone(),
            });
        }
    }
    let report = Arc::new(supervision::build_report(conn, forms, period, settings)?);
    let mut list = reports().lock().unwrap_or_else(|e| e.into_inner());
    list.retain(|c| !(c.db == db && c.period == period) && c.at.elapsed() < REPORT_TTL);
    if list.len() >= 24 {
        list.remove(0);
    }
    list.push(Cached {
        db,
        period: period.to_string(),
        settings: settings.clone(),
        at: Instant::now(),
        computed_at: now_text.to_string(),
        report: report.clone(),
    });
    Ok(Shown {
        report,
        computed_at: now_text.to_string(),
    })
}

/// A spot-check result changes a site's quality figure: recompute.
fn forget_reports(conn: &Connection) {
    let db = db_of(conn);
    reports()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|c| c.db != db);
}

fn load_settings(conn: &Connection) -> Result<SupervisionSettings, String> {
    let db = db_of(conn);
    if db.is_empty() {
        return Ok(SupervisionSettings::default());
    }
    let path = std::path::Path::new(&db).with_file_name(SETTINGS_FILE);
    SupervisionSettings::load(&path)
}

// ---------------------------------------------------------------- helpers

fn i18n(lang: Lang) -> &'static I18n {
    static ZH: OnceLock<I18n> = OnceLock::new();
    static EN: OnceLock<I18n> = OnceLock::new();
    match lang {
        Lang::Zh => ZH.get_or_init(|| I18n::new(Lang::Zh)),
        Lang::En => EN.get_or_init(|| I18n::new(Lang::En)),
    }
}

fn header<'a>(req: &'a tiny_http::Request, name: &'static str) -> Option<&'a str> {
    req.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

/// Site codes as `site add` takes them; anything else is no site.
fn valid_code(code: &str) -> bool {
    !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `YYYY-MM` with a real month.
pub fn valid_period(p: &str) -> bool {
    p.len() == 7
        && p.as_bytes()[4] == b'-'
        && chrono::NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d").is_ok_and(|d| {
            let y = chrono::Datelike::year(&d);
            (2000..=2100).contains(&y)
        })
}

/// A value of a query string or a form body, decoded.
fn param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| crate::fhir::percent_decode(v))
}

fn html_page(status: u16, body: String) -> Page {
    Page {
        status,
        body: body.into_bytes(),
        headers: vec![
            ("Content-Type", "text/html; charset=utf-8".into()),
            // Pages carry residents' names: never stored by the browser or a proxy.
            ("Cache-Control", "no-store".into()),
            ("X-Content-Type-Options", "nosniff".into()),
            ("X-Frame-Options", "DENY".into()),
            ("Referrer-Policy", "no-referrer".into()),
            (
                "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'".into(),
            ),
        ],
    }
}

fn message(t: &I18n, status: u16, title: &str, text: &str) -> Page {
    let body = t.t(&format!("hub.web.{text}")).to_string();
    message_with(t, status, title, &body)
}

fn message_with(t: &I18n, status: u16, title: &str, text: &str) -> Page {
    let title = t.t(&format!("hub.web.{title}")).to_string();
    html_page(status, html::message_page(t, t.lang(), &title, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_basic_credentials() {
        assert_eq!(base64_decode("YnVyOnNlY3JldCBwdw==").unwrap(), b"bur:secret pw");
        assert_eq!(
            base64_decode("5byg5LiJOuWvhueggTEyMzQ=").unwrap(),
            "张三:密码1234".as_bytes()
        );
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("a b").is_none());
    }

    #[test]
    fn periods_and_form_values_are_checked_and_decoded() {
        assert!(valid_period("2026-11"));
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", "abcd-ef", "3000-01"] {
            assert!(!valid_period(bad), "{bad}");
        }
        assert_eq!(
            param(
                "record=a%2Fb&result=pass&note=%E6%9C%AA%E8%A7%81+%E6%9C%AC%E4%BA%BA%",
                "note"
            )
            .unwrap(),
            "未见 本人%"
        );
        assert_eq!(param("a=1&b=2", "c"), None);
    }
}
