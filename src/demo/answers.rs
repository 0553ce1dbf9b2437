//! Filling a demo record the way a careful doctor would: every visible
//! required item gets a plausible value within its limits.

use crate::form::def::{FieldKind, FormDef};
use crate::form::rules::{evaluate, Context};
use crate::form::Answers;
use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::Rng;

/// Fills every visible required input still empty with a plausible value, so
/// demo records are complete the way a careful doctor's would be.
/// Stops as soon as a pass finds nothing to fill, so a record already
/// complete costs one evaluation.
pub fn complete_required(def: &FormDef, answers: &mut Answers, ctx: &Context, date: NaiveDate, rng: &mut StdRng) {
    for _round in 0..3 {
        let eval = evaluate(def, answers, ctx);
        let mut filled = false;
        for (_, f) in def.fields() {
            if !eval.required.contains(&f.id) {
                continue;
            }
            filled |= fill(&f.kind, &f.id, answers, date, rng);
        }
        if !filled {
            return;
        }
    }
}

pub(super) fn number_in(limits: &crate::form::def::Limits, precision: u8, rng: &mut StdRng) -> String {
    let (lo, hi) = limits.plausible.or(limits.range).unwrap_or((1.0, 10.0));
    let v = lo + (hi - lo) * rng.random_range(0.3..0.6);
    format!("{:.*}", usize::from(precision), v)
}

/// Fills one empty answer; whether anything was filled.
pub(super) fn fill(kind: &FieldKind, path: &str, answers: &mut Answers, date: NaiveDate, rng: &mut StdRng) -> bool {
    match kind {
        // Parts live under their own paths: `bp.systolic`, `weight.current`, `meds.0.name`.
        FieldKind::Pair { of } => return fill(of, &format!("{path}.current"), answers, date, rng),
        FieldKind::BloodPressure { .. } => {
            let (s, d) = (format!("{path}.systolic"), format!("{path}.diastolic"));
            if answers.is_answered(&s) && answers.is_answered(&d) {
                return false;
            }
            answers.set_text(&s, &rng.random_range(110..150).to_string());
            answers.set_text(&d, &rng.random_range(65..92).to_string());
            return true;
        }
        FieldKind::Rows { columns, .. } => {
            let mut filled = false;
            for c in columns {
                filled |= fill(&c.kind, &format!("{path}.0.{}", c.id), answers, date, rng);
            }
            return filled;
        }
        _ => {}
    }
    if answers.is_answered(path) {
        return false;
    }
    match kind {
        FieldKind::Text { .. } => answers.set_text(path, "—"),
        FieldKind::Integer(s) => answers.set_text(path, &number_in(&s.limits, 0, rng)),
        FieldKind::Decimal(s) => answers.set_text(path, &number_in(&s.limits, s.precision, rng)),
        FieldKind::Date { .. } => answers.set_text(path, &date.format("%Y-%m-%d").to_string()),
        FieldKind::Choice { options } => match options.iter().find(|o| !o.detail) {
            Some(o) => answers.set_text(path, &o.code),
            None => return false,
        },
        FieldKind::Multi { options, .. } => match options.iter().find(|o| !o.detail) {
            Some(o) => answers.set_codes(path, vec![o.code.clone()]),
            None => return false,
        },
        _ => return false,
    }
    true
}

pub(super) fn set_if_field(def: &FormDef, answers: &mut Answers, path: &str, value: &str) {
    let field = path.split('.').next().unwrap_or(path);
    if def.field(field).is_some() {
        answers.set_text(path, value);
    }
}
