//! Checking each resource as it is read, as if it had been typed: a
//! Patient's ID number (check character, agreement with sex and birth
//! date), record number, name and dates; a response's form version, status,
//! items and dates; an Encounter's or Observation's subject. What needs the
//! whole file or the database (subjects, the form rules, what is here
//! already) waits for `Checker::finish` in `plan`.

use super::parse::{self, At, Unreadable};
use super::report::describe_at;
use crate::fhir::mapping::{answers_from_response, patient_fields};
use crate::fhir::{valid_id, Identifiers};
use crate::form::answers::sanitize;
use crate::form::def::FieldKind;
use crate::form::{Answers, FormDef, Registry};
use crate::i18n::{I18n, Msg};
use crate::identity::{check_consistency, parse_id, parse_record_no};
use crate::store::{FetchedRecord, ImportPatient};
use chrono::NaiveDate;
use serde_json::Value;
use std::collections::HashMap;

/// One problem: where, and why in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: At,
    pub reason: String,
}

/// A Patient as read. `Debug` shows its position and id only.
pub(super) struct PatientIn {
    pub(super) at: At,
    pub(super) patient: ImportPatient,
}

/// A QuestionnaireResponse as read, before the rules (which need its
/// subject's sex and birth date) have run.
pub(super) struct ResponseIn<'a> {
    pub(super) at: At,
    pub(super) subject: String,
    pub(super) encounter: Option<String>,
    pub(super) record: FetchedRecord<'a>,
}

/// An Encounter or Observation: checked for its subject only.
pub(super) struct LinkIn {
    pub(super) at: At,
    pub(super) id: String,
    pub(super) subject: String,
    /// Observation.derivedFrom's QuestionnaireResponse.
    pub(super) response: Option<String>,
    /// Observation.encounter.
    pub(super) encounter: Option<String>,
}

/// Reads resources one by one and keeps what the import needs of each.
pub struct Checker<'a> {
    registry: &'a Registry,
    ids: &'a Identifiers,
    pub(super) i18n: &'a I18n,
    pub(super) today: NaiveDate,
    pub(super) patients: Vec<PatientIn>,
    pub(super) responses: Vec<ResponseIn<'a>>,
    pub(super) encounters: Vec<LinkIn>,
    pub(super) observations: Vec<LinkIn>,
    /// `Type/id` -> where it first was.
    seen: HashMap<String, At>,
    /// Patients refused (and reported): their resources are not reported again.
    pub(super) rejected: std::collections::HashSet<String>,
    pub(super) problems: Vec<Problem>,
}

/// The id in a reference to `kind` (`Patient/<id>`), if it is one with a
/// valid id: anything else counts as no reference.
fn reference<'v>(v: &'v Value, kind: &str) -> Option<&'v str> {
    v["reference"]
        .as_str()
        .and_then(|r| r.strip_prefix(kind))
        .and_then(|r| r.strip_prefix('/'))
        .filter(|id| valid_id(id))
}

/// A date as FHIR writes one (`2026-11-29`).
pub(super) fn iso_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// The kind of the field an answer path belongs to (a row's column for
/// `rows.N.column`), or None when the form has no such field.
fn kind_at<'d>(def: &'d FormDef, path: &str) -> Option<&'d FieldKind> {
    let mut parts = path.split('.');
    let field = def.field(parts.next()?)?;
    match &field.kind {
        FieldKind::Rows { columns, .. } => {
            let _row = parts.next();
            match parts.next() {
                Some(c) => columns.iter().find(|col| col.id == c).map(|col| &col.kind),
                None => Some(&field.kind),
            }
        }
        k => Some(k),
    }
}

