//! Opening a form: the form definition a record was filled with, a record
//! opened for the screen (with the desk's lease and the draft's saved
//! answers), and a new record with what the last visit already knows.

use super::{Shell, OPEN_RECORD};
use crate::app::{form_screen, Clock, Msg};
use crate::form::def::Role;
use crate::form::FormDef;
use crate::i18n::Msg as Text;
use crate::store::RecordStatus;
use std::sync::Arc;

impl Shell {
    pub(super) fn form_def(&mut self, form_id: &str, version: &str) -> Result<Arc<FormDef>, Text> {
        let key = (form_id.to_string(), version.to_string());
        if let Some(d) = self.forms.get(&key) {
            return Ok(d.clone());
        }
        let def = match self.registry.get(form_id).filter(|d| d.version == version) {
            Some(d) => d.clone(),
            None => {
                // An older (or newer) version than the files offer: use the text kept with the record.
                let src = self
                    .store
                    .form_source(form_id, version)
                    .map_err(|e| e.message())?
                    .ok_or_else(|| {
                        Text::new("shell.form_missing")
                            .arg("form", form_id)
                            .arg("version", version)
                    })?;
                crate::form::parse_form(form_id, &src).map_err(|_| {
                    Text::new("shell.form_missing")
                        .arg("form", form_id)
                        .arg("version", version)
                })?
            }
        };
        let def = Arc::new(def);
        self.forms.insert(key, def.clone());
        Ok(def)
    }

    pub(super) fn open_record(&mut self, id: i64, clock: &Clock) -> Result<Msg, Text> {
        // The last sitting's saves go into the answers now, not on a
        // keystroke; should that fail, reading replays them anyway.
        let _ = self.store.fold_draft_journal(&self.actor, id);
        let record = self.store.record(&self.actor, id).map_err(|e| e.message())?;
        let resident = self
            .store
            .resident(&self.actor, record.resident_id)
            .map_err(|e| e.message())?;
        let def = self.form_def(&record.form_id, &record.form_version)?;
        if record.status == RecordStatus::Draft {
            let _ = self.store.set_setting(OPEN_RECORD, &id.to_string());
            self.desks.opened(&self.store, id, &self.actor.user);
            self.saved = Some((id, record.answers.clone()));
        } else {
            self.desks.viewing(id, record.revision);
        }
        let mut screen = form_screen(def.clone(), &record, &resident, clock);
        if let (Some(p), Role::FollowUp) = (def.programme, def.role) {
            let history = self
                .store
                .visit_history(resident.id, p, record.id)
                .map_err(|e| e.message())?;
            screen = screen.with_care(crate::app::suggest::CareInput {
                history,
                settings: self.store.care_settings().clone(),
            });
        }
        Ok(Msg::RecordOpened(Box::new(screen)))
    }

    /// What a new follow-up starts with instead of being retyped: the
    /// doctor's name, and from the resident's last visit of the same form
    /// the height, the weight target and the drugs.
    pub(super) fn prefill(&self, resident_id: i64, def: &FormDef, record_id: i64) -> crate::form::Answers {
        use crate::manage::visit as v;
        let mut a = crate::form::Answers::new();
        if def.role != Role::FollowUp {
            return a;
        }
        if def.field(v::DOCTOR).is_some() {
            let name = self
                .store
                .user(&self.actor.user)
                .ok()
                .flatten()
                .map(|u| u.display_name)
                .unwrap_or_else(|| self.actor.user.clone());
            a.set_text(v::DOCTOR, &name);
        }
        let Ok(Some(last)) = self.store.latest_answers(resident_id, &def.id, record_id) else {
            return a;
        };
        for (path, answer) in last.iter() {
            let field = path.split('.').next().unwrap_or(path);
            let carried = path == v::HEIGHT
                || path == v::WEIGHT_TARGET
                || field == v::MEDS
                || field == "insulin_type"
                || field == "insulin_usage";
            if carried && def.field(field).is_some() {
                match answer {
                    crate::form::answers::Answer::Text(t) => a.set_text(path, t),
                    crate::form::answers::Answer::Codes(c) => a.set_codes(path, c.clone()),
                }
            }
        }
        a
    }

    pub(super) fn new_record(&mut self, resident_id: i64, form_id: &str, clock: &Clock) -> Result<Msg, Text> {
        let def = self
            .registry
            .get(form_id)
            .cloned()
            .ok_or_else(|| Text::new("shell.form_missing").arg("form", form_id).arg("version", ""))?;
        let source = self.registry.source(form_id).unwrap_or_default().to_string();
        let record = self
            .store
            .create_record(&self.actor, resident_id, &def, &source)
            .map_err(|e| e.message())?;
        let answers = self.prefill(resident_id, &def, record.id);
        if !answers.is_empty() {
            let save = crate::store::Save {
                answers,
                ..Default::default()
            };
            self.store
                .save_draft(&self.actor, record.id, &save)
                .map_err(|e| e.message())?;
        }
        self.open_record(record.id, clock)
    }
}
