//! The logged-in session inside the app: the idle lock (which hides every
//! personal detail and keeps the form in progress), logging out, and the
//! audit screen for auditors.

use super::overlay::Overlay;
use super::secret_input::SecretBuf;
use super::{App, Clock, Effect, Screen};
use crate::i18n::Msg as Text;
use crate::keymap::Action;
use crate::store::{AuditEntry, Role};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub login: String,
    pub display_name: String,
    pub role: Role,
}

/// The idle lock's screen. The password box is a [`SecretBuf`]: no `Clone`,
/// `Debug` redacted, wiped when taken or dropped.
#[derive(Debug, Default)]
pub struct LockState {
    pub password: SecretBuf,
    pub error: Option<Text>,
}

#[derive(Debug, Clone)]
pub struct AuditState {
    pub entries: Vec<AuditEntry>,
    /// Index of the highlighted entry; `usize::MAX` means the newest.
    pub selected: usize,
}

impl App {
    /// A timer fired: lock if idle for long enough, and save a draft that
    /// has waited its two seconds.
    pub(super) fn timer(&mut self, clock: &Clock) -> Vec<Effect> {
        let mut out = Vec::new();
        if let super::Screen::Form(f) = &mut self.screen {
            let due = f.autosave_deadline().is_some_and(|d| d <= clock.instant);
            let idle = self.idle_after.is_some_and(|d| clock.instant >= self.last_input + d);
            if f.unsaved_since.is_some() && (due || idle) && !f.read_only {
                out.push(Effect::SaveDraft {
                    record_id: f.record_id,
                    save: f.save(clock),
                });
            }
        }
        let idle = self.idle_after.is_some_and(|d| clock.instant >= self.last_input + d);
        if idle && !self.overlays.locked() && self.session.is_some() {
            self.overlays.push(Overlay::Lock(LockState::default()));
            out.push(Effect::Locked);
        }
        out
    }

    /// The lock takes the password (typed with the `[text]` keys), unlock
    /// (`[lock]`) and quit (`[global]`); every other key does nothing.
    pub(super) fn lock_key(&mut self, action: Option<Action>, text: Option<char>, clock: &Clock) -> Vec<Effect> {
        if action == Some(Action::Quit) {
            return self.quit(clock);
        }
        let Some(Overlay::Lock(lock)) = self.overlays.top_mut() else {
            return Vec::new();
        };
        if let Some(c) = text {
            lock.password.insert(c.encode_utf8(&mut [0; 4]));
            return Vec::new();
        }
        match action {
            Some(Action::Confirm) => {
                lock.error = None;
                return vec![Effect::Unlock(lock.password.take())];
            }
            Some(a) => {
                lock.password.apply(a);
            }
            None => {}
        }
        Vec::new()
    }

    /// Logging out is quitting after `Logout` (audited): the shell then
    /// shows the login again.
    pub(super) fn log_out(&mut self, clock: &Clock) -> Vec<Effect> {
        let mut out = self.save_open_form(clock);
        out.push(Effect::Logout);
        out.push(Effect::Quit);
        out
    }

    pub(super) fn audit_key(&mut self, action: Option<Action>) -> Vec<Effect> {
        let Screen::Audit(a) = &mut self.screen else {
            return Vec::new();
        };
        let last = a.entries.len().saturating_sub(1);
        let current = a.selected.min(last);
        match action {
            Some(Action::Up) => a.selected = current.saturating_sub(1),
            Some(Action::Down) => a.selected = (current + 1).min(last),
            Some(Action::Back) => {
                let can_read = self
                    .session
                    .as_ref()
                    .is_none_or(|s| s.role.allows(crate::store::Permission::ReadRecords));
                if can_read {
                    self.set_screen(Screen::Residents(super::ListState::default()));
                    return vec![Effect::Search(Default::default())];
                }
            }
            _ => {}
        }
        Vec::new()
    }
}
