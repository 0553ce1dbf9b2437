//! A form file's text, as a site might write it: loading gives a form or
//! the list of what is wrong with it, never a panic; a form that loads can
//! be turned into its FHIR Questionnaire and its rules evaluated.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(def) = jkda::form::parse_form("fuzz.toml", text) else {
        return;
    };
    let _ = jkda::form::fhir::questionnaire(&def);
    let ctx = jkda::form::rules::Context {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).expect("a date"),
        sex: Some("2".into()),
        birth_date: chrono::NaiveDate::from_ymd_opt(1950, 3, 1),
    };
    let _ = jkda::form::rules::evaluate(&def, &jkda::form::Answers::new(), &ctx);
});
