//! Parse, then validate: a form file becomes a `FormDef` or the complete list
//! of what is wrong with it, each problem with the file, the place inside it
//! and a hint. One broken file never stops jkda from loading the others.

use super::def::*;
use super::raw::*;
use crate::i18n::Msg;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    pub file: String,
    /// Where in the file: `section[2].field[5] (bp)`, or `line 12` for syntax.
    pub path: String,
    pub msg: Msg,
}

pub struct Loaded {
    pub forms: Vec<(FormDef, String)>,
    pub failures: Vec<(PathBuf, Vec<FormError>)>,
}

/// Loads every `*.toml` in `dir` except those starting with `_`.
pub fn load_dir(dir: &Path) -> std::io::Result<Loaded> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('_'))
        })
        .collect();
    files.sort();
    let mut loaded = Loaded {
        forms: Vec::new(),
        failures: Vec::new(),
    };
    let mut seen = HashSet::new();
    for path in files {
        let src = match crate::bounded_read::read_to_string(&path, crate::bounded_read::FORM_FILE) {
            Ok(s) => s,
            Err(e) => {
                let msg = match crate::bounded_read::exceeded(&e) {
                    Some(limit) => Msg::new("form_error.too_large").arg("max", crate::bounded_read::size_text(limit)),
                    None => Msg::new("form_error.unreadable").arg("reason", e),
                };
                let err = FormError {
                    file: path.display().to_string(),
                    path: String::new(),
                    msg,
                };
                loaded.failures.push((path, vec![err]));
                continue;
            }
        };
        match parse_form(&path.display().to_string(), &src) {
            Ok(def) if !seen.insert(def.id.clone()) => {
                let err = FormError {
                    file: path.display().to_string(),
                    path: "id".into(),
                    msg: Msg::new("form_error.duplicate_form").arg("id", &def.id),
                };
                loaded.failures.push((path, vec![err]));
            }
            Ok(def) => loaded.forms.push((def, src)),
            Err(errs) => loaded.failures.push((path, errs)),
        }
    }
    Ok(loaded)
}

/// Parses and validates one form file's text.
pub fn parse_form(file: &str, src: &str) -> Result<FormDef, Vec<FormError>> {
    let raw: RawForm = toml::from_str(src).map_err(|e| {
        let line = e.span().map(|s| crate::config::line_of(src, s.start));
        vec![FormError {
            file: file.to_string(),
            path: line.map(|l| format!("line {l}")).unwrap_or_default(),
            msg: Msg::new("form_error.syntax").arg("detail", e.message().trim()),
        }]
    })?;
    Validator::new(file).form(raw)
}

struct Validator {
    file: String,
    errors: Vec<FormError>,
}

/// What a condition or check may refer to: answer path -> option codes (if coded).
type PathTable = BTreeMap<String, Option<Vec<String>>>;

impl Validator {
    fn new(file: &str) -> Self {
        Validator {
            file: file.to_string(),
            errors: Vec::new(),
        }
    }

    fn err(&mut self, path: &str, msg: Msg) {
        self.errors.push(FormError {
            file: self.file.clone(),
            path: path.to_string(),
            msg,
        });
    }

