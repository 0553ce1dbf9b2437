//! A version clash with the platform, opened from the upload list on a
//! `conflict` row (keymap context `conflict`): both versions item by item
//! with the form's labels, who and when; the person keeps ours, takes the
//! platform's, or ticks the items to take from the platform and merges.
//! The shell loads the clash and applies the decision (`sync::conflict`).

use super::overlay::{Kind, Overlay};
use super::{App, Effect, Notice};
use crate::i18n::Msg as Text;
use crate::keymap::Action;
use crate::sync::conflict::{Choice, Item};

/// What the screen shows; built by the shell from `store::Conflict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictState {
    pub record_id: i64,
    pub form_id: String,
    pub record_date: Option<String>,
    pub resident_masked: String,
    /// Who finalized ours, and when (stored time).
    pub mine_who: String,
    pub mine_at: String,
    /// Who wrote the platform's, its site and version, and when.
    pub theirs_who: String,
    pub theirs_at: Option<String>,
    pub items: Vec<Item>,
    /// Per item: take the platform's value in a merge.
    pub take: Vec<bool>,
    pub selected: usize,
    /// Why it cannot be resolved now (the platform's copy unknown, the
    /// record changed here since), shown instead of the keys that would fail.
    pub blocked: Option<Text>,
}

impl ConflictState {
    /// The screen for a clash, what differs in `lang` (`def`: the record's form).
    pub fn new(c: &crate::store::Conflict, def: Option<&crate::form::FormDef>, lang: crate::i18n::Lang) -> Self {
        let items = match (def, &c.server) {
            (Some(d), Some(s)) => crate::sync::conflict::diff(d, &c.mine, &s.answers, lang),
            _ => Vec::new(),
        };
        let theirs_who = c
            .server
            .as_ref()
            .map(|s| {
                let who = s.author.clone().unwrap_or_else(|| "-".into());
                let version = s.version.as_deref().unwrap_or("-");
                match &s.site {
                    Some(site) => format!("{who} ({site}) v{version}"),
                    None => format!("{who} v{version}"),
                }
            })
            .unwrap_or_default();
        let blocked = if c.server.is_none() {
            Some(Text::new("conflicts.server_unknown"))
        } else if c.changed_since {
            Some(Text::new("conflicts.changed_since"))
        } else {
            None
        };
        ConflictState {
            record_id: c.row.record_id,
            form_id: c.row.form_id.clone(),
            record_date: c.row.record_date.clone(),
            resident_masked: c.row.resident_masked.clone(),
            mine_who: c.mine_author.clone(),
            mine_at: c.mine_at.clone(),
            theirs_who,
            theirs_at: c.server.as_ref().and_then(|s| s.at.clone()),
            take: vec![false; items.len()],
            items,
            selected: 0,
            blocked,
        }
    }

    fn choice(&self, action: Action) -> Option<Choice> {
        match action {
            Action::KeepMine => Some(Choice::Mine),
            Action::TakeTheirs => Some(Choice::Theirs),
            Action::Merge => Some(Choice::Merge(
                self.items
                    .iter()
                    .zip(&self.take)
                    .filter(|(_, t)| **t)
                    .map(|(i, _)| i.field.clone())
                    .collect(),
            )),
            _ => None,
        }
    }
}

impl App {
    /// Keys while a clash is in front (the keymap's `[conflict]`).
    pub(crate) fn conflict_key(&mut self, action: Option<Action>) -> Vec<Effect> {
        let Some(Overlay::Conflict(c)) = self.overlays.top_mut() else {
            return Vec::new();
        };
        match action {
            Some(Action::Back) => {
                self.overlays.close(Kind::Conflict);
            }
            Some(Action::Up) => c.selected = c.selected.saturating_sub(1),
            Some(Action::Down) => c.selected = (c.selected + 1).min(c.items.len().saturating_sub(1)),
            Some(Action::Toggle) => {
                if let Some(t) = c.take.get_mut(c.selected) {
                    *t = !*t;
                }
            }
            Some(a) => {
                if let Some(m) = &c.blocked {
                    self.notice = Some(Notice::Error(m.clone()));
                } else if let Some(choice) = c.choice(a) {
                    return vec![Effect::ResolveConflict {
                        record_id: c.record_id,
                        choice,
                    }];
                }
            }
            None => {}
        }
        Vec::new()
    }

