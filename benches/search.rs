//! Resident search at county scale (issue 3, part 6). Prints figures; not a
//! timed test.
//!
//! `cargo bench --bench search` builds 200 000 demo residents (with their
//! records) in an encrypted installation, as a clinic runs it, then, per
//! query kind, types at least 1 000 queries the way a person does (every
//! prefix is a search) through the store API the TUI uses, and prints median
//! and p99 latency, the database size, and the peak RSS of the TUI after 50
//! searches (the real binary in a pseudo-terminal, logged in; and the same
//! core and views driven in a child process without the login).
//!
//! Environment: `JKDA_BENCH_RESIDENTS` (default 200000), `JKDA_BENCH_QUERIES`
//! (per kind, default 1000), `JKDA_BENCH_PLAIN=1` for a plaintext database.

mod support;

use jkda::app::{App, Msg};
use jkda::form::Registry;
use jkda::i18n::{I18n, Lang};
use jkda::keymap::Keymap;
use jkda::search::name_keys;
use jkda::shell::Shell;
use jkda::store::crypt::DbKey;
use jkda::store::{SiteConfig, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-password-2026";
/// As many rows as the TUI asks for per keystroke.
const LIMIT: usize = jkda::app::ListState::LIMIT;
const RSS_SEARCHES: usize = 50;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn main() {
    if let Ok(dir) = std::env::var("JKDA_BENCH_RSS_CHILD") {
        rss_child(Path::new(&dir));
        return;
    }
    // `cargo bench` passes `--bench`; nothing else is expected.
    let load_at_start = load_average();
    let residents = env_num("JKDA_BENCH_RESIDENTS", 200_000) as u32;
    let per_kind = env_num("JKDA_BENCH_QUERIES", 1000);
    let plain = std::env::var("JKDA_BENCH_PLAIN").is_ok_and(|v| v == "1");
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let site = SiteConfig {
        division: "220602".into(),
        township: "101".into(),
        village: "101".into(),
        name: "江源区示范乡镇卫生院".into(),
    };

    // 1. Build: an installation (site, administrator), then the demo.
    let session =
        jkda::session::install(dir, Some(&site), "admin", "管理员", &PASSWORD.into(), !plain).expect("install");
    let key = session.key.clone().filter(|_| !plain);
    let actor = session.actor.clone();
    let mut store = session.store;
    let registry = Registry::embedded();
    let t = Instant::now();
    let cpu_before = process_cpu();
    let mut last_tenth = 0;
    let today = chrono::Local::now().date_naive();
    let report = jkda::demo::generate(
        &mut store,
        &registry,
        &actor,
        residents,
        2026,
        today,
        &mut |done, total| {
            let tenth = done * 10 / total.max(1);
            if tenth > last_tenth {
                last_tenth = tenth;
                eprintln!(
                    "  {} {:.0} s",
                    jkda::demo::progress_bar(done, total, 30),
                    t.elapsed().as_secs_f64()
                );
            }
        },
    )
    .expect("demo data");
    let build = t.elapsed();
    let build_cpu = process_cpu().saturating_sub(cpu_before);
    drop(store);
    let db = jkda::paths::db_path(dir);
    let size = file_size(&db) + file_size(&PathBuf::from(format!("{}-wal", db.display())));

    // 2. What people type: drawn from the residents themselves.
    let subjects = sample(&db, key.as_ref(), per_kind, 7);
    let kinds = queries(&subjects, per_kind);

    // 3. Latency, through the API the TUI calls for every keystroke.
    let store = Store::open_with_key(&db, key.as_ref()).expect("reopen");
    let t = Instant::now();
    store.search_residents(&actor, "zs", LIMIT).expect("first search");
    let first = t.elapsed();
    let mut results = Vec::new();
    for (kind, typed) in &kinds {
        let mut lat = Vec::with_capacity(typed.len() * 8);
        let mut cpu = Vec::with_capacity(typed.len() * 8);
        let mut found = 0usize;
        let mut queries = 0usize;
        for q in typed {
            for prefix in prefixes(q) {
                let (t, c) = (Instant::now(), thread_cpu());
                let rows = store.search_residents(&actor, &prefix, LIMIT).expect("search");
                lat.push(t.elapsed());
                cpu.push(thread_cpu().saturating_sub(c));
                queries += 1;
                found += usize::from(!rows.is_empty());
            }
            let rows = store.search_residents(&actor, q, LIMIT).expect("search");
            assert!(!rows.is_empty(), "{kind}: nothing found for a resident's own data");
        }
        lat.sort();
        cpu.sort();
        results.push((*kind, typed.len(), queries, found, lat, cpu));
    }
    let mut recent = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        store.search_residents(&actor, "", LIMIT).expect("recent");
        recent.push(t.elapsed());
    }
    recent.sort();
    drop(store);

    // 4. Memory of the TUI after 50 searches.
    let in_process = rss_in_child(dir, key.as_ref(), &kinds);
    let real_tui = rss_real_tui(dir, &kinds);

    println!();
    println!(
        "resident search — {} residents, {} ({})",
        report.residents,
        if plain {
            "plaintext database"
        } else {
            "encrypted database (SQLCipher)"
        },
        std::env::consts::ARCH
    );
    println!(
        "build (jkda demo): {:.1} s for {} residents and {} records ({:.0} residents/s) on {} cores; \
         CPU {:.1} s (both threads)",
        build.as_secs_f64(),
        report.residents,
        report.records,
        f64::from(report.residents) / build.as_secs_f64(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        build_cpu.as_secs_f64()
    );
    println!("database size: {:.1} MB (db + wal)", size as f64 / 1e6);
    println!("first search after opening: {:.2} ms", ms(first));
    println!();
    println!(
        "{:<20} {:>6} {:>8} {:>6} {:>10} {:>10} {:>10} {:>11} {:>11}",
        "query kind", "typed", "searches", "hits", "median", "p99", "max", "cpu median", "cpu p99"
    );
    for (kind, typed, queries, found, lat, cpu) in &results {
        println!(
            "{:<20} {:>6} {:>8} {:>5.0}% {:>7.3} ms {:>7.3} ms {:>7.3} ms {:>8.3} ms {:>8.3} ms",
            kind,
            typed,
            queries,
            100.0 * *found as f64 / *queries as f64,
            ms(pct(lat, 50.0)),
            ms(pct(lat, 99.0)),
            ms(*lat.last().unwrap_or(&Duration::ZERO)),
            ms(pct(cpu, 50.0)),
            ms(pct(cpu, 99.0)),
        );
    }
    println!(
        "{:<20} {:>6} {:>8} {:>6} {:>7.3} ms {:>7.3} ms {:>7.3} ms",
        "(empty box: recent)",
        "",
        recent.len(),
        "",
        ms(pct(&recent, 50.0)),
        ms(pct(&recent, 99.0)),
        ms(*recent.last().unwrap_or(&Duration::ZERO))
    );
    println!();
    match real_tui {
        Ok((before, hwm, rss)) => println!(
            "TUI (jkda in a pty, logged in, {RSS_SEARCHES} searches typed): peak RSS (VmHWM) {:.1} MB \
             (already {:.1} MB after login, before the first keystroke: Argon2id takes {} MiB), RSS now {:.1} MB",
            hwm as f64 / 1024.0,
            before as f64 / 1024.0,
            jkda::store::crypt::KDF_M_KIB / 1024,
            rss as f64 / 1024.0
        ),
        Err(e) => println!("TUI in a pty: not measured ({e})"),
    }
    match in_process {
        Ok((hwm, rss)) => println!(
            "TUI core + views in a child, no login ({RSS_SEARCHES} searches): peak RSS (VmHWM) {:.1} MB, RSS now {:.1} MB",
            hwm as f64 / 1024.0,
            rss as f64 / 1024.0
        ),
        Err(e) => println!("TUI core in a child: not measured ({e})"),
    }
    println!("targets: p99 <= 10 ms for every kind; RSS <= 25 MB");
    println!(
        "wall-clock latency includes waiting for a CPU; cpu = this thread's CPU time. Load average: {} at the start, {} now",
        load_at_start,
        load_average()
    );
}

/// CPU time of the calling thread.
#[allow(unsafe_code)] // the CPU clock is a libc call
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU time (user + system) of the whole process so far.
#[allow(unsafe_code)] // the CPU clock is a libc call
fn process_cpu() -> Duration {
    // SAFETY: getrusage writes into the struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// The one-minute load average: other work on the machine shows in wall times.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Each prefix of what is typed, character by character (a Chinese input
/// method commits whole characters).
fn prefixes(q: &str) -> Vec<String> {
    let chars: Vec<char> = q.chars().collect();
    (1..=chars.len()).map(|n| chars[..n].iter().collect()).collect()
}

struct Subject {
    name: String,
    id_number: Option<String>,
    phone: Option<String>,
    record_no: String,
}

/// Residents to look for, read straight from the file (the store API
/// would audit every read, and the benchmark is not a person).
fn sample(db: &Path, key: Option<&DbKey>, n: usize, seed: u64) -> Vec<Subject> {
    let conn = rusqlite::Connection::open(db).expect("open for sampling");
    if let Some(key) = key {
        // SQLCipher's pragmas may answer with a row: step through it.
        for sql in [
            format!("PRAGMA key = \"x'{}'\"", key.to_hex()),
            "PRAGMA cipher_compatibility = 4".to_string(),
        ] {
            let mut stmt = conn.prepare(&sql).expect("pragma");
            let mut rows = stmt.query([]).expect("pragma");
            while rows.next().expect("pragma").is_some() {}
        }
    }
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM residents WHERE status = 'active' AND name IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut stmt = conn
        .prepare("SELECT name, id_number, phone, record_no FROM residents WHERE id = ?1")
        .unwrap();
    // Enough that every kind has `n` (phones: adults only).
    (0..n * 2)
        .map(|_| {
            let id = ids[rng.random_range(0..ids.len())];
            stmt.query_row([id], |r| {
                Ok(Subject {
                    name: r.get(0)?,
                    id_number: r.get(1)?,
                    phone: r.get(2)?,
                    record_no: r.get(3)?,
                })
            })
            .unwrap()
        })
        .collect()
}

/// Per kind, `n` queries as typed in full.
fn queries(subjects: &[Subject], n: usize) -> Vec<(&'static str, Vec<String>)> {
    let take = |f: &dyn Fn(&Subject) -> Option<String>| subjects.iter().filter_map(f).take(n).collect::<Vec<_>>();
    vec![
        (
            "pinyin initials",
            take(&|s| name_keys(&s.name).initials.first().cloned()),
        ),
        ("full pinyin", take(&|s| name_keys(&s.name).full.first().cloned())),
        (
            "Chinese name part",
            take(&|s| {
                let chars: Vec<char> = s.name.chars().collect();
                // The given name; a one-character given name with its surname.
                Some(if chars.len() >= 3 {
                    chars[1..].iter().collect()
                } else {
                    s.name.clone()
                })
            }),
        ),
        (
            "ID tail (6)",
            take(&|s| s.id_number.as_ref().map(|i| i[i.len() - 6..].to_string())),
        ),
        (
            "phone tail (4)",
            take(&|s| s.phone.as_ref().map(|p| p[p.len() - 4..].to_string())),
        ),
        ("record number (17)", take(&|s| Some(s.record_no.clone()))),
    ]
}

/// The 50 keystrokes typed into the list: queries of every kind, the box
/// cleared between them (each keystroke, the clearing too, is a search).
fn keystrokes(kinds: &[(&str, Vec<String>)]) -> Vec<String> {
    let mut keys = Vec::new();
    let mut i = 0;
    'outer: loop {
        for (_, qs) in kinds {
            let q = &qs[i % qs.len()];
            for c in q.chars() {
                keys.push(c.to_string());
                if keys.len() >= RSS_SEARCHES {
                    break 'outer;
                }
            }
            keys.push("\x1b".to_string());
            if keys.len() >= RSS_SEARCHES {
                break 'outer;
            }
        }
        i += 1;
    }
    keys
}

/// Runs this benchmark binary again as a child that opens the store, drives
/// the TUI's core and views (`Shell`, `App`, `ui::draw` into an 80×24
/// buffer) through 50 searches, and reports its own memory.
fn rss_in_child(dir: &Path, key: Option<&DbKey>, kinds: &[(&str, Vec<String>)]) -> Result<(u64, u64), String> {
    let keys = keystrokes(kinds);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(exe);
    cmd.env("JKDA_BENCH_RSS_CHILD", dir)
        .env("JKDA_BENCH_KEYS", keys.join("\u{1f}"));
    if let Some(k) = key {
        cmd.env("JKDA_BENCH_KEY", k.to_hex());
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut nums = text.split_whitespace().filter_map(|w| w.parse::<u64>().ok());
    match (nums.next(), nums.next()) {
        (Some(h), Some(r)) => Ok((h, r)),
        _ => Err(format!("child said: {} {}", text, String::from_utf8_lossy(&out.stderr))),
    }
}

fn rss_child(dir: &Path) {
    let key = std::env::var("JKDA_BENCH_KEY")
        .ok()
        .map(|k| DbKey::from_hex(&k).expect("key"));
    let keys = std::env::var("JKDA_BENCH_KEYS").unwrap_or_default();
    let store = Store::open_with_key(&jkda::paths::db_path(dir), key.as_ref()).expect("open");
    let site = store.site().expect("site");
    let mut shell = Shell::new(store, Registry::embedded(), jkda::store::Actor::new("bench"));
    let clock = jkda::tui::system_clock();
    let mut app = App::new(Lang::Zh, Keymap::default(), site, &clock);
    for m in shell.startup(&mut app, &clock) {
        shell.dispatch(&mut app, m, &clock);
    }
    let i18n = I18n::new(Lang::Zh);
    let view = jkda::ui::View {
        i18n: &i18n,
        theme: jkda::ui::Theme::from_env(),
    };
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).expect("terminal");
    terminal.draw(|f| jkda::ui::draw(f, &app, &view)).expect("draw");
    for k in keys.split('\u{1f}').filter(|k| !k.is_empty()) {
        let code = match k {
            "\x1b" => crossterm::event::KeyCode::Esc,
            s => crossterm::event::KeyCode::Char(s.chars().next().unwrap_or(' ')),
        };
        let event = crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE);
        shell.dispatch(&mut app, Msg::Key(event), &clock);
        terminal.draw(|f| jkda::ui::draw(f, &app, &view)).expect("draw");
    }
    let hwm = support::status_kb("self", "VmHWM:").unwrap_or(0);
    let rss = support::status_kb("self", "VmRSS:").unwrap_or(0);
    println!("{hwm} {rss}");
}

/// The real `jkda` in a pseudo-terminal: log in, type 50 keystrokes into
/// the search box, read the process's memory from /proc, quit.
fn rss_real_tui(dir: &Path, kinds: &[(&str, Vec<String>)]) -> Result<(u64, u64, u64), String> {
    let mut tui = support::Tui::login(dir, PASSWORD)?;
    std::thread::sleep(Duration::from_millis(300));
    let before = tui.memory()?.0;
    for k in keystrokes(kinds) {
        tui.send(&k);
    }
    std::thread::sleep(Duration::from_millis(500));
    let (hwm, rss) = tui.memory()?;
    Ok((before, hwm, rss))
}
