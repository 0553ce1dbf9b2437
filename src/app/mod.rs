//! The pure core of the clinic program: `App::update(msg, clock)` changes
//! state and returns `Effect`s for the shell to run (save, search, load).
//! No terminal, SQL, network or clock in here, so every transition is a
//! plain test.
//!
//! Nothing a user types may panic here: byte slicing of text and indexing
//! that can go out of range are denied (use `get`, count characters).
#![deny(clippy::string_slice, clippy::indexing_slicing)]

pub mod conflict_screen;
mod form_choice;
mod form_dialog;
pub mod form_fill;
mod form_nav;
mod form_save;
mod form_typing;
pub mod gate;
mod keys;
mod list_keys;
pub mod manage_screens;
pub mod overlay;
pub mod screens;
pub mod secret_input;
mod session;
pub mod slots;
pub mod suggest;
pub mod sync_screen;
pub mod text_input;

pub use form_fill::{FormOutcome, FormState, Header};
pub use overlay::{Overlay, Overlays};
pub use screens::{ListState, ResidentPage, SetupState, Suspects};
pub use session::{AuditState, LockState, SessionInfo};

use crate::form::rules::Context;
use crate::i18n::{Lang, Msg as Text};
use crate::keymap::Keymap;
use crate::store::{DuplicateCandidate, Record, RecordSummary, Resident, ResidentRow, Save, SiteConfig};
use crossterm::event::KeyEvent;
use std::time::Instant;

/// The clock, handed in so that rules and timers are testable at any date.
/// The shell reads the machine's clock (`crate::tui::system_clock`); the
/// core never does, so no test depends on the day it runs.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub today: chrono::NaiveDate,
    /// Wall-clock time of day, for "saved at 10:42".
    pub time: chrono::NaiveTime,
    pub instant: Instant,
}

pub enum Screen {
    Setup(SetupState),
    Residents(ListState),
    Resident(Box<ResidentPage>),
    Form(Box<FormState>),
    Audit(AuditState),
    Worklist(manage_screens::WorklistState),
    Kpi(Box<manage_screens::KpiState>),
}

pub enum Msg {
    Key(KeyEvent),
    /// A draft was abandoned; with it its draft resident, for a registration.
    DraftAbandoned {
        resident_id: i64,
        resident_removed: bool,
    },
    Paste(String),
    Resize,
    AutosaveDue,
    ResidentsFound {
        query: String,
        rows: Vec<ResidentRow>,
    },
    ResidentOpened {
        resident: Resident,
        records: Vec<RecordSummary>,
        memberships: Vec<crate::store::care::Membership>,
    },
    RecordOpened(Box<FormState>),
    Saved {
        record_id: i64,
    },
    Finalized {
        record_id: i64,
        resident_id: i64,
    },
    SiteSaved(SiteConfig),
    /// A registration whose ID number another resident already has.
    DuplicateId {
        existing: Vec<ResidentRow>,
    },
    /// Residents with the same name and birth date, or the same phone, as
    /// the registration being finalized: ask before going on.
    DuplicateSuspects {
        record_id: i64,
        candidates: Vec<DuplicateCandidate>,
    },
    Failed(Text),
    /// The terminal went away or the system asked jkda to stop: save what
    /// is typed and quit.
    Hangup,
    /// The forms there are: visit forms (offered on a resident's page) and
    /// every form's title, by id.
    FormsLoaded {
        visit_forms: Vec<(String, crate::form::def::Text)>,
        form_titles: Vec<(String, crate::form::def::Text)>,
    },
    /// How many records wait to be uploaded (the shell counts them after
    /// whatever may change the number).
    PendingUploads(i64),
    /// Something another desk did to what is open here (`desk_watch`).
    Warn(Text),
    Unlocked,
    UnlockFailed(Text),
    AuditLoaded(Vec<crate::store::AuditEntry>),
    /// From the uploader thread.
    Sync(crate::sync::SyncEvent),
    /// Waiting and failed uploads, for the upload list.
    OutboxRows(Vec<crate::store::OutboxRow>),
    /// A version clash with both versions (`conflict_screen`).
    ConflictLoaded(Box<conflict_screen::ConflictState>),
    /// A clash resolved (Ok: whether something is queued for upload) or refused.
    ConflictResolved(Result<bool, Text>),
    WorklistLoaded(crate::manage::worklist::Worklist),
    KpiLoaded(Box<crate::store::care_read::KpiReport>),
    KpiResidents {
        row: usize,
        rows: Vec<ResidentRow>,
    },
}

