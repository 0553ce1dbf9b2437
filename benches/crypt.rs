//! Cost of encryption at rest (issue 5, part 4): the same workload on a
//! plaintext and on a SQLCipher database, and the Argon2id derivation that
//! every login pays. Prints figures; not a timed test.
//!
//! `cargo bench --bench crypt` (JKDA_BENCH_RESIDENTS for another size,
//! default 10 000 demo residents with their records; 0 measures only the
//! password derivation).

use jkda::form::Registry;
use jkda::store::crypt::{self, DbKey, Keyring};
use jkda::store::{Actor, ResidentFields, Save, Store};
use std::path::Path;
use std::time::{Duration, Instant};

struct Figures {
    import_per_s: f64,
    register_ms: f64,
    search_ms: f64,
    open_ms: f64,
    scan_ms: f64,
    size_mb: f64,
}

fn main() {
    let residents: u32 = std::env::var("JKDA_BENCH_RESIDENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let registry = Registry::embedded();

    let key = DbKey::generate();
    if residents > 0 {
        database(dir.path(), &key, &registry, residents);
    }

    argon(dir.path(), &key);
}

fn database(dir: &Path, key: &DbKey, registry: &Registry, residents: u32) {
    let plain = run(&dir.join("plain.db"), None, registry, residents);
    let enc = run(&dir.join("encrypted.db"), Some(key), registry, residents);
    println!("\n{residents} residents; plaintext vs SQLCipher (AES-256, HMAC-SHA512, 4 KiB pages)");
    println!("{:<44} {:>12} {:>12} {:>8}", "", "plaintext", "encrypted", "ratio");
    let row = |name: &str, p: f64, e: f64, unit: &str| {
        println!("{:<44} {:>9.2} {unit:<2} {:>9.2} {unit:<2} {:>7.2}x", name, p, e, e / p);
    };
    println!(
        "{:<44} {:>9.0} /s {:>9.0} /s {:>7.2}x",
        "bulk import (residents + records)",
        plain.import_per_s,
        enc.import_per_s,
        plain.import_per_s / enc.import_per_s
    );
    row(
        "register one resident (3 commits, fsync)",
        plain.register_ms,
        enc.register_ms,
        "ms",
    );
    row(
        "search (cold cache, mean of 200 queries)",
        plain.search_ms,
        enc.search_ms,
        "ms",
    );
    row("open + first search", plain.open_ms, enc.open_ms, "ms");
    row("full scan of all records (cold)", plain.scan_ms, enc.scan_ms, "ms");
    row("file size", plain.size_mb, enc.size_mb, "MB");
    println!("(import ratio is plaintext/encrypted speed; the others encrypted/plaintext time)");
}

/// What each login costs.
fn argon(dir: &Path, key: &DbKey) {
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1000.0
    };
    // Wall time on a busy shared machine overstates the cost; the thread's
    // CPU time is what an idle PC of this speed would wait.
    println!("\nArgon2id, one derivation (median of 5; wall time / thread CPU time):");
    for (m_mib, t) in [(19, 2), (32, 2), (32, 3), (46, 1), (64, 3)] {
        let params = argon2::Params::new(m_mib * 1024, t, 1, Some(32)).expect("params");
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut wall = Vec::new();
        let mut cpu = Vec::new();
        for _ in 0..5 {
            let (t, c) = (Instant::now(), thread_cpu());
            let mut out = [0u8; 32];
            a.hash_password_into(b"benchmark password", &[7u8; 16], &mut out)
                .expect("argon2");
            wall.push(t.elapsed());
            cpu.push(thread_cpu() - c);
        }
        let note = if (m_mib * 1024, t) == (crypt::KDF_M_KIB, crypt::KDF_T) {
            "  <- jkda keyring"
        } else {
            ""
        };
        println!(
            "  m={m_mib:>2} MiB, t={t}, p=1: {:>5.0} ms / {:>4.0} ms{note}",
            median(wall),
            median(cpu)
        );
    }
    let ours_ms = median((0..5).map(|_| crypt::time_one_derivation()).collect());
    println!(
        "  jkda keyring (m={} MiB, t={}, p={}): {ours_ms:.0} ms",
        crypt::KDF_M_KIB / 1024,
        crypt::KDF_T,
        crypt::KDF_P
    );
    let mut ring = Keyring::create(dir);
    let t = Instant::now();
    ring.add_user("admin", &"东山村卫生室2026".into(), key)
        .expect("add user");
    let add_ms = t.elapsed().as_secs_f64() * 1000.0;
    let unlock_ms = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                ring.unlock("admin", &"东山村卫生室2026".into(), chrono::Utc::now())
                    .expect("unlock");
                t.elapsed()
            })
            .collect(),
    );
    let wrong_ms = {
        let t = Instant::now();
        let _ = ring.unlock("admin", &"wrong".into(), chrono::Utc::now());
        t.elapsed().as_secs_f64() * 1000.0
    };
    println!(
        "keyring: add user {add_ms:.0} ms, unlock {unlock_ms:.0} ms, wrong password {wrong_ms:.0} ms (incl. fsync of the counter)"
    );
}

