//! The forms jkda offers. The standard forms shipped in `forms/` are compiled
//! in, so the binary works anywhere; a site may point `--forms-dir` (or put
//! files in the data directory's `forms/`) at revised versions. A record
//! always opens with the version it was filled with: the store keeps the
//! source of every version that was ever used (see `Store::form_source`).

use super::def::{FormDef, Role};
use super::load::{load_dir, parse_form, FormError};
use std::path::{Path, PathBuf};

pub const EMBEDDED: [(&str, &str); 4] = [
    (
        "resident-basic-info.toml",
        include_str!("../../forms/resident-basic-info.toml"),
    ),
    ("health-exam.toml", include_str!("../../forms/health-exam.toml")),
    (
        "hypertension-followup.toml",
        include_str!("../../forms/hypertension-followup.toml"),
    ),
    (
        "diabetes-followup.toml",
        include_str!("../../forms/diabetes-followup.toml"),
    ),
];

#[derive(Default)]
pub struct Registry {
    /// Each form with the exact text it was parsed from.
    forms: Vec<(FormDef, String)>,
    pub failures: Vec<(PathBuf, Vec<FormError>)>,
}

impl Registry {
    pub fn embedded() -> Self {
        let mut r = Registry::default();
        for (name, src) in EMBEDDED {
            match parse_form(name, src) {
                Ok(def) => r.forms.push((def, src.to_string())),
                Err(errs) => r.failures.push((PathBuf::from(name), errs)),
            }
        }
        r
    }

    /// Forms from a directory; an unreadable directory is an error, a broken
    /// file only a recorded failure.
    pub fn from_dir(dir: &Path) -> std::io::Result<Self> {
        let loaded = load_dir(dir)?;
        Ok(Registry {
            forms: loaded.forms,
            failures: loaded.failures,
        })
    }

    /// The shipped forms, each replaced by a newer version of the same id
    /// from `dir` (where forms adopted from the platform are kept); forms
    /// only in `dir` are added. A missing directory is the shipped forms.
    pub fn embedded_with(dir: &Path) -> Self {
        let mut r = Registry::embedded();
        let Ok(loaded) = load_dir(dir) else {
            return r;
        };
        for (def, src) in loaded.forms {
            match r.forms.iter().position(|(d, _)| d.id == def.id) {
                Some(i) => {
                    let newer = super::published::compare_versions(&def.version, &r.forms[i].0.version).is_gt();
                    if newer {
                        r.forms[i] = (def, src);
                    }
                }
                None => r.forms.push((def, src)),
            }
        }
        r.failures.extend(loaded.failures);
        r
    }

    pub fn get(&self, id: &str) -> Option<&FormDef> {
        self.forms.iter().map(|(d, _)| d).find(|d| d.id == id)
    }

    pub fn source(&self, id: &str) -> Option<&str> {
        self.forms.iter().find(|(d, _)| d.id == id).map(|(_, s)| s.as_str())
    }

    pub fn all(&self) -> impl Iterator<Item = &FormDef> {
        self.forms.iter().map(|(d, _)| d)
    }

    pub fn registration(&self) -> Option<&FormDef> {
        self.all().find(|d| d.role == Role::Registration)
    }

    /// Forms a person can start on a resident's page (not registration).
    pub fn visit_forms(&self) -> Vec<&FormDef> {
        self.all().filter(|d| d.role != Role::Registration).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `forms/` is compiled in, and every one loads.
    #[test]
    fn every_shipped_form_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("forms");
        let reg = Registry::from_dir(&dir).expect("forms/ readable");
        let i18n = crate::i18n::I18n::new(crate::i18n::Lang::En);
        let report: Vec<String> = reg
            .failures
            .iter()
            .flat_map(|(_, errs)| {
                errs.iter()
                    .map(|e| format!("{} {}: {}", e.file, e.path, i18n.msg(&e.msg)))
            })
            .collect();
        assert!(report.is_empty(), "broken forms:\n{}", report.join("\n"));
        let mut on_disk: Vec<String> = reg.all().map(|d| format!("{}.toml", d.id)).collect();
        let mut embedded: Vec<String> = EMBEDDED.iter().map(|(n, _)| n.to_string()).collect();
        on_disk.sort();
        embedded.sort();
        assert_eq!(on_disk, embedded, "forms/ and the embedded list differ");
        assert_eq!(Registry::embedded().all().count(), EMBEDDED.len());
    }
}
