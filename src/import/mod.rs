//! `jkda import FILE [--dry-run]`: a clinic's history from FHIR R4 NDJSON
//! or a JSON Bundle (transaction, batch, collection or searchset) of
//! Patient, QuestionnaireResponse, Encounter and Observation resources —
//! what jkda uploads, or the platform's export of it.
//!
//! The file is read as a stream (`parse`) and every resource checked as if
//! it had been typed: the ID number's check character and its agreement
//! with sex and birth date, the 17-digit record number, each response
//! against its form version (`form::rules::evaluate`; errors refuse it),
//! dates, and that every resource's subject is in the file or already here.
//! Each problem is reported with its line (or Bundle entry) and nothing is
//! written unless the whole file is good; then one transaction writes it
//! (`Store::import_resources`). Ids are the platform's: the Patient's is the
//! resident's uuid, the response's the record's, so a second import of the
//! same file adds nothing. Exit 0 imported (or checked, with `--dry-run`),
//! 1 problems in the file (nothing written) or a database error, 2 usage or
//! I/O error.

pub mod parse;

use crate::fhir::mapping::{answers_from_response, patient_fields};
use crate::fhir::{valid_id, Identifiers};
use crate::form::answers::sanitize;
use crate::form::def::FieldKind;
use crate::form::rules::{evaluate, Context, FindingText};
use crate::form::{Answers, FormDef, Registry};
use crate::i18n::{I18n, Msg};
use crate::identity::{check_consistency, parse_id, parse_record_no};
use crate::store::{
    Actor, FetchedRecord, ImportCounts, ImportPatient, ImportedRecord, KnownResident, ResidentFields, Store, StoreError,
};
use chrono::NaiveDate;
use parse::{At, FileError, Unreadable};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// The command line of `jkda import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// FHIR R4 NDJSON (one resource per line) or a JSON Bundle
    pub file: PathBuf,
    /// Check everything, write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// One problem: where, and why in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: At,
    pub reason: String,
}

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

/// A Patient as read. `Debug` shows its position and id only.
struct PatientIn {
    at: At,
    patient: ImportPatient,
}

/// A QuestionnaireResponse as read, before the rules (which need its
/// subject's sex and birth date) have run.
struct ResponseIn<'a> {
    at: At,
    subject: String,
    encounter: Option<String>,
    record: FetchedRecord<'a>,
}

/// A subject's sex code and birth date (`YYYY-MM-DD`), for the form rules.
type SubjectFacts = (Option<String>, Option<String>);

/// An Encounter or Observation: checked for its subject only.
struct LinkIn {
    at: At,
    id: String,
    subject: String,
    /// Observation.derivedFrom's QuestionnaireResponse.
    response: Option<String>,
    /// Observation.encounter.
    encounter: Option<String>,
}

/// Reads resources one by one and keeps what the import needs of each.
pub struct Checker<'a> {
    registry: &'a Registry,
    ids: &'a Identifiers,
    i18n: &'a I18n,
    today: NaiveDate,
    patients: Vec<PatientIn>,
    responses: Vec<ResponseIn<'a>>,
    encounters: Vec<LinkIn>,
    observations: Vec<LinkIn>,
    /// `Type/id` -> where it first was.
    seen: HashMap<String, At>,
    /// Patients refused (and reported): their resources are not reported again.
    rejected: std::collections::HashSet<String>,
    problems: Vec<Problem>,
}

fn reference<'v>(v: &'v Value, kind: &str) -> Option<&'v str> {
    v["reference"]
        .as_str()
        .and_then(|r| r.strip_prefix(kind))
        .and_then(|r| r.strip_prefix('/'))
        .filter(|id| valid_id(id))
}

/// Where a position is, as the report writes it.
pub fn describe_at(at: At, i18n: &I18n) -> String {
    match at {
        At::Line(n) => i18n.tf("import.at_line", &[("line", &n.to_string())]),
        At::Entry(i) => i18n.tf("import.at_entry", &[("index", &i.to_string())]),
        At::File { line, column } => i18n.tf(
            "import.at_file",
            &[("line", &line.to_string()), ("column", &column.to_string())],
        ),
    }
}

