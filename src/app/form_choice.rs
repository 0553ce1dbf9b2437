//! Answering a choice by its standard code: digits build the code (`1`,
//! then `10`), the arrows move the highlight, Space ticks a multiple
//! choice's option; exclusive options ("none") clear the others, and a
//! code no option has is told, not dropped.

use super::form_fill::{FormOutcome, FormState};
use super::Clock;

impl FormState {
    /// The highlight one option to the left; a single choice takes it.
    pub(super) fn highlight_prev(&mut self, clock: &Clock) -> FormOutcome {
        self.code_buf.clear();
        self.highlight = self.highlight.saturating_sub(1);
        self.pick_highlight_if_single(clock)
    }

    /// The highlight one option to the right; a single choice takes it.
    pub(super) fn highlight_next(&mut self, clock: &Clock) -> FormOutcome {
        self.code_buf.clear();
        let n = self.current_options().map(<[_]>::len).unwrap_or(1);
        self.highlight = (self.highlight + 1).min(n.saturating_sub(1));
        self.pick_highlight_if_single(clock)
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

    pub(super) fn toggle_highlighted(&mut self, clock: &Clock) -> FormOutcome {
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
    pub(super) fn take_typed_code(&mut self, clock: &Clock) {
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
    pub(super) fn type_code(&mut self, c: char, clock: &Clock) -> FormOutcome {
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
}