    fn form(mut self, raw: RawForm) -> Result<FormDef, Vec<FormError>> {
        if !is_identifier(&raw.id, true) {
            self.err("id", Msg::new("form_error.bad_id").arg("id", &raw.id));
        }
        if raw.version.trim().is_empty() {
            self.err("version", Msg::new("form_error.empty").arg("what", "version"));
        }
        let title = self.text("title", raw.title);
        let role = match raw.role.as_deref().unwrap_or("other") {
            "registration" => Role::Registration,
            "followup" => Role::FollowUp,
            "exam" => Role::Exam,
            "other" => Role::Other,
            other => {
                self.err(
                    "role",
                    Msg::new("form_error.unknown_value")
                        .arg("value", other)
                        .arg("allowed", "registration, followup, exam, other"),
                );
                Role::Other
            }
        };
        let programme = match raw.programme.as_deref() {
            None => None,
            Some("hypertension") => Some(Programme::Hypertension),
            Some("diabetes") => Some(Programme::Diabetes),
            Some(other) => {
                self.err(
                    "programme",
                    Msg::new("form_error.unknown_value")
                        .arg("value", other)
                        .arg("allowed", "hypertension, diabetes"),
                );
                None
            }
        };

        // First pass: every field id and answer path, so conditions may refer forward.
        let mut ids = HashSet::new();
        let mut paths = PathTable::new();
        for (si, s) in raw.sections.iter().enumerate() {
            for (fi, f) in s.fields.iter().enumerate() {
                let at = format!("section[{si}].field[{fi}] ({})", f.id);
                if !is_identifier(&f.id, false) {
                    self.err(&at, Msg::new("form_error.bad_field_id").arg("id", &f.id));
                }
                if !ids.insert(f.id.clone()) {
                    self.err(&at, Msg::new("form_error.duplicate_field").arg("id", &f.id));
                }
                register_paths(f, &mut paths);
            }
        }

        let mut section_ids = HashSet::new();
        let mut sections = Vec::new();
        for (si, s) in raw.sections.into_iter().enumerate() {
            let at = format!("section[{si}] ({})", s.id);
            if !section_ids.insert(s.id.clone()) {
                self.err(&at, Msg::new("form_error.duplicate_section").arg("id", &s.id));
            }
            if s.fields.is_empty() {
                self.err(&at, Msg::new("form_error.empty_section"));
            }
            let title = self.text(&format!("{at}.title"), s.title);
            let visible_if = s.visible_if.map(|c| self.cond(&format!("{at}.visible_if"), c, &paths));
            let fields = s
                .fields
                .into_iter()
                .enumerate()
                .map(|(fi, f)| {
                    let at = format!("section[{si}].field[{fi}] ({})", f.id);
                    self.field(&at, f, &paths, false)
                })
                .collect();
            sections.push(Section {
                id: s.id,
                title,
                visible_if,
                fields,
            });
        }
        if sections.is_empty() {
            self.err("section", Msg::new("form_error.no_sections"));
        }

        let date_field = raw.date_field.clone();
        if let Some(df) = &date_field {
            let is_date = sections
                .iter()
                .flat_map(|s| &s.fields)
                .any(|f| &f.id == df && matches!(f.kind, FieldKind::Date { .. }));
            if !is_date {
                self.err("date_field", Msg::new("form_error.not_a_date_field").arg("id", df));
            }
        }

        let mut check_ids = HashSet::new();
        let checks = raw
            .checks
            .into_iter()
            .enumerate()
            .filter_map(|(ci, c)| {
                let at = format!("check[{ci}] ({})", c.id);
                if !check_ids.insert(c.id.clone()) {
                    self.err(&at, Msg::new("form_error.duplicate_check").arg("id", &c.id));
                }
                self.check(&at, c, &paths)
            })
            .collect();

        let mut resident = ResidentBinding::default();
        for (attr, field) in raw.resident {
            let at = format!("resident.{attr}");
            if !ids.contains(&field) {
                self.err(&at, Msg::new("form_error.unknown_path").arg("path", &field));
            } else if !resident.set(&attr, field) {
                self.err(
                    &at,
                    Msg::new("form_error.unknown_value")
                        .arg("value", &attr)
                        .arg("allowed", ResidentBinding::ATTRIBUTES.join(", ")),
                );
            }
        }
        if role == Role::Registration {
            for attr in ["name", "sex", "birth_date", "id_number"] {
                if resident.get(attr).is_none() {
                    self.err("resident", Msg::new("form_error.binding_missing").arg("attr", attr));
                }
            }
        }

        for c in super::cycles::find(&sections, &resident) {
            self.err(&c.at, Msg::new("form_error.cycle").arg("chain", c.chain));
        }

        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let url = raw.url.unwrap_or_else(|| format!("urn:jkda:form:{}", raw.id));
        Ok(FormDef {
            id: raw.id,
            version: raw.version.trim().to_string(),
            url,
            title,
            role,
            programme,
            date_field,
            standard: raw.standard,
            sections,
            checks,
            resident,
        })
    }

    fn text(&mut self, at: &str, t: RawText) -> Text {
        if t.zh.trim().is_empty() || t.en.trim().is_empty() {
            self.err(at, Msg::new("form_error.missing_translation"));
        }
        Text { zh: t.zh, en: t.en }
    }

