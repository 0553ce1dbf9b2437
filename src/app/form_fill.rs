//! Filling a form from the keyboard: the form screen's state, building it,
//! re-evaluating the live rules after every change, and which key does what.
//! Pure state: saving is asked for through `Effect`s. The work of each key
//! lives with its seam, all on `FormState`:
//! - `form_nav`: moving between items, sections and problems; leaving an item
//! - `form_typing`: typing into text items, clearing an item or a row
//! - `form_choice`: choosing options by their standard codes
//! - `form_dialog`: finalizing and the problems dialog
//! - `form_save`: what a save holds
//! - `suggest`: values and findings from the follow-up rules

use super::slots::{self, Part, Slot};
use super::text_input::TextBuf;
use super::Clock;
use crate::form::def::{ChoiceOption, FieldKind, FormDef};
use crate::form::rules::{evaluate, Context, Evaluation};
use crate::form::Answers;
use crate::keymap::Action;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use super::form_dialog::Dialog;

/// How long typing may go unsaved; a field left is saved at once.
pub const AUTOSAVE_AFTER: Duration = Duration::from_secs(2);

/// Shown above the form: who the record is about.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Header {
    pub resident_id: i64,
    pub name: String,
    pub sex: Option<String>,
    pub age: Option<u32>,
    pub id_masked: String,
    pub record_no: String,
}

pub struct FormState {
    pub def: Arc<FormDef>,
    pub record_id: i64,
    pub header: Header,
    pub read_only: bool,
    pub answers: Answers,
    pub ctx: Context,
    pub eval: Evaluation,
    pub slots: Vec<Slot>,
    pub cursor: usize,
    pub edit: TextBuf,
    /// For choice inputs: the code typed so far (`1`, then `10`). In a
    /// multiple choice, a code that is also the start of a longer one (`1`
    /// of `10`) waits here until the next key or leaving the item says which.
    pub code_buf: String,
    /// For multi-choice: the highlighted option.
    pub highlight: usize,
    pub unsaved_since: Option<Instant>,
    /// Wall-clock time of the last save in this session.
    pub saved_at: Option<chrono::NaiveTime>,
    /// The last save failed; it is retried after [`AUTOSAVE_AFTER`].
    pub save_failed: bool,
    /// After a finalize attempt, empty required items are marked inline too.
    pub show_required: bool,
    /// The focused input is being typed into: its findings wait until it is
    /// left ("7" on the way to "72" is not an error worth a flash of red).
    pub typing: bool,
    /// A follow-up's history and settings for the management rules.
    pub care: Option<super::suggest::CareInput>,
    /// Values the rules filled in, marked as suggested on screen.
    pub suggestions: super::suggest::Suggestions,
    /// Something to tell the user (a code typed that no option has); the
    /// app shows it on the status line.
    pub notice: Option<crate::i18n::Msg>,
    /// Items (field ids) the user has visited and left in this session.
    pub visited: std::collections::HashSet<String>,
    /// A registration's ID item was just left holding a valid number not
    /// checked yet: the app asks the shell whether someone already has it.
    pub id_to_check: Option<String>,
    /// The ID number last asked about, so leaving the item again unchanged
    /// does not ask twice.
    pub id_checked: Option<String>,
}

/// What the form asks the shell to do.
#[derive(Debug, Clone)]
pub enum FormOutcome {
    None,
    Save,
    Finalize,
    Leave,
    Amend,
    /// Finalizing found problems: save, and show them (`Overlay::Problems`).
    Problems(Dialog),
}

impl FormState {
    pub fn new(
        def: Arc<FormDef>,
        record_id: i64,
        header: Header,
        answers: Answers,
        ctx: Context,
        read_only: bool,
        focus: Option<&str>,
    ) -> Self {
        let mut s = FormState {
            def,
            record_id,
            header,
            read_only,
            answers,
            ctx,
            eval: Evaluation::default(),
            slots: Vec::new(),
            cursor: 0,
            edit: TextBuf::default(),
            code_buf: String::new(),
            highlight: 0,
            unsaved_since: None,
            saved_at: None,
            save_failed: false,
            show_required: false,
            typing: false,
            care: None,
            suggestions: Default::default(),
            notice: None,
            visited: Default::default(),
            id_to_check: None,
            id_checked: None,
        };
        s.refresh();
        if let Some(p) = focus {
            if let Some(i) = s.slots.iter().position(|sl| sl.path == p) {
                s.cursor = i;
            }
        }
        s.load_edit();
        s
    }

    pub fn slot(&self) -> Option<&Slot> {
        self.slots.get(self.cursor)
    }

    pub fn focus_path(&self) -> Option<String> {
        self.slot().map(|s| s.path.clone())
    }

