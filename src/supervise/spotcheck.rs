//! Spot checks: a reproducible random sample of a site's records, and for
//! each a checklist of what to compare with the resident or the paper
//! register. The same seed over the same records draws the same sample, so
//! the bureau and the site can both re-draw it.

use crate::form::answers::Answers;
use crate::form::def::{FieldKind, FormDef};
use crate::i18n::Lang;

/// splitmix64: tiny, well known, and the same on every platform.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (rejection sampling: no modulo bias).
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// Indexes of `n` of `count` items (sorted ascending), drawn by a partial
/// Fisher–Yates shuffle seeded with `seed`. The caller sorts the records
/// the same way every time (by id), which makes the draw reproducible.
pub fn draw(count: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..count).collect();
    let mut rng = SplitMix(seed);
    let take = n.min(count);
    for i in 0..take {
        let j = i + rng.below((count - i) as u64) as usize;
        idx.swap(i, j);
    }
    idx.truncate(take);
    idx.sort_unstable();
    idx
}

/// Most items a checklist asks about: a supervisor checks a handful per
/// record, not the whole form.
const CHECK_ITEMS: usize = 10;

/// What to verify in a record: its date, then the measurements and the
/// choices the standard requires, each with the value on the platform.
pub fn checklist(def: &FormDef, a: &Answers, lang: Lang) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let fields = def
        .sections
        .iter()
        .filter(|s| s.visible_if.is_none())
        .flat_map(|s| &s.fields);
    let date_first = fields
        .clone()
        .filter(|f| def.date_field.as_deref() == Some(f.id.as_str()));
    let rest = fields.filter(|f| def.date_field.as_deref() != Some(f.id.as_str()));
    for f in date_first.chain(rest) {
        if out.len() >= CHECK_ITEMS {
            break;
        }
        let is_date = def.date_field.as_deref() == Some(f.id.as_str());
        let value = match &f.kind {
            FieldKind::BloodPressure { .. } => match (
                a.text(&format!("{}.systolic", f.id)),
                a.text(&format!("{}.diastolic", f.id)),
            ) {
                (Some(s), Some(d)) => Some(format!("{s}/{d} mmHg")),
                _ => None,
            },
            FieldKind::Integer(_) | FieldKind::Decimal(_) if f.required || f.loinc.is_some() => a
                .text(&f.id)
                .map(|v| format!("{v}{}", f.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default())),
            FieldKind::Pair { .. } if f.loinc.is_some() => a
                .text(&format!("{}.current", f.id))
                .map(|v| format!("{v}{}", f.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default())),
            FieldKind::Choice { options } if f.required => a
                .text(&f.id)
                .and_then(|c| options.iter().find(|o| o.code == c))
                .map(|o| o.label.get(lang).to_string()),
            FieldKind::Rows { .. } if f.required || a.row_count(&f.id) > 0 => {
                let n = a.row_count(&f.id);
                (n > 0).then(|| n.to_string())
            }
            FieldKind::Date { .. } if is_date => a.text(&f.id).map(str::to_string),
            _ => None,
        };
        if let Some(v) = value {
            out.push((f.label.get(lang).to_string(), v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Registry;

    #[test]
    fn the_same_seed_draws_the_same_sample_and_another_seed_another() {
        let a = draw(500, 20, 7);
        assert_eq!(a, draw(500, 20, 7));
        assert_ne!(a, draw(500, 20, 8));
        assert_eq!(a.len(), 20);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a.iter().all(|i| *i < 500));
        assert_eq!(draw(5, 20, 1), vec![0, 1, 2, 3, 4]);
        assert!(draw(0, 20, 1).is_empty());
    }

    #[test]
    fn every_record_is_drawn_about_equally_often() {
        let mut hits = [0u32; 10];
        for seed in 0..2000 {
            for i in draw(10, 3, seed) {
                hits[i] += 1;
            }
        }
        // 600 expected each; a biased draw would be far off.
        assert!(hits.iter().all(|h| (480..=720).contains(h)), "{hits:?}");
    }

    #[test]
    fn a_follow_up_checklist_starts_with_the_visit_date_and_asks_for_the_blood_pressure() {
        let forms = Registry::embedded();
        let def = forms.get("hypertension-followup").unwrap();
        let mut a = Answers::new();
        a.set_text("visit_date", "2026-03-02");
        a.set_text("bp.systolic", "150");
        a.set_text("bp.diastolic", "95");
        a.set_text("visit_method", "1");
        let list = checklist(def, &a, Lang::Zh);
        assert_eq!(list.first().map(|x| x.1.as_str()), Some("2026-03-02"));
        assert!(list.iter().any(|(_, v)| v == "150/95 mmHg"), "{list:?}");
    }
}