impl<'a> Checker<'a> {
    pub fn new(registry: &'a Registry, ids: &'a Identifiers, i18n: &'a I18n, today: NaiveDate) -> Checker<'a> {
        Checker {
            registry,
            ids,
            i18n,
            today,
            patients: Vec::new(),
            responses: Vec::new(),
            encounters: Vec::new(),
            observations: Vec::new(),
            seen: HashMap::new(),
            rejected: Default::default(),
            problems: Vec::new(),
        }
    }

    pub(super) fn problem(&mut self, at: At, msg: Msg) {
        let reason = self.i18n.msg(&msg);
        self.problems.push(Problem { at, reason });
    }

    /// Takes one resource (or why it could not be read) from the file.
    pub fn take(&mut self, at: At, read: Result<Value, Unreadable>) {
        let v = match read {
            Ok(v) => v,
            Err(e) => {
                let msg = match e {
                    Unreadable::NotJson { column } => Msg::new("import.not_json").arg("column", column),
                    Unreadable::NotAnObject => Msg::new("import.not_an_object"),
                    Unreadable::TooLong => Msg::new("import.too_long").arg("max", parse::MAX_LINE_BYTES >> 20),
                    Unreadable::NoResource => Msg::new("import.no_resource"),
                    Unreadable::NotABundle => Msg::new("import.not_a_bundle"),
                };
                return self.problem(at, msg);
            }
        };
        let kind = v["resourceType"].as_str().unwrap_or("").to_string();
        if !crate::fhir::TYPES.contains(&kind.as_str()) {
            let msg = if kind.is_empty() {
                Msg::new("import.no_resource_type")
            } else {
                Msg::new("import.unsupported_type").arg("type", &kind)
            };
            return self.problem(at, msg);
        }
        let Some(id) = v["id"].as_str().filter(|id| valid_id(id)).map(str::to_string) else {
            return self.problem(at, Msg::new("import.bad_id").arg("type", &kind));
        };
        if let Some(first) = self.seen.get(&format!("{kind}/{id}")).copied() {
            let first = describe_at(first, self.i18n);
            return self.problem(
                at,
                Msg::new("import.duplicate")
                    .arg("type", &kind)
                    .arg("id", &id)
                    .arg("first", first),
            );
        }
        self.seen.insert(format!("{kind}/{id}"), at);
        match kind.as_str() {
            "Patient" => self.patient(at, id, &v),
            "QuestionnaireResponse" => self.response(at, id, &v),
            _ => self.link(at, &kind, id, &v),
        }
    }

    fn patient(&mut self, at: At, uuid: String, v: &Value) {
        let (mut fields, record_no) = patient_fields(v, self.ids);
        let before = self.problems.len();
        let record_no = match record_no.as_deref().map(parse_record_no) {
            None => {
                let system = self.ids.record_no.clone();
                self.problem(at, Msg::new("import.no_record_no").arg("system", system));
                String::new()
            }
            Some(Err(e)) => {
                let detail = self.i18n.msg(&e.message());
                self.problem(at, Msg::new("import.bad_record_no").arg("detail", detail));
                String::new()
            }
            Some(Ok(n)) => n.as_str().to_string(),
        };
        // Text goes to the terminal later: control characters out, as when typed.
        for slot in [
            &mut fields.name,
            &mut fields.phone,
            &mut fields.address,
            &mut fields.village,
        ] {
            *slot = slot.as_deref().map(sanitize).filter(|s| !s.is_empty());
        }
        if fields.name.is_none() {
            self.problem(at, Msg::new("import.no_name"));
        }
        if let Some(g) = v.get("gender") {
            if !matches!(g.as_str(), Some("male" | "female" | "other" | "unknown")) {
                self.problem(at, Msg::new("import.bad_gender").arg("value", g));
            }
        }
        let birth = match fields.birth_date.as_deref() {
            None if v.get("birthDate").is_some() => {
                self.problem(at, Msg::new("import.bad_birth_date").arg("value", &v["birthDate"]));
                None
            }
            None => None,
            Some(b) => match iso_date(b).filter(|d| *d <= self.today) {
                Some(d) => Some(d),
                None => {
                    let value = b.to_string();
                    self.problem(at, Msg::new("import.bad_birth_date").arg("value", value));
                    None
                }
            },
        };
        if let Some(raw) = fields.id_number.clone() {
            match parse_id(&raw, self.today) {
                Err(e) => {
                    let detail = self.i18n.msg(&e.message());
                    self.problem(at, Msg::new("import.bad_id_number").arg("detail", detail));
                }
                Ok(id) => {
                    for m in check_consistency(&id, fields.sex.as_deref(), birth) {
                        let detail = self.i18n.msg(&m.message());
                        self.problem(at, Msg::new("import.bad_id_number").arg("detail", detail));
                    }
                    fields.id_number = Some(id.as_str().to_string());
                }
            }
        }
        if self.problems.len() > before {
            self.rejected.insert(uuid);
            return;
        }
        let active = v["active"].as_bool().unwrap_or(true);
        self.patients.push(PatientIn {
            at,
            patient: ImportPatient {
                uuid,
                record_no,
                fields,
                active,
            },
        });
    }

    /// The form a response was filled with, from `questionnaire` (`url|version`).
    fn form(&self, canonical: &str) -> Result<&'a FormDef, Msg> {
        let (url, version) = canonical.split_once('|').unwrap_or((canonical, ""));
        let registry: &'a Registry = self.registry;
        if let Some(def) = registry.all().find(|d| d.url == url && d.version == version) {
            return Ok(def);
        }
        match registry.all().find(|d| d.url == url) {
            Some(def) => Err(Msg::new("import.unknown_version")
                .arg("form", &def.id)
                .arg("version", if version.is_empty() { "-" } else { version })
                .arg("have", &def.version)),
            None => Err(Msg::new("import.unknown_form").arg("questionnaire", canonical)),
        }
    }