    fn field(&mut self, at: &str, f: RawField, paths: &PathTable, in_row: bool) -> Field {
        let label = self.text(&format!("{at}.label"), f.label.clone());
        let hint = f.hint.clone().map(|h| self.text(&format!("{at}.hint"), h));
        let kind = self.kind(at, &f, paths, in_row);
        let allowed_numeric = matches!(kind, FieldKind::Integer(_) | FieldKind::Decimal(_))
            || matches!(&kind, FieldKind::Pair { of } if matches!(**of, FieldKind::Integer(_) | FieldKind::Decimal(_)))
            || matches!(kind, FieldKind::Calculated { .. });
        if (f.range.is_some() || f.plausible.is_some()) && !allowed_numeric {
            self.err(
                at,
                Msg::new("form_error.not_for_kind")
                    .arg("key", "range/plausible")
                    .arg("kind", kind.name()),
            );
        }
        let required_if = f.required_if.map(|c| self.cond(&format!("{at}.required_if"), c, paths));
        let visible_if = f.visible_if.map(|c| self.cond(&format!("{at}.visible_if"), c, paths));
        if in_row && (required_if.is_some() || visible_if.is_some()) {
            self.err(
                at,
                Msg::new("form_error.not_for_kind")
                    .arg("key", "required_if/visible_if")
                    .arg("kind", "column"),
            );
        }
        if matches!(kind, FieldKind::Calculated { .. }) && f.required == Some(true) {
            self.err(
                at,
                Msg::new("form_error.not_for_kind")
                    .arg("key", "required")
                    .arg("kind", "calculated"),
            );
        }
        Field {
            id: f.id,
            label,
            hint,
            unit: f.unit,
            ucum: f.ucum,
            loinc: f.loinc,
            required: f.required.unwrap_or(false),
            required_if,
            visible_if,
            kind,
        }
    }

    fn limits(&mut self, at: &str, range: &Option<Vec<f64>>, plausible: &Option<Vec<f64>>) -> Limits {
        let range = range.as_ref().and_then(|r| self.interval(&format!("{at}.range"), r));
        let plausible = plausible
            .as_ref()
            .and_then(|r| self.interval(&format!("{at}.plausible"), r));
        if let (Some(r), Some(p)) = (range, plausible) {
            if p.0 < r.0 || p.1 > r.1 {
                self.err(at, Msg::new("form_error.plausible_outside_range"));
            }
        }
        Limits { range, plausible }
    }

    fn interval(&mut self, at: &str, r: &[f64]) -> Option<(f64, f64)> {
        match r {
            [lo, hi] if lo <= hi => Some((*lo, *hi)),
            _ => {
                self.err(at, Msg::new("form_error.bad_interval"));
                None
            }
        }
    }

    fn options(&mut self, at: &str, opts: &Option<Vec<RawOption>>) -> Vec<ChoiceOption> {
        let Some(opts) = opts else {
            self.err(at, Msg::new("form_error.missing_key").arg("key", "options"));
            return Vec::new();
        };
        if opts.is_empty() {
            self.err(at, Msg::new("form_error.missing_key").arg("key", "options"));
        }
        let mut codes = HashSet::new();
        opts.iter()
            .enumerate()
            .map(|(oi, o)| {
                let oat = format!("{at}.options[{oi}]");
                if o.code.is_empty() || !o.code.chars().all(|c| c.is_ascii_alphanumeric()) {
                    self.err(&oat, Msg::new("form_error.bad_code").arg("code", &o.code));
                }
                if !codes.insert(o.code.clone()) {
                    self.err(&oat, Msg::new("form_error.duplicate_code").arg("code", &o.code));
                }
                let label = self.text(
                    &oat,
                    RawText {
                        zh: o.zh.clone(),
                        en: o.en.clone(),
                    },
                );
                ChoiceOption {
                    code: o.code.clone(),
                    label,
                    exclusive: o.exclusive,
                    detail: o.detail,
                }
            })
            .collect()
    }

