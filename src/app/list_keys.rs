//! The keys of the first-run setup, the resident list and a resident's
//! page, with the boxes over it (the form picker, the reason for
//! abandoning a draft): choosing whom to work on.

use super::overlay::Overlay;
use super::text_input::TextBuf;
use super::{App, Effect, ListState, Notice, Screen, SiteConfig, Text};
use crate::identity::validate_site_codes;
use crate::keymap::Action;

/// Types into the reason for abandoning a draft, up to the length stored.
pub(super) fn type_reason(reason: &mut TextBuf, s: &str) {
    let room = crate::store::MAX_REASON_CHARS.saturating_sub(reason.text().chars().count());
    let fits: String = s.chars().take(room).collect();
    reason.insert(&fits);
}

impl App {
    pub(super) fn setup_key(&mut self, action: Option<Action>, text: Option<char>) -> Vec<Effect> {
        let Screen::Setup(s) = &mut self.screen else {
            return Vec::new();
        };
        if let Some(c) = text {
            s.edit(|b| b.insert(c.encode_utf8(&mut [0; 4])));
            return Vec::new();
        }
        match action {
            Some(Action::NextField) => s.focus = (s.focus + 1) % 4,
            Some(Action::PrevField) => s.focus = (s.focus + 3) % 4,
            Some(Action::Confirm) if s.focus < 3 => s.focus += 1,
            Some(Action::Confirm) => {
                let [name, division, township, village] = s.inputs.clone().map(|b| b.text().trim().to_string());
                if name.is_empty() {
                    s.error = Some(Text::new("setup.name_required"));
                    s.focus = 0;
                } else if let Err(e) = validate_site_codes(&division, &township, &village) {
                    s.error = Some(e.message());
                } else {
                    return vec![Effect::SaveSite(SiteConfig {
                        division,
                        township,
                        village,
                        name,
                    })];
                }
            }
            Some(a) => s.edit(|b| {
                b.apply(a);
            }),
            None => {}
        }
        Vec::new()
    }

    pub(super) fn list_key(&mut self, action: Option<Action>, text: Option<char>) -> Vec<Effect> {
        let Screen::Residents(l) = &mut self.screen else {
            return Vec::new();
        };
        let changed = match (text, action) {
            (Some(c), _) => {
                l.query.insert(c.encode_utf8(&mut [0; 4]));
                true
            }
            (None, Some(Action::Up)) => {
                l.selected = l.selected.saturating_sub(1);
                false
            }
            (None, Some(Action::Down)) => {
                l.selected = (l.selected + 1).min(l.rows.len().saturating_sub(1));
                false
            }
            (None, Some(Action::Open)) => {
                return l
                    .rows
                    .get(l.selected)
                    .map(|r| vec![Effect::OpenResident(r.id)])
                    .unwrap_or_default();
            }
            (None, Some(Action::NewResident)) => return vec![Effect::Register],
            (None, Some(Action::Worklist)) => return self.open_worklist(),
            (None, Some(Action::Indicators)) => return self.open_indicators(),
            (None, Some(Action::Clear)) => {
                l.query.set("");
                true
            }
            (None, Some(a)) => l.query.apply(a).unwrap_or(false),
            (None, None) => false,
        };
        if changed {
            l.selected = 0;
            return vec![Effect::Search(l.query.text().to_string().into())];
        }
        Vec::new()
    }

    pub(super) fn resident_key(&mut self, action: Option<Action>) -> Vec<Effect> {
        let n_forms = self.visit_forms.len();
        let Screen::Resident(p) = &mut self.screen else {
            return Vec::new();
        };
        match action {
            Some(Action::Up) => p.selected = p.selected.saturating_sub(1),
            Some(Action::Down) => p.selected = (p.selected + 1).min(p.records.len().saturating_sub(1)),
            Some(Action::Open) => {
                if let Some(r) = p.records.get(p.selected) {
                    return vec![Effect::OpenRecord(r.id)];
                }
            }
            Some(Action::NewRecord) if n_forms > 0 => self.overlays.push(Overlay::Picker(0)),
            Some(Action::AbandonDraft) => {
                let draft = p
                    .records
                    .get(p.selected)
                    .is_some_and(|r| r.status == crate::store::RecordStatus::Draft && r.revision <= 1);
                if draft {
                    self.overlays.push(Overlay::AbandonReason(TextBuf::default()));
                } else {
                    self.notice = Some(Notice::Info(Text::new("notice.abandon_drafts_only")));
                }
            }
            Some(Action::EditResident) => {
                return vec![Effect::EditRegistration {
                    resident_id: p.resident.id,
                }]
            }
            Some(Action::Back) => {
                self.set_screen(Screen::Residents(ListState::default()));
                return vec![Effect::Search(Default::default())];
            }
            _ => {}
        }
        Vec::new()
    }

    /// The form picker: ↑↓ and Enter, or a digit (1 = the first form).
    pub(super) fn picker_key(&mut self, action: Option<Action>, typed: Option<char>) -> Vec<Effect> {
        let last = self.visit_forms.len().saturating_sub(1);
        let Some(Overlay::Picker(sel)) = self.overlays.top_mut() else {
            return Vec::new();
        };
        let digit = typed
            .and_then(|c| c.to_digit(10))
            .and_then(|d| (d as usize).checked_sub(1))
            .filter(|i| *i <= last && !self.visit_forms.is_empty());
        let chosen = match (digit, action) {
            (Some(i), _) => i,
            (None, Some(Action::Up)) => {
                *sel = sel.saturating_sub(1);
                return Vec::new();
            }
            (None, Some(Action::Down)) => {
                *sel = (*sel + 1).min(last);
                return Vec::new();
            }
            (None, Some(Action::Confirm)) => *sel,
            (None, Some(Action::Cancel)) => {
                self.overlays.pop();
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        self.overlays.pop();
        match (&self.screen, self.visit_forms.get(chosen)) {
            (Screen::Resident(p), Some((form_id, _))) => vec![Effect::NewRecord {
                resident_id: p.resident.id,
                form_id: form_id.clone(),
            }],
            _ => Vec::new(),
        }
    }

    /// Typing the reason for abandoning the selected draft: the text keys,
    /// confirm to abandon it (once a reason is given), cancel to keep it.
    pub(super) fn reason_key(&mut self, action: Option<Action>, text: Option<char>) -> Vec<Effect> {
        let Some(Overlay::AbandonReason(reason)) = self.overlays.top_mut() else {
            return Vec::new();
        };
        if let Some(c) = text {
            type_reason(reason, c.encode_utf8(&mut [0; 4]));
            return Vec::new();
        }
        match action {
            Some(Action::Confirm) if !reason.text().trim().is_empty() => {
                let reason = reason.text().trim().to_string();
                self.overlays.pop();
                if let Screen::Resident(p) = &self.screen {
                    if let Some(r) = p.records.get(p.selected) {
                        return vec![Effect::AbandonDraft {
                            resident_id: p.resident.id,
                            record_id: r.id,
                            reason: reason.into(),
                        }];
                    }
                }
            }
            Some(Action::Cancel) => {
                self.overlays.pop();
            }
            Some(a) => {
                reason.apply(a);
            }
            None => {}
        }
        Vec::new()
    }
}
