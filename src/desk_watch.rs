//! The shell's side of "one database, several desks" (`store::desks`): on a
//! slow timer while idle, `PRAGMA data_version` says whether another process
//! changed the database; only then is what is on screen read again — the
//! resident list, a resident's timeline, the upload list and its count —
//! and only then is the screen redrawn. A form being typed in is never
//! reloaded (nothing typed is lost): its desk is warned instead when another
//! desk opens the same draft, saves it, or finalizes it. A final record only
//! viewed is read again when a newer revision arrived (another desk amended
//! it, or the uploader brought down an amendment made at another PC).
//!
//! Refreshing only reads, and list reads are counted for the next audit
//! flush rather than written now: a write here would count as a change on
//! every other desk, whose refresh would write again, back and forth.

use crate::app::overlay::Kind;
use crate::app::{App, Msg, Notice, Screen};
use crate::i18n::Msg as Text;
use crate::store::desks::{desk_id, Lease, HEARTBEAT};
use crate::store::{Actor, Store};
use chrono::Utc;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long jkda waits idle before looking for other desks' changes.
pub const POLL: Duration = Duration::from_millis(1500);

pub struct DeskWatch {
    /// `host:pid`, this desk's name in `desk_leases`.
    pub desk: String,
    seen: Option<i64>,
    /// The draft open here, and for each other desk the save already told.
    draft: Option<(i64, BTreeMap<String, Option<String>>)>,
    beat: Option<Instant>,
    warning: Option<Text>,
    /// A final record viewed here, and the revision on screen.
    viewing: Option<(i64, i64)>,
    /// That record has a newer revision: the shell opens it again.
    stale_view: Option<i64>,
}

impl Default for DeskWatch {
    fn default() -> Self {
        DeskWatch {
            desk: desk_id(),
            seen: None,
            draft: None,
            beat: None,
            warning: None,
            viewing: None,
            stale_view: None,
        }
    }
}

fn who(l: &Lease) -> String {
    format!("{} ({})", l.user, l.desk)
}

impl DeskWatch {
    /// Starts counting from the database as it is now.
    pub fn start(&mut self, store: &Store) {
        self.seen = store.data_version().ok();
    }

    /// A draft opened here: its lease, and a warning (`take_warning`) when
    /// another desk has it open too.
    pub fn opened(&mut self, store: &Store, record_id: i64, user: &str) {
        let _ = store.release_leases(&self.desk);
        let Ok(others) = store.take_lease(record_id, &self.desk, user, Utc::now()) else {
            return;
        };
        self.beat = Some(Instant::now());
        let told = others.iter().map(|l| (l.desk.clone(), l.saved_at.clone())).collect();
        self.draft = Some((record_id, told));
        self.warning = others
            .first()
            .map(|l| Text::new("desks.open_elsewhere").arg("who", who(l)));
    }

    /// The warning of the last `opened`, once.
    pub fn take_warning(&mut self) -> Option<Text> {
        self.warning.take()
    }

    /// This desk saved its draft.
    pub fn saved(&mut self, store: &Store, record_id: i64) {
        if self.draft.as_ref().is_some_and(|(id, _)| *id == record_id) {
            let _ = store.note_desk_save(record_id, &self.desk, Utc::now());
            self.beat = Some(Instant::now());
        }
    }

    /// A final record opened here to read (revision `revision`).
    pub fn viewing(&mut self, record_id: i64, revision: i64) {
        self.viewing = Some((record_id, revision));
    }

    /// The viewed record that has a newer revision now, once.
    pub fn take_stale_view(&mut self) -> Option<i64> {
        self.stale_view.take()
    }

    /// This desk closed its draft (left the form, quit, logged out).
    pub fn left(&mut self, store: &Store) {
        if self.draft.take().is_some() {
            let _ = store.release_leases(&self.desk);
        }
    }

