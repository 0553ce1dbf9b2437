//! After the whole file: the checks that need other resources or the
//! database (new residents' numbers not taken, every subject known, the
//! form rules with the subject's sex and age, records not someone else's)
//! and the `Plan` they give — what to write, and what is here already.

use super::check::{iso_date, Checker, LinkIn, Problem, ResponseIn};
use super::parse::At;
use super::report::describe_at;
use crate::form::rules::{evaluate, Context, FindingText};
use crate::i18n::Msg;
use crate::store::{
    Actor, ImportCounts, ImportPatient, ImportedRecord, KnownResident, ResidentFields, Store, StoreError,
};
use std::collections::HashMap;

/// A checked file, ready to write. `Debug` shows counts only.
pub struct Plan<'a> {
    pub patients: Vec<ImportPatient>,
    pub records: Vec<ImportedRecord<'a>>,
    /// What is new and what is here already.
    pub counts: ImportCounts,
    /// Encounters and Observations checked (their content comes from the response).
    pub linked: usize,
}

impl std::fmt::Debug for Plan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("patients", &self.patients.len())
            .field("records", &self.records.len())
            .field("counts", &self.counts)
            .finish()
    }
}

/// A subject's sex code and birth date (`YYYY-MM-DD`), for the form rules.
type SubjectFacts = (Option<String>, Option<String>);