#[derive(Debug, Clone)]
pub enum Effect {
    SaveSite(SiteConfig),
    /// The search text as typed (a name or an ID number): prints redacted.
    Search(crate::domain::Sensitive<String>),
    OpenResident(i64),
    Register,
    NewRecord {
        resident_id: i64,
        form_id: String,
    },
    OpenRecord(i64),
    /// A draft that will never be finished, with the reason (audited).
    AbandonDraft {
        resident_id: i64,
        record_id: i64,
        /// Free text, which may name the person: prints redacted.
        reason: crate::domain::Sensitive<String>,
    },
    EditRegistration {
        resident_id: i64,
    },
    Amend(i64),
    SaveDraft {
        record_id: i64,
        save: Save,
    },
    Finalize {
        record_id: i64,
        save: Save,
    },
    /// Finalize after the worker confirmed the suspected duplicates are other people.
    FinalizeAnyway {
        record_id: i64,
        save: Save,
    },
    /// A registration's ID item was left with a valid number: the shell
    /// answers `DuplicateId` when another resident already has it.
    CheckIdNumber {
        resident_id: i64,
        id_number: crate::domain::Sensitive<String>,
    },
    /// The form screen closed: the shell forgets which draft was open.
    LeftForm {
        resident_id: i64,
    },
    /// The idle lock came down (audited by the shell).
    Locked,
    /// The password typed at the idle lock, for the shell to check.
    Unlock(secrecy::SecretString),
    Logout,
    LoadAudit,
    /// A command for the uploader thread.
    Sync(crate::sync::SyncCommand),
    /// Load the waiting and failed uploads for the upload list.
    LoadOutbox,
    /// Load a record's version clash for the conflict screen.
    LoadConflict(i64),
    /// Apply a person's decision on a clash (audited).
    ResolveConflict {
        record_id: i64,
        choice: crate::sync::conflict::Choice,
    },
    LoadWorklist {
        filter: crate::store::care_read::WorklistFilter,
        limit: usize,
    },
    LoadKpi {
        period: crate::manage::kpi::Period,
        village: Option<String>,
    },
    LoadKpiResidents {
        row: usize,
        period: crate::manage::kpi::Period,
        village: Option<String>,
        programme: crate::form::def::Programme,
        measure: crate::store::care_read::Measure,
    },
    /// The one way to quit (after a logout too): the shell stops the loop.
    Quit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Info(Text),
    Error(Text),
}

pub struct App {
    pub lang: Lang,
    pub keymap: Keymap,
    pub screen: Screen,
    pub site: Option<SiteConfig>,
    pub notice: Option<Notice>,
    /// The boxes over the screen; the top one has the keys.
    pub overlays: Overlays,
    pub pending_uploads: i64,
    /// Visit form ids and titles offered on a resident's page.
    pub visit_forms: Vec<(String, crate::form::def::Text)>,
    /// Titles of every known form, for timelines.
    pub form_titles: Vec<(String, crate::form::def::Text)>,
    /// Today, from the clock of the last update (ages in lists use it).
    pub today: chrono::NaiveDate,
    /// Who is logged in (None in tests and tools that run without a login).
    pub session: Option<SessionInfo>,
    /// Lock the screen after this long without a key press.
    pub idle_after: Option<std::time::Duration>,
    pub last_input: Instant,
    /// Upload state for the status line and the upload list.
    pub sync: sync_screen::SyncInfo,
}

impl App {
    /// `clock` gives today (ages in lists) until the first update brings its own.
    pub fn new(lang: Lang, keymap: Keymap, site: Option<SiteConfig>, clock: &Clock) -> App {
        let screen = if site.is_some() {
            Screen::Residents(ListState::default())
        } else {
            Screen::Setup(SetupState::default())
        };
        App {
            lang,
            keymap,
            screen,
            site,
            notice: None,
            overlays: Overlays::default(),
            pending_uploads: 0,
            visit_forms: Vec::new(),
            form_titles: Vec::new(),
            today: clock.today,
            session: None,
            idle_after: None,
            last_input: clock.instant,
            sync: sync_screen::SyncInfo::default(),
        }
    }

