//! The focusable inputs of a form as it stands: hidden fields drop out,
//! repeating rows grow a blank row to type into, and an option that asks for
//! details adds a detail input. Recomputed after every change.

use crate::form::def::{FieldKind, FormDef};
use crate::form::rules::Evaluation;
use crate::form::Answers;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Whole,
    Systolic,
    Diastolic,
    Current,
    Target,
    Detail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub path: String,
    pub section: usize,
    pub field: usize,
    /// For a cell of repeating rows: (row, column index).
    pub cell: Option<(usize, usize)>,
    pub part: Part,
}

impl Slot {
    /// The kind of value typed into this slot (always a scalar kind).
    pub fn kind<'a>(&self, def: &'a FormDef) -> &'a FieldKind {
        const TEXT: FieldKind = FieldKind::Text { max_len: 500 };
        // A slot always comes from `compute` over the same form; a text
        // input is the harmless answer should it ever not.
        let Some(field) = self.field(def) else {
            return &TEXT;
        };
        match (&field.kind, self.part, self.cell) {
            (FieldKind::Rows { columns, .. }, _, Some((_, c))) => columns.get(c).map_or(&TEXT, |col| &col.kind),
            (_, Part::Detail, _) => &TEXT,
            (FieldKind::Pair { of }, _, _) => of,
            (FieldKind::BloodPressure { .. }, _, _) => {
                const BP: FieldKind = FieldKind::Integer(crate::form::def::NumSpec {
                    limits: crate::form::def::Limits {
                        range: None,
                        plausible: None,
                    },
                    precision: 0,
                });
                &BP
            }
            (k, _, _) => k,
        }
    }

    /// The field id this slot belongs to.
    pub fn field_id<'a>(&self, def: &'a FormDef) -> &'a str {
        self.field(def).map_or("", |f| f.id.as_str())
    }

    fn field<'a>(&self, def: &'a FormDef) -> Option<&'a crate::form::def::Field> {
        def.sections.get(self.section)?.fields.get(self.field)
    }
}

pub fn compute(def: &FormDef, answers: &Answers, eval: &Evaluation) -> Vec<Slot> {
    let mut out = Vec::new();
    for (si, s) in def.sections.iter().enumerate() {
        for (fi, f) in s.fields.iter().enumerate() {
            if !eval.is_visible(&f.id) {
                continue;
            }
            let slot = |path: String, part| Slot {
                path,
                section: si,
                field: fi,
                cell: None,
                part,
            };
            match &f.kind {
                FieldKind::Calculated { .. } => {}
                FieldKind::Pair { of } => {
                    out.push(slot(format!("{}.current", f.id), Part::Current));
                    out.push(slot(format!("{}.target", f.id), Part::Target));
                    let _ = of;
                }
                FieldKind::BloodPressure { .. } => {
                    out.push(slot(format!("{}.systolic", f.id), Part::Systolic));
                    out.push(slot(format!("{}.diastolic", f.id), Part::Diastolic));
                }
                FieldKind::Rows { columns, max_rows } => {
                    let n = answers.row_count(&f.id);
                    let shown = if max_rows.is_some_and(|m| n >= m) { n } else { n + 1 };
                    for r in 0..shown {
                        for (ci, c) in columns.iter().enumerate() {
                            out.push(Slot {
                                path: format!("{}.{r}.{}", f.id, c.id),
                                section: si,
                                field: fi,
                                cell: Some((r, ci)),
                                part: Part::Whole,
                            });
                        }
                    }
                }
                FieldKind::Choice { options } | FieldKind::Multi { options, .. } => {
                    out.push(slot(f.id.clone(), Part::Whole));
                    let mut chosen: Vec<&str> = answers.codes(&f.id).iter().map(String::as_str).collect();
                    chosen.extend(answers.text(&f.id));
                    if options.iter().any(|o| o.detail && chosen.contains(&o.code.as_str())) {
                        out.push(slot(format!("{}.detail", f.id), Part::Detail));
                    }
                }
                _ => out.push(slot(f.id.clone(), Part::Whole)),
            }
        }
    }
    out
}