    /// The clash in front, if one is.
    pub fn conflict(&self) -> Option<&ConflictState> {
        self.overlays.iter().find_map(|o| match o {
            Overlay::Conflict(c) => Some(c.as_ref()),
            _ => None,
        })
    }

    /// The compare key on the upload list: the selected row, if a clash.
    pub(crate) fn compare_selected(&self) -> Vec<Effect> {
        match self.sync.rows.get(self.sync.selected) {
            Some(r) if r.state == "conflict" => vec![Effect::LoadConflict(r.record_id)],
            _ => Vec::new(),
        }
    }

    pub(crate) fn conflict_loaded(&mut self, c: ConflictState) {
        self.overlays.push(Overlay::Conflict(Box::new(c)));
    }

    /// The decision was applied (Ok: whether something is queued) or refused.
    pub(crate) fn conflict_resolved(&mut self, result: Result<bool, Text>) -> Vec<Effect> {
        match result {
            Ok(upload) => {
                let id = self.conflict().map(|c| c.record_id).unwrap_or_default();
                self.overlays.close(Kind::Conflict);
                let key = if upload {
                    "conflicts.resolved_upload"
                } else {
                    "conflicts.resolved_here"
                };
                self.notice = Some(Notice::Info(Text::new(key).arg("id", id)));
                let mut out = vec![Effect::LoadOutbox];
                if upload {
                    out.push(Effect::Sync(crate::sync::SyncCommand::Nudge));
                }
                out
            }
            Err(m) => {
                self.notice = Some(Notice::Error(m));
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keymap::press;

    fn app() -> App {
        App::new(
            crate::i18n::Lang::En,
            crate::keymap::Keymap::default(),
            None,
            &crate::app::Clock {
                today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).expect("a date"),
                time: chrono::NaiveTime::MIN,
                instant: std::time::Instant::now(),
            },
        )
    }

    fn item(field: &str) -> Item {
        Item {
            field: field.into(),
            label: field.into(),
            mine: "1".into(),
            theirs: "2".into(),
        }
    }

    /// A key as the keymap's `[conflict]` context reads it.
    fn key(a: &mut App, name: &str) -> Vec<Effect> {
        let action = a.keymap.action(crate::keymap::Context::Conflict, &press(name));
        a.conflict_key(action)
    }

    #[test]
    fn ticked_items_are_taken_from_the_platform_in_a_merge() {
        let mut a = app();
        a.conflict_loaded(ConflictState {
            record_id: 7,
            form_id: "f".into(),
            record_date: None,
            resident_masked: "王*".into(),
            mine_who: "doc".into(),
            mine_at: String::new(),
            theirs_who: "other".into(),
            theirs_at: None,
            items: vec![item("bp"), item("weight")],
            take: vec![false, false],
            selected: 0,
            blocked: None,
        });
        assert!(key(&mut a, "down").is_empty());
        key(&mut a, "space");
        let effects = key(&mut a, "enter");
        let want = Choice::Merge(["weight".to_string()].into());
        assert!(
            matches!(effects.as_slice(), [Effect::ResolveConflict { record_id: 7, choice }] if *choice == want),
            "{effects:?}"
        );
        let effects = key(&mut a, "m");
        assert!(matches!(
            effects.as_slice(),
            [Effect::ResolveConflict {
                choice: Choice::Mine,
                ..
            }]
        ));
        // Applied: the screen closes and the upload list reloads and sends.
        let effects = a.conflict_resolved(Ok(true));
        assert!(a.conflict().is_none());
        assert!(matches!(effects.as_slice(), [Effect::LoadOutbox, Effect::Sync(_)]));
    }

    #[test]
    fn a_blocked_clash_says_why_instead_of_resolving() {
        let mut a = app();
        a.conflict_loaded(ConflictState {
            record_id: 7,
            form_id: "f".into(),
            record_date: None,
            resident_masked: String::new(),
            mine_who: String::new(),
            mine_at: String::new(),
            theirs_who: String::new(),
            theirs_at: None,
            items: Vec::new(),
            take: Vec::new(),
            selected: 0,
            blocked: Some(Text::new("conflicts.changed_since")),
        });
        assert!(key(&mut a, "t").is_empty());
        assert_eq!(a.notice, Some(Notice::Error(Text::new("conflicts.changed_since"))));
        key(&mut a, "esc");
        assert!(a.conflict().is_none());
    }
}
