//! Upload benchmark (prints figures; not a timed test): 10 000 follow-ups
//! from one clinic to a local hub — wall time, records/s, bytes on the wire
//! per record — and the hub under 20 concurrent clients: requests/s and p99
//! latency. Targets (issue 4): >= 1 000 records/s, <= 1.5 KB per follow-up.
//!
//! `cargo bench --bench upload` (set JKDA_BENCH_RECORDS for another size).

use jkda::form::{Answers, Registry};
use jkda::hub::{storage, Hub, HubConfig};
use jkda::store::{Actor, Save, SiteConfig, Store};
use jkda::sync::{Secret, SyncConfig, Uploader};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn main() {
    let records: usize = std::env::var("JKDA_BENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let hub_db = dir.path().join("hub.sqlite");
    let conn = storage::open(&hub_db).expect("hub db");
    let tokens: Vec<String> = (0..21)
        .map(|i| storage::add_site(&conn, &format!("s{i:02}"), "bench").expect("site"))
        .collect();
    drop(conn);
    let log = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink: Box<dyn std::io::Write + Send> = Box::new(Sink(log.clone()));
    let hub_config = HubConfig {
        workers: 4,
        log: Some(Arc::new(Mutex::new(sink))),
        ..HubConfig::new(&hub_db)
    };
    let hub = Hub::start("127.0.0.1:0", hub_config).expect("hub");

    // The clinic: residents and finalized follow-ups through the store API.
    let t = Instant::now();
    let mut store = Store::open(&dir.path().join("clinic.sqlite")).expect("store");
    let registry = Arc::new(Registry::embedded());
    fill(&mut store, &registry, records);
    eprintln!("(prepared {records} follow-ups in {:.1} s)", t.elapsed().as_secs_f64());

    let cfg = SyncConfig {
        server_url: Some(hub.url()),
        token: Some(Secret::new(&tokens[0])),
        ..SyncConfig::default()
    };
    stage_times(&store, &registry, &cfg);
    let mut up = Uploader::new(cfg, registry.clone(), Actor::new("sync")).expect("uploader");
    let t = Instant::now();
    let cpu0 = cpu_seconds();
    let report = up.run(&mut store);
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    assert!(report.error.is_none(), "upload failed: {:?}", report.error);
    let sent = report.sent;
    // The answers' bytes as the hub wrote them (gzip), from its access log.
    let (down, hub_ms) = posts(&log.lock().expect("log"));
    let wire = report.traffic.up + down;
    println!(
        "upload: {sent} follow-ups in {wall:.2} s = {:.0} records/s",
        sent as f64 / wall
    );
    println!(
        "        CPU used (client + hub, this process): {cpu:.2} s = {:.0} records per CPU-second; load average {}",
        sent as f64 / cpu,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or("?")
    );
    println!(
        "        waiting on the hub {:.2} s (hub handling {:.2} s), client side {:.2} s",
        report.http_time.as_secs_f64(),
        hub_ms as f64 / 1000.0,
        wall - report.http_time.as_secs_f64()
    );
    println!(
        "wire:   {:.0} B/record bodies ({:.0} B up gzip + {:.0} B down gzip), {} requests of {} records",
        wire as f64 / sent as f64,
        report.traffic.up as f64 / sent as f64,
        down as f64 / sent as f64,
        report.requests,
        sent / report.requests.max(1)
    );

    // 20 concurrent clients, each its own site, each uploading and reading.
    let clients = 20;
    let per_client = 20;
    let url = hub.url();
    let t = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let token = tokens[i + 1].clone();
            let url = url.clone();
            let registry = registry.clone();
            let path = dir.path().join(format!("c{i}.sqlite"));
            std::thread::spawn(move || client_load(&url, &token, &registry, &path, per_client))
        })
        .collect();
    let mut latencies: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().expect("client")).collect();
    let wall = t.elapsed().as_secs_f64();
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "hub:    {clients} concurrent clients, {} requests in {wall:.2} s = {:.0} requests/s; latency p50 {:.1} ms, p99 {:.1} ms",
        latencies.len(),
        latencies.len() as f64 / wall,
        p(0.50),
        p(0.99)
    );
    hub.stop();
}

/// Where the client's time goes for one batch of 100: reading the outbox,
/// mapping to FHIR, serializing and compressing.
fn stage_times(store: &Store, registry: &Registry, cfg: &SyncConfig) {
    let t = Instant::now();
    let items = store
        .claim_outbox(chrono::Utc::now(), chrono::Duration::hours(1), 100)
        .expect("claim");
    let claim = t.elapsed();
    let t = Instant::now();
    let mut requests = Vec::new();
    for item in &items {
        let def = registry.get(&item.record.form_id).expect("form");
        let input = jkda::fhir::RecordInput {
            record: &item.record,
            resident: &item.resident,
            def,
            ids: &cfg.identifiers,
        };
        for r in jkda::fhir::record_resources(&input, true) {
            requests.push(jkda::fhir::Request::put(r, None));
        }
    }
    let map = t.elapsed();
    let t = Instant::now();
    let json = jkda::fhir::write_transaction(&requests, Vec::new()).expect("json");
    let ser = t.elapsed();
    let gzip = |level: u32| {
        let t = Instant::now();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        std::io::Write::write_all(&mut gz, &json).expect("gzip");
        let z = gz.finish().expect("gzip");
        format!(
            "level {level} {:.1} ms ({} KB)",
            t.elapsed().as_secs_f64() * 1e3,
            z.len() / 1024
        )
    };
    println!(
        "        one batch of {}: claim {:.1} ms, map {:.1} ms, JSON {:.1} ms ({} KB); gzip {} (used), {}, {}",
        items.len(),
        claim.as_secs_f64() * 1e3,
        map.as_secs_f64() * 1e3,
        ser.as_secs_f64() * 1e3,
        json.len() / 1024,
        gzip(3),
        gzip(1),
        gzip(6)
    );
}

