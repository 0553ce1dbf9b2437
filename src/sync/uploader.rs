//! One upload run: claim what is due, send it in batches, record exactly
//! what the server confirmed. A refused batch is split into one Bundle per
//! record, so one bad record never holds the others back and its reason
//! lands next to it. A 409/412 is checked against the server's copy: if the
//! server already holds exactly what we meant to send (our earlier try got
//! through but its answer was lost), that is a success; otherwise a person
//! must compare — nothing is overwritten silently.

use super::client::{Client, Traffic};
use super::{SyncConfig, SyncError};
use crate::fhir::mapping::{patient, record_resources, RecordInput};
use crate::fhir::{parse_transaction_response, Request, Resource};
use crate::form::{FormDef, Registry};
use crate::store::{Actor, OutboxItem, OutboxStatus, Sent, Store};
use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

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
    pub status: OutboxStatus,
}

pub struct Uploader {
    client: Client,
    cfg: SyncConfig,
    actor: Actor,
    registry: Arc<Registry>,
    forms: HashMap<(String, String), Option<Arc<FormDef>>>,
    rng: StdRng,
}

/// One record's part of a Bundle.
struct Prepared {
    outbox_id: i64,
    attempts: i64,
    requests: Vec<Request>,
    qr: Resource,
    /// The Patient entry, when included: (resident id, content hash).
    patient: Option<(i64, String)>,
}

enum Flow {
    Continue,
    Stop,
}

pub fn content_hash(r: &Resource) -> String {
    let bytes = serde_json::to_vec(&r.content()).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Uploader {
    pub fn new(cfg: SyncConfig, registry: Arc<Registry>, actor: Actor) -> Result<Uploader, SyncError> {
        let client = Client::new(&cfg)?;
        Ok(Uploader {
            client,
            cfg,
            actor,
            registry,
            forms: HashMap::new(),
            rng: StdRng::from_os_rng(),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn form(&mut self, store: &Store, id: &str, version: &str) -> Option<Arc<FormDef>> {
        let key = (id.to_string(), version.to_string());
        if let Some(d) = self.forms.get(&key) {
            return d.clone();
        }
        let def = match self.registry.get(id).filter(|d| d.version == version) {
            Some(d) => Some(Arc::new(d.clone())),
            None => store
                .form_source(id, version)
                .ok()
                .flatten()
                .and_then(|src| crate::form::parse_form(id, &src).ok())
                .map(Arc::new),
        };
        self.forms.insert(key, def.clone());
        def
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
        let pending = store.outbox_status().map(|s| s.pending).unwrap_or(0).max(0) as usize;
        let rounds = (pending / self.cfg.batch_size.max(1) + 2).min(max_batches);
        let max_wait = chrono::Duration::from_std(self.cfg.backoff_cap).unwrap_or(chrono::Duration::hours(1));
        for _ in 0..rounds {
            let items = match store.claim_outbox(Utc::now(), max_wait, self.cfg.batch_size.max(1)) {
                Ok(items) => items,
                Err(e) => {
                    report.error = Some(e.into());
                    break;
                }
            };
            if items.is_empty() {
                break;
            }
            if let Flow::Stop = self.send(store, &items, &mut report) {
                break;
            }
        }
        report.status = store.outbox_status().unwrap_or_default();
        report
    }

    fn prepare(&mut self, store: &mut Store, items: &[OutboxItem], report: &mut RunReport) -> Vec<Prepared> {
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
            let mut record = item.record.clone();
            if let Some(d) = def.date_field.as_deref().and_then(|f| record.answers.text(f)) {
                record.record_date = Some(d.to_string());
            }
            let input = RecordInput {
                record: &record,
                resident: &item.resident,
                def: &def,
                ids: &self.cfg.identifiers,
            };
            let mut patient_part = None;
            if !item.patient.from_platform && seen_patients.insert(item.resident.id) {
                let p = patient(&item.resident, &self.cfg.identifiers);
                let hash = content_hash(&p);
                if item.patient.sent_hash.as_deref() != Some(hash.as_str()) {
                    patient_part = Some((item.resident.id, hash));
                }
            }
            let resources = record_resources(&input, patient_part.is_some());
            let qr = resources
                .iter()
                .find(|r| r.resource_type() == "QuestionnaireResponse")
                .cloned()
                .expect("a response");
            let requests = resources
                .into_iter()
                .map(|r| {
                    let if_match = (r.resource_type() == "QuestionnaireResponse")
                        .then(|| item.if_match.clone())
                        .flatten();
                    Request::put(r, if_match)
                })
                .collect();
            out.push(Prepared {
                outbox_id: item.outbox_id,
                attempts: item.attempts,
                requests,
                qr,
                patient: patient_part,
            });
        }
        out
    }

    fn send(&mut self, store: &mut Store, items: &[OutboxItem], report: &mut RunReport) -> Flow {
        let prepared = self.prepare(store, items, report);
        if prepared.is_empty() {
            return Flow::Continue;
        }
        self.send_prepared(store, &prepared, report)
    }

    fn send_prepared(&mut self, store: &mut Store, prepared: &[Prepared], report: &mut RunReport) -> Flow {
        let requests: Vec<&Request> = prepared.iter().flat_map(|p| p.requests.iter()).collect();
        report.requests += 1;
        let started = std::time::Instant::now();
        let sent = self.client.transaction_of(&requests);
        report.http_time += started.elapsed();
        let result = sent.and_then(|(answer, traffic)| {
            report.traffic += traffic;
            let results = parse_transaction_response(&answer, requests.len()).map_err(SyncError::BadResponse)?;
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
                        Flow::Continue
                    }
                    Err(e) => {
                        // The server has them; the next run resends, which is a no-op there.
                        report.error = Some(e.into());
                        Flow::Stop
                    }
                }
            }
            Err(e) if e.concerns_record() && prepared.len() > 1 => {
                // Find the record(s) at fault: one Bundle each.
                for (i, p) in prepared.iter().enumerate() {
                    if let Flow::Stop = self.send_prepared(store, std::slice::from_ref(p), report) {
                        self.defer(store, &prepared[i + 1..], None, report);
                        return Flow::Stop;
                    }
                }
                Flow::Continue
            }
            Err(e) if e.concerns_record() => {
                let p = &prepared[0];
                if e.is_conflict() {
                    match self.client.read("QuestionnaireResponse", p.qr.id()) {
                        Ok(Some(server)) if Resource(server.clone()).content() == p.qr.content() => {
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
                            return Flow::Continue;
                        }
                        Ok(_) => {}
                        Err(read_err) if read_err.is_retryable() => {
                            self.defer(store, prepared, None, report);
                            report.error = Some(read_err);
                            return Flow::Stop;
                        }
                        Err(_) => {}
                    }
                }
                if store.mark_refused(p.outbox_id, e.is_conflict(), &e.stored()).is_ok() {
                    if e.is_conflict() {
                        report.conflicts += 1;
                    } else {
                        report.failed += 1;
                    }
                }
                report.error = Some(e);
                Flow::Continue
            }
            Err(e) if e.is_retryable() => {
                let hint = match &e {
                    SyncError::RateLimited(h) => *h,
                    _ => None,
                };
                let reason = e.stored();
                report.error = Some(e);
                self.defer_with(store, prepared, hint, &reason, report);
                Flow::Stop
            }
            Err(e) => {
                let _ = store.note_sync_error(&e.stored());
                report.error = Some(e);
                Flow::Stop
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