    fn kind(&mut self, at: &str, f: &RawField, paths: &PathTable, in_row: bool) -> FieldKind {
        let scalar_only = |v: &mut Self, key: &str, present: bool, kind: &str| {
            if present {
                v.err(
                    at,
                    Msg::new("form_error.not_for_kind").arg("key", key).arg("kind", kind),
                );
            }
        };
        let kind_name = f.kind.as_str();
        scalar_only(
            self,
            "options",
            f.options.is_some() && !matches!(kind_name, "choice" | "multi" | "pair"),
            kind_name,
        );
        scalar_only(self, "column", f.columns.is_some() && kind_name != "rows", kind_name);
        scalar_only(
            self,
            "formula",
            f.formula.is_some() && kind_name != "calculated",
            kind_name,
        );
        scalar_only(
            self,
            "systolic/diastolic",
            (f.systolic.is_some() || f.diastolic.is_some()) && kind_name != "blood_pressure",
            kind_name,
        );
        scalar_only(
            self,
            "precision",
            f.precision.is_some() && !matches!(kind_name, "decimal" | "pair" | "calculated"),
            kind_name,
        );
        scalar_only(
            self,
            "max_choices",
            f.max_choices.is_some() && kind_name != "multi",
            kind_name,
        );
        match kind_name {
            "text" => FieldKind::Text {
                max_len: f.max_len.unwrap_or(200),
            },
            "integer" => FieldKind::Integer(NumSpec {
                limits: self.limits(at, &f.range, &f.plausible),
                precision: 0,
            }),
            "decimal" => FieldKind::Decimal(NumSpec {
                limits: self.limits(at, &f.range, &f.plausible),
                precision: self.precision(at, f.precision),
            }),
            "date" => FieldKind::Date {
                not_future: f.not_future.unwrap_or(false),
            },
            "choice" => FieldKind::Choice {
                options: self.options(at, &f.options),
            },
            "multi" => {
                let options = self.options(at, &f.options);
                if f.max_choices == Some(0) {
                    self.err(at, Msg::new("form_error.bad_interval"));
                }
                FieldKind::Multi {
                    options,
                    max_choices: f.max_choices,
                }
            }
            "id_number" => FieldKind::IdNumber,
            "phone" => FieldKind::Phone,
            "pair" => {
                let of = match f.of.as_deref() {
                    Some("integer") => FieldKind::Integer(NumSpec {
                        limits: self.limits(at, &f.range, &f.plausible),
                        precision: 0,
                    }),
                    Some("decimal") => FieldKind::Decimal(NumSpec {
                        limits: self.limits(at, &f.range, &f.plausible),
                        precision: self.precision(at, f.precision),
                    }),
                    Some("choice") => FieldKind::Choice {
                        options: self.options(at, &f.options),
                    },
                    other => {
                        self.err(
                            at,
                            Msg::new("form_error.unknown_value")
                                .arg("value", other.unwrap_or(""))
                                .arg("allowed", "of = integer, decimal, choice"),
                        );
                        FieldKind::Text { max_len: 0 }
                    }
                };
                FieldKind::Pair { of: Box::new(of) }
            }
            "blood_pressure" => {
                let sys = f.systolic.clone().unwrap_or(RawLimits {
                    range: Some(vec![60.0, 300.0]),
                    plausible: None,
                });
                let dia = f.diastolic.clone().unwrap_or(RawLimits {
                    range: Some(vec![30.0, 200.0]),
                    plausible: None,
                });
                FieldKind::BloodPressure {
                    systolic: self.limits(&format!("{at}.systolic"), &sys.range, &sys.plausible),
                    diastolic: self.limits(&format!("{at}.diastolic"), &dia.range, &dia.plausible),
                }
            }
            "rows" => {
                if in_row {
                    self.err(at, Msg::new("form_error.nested_rows"));
                }
                let cols = f.columns.clone().unwrap_or_default();
                if cols.is_empty() {
                    self.err(at, Msg::new("form_error.missing_key").arg("key", "column"));
                }
                let mut col_ids = HashSet::new();
                let columns = cols
                    .into_iter()
                    .enumerate()
                    .map(|(ci, c)| {
                        let cat = format!("{at}.column[{ci}] ({})", c.id);
                        if !col_ids.insert(c.id.clone()) {
                            self.err(&cat, Msg::new("form_error.duplicate_field").arg("id", &c.id));
                        }
                        let col = self.field(&cat, c, paths, true);
                        if matches!(
                            col.kind,
                            FieldKind::Pair { .. }
                                | FieldKind::BloodPressure { .. }
                                | FieldKind::Rows { .. }
                                | FieldKind::Calculated { .. }
                                | FieldKind::Multi { .. }
                        ) {
                            self.err(
                                &cat,
                                Msg::new("form_error.not_for_kind")
                                    .arg("key", col.kind.name())
                                    .arg("kind", "column"),
                            );
                        }
                        col
                    })
                    .collect();
                FieldKind::Rows {
                    columns,
                    max_rows: f.max_rows,
                }
            }
            "calculated" => {
                let inputs = f.inputs.clone().unwrap_or_default();
                let formula = match f.formula.as_deref() {
                    Some("bmi") => {
                        let mut get = |name: &str| -> String {
                            match inputs.get(name) {
                                Some(p) if paths.contains_key(p) => p.clone(),
                                Some(p) => {
                                    self.err(at, Msg::new("form_error.unknown_path").arg("path", p));
                                    String::new()
                                }
                                None => {
                                    self.err(
                                        at,
                                        Msg::new("form_error.missing_key").arg("key", format!("inputs.{name}")),
                                    );
                                    String::new()
                                }
                            }
                        };
                        Formula::Bmi {
                            weight: get("weight"),
                            height: get("height"),
                        }
                    }
                    other => {
                        self.err(
                            at,
                            Msg::new("form_error.unknown_value")
                                .arg("value", other.unwrap_or(""))
                                .arg("allowed", "formula = bmi"),
                        );
                        Formula::Bmi {
                            weight: String::new(),
                            height: String::new(),
                        }
                    }
                };
                FieldKind::Calculated {
                    formula,
                    precision: f.precision.unwrap_or(1),
                    limits: self.limits(at, &f.range, &f.plausible),
                }
            }
            other => {
                self.err(at, Msg::new("form_error.unknown_kind").arg("kind", other).arg(
                    "allowed",
                    "text, integer, decimal, date, choice, multi, id_number, phone, pair, blood_pressure, rows, calculated",
                ));
                FieldKind::Text { max_len: 0 }
            }
        }
    }

