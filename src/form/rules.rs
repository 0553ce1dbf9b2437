//! Interprets answers against a form: what is visible, what is required,
//! calculated values, and every finding (error or warning) the standard and
//! the form's own checks produce. Pure: the date comes in through `Context`.

use super::answers::{parse_date, parse_number, Answers};
use super::def::*;
use crate::i18n::Msg;
use crate::identity::{age::age_on, idcard, phone};
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashSet};

/// Facts about the resident that rules may use (sex, age at the record date).
#[derive(Debug, Clone)]
pub struct Context {
    pub today: NaiveDate,
    pub sex: Option<String>,
    pub birth_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FindingText {
    Msg(Msg),
    Form(Text),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub path: String,
    pub level: Level,
    pub text: FindingText,
}

#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    pub computed: BTreeMap<String, f64>,
    pub hidden: HashSet<String>,
    /// Fields required as things stand (always, or by `required_if`).
    pub required: HashSet<String>,
    pub required_total: usize,
    pub required_filled: usize,
}

impl Evaluation {
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.level == Level::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.level == Level::Warning)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// Findings on one answer path or on the field it belongs to.
    pub fn at<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.path == path)
    }

    pub fn is_visible(&self, field_id: &str) -> bool {
        !self.hidden.contains(field_id)
    }
}

struct Eval<'a> {
    def: &'a FormDef,
    answers: &'a Answers,
    ctx: Context,
    out: Evaluation,
}

pub fn evaluate(def: &FormDef, answers: &Answers, ctx: &Context) -> Evaluation {
    let mut ctx = ctx.clone();
    // A registration form describes the resident itself.
    if let Some(sex) = def.resident.sex.as_deref().and_then(|p| answers.text(p)) {
        ctx.sex = Some(sex.to_string());
    }
    if let Some(b) = def
        .resident
        .birth_date
        .as_deref()
        .and_then(|p| answers.text(p))
        .and_then(|s| parse_date(s, ctx.today))
    {
        ctx.birth_date = Some(b);
    }
    let mut e = Eval {
        def,
        answers,
        ctx,
        out: Evaluation::default(),
    };
    e.compute();
    e.fields();
    e.identity();
    e.checks();
    e.out
}

impl<'a> Eval<'a> {
    fn record_date(&self) -> NaiveDate {
        self.def
            .date_field
            .as_deref()
            .and_then(|p| self.answers.text(p))
            .and_then(|s| parse_date(s, self.ctx.today))
            .unwrap_or(self.ctx.today)
    }

    fn push(&mut self, path: &str, level: Level, msg: Msg) {
        self.out.findings.push(Finding {
            path: path.to_string(),
            level,
            text: FindingText::Msg(msg),
        });
    }

    fn compute(&mut self) {
        for (_, f) in self.def.fields() {
            if let FieldKind::Calculated {
                formula: Formula::Bmi { weight, height },
                precision,
                ..
            } = &f.kind
            {
                let w = self.answers.text(weight).and_then(parse_number).map(|v| v.0);
                let h = self.answers.text(height).and_then(parse_number).map(|v| v.0);
                if let (Some(w), Some(h)) = (w, h) {
                    if w > 0.0 && h > 0.0 {
                        let bmi = w / (h / 100.0).powi(2);
                        let scale = 10f64.powi(i32::from(*precision));
                        self.out.computed.insert(f.id.clone(), (bmi * scale).round() / scale);
                    }
                }
            }
        }
    }

    fn number_at(&self, path: &str) -> Option<f64> {
        if let Some(v) = self.out.computed.get(path) {
            return Some(*v);
        }
        self.answers.text(path).and_then(parse_number).map(|v| v.0)
    }

    pub fn cond(&self, c: &Cond) -> bool {
        match c {
            Cond::All(cs) => cs.iter().all(|c| self.cond(c)),
            Cond::Any(cs) => cs.iter().any(|c| self.cond(c)),
            Cond::Not(c) => !self.cond(c),
            Cond::Is { subject, tests } => tests.iter().all(|t| self.test(subject, t)),
        }
    }