fn open(path: &Path, key: Option<&DbKey>) -> Store {
    Store::open_with_key(path, key).expect("open store")
}

fn run(path: &Path, key: Option<&DbKey>, registry: &Registry, residents: u32) -> Figures {
    let actor = Actor::new("bench");
    let label = if key.is_some() { "encrypted" } else { "plaintext" };

    let mut store = open(path, key);
    let t = Instant::now();
    let today = chrono::Local::now().date_naive();
    jkda::demo::generate(&mut store, registry, &actor, residents, 1, today, &mut |_, _| {}).expect("demo data");
    let import_s = t.elapsed().as_secs_f64();
    eprintln!("({label}: imported {residents} residents in {import_s:.1} s)");

    // Registering at the desk: one resident, a registration draft, its save.
    let site = store.site().expect("site").expect("site set by demo");
    let reg = registry.registration().expect("registration form");
    let src = registry.source(&reg.id).expect("source").to_string();
    let n = 100;
    let t = Instant::now();
    for i in 0..n {
        let r = store.create_resident(&actor, &site).expect("resident");
        let rec = store.create_record(&actor, r.id, reg, &src).expect("record");
        let fields = ResidentFields {
            name: Some(format!("测试{i}")),
            sex: Some("1".into()),
            birth_date: Some("1950-01-01".into()),
            id_number: None,
            phone: None,
            address: Some(format!("东山村一组{i}号")),
            village: Some("东山村".into()),
        };
        store
            .save_draft(
                &actor,
                rec.id,
                &Save {
                    resident: Some(fields),
                    ..Save::default()
                },
            )
            .expect("draft");
    }
    let register_ms = t.elapsed().as_secs_f64() * 1000.0 / n as f64;

    // Queries a worker types: names, surnames, record numbers.
    let sample = store.recent_residents(&Actor::new("bench"), 400).expect("sample");
    let mut queries: Vec<String> = Vec::new();
    for r in sample.iter().filter(|r| !r.name.starts_with("测试")).take(200) {
        queries.push(match queries.len() % 3 {
            0 => r.name.clone(),
            1 => r.name.chars().take(2).collect(),
            _ => r.record_no.clone(),
        });
    }
    drop(store);

    // Searches on a freshly opened store, so pages come from disk (the OS
    // cache) and go through decryption.
    let store = open(path, key);
    let t = Instant::now();
    let mut hits = 0;
    for q in &queries {
        hits += store
            .search_residents(&Actor::new("bench"), q, 20)
            .expect("search")
            .len();
    }
    let search_ms = t.elapsed().as_secs_f64() * 1000.0 / queries.len().max(1) as f64;
    assert!(hits > 0, "searches found nothing");
    drop(store);

    let opens = 20;
    let t = Instant::now();
    for q in queries.iter().take(opens) {
        let s = open(path, key);
        s.search_residents(&Actor::new("bench"), q, 20).expect("search");
    }
    let open_ms = t.elapsed().as_secs_f64() * 1000.0 / opens as f64;

    // Worst case for encryption: every page of the biggest table decrypted.
    let conn = rusqlite::Connection::open(path).expect("raw open");
    if let Some(k) = key {
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", k.to_hex()))
            .expect("key");
    }
    let t = Instant::now();
    let total: i64 = conn
        .query_row("SELECT sum(length(answers)) FROM records", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .expect("scan")
        .unwrap_or(0);
    let scan_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(total > 0);
    drop(conn);

    let size_mb = std::fs::metadata(path).expect("size").len() as f64 / 1e6;
    Figures {
        import_per_s: residents as f64 / import_s,
        register_ms,
        search_ms,
        open_ms,
        scan_ms,
        size_mb,
    }
}

/// This thread's CPU time (wall time where that cannot be read).
#[allow(unsafe_code)] // the CPU clock is a libc call
fn thread_cpu() -> Duration {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes one timespec into `ts`.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
            return Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
        }
    }
    START.with(|s| s.elapsed())
}

thread_local! {
    static START: Instant = Instant::now();
}
