//! The keys of the first-run setup, the resident list and a resident's
//! page (with its form picker): choosing whom to work on.

use super::text_input::TextBuf;
use super::{App, Effect, ListState, Notice, Screen, SiteConfig, Text};
use crate::identity::validate_site_codes;
use crate::keymap::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

impl App {
    pub(super) fn setup_key(&mut self, k: KeyEvent, action: Option<Action>) -> Vec<Effect> {
        let Screen::Setup(s) = &mut self.screen else {
            return Vec::new();
        };
        match (k.code, action) {
            (KeyCode::Tab | KeyCode::Down, _) => s.focus = (s.focus + 1) % 4,
            (KeyCode::BackTab | KeyCode::Up, _) => s.focus = (s.focus + 3) % 4,
            (KeyCode::Enter, _) if s.focus < 3 => s.focus += 1,
            (KeyCode::Enter, _) => {
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
            (KeyCode::Backspace, _) => s.edit(|b| {
                b.backspace();
            }),
            (KeyCode::Left, _) => s.edit(TextBuf::left),
            (KeyCode::Right, _) => s.edit(TextBuf::right),
            (KeyCode::Char(c), _) if !k.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
                s.edit(|b| b.insert(c.encode_utf8(&mut [0; 4])));
            }
            _ => {}
        }
        Vec::new()
    }

    pub(super) fn list_key(&mut self, k: KeyEvent, action: Option<Action>) -> Vec<Effect> {
        let Screen::Residents(l) = &mut self.screen else {
            return Vec::new();
        };
        match action {
            Some(Action::Up) => l.selected = l.selected.saturating_sub(1),
            Some(Action::Down) => l.selected = (l.selected + 1).min(l.rows.len().saturating_sub(1)),
            Some(Action::Open) => {
                if let Some(r) = l.rows.get(l.selected) {
                    return vec![Effect::OpenResident(r.id)];
                }
            }
            Some(Action::NewResident) => return vec![Effect::Register],
            Some(Action::Worklist) => return self.open_worklist(),
            Some(Action::Indicators) => return self.open_indicators(),
            Some(Action::Clear) => {
                l.query.set("");
                l.selected = 0;
                return vec![Effect::Search(String::new())];
            }
            _ => {
                let changed = match k.code {
                    KeyCode::Backspace => l.query.backspace(),
                    KeyCode::Left => {
                        l.query.left();
                        false
                    }
                    KeyCode::Right => {
                        l.query.right();
                        false
                    }
                    KeyCode::Char(c) if !k.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
                        l.query.insert(&c.to_string());
                        true
                    }
                    _ => false,
                };
                if changed {
                    l.selected = 0;
                    return vec![Effect::Search(l.query.text().to_string())];
                }
            }
        }
        Vec::new()
    }

    pub(super) fn resident_key(&mut self, k: KeyEvent, action: Option<Action>) -> Vec<Effect> {
        let n_forms = self.visit_forms.len();
        if let KeyCode::Char(c @ '1'..='9') = k.code {
            let picking = matches!(&self.screen, Screen::Resident(p) if p.picker.is_some());
            if picking {
                return self.pick_form_by_digit(c);
            }
        }
        let Screen::Resident(p) = &mut self.screen else {
            return Vec::new();
        };
        if let Some(reason) = &mut p.abandon {
            // Typing the reason: text keys, Enter to abandon, Esc to keep it.
            match k.code {
                KeyCode::Enter if !reason.trim().is_empty() => {
                    let reason = reason.trim().to_string();
                    p.abandon = None;
                    if let Some(r) = p.records.get(p.selected) {
                        return vec![Effect::AbandonDraft {
                            resident_id: p.resident.id,
                            record_id: r.id,
                            reason,
                        }];
                    }
                }
                KeyCode::Esc => p.abandon = None,
                KeyCode::Backspace => {
                    reason.pop();
                }
                KeyCode::Char(c) if !c.is_control() && reason.chars().count() < crate::store::MAX_REASON_CHARS => {
                    reason.push(c)
                }
                _ => {}
            }
            return Vec::new();
        }
        if let Some(sel) = p.picker {
            match action {
                Some(Action::Up) => p.picker = Some(sel.saturating_sub(1)),
                Some(Action::Down) => p.picker = Some((sel + 1).min(n_forms.saturating_sub(1))),
                Some(Action::Confirm) => {
                    p.picker = None;
                    if let Some((id, _)) = self.visit_forms.get(sel) {
                        return vec![Effect::NewRecord {
                            resident_id: p.resident.id,
                            form_id: id.clone(),
                        }];
                    }
                }
                Some(Action::Cancel) => p.picker = None,
                _ => {}
            }
            return Vec::new();
        }
        match action {
            Some(Action::Up) => p.selected = p.selected.saturating_sub(1),
            Some(Action::Down) => p.selected = (p.selected + 1).min(p.records.len().saturating_sub(1)),
            Some(Action::Open) => {
                if let Some(r) = p.records.get(p.selected) {
                    return vec![Effect::OpenRecord(r.id)];
                }
            }
            Some(Action::NewRecord) if n_forms > 0 => p.picker = Some(0),
            Some(Action::AbandonDraft) => {
                let draft = p
                    .records
                    .get(p.selected)
                    .is_some_and(|r| r.status == crate::store::RecordStatus::Draft && r.revision <= 1);
                if draft {
                    p.abandon = Some(String::new());
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
                self.screen = Screen::Residents(ListState::default());
                return vec![Effect::Search(String::new())];
            }
            _ => {}
        }
        Vec::new()
    }

    /// Digit shortcuts in the form picker (1 = first form).
    pub(super) fn pick_form_by_digit(&mut self, c: char) -> Vec<Effect> {
        let Screen::Resident(p) = &mut self.screen else {
            return Vec::new();
        };
        if p.picker.is_none() {
            return Vec::new();
        }
        let idx = c
            .to_digit(10)
            .map(|d| d as usize)
            .filter(|d| *d >= 1 && *d <= self.visit_forms.len());
        match idx.and_then(|i| self.visit_forms.get(i - 1)) {
            Some((form_id, _)) => {
                p.picker = None;
                vec![Effect::NewRecord {
                    resident_id: p.resident.id,
                    form_id: form_id.clone(),
                }]
            }
            None => Vec::new(),
        }
    }
}