    fn test(&self, subject: &Subject, t: &Test) -> bool {
        let (codes, number): (Vec<String>, Option<f64>) = match subject {
            Subject::Field(p) => {
                let mut codes: Vec<String> = self.answers.codes(p).to_vec();
                if let Some(t) = self.answers.text(p) {
                    codes.push(t.to_string());
                }
                if self.answers.row_count(p) > 0 {
                    // A repeating field counts as answered once it has a row.
                    codes.push(String::new());
                }
                (codes, self.number_at(p))
            }
            Subject::Context(ContextVar::Sex) => (self.ctx.sex.iter().cloned().collect(), None),
            Subject::Context(ContextVar::Age) => {
                let age = self.ctx.birth_date.and_then(|b| age_on(b, self.record_date()));
                (Vec::new(), age.map(f64::from))
            }
        };
        match t {
            Test::AnyOf(list) => codes.iter().any(|c| list.contains(c)),
            Test::NoneOf(list) => !codes.iter().any(|c| list.contains(c)),
            Test::AtLeast(v) => number.is_some_and(|n| n >= *v),
            Test::AtMost(v) => number.is_some_and(|n| n <= *v),
            Test::Answered(want) => (!codes.is_empty() || number.is_some()) == *want,
        }
    }

    fn fields(&mut self) {
        let def = self.def;
        for s in &def.sections {
            let section_visible = s.visible_if.as_ref().is_none_or(|c| self.cond(c));
            for f in &s.fields {
                let visible = section_visible && f.visible_if.as_ref().is_none_or(|c| self.cond(c));
                if !visible {
                    self.out.hidden.insert(f.id.clone());
                    continue;
                }
                let required = f.required || f.required_if.as_ref().is_some_and(|c| self.cond(c));
                if required {
                    self.out.required.insert(f.id.clone());
                }
                self.field(f, &f.id, required);
            }
        }
    }

