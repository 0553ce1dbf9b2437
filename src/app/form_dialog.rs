//! The problems dialog and the way to it: which findings count as shown,
//! their order, a finalize attempt (refused on errors, confirmed over
//! warnings) and the keys inside the dialog.

use super::form_fill::{FormOutcome, FormState};
use super::Clock;
use crate::form::def::Level;
use crate::form::rules::Finding;
use crate::keymap::Action;

/// A box over the form that takes the keys until it closes.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    /// Finalizing was refused or needs confirmation: the findings to review.
    Problems {
        items: Vec<Finding>,
        selected: usize,
        errors: bool,
    },
}

impl FormState {
    /// Whether a finding is shown as a problem now (counted, marked inline):
    /// once its item has been visited and left, or holds an answer, or after
    /// a finalize attempt. Before that it is a to-do, not noise on an
    /// untouched form. Finalizing and "next problem" check everything.
    pub fn is_shown(&self, finding: &Finding) -> bool {
        if self.show_required {
            return true;
        }
        let field = finding.path.split('.').next().unwrap_or(&finding.path);
        let prefix = format!("{field}.");
        self.visited.contains(field) || self.answers.iter().any(|(k, _)| k == field || k.starts_with(&prefix))
    }

    /// Findings in form order (by input position), errors and warnings.
    pub fn problems(&self) -> Vec<Finding> {
        let order = |f: &Finding| {
            let field = f.path.split('.').next().unwrap_or(&f.path);
            self.slots
                .iter()
                .position(|s| s.path == f.path || s.field_id(&self.def) == field)
                .unwrap_or(usize::MAX)
        };
        let mut items: Vec<Finding> = self.eval.findings.clone();
        items.sort_by_key(|f| (order(f), std::cmp::Reverse(f.level)));
        items
    }

    /// Finalize asked for: everything is checked now, required items are
    /// marked; errors refuse it, warnings ask first, else it goes ahead.
    pub(super) fn finalize(&mut self, clock: &Clock) -> FormOutcome {
        self.show_required = true;
        self.typing = false;
        // Its `Save` is not needed: finalizing and the dialog both save.
        let _ = self.leave_slot(clock);
        self.refresh();
        let problems = self.problems();
        let errors: Vec<Finding> = problems.iter().filter(|f| f.level == Level::Error).cloned().collect();
        if !errors.is_empty() {
            FormOutcome::Problems(Dialog::Problems {
                items: errors,
                selected: 0,
                errors: true,
            })
        } else if !problems.is_empty() {
            FormOutcome::Problems(Dialog::Problems {
                items: problems,
                selected: 0,
                errors: false,
            })
        } else {
            FormOutcome::Finalize
        }
    }

    /// A key in the problems box over this form: None keeps it open, else
    /// it closes with what the form asks for then.
    pub fn problems_action(&mut self, dialog: &mut Dialog, action: Action, clock: &Clock) -> Option<FormOutcome> {
        let Dialog::Problems {
            items,
            selected,
            errors,
        } = dialog;
        match action {
            Action::Up => *selected = selected.saturating_sub(1),
            Action::Down => *selected = (*selected + 1).min(items.len().saturating_sub(1)),
            // With only warnings, confirming acknowledges them and finalizes.
            Action::Confirm if !*errors => return Some(FormOutcome::Finalize),
            Action::Confirm | Action::Cancel => {
                let path = items.get(*selected).map(|f| f.path.clone()).unwrap_or_default();
                return Some(self.goto_path(&path, clock));
            }
            _ => {}
        }
        None
    }
}
