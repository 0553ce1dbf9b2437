//! The bureau's supervision at city scale (issue 9, part 8). Prints
//! figures; not a timed test.
//!
//! `cargo bench --bench supervision` fills a hub database with
//! `JKDA_BENCH_SITES` sites (default 107, of very different sizes),
//! `JKDA_BENCH_RESIDENTS` residents (200 000) and about
//! `JKDA_BENCH_RECORDS` records (1 000 000: a basic-information record per
//! resident, monthly hypertension and diabetes follow-ups for the members),
//! each received some days after its visit, through the hub's own
//! transaction path (so every record is checked as it arrives). Then it
//! times the full report in-process and through `jkda-hub report`, reading
//! that process's peak RSS, and serves the database with `jkda-hub serve`
//! to time the ranked page and a site page and read the server's RSS.
//! `JKDA_BENCH_DIR` keeps the database for another run.

use chrono::{Days, NaiveDate};
use jkda::fhir::mapping::{patient, Identifiers};
use jkda::form::Registry;
use jkda::hub::storage::{self, Entry};
use jkda::store::Resident;
use rand::{Rng, SeedableRng};
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// Only the /proc reader is used here.
#[allow(dead_code)]
mod support;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

struct Gen {
    rng: rand::rngs::StdRng,
    forms: Registry,
    ids: Identifiers,
}

#[path = "../tests/fhir_fixtures/mod.rs"]
mod fx;

impl Gen {
    fn resident(&mut self, site: &str, n: u32) -> Resident {
        let birth = NaiveDate::from_ymd_opt(1936 + (n % 60) as i32, 1 + n % 12, 1 + n % 28).expect("birth");
        let mut r = fx::resident(n, &format!("居民{n}"), &birth.to_string(), n % 2 == 1);
        r.record_no = format!("{site}{:05}", n % 100_000);
        r
    }

    fn registration(&mut self, r: &Resident, n: u64, date: NaiveDate, disease: Option<&str>) -> String {
        let d = date.to_string();
        let mut a = fx::registration_answers(r, &d, disease);
        // A few records miss an item, as in real life.
        if self.rng.random_ratio(1, 25) {
            a.remove("blood_abo");
        }
        fx::record_text(&self.forms, r, "resident-basic-info", n, &d, a)
    }

    fn followup(&mut self, r: &Resident, form: &str, n: u64, date: NaiveDate) -> String {
        let sbp: u32 = self.rng.random_range(112..175);
        let dbp: u32 = self.rng.random_range(66..102);
        let fbg = self.rng.random_range(52..110) as f64 / 10.0;
        let uncontrolled = sbp >= 140 || dbp >= 90 || (form == "diabetes-followup" && fbg >= 7.0);
        let (d, next) = (
            date.to_string(),
            (date + Days::new(if uncontrolled { 14 } else { 30 })).to_string(),
        );
        let visit = fx::Visit {
            date: &d,
            bp: (sbp, dbp),
            class: if uncontrolled { "2" } else { "1" },
            next: &next,
            weight: self.rng.random_range(50..90),
            heart_rate: self.rng.random_range(60..95),
        };
        let mut a = fx::followup_answers(&visit);
        if self.rng.random_ratio(1, 10) {
            a.set_text("visit_method", "3");
        }
        if form == "diabetes-followup" {
            a.set_text("fbg", &format!("{fbg:.1}"));
        }
        if self.rng.random_ratio(1, 20) {
            a.remove("classification");
        }
        fx::record_text(&self.forms, r, form, n, &d, a)
    }
}

