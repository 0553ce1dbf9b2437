//! One upload run: claim what is due, send it in batches, record exactly
//! what the server confirmed. A refused batch is split into one Bundle per
//! record, so one bad record never holds the others back and its reason
//! lands next to it. A 409/412 is checked against the server's copy: if the
//! server already holds exactly what we meant to send (our earlier try got
//! through but its answer was lost), that is a success; otherwise a person
//! must compare — nothing is overwritten silently.
//!
//! While one Bundle is on its way, the next batch is read and encoded
//! (claiming writes nothing, so a batch read early and then dropped costs
//! nothing but the work); it is used only when the one before it was
//! confirmed whole, and never holds a record that is still in flight.

use super::client::{encode_transaction, Client, Traffic};
use super::{SyncConfig, SyncError};
use crate::fhir::mapping::{encounter, observations_json, patient, questionnaire_response_json, RecordInput};
use crate::fhir::{parse_transaction_response, Request, Resource};
use crate::form::{FormDef, Registry};
use crate::store::{Actor, OutboxItem, OutboxStatus, Sent, Store};
use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a run did.
#[derive(Debug, Default)]
pub struct RunReport {
    pub sent: usize,
    pub failed: usize,
    pub conflicts: usize,
    /// Records left for a later try after a retryable error.
    pub deferred: usize,
    pub requests: usize,
    pub traffic: Traffic,
    /// Time spent waiting on the server (request sent to answer read).
    pub http_time: Duration,
    /// The error that ended the run early, if any.
    pub error: Option<SyncError>,
    /// Why the installation's state and audit head could not be sent.
    pub anchor_error: Option<SyncError>,
    /// Records brought down from the platform for residents here.
    pub pulled: super::pull::Pulled,
    pub pull_error: Option<SyncError>,
    /// Form versions adopted or refused.
    pub forms: super::forms::FormsUpdate,
    /// Serial blocks claimed and residents renumbered (`serials`).
    pub numbers: super::serials::Numbers,
    pub numbers_error: Option<SyncError>,
    pub status: OutboxStatus,
}

pub struct Uploader {
    client: Client,
    cfg: SyncConfig,
    actor: Actor,
    mapper: Mapper,
    rng: StdRng,
}

/// Turns outbox rows into Bundle entries; keeps the form definitions it
/// looked up.
struct Mapper {
    registry: Arc<Registry>,
    forms: HashMap<(String, String), Option<Arc<FormDef>>>,
}

/// One record's part of a Bundle.
struct Prepared {
    outbox_id: i64,
    record_id: i64,
    attempts: i64,
    requests: Vec<Request>,
    /// Where the QuestionnaireResponse is in `requests`.
    qr: usize,
    /// The Patient entry, when included: (resident id, content hash).
    patient: Option<(i64, String)>,
}

impl Prepared {
    /// The QuestionnaireResponse sent (read back from its text).
    fn qr(&self) -> Resource {
        self.requests[self.qr].resource_value().expect("a PUT has its resource")
    }
}

/// A batch read from the outbox and encoded, ready to send.
struct Batch {
    prepared: Vec<Prepared>,
    /// The gzip-compressed transaction Bundle, or why it could not be made.
    body: Result<Vec<u8>, SyncError>,
}

enum Flow {
    Continue,
    Stop,
}

pub fn content_hash(r: &Resource) -> String {
    let bytes = serde_json::to_vec(&r.content()).unwrap_or_default();
    hex::encode(&Sha256::digest(&bytes)[..16])
}

