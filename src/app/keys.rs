//! Where a key goes. The keymap turns it into an action in the contexts of
//! whatever is in front — the top overlay, else the screen — or into typed
//! text where text is typed; then the top overlay handles it, else the
//! screen. Nothing here looks at a key's code (issue 12: keys are data).

use super::overlay::{Kind, Overlay, HELP_COLUMNS, HELP_KEYS_WIDTH, HELP_PAGE};
use super::{App, Clock, Effect, FormOutcome, Screen};
use crate::keymap::{typed_char, Action, Context};
use crossterm::event::KeyEvent;

impl App {
    /// The contexts a key is looked up in now, first binding wins: the top
    /// overlay's, else the screen's. The hint line shows the first one.
    pub fn key_contexts(&self) -> &'static [Context] {
        if let Some(o) = self.overlays.top() {
            return o.key_contexts();
        }
        match &self.screen {
            Screen::Setup(_) => &[Context::Setup, Context::Text, Context::Global],
            Screen::Residents(_) => &[Context::List, Context::Text, Context::Global],
            Screen::Resident(_) | Screen::Audit(_) => &[Context::Resident, Context::Global],
            Screen::Form(_) => &[Context::Form, Context::Text, Context::Global],
            Screen::Worklist(_) | Screen::Kpi(_) => &[Context::Manage, Context::Global],
        }
    }

    /// Whether a printable key is text now: in a text input it is, whatever
    /// it is bound to elsewhere (Space ticks an option in a multiple choice
    /// but is a space in "mild oedema").
    fn takes_text(&self) -> bool {
        match self.overlays.top() {
            Some(o) => o.takes_text(),
            None => match &self.screen {
                Screen::Setup(_) | Screen::Residents(_) => true,
                Screen::Form(f) => f.takes_text(),
                Screen::Resident(_) | Screen::Audit(_) | Screen::Worklist(_) | Screen::Kpi(_) => false,
            },
        }
    }

    pub(super) fn key(&mut self, k: KeyEvent, clock: &Clock) -> Vec<Effect> {
        if k.kind == crossterm::event::KeyEventKind::Release {
            return Vec::new();
        }
        self.last_input = clock.instant;
        let typed = typed_char(&k);
        let text = typed.filter(|_| self.takes_text());
        let action = match text {
            Some(_) => None,
            None => self.keymap.action_in(self.key_contexts(), &k).map(|(_, a)| a),
        };
        match self.overlays.top().map(Overlay::kind) {
            Some(Kind::Lock) => return self.lock_key(action, text, clock),
            Some(Kind::Help) => {
                self.help_key(action);
                return Vec::new();
            }
            _ => {}
        }
        if let Some(effects) = self.global_key(action, clock) {
            return effects;
        }
        let notice_before = self.notice.clone();
        let effects = match self.overlays.top().map(Overlay::kind) {
            Some(Kind::Uploads) => self.uploads_key(action),
            Some(Kind::Conflict) => self.conflict_key(action),
            Some(Kind::Duplicate) => self.duplicate_dialog(action, clock),
            Some(Kind::Suspects) => self.suspects_dialog(action, clock),
            Some(Kind::Picker) => self.picker_key(action, typed),
            Some(Kind::AbandonReason) => self.reason_key(action, text),
            Some(Kind::Problems) => self.problems_key(action, clock),
            Some(Kind::Lock | Kind::Help) => Vec::new(),
            None => match &self.screen {
                Screen::Setup(_) => self.setup_key(action, text),
                Screen::Residents(_) => self.list_key(action, text),
                Screen::Resident(_) => self.resident_key(action),
                Screen::Form(_) => self.form_key(action, typed, clock),
                Screen::Audit(_) => self.audit_key(action),
                Screen::Worklist(_) => self.worklist_key(action),
                Screen::Kpi(_) => self.kpi_key(action),
            },
        };
        // A notice stays until the next key after it appeared.
        if self.notice == notice_before {
            self.notice = None;
        }
        effects
    }

    /// The keys that work whatever is in front (but the lock and help).
    fn global_key(&mut self, action: Option<Action>, clock: &Clock) -> Option<Vec<Effect>> {
        match action? {
            Action::Quit => Some(self.quit(clock)),
            Action::Help => {
                self.overlays.push(Overlay::Help { scroll: 0 });
                Some(Vec::new())
            }
            Action::Logout if self.session.is_some() => Some(self.log_out(clock)),
            Action::Audit
                if self
                    .session
                    .as_ref()
                    .is_some_and(|s| s.role.allows(crate::store::Permission::ReadAudit)) =>
            {
                Some(vec![Effect::LoadAudit])
            }
            // The upload list opens over anything but the first-run setup.
            Action::Uploads if !matches!(self.screen, Screen::Setup(_)) => Some(self.open_uploads()),
            _ => None,
        }
    }

    /// Help scrolls; any other key closes it.
    fn help_key(&mut self, action: Option<Action>) {
        let last = self
            .keymap
            .help_rows(HELP_COLUMNS, HELP_KEYS_WIDTH)
            .len()
            .saturating_sub(HELP_PAGE);
        let Some(Overlay::Help { scroll }) = self.overlays.top_mut() else {
            return;
        };
        match action {
            Some(Action::Up) => *scroll = scroll.saturating_sub(1),
            Some(Action::Down) => *scroll = (*scroll + 1).min(last),
            Some(Action::PageUp) => *scroll = scroll.saturating_sub(HELP_PAGE),
            Some(Action::PageDown) => *scroll = (*scroll + HELP_PAGE).min(last),
            _ => {
                self.overlays.pop();
            }
        }
    }

    pub(super) fn quit(&mut self, clock: &Clock) -> Vec<Effect> {
        let mut out = self.save_open_form(clock);
        out.push(Effect::Quit);
        out
    }

    /// The unsaved typing of the form on screen, as a save (leaving it).
    pub(super) fn save_open_form(&mut self, clock: &Clock) -> Vec<Effect> {
        match &mut self.screen {
            Screen::Form(f) if f.unsaved_since.is_some() && !f.read_only => vec![Effect::SaveDraft {
                record_id: f.record_id,
                save: f.save(clock),
            }],
            _ => Vec::new(),
        }
    }

    /// Confirming says "these are other people" and finalizes; cancelling
    /// returns to the form (the draft is saved) to check or correct it.
    fn suspects_dialog(&mut self, action: Option<Action>, clock: &Clock) -> Vec<Effect> {
        if !matches!(action, Some(Action::Confirm | Action::Cancel)) {
            return Vec::new();
        }
        let Some(Overlay::Suspects(suspects)) = self.overlays.pop() else {
            return Vec::new();
        };
        match (&mut self.screen, action) {
            (Screen::Form(f), Some(Action::Confirm)) if f.record_id == suspects.record_id => {
                vec![Effect::FinalizeAnyway {
                    record_id: f.record_id,
                    save: f.save(clock),
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Enter opens the resident who already has the ID number (the
    /// registration in progress stays a draft, marked as such in every
    /// list); Esc returns to the form to correct the number.
    fn duplicate_dialog(&mut self, action: Option<Action>, clock: &Clock) -> Vec<Effect> {
        if !matches!(action, Some(Action::Confirm | Action::Cancel)) {
            return Vec::new();
        }
        let Some(Overlay::Duplicate(existing)) = self.overlays.pop() else {
            return Vec::new();
        };
        let Some(first) = existing.first().filter(|_| action == Some(Action::Confirm)) else {
            return Vec::new();
        };
        let mut out = self.save_open_form(clock);
        if let Screen::Form(f) = &self.screen {
            out.push(Effect::LeftForm {
                resident_id: f.header.resident_id,
            });
        }
        out.push(Effect::OpenResident(first.id));
        out
    }

    /// The problems that stop finalizing: choosing one goes to its item.
    fn problems_key(&mut self, action: Option<Action>, clock: &Clock) -> Vec<Effect> {
        let Some(action) = action else {
            return Vec::new();
        };
        let (Some(Overlay::Problems(dialog)), Screen::Form(f)) = (self.overlays.top_mut(), &mut self.screen) else {
            return Vec::new();
        };
        match f.problems_action(dialog, action, clock) {
            Some(outcome) => {
                self.overlays.pop();
                self.form_outcome(outcome, clock)
            }
            None => Vec::new(),
        }
    }

    fn form_key(&mut self, action: Option<Action>, typed: Option<char>, clock: &Clock) -> Vec<Effect> {
        let Screen::Form(f) = &mut self.screen else {
            return Vec::new();
        };
        let outcome = match (action, typed) {
            (Some(Action::DeleteBack), _) => f.backspace(clock),
            (Some(Action::DeleteForward), _) => f.delete(clock),
            (Some(a @ (Action::LineStart | Action::LineEnd | Action::CursorLeft | Action::CursorRight)), _) => {
                f.edit.apply(a);
                FormOutcome::None
            }
            (Some(a), _) => f.handle_action(a, clock),
            // Text, or a code typed into a choice.
            (None, Some(c)) => f.type_text(c.encode_utf8(&mut [0; 4]), clock),
            (None, None) => FormOutcome::None,
        };
        self.form_outcome(outcome, clock)
    }

    /// What the form asked for, as effects (and the problems box).
    pub(super) fn form_outcome(&mut self, outcome: FormOutcome, clock: &Clock) -> Vec<Effect> {
        let outcome = match outcome {
            FormOutcome::Problems(dialog) => {
                self.overlays.push(Overlay::Problems(dialog));
                FormOutcome::Save
            }
            other => other,
        };
        let Screen::Form(f) = &mut self.screen else {
            return Vec::new();
        };
        let notice = f.notice.take();
        let id_check = f.id_to_check.take().map(|id_number| Effect::CheckIdNumber {
            resident_id: f.header.resident_id,
            id_number: id_number.into(),
        });
        let mut effects = match outcome {
            FormOutcome::None | FormOutcome::Problems(_) => Vec::new(),
            FormOutcome::Save if f.read_only => Vec::new(),
            FormOutcome::Save => vec![Effect::SaveDraft {
                record_id: f.record_id,
                save: f.save(clock),
            }],
            FormOutcome::Finalize => vec![Effect::Finalize {
                record_id: f.record_id,
                save: f.save(clock),
            }],
            FormOutcome::Amend => vec![Effect::Amend(f.record_id)],
            FormOutcome::Leave => {
                let resident_id = f.header.resident_id;
                let mut out = self.save_open_form(clock);
                out.push(Effect::LeftForm { resident_id });
                out.push(Effect::OpenResident(resident_id));
                out
            }
        };
        // Asked after the save, so the draft holds the number; not when the
        // form closes or finalizes (finalizing checks it again anyway).
        if effects
            .iter()
            .all(|e| !matches!(e, Effect::LeftForm { .. } | Effect::Finalize { .. }))
        {
            effects.extend(id_check);
        }
        if let Some(m) = notice {
            self.notice = Some(super::Notice::Error(m));
        }
        effects
    }
}
