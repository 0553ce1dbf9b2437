//! Typing into a text, number or date item (the line editor's value is
//! the answer at every key), and clearing an item or a table row. Typed
//! characters on a choice go to its code (`form_choice`).

use super::form_fill::{FormOutcome, FormState};
use super::Clock;
use crate::form::answers::strip_controls;

impl FormState {
    pub fn type_text(&mut self, s: &str, clock: &Clock) -> FormOutcome {
        if self.read_only {
            return FormOutcome::None;
        }
        let clean = strip_controls(s);
        if clean.is_empty() {
            return FormOutcome::None;
        }
        if self.current_options().is_some() {
            for c in clean.chars().filter(|c| c.is_ascii_alphanumeric()) {
                self.type_code(c, clock);
            }
            return FormOutcome::None;
        }
        let Some(p) = self.focus_path() else {
            return FormOutcome::None;
        };
        // Typing over a value the rules suggested replaces it, as typing
        // over a selection does.
        if !self.typing && self.is_suggested(&p) {
            self.edit.set("");
        }
        self.typing = true;
        self.edit.insert(&clean);
        let value = self.edit.text().to_string();
        self.answers.set_text(&p, &value);
        self.changed(clock);
        FormOutcome::None
    }

    pub fn backspace(&mut self, clock: &Clock) -> FormOutcome {
        if self.read_only {
            return FormOutcome::None;
        }
        let Some(p) = self.focus_path() else {
            return FormOutcome::None;
        };
        if self.current_options().is_some() {
            self.code_buf.pop();
            if !self.is_multi() {
                self.answers.remove(&p);
                self.changed(clock);
            }
            return FormOutcome::None;
        }
        if self.edit.backspace() {
            let value = self.edit.text().to_string();
            self.answers.set_text(&p, &value);
            self.changed(clock);
        }
        FormOutcome::None
    }

    pub fn delete(&mut self, clock: &Clock) -> FormOutcome {
        if self.read_only || self.current_options().is_some() {
            return FormOutcome::None;
        }
        let Some(p) = self.focus_path() else {
            return FormOutcome::None;
        };
        if self.edit.delete() {
            let value = self.edit.text().to_string();
            self.answers.set_text(&p, &value);
            self.changed(clock);
        }
        FormOutcome::None
    }

    /// Empties the focused item, whatever its kind.
    pub(super) fn clear_field(&mut self, clock: &Clock) -> FormOutcome {
        if let Some(p) = self.focus_path() {
            self.answers.remove(&p);
            self.edit.set("");
            self.code_buf.clear();
            self.changed(clock);
        }
        FormOutcome::None
    }

    /// Removes the focused table row; the rows after it move up.
    pub(super) fn delete_row(&mut self, clock: &Clock) -> FormOutcome {
        let Some(slot) = self.slot().cloned() else {
            return FormOutcome::None;
        };
        let Some((row, _)) = slot.cell else {
            return FormOutcome::None;
        };
        let fid = slot.field_id(&self.def).to_string();
        let prefix = format!("{fid}.{row}.");
        let paths: Vec<String> = self
            .answers
            .iter()
            .map(|(k, _)| k.clone())
            .filter(|k| k.starts_with(&prefix))
            .collect();
        for p in paths {
            self.answers.remove(&p);
        }
        self.answers.compact_rows(&fid);
        self.changed(clock);
        self.load_edit();
        FormOutcome::Save
    }
}
