//! The uploader on its own thread, for the clinic TUI. It owns its SQLite
//! connection and HTTP agent, runs when nudged (after a finalize, or from
//! the sync screen), when a retry falls due, and every `idle_interval`
//! otherwise; it sleeps in between and stops on `SyncCommand::Stop` or when
//! the command channel closes.

use super::{stored_message, SyncConfig, Uploader};
use crate::domain::Sensitive;
use crate::form::Registry;
use crate::i18n::Msg;
use crate::store::{Actor, OutboxStatus, Store};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What the TUI asks of the uploader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncCommand {
    /// Look at the outbox now.
    Nudge,
    /// Put failed records back in the queue, then run.
    RetryFailed,
    /// Look a resident up on the platform by ID number and bring them here.
    /// The number prints as `<redacted>`.
    Fetch(Sensitive<String>),
    /// Link a resident here to the platform's `Patient/<id>` (`store::link`).
    Link {
        resident: i64,
        patient: String,
    },
    Stop,
}

/// What the uploader did, for the status line and the sync screen.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    /// A run finished; `error` is the problem in plain words, if any.
    Ran {
        sent: usize,
        failed: usize,
        conflicts: usize,
        status: OutboxStatus,
        error: Option<Msg>,
    },
    /// The uploader cannot work (not configured, unreadable CA file).
    Disabled(Msg),
    /// A fetch finished: the local resident id, None when the platform does
    /// not know the ID number, or the problem.
    Fetched {
        query: Sensitive<String>,
        result: Result<Option<i64>, Msg>,
    },
    /// A link finished: the record number the resident has now, or the problem.
    Linked(Result<String, Msg>),
    Stopped,
}

pub struct SyncHandle {
    commands: Sender<SyncCommand>,
    join: Option<JoinHandle<()>>,
}

impl SyncHandle {
    pub fn send(&self, c: SyncCommand) {
        let _ = self.commands.send(c);
    }

    /// Asks the thread to stop and waits for it (at most one HTTP timeout).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.commands.send(SyncCommand::Stop);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

impl Drop for SyncHandle {
    /// Asks the thread to stop without waiting: quitting jkda must not wait
    /// for an upload in flight (the outbox makes stopping anywhere safe).
    fn drop(&mut self) {
        let _ = self.commands.send(SyncCommand::Stop);
    }
}

/// Opens the uploader's own connection to the clinic database (with the
/// key, when the database is encrypted).
pub type StoreOpener = Box<dyn FnOnce() -> Result<Store, crate::store::StoreError> + Send>;

/// Starts the uploader thread; each event is handed to `notify` (which
/// typically forwards it into the TUI's input channel).
pub fn spawn(
    open: StoreOpener,
    cfg: SyncConfig,
    registry: Arc<Registry>,
    actor: Actor,
    notify: impl Fn(SyncEvent) + Send + 'static,
) -> SyncHandle {
    let (tx, rx) = mpsc::channel();
    let join = std::thread::Builder::new()
        .name("jkda-sync".into())
        .spawn(move || run(open, cfg, registry, actor, rx, notify))
        .ok();
    SyncHandle { commands: tx, join }
}

fn run(
    open: StoreOpener,
    cfg: SyncConfig,
    registry: Arc<Registry>,
    actor: Actor,
    rx: Receiver<SyncCommand>,
    notify: impl Fn(SyncEvent),
) {
    let idle = cfg.idle_interval;
    let fetch_cfg = cfg.clone();
    let fetch_registry = registry.clone();
    let fetch_actor = actor.clone();
    let setup = open()
        .map_err(super::SyncError::from)
        .and_then(|s| Ok((s, Uploader::new(cfg, registry, actor)?)));
    let (mut store, mut uploader) = match setup {
        Ok(x) => x,
        Err(e) => {
            notify(SyncEvent::Disabled(e.message()));
            // Wait for Stop so the TUI's handle can join without surprises.
            while let Ok(c) = rx.recv() {
                match c {
                    SyncCommand::Stop => break,
                    SyncCommand::Fetch(query) => notify(SyncEvent::Fetched {
                        query,
                        result: Err(e.message()),
                    }),
                    SyncCommand::Link { .. } => notify(SyncEvent::Linked(Err(e.message()))),
                    _ => {}
                }
            }
            notify(SyncEvent::Stopped);
            return;
        }
    };
    loop {
        let report = uploader.run(&mut store);
        let error = report.error.as_ref().map(|e| e.message()).or_else(|| {
            (report.status.pending + report.status.failed + report.status.conflict > 0)
                .then(|| report.status.last_error.as_deref().map(stored_message))
                .flatten()
        });
        notify(SyncEvent::Ran {
            sent: report.sent,
            failed: report.failed,
            // Clashes met uploading, and amendments made elsewhere met at pull.
            conflicts: report.conflicts + report.pulled.amended.conflicts,
            status: report.status.clone(),
            error,
        });
        let wait = next_wait(&report.status, idle);
        match rx.recv_timeout(wait) {
            Ok(SyncCommand::Nudge) | Err(RecvTimeoutError::Timeout) => {}
            Ok(SyncCommand::RetryFailed) => {
                let _ = store.retry_failed();
            }
            Ok(SyncCommand::Fetch(query)) => {
                let result = super::fetch_resident(
                    uploader.client(),
                    &fetch_cfg,
                    &mut store,
                    &fetch_registry,
                    &fetch_actor,
                    &query,
                    20,
                )
                .map(|f| f.map(|f| f.resident_id))
                .map_err(|e| e.message());
                notify(SyncEvent::Fetched { query, result });
            }
            Ok(SyncCommand::Link { resident, patient }) => {
                let result = super::link::link_to(
                    uploader.client(),
                    &fetch_cfg,
                    &mut store,
                    &fetch_actor,
                    resident,
                    &patient,
                )
                .map_err(|e| e.message());
                notify(SyncEvent::Linked(result));
            }
            Ok(SyncCommand::Stop) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    notify(SyncEvent::Stopped);
}

/// Until the earliest retry falls due, at least a second (never a busy
/// loop), at most `idle`.
fn next_wait(status: &OutboxStatus, idle: Duration) -> Duration {
    let due = status
        .next_attempt_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| {
            (t.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .unwrap_or_default()
        });
    due.unwrap_or(idle)
        .clamp(Duration::from_secs(1), idle.max(Duration::from_secs(1)))
}
