//! Filling a form from the keyboard: moving between inputs, typing values,
//! choosing options by their standard codes, live rules, autosave timing and
//! finalizing. Pure state: saving is asked for through `Effect`s.

use super::slots::{self, Part, Slot};
use super::text_input::TextBuf;
use super::Clock;
use crate::form::answers::{parse_date, strip_controls};
use crate::form::def::{ChoiceOption, FieldKind, FormDef, Level, Role};
use crate::form::rules::{evaluate, Context, Evaluation, Finding};
use crate::form::Answers;
use crate::keymap::Action;
use crate::store::{ResidentFields, Save};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    /// Finalizing was refused or needs confirmation: the findings to review.
    Problems {
        items: Vec<Finding>,
        selected: usize,
        errors: bool,
    },
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

    fn refresh(&mut self) {
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

    fn load_edit(&mut self) {
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

    fn is_multi(&self) -> bool {
        self.slot()
            .is_some_and(|s| matches!(s.kind(&self.def), FieldKind::Multi { .. }))
    }

    fn changed(&mut self, clock: &Clock) {
        self.refresh();
        self.unsaved_since.get_or_insert(clock.instant);
    }

    /// When the shell should wake up to autosave, if anything is unsaved.
    pub fn autosave_deadline(&self) -> Option<Instant> {
        self.unsaved_since.map(|t| t + AUTOSAVE_AFTER)
    }

    /// Leaving an input: tidy its value (dates, empty rows) and save.
    fn leave_slot(&mut self, clock: &Clock) -> FormOutcome {
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

    fn move_to(&mut self, index: usize, clock: &Clock) -> FormOutcome {
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

    /// The save the shell should persist now.
    pub fn save(&self, clock: &Clock) -> Save {
        Save {
            answers: self.answers.clone(),
            focus: self.focus_path(),
            record_date: self.record_date(clock),
            resident: (self.def.role == Role::Registration).then(|| self.resident_fields(clock)),
        }
    }

    pub fn mark_saved(&mut self, clock: &Clock) {
        self.unsaved_since = None;
        self.saved_at = Some(clock.time);
        self.save_failed = false;
    }

    fn record_date(&self, clock: &Clock) -> Option<String> {
        let p = self.def.date_field.as_deref()?;
        let d = parse_date(self.answers.text(p)?, clock.today)?;
        Some(d.format("%Y-%m-%d").to_string())
    }

    fn resident_fields(&self, clock: &Clock) -> ResidentFields {
        let b = &self.def.resident;
        let get = |p: &Option<String>| p.as_deref().and_then(|p| self.answers.text(p)).map(str::to_string);
        let id_number = get(&b.id_number).map(|raw| {
            crate::identity::parse_id(&raw, clock.today)
                .map(|id| id.as_str().to_string())
                .unwrap_or(raw)
        });
        let birth_date = get(&b.birth_date).map(|raw| {
            parse_date(&raw, clock.today)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or(raw)
        });
        let phone = get(&b.phone).map(|raw| crate::identity::parse_phone(&raw).unwrap_or(raw));
        ResidentFields {
            name: get(&b.name),
            sex: get(&b.sex),
            birth_date,
            id_number,
            phone,
            address: get(&b.address),
            village: get(&b.village),
        }
    }

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

    pub fn handle_action(&mut self, action: Action, clock: &Clock) -> FormOutcome {
        match action {
            Action::NextField => self.move_to(self.cursor + 1, clock),
            Action::PrevField => self.move_to(self.cursor.saturating_sub(1), clock),
            Action::NextSection => {
                let sec = self.slot().map(|s| s.section).unwrap_or(0);
                match self.slots.iter().position(|s| s.section > sec) {
                    Some(i) => self.move_to(i, clock),
                    None => self.move_to(self.slots.len().saturating_sub(1), clock),
                }
            }
            Action::PrevSection => {
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
            Action::NextProblem => {
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
            Action::Back => {
                let out = self.leave_slot(clock);
                let _ = out;
                FormOutcome::Leave
            }
            Action::Amend if self.read_only => FormOutcome::Amend,
            _ if self.read_only => FormOutcome::None,
            Action::Finalize => {
                self.show_required = true;
                self.typing = false;
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
            // Space after a typed code keeps that code ticked (the habit of
            // "code, Space"); otherwise it ticks or unticks the highlighted one.
            Action::Toggle if self.is_multi() && !self.code_buf.is_empty() => {
                self.take_typed_code(clock);
                FormOutcome::None
            }
            Action::Toggle if self.is_multi() => self.toggle_highlighted(clock),
            Action::OptionLeft if self.current_options().is_some() => {
                self.code_buf.clear();
                self.highlight = self.highlight.saturating_sub(1);
                self.pick_highlight_if_single(clock)
            }
            Action::OptionRight if self.current_options().is_some() => {
                self.code_buf.clear();
                let n = self.current_options().map(<[_]>::len).unwrap_or(1);
                self.highlight = (self.highlight + 1).min(n.saturating_sub(1));
                self.pick_highlight_if_single(clock)
            }
            Action::OptionLeft => {
                self.edit.left();
                FormOutcome::None
            }
            Action::OptionRight => {
                self.edit.right();
                FormOutcome::None
            }
            Action::ClearField => {
                if let Some(p) = self.focus_path() {
                    self.answers.remove(&p);
                    self.edit.set("");
                    self.code_buf.clear();
                    self.changed(clock);
                }
                FormOutcome::None
            }
            Action::DeleteRow => {
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
            _ => FormOutcome::None,
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

    fn pick_highlight_if_single(&mut self, clock: &Clock) -> FormOutcome {
        if self.is_multi() {
            return FormOutcome::None;
        }
        let code = self
            .current_options()
            .and_then(|o| o.get(self.highlight))
            .map(|o| o.code.clone());
        if let (Some(code), Some(p)) = (code, self.focus_path()) {
            self.answers.set_text(&p, &code);
            self.changed(clock);
        }
        FormOutcome::None
    }

    fn toggle_highlighted(&mut self, clock: &Clock) -> FormOutcome {
        let Some(code) = self
            .current_options()
            .and_then(|opts| opts.get(self.highlight))
            .map(|o| o.code.clone())
        else {
            return FormOutcome::None;
        };
        self.set_ticked(&code, None, clock);
        FormOutcome::None
    }

    /// Ticks (`Some(true)`), unticks or toggles (`None`) one option of the
    /// focused multiple choice.
    fn set_ticked(&mut self, code: &str, tick: Option<bool>, clock: &Clock) {
        let Some(opts) = self.current_options() else {
            return;
        };
        let Some(opt) = opts.iter().find(|o| o.code == code).cloned() else {
            return;
        };
        let exclusive: Vec<String> = opts.iter().filter(|o| o.exclusive).map(|o| o.code.clone()).collect();
        let Some(p) = self.focus_path() else {
            return;
        };
        let mut codes = self.answers.codes(&p).to_vec();
        let ticked = codes.contains(&opt.code);
        if tick.unwrap_or(!ticked) == ticked {
            return;
        }
        if let Some(i) = codes.iter().position(|c| *c == opt.code) {
            codes.remove(i);
        } else if opt.exclusive {
            codes = vec![opt.code.clone()];
        } else {
            codes.retain(|c| !exclusive.contains(c));
            codes.push(opt.code.clone());
        }
        // Keep the standard's order so records read like the paper form.
        codes.sort_by_key(|c| opts.iter().position(|o| &o.code == c));
        self.answers.set_codes(&p, codes);
        self.changed(clock);
    }

    /// Settles the code typed on a choice, before leaving it or starting
    /// another code: a multiple choice ticks a code still waiting (`1`, which
    /// could have become `10`); a code that no option has is not silently
    /// dropped — the user is told.
    fn take_typed_code(&mut self, clock: &Clock) {
        let typed = std::mem::take(&mut self.code_buf);
        if typed.is_empty() {
            return;
        }
        let Some(opts) = self.current_options() else {
            return;
        };
        if !opts.iter().any(|o| o.code == typed) {
            self.notice = Some(crate::i18n::Msg::new("form.code_not_taken").arg("code", &typed));
        } else if self.is_multi() {
            self.set_ticked(&typed, Some(true), clock);
        }
    }

    /// A digit typed on a choice: builds the code (`1`, `10`), else starts
    /// over. A single choice takes a code at once; a multiple choice ticks
    /// it at once unless it also starts a longer code (`1` of `10`), which
    /// the next key or leaving the item settles.
    fn type_code(&mut self, c: char, clock: &Clock) -> FormOutcome {
        let Some(opts) = self.current_options() else {
            return FormOutcome::None;
        };
        let candidate = format!("{}{c}", self.code_buf);
        if !opts.iter().any(|o| o.code.starts_with(&candidate)) {
            self.take_typed_code(clock);
            let single = c.to_string();
            if !self
                .current_options()
                .is_some_and(|o| o.iter().any(|o| o.code.starts_with(&single)))
            {
                self.notice = Some(crate::i18n::Msg::new("form.code_not_taken").arg("code", &single));
                return FormOutcome::None;
            }
            self.code_buf = single;
        } else {
            self.code_buf = candidate;
        }
        let Some(opts) = self.current_options() else {
            return FormOutcome::None;
        };
        let buf = self.code_buf.clone();
        let exact = opts.iter().position(|o| o.code == buf);
        let longer = opts
            .iter()
            .any(|o| o.code.len() > buf.len() && o.code.starts_with(&buf));
        if let Some(i) = exact {
            self.highlight = i;
            if !self.is_multi() {
                if let Some(p) = self.focus_path() {
                    self.answers.set_text(&p, &buf);
                    self.changed(clock);
                }
            } else if !longer {
                self.set_ticked(&buf, Some(true), clock);
            }
        }
        FormOutcome::None
    }

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
