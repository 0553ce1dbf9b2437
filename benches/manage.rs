//! The management half at county scale (issue 8, part 7). Prints figures;
//! not a timed test.
//!
//! `cargo bench --bench manage` builds `JKDA_BENCH_RESIDENTS` (default
//! 200 000) demo residents with rule-following programme histories in an
//! encrypted installation, then times through the store API the TUI and
//! the CLI call: the year's indicators (and a quarter's, and one village's),
//! the worklist (what the worklist screen loads: the 2 000 most urgent items
//! and every count), and the residents behind a figure; then drives the
//! real TUI in a pseudo-terminal (log in, worklist, indicators) and reads
//! its peak RSS.

use jkda::form::def::Programme;
use jkda::form::Registry;
use jkda::manage::kpi::Period;
use jkda::store::care_read::{Measure, WorklistFilter};
use jkda::store::{SiteConfig, Store};
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-password-2026";

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

#[allow(unsafe_code)] // the CPU clock is a libc call
fn cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Median wall and CPU time of `runs` calls.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let (t, c) = (Instant::now(), cpu());
        last = Some(f());
        walls.push(t.elapsed());
        cpus.push(cpu().saturating_sub(c));
    }
    walls.sort();
    cpus.sort();
    (walls[runs / 2], cpus[runs / 2], last.expect("at least one run"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let residents = env_num("JKDA_BENCH_RESIDENTS", 200_000) as u32;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let site = SiteConfig {
        division: "220602".into(),
        township: "101".into(),
        village: "101".into(),
        name: "江源区示范乡镇卫生院".into(),
    };
    let session = jkda::session::install(dir, Some(&site), "admin", "管理员", &PASSWORD.into(), true).expect("install");
    let key = session.key.clone();
    let actor = session.actor.clone();
    let mut store = session.store;
    let today = chrono::Local::now().date_naive();
    let t = Instant::now();
    let made = jkda::demo::generate(
        &mut store,
        &Registry::embedded(),
        &actor,
        residents,
        2026,
        today,
        &mut |_, _| {},
    )
    .expect("demo");
    let build = t.elapsed();
    drop(store);
    let db = jkda::paths::db_path(dir);
    let store = Store::open_with_key(&db, key.as_ref()).expect("reopen");

    use chrono::Datelike;
    let year = Period::year(today.year()).expect("year");
    let quarter = Period::quarter(today.year(), today.month0() / 3 + 1).expect("quarter");
    let (kpi_wall, kpi_cpu, report) = time(5, || store.kpi(&actor, &year, None).expect("kpi"));
    let (q_wall, q_cpu, _) = time(5, || store.kpi(&actor, &quarter, None).expect("kpi"));
    let village = report.villages.first().map(|v| v.code.clone());
    let (v_wall, v_cpu, _) = time(5, || store.kpi(&actor, &year, village.clone()).expect("kpi"));
    let rows = jkda::app::manage_screens::WORKLIST_ROWS;
    let (w_wall, w_cpu, list) = time(5, || {
        store
            .worklist(&actor, today, &WorklistFilter::default(), rows)
            .expect("worklist")
    });
    let (all_wall, all_cpu, _) = time(3, || {
        store
            .worklist(&actor, today, &WorklistFilter::default(), usize::MAX)
            .expect("worklist")
    });
    let (d_wall, d_cpu, behind) = time(5, || {
        store
            .kpi_residents(&actor, &year, None, Programme::Hypertension, Measure::Controlled)
            .expect("drill")
    });
    drop(store);
    let tui = rss_real_tui(dir);

    println!();
    println!(
        "management — {} residents, {} records (demo built in {:.0} s), today {today}, load at start {}",
        made.residents,
        made.records,
        build.as_secs_f64(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    for p in &report.figures.programmes {
        println!(
            "  {}: managed {}, 规范管理率 {:.3}, 控制率 {:.3}, exams {:.3}",
            p.programme, p.managed, p.standardised_rate, p.control_rate, p.exam_rate
        );
    }
    println!(
        "  worklist: {} items in all ({:?})",
        list.total,
        list.counts
            .iter()
            .map(|(k, n)| format!("{} {n}", k.key()))
            .collect::<Vec<_>>()
    );
    println!("| measure | median wall | median CPU | target |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| the year's indicators, site and every village | {:.0} ms | {:.0} ms | ≤ 1 s |",
        ms(kpi_wall),
        ms(kpi_cpu)
    );
    println!(
        "| a quarter's indicators | {:.0} ms | {:.0} ms | — |",
        ms(q_wall),
        ms(q_cpu)
    );
    println!(
        "| one village's year | {:.0} ms | {:.0} ms | — |",
        ms(v_wall),
        ms(v_cpu)
    );
    println!(
        "| worklist first load (the {rows} most urgent, all counted) | {:.0} ms | {:.0} ms | first screen ≤ 100 ms |",
        ms(w_wall),
        ms(w_cpu)
    );
    println!(
        "| the whole worklist ({} items, `jkda worklist`) | {:.0} ms | {:.0} ms | — |",
        list.total,
        ms(all_wall),
        ms(all_cpu)
    );
    println!(
        "| residents behind 控制率 (hypertension, {} ids) | {:.0} ms | {:.0} ms | — |",
        behind.len(),
        ms(d_wall),
        ms(d_cpu)
    );
    match tui {
        Ok((hwm, rss)) => println!(
            "| TUI in a pty: logged in, worklist, indicators: peak RSS (VmHWM) | {:.1} MB (now {:.1} MB) | | ≤ 20 MB |",
            hwm as f64 / 1024.0,
            rss as f64 / 1024.0
        ),
        Err(e) => println!("TUI RSS not measured: {e}"),
    }
}

/// Logs in to the real jkda in an 80×24 pty, opens the worklist and the
/// indicators, and reads its peak and current RSS (kB).
fn rss_real_tui(dir: &Path) -> Result<(u64, u64), String> {
    let mut tui = support::Tui::login(dir, PASSWORD)?;
    tui.send("\x1bOR"); // F3: the worklist
    tui.wait("类别")?;
    tui.send("\x1b"); // back
    tui.wait("查找")?;
    tui.send("\x1b[15~"); // F5: the indicators
    tui.wait("管理人数")?;
    std::thread::sleep(Duration::from_millis(300));
    tui.memory()
}
