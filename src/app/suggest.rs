//! Values the rules fill in for the doctor, visibly marked as suggested:
//! a follow-up's classification, next step, next-visit date and referral
//! (from `manage::rules`), and on a registration the sex and birth date
//! read from the ID number. A suggestion fills an empty item or replaces
//! its own earlier suggestion; once the user changes or clears it, it is
//! theirs and never overwritten (the rules then warn where it contradicts
//! the values).

use super::form_fill::FormState;
use crate::form::rules::{Finding, FindingText};
use crate::manage::rules::RuleFinding;
use crate::manage::{Previous, Settings};
use std::collections::{BTreeMap, BTreeSet};

/// What the follow-up rules need beyond the answers: the resident's
/// earlier visits of the programme (any order) and the settings.
#[derive(Debug, Clone, Default)]
pub struct CareInput {
    pub history: Vec<Previous>,
    pub settings: Settings,
}

/// Suggested values by answer path, and the paths the user took over.
#[derive(Debug, Clone, Default)]
pub struct Suggestions {
    pub values: BTreeMap<String, String>,
    pub declined: BTreeSet<String>,
}

fn rule_finding(f: &RuleFinding) -> Finding {
    Finding {
        path: f.path.to_string(),
        level: f.level,
        text: FindingText::Msg(f.msg.clone()),
    }
}

impl FormState {
    pub fn is_suggested(&self, path: &str) -> bool {
        self.suggestions.values.contains_key(path)
    }

    /// Puts `value` at `path` as a suggestion, unless the user owns it.
    fn suggest(&mut self, path: &str, value: Option<String>) -> bool {
        if self.suggestions.declined.contains(path) {
            return false;
        }
        let current = self.answers.text(path).map(str::to_string);
        if let Some(mine) = self.suggestions.values.get(path) {
            if current.as_deref() != Some(mine.as_str()) {
                // Changed or cleared by the user: theirs from now on.
                self.suggestions.values.remove(path);
                self.suggestions.declined.insert(path.to_string());
                return false;
            }
        } else if current.is_some() || self.answers.is_answered(path) {
            return false;
        }
        match value {
            Some(v) if current.as_deref() != Some(v.as_str()) => {
                self.answers.set_text(path, &v);
                self.suggestions.values.insert(path.to_string(), v);
                true
            }
            Some(v) => {
                self.suggestions.values.insert(path.to_string(), v);
                false
            }
            None if self.suggestions.values.remove(path).is_some() => {
                self.answers.remove(path);
                true
            }
            None => false,
        }
    }

    /// Marks values that equal what the rules suggest (a reopened draft).
    pub(super) fn adopt_suggestions(&mut self) {
        let wanted = self.wanted();
        for (path, value) in wanted {
            if value.is_some() && self.answers.text(&path).map(str::to_string) == value {
                if let Some(v) = value {
                    self.suggestions.values.insert(path, v);
                }
            }
        }
    }

    /// What the rules would put where, as things stand.
    fn wanted(&self) -> Vec<(String, Option<String>)> {
        use crate::manage::visit as v;
        let mut out = Vec::new();
        if let Some(a) = self.assessment() {
            out.push((v::CLASSIFICATION.into(), a.classification.map(|c| c.to_string())));
            out.push((v::NEXT_STEP.into(), a.next_step.map(|c| c.to_string())));
            out.push((
                v::NEXT_VISIT.into(),
                a.next_visit_by.map(|d| d.format("%Y-%m-%d").to_string()),
            ));
            out.push((v::REFERRED.into(), a.referral.is_some().then(|| "2".to_string())));
        }
        let b = &self.def.resident;
        if let Some(id) = b.id_number.as_deref().and_then(|p| self.answers.text(p)) {
            if let Ok(id) = crate::identity::parse_id(id, self.ctx.today) {
                if let Some(p) = &b.sex {
                    out.push((p.clone(), Some(id.sex_code().to_string())));
                }
                if let Some(p) = &b.birth_date {
                    out.push((p.clone(), Some(id.birth_date().format("%Y-%m-%d").to_string())));
                }
            }
        }
        out
    }

    /// Applies the suggestions; true if any answer changed (evaluate again).
    pub(super) fn apply_suggestions(&mut self) -> bool {
        if self.read_only {
            return false;
        }
        let mut changed = false;
        // Twice: a suggested classification feeds the next step and date.
        for _ in 0..2 {
            for (path, value) in self.wanted() {
                changed |= self.suggest(&path, value);
            }
        }
        changed
    }

    /// The rules' assessment of the visit as it stands, with the previous
    /// visit before the typed date.
    fn assessment(&self) -> Option<crate::manage::Assessment> {
        let care = self.care.as_ref()?;
        let visit = crate::manage::Visit::from_answers(&self.answers, self.ctx.today);
        let previous = visit.date.and_then(|d| {
            care.history
                .iter()
                .filter(|p| p.date < d)
                .max_by_key(|p| p.date)
                .copied()
        });
        crate::manage::assess_answers(
            &self.def,
            &self.answers,
            self.ctx.birth_date,
            previous.as_ref(),
            &care.settings,
            self.ctx.today,
        )
    }

    /// The rules' findings, added to the form's own.
    pub(super) fn care_findings(&self) -> Vec<Finding> {
        self.assessment()
            .map(|a| a.findings.iter().map(rule_finding).collect())
            .unwrap_or_default()
    }
}