impl<'a> Checker<'a> {
    /// After the whole file: checks what needs other resources (subjects,
    /// the form rules, what is already here) and returns the plan, or every
    /// problem in file order.
    pub fn finish(mut self, store: &Store, actor: &Actor) -> Result<Result<Plan<'a>, Vec<Problem>>, StoreError> {
        let mut counts = ImportCounts::default();
        // Residents: new ones must not take an ID number or record number
        // another resident has, here or elsewhere in the file.
        let mut file_patients: HashMap<String, usize> = HashMap::new();
        let mut id_numbers: HashMap<String, At> = HashMap::new();
        let mut record_nos: HashMap<String, At> = HashMap::new();
        let patients = std::mem::take(&mut self.patients);
        let mut new_patients = Vec::new();
        for (i, p) in patients.iter().enumerate() {
            file_patients.insert(p.patient.uuid.clone(), i);
            if store.import_resident(actor, &p.patient.uuid)?.is_some() {
                counts.residents_present += 1;
                continue;
            }
            let mut ok = true;
            if let Some(idn) = p.patient.fields.id_number.as_deref() {
                if let Some(other) = store.import_resident_by_id_number(actor, idn)? {
                    ok = false;
                    self.problem(
                        p.at,
                        Msg::new("import.id_number_here").arg("record_no", other.record_no),
                    );
                } else if let Some(first) = id_numbers.get(idn).copied() {
                    ok = false;
                    let first = describe_at(first, self.i18n);
                    self.problem(p.at, Msg::new("import.id_number_twice").arg("first", first));
                } else {
                    id_numbers.insert(idn.to_string(), p.at);
                }
            }
            let rn = p.patient.record_no.as_str();
            if store.import_resident_by_record_no(actor, rn)?.is_some() {
                ok = false;
                self.problem(p.at, Msg::new("import.record_no_here").arg("record_no", rn));
            } else if let Some(first) = record_nos.get(rn).copied() {
                ok = false;
                let first = describe_at(first, self.i18n);
                self.problem(p.at, Msg::new("import.record_no_twice").arg("first", first));
            } else {
                record_nos.insert(rn.to_string(), p.at);
            }
            if ok {
                counts.residents_new += 1;
                new_patients.push(p.patient.clone());
            }
        }
        // The facts the form rules use, of a resident in the file or here.
        let mut here: HashMap<String, Option<KnownResident>> = HashMap::new();
        let mut subject_facts = |store: &Store, uuid: &str| -> Result<Option<SubjectFacts>, StoreError> {
            if let Some(i) = file_patients.get(uuid) {
                let f: &ResidentFields = &patients[*i].patient.fields;
                return Ok(Some((f.sex.clone(), f.birth_date.clone())));
            }
            if !here.contains_key(uuid) {
                let k = store.import_resident(actor, uuid)?;
                here.insert(uuid.to_string(), k);
            }
            Ok(here[uuid].as_ref().map(|k| (k.sex.clone(), k.birth_date.clone())))
        };
        // Responses: a known subject, no form errors, and not here for someone else.
        let responses = std::mem::take(&mut self.responses);
        let mut by_id: HashMap<&str, &ResponseIn> = HashMap::new();
        let mut by_encounter: HashMap<&str, &ResponseIn> = HashMap::new();
        let mut records = Vec::new();
        for r in &responses {
            by_id.insert(&r.record.uuid, r);
            if let Some(e) = &r.encounter {
                by_encounter.insert(e, r);
            }
            if self.rejected.contains(&r.subject) {
                // Its Patient is already reported; the response waits for it.
                continue;
            }
            let Some((sex, birth)) = subject_facts(store, &r.subject)? else {
                self.problem(r.at, Msg::new("import.unknown_subject").arg("id", &r.subject));
                continue;
            };
            let ctx = Context {
                today: self.today,
                sex,
                birth_date: birth.as_deref().and_then(iso_date),
            };
            let eval = evaluate(r.record.def, &r.record.answers, &ctx);
            let errors: Vec<String> = eval
                .errors()
                .map(|f| {
                    let text = match &f.text {
                        FindingText::Msg(m) => self.i18n.msg(m),
                        FindingText::Form(t) => t.get(self.i18n.lang()).to_string(),
                    };
                    format!("{}: {text}", self.label(r.record.def, &f.path))
                })
                .collect();
            if !errors.is_empty() {
                let detail = errors.join(self.i18n.t("import.separator"));
                self.problem(r.at, Msg::new("import.form_errors").arg("detail", detail));
                continue;
            }
            match store.import_record_subject(actor, &r.record.uuid)? {
                Some(owner) if owner == r.subject => counts.records_present += 1,
                Some(_) => self.problem(r.at, Msg::new("import.record_elsewhere")),
                None => {
                    counts.records_new += 1;
                    records.push(ImportedRecord {
                        subject: r.subject.clone(),
                        record: r.record.clone(),
                    });
                }
            }
        }
        // Encounters and Observations: a known subject, the same as their response's.
        let encounter_list = std::mem::take(&mut self.encounters);
        let encounters: HashMap<&str, &str> = encounter_list
            .iter()
            .map(|l| (l.id.as_str(), l.subject.as_str()))
            .collect();
        let observations = std::mem::take(&mut self.observations);
        let links: Vec<&LinkIn> = encounter_list.iter().chain(&observations).collect();
        for l in &links {
            if self.rejected.contains(&l.subject) {
                continue;
            }
            if subject_facts(store, &l.subject)?.is_none() {
                self.problem(l.at, Msg::new("import.unknown_subject").arg("id", &l.subject));
                continue;
            }
            // The response this resource belongs to: derivedFrom, else the
            // one whose encounter it is (an Encounter's id is the record's).
            let response = l
                .response
                .as_deref()
                .or_else(|| by_encounter.get(l.id.as_str()).map(|r| r.record.uuid.as_str()))
                .or_else(|| by_id.get(l.id.as_str()).map(|r| r.record.uuid.as_str()));
            let expected = match response {
                Some(id) => match by_id.get(id) {
                    Some(r) => Some(r.subject.clone()),
                    None => store.import_record_subject(actor, id)?,
                },
                None => None,
            };
            let encounter_subject = l.encounter.as_deref().and_then(|e| encounters.get(e)).copied();
            let mismatch = expected.as_deref().is_some_and(|s| s != l.subject)
                || encounter_subject.is_some_and(|s| s != l.subject);
            if mismatch {
                self.problem(l.at, Msg::new("import.subject_mismatch").arg("id", &l.subject));
            }
        }
        if !self.problems.is_empty() {
            let mut problems = self.problems;
            problems.sort_by_key(|p| p.at);
            return Ok(Err(problems));
        }
        Ok(Ok(Plan {
            patients: new_patients,
            records,
            counts,
            linked: links.len(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check, resident, response};
    use crate::fhir::mapping::patient;
    use crate::fhir::Identifiers;
    use crate::form::Registry;
    use crate::store::{Actor, ImportPatient, ResidentFields, Store};

    #[test]
    fn a_record_number_or_id_number_already_here_under_another_id_is_refused() {
        let mut store = Store::open_in_memory().unwrap();
        let actor = Actor::new("test");
        let reg = Registry::embedded();
        let p = resident(3);
        let ids = Identifiers::default();
        let patients = [ImportPatient {
            uuid: p.uuid.clone(),
            record_no: p.record_no.clone(),
            fields: ResidentFields {
                name: p.name.clone(),
                id_number: p.id_number.clone(),
                ..Default::default()
            },
            active: true,
        }];
        store.import_resources(&actor, &patients, &[]).unwrap();
        // The same resident again: already here, nothing to do.
        let again = check(&store, &[patient(&p, &ids).0, response(&reg, &p, "r9")]).unwrap();
        assert_eq!((again.residents_present, again.records_new), (1, 1));
        // Someone else with the same numbers.
        let mut other = p.clone();
        other.uuid = "another".into();
        let Err(problems) = check(&store, &[patient(&other, &ids).0]) else {
            panic!("accepted")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].1.contains("already here (record number 22060210110100003)"));
        assert!(problems[1]
            .1
            .contains("already has health record number 22060210110100003"));
        // The record counter moved past the imported serial.
        let site = crate::store::SiteConfig {
            division: "220602".into(),
            township: "101".into(),
            village: "101".into(),
            name: "x".into(),
        };
        let next = store.create_resident(&actor, &site).unwrap();
        assert_eq!(next.record_no, "22060210110100004");
    }
}