    fn precision(&mut self, at: &str, p: Option<u8>) -> u8 {
        match p {
            Some(p) if p > 6 => {
                self.err(at, Msg::new("form_error.bad_precision").arg("value", p));
                6
            }
            Some(p) => p,
            None => 1,
        }
    }

    fn cond(&mut self, at: &str, c: RawCond, paths: &PathTable) -> Cond {
        let subjects = [
            c.field.is_some(),
            c.context.is_some(),
            c.all.is_some(),
            c.any.is_some(),
            c.not.is_some(),
        ];
        if subjects.iter().filter(|b| **b).count() != 1 {
            self.err(at, Msg::new("form_error.cond_subject"));
            return Cond::All(Vec::new());
        }
        if let Some(all) = c.all {
            return Cond::All(
                all.into_iter()
                    .enumerate()
                    .map(|(i, c)| self.cond(&format!("{at}.all[{i}]"), c, paths))
                    .collect(),
            );
        }
        if let Some(any) = c.any {
            return Cond::Any(
                any.into_iter()
                    .enumerate()
                    .map(|(i, c)| self.cond(&format!("{at}.any[{i}]"), c, paths))
                    .collect(),
            );
        }
        if let Some(not) = c.not {
            return Cond::Not(Box::new(self.cond(&format!("{at}.not"), *not, paths)));
        }
        let (subject, codes) = if let Some(field) = c.field {
            match paths.get(&field) {
                Some(None) => (Subject::Field(field), Some(Vec::new())),
                Some(codes) => (Subject::Field(field), codes.clone()),
                None => {
                    self.err(at, Msg::new("form_error.unknown_path").arg("path", &field));
                    (Subject::Field(field), None)
                }
            }
        } else {
            match c.context.as_deref() {
                Some("sex") => (
                    Subject::Context(ContextVar::Sex),
                    Some(vec!["0".into(), "1".into(), "2".into(), "9".into()]),
                ),
                Some("age") => (Subject::Context(ContextVar::Age), None),
                other => {
                    self.err(
                        at,
                        Msg::new("form_error.unknown_value")
                            .arg("value", other.unwrap_or(""))
                            .arg("allowed", "context = sex, age"),
                    );
                    (Subject::Context(ContextVar::Age), None)
                }
            }
        };
        let mut tests = Vec::new();
        for (list, make) in [
            (c.any_of, Test::AnyOf as fn(Vec<String>) -> Test),
            (c.none_of, Test::NoneOf),
        ] {
            if let Some(list) = list {
                if codes.as_ref().is_some_and(|c| c.is_empty()) {
                    self.err(at, Msg::new("form_error.codes_on_uncoded"));
                } else if let Some(known) = &codes {
                    for code in list.iter().filter(|code| !known.contains(code)) {
                        self.err(
                            at,
                            Msg::new("form_error.unknown_code_in_cond")
                                .arg("code", code)
                                .arg("allowed", known.join(" ")),
                        );
                    }
                }
                tests.push(make(list));
            }
        }
        if let Some(v) = c.at_least {
            tests.push(Test::AtLeast(v));
        }
        if let Some(v) = c.at_most {
            tests.push(Test::AtMost(v));
        }
        if let Some(v) = c.answered {
            tests.push(Test::Answered(v));
        }
        if tests.is_empty() {
            self.err(at, Msg::new("form_error.cond_no_test"));
        }
        Cond::Is { subject, tests }
    }

