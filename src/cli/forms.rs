//! `jkda forms`: list, check and export the forms; and loading the forms
//! every other command and the TUI use (the shipped ones with the versions
//! adopted from the platform, or a site's own directory).

use super::{ExportFormat, FormsCmd};
use crate::form::{FormError, Registry};
use crate::i18n::I18n;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn describe(e: &FormError, i18n: &I18n) -> String {
    if e.path.is_empty() {
        format!("{}: {}", e.file, i18n.msg(&e.msg))
    } else {
        format!("{}: {}: {}", e.file, e.path, i18n.msg(&e.msg))
    }
}

/// The forms to use, and a one-line description of each file that failed.
pub fn load_registry(forms_dir: Option<&Path>, data_dir: &Path, i18n: &I18n) -> (Registry, Vec<String>) {
    let registry = match forms_dir {
        Some(d) => Registry::from_dir(d).unwrap_or_else(|e| {
            let mut r = Registry::embedded();
            r.failures.push((
                d.to_path_buf(),
                vec![FormError {
                    file: d.display().to_string(),
                    path: String::new(),
                    msg: crate::i18n::Msg::new("form_error.unreadable").arg("reason", e),
                }],
            ));
            r
        }),
        // The shipped forms, with newer versions adopted from the platform.
        None => Registry::embedded_with(&crate::paths::adopted_forms_dir(data_dir)),
    };
    let failures = registry
        .failures
        .iter()
        .map(|(_, errs)| {
            let first = errs.first().map(|e| describe(e, i18n)).unwrap_or_default();
            if errs.len() > 1 {
                format!("{first} (+{})", errs.len() - 1)
            } else {
                first
            }
        })
        .collect();
    (registry, failures)
}

/// `jkda forms list|check|export`.
pub fn run(cmd: &FormsCmd, forms_dir: Option<&Path>, data_dir: &Path, i18n: &I18n) -> ExitCode {
    match cmd {
        FormsCmd::List => {
            let (registry, failures) = load_registry(forms_dir, data_dir, i18n);
            for d in registry.all() {
                println!("{}\t{}\t{}", d.id, d.version, d.title.get(i18n.lang()));
            }
            for f in &failures {
                eprintln!("{}", i18n.tf("cli.form_failed", &[("detail", f)]));
            }
            if failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        FormsCmd::Check { files } => {
            let files: Vec<PathBuf> = if files.is_empty() {
                match forms_dir {
                    Some(d) => match std::fs::read_dir(d) {
                        Ok(rd) => {
                            let mut v: Vec<PathBuf> = rd
                                .filter_map(|e| e.ok().map(|e| e.path()))
                                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                                .collect();
                            v.sort();
                            v
                        }
                        Err(e) => {
                            eprintln!(
                                "{}",
                                i18n.tf(
                                    "cli.io_error",
                                    &[("path", &d.display().to_string()), ("detail", &e.to_string())]
                                )
                            );
                            return ExitCode::from(2);
                        }
                    },
                    None => {
                        // The built-in forms.
                        let mut bad = 0;
                        for (name, src) in crate::form::registry::EMBEDDED {
                            bad += report_check(name, crate::form::parse_form(name, src), i18n);
                        }
                        return if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) };
                    }
                }
            } else {
                files.clone()
            };
            let mut bad = 0;
            for path in &files {
                let name = path.display().to_string();
                match crate::bounded_read::read_to_string(path, crate::bounded_read::FORM_FILE) {
                    Ok(src) => bad += report_check(&name, crate::form::parse_form(&name, &src), i18n),
                    Err(e) => {
                        eprintln!("{}", i18n.msg(&crate::bounded_read::message(path, &e)));
                        return ExitCode::from(2);
                    }
                }
            }
            if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        FormsCmd::Export {
            id,
            format: ExportFormat::Fhir,
        } => {
            let (registry, _) = load_registry(forms_dir, data_dir, i18n);
            match registry.get(id) {
                Some(def) => {
                    let q = crate::form::fhir::questionnaire(def);
                    println!("{}", serde_json::to_string_pretty(&q).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                None => {
                    let known: Vec<&str> = registry.all().map(|d| d.id.as_str()).collect();
                    eprintln!(
                        "{}",
                        i18n.tf("cli.unknown_form", &[("id", id), ("known", &known.join(", "))])
                    );
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn report_check(name: &str, result: Result<crate::form::FormDef, Vec<FormError>>, i18n: &I18n) -> usize {
    match result {
        Ok(def) => {
            println!(
                "{}",
                i18n.tf(
                    "cli.form_ok",
                    &[("file", name), ("id", &def.id), ("version", &def.version)]
                )
            );
            0
        }
        Err(errs) => {
            for e in &errs {
                eprintln!("{}", describe(e, i18n));
            }
            eprintln!(
                "{}",
                i18n.tf("cli.form_bad", &[("file", name), ("count", &errs.len().to_string())])
            );
            1
        }
    }
}