impl Uploader {
    pub fn new(cfg: SyncConfig, registry: Arc<Registry>, actor: Actor) -> Result<Uploader, SyncError> {
        let client = Client::new(&cfg)?;
        Ok(Uploader {
            client,
            cfg,
            actor,
            mapper: Mapper {
                registry,
                forms: HashMap::new(),
            },
            rng: StdRng::from_os_rng(),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Capped exponential backoff with jitter; a server's Retry-After is honoured.
    pub fn backoff(&mut self, attempts: i64, hint: Option<Duration>) -> Duration {
        let exp = 1u32 << attempts.clamp(0, 20) as u32;
        let full = self.cfg.backoff_base.saturating_mul(exp).min(self.cfg.backoff_cap);
        let half = full / 2;
        let jitter = Duration::from_millis(self.rng.random_range(0..=half.as_millis().min(u64::MAX as u128) as u64));
        (half + jitter).max(hint.unwrap_or_default()).min(self.cfg.backoff_cap)
    }

    /// Sends everything due, in batches, until the outbox has nothing due or
    /// an error says to stop. Bounded: each round settles every claimed row.
    pub fn run(&mut self, store: &mut Store) -> RunReport {
        self.run_limited(store, usize::MAX)
    }

    /// Like `run`, sending at most `max_batches` Bundles (before any split).
    pub fn run_limited(&mut self, store: &mut Store, max_batches: usize) -> RunReport {
        let mut report = RunReport::default();
        // Numbers first: nothing provisional or known duplicate goes out.
        match super::serials::before_upload(&self.client, &self.cfg, store, &self.actor) {
            Ok(n) => report.numbers = n,
            Err(e) => report.numbers_error = Some(e),
        }
        let pending = store.outbox_status().map(|s| s.pending).unwrap_or(0).max(0) as usize;
        let rounds = (pending / self.cfg.batch_size.max(1) + 2).min(max_batches);
        let max_wait = chrono::Duration::from_std(self.cfg.backoff_cap).unwrap_or(chrono::Duration::hours(1));
        let limit = self.cfg.batch_size.max(1);
        let mut next: Option<Batch> = None;
        // The last batch's resources, freed on another thread while the next travels.
        let mut garbage: Vec<Prepared> = Vec::new();
        for round in 0..rounds {
            let batch = match next.take() {
                Some(b) => b,
                None => match store.claim_outbox(Utc::now(), max_wait, limit) {
                    Ok(items) if items.is_empty() => break,
                    Ok(items) => self.mapper.batch(store, &self.cfg, items, &mut report),
                    Err(e) => {
                        report.error = Some(e.into());
                        break;
                    }
                },
            };
            if batch.prepared.is_empty() {
                continue;
            }
            let Batch { prepared, body } = batch;
            let body = match body {
                Ok(b) => b,
                Err(e) => {
                    // Nothing could be sent; the error says why.
                    if let (Flow::Stop, _) = self.settle(store, &prepared, Err(e), &mut report) {
                        break;
                    }
                    continue;
                }
            };
            let last_round = round + 1 == rounds;
            let after = prepared.iter().map(|p| p.outbox_id).max().unwrap_or(0);
            let in_flight: HashSet<i64> = prepared.iter().map(|p| p.record_id).collect();
            let (client, mapper, cfg) = (&self.client, &mut self.mapper, &self.cfg);
            let old = std::mem::take(&mut garbage);
            let (sent, took, prefetched) = std::thread::scope(|scope| {
                // Helper threads are a nicety: if one cannot start, its
                // work is done here (the garbage is freed as the closure drops).
                let _ = std::thread::Builder::new().spawn_scoped(scope, move || drop(old));
                let body = &body;
                let post = move || {
                    let started = Instant::now();
                    let sent = client.post_gzip(body);
                    (sent, started.elapsed())
                };
                let sending = std::thread::Builder::new().spawn_scoped(scope, post).ok();
                // The next batch, read while this one travels.
                let prefetched = sending
                    .is_some()
                    .then_some(())
                    .filter(|_| !last_round)
                    .and_then(|_| store.claim_outbox_after(Utc::now(), max_wait, limit, after).ok())
                    .filter(|items| !items.is_empty() && !items.iter().any(|i| in_flight.contains(&i.record.id)))
                    .map(|items| mapper.batch(store, cfg, items, &mut report));
                let (sent, took) = match sending {
                    Some(thread) => thread.join().unwrap_or_else(|_| {
                        (
                            Err(SyncError::Unreachable("the upload thread failed".into())),
                            Duration::ZERO,
                        )
                    }),
                    None => post(),
                };
                (sent, took, prefetched)
            });
            report.requests += 1;
            report.http_time += took;
            let (flow, whole) = self.settle(store, &prepared, sent, &mut report);
            if let Flow::Stop = flow {
                break;
            }
            garbage = prepared;
            // Read before this batch was settled: only good when all of it went through.
            next = prefetched.filter(|_| whole);
        }
        // The serial reserve, and residents refused as registered elsewhere
        // (renumbered or offered for linking), when the platform answered.
        if report.error.as_ref().is_none_or(|e| e.concerns_record()) {
            match super::serials::after_upload(&self.client, &self.cfg, store, &self.actor) {
                Ok(n) => {
                    report.numbers.claimed += n.claimed;
                    report.numbers.renumbered += n.renumbered;
                }
                Err(e) => report.numbers_error = Some(e),
            }
        }
        // The trail's head goes out when the records went: a copy the
        // clinic's database key cannot rewrite (`fhir::audit_anchor`).
        if report.error.is_none() {
            report.anchor_error = super::centre::send(&self.client, store, Utc::now()).err();
            // Clashes whose platform copy is missing get it (`sync::conflict`).
            let _ = super::conflict::fetch_missing(&self.client, store, &self.mapper.registry);
            // Then what others recorded for our residents.
            match crate::fhir::FhirSource::from_config(&self.cfg) {
                Ok(src) => {
                    match super::pull::pull(&src, store, &self.mapper.registry, &self.actor, Utc::now()) {
                        Ok(p) => report.pulled = p,
                        Err(e) => report.pull_error = Some(e),
                    }
                    // And the form versions the bureau published.
                    if let Some(dir) = store.path().parent().map(crate::paths::adopted_forms_dir) {
                        match super::forms::update(&src, store, &self.mapper.registry, &dir) {
                            Ok(f) => report.forms = f,
                            Err(e) => report.pull_error = report.pull_error.take().or(Some(e)),
                        }
                    }
                }
                Err(e) => report.pull_error = Some(e.into()),
            }
        }
        report.status = store.outbox_status().unwrap_or_default();
        report
    }

    /// Sends one Bundle of `prepared` and settles it (no reading ahead: the
    /// split after a refusal goes record by record).
    fn send_prepared(&mut self, store: &mut Store, prepared: &[Prepared], report: &mut RunReport) -> Flow {
        let requests: Vec<&Request> = prepared.iter().flat_map(|p| p.requests.iter()).collect();
        report.requests += 1;
        let started = Instant::now();
        let sent = self.client.transaction_of(&requests);
        report.http_time += started.elapsed();
        self.settle(store, prepared, sent, report).0
    }

    /// Records what the server said about a Bundle of `prepared`; with the
    /// flow, whether every record of it was confirmed.
    fn settle(
        &mut self,
        store: &mut Store,
        prepared: &[Prepared],
        sent: Result<(serde_json::Value, Traffic), SyncError>,
        report: &mut RunReport,
    ) -> (Flow, bool) {
        let count: usize = prepared.iter().map(|p| p.requests.len()).sum();
        let result = sent.and_then(|(answer, traffic)| {
            report.traffic += traffic;
            let results = parse_transaction_response(&answer, count).map_err(SyncError::BadResponse)?;
            if let Some(bad) = results.iter().find(|r| !(200..300).contains(&r.status)) {
                return Err(SyncError::BadResponse(format!(
                    "entry status {} in a committed transaction",
                    bad.status
                )));
            }
            Ok(results)
        });
        match result {
            Ok(results) => {
                let mut sent = Vec::with_capacity(prepared.len());
                let mut at = 0;
                for p in prepared {
                    let slice = &results[at..at + p.requests.len()];
                    let version_of = |kind: &str| {
                        p.requests
                            .iter()
                            .position(|r| r.url.starts_with(kind))
                            .and_then(|i| slice[i].version.clone())
                    };
                    sent.push(Sent {
                        outbox_id: p.outbox_id,
                        server_version: version_of("QuestionnaireResponse/"),
                        patient: p.patient.clone().map(|(id, hash)| (id, hash, version_of("Patient/"))),
                    });
                    at += p.requests.len();
                }
                match store.mark_sent(&self.actor, &sent, Utc::now()) {
                    Ok(()) => {
                        report.sent += sent.len();
                        (Flow::Continue, true)
                    }
                    Err(e) => {
                        // The server has them; the next run resends, which is a no-op there.
                        report.error = Some(e.into());
                        (Flow::Stop, false)
                    }
                }
            }
            Err(e) if e.concerns_record() && prepared.len() > 1 => {
                // Find the record(s) at fault: one Bundle each.
                for (i, p) in prepared.iter().enumerate() {
                    if let Flow::Stop = self.send_prepared(store, std::slice::from_ref(p), report) {
                        self.defer(store, &prepared[i + 1..], None, report);
                        return (Flow::Stop, false);
                    }
                }
                (Flow::Continue, false)
            }
            Err(e) if e.concerns_record() => {
                let p = &prepared[0];
                let mut server_copy = None;
                if e.is_conflict() {
                    let qr = p.qr();
                    match self.client.read("QuestionnaireResponse", qr.id()) {
                        Ok(Some(server)) if Resource(server.clone()).content() == qr.content() => {
                            // Our earlier try got through; its answer was lost.
                            let version = server["meta"]["versionId"].as_str().map(str::to_string);
                            let s = Sent {
                                outbox_id: p.outbox_id,
                                server_version: version,
                                patient: None,
                            };
                            if store.mark_sent(&self.actor, &[s], Utc::now()).is_ok() {
                                report.sent += 1;
                            }
                            return (Flow::Continue, false);
                        }
                        Ok(found) => server_copy = found,
                        Err(read_err) if read_err.is_retryable() => {
                            self.defer(store, prepared, None, report);
                            report.error = Some(read_err);
                            return (Flow::Stop, false);
                        }
                        Err(_) => {}
                    }
                }
                if store.mark_refused(p.outbox_id, e.is_conflict(), &e.stored()).is_ok() {
                    if e.is_conflict() {
                        // Kept for a person to compare (`sync::conflict`).
                        let registry = &self.mapper.registry;
                        super::conflict::keep(store, registry, p.outbox_id, p.record_id, server_copy.as_ref());
                        report.conflicts += 1;
                    } else {
                        report.failed += 1;
                    }
                }
                report.error = Some(e);
                (Flow::Continue, false)
            }
            Err(e) if e.is_retryable() => {
                let hint = match &e {
                    SyncError::RateLimited(h) => *h,
                    _ => None,
                };
                let reason = e.stored();
                report.error = Some(e);
                self.defer_with(store, prepared, hint, &reason, report);
                (Flow::Stop, false)
            }
            Err(e) => {
                let _ = store.note_sync_error(&e.stored());
                report.error = Some(e);
                (Flow::Stop, false)
            }
        }
    }

    fn defer(&mut self, store: &mut Store, prepared: &[Prepared], hint: Option<Duration>, report: &mut RunReport) {
        let reason = report.error.as_ref().map(|e| e.stored()).unwrap_or_default();
        self.defer_with(store, prepared, hint, &reason, report);
    }

    /// Leaves records pending with the next try after the backoff.
    fn defer_with(
        &mut self,
        store: &mut Store,
        prepared: &[Prepared],
        hint: Option<Duration>,
        reason: &str,
        report: &mut RunReport,
    ) {
        if prepared.is_empty() {
            return;
        }
        let attempts = prepared.iter().map(|p| p.attempts).max().unwrap_or(0);
        let wait = self.backoff(attempts, hint);
        let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(1));
        let ids: Vec<i64> = prepared.iter().map(|p| p.outbox_id).collect();
        if store.mark_retry(&ids, reason, next).is_ok() {
            report.deferred += ids.len();
        }
    }
}

impl Mapper {
    fn form(&mut self, store: &Store, id: &str, version: &str) -> Option<Arc<FormDef>> {
        let key = (id.to_string(), version.to_string());
        if let Some(d) = self.forms.get(&key) {
            return d.clone();
        }
        let def = super::forms::form_at(store, &self.registry, id, version);
        self.forms.insert(key, def.clone());
        def
    }

    /// Maps `items` and encodes their Bundle.
    fn batch(&mut self, store: &mut Store, cfg: &SyncConfig, items: Vec<OutboxItem>, report: &mut RunReport) -> Batch {
        let prepared = self.prepare(store, cfg, items, report);
        let requests: Vec<&Request> = prepared.iter().flat_map(|p| p.requests.iter()).collect();
        let body = encode_transaction(&requests);
        Batch { prepared, body }
    }

    fn prepare(
        &mut self,
        store: &mut Store,
        cfg: &SyncConfig,
        items: Vec<OutboxItem>,
        report: &mut RunReport,
    ) -> Vec<Prepared> {
        let mut seen_patients = HashSet::new();
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Some(def) = self.form(store, &item.record.form_id, &item.record.form_version) else {
                let reason = format!(
                    "form {} version {} is not available here",
                    item.record.form_id, item.record.form_version
                );
                let e = SyncError::Refused { status: 0, reason };
                if store.mark_refused(item.outbox_id, false, &e.stored()).is_ok() {
                    report.failed += 1;
                }
                continue;
            };
            if !item.patient.from_platform && crate::store::serials::is_provisional(&item.resident.record_no) {
                // Renumbered from a block at a later sync, then sent.
                let later = Utc::now() + chrono::Duration::minutes(5);
                let _ = store.mark_retry(&[item.outbox_id], "sync.err_provisional|", later);
                continue;
            }
            let mut record = item.record;
            if let Some(d) = def.date_field.as_deref().and_then(|f| record.answers.text(f)) {
                record.record_date = Some(d.to_string());
            }
            let input = RecordInput {
                record: &record,
                resident: &item.resident,
                def: &def,
                ids: &cfg.identifiers,
            };
            let mut patient_part = None;
            let mut requests = Vec::new();
            if !item.patient.from_platform && seen_patients.insert(item.resident.id) {
                let p = patient(&item.resident, &cfg.identifiers);
                let hash = content_hash(&p);
                if item.patient.sent_hash.as_deref() != Some(hash.as_str()) {
                    patient_part = Some((item.resident.id, hash));
                    requests.push(Request::put(p, None));
                }
            }
            // The resources of `record_resources`, in its order; the response
            // (the bulk of a record) written straight to JSON text.
            requests.push(Request::put(encounter(&input), None));
            let qr = requests.len();
            requests.push(Request::put_text(
                format!("QuestionnaireResponse/{}", record.uuid),
                questionnaire_response_json(&input),
                item.if_match.clone(),
            ));
            requests.extend(
                observations_json(&input)
                    .into_iter()
                    .map(|(url, text)| Request::put_text(url, text, None)),
            );
            // An amendment deletes the Observations the server holds from the
            // revision it replaces that this revision no longer has (a vital
            // sign removed): standard DELETE entries in the same transaction.
            if let Some(old) = &item.sent_answers {
                let old_record = crate::store::Record {
                    answers: old.clone(),
                    ..record.clone()
                };
                let old_input = RecordInput {
                    record: &old_record,
                    ..input
                };
                let kept: HashSet<String> = requests.iter().map(|r| r.url.clone()).collect();
                for (url, _) in observations_json(&old_input) {
                    if !kept.contains(&url) {
                        requests.push(Request::delete(url));
                    }
                }
            }
            out.push(Prepared {
                outbox_id: item.outbox_id,
                record_id: record.id,
                attempts: item.attempts,
                requests,
                qr,
                patient: patient_part,
            });
        }
        out
    }
}