/// What one upload entry will be, decided before any JSON is made (the
/// entries are sent in the order the platform receives them).
#[derive(Clone, Copy)]
enum What {
    Patient,
    Registration(Option<&'static str>, NaiveDate),
    FollowUp(&'static str, NaiveDate),
}

#[derive(Clone, Copy)]
struct Plan {
    received: NaiveDate,
    site: u16,
    resident: u32,
    serial: u64,
    what: What,
}

/// Fills the database; returns (residents, records).
fn fill(db: &Path, sites: usize, residents: usize, records: usize) -> (usize, usize) {
    let mut conn = storage::open(db).expect("hub db");
    conn.pragma_update(None, "synchronous", "OFF").expect("pragma");
    let mut g = Gen {
        rng: rand::rngs::StdRng::seed_from_u64(2026),
        forms: Registry::embedded(),
        ids: Identifiers::default(),
    };
    // Sizes from a small village to a big township: weights 1..=12.
    let weights: Vec<usize> = (0..sites).map(|i| 1 + (i * 7) % 12).collect();
    let total: usize = weights.iter().sum();
    let members_share = 0.4;
    let followups_per_member =
        ((records.saturating_sub(residents)) as f64 / (residents as f64 * members_share)).max(0.0);
    let start = day("2026-01-05");
    let codes: Vec<String> = (0..sites)
        .map(|i| format!("220602{:03}{:03}", 100 + i / 10, 100 + i % 10))
        .collect();
    let mut plan: Vec<Plan> = Vec::new();
    let (mut n_res, mut serial) = (0u32, 0u64);
    for (i, w) in weights.iter().enumerate() {
        storage::add_site(&conn, &codes[i], &format!("站点{i}")).expect("site");
        for _ in 0..residents * w / total {
            let n = n_res;
            n_res += 1;
            let joined = start + Days::new(g.rng.random_range(0..200));
            let lag = |g: &mut Gen| -> u64 {
                if g.rng.random_ratio(1, 8) {
                    g.rng.random_range(8..40)
                } else {
                    g.rng.random_range(0..7)
                }
            };
            let programme = match g.rng.random_range(0..100) {
                0..25 => Some(("2", "hypertension-followup")),
                25..40 => Some(("3", "diabetes-followup")),
                _ => None,
            };
            let mut push = |received, serial, what| {
                plan.push(Plan {
                    received,
                    site: i as u16,
                    resident: n,
                    serial,
                    what,
                })
            };
            push(joined, 0, What::Patient);
            serial += 1;
            let l = lag(&mut g);
            push(
                joined + Days::new(l),
                serial,
                What::Registration(programme.map(|p| p.0), joined),
            );
            if let Some((_, form)) = programme {
                let visits = followups_per_member.floor() as u64
                    + u64::from(g.rng.random_bool(followups_per_member.fract().clamp(0.0, 1.0)));
                for v in 0..visits {
                    let date = joined + Days::new(7 + v * 28);
                    serial += 1;
                    let l = lag(&mut g);
                    push(date + Days::new(l), serial, What::FollowUp(form, date));
                }
            }
        }
    }
    // Sent as the platform receives them: a day at a time, each site's day
    // one transaction (its sync), the Patient before its records.
    plan.sort_by_key(|p| (p.received, p.site, !matches!(p.what, What::Patient), p.serial));
    let mut n_rec = 0;
    let total_plan = plan.len();
    let mut done = 0;
    for chunk in plan.chunk_by(|a, b| a.received == b.received && a.site == b.site) {
        let code = &codes[chunk[0].site as usize];
        let made: Vec<(&'static str, String, String)> = chunk
            .iter()
            .map(|p| {
                let r = g.resident(code, p.resident);
                let qr_id = fx::record_id(p.serial);
                match p.what {
                    What::Patient => (
                        "Patient",
                        r.uuid.clone(),
                        serde_json::to_string(&patient(&r, &g.ids).0).expect("json"),
                    ),
                    What::Registration(d, joined) => {
                        ("QuestionnaireResponse", qr_id, g.registration(&r, p.serial, joined, d))
                    }
                    What::FollowUp(form, date) => {
                        ("QuestionnaireResponse", qr_id, g.followup(&r, form, p.serial, date))
                    }
                }
            })
            .collect();
        let values: Vec<serde_json::Value> = made.iter().map(|m| serde_json::from_str(&m.2).expect("json")).collect();
        let entries: Vec<Entry> = made
            .iter()
            .zip(values)
            .map(|(m, v)| Entry {
                kind: m.0.to_string(),
                id: m.1.clone(),
                resource: Some(v),
                raw: Some(&m.2),
                if_match: None,
            })
            .collect();
        let now = format!("{}T02:00:00.000Z", chunk[0].received);
        storage::transaction(&mut conn, &g.forms, code, &entries, None, &now).expect("upload");
        n_rec += made.iter().filter(|m| m.0 != "Patient").count();
        done += chunk.len();
        if done % 20_000 < chunk.len() {
            eprint!("\r  {done}/{total_plan} entries uploaded");
        }
    }
    eprintln!();
    (n_res as usize, n_rec)
}

/// Peak RSS (kB) of the finished children of this process.
#[allow(unsafe_code)]
fn children_max_rss_kb() -> i64 {
    // SAFETY: rusage is plain C data; all zeroes is a valid value.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    u.ru_maxrss
}

fn hub_bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join("jkda-hub")
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn get(url: &str, user: &str, password: &str) -> (u16, usize, Duration) {
    let t = Instant::now();
    let auth = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
    match ureq::get(url).header("Authorization", &auth).call() {
        Ok(mut r) => {
            let body = r.body_mut().read_to_string().unwrap_or_default();
            (r.status().as_u16(), body.len(), t.elapsed())
        }
        Err(ureq::Error::StatusCode(s)) => (s, 0, t.elapsed()),
        Err(_) => (0, 0, t.elapsed()),
    }
}

fn main() {
    let sites = env_num("JKDA_BENCH_SITES", 107);
    let residents = env_num("JKDA_BENCH_RESIDENTS", 200_000);
    let records = env_num("JKDA_BENCH_RECORDS", 1_000_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var("JKDA_BENCH_DIR").map_or_else(|_| tmp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir).expect("dir");
    let db = dir.join("hub.sqlite");
    let period = "2026-06";
    let t = Instant::now();
    let (made_res, made_rec) = if db.exists() {
        (0, 0)
    } else {
        fill(&db, sites, residents, records)
    };
    let build = t.elapsed();
    let bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);

    // In-process, twice (the second with the file cache warm).
    let conn = storage::open(&db).expect("open");
    let forms = Registry::embedded();
    let settings = jkda::supervise::SupervisionSettings::default();
    let mut walls = Vec::new();
    let mut report = None;
    for _ in 0..2 {
        let t = Instant::now();
        report = Some(jkda::hub::supervision::build_report(&conn, &forms, period, &settings).expect("report"));
        walls.push(t.elapsed());
    }
    let report = report.expect("report");
    drop(conn);

    // Through the command line, with the process's peak memory.
    let t = Instant::now();
    let out = Command::new(hub_bin())
        .args([
            "--db",
            db.to_str().expect("path"),
            "report",
            "--period",
            period,
            "--json",
        ])
        .stdout(Stdio::null())
        .status()
        .expect("jkda-hub report");
    let cli_wall = t.elapsed();
    assert!(out.success());
    let cli_rss = children_max_rss_kb();

    // Served: a bureau account, the ranked page and one site's page.
    let mut add = Command::new(hub_bin())
        .args(["--db", db.to_str().expect("path"), "user", "add", "bench"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("user add");
    let _ = add.stdin.take().map(|mut s| s.write_all(b"bench-password-2026\n"));
    let _ = add.wait();
    let mut serve = Command::new(hub_bin())
        .args(["--db", db.to_str().expect("path"), "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    let _ = std::io::BufReader::new(serve.stdout.take().expect("stdout")).read_line(&mut line);
    let base = line.trim().rsplit(' ').next().unwrap_or("").to_string();
    let pid = serve.id().to_string();
    let site = report.sites.iter().map(|s| s.code.clone()).next().unwrap_or_default();
    let ranked = get(
        &format!("{base}/supervision?period={period}"),
        "bench",
        "bench-password-2026",
    );
    let mut site_pages = Vec::new();
    for _ in 0..5 {
        site_pages.push(get(
            &format!("{base}/supervision/site/{site}?period={period}"),
            "bench",
            "bench-password-2026",
        ));
    }
    let serve_rss = support::status_kb(&pid, "VmHWM:");
    let _ = serve.kill();
    let _ = serve.wait();

    println!();
    println!(
        "supervision — {} sites, {} residents, {} records{} ; database {:.0} MB; period {period}",
        report.sites.len(),
        if made_res > 0 {
            made_res.to_string()
        } else {
            "(kept)".into()
        },
        if made_rec > 0 {
            made_rec.to_string()
        } else {
            "(kept)".into()
        },
        if made_rec > 0 {
            format!(" (filled in {:.0} s)", build.as_secs_f64())
        } else {
            String::new()
        },
        bytes as f64 / 1e6
    );
    let c = &report.city;
    println!(
        "  city: {} records in the period, timely {:.3}, clean {:.3}, 规范管理率 {:.3}, 控制率 {:.3}",
        c.records, c.timely_share, c.clean_share, c.standardised_rate, c.control_rate
    );
    println!("| measure | figure | target |");
    println!("| --- | --- | --- |");
    println!(
        "| full report in-process (first / warm) | {:.0} ms / {:.0} ms | ≤ 10 s |",
        ms(walls[0]),
        ms(walls[1])
    );
    println!(
        "| `jkda-hub report --json` (process) | {:.0} ms, peak RSS {:.1} MB | ≤ 10 s, ≤ 200 MB |",
        ms(cli_wall),
        cli_rss as f64 / 1024.0
    );
    println!(
        "| ranked page (first, computes the report) | {:.0} ms, HTTP {}, {} bytes | |",
        ms(ranked.2),
        ranked.0,
        ranked.1
    );
    let mut warm: Vec<Duration> = site_pages.iter().skip(1).map(|p| p.2).collect();
    warm.sort();
    println!(
        "| a site page (median of 4 after the first {:.0} ms) | {:.0} ms, HTTP {} | ≤ 200 ms |",
        ms(site_pages[0].2),
        warm.get(warm.len() / 2).map_or(0.0, |d| ms(*d)),
        site_pages.last().map_or(0, |p| p.0)
    );
    println!(
        "| `jkda-hub serve` peak RSS | {} | ≤ 200 MB |",
        serve_rss.map_or_else(|| "-".into(), |kb| format!("{:.1} MB", kb as f64 / 1024.0))
    );
}