    /// The timer: true when the screen changed and must be redrawn.
    pub fn tick(&mut self, store: &mut Store, actor: &Actor, app: &mut App) -> bool {
        if self.draft.is_some() && self.beat.is_none_or(|b| b.elapsed() >= HEARTBEAT) {
            // The desk's own write: it does not move its own data_version.
            let _ = store.desk_heartbeat(&self.desk, Utc::now());
            self.beat = Some(Instant::now());
        }
        let Ok(version) = store.data_version() else {
            return false;
        };
        if self.seen == Some(version) || app.overlays.locked() {
            return false;
        }
        self.seen = Some(version);
        let mut changed = self.warn(store, app);
        self.check_view(store, app);
        let clock = crate::tui::system_clock();
        // Reported as a fact, like every count the shell gives the core.
        let pending = store.pending_outbox().unwrap_or(app.pending_uploads);
        if pending != app.pending_uploads {
            let _ = app.update(Msg::PendingUploads(pending), &clock);
            changed = true;
        }
        let msg = match &app.screen {
            // Results for the query as typed: typing on is not disturbed.
            Screen::Residents(l) if l.query.text() == l.rows_for.as_str() => {
                let query = l.query.text().to_string();
                let limit = crate::app::ListState::LIMIT;
                store
                    .search_residents(actor, &query, limit)
                    .ok()
                    .filter(|rows| *rows != l.rows)
                    .map(|rows| Msg::ResidentsFound { query, rows })
            }
            // Not under a box about this page (the form picker, the reason
            // being typed): the page stays as the box left it.
            Screen::Resident(p)
                if !app.overlays.is_open(Kind::Picker) && !app.overlays.is_open(Kind::AbandonReason) =>
            {
                let id = p.resident.id;
                match (store.records_of(actor, id), store.memberships(actor, id)) {
                    (Ok(records), Ok(memberships)) if records != p.records || memberships != p.memberships => {
                        Some(Msg::ResidentOpened {
                            resident: p.resident.clone(),
                            records,
                            memberships,
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(m) = msg {
            // Loaded messages only: no effect follows that could write.
            let _ = app.update(m, &clock);
            changed = true;
        }
        if app.overlays.is_open(Kind::Uploads) && app.conflict().is_none() {
            let rows = store.outbox_rows(&["pending", "failed", "conflict"], 500);
            if let Some(rows) = rows.ok().filter(|r| *r != app.sync.rows) {
                let _ = app.update(Msg::OutboxRows(rows), &clock);
                changed = true;
            }
        }
        changed
    }

    /// Warnings for the draft open here: another desk saved or finalized it.
    /// Whether the final record viewed on screen has a newer revision.
    fn check_view(&mut self, store: &Store, app: &App) {
        let Some((id, shown)) = self.viewing else {
            return;
        };
        match &app.screen {
            Screen::Form(f) if f.record_id == id && f.read_only => {
                if store.revision_of(id).ok().flatten().is_some_and(|r| r > shown) {
                    self.stale_view = Some(id);
                }
            }
            _ => self.viewing = None,
        }
    }

    fn warn(&mut self, store: &Store, app: &mut App) -> bool {
        let Some((id, told)) = &mut self.draft else {
            return false;
        };
        if !matches!(&app.screen, Screen::Form(f) if f.record_id == *id) {
            return false;
        }
        if !store.is_draft(*id).unwrap_or(true) {
            app.notice = Some(Notice::Error(Text::new("desks.closed_elsewhere")));
            return true;
        }
        let Ok(others) = store.other_leases(*id, &self.desk, Utc::now()) else {
            return false;
        };
        let mut out = false;
        for l in others {
            let before = told.insert(l.desk.clone(), l.saved_at.clone());
            if l.saved_at.is_some() && before.as_ref() != Some(&l.saved_at) {
                let time = l
                    .saved_at
                    .as_deref()
                    .map(crate::app::sync_screen::local_time)
                    .unwrap_or_default();
                let m = Text::new("desks.saved_elsewhere").arg("who", who(&l)).arg("time", time);
                app.notice = Some(Notice::Error(m));
                out = true;
            }
        }
        out
    }
}