/// User + system CPU time of this process so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    // utime and stime (fields 14 and 15 of stat), counted after the command name.
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Answer bytes and handling time of the `POST /` lines of the access log.
fn posts(log: &[u8]) -> (u64, u64) {
    let text = String::from_utf8_lossy(log);
    let mut bytes = 0;
    let mut ms = 0;
    for line in text.lines().filter(|l| l.contains(" POST / ")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        bytes += fields
            .get(4)
            .and_then(|b| b.trim_end_matches('B').parse::<u64>().ok())
            .unwrap_or(0);
        ms += fields
            .get(5)
            .and_then(|d| d.trim_end_matches("ms").parse::<u64>().ok())
            .unwrap_or(0);
    }
    (bytes, ms)
}

/// One client: uploads its own records one per request (a clinic finalizing
/// as it goes), then reads each back; returns each request's latency.
fn client_load(url: &str, token: &str, registry: &Arc<Registry>, path: &std::path::Path, n: usize) -> Vec<Duration> {
    let mut store = Store::open(path).expect("store");
    fill(&mut store, registry, n);
    let cfg = SyncConfig {
        server_url: Some(url.into()),
        token: Some(Secret::new(token)),
        batch_size: 1,
        ..SyncConfig::default()
    };
    let client = jkda::sync::Client::new(&cfg).expect("client");
    let mut up = Uploader::new(cfg, registry.clone(), Actor::new("sync")).expect("uploader");
    let mut out = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let r = up.run_limited(&mut store, 1);
        if r.requests > 0 {
            out.push(t.elapsed());
        }
    }
    let uuids: Vec<String> = {
        let c = rusqlite::Connection::open(path).expect("db");
        let mut s = c.prepare("SELECT uuid FROM records").expect("sql");
        s.query_map([], |r| r.get(0))
            .expect("q")
            .filter_map(Result::ok)
            .collect()
    };
    for u in uuids.iter().take(n) {
        let t = Instant::now();
        client.read("QuestionnaireResponse", u).expect("read");
        out.push(t.elapsed());
    }
    out
}

/// `n` finalized hypertension follow-ups over n/4 residents.
fn fill(store: &mut Store, registry: &Registry, n: usize) {
    let site = SiteConfig {
        division: "220602".into(),
        township: "101".into(),
        village: "101".into(),
        name: "bench".into(),
    };
    store.set_site(&site).expect("site");
    let actor = Actor::new("doc");
    let def = registry.get("hypertension-followup").expect("form").clone();
    let src = registry.source(&def.id).expect("source").to_string();
    let mut rng = StdRng::seed_from_u64(1);
    let mut resident = 0;
    for i in 0..n {
        if i % 4 == 0 {
            let r = store.create_resident(&actor, &site).expect("resident");
            let fields = jkda::store::ResidentFields {
                name: Some(format!("测试{i}")),
                sex: Some("1".into()),
                birth_date: Some("1950-01-01".into()),
                id_number: Some(jkda::demo::id_number(
                    "220602",
                    chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap(),
                    true,
                    &mut rng,
                )),
                phone: None,
                address: Some(format!("东山村一组{i}号")),
                village: Some("东山村".into()),
            };
            // The resident's details as typed on a registration draft (not
            // finalized, so only follow-ups are queued).
            let reg = registry.registration().expect("registration form");
            let rec = store
                .create_record(&actor, r.id, reg, registry.source(&reg.id).expect("source"))
                .expect("record");
            let save = Save {
                resident: Some(fields),
                ..Save::default()
            };
            store.save_draft(&actor, rec.id, &save).expect("draft");
            resident = r.id;
        }
        let rec = store.create_record(&actor, resident, &def, &src).expect("record");
        let day = 1 + (i % 28) as u32;
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        let d = date.format("%Y-%m-%d").to_string();
        let mut a = Answers::new();
        a.set_text("visit_date", &d);
        a.set_text("visit_method", "1");
        a.set_codes("symptoms", vec!["1".into()]);
        let sbp = rng.random_range(118..170);
        a.set_text("bp.systolic", &sbp.to_string());
        a.set_text("bp.diastolic", &rng.random_range(70..95).to_string());
        a.set_text("weight.current", &format!("{:.1}", rng.random_range(50.0..85.0f64)));
        a.set_text("height", &format!("{:.1}", rng.random_range(150.0..180.0f64)));
        a.set_text("heart_rate", &rng.random_range(60..95).to_string());
        let ctx = jkda::form::rules::Context {
            today: date,
            sex: Some("1".into()),
            birth_date: chrono::NaiveDate::from_ymd_opt(1950, 1, 1),
        };
        jkda::demo::complete_required(&def, &mut a, &ctx, date, &mut rng);
        let save = Save {
            answers: a,
            focus: None,
            record_date: Some(d),
            resident: None,
        };
        store
            .finalize(&actor, rec.id, &save, Some("hypertension"))
            .expect("finalize");
    }
}