/// A date as FHIR writes one (`2026-11-29`).
fn iso_date(s: &str) -> Option<NaiveDate> {
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

    fn problem(&mut self, at: At, msg: Msg) {
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
    fn label(&self, def: &FormDef, path: &str) -> String {
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

fn counts_args(c: &ImportCounts, linked: usize) -> [(&'static str, String); 5] {
    [
        ("residents_new", c.residents_new.to_string()),
        ("residents_present", c.residents_present.to_string()),
        ("records_new", c.records_new.to_string()),
        ("records_present", c.records_present.to_string()),
        ("linked", linked.to_string()),
    ]
}

/// `jkda import`: see the module documentation for what it checks and its exit codes.
pub fn run(
    store: &mut Store,
    registry: &Registry,
    ids: &Identifiers,
    actor: &Actor,
    i18n: &I18n,
    args: &ImportArgs,
) -> ExitCode {
    // Who imported what must be a person: a key file says only which machine.
    if crate::cli::auth::is_system(actor) {
        eprintln!("{}", i18n.t("import.needs_login"));
        return ExitCode::from(2);
    }
    for p in [
        crate::store::Permission::WriteRecords,
        crate::store::Permission::Finalize,
    ] {
        if let Err(m) = crate::cli::auth::require(actor, p) {
            eprintln!("{}", i18n.msg(&m));
            return ExitCode::from(1);
        }
    }
    let path = args.file.display().to_string();
    let io_error = |detail: String| {
        eprintln!("{}", i18n.tf("cli.io_error", &[("path", &path), ("detail", &detail)]));
        ExitCode::from(2)
    };
    let mut file = match std::fs::File::open(&args.file) {
        Ok(f) => f,
        Err(e) => return io_error(e.to_string()),
    };
    let today = chrono::Local::now().date_naive();
    let mut checker = Checker::new(registry, ids, i18n, today);
    match parse::read(&mut file, |at, r| checker.take(at, r)) {
        Ok(_) => {}
        Err(FileError::Io(e)) => return io_error(e.to_string()),
        Err(FileError::TooLarge { bytes }) => {
            eprintln!(
                "{}",
                i18n.tf(
                    "import.too_large",
                    &[
                        ("path", &path),
                        ("size", &(bytes >> 20).to_string()),
                        ("max", &(parse::MAX_FILE_BYTES >> 20).to_string())
                    ]
                )
            );
            return ExitCode::from(2);
        }
    }
    drop(file);
    let plan = match checker.finish(store, actor) {
        Ok(Ok(plan)) => plan,
        Ok(Err(problems)) => {
            for p in &problems {
                eprintln!(
                    "{}",
                    i18n.tf(
                        "import.problem",
                        &[("at", &describe_at(p.at, i18n)), ("reason", &p.reason)]
                    )
                );
            }
            eprintln!(
                "{}",
                i18n.tf("import.failed", &[("count", &problems.len().to_string())])
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("{}", i18n.msg(&e.message()));
            return ExitCode::from(1);
        }
    };
    if args.dry_run {
        let a = counts_args(&plan.counts, plan.linked);
        let a: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, v.as_str())).collect();
        println!("{}", i18n.tf("import.dry_run", &a));
        return ExitCode::SUCCESS;
    }
    match store.import_resources(actor, &plan.patients, &plan.records) {
        Ok(written) => {
            // What was present at the check and what the write found agree
            // unless another program wrote in between; the write's are true.
            let counts = ImportCounts {
                residents_present: written.residents_present + plan.counts.residents_present,
                records_present: written.records_present + plan.counts.records_present,
                ..written
            };
            let a = counts_args(&counts, plan.linked);
            let a: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, v.as_str())).collect();
            println!("{}", i18n.tf("import.done", &a));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", i18n.msg(&e.message()));
            eprintln!("{}", i18n.t("import.nothing_written"));
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::mapping::{patient, questionnaire_response, RecordInput};
    use crate::i18n::Lang;
    use crate::store::{Record, RecordStatus, Resident};
    use rand::SeedableRng;

    fn resident(n: u32) -> Resident {
        let birth = NaiveDate::from_ymd_opt(1970, 1, n).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from(n));
        Resident {
            id: 0,
            uuid: format!("00000000-0000-7000-8000-{n:012}"),
            record_no: format!("220602101101{:05}", n),
            status: "active".into(),
            name: Some(format!("测试{n}")),
            sex: Some("2".into()),
            birth_date: Some(birth.format("%Y-%m-%d").to_string()),
            id_number: Some(crate::demo::id_number("220602", birth, false, &mut rng)),
            phone: None,
            address: None,
            village: None,
            programmes: Vec::new(),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn response(reg: &Registry, r: &Resident, uuid: &str) -> Value {
        let def = reg.get("diabetes-followup").unwrap();
        let today = chrono::Local::now().date_naive();
        let date = today - chrono::Duration::days(10);
        let mut a = Answers::new();
        a.set_text("visit_date", &date.format("%Y-%m-%d").to_string());
        a.set_text(
            "next_visit_date",
            &(date + chrono::Duration::days(30)).format("%Y-%m-%d").to_string(),
        );
        a.set_text("bp.systolic", "132");
        a.set_text("bp.diastolic", "84");
        let ctx = Context {
            today,
            sex: r.sex.clone(),
            birth_date: NaiveDate::from_ymd_opt(1970, 1, 1),
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        crate::demo::complete_required(def, &mut a, &ctx, date, &mut rng);
        let record = Record {
            id: 0,
            uuid: uuid.into(),
            resident_id: 0,
            form_id: def.id.clone(),
            form_version: def.version.clone(),
            status: RecordStatus::Final,
            answers: a,
            record_date: None,
            focus: None,
            author: "doc".into(),
            created_at: String::new(),
            updated_at: String::new(),
            finalized_at: None,
            revision: 1,
        };
        let ids = Identifiers::default();
        questionnaire_response(&RecordInput {
            record: &record,
            resident: r,
            def,
            ids: &ids,
        })
        .0
    }

    /// Checks resources (one per line) against `store`; the problems' lines and texts.
    fn check(store: &Store, resources: &[Value]) -> Result<ImportCounts, Vec<(usize, String)>> {
        let reg = Registry::embedded();
        let ids = Identifiers::default();
        let i18n = I18n::new(Lang::En);
        let mut c = Checker::new(&reg, &ids, &i18n, chrono::Local::now().date_naive());
        for (i, r) in resources.iter().enumerate() {
            c.take(At::Line(i + 1), Ok(r.clone()));
        }
        match c.finish(store, &Actor::new("test")).unwrap() {
            Ok(plan) => Ok(plan.counts),
            Err(problems) => Err(problems
                .into_iter()
                .map(|p| match p.at {
                    At::Line(n) => (n, p.reason),
                    other => panic!("{other:?}"),
                })
                .collect()),
        }
    }

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
