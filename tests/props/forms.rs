//! The form files: mangled copies load or give their errors, never a
//! panic, and a form that still loads opens, fills and finalizes.

use crate::mangle::{edit, mangle, mangle_tree, toml_snippet, tree_edit};
use crate::today;
use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::sample::Index;
use std::path::Path;
use std::sync::Arc;

/// The standard forms: name, text and parsed tree (read once per run).
fn form_files() -> &'static [(String, String, toml::Value)] {
    static FILES: std::sync::OnceLock<Vec<(String, String, toml::Value)>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("forms");
        let mut files: Vec<(String, String, toml::Value)> = std::fs::read_dir(&dir)
            .expect("forms/")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("readable");
                let tree = toml::Value::Table(toml::from_str(&text).expect("TOML"));
                (p.display().to_string(), text, tree)
            })
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(files.len() >= 4, "the standard forms are in forms/");
        files
    })
}

/// A form that loads must also open: its rules evaluate and its inputs are
/// laid out, with no answers and with every input given a value.
fn use_form(def: jkda::form::FormDef, value: &str) {
    let ctx = jkda::form::rules::Context {
        today: today(),
        sex: Some("1".into()),
        birth_date: NaiveDate::from_ymd_opt(1950, 3, 1),
    };
    let _ = jkda::form::fhir::questionnaire(&def);
    let def = Arc::new(def);
    let mut form = jkda::app::FormState::new(
        def.clone(),
        1,
        Default::default(),
        Default::default(),
        ctx.clone(),
        false,
        None,
    );
    let clock = jkda::app::Clock {
        today: today(),
        time: chrono::NaiveTime::MIN,
        instant: std::time::Instant::now(),
    };
    // The first screens' worth: most kinds of input the standard forms have.
    for _ in 0..form.slots.len().min(30) {
        form.type_text(value, &clock);
        form.handle_action(jkda::keymap::Action::NextField, &clock);
    }
    let _ = jkda::form::rules::evaluate(&def, &form.answers, &ctx);
    form.handle_action(jkda::keymap::Action::Finalize, &clock);
}

proptest! {
    // Each case loads a form of up to 60 KB and types into it: a few seconds in all.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A broken form file is an error with its place, never a panic; one
    /// that still loads can be filled in.
    #[test]
    fn a_mangled_form_file_is_an_error_not_a_panic(file in any::<Index>(), edits in prop::collection::vec(edit(), 1..5),
        value in prop::sample::select(vec!["1", "2026-11-29", "72.5", "张三", ""]))
    {
        let files = form_files();
        let (name, src, _) = &files[file.index(files.len())];
        let text = mangle(src, &edits);
        match jkda::form::parse_form(name, &text) {
            Ok(def) => use_form(def, value),
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    /// Still TOML, but with keys gone, values moved and of the wrong type:
    /// every problem is reported, and a form that still loads can be filled in.
    #[test]
    fn a_form_with_changed_values_is_an_error_not_a_panic(file in any::<Index>(), edits in prop::collection::vec(tree_edit(), 1..4),
        value in prop::sample::select(vec!["1", "2026-11-29", "72.5", "张三", ""]))
    {
        let files = form_files();
        let (name, _, tree) = &files[file.index(files.len())];
        let Some(text) = mangle_tree(tree, &edits) else { return Ok(()) };
        match jkda::form::parse_form(name, &text) {
            Ok(def) => use_form(def, value),
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    #[test]
    fn random_text_is_not_a_form(text in prop_oneof![any::<String>(), toml_snippet()]) {
        if let Err(errors) = jkda::form::parse_form("random.toml", &text) {
            prop_assert!(!errors.is_empty());
        }
    }
}

/// The unchanged files load and fill (the base the mutations start from).
#[test]
fn every_standard_form_opens_and_fills() {
    for (name, src, _) in form_files() {
        let def = jkda::form::parse_form(name, src).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        use_form(def, "1");
    }
}