    /// Checks one field (or a row cell) whose answers live under `path`.
    fn field(&mut self, f: &Field, path: &str, required: bool) {
        match &f.kind {
            FieldKind::Pair { of } => {
                self.require(required, &[&format!("{path}.current")], path);
                for part in ["current", "target"] {
                    self.scalar(of, &format!("{path}.{part}"));
                }
            }
            FieldKind::BloodPressure { systolic, diastolic } => {
                let (sp, dp) = (format!("{path}.systolic"), format!("{path}.diastolic"));
                self.require(required, &[&sp, &dp], path);
                let s = self.number(
                    &sp,
                    NumSpec {
                        limits: *systolic,
                        precision: 0,
                    },
                );
                let d = self.number(
                    &dp,
                    NumSpec {
                        limits: *diastolic,
                        precision: 0,
                    },
                );
                if let (Some(s), Some(d)) = (s, d) {
                    if s <= d {
                        self.push(&dp, Level::Error, Msg::new("rules.bp_order"));
                    }
                }
            }
            FieldKind::Rows { columns, max_rows } => {
                let n = self.answers.row_count(path);
                if required {
                    self.out.required_total += 1;
                    if n > 0 {
                        self.out.required_filled += 1;
                    } else {
                        // At the first cell (a validated table has columns).
                        let at = columns
                            .first()
                            .map_or_else(|| path.to_string(), |c| format!("{path}.0.{}", c.id));
                        self.push(&at, Level::Error, Msg::new("rules.required"));
                    }
                }
                if let Some(max) = max_rows.filter(|m| n > *m) {
                    self.push(path, Level::Error, Msg::new("rules.too_many_rows").arg("max", max));
                }
                for i in 0..n {
                    let any = columns
                        .iter()
                        .any(|c| self.answers.is_answered(&format!("{path}.{i}.{}", c.id)));
                    for c in columns {
                        self.field(c, &format!("{path}.{i}.{}", c.id), any && c.required);
                    }
                }
            }
            FieldKind::Calculated { limits, .. } => {
                // A calculated value out of bounds means an input is wrong, so it
                // is reported but never blocks: the inputs carry their own errors.
                if let Some(v) = self.out.computed.get(&f.id).copied() {
                    let bounds = limits.range.into_iter().chain(limits.plausible);
                    if let Some((lo, hi)) = bounds.into_iter().find(|(lo, hi)| v < *lo || v > *hi) {
                        self.push(
                            path,
                            Level::Warning,
                            Msg::new("rules.implausible")
                                .arg("min", fmt_num(lo))
                                .arg("max", fmt_num(hi)),
                        );
                    }
                }
            }
            FieldKind::Multi { options, max_choices } => {
                self.require(required, &[path], path);
                let chosen = self.answers.codes(path).to_vec();
                for c in &chosen {
                    if !options.iter().any(|o| &o.code == c) {
                        self.push(path, Level::Error, Msg::new("rules.unknown_code").arg("code", c));
                    }
                }
                if chosen.len() > 1 {
                    if let Some(o) = options.iter().find(|o| o.exclusive && chosen.contains(&o.code)) {
                        self.push(path, Level::Error, Msg::new("rules.exclusive").arg("option", &o.code));
                    }
                }
                if let Some(max) = max_choices.filter(|m| chosen.len() > *m) {
                    self.push(path, Level::Error, Msg::new("rules.too_many_choices").arg("max", max));
                }
                self.details(options, &chosen, path);
            }
            FieldKind::Choice { options } => {
                self.require(required, &[path], path);
                let chosen: Vec<String> = self.answers.text(path).map(|s| vec![s.to_string()]).unwrap_or_default();
                self.scalar(&f.kind, path);
                self.details(options, &chosen, path);
            }
            kind => {
                self.require(required, &[path], path);
                self.scalar(kind, path);
            }
        }
    }

    fn details(&mut self, options: &[ChoiceOption], chosen: &[String], path: &str) {
        let detail = format!("{path}.detail");
        if options.iter().any(|o| o.detail && chosen.contains(&o.code)) && !self.answers.is_answered(&detail) {
            self.push(&detail, Level::Error, Msg::new("rules.detail_required"));
        }
    }

    fn require(&mut self, required: bool, paths: &[&str], field_path: &str) {
        if !required {
            return;
        }
        self.out.required_total += 1;
        let missing: Vec<&&str> = paths.iter().filter(|p| !self.answers.is_answered(p)).collect();
        if missing.is_empty() {
            self.out.required_filled += 1;
        } else {
            let at = if paths.len() == 1 {
                field_path.to_string()
            } else {
                missing[0].to_string()
            };
            self.push(&at, Level::Error, Msg::new("rules.required"));
        }
    }

    fn scalar(&mut self, kind: &FieldKind, path: &str) {
        let Some(raw) = self.answers.text(path).map(str::to_string) else {
            return;
        };
        match kind {
            FieldKind::Integer(spec) | FieldKind::Decimal(spec) => {
                self.number(path, *spec);
            }
            FieldKind::Date { not_future } => match parse_date(&raw, self.ctx.today) {
                None => self.push(path, Level::Error, Msg::new("rules.bad_date").arg("value", &raw)),
                Some(d) if *not_future && d > self.ctx.today => {
                    self.push(path, Level::Error, Msg::new("rules.future_date"))
                }
                Some(_) => {}
            },
            FieldKind::Choice { options } if !options.iter().any(|o| o.code == raw) => {
                self.push(path, Level::Error, Msg::new("rules.unknown_code").arg("code", &raw));
            }
            FieldKind::Text { max_len } if raw.chars().count() > *max_len => {
                self.push(path, Level::Error, Msg::new("rules.too_long").arg("max", max_len));
            }
            FieldKind::IdNumber => {
                if let Err(e) = idcard::parse_id(&raw, self.ctx.today) {
                    self.push(path, Level::Error, e.message());
                }
            }
            FieldKind::Phone => {
                if let Err(e) = phone::parse_phone(&raw) {
                    self.push(path, Level::Error, e.message());
                }
            }
            _ => {}
        }
    }