    fn check(&mut self, at: &str, c: RawCheck, paths: &PathTable) -> Option<Check> {
        let level = match c.level.as_deref().unwrap_or("error") {
            "error" => Level::Error,
            "warning" => Level::Warning,
            other => {
                self.err(
                    at,
                    Msg::new("form_error.unknown_value")
                        .arg("value", other)
                        .arg("allowed", "error, warning"),
                );
                Level::Error
            }
        };
        let message = match c.message {
            Some(m) => self.text(&format!("{at}.message"), m),
            None => {
                self.err(at, Msg::new("form_error.missing_key").arg("key", "message"));
                Text {
                    zh: String::new(),
                    en: String::new(),
                }
            }
        };
        let path = |v: &mut Self, key: &str, p: Option<String>| -> String {
            match p {
                Some(p) if paths.contains_key(&p) => p,
                Some(p) => {
                    v.err(at, Msg::new("form_error.unknown_path").arg("path", &p));
                    p
                }
                None => {
                    v.err(at, Msg::new("form_error.missing_key").arg("key", key));
                    String::new()
                }
            }
        };
        let rule = match c.kind.as_str() {
            "less_than" => CheckRule::LessThan {
                left: path(self, "left", c.left),
                right: path(self, "right", c.right),
            },
            "not_after" => CheckRule::NotAfter {
                left: path(self, "left", c.left),
                right: path(self, "right", c.right),
            },
            "when" => match c.when {
                Some(w) => CheckRule::When(self.cond(&format!("{at}.when"), w, paths)),
                None => {
                    self.err(at, Msg::new("form_error.missing_key").arg("key", "when"));
                    return None;
                }
            },
            other => {
                self.err(
                    at,
                    Msg::new("form_error.unknown_value")
                        .arg("value", other)
                        .arg("allowed", "less_than, not_after, when"),
                );
                return None;
            }
        };
        let focus = match c.focus {
            Some(f) => path(self, "focus", Some(f)),
            None => match &rule {
                CheckRule::LessThan { right, .. } | CheckRule::NotAfter { right, .. } => right.clone(),
                CheckRule::When(cond) => first_field(cond).unwrap_or_default(),
            },
        };
        Some(Check {
            id: c.id,
            rule,
            level,
            message,
            focus,
        })
    }
}

fn first_field(c: &Cond) -> Option<String> {
    match c {
        Cond::Is {
            subject: Subject::Field(f),
            ..
        } => Some(f.clone()),
        Cond::Is { .. } => None,
        Cond::All(cs) | Cond::Any(cs) => cs.iter().find_map(first_field),
        Cond::Not(c) => first_field(c),
    }
}

/// Records the answer paths a field offers to conditions and checks.
fn register_paths(f: &RawField, paths: &mut PathTable) {
    let codes = f
        .options
        .as_ref()
        .map(|o| o.iter().map(|o| o.code.clone()).collect::<Vec<_>>());
    match f.kind.as_str() {
        "pair" => {
            paths.insert(f.id.clone(), None);
            paths.insert(format!("{}.current", f.id), codes.clone());
            paths.insert(format!("{}.target", f.id), codes);
        }
        "blood_pressure" => {
            paths.insert(f.id.clone(), None);
            paths.insert(format!("{}.systolic", f.id), None);
            paths.insert(format!("{}.diastolic", f.id), None);
        }
        "rows" => {
            paths.insert(f.id.clone(), None);
        }
        _ => {
            let has_detail = f.options.as_ref().is_some_and(|o| o.iter().any(|o| o.detail));
            if has_detail {
                paths.insert(format!("{}.detail", f.id), None);
            }
            paths.insert(f.id.clone(), codes);
        }
    }
}

fn is_identifier(s: &str, allow_dash: bool) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || (allow_dash && c == '-'))
}
