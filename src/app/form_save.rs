//! What a save of the form holds: the answers, the focus, the record's
//! date and, on a registration, the resident's own fields written the way
//! the store keeps them. The shell persists it; this only builds it.

use super::form_fill::FormState;
use super::Clock;
use crate::form::answers::parse_date;
use crate::form::def::Role;
use crate::store::{ResidentFields, Save};

impl FormState {
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
}
