//! The logged-in session inside the app: the idle lock (which hides every
//! personal detail and keeps the form in progress), logging out, and the
//! audit screen for auditors.

use super::secret_input::SecretBuf;
use super::{App, Clock, Effect, Screen};
use crate::i18n::Msg as Text;
use crate::keymap::Action;
use crate::store::{AuditEntry, Role};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
        if idle && self.lock.is_none() && self.session.is_some() {
            self.lock = Some(LockState::default());
            self.help = false;
            out.push(Effect::Locked);
        }
        out
    }

    pub(super) fn lock_key(&mut self, k: KeyEvent, clock: &Clock) -> Vec<Effect> {
        let Some(lock) = &mut self.lock else { return Vec::new() };
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('q') {
            return self.quit(clock);
        }
        match k.code {
            KeyCode::Enter => {
                lock.error = None;
                return vec![Effect::Unlock(lock.password.take())];
            }
            KeyCode::Backspace => {
                lock.password.backspace();
            }
            KeyCode::Char(c) if !k.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
                lock.password.insert(&c.to_string());
            }
            _ => {}
        }
        Vec::new()
    }

    pub(super) fn log_out(&mut self, clock: &Clock) -> Vec<Effect> {
        let mut out = Vec::new();
        if let Screen::Form(f) = &mut self.screen {
            if f.unsaved_since.is_some() && !f.read_only {
                out.push(Effect::SaveDraft {
                    record_id: f.record_id,
                    save: f.save(clock),
                });
            }
        }
        self.logout = true;
        self.quit = true;
        out.push(Effect::Logout);
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
                    self.screen = Screen::Residents(super::ListState::default());
                    return vec![Effect::Search(String::new())];
                }
            }
            _ => {}
        }
        Vec::new()
    }
}
