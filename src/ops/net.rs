//! The platform checks of `jkda doctor`, one step at a time so the first
//! one that fails says where the trouble is: the name, the TCP connection,
//! TLS and the certificate, the FHIR server (`GET /metadata`, no token),
//! the site token (`GET /Patient?_summary=count`), and the clock against
//! the server's `Date` header. The HTTP agent is sync's own, with its TLS
//! settings, so what passes here is what sync will meet.

use super::doctor::{Check, Level};
use crate::i18n::Msg;
use crate::sync::{SyncConfig, SyncError};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Instant;

pub(super) fn platform(cfg: &SyncConfig) -> Vec<Check> {
    if !cfg.is_configured() {
        return vec![Check::new(
            "platform",
            Level::Skip,
            Msg::new("doctor.platform_not_configured"),
        )];
    }
    let url = cfg.server_url.clone().unwrap_or_default();
    let (base, host) = match crate::sync::client::checked_base(&url) {
        Ok(b) => b,
        Err(e) => return vec![Check::new("platform", Level::Fail, e.message()).advice(Msg::new("doctor.platform_do"))],
    };
    let https = base.starts_with("https://");
    let port = base
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', '?']).next())
        .and_then(|authority| authority.rsplit_once(':'))
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .unwrap_or(if https { 443 } else { 80 });
    let mut out = Vec::new();
    let skip_rest = |out: &mut Vec<Check>, from: usize| {
        for id in ["dns", "tcp", "tls", "server", "token", "clock"].into_iter().skip(from) {
            out.push(Check::new(id, Level::Skip, Msg::new("doctor.after_failure")));
        }
    };

    // Name resolution.
    let found: std::io::Result<Vec<SocketAddr>> = match &cfg.lookup {
        Some(l) => (l.0)(&host, port),
        None => (host.as_str(), port).to_socket_addrs().map(|a| a.collect()),
    };
    let addrs = match found {
        Ok(a) if !a.is_empty() => a,
        _ => {
            out.push(
                Check::new("dns", Level::Fail, Msg::new("doctor.dns_fail").arg("host", &host))
                    .advice(Msg::new("doctor.dns_do")),
            );
            skip_rest(&mut out, 1);
            return out;
        }
    };
    let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
    out.push(
        Check::new(
            "dns",
            Level::Pass,
            Msg::new("doctor.dns_ok")
                .arg("host", &host)
                .arg("addrs", shown.join(", ")),
        )
        .facts(json!({"host": host, "addresses": shown})),
    );

    // TCP.
    let started = Instant::now();
    let connected = addrs
        .iter()
        .find_map(|a| TcpStream::connect_timeout(a, cfg.connect_timeout).ok().map(|_| *a));
    let Some(addr) = connected else {
        out.push(
            Check::new(
                "tcp",
                Level::Fail,
                Msg::new("doctor.tcp_fail").arg("host", &host).arg("port", port),
            )
            .advice(Msg::new("doctor.tcp_do"))
            .facts(json!({"port": port, "connected": false})),
        );
        skip_rest(&mut out, 2);
        return out;
    };
    let ms = started.elapsed().as_millis();
    out.push(
        Check::new(
            "tcp",
            Level::Pass,
            Msg::new("doctor.tcp_ok").arg("addr", addr).arg("ms", ms),
        )
        .facts(json!({"port": port, "connected": true, "ms": ms})),
    );

    // The certificate's dates, read apart from the verification (which is
    // the agent's, below), so an expired one can be named as such.
    let cert = if https { certificate(&host, addr, cfg) } else { None };
    let expired = cert.as_ref().is_some_and(|c| c.days_left < 0);

    // TLS and the FHIR server: /metadata needs no token.
    let agent = match crate::sync::client::agent(cfg) {
        Ok(a) => a,
        Err(e) => {
            out.push(Check::new("tls", Level::Fail, e.message()).advice(Msg::new("doctor.tls_do")));
            skip_rest(&mut out, 3);
            return out;
        }
    };
    let sent_at = Utc::now();
    let metadata = agent
        .get(format!("{base}/metadata"))
        .header("Accept", crate::fhir::FHIR_JSON)
        .call();
    let received_at = Utc::now();
    let mut resp = match metadata {
        Ok(r) => r,
        Err(e) => {
            let e = crate::sync::client::transport(e, &host);
            let tls = matches!(e, SyncError::Tls(_));
            if https {
                out.push(if tls && expired {
                    let c = cert.as_ref().expect("checked");
                    Check::new(
                        "tls",
                        Level::Fail,
                        Msg::new("doctor.tls_expired").arg("until", &c.not_after),
                    )
                    .advice(Msg::new("doctor.tls_renew"))
                    .facts(c.facts())
                } else if tls {
                    Check::new("tls", Level::Fail, e.message())
                        .advice(Msg::new("doctor.tls_do"))
                        .facts(cert.as_ref().map(Cert::facts).unwrap_or_default())
                } else {
                    Check::new("tls", Level::Skip, Msg::new("doctor.after_failure"))
                });
            } else {
                out.push(Check::new("tls", Level::Skip, Msg::new("doctor.tls_plain")));
            }
            if !tls {
                out.push(Check::new("server", Level::Fail, e.message()).advice(Msg::new("doctor.server_do")));
            }
            skip_rest(&mut out, if tls { 3 } else { 4 });
            return out;
        }
    };
    out.push(if https {
        match &cert {
            Some(c) => {
                let summary = Msg::new("doctor.tls_ok_until")
                    .arg("until", &c.not_after)
                    .arg("days", c.days_left);
                if c.days_left < CERT_WARN_DAYS {
                    Check::new("tls", Level::Warn, summary)
                        .advice(Msg::new("doctor.tls_renew"))
                        .facts(c.facts())
                } else {
                    Check::new("tls", Level::Pass, summary).facts(c.facts())
                }
            }
            None => Check::new("tls", Level::Pass, Msg::new("doctor.tls_ok")).facts(json!({"https": true})),
        }
    } else {
        Check::new("tls", Level::Skip, Msg::new("doctor.tls_plain")).facts(json!({"https": false}))
    });
    let status = resp.status().as_u16();
    let date = resp
        .headers()
        .get("date")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp
        .body_mut()
        .with_config()
        .limit(4 << 20)
        .read_to_vec()
        .unwrap_or_default();
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let fhir_version = value["fhirVersion"].as_str().unwrap_or("").to_string();
    out.push(if status == 200 && value["resourceType"] == "CapabilityStatement" {
        Check::new(
            "server",
            Level::Pass,
            Msg::new("doctor.server_ok").arg("version", &fhir_version),
        )
        .facts(json!({"status": status, "fhir_version": fhir_version}))
    } else {
        Check::new(
            "server",
            Level::Fail,
            Msg::new("doctor.server_not_fhir").arg("status", status),
        )
        .advice(Msg::new("doctor.server_do"))
        .facts(json!({"status": status}))
    });

    // The token: a cheap authenticated search.
    let token = cfg.token.as_ref().map(|t| t.expose().to_string()).unwrap_or_default();
    let answer = agent
        .get(format!("{base}/Patient?_summary=count"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", crate::fhir::FHIR_JSON)
        .call();
    out.push(match answer {
        Ok(r) => match r.status().as_u16() {
            200..=299 => Check::new("token", Level::Pass, Msg::new("doctor.token_ok")).facts(json!({"status": 200})),
            s @ (401 | 403) => Check::new("token", Level::Fail, Msg::new("doctor.token_refused").arg("status", s))
                .advice(Msg::new("doctor.token_do"))
                .facts(json!({"status": s})),
            s => Check::new("token", Level::Warn, Msg::new("doctor.token_unclear").arg("status", s))
                .advice(Msg::new("doctor.server_do"))
                .facts(json!({"status": s})),
        },
        Err(e) => Check::new("token", Level::Fail, crate::sync::client::transport(e, &host).message()),
    });

    // The clock, against the middle of the exchange.
    let local = sent_at + (received_at - sent_at) / 2;
    out.push(match date.as_deref().and_then(parse_http_date) {
        Some(server) => clock(server, local),
        None => Check::new("clock", Level::Skip, Msg::new("doctor.clock_no_date")),
    });
    out
}

/// A certificate that expires sooner than this is a warning.
const CERT_WARN_DAYS: i32 = 21;

/// The platform's certificate as it presents it.
struct Cert {
    not_after: String,
    days_left: i32,
}

impl Cert {
    fn facts(&self) -> serde_json::Value {
        json!({"https": true, "not_after": self.not_after, "days_left": self.days_left})
    }
}

/// Reads the server's certificate over a separate handshake that checks
/// nothing: verifying it is the agent's job, with sync's own settings;
/// this only tells how long it stays valid.
fn certificate(host: &str, addr: SocketAddr, cfg: &SyncConfig) -> Option<Cert> {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
    let mut builder = SslConnector::builder(SslMethod::tls_client()).ok()?;
    builder.set_verify(SslVerifyMode::NONE);
    let connector = builder.build();
    let stream = TcpStream::connect_timeout(&addr, cfg.connect_timeout).ok()?;
    stream.set_read_timeout(Some(cfg.connect_timeout)).ok()?;
    stream.set_write_timeout(Some(cfg.connect_timeout)).ok()?;
    let mut conf = connector.configure().ok()?;
    conf.set_verify_hostname(false);
    let tls = conf.connect(host, stream).ok()?;
    let cert = tls.ssl().peer_certificate()?;
    let now = openssl::asn1::Asn1Time::days_from_now(0).ok()?;
    let left = now.diff(cert.not_after()).ok()?;
    Some(Cert {
        not_after: cert.not_after().to_string(),
        days_left: left.days,
    })
}

/// An HTTP `Date` header (`Fri, 04 Dec 2026 21:38:32 GMT`).
pub(super) fn parse_http_date(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Judges this PC's clock against the server's. The header has whole
/// seconds, so two seconds either way are noise. Record dates, due dates and
/// the audit trail's times come from this clock: minutes off is a warning,
/// an hour off is a failure (a dead CMOS battery after a power cut).
pub(super) fn clock(server: DateTime<Utc>, local: DateTime<Utc>) -> Check {
    let ahead = (local - server).num_seconds();
    let facts = json!({"local_minus_server_seconds": ahead});
    let summary = Msg::new(if ahead >= 0 {
        "doctor.clock_ahead"
    } else {
        "doctor.clock_behind"
    })
    .arg("seconds", ahead.abs())
    .arg("server", server.format("%Y-%m-%d %H:%M:%S UTC"));
    match ahead.abs() {
        0..=120 => Check::new("clock", Level::Pass, summary).facts(facts),
        121..=3600 => Check::new("clock", Level::Warn, summary)
            .advice(Msg::new("doctor.clock_do"))
            .facts(facts),
        _ => Check::new("clock", Level::Fail, summary)
            .advice(Msg::new("doctor.clock_do"))
            .facts(facts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_judged_by_its_distance_from_the_servers() {
        let server = parse_http_date("Fri, 04 Dec 2026 21:38:32 GMT").unwrap();
        assert_eq!(server.to_rfc3339(), "2026-12-04T21:38:32+00:00");
        let at = |secs: i64| clock(server, server + chrono::Duration::seconds(secs));
        assert_eq!(at(1).level, Level::Pass);
        assert_eq!(at(-90).level, Level::Pass);
        assert_eq!(at(600).level, Level::Warn);
        assert_eq!(at(-600).summary.key, "doctor.clock_behind");
        assert_eq!(at(2 * 3600).level, Level::Fail);
        assert_eq!(at(-86_400 * 400).level, Level::Fail);
        assert!(parse_http_date("yesterday").is_none());
    }
}
