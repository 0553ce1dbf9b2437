//! Helpers for the sync tests: a real hub on 127.0.0.1:0, a clinic store
//! filled through the store API with synthetic residents, a TCP relay that
//! drops or cuts connections like a bad network, and the check that the hub
//! holds exactly what the clinic finalized. All traffic stays on loopback.

#![allow(dead_code)]

use jkda::demo::{complete_required, id_number};
use jkda::form::rules::Context;
use jkda::form::{Answers, Registry};
use jkda::hub::{storage, Hub, HubConfig};
use jkda::store::{Actor, ResidentFields, Save, SiteConfig, Store};
use jkda::sync::{Secret, SyncConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Platform {
    pub hub: Option<Hub>,
    pub db: PathBuf,
    pub tokens: Vec<String>,
    pub faults: Arc<jkda::hub::Faults>,
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

impl Platform {
    /// A hub with sites `s1` and `s2`.
    pub fn start(dir: &Path) -> Platform {
        let db = dir.join("hub.sqlite");
        let conn = storage::open(&db).unwrap();
        let tokens = vec![
            storage::add_site(&conn, "s1", "东山村卫生室").unwrap(),
            storage::add_site(&conn, "s2", "西河乡卫生院").unwrap(),
        ];
        drop(conn);
        let mut p = Platform {
            hub: None,
            db,
            tokens,
            faults: Arc::default(),
            log: Arc::default(),
        };
        p.restart("127.0.0.1:0");
        p
    }

    /// (Re)starts the hub on `listen` with the same database.
    pub fn restart(&mut self, listen: &str) {
        let log: Box<dyn Write + Send> = Box::new(SharedLog(self.log.clone()));
        let cfg = HubConfig {
            faults: self.faults.clone(),
            log: Some(Arc::new(Mutex::new(log))),
            ..HubConfig::new(&self.db)
        };
        self.hub = Some(Hub::start(listen, cfg).expect("hub starts"));
    }

    pub fn url(&self) -> String {
        self.hub.as_ref().unwrap().url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.hub.as_ref().unwrap().addr()
    }

    pub fn stop(&mut self) {
        if let Some(h) = self.hub.take() {
            h.stop();
        }
    }

    pub fn conn(&self) -> rusqlite::Connection {
        storage::open(&self.db).unwrap()
    }

    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }
}

/// Quick retries so tests finish fast; the logic is the production one.
pub fn sync_config(url: &str, token: &str) -> SyncConfig {
    SyncConfig {
        server_url: Some(url.to_string()),
        token: Some(Secret::new(token)),
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(80),
        request_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        ..SyncConfig::default()
    }
}

/// Records that failed are not claimed again before their backoff (at most
/// `sync_config`'s 80 ms cap) has passed.
pub fn wait_out_backoff() {
    std::thread::sleep(Duration::from_millis(100));
}

pub fn site(village: &str) -> SiteConfig {
    SiteConfig {
        division: "220602".into(),
        township: "101".into(),
        village: village.into(),
        name: "测试卫生室".into(),
    }
}

pub struct Clinic {
    pub store: Store,
    pub path: PathBuf,
    pub registry: Arc<Registry>,
    pub actor: Actor,
    rng: StdRng,
    site: SiteConfig,
}

impl Clinic {
    pub fn open(dir: &Path, name: &str, village: &str) -> Clinic {
        Clinic::open_path(dir.join(format!("{name}.sqlite")), village)
    }

    /// A clinic store at `path` (a data directory's database, say).
    pub fn open_path(path: PathBuf, village: &str) -> Clinic {
        let store = Store::open(&path).unwrap();
        let site = site(village);
        store.set_site(&site).unwrap();
        Clinic {
            store,
            path,
            registry: Arc::new(Registry::embedded()),
            actor: Actor::new("doc"),
            rng: StdRng::seed_from_u64(7),
            site,
        }
    }

    /// Registers a synthetic resident (finalized basic-information record)
    /// and returns (resident id, record id).
    pub fn register(&mut self, n: usize) -> (i64, i64) {
        let def = self.registry.registration().unwrap().clone();
        let src = self.registry.source(&def.id).unwrap().to_string();
        let r = self.store.create_resident(&self.actor, &self.site).unwrap();
        let rec = self.store.create_record(&self.actor, r.id, &def, &src).unwrap();
        let birth =
            chrono::NaiveDate::from_ymd_opt(1940 + (n % 40) as i32, 1 + (n % 12) as u32, 1 + (n % 28) as u32).unwrap();
        let male = n % 2 == 0;
        let fields = ResidentFields {
            name: Some(format!("测试{n}")),
            sex: Some(if male { "1" } else { "2" }.into()),
            birth_date: Some(birth.format("%Y-%m-%d").to_string()),
            id_number: Some(id_number("220602", birth, male, &mut self.rng)),
            phone: Some(format!("1380000{:04}", n % 10000)),
            address: Some(format!("东山村一组{n}号")),
            village: Some("东山村".into()),
        };
        let b = &def.resident;
        let mut a = Answers::new();
        for (slot, value) in [
            (&b.name, &fields.name),
            (&b.sex, &fields.sex),
            (&b.birth_date, &fields.birth_date),
            (&b.id_number, &fields.id_number),
            (&b.phone, &fields.phone),
            (&b.address, &fields.address),
            (&b.village, &fields.village),
        ] {
            if let (Some(p), Some(v)) = (slot, value) {
                a.set_text(p, v);
            }
        }
        let date = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        if let Some(df) = &def.date_field {
            a.set_text(df, "2026-10-01");
        }
        let ctx = Context {
            today: date,
            sex: fields.sex.clone(),
            birth_date: Some(birth),
        };
        complete_required(&def, &mut a, &ctx, date, &mut self.rng);
        let save = Save {
            answers: a,
            focus: None,
            record_date: Some("2026-10-01".into()),
            resident: Some(fields),
        };
        self.store.finalize(&self.actor, rec.id, &save, None).unwrap();
        (r.id, rec.id)
    }

    /// A finalized follow-up (hypertension or diabetes) for a resident.
    pub fn follow_up(&mut self, resident_id: i64, form: &str, day: u32) -> i64 {
        let def = self.registry.get(form).unwrap().clone();
        let src = self.registry.source(form).unwrap().to_string();
        let rec = self.store.create_record(&self.actor, resident_id, &def, &src).unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, day.clamp(1, 28)).unwrap();
        let d = date.format("%Y-%m-%d").to_string();
        let mut a = Answers::new();
        a.set_text("visit_date", &d);
        a.set_text("visit_method", "1");
        a.set_codes("symptoms", vec!["1".into()]);
        let sbp = self.rng.random_range(118..170);
        a.set_text("bp.systolic", &sbp.to_string());
        a.set_text("bp.diastolic", &self.rng.random_range(70..95).to_string());
        a.set_text(
            "weight.current",
            &format!("{:.1}", self.rng.random_range(50.0..85.0f64)),
        );
        a.set_text("height", &format!("{:.1}", self.rng.random_range(150.0..180.0f64)));
        if def.field("heart_rate").is_some() {
            a.set_text("heart_rate", &self.rng.random_range(60..95).to_string());
        }
        if def.field("fbg").is_some() {
            a.set_text("fbg", &format!("{:.1}", self.rng.random_range(5.0..10.0f64)));
        }
        let ctx = Context {
            today: date,
            sex: Some("1".into()),
            birth_date: chrono::NaiveDate::from_ymd_opt(1950, 1, 1),
        };
        complete_required(&def, &mut a, &ctx, date, &mut self.rng);
        let save = Save {
            answers: a,
            focus: None,
            record_date: Some(d),
            resident: None,
        };
        self.store
            .finalize(&self.actor, rec.id, &save, def.programme.map(|p| p.key()))
            .unwrap();
        rec.id
    }

    /// `residents` residents with a registration and `per` follow-ups each.
    pub fn fill(&mut self, residents: usize, per: usize) {
        for n in 0..residents {
            let (rid, _) = self.register(n);
            for v in 0..per {
                let form = if v % 2 == 0 {
                    "hypertension-followup"
                } else {
                    "diabetes-followup"
                };
                self.follow_up(rid, form, 1 + v as u32);
            }
        }
    }

    /// The clinic database opened directly, for checks.
    pub fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).unwrap()
    }

    /// Brings a resident down from `platform` by ID number, as a second PC
    /// of the first site does; the resident's id here.
    pub fn fetch_from(&mut self, platform: &Platform, id_number: &str) -> i64 {
        self.fetch_with(&platform.url(), &platform.tokens[0], id_number)
    }

    /// The same through `url` with a site's `token` (another site, a relay).
    pub fn fetch_with(&mut self, url: &str, token: &str, id_number: &str) -> i64 {
        let cfg = sync_config(url, token);
        let actor = self.actor.clone();
        jkda::sync::fetch_resident(
            &jkda::sync::client::Client::new(&cfg).unwrap(),
            &cfg,
            &mut self.store,
            &self.registry,
            &actor,
            id_number,
            20,
        )
        .unwrap()
        .expect("on the platform")
        .resident_id
    }

    pub fn id_number_of(&self, resident: i64) -> String {
        self.sql()
            .query_row("SELECT id_number FROM residents WHERE id = ?1", [resident], |r| {
                r.get(0)
            })
            .unwrap()
    }

    pub fn uuid_of(&self, record: i64) -> String {
        self.sql()
            .query_row("SELECT uuid FROM records WHERE id = ?1", [record], |r| r.get(0))
            .unwrap()
    }

    /// The id here of the record with platform id `uuid`.
    pub fn local_id(&self, uuid: &str) -> i64 {
        self.store.record_id_by_uuid(uuid).unwrap().expect("the record is here")
    }

    pub fn records_of(&self, resident: i64) -> i64 {
        self.sql()
            .query_row("SELECT count(*) FROM records WHERE resident_id = ?1", [resident], |r| {
                r.get(0)
            })
            .unwrap()
    }
}

