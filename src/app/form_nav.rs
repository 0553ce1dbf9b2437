//! Moving about the form: leaving an item (tidying its value, asking for
//! the ID-number check), going to an item, a section or the next problem.
//! Leaving is where a value is settled (a date written out, a waiting code
//! ticked, emptied rows dropped), so every move, Back and Finalize go
//! through `leave_slot`.

use super::form_fill::{FormOutcome, FormState};
use super::Clock;
use crate::form::answers::parse_date;
use crate::form::def::{FieldKind, Role};
use crate::form::rules::Finding;

impl FormState {
    /// Leaving an input: tidy its value (dates, empty rows) and save.
    pub(super) fn leave_slot(&mut self, clock: &Clock) -> FormOutcome {
        let Some(slot) = self.slot().cloned() else {
            return FormOutcome::None;
        };
        self.take_typed_code(clock);
        self.visited.insert(slot.field_id(&self.def).to_string());
        self.note_id_number_left(&slot.path, clock);
        if let FieldKind::Date { .. } = slot.kind(&self.def) {
            if let Some(d) = self.answers.text(&slot.path).and_then(|s| parse_date(s, clock.today)) {
                let norm = d.format("%Y-%m-%d").to_string();
                if self.answers.text(&slot.path) != Some(norm.as_str()) {
                    self.answers.set_text(&slot.path, &norm);
                    self.changed(clock);
                }
            }
        }
        if let Some((row, _)) = slot.cell {
            let fid = slot.field_id(&self.def).to_string();
            let next_same_row = self
                .slots
                .get(self.cursor + 1)
                .is_some_and(|s| s.cell.map(|c| c.0) == Some(row) && s.field_id(&self.def) == fid);
            if !next_same_row && self.answers.row_count(&fid) > 0 {
                let before = self.answers.clone();
                self.answers.compact_rows(&fid);
                if before != self.answers {
                    self.changed(clock);
                }
            }
        }
        if self.unsaved_since.is_some() {
            FormOutcome::Save
        } else {
            FormOutcome::None
        }
    }

    /// Leaving a registration's ID item with a complete, valid number: the
    /// duplicate check is asked for now, not after every other item.
    fn note_id_number_left(&mut self, path: &str, clock: &Clock) {
        if self.read_only || self.def.role != Role::Registration {
            return;
        }
        if self.def.resident.id_number.as_deref() != Some(path) {
            return;
        }
        let Some(id) = self
            .answers
            .text(path)
            .and_then(|raw| crate::identity::parse_id(raw, clock.today).ok())
            .map(|id| id.as_str().to_string())
        else {
            return;
        };
        if self.id_checked.as_deref() != Some(id.as_str()) {
            self.id_checked = Some(id.clone());
            self.id_to_check = Some(id);
        }
    }

    pub(super) fn move_to(&mut self, index: usize, clock: &Clock) -> FormOutcome {
        self.typing = false;
        // No evaluation of the rules here: every change of the answers
        // (typing, and leave_slot's tidying) evaluates them already, and
        // evaluating the health exam again cost a tenth of a millisecond
        // on every Tab.
        let out = self.leave_slot(clock);
        self.cursor = index.min(self.slots.len().saturating_sub(1));
        self.load_edit();
        out
    }

    pub fn goto_path(&mut self, path: &str, clock: &Clock) -> FormOutcome {
        let field = path.split('.').next().unwrap_or(path);
        let idx = self
            .slots
            .iter()
            .position(|s| s.path == path)
            .or_else(|| self.slots.iter().position(|s| s.field_id(&self.def) == field));
        match idx {
            Some(i) => self.move_to(i, clock),
            None => FormOutcome::None,
        }
    }

    /// To the first item of the next section, or the last item at the end.
    pub(super) fn next_section(&mut self, clock: &Clock) -> FormOutcome {
        let sec = self.slot().map(|s| s.section).unwrap_or(0);
        match self.slots.iter().position(|s| s.section > sec) {
            Some(i) => self.move_to(i, clock),
            None => self.move_to(self.slots.len().saturating_sub(1), clock),
        }
    }

    /// To the start of this section, or from there to the previous one's.
    pub(super) fn prev_section(&mut self, clock: &Clock) -> FormOutcome {
        let sec = self.slot().map(|s| s.section).unwrap_or(0);
        let first_of_current = self.slots.iter().position(|s| s.section == sec).unwrap_or(0);
        let target = if self.cursor > first_of_current {
            first_of_current
        } else {
            let before = self.slots.get(..first_of_current).unwrap_or_default();
            let prev = before.last().map(|s| s.section);
            prev.and_then(|p| self.slots.iter().position(|s| s.section == p))
                .unwrap_or(0)
        };
        self.move_to(target, clock)
    }

    /// To the next problem after the focus, wrapping to the first.
    pub(super) fn next_problem(&mut self, clock: &Clock) -> FormOutcome {
        let problems = self.problems();
        let here = self.cursor;
        let pos = |f: &Finding| {
            let field = f.path.split('.').next().unwrap_or(&f.path).to_string();
            self.slots
                .iter()
                .position(|s| s.path == f.path || s.field_id(&self.def) == field)
        };
        let next = problems
            .iter()
            .filter_map(pos)
            .find(|p| *p > here)
            .or_else(|| problems.iter().filter_map(pos).next());
        match next {
            Some(i) => self.move_to(i, clock),
            None => FormOutcome::None,
        }
    }
}