    /// Adds the follow-up rules (suggestions and findings) to a form screen.
    pub fn with_care(mut self, care: super::suggest::CareInput) -> Self {
        self.care = Some(care);
        self.adopt_suggestions();
        self.refresh();
        self
    }

    pub(super) fn refresh(&mut self) {
        // Suggestions change answers; they are saved with the next change
        // the user makes, and recomputed when the draft is reopened.
        self.apply_suggestions();
        self.eval = evaluate(&self.def, &self.answers, &self.ctx);
        let rules = self.care_findings();
        self.eval.findings.extend(rules);
        let current = self.focus_path();
        self.slots = slots::compute(&self.def, &self.answers, &self.eval);
        if let Some(p) = current {
            if let Some(i) = self.slots.iter().position(|s| s.path == p) {
                self.cursor = i;
            }
        }
        self.cursor = self.cursor.min(self.slots.len().saturating_sub(1));
    }

    pub(super) fn load_edit(&mut self) {
        let text = self
            .focus_path()
            .and_then(|p| self.answers.text(&p).map(str::to_string))
            .unwrap_or_default();
        self.edit = TextBuf::new(&text);
        self.code_buf.clear();
        self.highlight = self
            .current_options()
            .and_then(|opts| {
                let chosen = self
                    .focus_path()
                    .and_then(|p| self.answers.text(&p).map(str::to_string));
                chosen.and_then(|c| opts.iter().position(|o| o.code == c))
            })
            .unwrap_or(0);
    }

    pub fn current_options(&self) -> Option<&[ChoiceOption]> {
        let slot = self.slot()?;
        match slot.kind(&self.def) {
            FieldKind::Choice { options } | FieldKind::Multi { options, .. } => Some(options),
            _ => None,
        }
    }

    /// The focus is on an input that takes typed text (not options), and
    /// typing is possible: printable keys go into it, bound or not.
    pub fn takes_text(&self) -> bool {
        !self.read_only && self.slot().is_some() && self.current_options().is_none()
    }

    pub(super) fn is_multi(&self) -> bool {
        self.slot()
            .is_some_and(|s| matches!(s.kind(&self.def), FieldKind::Multi { .. }))
    }

    pub(super) fn changed(&mut self, clock: &Clock) {
        self.refresh();
        self.unsaved_since.get_or_insert(clock.instant);
    }

    /// When the shell should wake up to autosave, if anything is unsaved.
    pub fn autosave_deadline(&self) -> Option<Instant> {
        self.unsaved_since.map(|t| t + AUTOSAVE_AFTER)
    }

    /// What a key on the form asks for. A read-only form (a finalized
    /// record) may be moved about and left, nothing else but Amend: the
    /// arms before `_ if self.read_only` are the ones it keeps.
    pub fn handle_action(&mut self, action: Action, clock: &Clock) -> FormOutcome {
        match action {
            Action::NextField => self.move_to(self.cursor + 1, clock),
            Action::PrevField => self.move_to(self.cursor.saturating_sub(1), clock),
            Action::NextSection => self.next_section(clock),
            Action::PrevSection => self.prev_section(clock),
            Action::NextProblem => self.next_problem(clock),
            Action::Back => {
                // Its `Save` is not needed: leaving the form saves it.
                let _ = self.leave_slot(clock);
                FormOutcome::Leave
            }
            Action::Amend if self.read_only => FormOutcome::Amend,
            _ if self.read_only => FormOutcome::None,
            Action::Finalize => self.finalize(clock),
            // Space after a typed code keeps that code ticked (the habit of
            // "code, Space"); otherwise it ticks or unticks the highlighted one.
            Action::Toggle if self.is_multi() && !self.code_buf.is_empty() => {
                self.take_typed_code(clock);
                FormOutcome::None
            }
            Action::Toggle if self.is_multi() => self.toggle_highlighted(clock),
            Action::OptionLeft if self.current_options().is_some() => self.highlight_prev(clock),
            Action::OptionRight if self.current_options().is_some() => self.highlight_next(clock),
            Action::OptionLeft => {
                self.edit.left();
                FormOutcome::None
            }
            Action::OptionRight => {
                self.edit.right();
                FormOutcome::None
            }
            Action::ClearField => self.clear_field(clock),
            Action::DeleteRow => self.delete_row(clock),
            _ => FormOutcome::None,
        }
    }

    /// Required items answered / total, for the progress line.
    pub fn progress(&self) -> (usize, usize) {
        (self.eval.required_filled, self.eval.required_total)
    }

    pub fn part_label_key(part: Part) -> Option<&'static str> {
        match part {
            Part::Systolic => Some("form.systolic"),
            Part::Diastolic => Some("form.diastolic"),
            Part::Current => Some("form.current"),
            Part::Target => Some("form.target"),
            Part::Detail => Some("form.detail"),
            Part::Whole => None,
        }
    }
}
