//! Runs the core's effects against the store and turns the results back into
//! messages. Kept apart from the terminal so tests can drive the whole
//! program (keys -> core -> store) without one.

use crate::app::{App, Clock, Effect, Msg};
use crate::form::def::Role;
use crate::form::{FormDef, Registry};
use crate::i18n::Msg as Text;
use crate::store::{Actor, FinalizeOutcome, RecordStatus, Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;

mod forms;
mod uploader;

const OPEN_RECORD: &str = "ui.open_record";
const LIST_LIMIT: usize = crate::app::ListState::LIMIT;

pub struct Shell {
    pub store: Store,
    pub registry: Registry,
    pub actor: Actor,
    /// Checks the password after the idle lock; None when nobody logged in.
    pub keyring: Option<crate::store::crypt::Keyring>,
    forms: HashMap<(String, String), Arc<FormDef>>,
    /// Set before `tui::run` to upload in the background: the settings,
    /// how the uploader thread opens its own connection, and where
    /// `config.toml` is (read again when it changed, see `reload_sync_config`).
    pub sync_setup: Option<SyncSetup>,
    /// The uploader thread, once started.
    pub sync: Option<crate::sync::SyncHandle>,
    /// Where the uploader's events go (kept to restart it with new settings).
    sync_notify: Option<Notify>,
    /// `config.toml`'s modification time and length when last read by this
    /// session; None before the first look (the settings are then compared).
    config_stamp: Option<Option<(Option<std::time::SystemTime>, u64)>>,
    /// `Effect::Quit` ran: the terminal loop stops.
    pub quit: bool,
    /// `Effect::Logout` ran: after quitting, the login screen comes back.
    pub logged_out: bool,
    /// Other desks on the same database (`desk_watch`).
    pub desks: crate::desk_watch::DeskWatch,
    /// The open draft's answers as last read or saved: an autosave writes
    /// only what differs from them (`Store::save_draft_changes`).
    saved: Option<(i64, crate::form::Answers)>,
}

/// Opens a connection to the clinic database for the uploader thread (each
/// restart of the thread opens a new one).
pub type SharedOpener = Arc<dyn Fn() -> Result<Store, StoreError> + Send + Sync>;
type Notify = Arc<dyn Fn(crate::sync::SyncEvent) + Send + Sync>;

/// What the shell needs to run (and re-run) the uploader.
pub struct SyncSetup {
    pub config: crate::sync::SyncConfig,
    pub open: SharedOpener,
    /// The data directory whose `config.toml` holds `server_url` and
    /// `site_token`; None: the settings never change (tests).
    pub config_dir: Option<std::path::PathBuf>,
}

impl Drop for Shell {
    /// Quitting or logging out straight from the list still audits its searches.
    fn drop(&mut self) {
        let _ = self.store.audit_list_reads(&self.actor);
        self.desks.left(&self.store);
    }
}

impl Shell {
    pub fn new(store: Store, registry: Registry, actor: Actor) -> Shell {
        Shell {
            store,
            registry,
            actor,
            keyring: None,
            forms: HashMap::new(),
            sync_setup: None,
            sync: None,
            sync_notify: None,
            config_stamp: None,
            quit: false,
            logged_out: false,
            desks: Default::default(),
            saved: None,
        }
    }

    /// The idle timer: other desks' changes read in; true to redraw.
    pub fn tick(&mut self, app: &mut App) -> bool {
        let changed = self.desks.tick(&mut self.store, &self.actor, app);
        let Some(id) = self.desks.take_stale_view() else {
            return changed;
        };
        // Only read: nothing is typed in a final record shown to read.
        let clock = crate::tui::system_clock();
        match self.open_record(id, &clock) {
            Ok(msg) => {
                self.dispatch(app, msg, &clock);
                app.notice = Some(crate::app::Notice::Info(Text::new("desks.updated_elsewhere")));
                true
            }
            Err(_) => changed,
        }
    }

    /// The messages to start with: the resident list, or the draft that was
    /// open when jkda last stopped (however it stopped).
    pub fn startup(&mut self, app: &mut App, clock: &Clock) -> Vec<Msg> {
        self.quit = false;
        self.logged_out = false;
        self.desks.start(&self.store);
        let mut msgs = vec![
            Msg::FormsLoaded {
                visit_forms: titles(self.registry.visit_forms().into_iter()),
                form_titles: titles(self.registry.all()),
            },
            Msg::PendingUploads(self.store.pending_outbox().unwrap_or(0)),
        ];
        msgs.extend(self.first_screen(app, clock));
        msgs
    }

    fn first_screen(&mut self, app: &mut App, clock: &Clock) -> Vec<Msg> {
        if !self.actor.role.allows(crate::store::Permission::ReadRecords) {
            // Auditors (and administrators without clinical rights) start on the trail.
            return self.run(Effect::LoadAudit, app, clock);
        }
        if app.site.is_none() {
            return Vec::new();
        }
        let reopen = self
            .store
            .setting(OPEN_RECORD)
            .ok()
            .flatten()
            .and_then(|s| s.parse::<i64>().ok())
            // Not a draft another desk is working on now (one database, several desks).
            .filter(|id| {
                let others = self.store.other_leases(*id, &self.desks.desk, chrono::Utc::now());
                others.is_ok_and(|o| o.is_empty())
            });
        if let Some(id) = reopen {
            let msgs = self.run(Effect::OpenRecord(id), app, clock);
            if msgs.iter().any(|m| matches!(m, Msg::RecordOpened(_))) {
                return msgs;
            }
        }
        self.run(Effect::Search(Default::default()), app, clock)
    }

    /// Feeds a message through the core and runs every effect that follows.
    pub fn dispatch(&mut self, app: &mut App, msg: Msg, clock: &Clock) {
        let mut queue = vec![msg];
        while let Some(m) = queue.pop() {
            for effect in app.update(m, clock) {
                let mut results = self.run(effect, app, clock);
                results.reverse();
                queue.extend(results);
            }
        }
    }

    pub fn run(&mut self, effect: Effect, app: &mut App, clock: &Clock) -> Vec<Msg> {
        // The searches typed so far are audited as one entry before the next
        // thing the user does (opening someone, registering, logging out).
        if !matches!(effect, Effect::Search(_)) {
            let _ = self.store.audit_list_reads(&self.actor);
        }
        // Same name and birth date, or same phone: asked once, then
        // FinalizeAnyway (the rules themselves are the store's).
        let ask_suspects = matches!(effect, Effect::Finalize { .. });
        let result: Result<Vec<Msg>, Text> = (|| match effect {
            Effect::SaveSite(site) => {
                self.store.set_site(&site).map_err(|e| e.message())?;
                Ok(vec![Msg::SiteSaved(site)])
            }
            Effect::Search(query) => {
                let rows = self
                    .store
                    .search_residents(&self.actor, &query, LIST_LIMIT)
                    .map_err(|e| e.message())?;
                Ok(vec![Msg::ResidentsFound {
                    query: query.into_inner(),
                    rows,
                }])
            }
            Effect::AbandonDraft {
                resident_id,
                record_id,
                reason,
            } => {
                let a = self
                    .store
                    .abandon_draft(&self.actor, record_id, &reason)
                    .map_err(|e| e.message())?;
                Ok(self.with_pending_uploads(vec![Msg::DraftAbandoned {
                    resident_id,
                    resident_removed: a.resident_removed,
                }]))
            }
            Effect::OpenResident(id) => {
                let resident = self.store.resident(&self.actor, id).map_err(|e| e.message())?;
                let records = self.store.records_of(&self.actor, id).map_err(|e| e.message())?;
                let memberships = self.store.memberships(&self.actor, id).map_err(|e| e.message())?;
                Ok(self.with_pending_uploads(vec![Msg::ResidentOpened {
                    resident,
                    records,
                    memberships,
                }]))
            }
            Effect::Register => {
                let site = app.site.clone().ok_or_else(|| Text::new("shell.no_site"))?;
                let form_id = self
                    .registry
                    .registration()
                    .map(|d| d.id.clone())
                    .ok_or_else(|| Text::new("shell.no_registration_form"))?;
                let resident = self
                    .store
                    .create_resident(&self.actor, &site)
                    .map_err(|e| e.message())?;
                Ok(vec![self.new_record(resident.id, &form_id, clock)?])
            }
            Effect::NewRecord { resident_id, form_id } => Ok(vec![self.new_record(resident_id, &form_id, clock)?]),
            Effect::OpenRecord(id) => Ok(vec![self.open_record(id, clock)?]),
            Effect::EditRegistration { resident_id } => {
                let reg_ids: Vec<String> = self
                    .registry
                    .all()
                    .filter(|d| d.role == Role::Registration)
                    .map(|d| d.id.clone())
                    .collect();
                let records = self
                    .store
                    .records_of(&self.actor, resident_id)
                    .map_err(|e| e.message())?;
                match records.iter().find(|r| reg_ids.contains(&r.form_id)) {
                    Some(r) if r.status == RecordStatus::Final => {
                        self.store.amend(&self.actor, r.id).map_err(|e| e.message())?;
                        Ok(vec![self.open_record(r.id, clock)?])
                    }
                    Some(r) => Ok(vec![self.open_record(r.id, clock)?]),
                    None => {
                        let form_id = reg_ids
                            .first()
                            .cloned()
                            .ok_or_else(|| Text::new("shell.no_registration_form"))?;
                        Ok(vec![self.new_record(resident_id, &form_id, clock)?])
                    }
                }
            }
            Effect::Amend(id) => {
                self.store.amend(&self.actor, id).map_err(|e| e.message())?;
                Ok(vec![self.open_record(id, clock)?])
            }
            Effect::SaveDraft { record_id, save } => {
                self.save_draft(record_id, save).map_err(save_failed)?;
                self.desks.saved(&self.store, record_id);
                Ok(vec![Msg::Saved { record_id }])
            }
            Effect::Finalize { record_id, save } | Effect::FinalizeAnyway { record_id, save } => {
                let record = self.store.record(&self.actor, record_id).map_err(|e| e.message())?;
                let def = self.form_def(&record.form_id, &record.form_version)?;
                let programme = def.programme.map(|p| p.key());
                let outcome = self
                    .store
                    .finalize_checked(
                        &self.actor,
                        record_id,
                        record.resident_id,
                        &save,
                        programme,
                        ask_suspects,
                    )
                    .map_err(|e| e.message())?;
                match outcome {
                    // The store saved the whole draft before asking.
                    FinalizeOutcome::DuplicateId(existing) => {
                        self.saved = Some((record_id, save.answers));
                        Ok(vec![Msg::Saved { record_id }, Msg::DuplicateId { existing }])
                    }
                    FinalizeOutcome::Suspects(candidates) => {
                        self.saved = Some((record_id, save.answers));
                        Ok(vec![
                            Msg::Saved { record_id },
                            Msg::DuplicateSuspects { record_id, candidates },
                        ])
                    }
                    FinalizeOutcome::Finalized => {
                        self.saved = None;
                        if let Some(s) = &self.sync {
                            s.send(crate::sync::SyncCommand::Nudge);
                        }
                        let _ = self.store.clear_setting(OPEN_RECORD);
                        Ok(self.with_pending_uploads(vec![
                            Msg::Saved { record_id },
                            Msg::Finalized {
                                record_id,
                                resident_id: record.resident_id,
                            },
                        ]))
                    }
                }
            }
            Effect::CheckIdNumber { resident_id, id_number } => {
                let existing = self
                    .store
                    .residents_with_id_number(&self.actor, &id_number, Some(resident_id))
                    .map_err(|e| e.message())?;
                Ok(if existing.is_empty() {
                    Vec::new()
                } else {
                    vec![Msg::DuplicateId { existing }]
                })
            }
            Effect::LeftForm { .. } => {
                let _ = self.store.clear_setting(OPEN_RECORD);
                self.desks.left(&self.store);
                Ok(Vec::new())
            }
            Effect::Locked => {
                self.store
                    .audit(&self.actor, "lock", "user", &self.actor.user)
                    .map_err(|e| e.message())?;
                Ok(Vec::new())
            }
            // The password is wiped when `password` drops, at the end of this arm.
            Effect::Unlock(password) => {
                let result = match &mut self.keyring {
                    Some(k) => crate::session::unlock(k, &self.store, &self.actor, &password),
                    None => Ok(()),
                };
                Ok(vec![match result {
                    Ok(()) => Msg::Unlocked,
                    Err(m) => Msg::UnlockFailed(m),
                }])
            }
            Effect::Logout => {
                self.store
                    .audit(&self.actor, "logout", "user", &self.actor.user)
                    .map_err(|e| e.message())?;
                let _ = self.store.clear_setting(OPEN_RECORD);
                self.logged_out = true;
                Ok(Vec::new())
            }
            Effect::LoadAudit => {
                let filter = crate::store::AuditFilter {
                    limit: Some(500),
                    ..Default::default()
                };
                let entries = self.store.audit_query(&self.actor, &filter).map_err(|e| e.message())?;
                Ok(vec![Msg::AuditLoaded(entries)])
            }
            Effect::Sync(cmd) => {
                // The upload settings may have been written since the start:
                // read them again before an upload is asked for.
                if let Some(problem) = self.reload_sync_config() {
                    return Ok(vec![Msg::Failed(problem)]);
                }
                if let Some(cause) = self.sync_unusable() {
                    return Ok(vec![match cmd {
                        crate::sync::SyncCommand::Fetch(query) => Msg::Sync(crate::sync::SyncEvent::Fetched {
                            query,
                            result: Err(cause),
                        }),
                        _ => Msg::Sync(crate::sync::SyncEvent::Disabled(cause)),
                    }]);
                }
                Ok(self.send_sync(cmd))
            }
            Effect::LoadOutbox => {
                let rows = self
                    .store
                    .outbox_rows(&["pending", "failed", "conflict"], 500)
                    .map_err(|e| e.message())?;
                Ok(vec![Msg::OutboxRows(rows)])
            }
            Effect::LoadConflict(id) => {
                let c = self.store.conflict(&self.actor, id).map_err(|e| e.message())?;
                let def = self.form_def(&c.row.form_id, &c.row.form_version).ok();
                let state = crate::app::conflict_screen::ConflictState::new(&c, def.as_deref(), app.lang);
                Ok(vec![Msg::ConflictLoaded(Box::new(state))])
            }
            Effect::ResolveConflict { record_id, choice } => {
                let (store, registry) = (&mut self.store, &self.registry);
                let r = crate::sync::conflict::resolve(store, registry, &self.actor, record_id, &choice)
                    .map_err(|e| e.message())?;
                let r = r.map_err(|why| Text::new(crate::sync::conflict::unresolvable_key(why)));
                Ok(vec![Msg::ConflictResolved(r)])
            }
            Effect::LoadWorklist { filter, limit } => {
                let items = self
                    .store
                    .worklist(&self.actor, clock.today, &filter, limit)
                    .map_err(|e| e.message())?;
                Ok(vec![Msg::WorklistLoaded(items)])
            }
            Effect::LoadKpi { period, village } => {
                let report = self.store.kpi(&self.actor, &period, village).map_err(|e| e.message())?;
                Ok(vec![Msg::KpiLoaded(Box::new(report))])
            }
            Effect::LoadKpiResidents {
                row,
                period,
                village,
                programme,
                measure,
            } => {
                let mut ids = self
                    .store
                    .kpi_residents(&self.actor, &period, village, programme, measure)
                    .map_err(|e| e.message())?;
                // A screenful of lists, not a county: the CLI gives them all.
                ids.truncate(500);
                let rows = self.store.resident_rows(&self.actor, &ids).map_err(|e| e.message())?;
                Ok(vec![Msg::KpiResidents { row, rows }])
            }
            Effect::Quit => {
                self.quit = true;
                Ok(Vec::new())
            }
        })();
        let mut msgs = result.unwrap_or_else(|m| vec![Msg::Failed(m)]);
        // After the screen it concerns (a draft another desk has open too).
        msgs.extend(self.desks.take_warning().map(Msg::Warn));
        msgs
    }
}

impl Shell {
    /// The count of records waiting to upload, as a fact for the core; a
    /// count that cannot be read says nothing (the last one stays).
    /// Followed by `then`, the message of what changed the count.
    fn with_pending_uploads(&self, then: Vec<Msg>) -> Vec<Msg> {
        let count = self.store.pending_outbox().ok().map(Msg::PendingUploads);
        count.into_iter().chain(then).collect()
    }

    /// Saves a draft: only what changed since the last save when this
    /// session read or saved it, otherwise all of it. A failed save leaves
    /// the last saved answers as they were, so the retry writes its changes too.
    fn save_draft(&mut self, record_id: i64, save: crate::store::Save) -> Result<(), StoreError> {
        match &self.saved {
            Some((id, base)) if *id == record_id => {
                self.store.save_draft_changes(&self.actor, record_id, base, &save)?
            }
            _ => self.store.save_draft(&self.actor, record_id, &save)?,
        }
        self.saved = Some((record_id, save.answers));
        Ok(())
    }
}

/// Form ids with their titles, for the core.
fn titles<'a>(defs: impl Iterator<Item = &'a FormDef>) -> Vec<(String, crate::form::def::Text)> {
    defs.map(|d| (d.id.clone(), d.title.clone())).collect()
}

/// A draft that could not be saved stays in memory and is retried; the user
/// is told why (disk full, read-only directory) in their language.
fn save_failed(e: StoreError) -> Text {
    e.message()
}