/// The hub holds exactly the clinic's finalized records — each record's
/// latest revision, nothing missing, nothing twice — and every outbox row
/// is settled as sent. Returns the number of records checked.
pub fn assert_hub_matches(clinic: &Clinic, platform: &Platform) -> usize {
    let c = clinic.sql();
    let hub = platform.conn();
    let unsent: i64 = c
        .query_row("SELECT count(*) FROM outbox WHERE state != 'sent'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(unsent, 0, "outbox rows not confirmed");
    let mut stmt = c
        .prepare(
            "SELECT r.uuid, r.form_id, v.answers, r.revision, s.uuid FROM records r
             JOIN record_revisions v ON v.record_id = r.id
               AND v.revision = (SELECT max(revision) FROM record_revisions WHERE record_id = r.id)
             JOIN residents s ON s.id = r.resident_id WHERE r.status = 'final'",
        )
        .unwrap();
    let rows: Vec<(String, String, String, i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (uuid, form, answers, _revision, patient) in &rows {
        let stored = storage::read(&hub, "QuestionnaireResponse", uuid, None)
            .unwrap()
            .unwrap_or_else(|| panic!("record {uuid} missing on the hub"));
        let def = clinic.registry.get(form).unwrap();
        let got = jkda::fhir::mapping::answers_from_response(&stored.resource.0, def);
        let want: Answers = serde_json::from_str(answers).unwrap();
        assert_eq!(got, want, "record {uuid} differs on the hub");
        assert_eq!(stored.resource.0["subject"]["reference"], format!("Patient/{patient}"));
        assert!(storage::read(&hub, "Encounter", uuid, None).unwrap().is_some());
    }
    let records: i64 = storage::count(&hub, "QuestionnaireResponse").unwrap();
    assert_eq!(
        records as usize,
        rows.len(),
        "the hub has records the clinic did not finalize"
    );
    let residents: i64 = c
        .query_row(
            "SELECT count(DISTINCT resident_id) FROM records WHERE status = 'final'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(storage::count(&hub, "Patient").unwrap(), residents);
    rows.len()
}

/// Versions the hub keeps beyond the first of each record's resources: 0
/// means none was ever written twice with different content. (The audit
/// trail's anchor is one resource rewritten at each upload, by design.)
pub fn extra_versions(platform: &Platform) -> i64 {
    platform
        .conn()
        .query_row(
            "SELECT count(*) FROM history WHERE type NOT IN ('AuditEvent', 'Device')",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// Runs the uploader until nothing is pending (bounded), sleeping briefly
/// between runs so deferred rows fall due.
pub fn upload_until_done(
    up: &mut jkda::sync::Uploader,
    store: &mut Store,
    max_runs: usize,
) -> Vec<jkda::sync::RunReport> {
    let mut reports = Vec::new();
    for _ in 0..max_runs {
        let r = up.run(store);
        let done = r.status.pending == 0;
        reports.push(r);
        if done {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reports
}

/// A TCP relay between client and hub that can misbehave like a network:
/// drop the connection after the hub answered (so the client never reads
/// the answer), cut the answer short, or go dead from a given GET on (the
/// hub stopped mid-pull). It counts the bytes it passed down to the client
/// and the GETs it saw.
pub struct Relay {
    pub addr: SocketAddr,
    drop_answers: Arc<AtomicUsize>,
    cut_answers: Arc<AtomicUsize>,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What an older FHIR server answers to an OR list on `patient`.
const NO_OR_LISTS: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/fhir+json\r\nContent-Length: 89\r\nConnection: close\r\n\r\n{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"not-supported\"}]}";

impl Relay {
    pub fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let drop_answers = Arc::new(AtomicUsize::new(0));
        let cut_answers = Arc::new(AtomicUsize::new(0));
        let counts = Arc::new(Counts {
            dead_from: AtomicUsize::new(usize::MAX),
            ..Counts::default()
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (d, c, s, k) = (drop_answers.clone(), cut_answers.clone(), stop.clone(), counts.clone());
        let thread = std::thread::spawn(move || {
            // Bounded: stops when asked, checking every 10 ms.
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let (d, c, k) = (d.clone(), c.clone(), k.clone());
                        std::thread::spawn(move || relay(client, upstream, &d, &c, &k));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Relay {
            addr,
            drop_answers,
            cut_answers,
            counts,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` answers are swallowed and the connection closed.
    pub fn drop_next_answers(&self, n: usize) {
        self.drop_answers.store(n, Ordering::SeqCst);
    }

    /// The next `n` answers are cut after 40 bytes.
    pub fn cut_next_answers(&self, n: usize) {
        self.cut_answers.store(n, Ordering::SeqCst);
    }

    /// Bytes passed down to the client so far (HTTP heads and bodies, as
    /// on the wire).
    pub fn bytes_down(&self) -> usize {
        self.counts.down.load(Ordering::SeqCst)
    }

    /// GET requests seen so far.
    pub fn gets(&self) -> usize {
        self.counts.gets.load(Ordering::SeqCst)
    }

    /// Answers a search with an OR list on `patient` (`patient=a,b`) with a
    /// 400, as a server without OR lists does.
    pub fn refuse_or_lists(&self, refuse: bool) {
        self.counts.refuse_or_lists.store(refuse, Ordering::SeqCst);
    }

    /// From the `n`th GET after now (1: the next) on, nothing reaches the
    /// hub: the connection closes unanswered, as when the hub stops. `None`
    /// brings it back.
    pub fn dead_from_get(&self, n: Option<usize>) {
        let at = n.map_or(usize::MAX, |n| self.gets() + n);
        self.counts.dead_from.store(at, Ordering::SeqCst);
    }
}

#[derive(Default)]
struct Counts {
    down: AtomicUsize,
    gets: AtomicUsize,
    /// The number (from 1) of the first GET not passed on.
    dead_from: AtomicUsize,
    refuse_or_lists: AtomicBool,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn take_one(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    drop_answers: &AtomicUsize,
    cut_answers: &AtomicUsize,
    counts: &Arc<Counts>,
) {
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = client.set_read_timeout(Some(Duration::from_secs(20)));
    let _ = server.set_read_timeout(Some(Duration::from_secs(20)));
    let (Ok(mut c2), Ok(mut s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up_counts = counts.clone();
    let up = std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match c2.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // A client waits for each answer before its next request, so
            // a GET starts a read (a body could too, but no body here
            // starts with "GET ").
            if buf[..n].starts_with(b"GET ") {
                let nth = up_counts.gets.fetch_add(1, Ordering::SeqCst) + 1;
                if nth >= up_counts.dead_from.load(Ordering::SeqCst) {
                    let _ = c2.shutdown(Shutdown::Both);
                    break;
                }
                let line = String::from_utf8_lossy(&buf[..n]);
                let line = line.lines().next().unwrap_or("");
                let or_list = line.contains("patient=") && (line.contains("%2C") || line.contains(','));
                if or_list && up_counts.refuse_or_lists.load(Ordering::SeqCst) {
                    let _ = c2.write_all(NO_OR_LISTS);
                    let _ = c2.shutdown(Shutdown::Both);
                    break;
                }
            }
            if s2.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = s2.shutdown(Shutdown::Write);
    });
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // The hub answers only after its commit: dropping here loses an
        // answer to a request that did take effect.
        if take_one(drop_answers) {
            break;
        }
        if take_one(cut_answers) {
            let _ = client.write_all(&buf[..n.min(40)]);
            break;
        }
        if client.write_all(&buf[..n]).is_err() {
            break;
        }
        counts.down.fetch_add(n, Ordering::SeqCst);
    }
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
    let _ = up.join();
}