    pub fn form_title(&self, id: &str) -> Option<&crate::form::def::Text> {
        self.form_titles.iter().find(|(i, _)| i == id).map(|(_, t)| t)
    }

    /// Replaces the screen; the boxes about the old one close with it.
    pub(crate) fn set_screen(&mut self, screen: Screen) {
        self.screen = screen;
        self.overlays.screen_changed();
    }

    /// When the shell must wake without input (autosave, idle lock), if ever.
    pub fn deadline(&self) -> Option<Instant> {
        let autosave = match &self.screen {
            Screen::Form(f) => f.autosave_deadline(),
            _ => None,
        };
        let idle = self
            .idle_after
            .filter(|_| !self.overlays.locked() && self.session.is_some())
            .map(|d| self.last_input + d);
        match (autosave, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn update(&mut self, msg: Msg, clock: &Clock) -> Vec<Effect> {
        self.today = clock.today;
        match msg {
            Msg::Key(k) => self.key(k, clock),
            Msg::Paste(s) => self.paste(&s, clock),
            Msg::Resize => Vec::new(),
            Msg::AutosaveDue => self.timer(clock),
            Msg::FormsLoaded {
                visit_forms,
                form_titles,
            } => {
                self.visit_forms = visit_forms;
                self.form_titles = form_titles;
                Vec::new()
            }
            Msg::PendingUploads(n) => {
                self.pending_uploads = n;
                Vec::new()
            }
            Msg::Unlocked => {
                self.overlays.close(overlay::Kind::Lock);
                self.last_input = clock.instant;
                Vec::new()
            }
            Msg::UnlockFailed(m) => {
                if let Some(Overlay::Lock(l)) = self.overlays.top_mut() {
                    l.error = Some(m);
                }
                Vec::new()
            }
            Msg::AuditLoaded(entries) => {
                self.set_screen(Screen::Audit(AuditState {
                    entries,
                    selected: usize::MAX,
                }));
                Vec::new()
            }
            Msg::ResidentsFound { query, rows } => {
                let mut fetch = false;
                if let Screen::Residents(l) = &mut self.screen {
                    if l.query.text() == query {
                        fetch = rows.is_empty();
                        l.rows = rows;
                        l.rows_for = query.clone().into();
                        l.selected = l.selected.min(l.rows.len().saturating_sub(1));
                    }
                }
                self.maybe_fetch(&query, fetch)
            }
            Msg::Sync(ev) => self.sync_event(ev),
            Msg::OutboxRows(rows) => {
                self.outbox_rows(rows);
                Vec::new()
            }
            Msg::ConflictLoaded(c) => {
                self.conflict_loaded(*c);
                Vec::new()
            }
            Msg::ConflictResolved(r) => self.conflict_resolved(r),
            Msg::WorklistLoaded(items) => {
                self.worklist_loaded(items);
                Vec::new()
            }
            Msg::KpiLoaded(report) => {
                self.kpi_loaded(*report);
                Vec::new()
            }
            Msg::KpiResidents { row, rows } => {
                self.kpi_residents_loaded(row, rows);
                Vec::new()
            }
            Msg::ResidentOpened {
                resident,
                records,
                memberships,
            } => {
                let selected = match &self.screen {
                    Screen::Resident(p) if p.resident.id == resident.id => {
                        p.selected.min(records.len().saturating_sub(1))
                    }
                    _ => 0,
                };
                self.set_screen(Screen::Resident(Box::new(ResidentPage {
                    resident,
                    records,
                    memberships,
                    selected,
                })));
                Vec::new()
            }
            Msg::DraftAbandoned {
                resident_id,
                resident_removed,
            } => {
                self.notice = Some(Notice::Info(Text::new("notice.draft_abandoned")));
                if resident_removed {
                    self.set_screen(Screen::Residents(ListState::default()));
                    vec![Effect::Search(Default::default())]
                } else {
                    vec![Effect::OpenResident(resident_id)]
                }
            }
            Msg::RecordOpened(f) => {
                self.set_screen(Screen::Form(f));
                Vec::new()
            }
            Msg::Saved { record_id } => {
                if let Screen::Form(f) = &mut self.screen {
                    if f.record_id == record_id {
                        f.mark_saved(clock);
                    }
                }
                Vec::new()
            }
            Msg::Finalized {
                record_id: _,
                resident_id,
            } => {
                self.notice = Some(Notice::Info(Text::new("notice.finalized")));
                vec![Effect::OpenResident(resident_id)]
            }
            Msg::SiteSaved(site) => {
                self.site = Some(site);
                self.set_screen(Screen::Residents(ListState::default()));
                vec![Effect::Search(Default::default())]
            }
            Msg::DuplicateId { existing } => {
                // Left again unchanged (not corrected), the number is asked about again.
                if let Screen::Form(f) = &mut self.screen {
                    f.id_checked = None;
                }
                self.overlays.push(Overlay::Duplicate(existing));
                Vec::new()
            }
            Msg::DuplicateSuspects { record_id, candidates } => {
                self.overlays
                    .push(Overlay::Suspects(Suspects { record_id, candidates }));
                Vec::new()
            }
            Msg::Warn(m) => {
                self.notice = Some(Notice::Error(m));
                Vec::new()
            }
            Msg::Hangup => self.quit(clock),
            Msg::Failed(m) => {
                self.notice = Some(Notice::Error(m));
                // Retry an unsaved draft after the usual delay, not in a tight loop.
                if let Screen::Form(f) = &mut self.screen {
                    if f.unsaved_since.is_some() {
                        f.unsaved_since = Some(clock.instant);
                        f.save_failed = true;
                    }
                }
                Vec::new()
            }
        }
    }

    fn paste(&mut self, s: &str, clock: &Clock) -> Vec<Effect> {
        // A paste is typed text, one line: newlines would mean "next field".
        let line: String = s.split(['\r', '\n']).next().unwrap_or("").to_string();
        // The box in front takes it, if it takes text; no other box does.
        match self.overlays.top_mut() {
            Some(Overlay::Lock(l)) => {
                l.password.insert(&crate::form::answers::sanitize(&line));
                return Vec::new();
            }
            Some(Overlay::AbandonReason(r)) => {
                list_keys::type_reason(r, &crate::form::answers::sanitize(&line));
                return Vec::new();
            }
            Some(_) => return Vec::new(),
            None => {}
        }
        match &mut self.screen {
            Screen::Form(f) => {
                f.type_text(&line, clock);
                if let Some(m) = f.notice.take() {
                    self.notice = Some(Notice::Error(m));
                }
                Vec::new()
            }
            Screen::Residents(l) => {
                l.query.insert(&crate::form::answers::sanitize(&line));
                vec![Effect::Search(l.query.text().to_string().into())]
            }
            Screen::Setup(s) => {
                s.edit(|b| b.insert(&crate::form::answers::sanitize(&line)));
                Vec::new()
            }
            Screen::Resident(_) | Screen::Audit(_) | Screen::Worklist(_) | Screen::Kpi(_) => Vec::new(),
        }
    }
}

/// Builds the form screen for a record (used by the shell and by tests).
pub fn form_screen(
    def: std::sync::Arc<crate::form::FormDef>,
    record: &Record,
    resident: &Resident,
    clock: &Clock,
) -> FormState {
    let birth = resident
        .birth_date
        .as_deref()
        .and_then(|b| crate::form::answers::parse_date(b, clock.today));
    let ctx = Context {
        today: clock.today,
        sex: resident.sex.clone(),
        birth_date: birth,
    };
    let record_date = record
        .record_date
        .as_deref()
        .and_then(|d| crate::form::answers::parse_date(d, clock.today));
    let header = Header {
        resident_id: resident.id,
        name: resident.name.clone().unwrap_or_default(),
        sex: resident.sex.clone(),
        age: birth.and_then(|b| crate::identity::age_on(b, record_date.unwrap_or(clock.today))),
        id_masked: resident
            .id_number
            .as_deref()
            .map(crate::store::mask_id)
            .unwrap_or_default(),
        record_no: resident.record_no.clone(),
    };
    let read_only = record.status == crate::store::RecordStatus::Final;
    FormState::new(
        def,
        record.id,
        header,
        record.answers.clone(),
        ctx,
        read_only,
        record.focus.as_deref(),
    )
}