    fn response(&mut self, at: At, uuid: String, v: &Value) {
        let def = match v["questionnaire"].as_str() {
            None => return self.problem(at, Msg::new("import.no_questionnaire")),
            Some(q) => match self.form(q) {
                Ok(def) => def,
                Err(m) => return self.problem(at, m),
            },
        };
        let before = self.problems.len();
        let status = v["status"].as_str().unwrap_or("");
        if !matches!(status, "completed" | "amended") {
            self.problem(at, Msg::new("import.not_final").arg("status", status));
        }
        let subject = reference(&v["subject"], "Patient").map(str::to_string);
        if subject.is_none() {
            self.problem(at, Msg::new("import.no_subject"));
        }
        let authored = v["authored"].as_str().map(str::to_string);
        if let Some(a) = &authored {
            let ok = chrono::DateTime::parse_from_rfc3339(a).is_ok() || iso_date(a).is_some();
            if !ok {
                self.problem(at, Msg::new("import.bad_authored").arg("value", a));
            }
        } else if v.get("authored").is_some() {
            self.problem(at, Msg::new("import.bad_authored").arg("value", &v["authored"]));
        }
        let answers = answers_from_response(v, def);
        self.check_items(at, def, &answers);
        if self.problems.len() > before {
            return;
        }
        let record_date = def
            .date_field
            .as_deref()
            .and_then(|f| answers.text(f))
            .map(str::to_string);
        let author = v["author"]["display"]
            .as_str()
            .map(sanitize)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "platform".into());
        self.responses.push(ResponseIn {
            at,
            subject: subject.unwrap_or_default(),
            encounter: reference(&v["encounter"], "Encounter").map(str::to_string),
            record: FetchedRecord {
                uuid,
                def,
                source: self.registry.source(&def.id).unwrap_or_default(),
                answers,
                record_date,
                author,
                finalized_at: authored,
                // A file is not the platform: nothing to amend over.
                server_version: None,
            },
        });
    }

    /// Every answer belongs to a field of the form, and dates are dates as
    /// FHIR writes them (the rules alone would also take `t` for today).
    fn check_items(&mut self, at: At, def: &FormDef, answers: &Answers) {
        for (path, _) in answers.iter() {
            match kind_at(def, path) {
                None => self.problem(at, Msg::new("import.unknown_item").arg("item", path)),
                Some(FieldKind::Date { .. }) => {
                    let text = answers.text(path).unwrap_or("");
                    if iso_date(text).is_none() {
                        let field = self.label(def, path);
                        self.problem(
                            at,
                            Msg::new("import.bad_date_answer")
                                .arg("field", field)
                                .arg("value", text),
                        );
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// The label of the field an answer path belongs to, in the reader's language.
    pub(super) fn label(&self, def: &FormDef, path: &str) -> String {
        let field = path.split('.').next().unwrap_or(path);
        def.field(field)
            .map(|f| f.label.get(self.i18n.lang()).to_string())
            .unwrap_or_else(|| path.to_string())
    }

    fn link(&mut self, at: At, kind: &str, id: String, v: &Value) {
        let Some(subject) = reference(&v["subject"], "Patient").map(str::to_string) else {
            return self.problem(at, Msg::new("import.no_subject"));
        };
        let link = LinkIn {
            at,
            id,
            subject,
            response: v["derivedFrom"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|r| reference(r, "QuestionnaireResponse"))
                .map(str::to_string),
            encounter: reference(&v["encounter"], "Encounter").map(str::to_string),
        };
        if kind == "Encounter" {
            self.encounters.push(link);
        } else {
            self.observations.push(link);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check, resident, response};
    use crate::fhir::mapping::patient;
    use crate::fhir::Identifiers;
    use crate::form::Registry;
    use crate::store::{ImportCounts, Store};

    #[test]
    fn responses_are_checked_item_by_item_and_ids_once() {
        let store = Store::open_in_memory().unwrap();
        let reg = Registry::embedded();
        let p = resident(1);
        let good = response(&reg, &p, "r1");
        assert_eq!(
            check(&store, &[patient(&p, &Identifiers::default()).0, good.clone()]),
            Ok(ImportCounts {
                residents_new: 1,
                records_new: 1,
                ..Default::default()
            })
        );
        let mut draft = response(&reg, &p, "r2");
        draft["status"] = "in-progress".into();
        let mut odd_item = response(&reg, &p, "r3");
        odd_item["item"][0]["item"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"linkId": "no_such_item", "answer": [{"valueString": "x"}]}));
        let mut bad_date = response(&reg, &p, "r4");
        let visit = bad_date["item"][0]["item"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|i| i["linkId"] == "visit_date")
            .unwrap();
        visit["answer"][0]["valueDate"] = "t".into();
        let mut unnamed = resident(2);
        unnamed.name = None;
        unnamed.record_no = "22060210110000001".into();
        let Err(problems) = check(
            &store,
            &[
                patient(&p, &Identifiers::default()).0,
                good.clone(),
                good,
                draft,
                odd_item,
                bad_date,
                patient(&unnamed, &Identifiers::default()).0,
            ],
        ) else {
            panic!("accepted")
        };
        let lines: Vec<usize> = problems.iter().map(|p| p.0).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 7], "{problems:?}");
        assert!(problems[0].1.contains("is in the file twice (first at line 2)"));
        assert!(problems[1].1.contains("in-progress"));
        assert!(problems[2].1.contains("no item no_such_item"));
        assert!(problems[3].1.contains("t is not a valid date"));
        assert!(problems[4].1.contains("Village code 100"));
        assert!(problems[5].1.contains("no name"));
    }
}