    fn number(&mut self, path: &str, spec: NumSpec) -> Option<f64> {
        let raw = self.answers.text(path)?.to_string();
        let Some((v, decimals)) = parse_number(&raw) else {
            self.push(path, Level::Error, Msg::new("rules.not_a_number").arg("value", &raw));
            return None;
        };
        if decimals > usize::from(spec.precision) {
            let key = if spec.precision == 0 {
                "rules.whole_number"
            } else {
                "rules.too_many_decimals"
            };
            self.push(path, Level::Error, Msg::new(key).arg("precision", spec.precision));
            return None;
        }
        if let Some((lo, hi)) = spec.limits.range {
            if v < lo || v > hi {
                self.push(
                    path,
                    Level::Error,
                    Msg::new("rules.out_of_range")
                        .arg("min", fmt_num(lo))
                        .arg("max", fmt_num(hi)),
                );
                return None;
            }
        }
        if let Some((lo, hi)) = spec.limits.plausible {
            if v < lo || v > hi {
                self.push(
                    path,
                    Level::Warning,
                    Msg::new("rules.implausible")
                        .arg("min", fmt_num(lo))
                        .arg("max", fmt_num(hi)),
                );
            }
        }
        Some(v)
    }

    /// ID number against the sex and birth date typed on the same form.
    fn identity(&mut self) {
        let b = &self.def.resident;
        let Some(id_path) = b.id_number.clone() else { return };
        if self.out.hidden.contains(&id_path) {
            return;
        }
        let Some(raw) = self.answers.text(&id_path) else { return };
        let Ok(id) = idcard::parse_id(raw, self.ctx.today) else {
            return;
        };
        let sex = b.sex.as_deref().and_then(|p| self.answers.text(p));
        let birth = b
            .birth_date
            .as_deref()
            .and_then(|p| self.answers.text(p))
            .and_then(|s| parse_date(s, self.ctx.today));
        for m in idcard::check_consistency(&id, sex, birth) {
            self.push(&id_path, Level::Error, m.message());
        }
    }

    fn checks(&mut self) {
        let def = self.def;
        for c in &def.checks {
            let fired = match &c.rule {
                CheckRule::LessThan { left, right } => self.compare(left, right).is_some_and(|o| o.is_ge()),
                CheckRule::NotAfter { left, right } => self.compare(left, right).is_some_and(|o| o.is_gt()),
                CheckRule::When(cond) => self.cond(cond),
            };
            let focus_hidden = c.focus.split('.').next().is_some_and(|f| self.out.hidden.contains(f));
            if fired && !focus_hidden {
                self.out.findings.push(Finding {
                    path: c.focus.clone(),
                    level: c.level,
                    text: FindingText::Form(c.message.clone()),
                });
            }
        }
    }

    /// Compares two answers as dates when both are dates, else as numbers.
    fn compare(&self, left: &str, right: &str) -> Option<std::cmp::Ordering> {
        let today = self.ctx.today;
        let (l, r) = (self.answers.text(left), self.answers.text(right));
        if let (Some(l), Some(r)) = (
            l.and_then(|s| parse_date(s, today)),
            r.and_then(|s| parse_date(s, today)),
        ) {
            return Some(l.cmp(&r));
        }
        let (l, r) = (self.number_at(left)?, self.number_at(right)?);
        l.partial_cmp(&r)
    }
}

/// Evaluates a single condition (used by the UI for section visibility).
pub fn holds(def: &FormDef, answers: &Answers, ctx: &Context, c: &Cond) -> bool {
    let e = Eval {
        def,
        answers,
        ctx: ctx.clone(),
        out: Evaluation::default(),
    };
    e.cond(c)
}

pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}
