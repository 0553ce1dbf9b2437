//! The form loader against a corpus of broken form files, the shipped forms
//! against the loader and the FHIR exporter, and the `jkda forms` commands.
//!
//! Every file in `tests/forms/broken/` demonstrates one class of mistake (or,
//! in `many_errors.toml`, several at once) and states what the loader must
//! report in its leading comment lines:
//!
//! ```text
//! # expect: form_error.duplicate_field          one line per error (a multiset)
//! # expect-path: section[1].field[0] (age)      where that error is (optional)
//! # expect-text: age                            text its message contains (optional)
//! ```
//!
//! `expect-path` and `expect-text` belong to the `expect` line above them.

use jkda::form::def::{Cond, FieldKind, FormDef, Subject, Test};
use jkda::form::registry::EMBEDDED;
use jkda::form::{parse_form, FormError, Registry};
use jkda::i18n::{I18n, Lang};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNIT_EXT: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit";
const UCUM: &str = "http://unitsofmeasure.org";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/forms")
}

fn broken_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join("broken"))
        .expect("tests/forms/broken exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn good_file() -> PathBuf {
    corpus_dir().join("good/minimal.toml")
}

#[derive(Debug, Default)]
struct Expect {
    key: String,
    path: Option<String>,
    texts: Vec<String>,
}

/// The `# expect…` lines of the leading comment block.
fn expectations(src: &str) -> Vec<Expect> {
    let mut out: Vec<Expect> = Vec::new();
    for line in src.lines().take_while(|l| l.starts_with('#') || l.trim().is_empty()) {
        let Some(rest) = line.strip_prefix('#').map(str::trim) else {
            continue;
        };
        if let Some(key) = rest.strip_prefix("expect:") {
            out.push(Expect {
                key: key.trim().to_string(),
                ..Expect::default()
            });
        } else if let Some(path) = rest.strip_prefix("expect-path:") {
            let last = out.last_mut().expect("expect-path follows an expect line");
            assert!(last.path.is_none(), "two expect-path lines for one expect");
            last.path = Some(path.trim().to_string());
        } else if let Some(text) = rest.strip_prefix("expect-text:") {
            let last = out.last_mut().expect("expect-text follows an expect line");
            last.texts.push(text.trim().to_string());
        }
    }
    out
}

/// `{name}` placeholders in a text.
fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    out.push(name.to_string());
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// An error's message in one language, or why it cannot be shown properly.
fn render(e: &FormError, i18n: &I18n) -> Result<String, String> {
    let lang = i18n.lang().code();
    let template = i18n.t(e.msg.key);
    if template == e.msg.key {
        return Err(format!("{lang}: key {} is missing from the catalogue", e.msg.key));
    }
    for name in placeholders(template) {
        if !e.msg.args.iter().any(|(k, _)| *k == name) {
            return Err(format!(
                "{lang}: {} has {{{name}}} but the loader gave no such argument",
                e.msg.key
            ));
        }
    }
    let text = i18n.msg(&e.msg);
    if text == e.msg.key {
        return Err(format!("{lang}: {} rendered as its key", e.msg.key));
    }
    if let Some(name) = placeholders(&text)
        .into_iter()
        .find(|n| placeholders(template).contains(n))
    {
        return Err(format!("{lang}: {} left {{{name}}} unfilled: {text}", e.msg.key));
    }
    Ok(text)
}

fn describe(errs: &[FormError]) -> String {
    let en = I18n::new(Lang::En);
    errs.iter()
        .map(|e| format!("    {} @ {:?}: {}", e.msg.key, e.path, en.msg(&e.msg)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks one broken file; returns every way it differs from its expectations.
fn check_broken(path: &Path, i18n: &[I18n; 2]) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let src = std::fs::read_to_string(path).expect("readable corpus file");
    let expected = expectations(&src);
    let mut problems = Vec::new();
    if expected.is_empty() {
        return vec![format!("{name}: no `# expect:` lines")];
    }
    let errs = match parse_form(&name, &src) {
        Ok(def) => return vec![format!("{name}: loaded without error as form {}", def.id)],
        Err(errs) => errs,
    };

    let mut got_keys: Vec<&str> = errs.iter().map(|e| e.msg.key).collect();
    let mut want_keys: Vec<&str> = expected.iter().map(|e| e.key.as_str()).collect();
    got_keys.sort_unstable();
    want_keys.sort_unstable();
    if got_keys != want_keys {
        problems.push(format!(
            "{name}: expected keys {want_keys:?}, got {got_keys:?}\n{}",
            describe(&errs)
        ));
    }

    // Match each expectation with path/text to a distinct reported error.
    let mut unused: Vec<&FormError> = errs.iter().collect();
    for exp in &expected {
        let fits = |e: &FormError| {
            e.msg.key == exp.key
                && exp.path.as_ref().is_none_or(|p| &e.path == p)
                && exp
                    .texts
                    .iter()
                    .all(|t| i18n.iter().all(|l| l.msg(&e.msg).contains(t.as_str())))
        };
        match unused.iter().position(|e| fits(e)) {
            Some(i) => {
                unused.remove(i);
            }
            None => problems.push(format!(
                "{name}: no {} error at {:?} containing {:?}\n{}",
                exp.key,
                exp.path.as_deref().unwrap_or("(any place)"),
                exp.texts,
                describe(&errs)
            )),
        }
    }

    for e in &errs {
        if e.file != name {
            problems.push(format!("{name}: error names file {:?}", e.file));
        }
        for l in i18n {
            if let Err(why) = render(e, l) {
                problems.push(format!("{name}: {why}"));
            }
        }
    }
    problems
}

#[test]
fn broken_corpus_reports_exactly_the_expected_errors() {
    let files = broken_files();
    assert!(
        files.len() >= 20,
        "the corpus should hold at least 20 broken files, has {}",
        files.len()
    );
    let i18n = [I18n::new(Lang::Zh), I18n::new(Lang::En)];
    let problems: Vec<String> = files.iter().flat_map(|f| check_broken(f, &i18n)).collect();
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn one_file_with_many_mistakes_reports_every_one() {
    let path = corpus_dir().join("broken/many_errors.toml");
    let src = std::fs::read_to_string(&path).unwrap();
    let errs = parse_form("many_errors.toml", &src).expect_err("many_errors.toml is broken");
    let kinds: BTreeSet<&str> = errs.iter().map(|e| e.msg.key).collect();
    assert!(kinds.len() >= 3, "only {kinds:?} reported:\n{}", describe(&errs));
    assert_eq!(errs.len(), expectations(&src).len(), "{}", describe(&errs));
}

#[test]
fn the_corpus_demonstrates_every_loader_message() {
    // Every form_error message parse_form can produce has a broken file showing
    // it; the three that only load_dir produces are covered by the registry tests.
    let en = I18n::new(Lang::En);
    let all: BTreeSet<String> = en.keys().filter(|k| k.starts_with("form_error.")).cloned().collect();
    let covered: BTreeSet<String> = broken_files()
        .iter()
        .flat_map(|f| expectations(&std::fs::read_to_string(f).unwrap()))
        .map(|e| e.key)
        .chain([
            "form_error.unreadable".to_string(),
            "form_error.duplicate_form".to_string(),
            "form_error.too_large".to_string(),
        ])
        .collect();
    let missing: Vec<&String> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "no broken file demonstrates {missing:?}");
    let unknown: Vec<&String> = covered.difference(&all).collect();
    assert!(
        unknown.is_empty(),
        "corpus expects keys the catalogue lacks: {unknown:?}"
    );
}

#[test]
fn syntax_errors_name_their_line() {
    // A mistake on the very first line, and one on the last line of the file.
    let first = "id = \"x\nversion = \"1\"\n";
    let errs = parse_form("first.toml", first).unwrap_err();
    assert_eq!(errs[0].msg.key, "form_error.syntax");
    assert_eq!(errs[0].path, "line 1", "{}", describe(&errs));

    let last = "id = \"x\"\nversion = \"1\"\ntitle = { zh = \"测\", en = \"t\" }\n[[section]]\nid = = 1\n";
    let errs = parse_form("last.toml", last).unwrap_err();
    assert_eq!(errs[0].path, "line 5", "{}", describe(&errs));

    // The error starts at the first column of line 3 (an unknown key): the
    // line is 3, not the 2 complete lines before it.
    let col0 = "id = \"x\"\nversion = \"1\"\nversoin = \"2\"\n";
    let errs = parse_form("col0.toml", col0).unwrap_err();
    assert!(
        errs[0].path == "line 3",
        "reported {:?}:\n{}",
        errs[0].path,
        describe(&errs)
    );
}

#[test]
fn every_shipped_form_parses() {
    for (name, src) in EMBEDDED {
        if let Err(errs) = parse_form(name, src) {
            panic!("{name} does not load:\n{}", describe(&errs));
        }
    }
    let reg = Registry::embedded();
    assert!(reg.failures.is_empty());
    let mut ids: Vec<&str> = reg.all().map(|d| d.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "diabetes-followup",
            "health-exam",
            "hypertension-followup",
            "resident-basic-info"
        ]
    );
    assert!(reg.registration().is_some());
    assert_eq!(reg.visit_forms().len(), 3);
}

#[test]
fn registry_loads_the_good_file_and_names_the_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(good_file(), dir.path().join("good.toml")).unwrap();
    std::fs::copy(
        corpus_dir().join("broken/duplicate_field.toml"),
        dir.path().join("broken.toml"),
    )
    .unwrap();
    // Ignored: a leading underscore, and not a .toml file.
    std::fs::copy(
        corpus_dir().join("broken/many_errors.toml"),
        dir.path().join("_draft.toml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("README.txt"), "not a form").unwrap();

    let reg = Registry::from_dir(dir.path()).expect("directory readable");
    let ids: Vec<&str> = reg.all().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["test-minimal"]);
    assert!(reg.source("test-minimal").is_some_and(|s| s.contains("test-minimal")));
    assert_eq!(
        reg.failures.len(),
        1,
        "{:?}",
        reg.failures.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let (path, errs) = &reg.failures[0];
    assert_eq!(path.file_name().unwrap(), "broken.toml");
    assert!(!errs.is_empty());
    for e in errs {
        assert!(
            e.file.ends_with("broken.toml"),
            "error does not name the file: {:?}",
            e.file
        );
    }
    assert!(errs.iter().any(|e| e.msg.key == "form_error.duplicate_field"));
}

#[test]
fn registry_refuses_a_second_file_with_the_same_form_id() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(good_file(), dir.path().join("a.toml")).unwrap();
    std::fs::copy(good_file(), dir.path().join("b.toml")).unwrap();
    let reg = Registry::from_dir(dir.path()).unwrap();
    assert_eq!(reg.all().count(), 1);
    assert_eq!(reg.failures.len(), 1);
    let (path, errs) = &reg.failures[0];
    assert_eq!(path.file_name().unwrap(), "b.toml");
    assert_eq!(errs[0].msg.key, "form_error.duplicate_form");
    for l in [I18n::new(Lang::Zh), I18n::new(Lang::En)] {
        let text = render(&errs[0], &l).unwrap();
        assert!(text.contains("test-minimal"), "{text}");
    }
}

#[test]
fn registry_names_a_file_too_large_for_a_form_and_loads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(good_file(), dir.path().join("a.toml")).unwrap();
    // Comments only, so today's size is the one thing wrong with it.
    let big = "# 注释\n".repeat((2 << 20) / 9 + 1);
    std::fs::write(dir.path().join("big.toml"), big).unwrap();
    let reg = Registry::from_dir(dir.path()).unwrap();
    assert_eq!(reg.all().count(), 1);
    let (path, errs) = &reg.failures[0];
    assert_eq!(path.file_name().unwrap(), "big.toml");
    assert_eq!(errs[0].msg.key, "form_error.too_large");
    for l in [I18n::new(Lang::Zh), I18n::new(Lang::En)] {
        let text = render(&errs[0], &l).unwrap();
        assert!(text.contains("2 MB"), "{text}");
    }
}

#[test]
fn registry_from_a_missing_directory_is_an_error() {
    assert!(Registry::from_dir(Path::new("/no/such/jkda/forms/dir")).is_err());
}

// ---------------------------------------------------------------- FHIR

/// Every item of a Questionnaire, depth first.
fn items(v: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    if let Some(list) = v.get("item").and_then(Value::as_array) {
        for it in list {
            out.push(it);
            out.extend(items(it));
        }
    }
    out
}

const ITEM_TYPES: [&str; 16] = [
    "group",
    "display",
    "boolean",
    "decimal",
    "integer",
    "date",
    "dateTime",
    "time",
    "string",
    "text",
    "url",
    "choice",
    "open-choice",
    "attachment",
    "reference",
    "quantity",
];

/// (linkId, field) for every field and row column of a form.
fn fields_with_links(def: &FormDef) -> Vec<(String, &jkda::form::def::Field)> {
    let mut out = Vec::new();
    for (_, f) in def.fields() {
        out.push((f.id.clone(), f));
        if let FieldKind::Rows { columns, .. } = &f.kind {
            for c in columns {
                out.push((format!("{}.{}", f.id, c.id), c));
            }
        }
    }
    out
}

#[test]
fn every_unit_in_words_has_an_english_rendering() {
    let en = I18n::new(Lang::En);
    let mut missing = Vec::new();
    for def in Registry::embedded().all() {
        for (path, field) in fields_with_links(def) {
            let Some(unit) = &field.unit else { continue };
            // Symbols (mmHg, kg/m², ℃, ×10⁹/L) read the same in both languages.
            let in_words = unit.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
            if in_words && en.unit(unit) == *unit {
                missing.push(format!("{}: {path} ({unit})", def.id));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "add these to [unit] in assets/i18n/en.toml: {missing:?}"
    );
    assert_eq!(en.unit("次/分钟"), "/min");
    assert_eq!(I18n::new(Lang::Zh).unit("次/分钟"), "次/分钟");
    assert_eq!(en.unit("mmHg"), "mmHg");
}

/// Everything wrong with one form's Questionnaire.
fn questionnaire_problems(def: &FormDef) -> Vec<String> {
    let q = jkda::form::fhir::questionnaire(def);
    let mut p = Vec::new();
    let id = &def.id;
    if q["resourceType"] != "Questionnaire" {
        p.push(format!("{id}: resourceType is {}", q["resourceType"]));
    }
    for key in ["url", "version", "status"] {
        if q[key].as_str().is_none_or(str::is_empty) {
            p.push(format!("{id}: {key} missing"));
        }
    }
    if q["url"] != def.url.as_str() || q["version"] != def.version.as_str() {
        p.push(format!(
            "{id}: url/version {} {} differ from the form",
            q["url"], q["version"]
        ));
    }
    if !["draft", "active", "retired", "unknown"].contains(&q["status"].as_str().unwrap_or("")) {
        p.push(format!("{id}: status {} is not a FHIR publication status", q["status"]));
    }

    let all = items(&q);
    let mut by_link: BTreeMap<&str, &Value> = BTreeMap::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for it in &all {
        let link = it["linkId"].as_str().unwrap_or("");
        if link.is_empty() {
            p.push(format!("{id}: item without linkId: {it}"));
        }
        if it["text"].as_str().is_none_or(|t| t.trim().is_empty()) {
            p.push(format!("{id}: item {link} has no text"));
        }
        match it["type"].as_str() {
            Some(t) if ITEM_TYPES.contains(&t) => {}
            other => p.push(format!("{id}: item {link} has type {other:?}")),
        }
        *seen.entry(link).or_default() += 1;
        by_link.insert(link, it);
    }
    for (link, n) in &seen {
        if *n > 1 {
            p.push(format!("{id}: linkId \"{link}\" is used by {n} items"));
        }
    }

    for (link, f) in fields_with_links(def) {
        let Some(item) = by_link.get(link.as_str()) else {
            p.push(format!("{id}: field {link} has no item"));
            continue;
        };
        // Choices: the answerOption codes are the form's codes, in order.
        if let Some(options) = f.kind.options() {
            let want: Vec<&str> = options.iter().map(|o| o.code.as_str()).collect();
            let targets: Vec<String> = match &f.kind {
                FieldKind::Pair { .. } => vec![format!("{link}.current"), format!("{link}.target")],
                _ => vec![link.clone()],
            };
            for t in targets {
                let Some(ci) = by_link.get(t.as_str()) else {
                    p.push(format!("{id}: choice {t} has no item"));
                    continue;
                };
                if ci["type"] != "choice" {
                    p.push(format!("{id}: choice {t} has type {}", ci["type"]));
                }
                let got: Vec<&str> = ci["answerOption"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|o| o["valueCoding"]["code"].as_str().unwrap_or("?"))
                            .collect()
                    })
                    .unwrap_or_default();
                if got != want {
                    p.push(format!("{id}: choice {t} offers {got:?}, the form has {want:?}"));
                }
                if matches!(f.kind, FieldKind::Multi { .. }) && ci["repeats"] != true {
                    p.push(format!("{id}: multi {t} does not repeat"));
                }
            }
        }
        // Required fields.
        if f.required {
            let required_items: Vec<String> = match &f.kind {
                FieldKind::Pair { .. } => vec![format!("{link}.current")],
                FieldKind::BloodPressure { .. } => {
                    vec![link.clone(), format!("{link}.systolic"), format!("{link}.diastolic")]
                }
                _ => vec![link.clone()],
            };
            for r in required_items {
                if by_link.get(r.as_str()).is_none_or(|i| i["required"] != true) {
                    p.push(format!("{id}: required field {r} is not required in the Questionnaire"));
                }
            }
        }
        // Units: on the integer and decimal items that hold the numbers,
        // never on the group around them.
        if let Some(unit) = &f.unit {
            let code = f.ucum.clone().unwrap_or_else(|| unit.clone());
            for target in unit_items(&link, &f.kind) {
                let ext = by_link.get(target.as_str()).and_then(|i| {
                    i["extension"]
                        .as_array()
                        .and_then(|e| e.iter().find(|x| x["url"] == UNIT_EXT))
                });
                match ext {
                    None => p.push(format!(
                        "{id}: {target} has unit {unit} but no questionnaire-unit extension"
                    )),
                    Some(x) => {
                        if x["valueCoding"]["system"] != UCUM {
                            p.push(format!("{id}: {target} unit system is {}", x["valueCoding"]["system"]));
                        }
                        if x["valueCoding"]["code"] != code.as_str() {
                            p.push(format!(
                                "{id}: {target} unit code is {}, expected {code}",
                                x["valueCoding"]["code"]
                            ));
                        }
                    }
                }
            }
        }
        if has_unit_extension(item) && !unit_items(&link, &f.kind).contains(&link) {
            p.push(format!(
                "{id}: {link} ({}) carries a questionnaire-unit extension",
                f.kind.name()
            ));
        }
    }
    p.extend(fhir_rule_problems(&q).into_iter().map(|m| format!("{id}: {m}")));
    p
}

#[test]
fn every_shipped_form_exports_a_consistent_questionnaire() {
    let reg = Registry::embedded();
    let problems: Vec<String> = reg.all().flat_map(questionnaire_problems).collect();
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn questionnaire_unit_codes_are_ucum_syntax() {
    // UCUM codes are printable ASCII; a Chinese unit shown to the user must
    // come with a `ucum` key, or the Coding claims a UCUM code that is none.
    let reg = Registry::embedded();
    let mut bad = Vec::new();
    for def in reg.all() {
        for (link, f) in fields_with_links(def) {
            if let Some(unit) = &f.unit {
                let code = f.ucum.clone().unwrap_or_else(|| unit.clone());
                if !code.chars().all(|c| c.is_ascii_graphic()) {
                    bad.push(format!("{}: {link} unit {unit:?} exports UCUM code {code:?}", def.id));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} field(s) without a UCUM code:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn the_exporter_is_checked_on_the_minimal_form_too() {
    let src = std::fs::read_to_string(good_file()).unwrap();
    let def = parse_form("minimal.toml", &src).unwrap();
    assert_eq!(questionnaire_problems(&def), Vec::<String>::new());
    let q = jkda::form::fhir::questionnaire(&def);
    assert_eq!(q["url"], "urn:jkda:form:test-minimal", "default canonical URL");
}

/// The items that carry a field's unit: the ones holding its numbers.
fn unit_items(link: &str, kind: &FieldKind) -> Vec<String> {
    match kind {
        FieldKind::Integer(_) | FieldKind::Decimal(_) | FieldKind::Calculated { .. } => vec![link.to_string()],
        FieldKind::Pair { of } if matches!(**of, FieldKind::Integer(_) | FieldKind::Decimal(_)) => {
            vec![format!("{link}.current"), format!("{link}.target")]
        }
        FieldKind::BloodPressure { .. } => vec![format!("{link}.systolic"), format!("{link}.diastolic")],
        _ => Vec::new(),
    }
}

fn has_unit_extension(item: &Value) -> bool {
    item["extension"]
        .as_array()
        .is_some_and(|e| e.iter().any(|x| x["url"] == UNIT_EXT))
}

/// The answer[x] an enableWhen on a question of this type compares with.
fn answer_key_for(item_type: &str) -> Option<&'static [&'static str]> {
    Some(match item_type {
        "boolean" => &["answerBoolean"],
        "decimal" => &["answerDecimal"],
        "integer" => &["answerInteger"],
        "date" => &["answerDate"],
        "dateTime" => &["answerDateTime"],
        "time" => &["answerTime"],
        "string" | "text" | "url" => &["answerString"],
        "choice" => &["answerCoding"],
        "open-choice" => &["answerCoding", "answerString"],
        "quantity" => &["answerQuantity"],
        "reference" => &["answerReference"],
        _ => return None,
    })
}

/// Everything in a Questionnaire that breaks the FHIR R4 rules: the que-*
/// invariants, and what the HL7 validator and renderers such as LHC-Forms
/// check beyond them (units only on numbers, enableWhen answers of the
/// question's type and among its options, exists with a boolean, …).
/// Pure JSON: it knows nothing about jkda's forms.
fn fhir_rule_problems(q: &Value) -> Vec<String> {
    let mut p = Vec::new();
    // que-0 (a warning in R4, but a computable name costs nothing).
    let name = q["name"].as_str().unwrap_or("");
    let name_ok = name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.len() <= 255
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !name_ok {
        p.push(format!("que-0: name {name:?} is not [A-Z]([A-Za-z0-9_]){{0,254}}"));
    }
    let all = items(q);
    let mut by_link: BTreeMap<&str, &Value> = BTreeMap::new();
    for it in &all {
        let link = it["linkId"].as_str().unwrap_or("");
        // que-2
        if by_link.insert(link, it).is_some() {
            p.push(format!("que-2: linkId {link:?} is not unique"));
        }
    }
    for it in &all {
        let link = it["linkId"].as_str().unwrap_or("");
        let ty = it["type"].as_str().unwrap_or("");
        let has = |k: &str| it.get(k).is_some();
        let children = it["item"].as_array();
        // que-1
        if ty == "group" && children.is_none_or(|c| c.is_empty()) {
            p.push(format!("que-1: group {link} has no items"));
        }
        if ty == "display" && has("item") {
            p.push(format!("que-1: display {link} has items"));
        }
        // que-3, que-6, que-9
        if ty == "display" {
            for k in ["code", "required", "repeats", "readOnly"] {
                if has(k) {
                    p.push(format!("que-3/6/9: display {link} has {k}"));
                }
            }
        }
        // que-4
        if has("answerOption") && has("answerValueSet") {
            p.push(format!("que-4: {link} has answerOption and answerValueSet"));
        }
        // que-5, as renderers read it: options belong to choice questions.
        if (has("answerOption") || has("answerValueSet")) && !matches!(ty, "choice" | "open-choice") {
            p.push(format!("que-5: {link} ({ty}) has answer options"));
        }
        // que-8
        if has("initial") && matches!(ty, "group" | "display") {
            p.push(format!("que-8: {ty} {link} has initial"));
        }
        // que-10, as the brief for jkda reads it: only strings have a length.
        if has("maxLength") && !matches!(ty, "string" | "text") {
            p.push(format!("que-10: {link} ({ty}) has maxLength"));
        }
        // que-11, que-13
        if has("answerOption") && has("initial") {
            p.push(format!("que-11: {link} has answerOption and initial"));
        }
        if it["initial"].as_array().is_some_and(|i| i.len() > 1) && it["repeats"] != true {
            p.push(format!("que-13: {link} has several initial values but does not repeat"));
        }
        for k in ["required", "repeats", "readOnly"] {
            if has(k) && !it[k].is_boolean() {
                p.push(format!("{link}: {k} is not a boolean"));
            }
        }
        if has("maxLength") && it["maxLength"].as_u64().is_none_or(|n| n == 0) {
            p.push(format!("{link}: maxLength is not a positive integer"));
        }
        // questionnaire-unit: integer, decimal and quantity only.
        for x in it["extension"].as_array().into_iter().flatten() {
            if x["url"] == UNIT_EXT {
                if !matches!(ty, "integer" | "decimal" | "quantity") {
                    p.push(format!("questionnaire-unit on {link}, which is {ty}"));
                }
                if x["valueCoding"]["code"].as_str().is_none_or(str::is_empty) {
                    p.push(format!("{link}: questionnaire-unit without a code"));
                }
            }
        }
        // answerOption: one value each, no code twice.
        if let Some(opts) = it["answerOption"].as_array() {
            let mut codes = BTreeSet::new();
            for o in opts {
                let values = o
                    .as_object()
                    .map(|m| m.keys().filter(|k| k.starts_with("value")).count())
                    .unwrap_or(0);
                if values != 1 {
                    p.push(format!("{link}: an answerOption has {values} value[x]"));
                }
                let key = (
                    o["valueCoding"]["system"].to_string(),
                    o["valueCoding"]["code"].to_string(),
                );
                if !codes.insert(key) {
                    p.push(format!("{link}: answerOption {} twice", o["valueCoding"]["code"]));
                }
            }
        }
        // enableWhen and enableBehavior.
        let conds = it["enableWhen"].as_array();
        if has("enableWhen") && conds.is_none_or(|c| c.is_empty()) {
            p.push(format!("{link}: empty or malformed enableWhen"));
        }
        if has("enableBehavior") {
            if conds.is_none() {
                p.push(format!("{link}: enableBehavior without enableWhen"));
            }
            if !matches!(it["enableBehavior"].as_str(), Some("all" | "any")) {
                p.push(format!("{link}: enableBehavior is {}", it["enableBehavior"]));
            }
        }
        // que-12
        if conds.is_some_and(|c| c.len() > 1) && !has("enableBehavior") {
            p.push(format!("que-12: {link} has several enableWhen and no enableBehavior"));
        }
        for c in conds.into_iter().flatten() {
            let question = c["question"].as_str().unwrap_or("");
            let op = c["operator"].as_str().unwrap_or("");
            let answers: Vec<&String> = c
                .as_object()
                .map(|o| o.keys().filter(|k| k.starts_with("answer")).collect())
                .unwrap_or_default();
            if answers.len() != 1 {
                p.push(format!("{link}: an enableWhen has {} answer[x]", answers.len()));
                continue;
            }
            let answer = answers[0].as_str();
            if !matches!(op, "exists" | "=" | "!=" | ">" | "<" | ">=" | "<=") {
                p.push(format!("{link}: enableWhen operator {op:?}"));
            }
            if question == link {
                p.push(format!("{link}: enableWhen refers to the item itself"));
            }
            let Some(target) = by_link.get(question) else {
                p.push(format!("{link}: enableWhen.question {question:?} is no linkId"));
                continue;
            };
            let tty = target["type"].as_str().unwrap_or("");
            if matches!(tty, "group" | "display") {
                p.push(format!("{link}: enableWhen refers to {question}, a {tty}"));
                continue;
            }
            // que-7
            if op == "exists" {
                if answer != "answerBoolean" {
                    p.push(format!("que-7: {link}: exists with {answer}"));
                }
                continue;
            }
            match answer_key_for(tty) {
                Some(keys) if keys.contains(&answer) => {}
                _ => p.push(format!(
                    "{link}: enableWhen on {question} ({tty}) compares with {answer}"
                )),
            }
            if matches!(tty, "choice" | "open-choice") && !matches!(op, "=" | "!=") {
                p.push(format!("{link}: enableWhen on choice {question} uses {op}"));
            }
            if answer == "answerCoding" {
                let offered = target["answerOption"].as_array().is_some_and(|opts| {
                    opts.iter().any(|o| {
                        o["valueCoding"]["system"] == c["answerCoding"]["system"]
                            && o["valueCoding"]["code"] == c["answerCoding"]["code"]
                    })
                });
                if !offered {
                    p.push(format!(
                        "{link}: enableWhen code {} is not an option of {question}",
                        c["answerCoding"]
                    ));
                }
            }
        }
    }
    p
}

#[test]
fn the_rule_walker_finds_what_renderers_reject() {
    // The checks must bite: a Questionnaire breaking each rule once.
    let q = serde_json::json!({
        "name": "lower_case",
        "item": [
            { "linkId": "g", "text": "g", "type": "group",
              "extension": [{ "url": UNIT_EXT, "valueCoding": { "system": UCUM, "code": "mm[Hg]" } }] },
            { "linkId": "d", "text": "d", "type": "display", "required": true,
              "item": [{ "linkId": "d.x", "text": "x", "type": "string" }] },
            { "linkId": "n", "text": "n", "type": "integer", "maxLength": 3,
              "answerOption": [{ "valueInteger": 1 }] },
            { "linkId": "c", "text": "c", "type": "choice",
              "answerOption": [{ "valueCoding": { "system": "s", "code": "1" } }] },
            { "linkId": "e", "text": "e", "type": "string",
              "enableWhen": [
                { "question": "n", "operator": ">=", "answerDecimal": 1.5 },
                { "question": "c", "operator": "=", "answerCoding": { "system": "s", "code": "9" } },
                { "question": "c", "operator": "exists", "answerCoding": { "system": "s", "code": "1" } },
                { "question": "g", "operator": "exists", "answerBoolean": true }
              ] },
            { "linkId": "e", "text": "again", "type": "string" }
        ]
    });
    let found = fhir_rule_problems(&q).join("\n");
    for want in [
        "que-0",
        "que-1: group g",
        "que-1: display d",
        "que-3/6/9: display d has required",
        "que-5: n",
        "que-10: n",
        "que-12: e",
        "que-7: e",
        "que-2",
        "questionnaire-unit on g",
        "compares with answerDecimal",
        "code {\"code\":\"9\",\"system\":\"s\"} is not an option of c",
        "refers to g, a group",
    ] {
        assert!(found.contains(want), "missed {want:?} in:\n{found}");
    }
}

/// The shipped forms, the minimal test form and the earlier versions kept
/// in `tests/forms/versions/`.
fn every_form_we_know() -> Vec<FormDef> {
    let mut defs: Vec<FormDef> = Registry::embedded().all().cloned().collect();
    defs.push(parse_form("minimal.toml", &std::fs::read_to_string(good_file()).unwrap()).unwrap());
    defs.extend(earlier_versions().into_iter().map(|(_, d)| d));
    defs
}

#[test]
fn every_exported_questionnaire_keeps_the_fhir_rules() {
    let defs = every_form_we_know();
    assert!(defs.len() >= 8, "only {} forms", defs.len());
    let problems: Vec<String> = defs
        .iter()
        .flat_map(|d| {
            let q = jkda::form::fhir::questionnaire(d);
            fhir_rule_problems(&q)
                .into_iter()
                .map(|m| format!("{} {}: {m}", d.id, d.version))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn units_sit_on_the_numbers_not_on_their_group() {
    let reg = Registry::embedded();
    let q = jkda::form::fhir::questionnaire(reg.get("hypertension-followup").unwrap());
    let all = items(&q);
    let item = |link: &str| *all.iter().find(|i| i["linkId"] == link).unwrap();
    for group in ["bp", "weight", "cigarettes"] {
        assert!(!has_unit_extension(item(group)), "{group} carries a unit");
    }
    let unit = |link: &str| item(link)["extension"][0]["valueCoding"]["code"].clone();
    assert_eq!(unit("bp.systolic"), "mm[Hg]");
    assert_eq!(unit("bp.diastolic"), "mm[Hg]");
    assert_eq!(unit("weight.current"), "kg");
    assert_eq!(unit("weight.target"), "kg");
    assert_eq!(unit("heart_rate"), "/min");
    assert_eq!(unit("bmi_current"), "kg/m2");
    // A pair of choices has no unit at all.
    assert!(!has_unit_extension(item("salt.current")));
}

// ---------------------------------------------------------------- skip logic in FHIR

/// How a FHIR client decides whether an item is enabled (R4 rules): its
/// parent must be enabled, and an answer of a disabled question counts as
/// no answer.
struct FhirClient<'a> {
    by_link: BTreeMap<&'a str, &'a Value>,
    parent: BTreeMap<&'a str, &'a str>,
    answers: BTreeMap<String, Vec<Value>>,
}

impl<'a> FhirClient<'a> {
    fn new(q: &'a Value, answers: BTreeMap<String, Vec<Value>>) -> Self {
        fn walk<'a>(v: &'a Value, parent: Option<&'a str>, c: &mut FhirClient<'a>) {
            for it in v["item"].as_array().into_iter().flatten() {
                let link = it["linkId"].as_str().unwrap();
                c.by_link.insert(link, it);
                if let Some(p) = parent {
                    c.parent.insert(link, p);
                }
                walk(it, Some(link), c);
            }
        }
        let mut c = FhirClient {
            by_link: BTreeMap::new(),
            parent: BTreeMap::new(),
            answers,
        };
        walk(q, None, &mut c);
        c
    }

    fn enabled(&self, link: &str) -> bool {
        if self.parent.get(link).is_some_and(|p| !self.enabled(p)) {
            return false;
        }
        let it = self.by_link[link];
        let Some(conds) = it["enableWhen"].as_array() else {
            return true;
        };
        let mut results = conds.iter().map(|c| self.holds(c));
        if it["enableBehavior"] == "any" {
            results.any(|b| b)
        } else {
            results.all(|b| b)
        }
    }

    fn holds(&self, c: &Value) -> bool {
        let question = c["question"].as_str().unwrap();
        let none = Vec::new();
        let answers = if self.enabled(question) {
            self.answers.get(question).unwrap_or(&none)
        } else {
            &none
        };
        let number = |a: &Value| {
            a.get("valueInteger")
                .or_else(|| a.get("valueDecimal"))
                .and_then(Value::as_f64)
        };
        let wanted = c
            .get("answerInteger")
            .or_else(|| c.get("answerDecimal"))
            .and_then(Value::as_f64);
        let equal = |a: &Value| {
            a["valueCoding"]["code"] == c["answerCoding"]["code"]
                && a["valueCoding"]["system"] == c["answerCoding"]["system"]
        };
        let cmp = |f: fn(f64, f64) -> bool| {
            answers
                .iter()
                .any(|a| number(a).zip(wanted).is_some_and(|(x, w)| f(x, w)))
        };
        match c["operator"].as_str().unwrap() {
            "exists" => answers.is_empty() != c["answerBoolean"].as_bool().unwrap(),
            "=" => answers.iter().any(equal),
            "!=" => !answers.iter().any(equal),
            ">=" => cmp(|x, w| x >= w),
            "<=" => cmp(|x, w| x <= w),
            ">" => cmp(|x, w| x > w),
            "<" => cmp(|x, w| x < w),
            op => panic!("operator {op}"),
        }
    }
}

fn cond_paths(c: &Cond, out: &mut Vec<String>) {
    match c {
        Cond::Is {
            subject: Subject::Field(p),
            ..
        } => {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        Cond::Is { .. } => {}
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| cond_paths(c, out)),
        Cond::Not(c) => cond_paths(c, out),
    }
}

fn uses_context(c: &Cond) -> bool {
    match c {
        Cond::Is { subject, .. } => matches!(subject, Subject::Context(_)),
        Cond::All(cs) | Cond::Any(cs) => cs.iter().any(uses_context),
        Cond::Not(c) => uses_context(c),
    }
}

fn thresholds(c: &Cond, path: &str, out: &mut Vec<f64>) {
    match c {
        Cond::Is {
            subject: Subject::Field(p),
            tests,
        } if p == path => {
            for t in tests {
                if let Test::AtLeast(v) | Test::AtMost(v) = t {
                    out.extend([v - 1.0, *v, v + 1.0]);
                }
            }
        }
        Cond::Is { .. } => {}
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| thresholds(c, path, out)),
        Cond::Not(c) => thresholds(c, path, out),
    }
}

/// The field behind an answer path and the kind of that part.
fn part_kind<'a>(def: &'a FormDef, path: &str) -> (&'a str, FieldKind) {
    let (id, part) = path.split_once('.').unwrap_or((path, ""));
    let f = def.field(id).unwrap_or_else(|| panic!("{path}"));
    let kind = match (&f.kind, part) {
        (_, "detail") => FieldKind::Text { max_len: 200 },
        (FieldKind::Pair { of }, _) => (**of).clone(),
        (FieldKind::BloodPressure { .. }, _) => FieldKind::Integer(jkda::form::def::NumSpec {
            limits: jkda::form::def::Limits {
                range: None,
                plausible: None,
            },
            precision: 0,
        }),
        (k, _) => k.clone(),
    };
    (&f.id, kind)
}

/// One answer for a path, in jkda's and in FHIR's spelling.
#[derive(Clone)]
enum Value1 {
    None,
    Code(String),
    Number(f64),
    Text(String),
}

fn candidates(def: &FormDef, path: &str, conds: &[&Cond]) -> Vec<Value1> {
    let (_, kind) = part_kind(def, path);
    let mut out = vec![Value1::None];
    match &kind {
        FieldKind::Choice { options } | FieldKind::Multi { options, .. } => {
            out.extend(options.iter().map(|o| Value1::Code(o.code.clone())))
        }
        FieldKind::Integer(_) | FieldKind::Decimal(_) => {
            let mut t = Vec::new();
            for c in conds {
                thresholds(c, path, &mut t);
            }
            if t.is_empty() {
                t.push(1.0);
            }
            out.extend(t.into_iter().map(Value1::Number));
        }
        FieldKind::Date { .. } => out.push(Value1::Text("2026-01-02".into())),
        _ => out.push(Value1::Text("x".into())),
    }
    out
}

/// Tries every combination of answers to the questions a field's condition
/// reads (and the conditions of those questions, transitively), for a man
/// of 40 and a woman of 70, and returns where jkda and a FHIR client
/// disagree. A FHIR client may show more than jkda where the condition
/// needs the resident (sex, age), never less; elsewhere they must agree.
fn skip_logic_disagreements(def: &FormDef) -> (usize, Vec<String>) {
    use jkda::form::rules::{evaluate, Context};
    let q = jkda::form::fhir::questionnaire(def);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 15).unwrap();
    let people = [
        ("1", chrono::NaiveDate::from_ymd_opt(1986, 5, 1).unwrap()),
        ("2", chrono::NaiveDate::from_ymd_opt(1956, 5, 1).unwrap()),
    ];
    let mut tried = 0;
    let mut out = Vec::new();
    for (_, f) in def.fields() {
        let Some(cond) = &f.visible_if else { continue };
        // The questions this condition reads, and theirs.
        let mut paths = Vec::new();
        let mut conds: Vec<&Cond> = vec![cond];
        cond_paths(cond, &mut paths);
        let mut i = 0;
        while i < paths.len() {
            let id = paths[i].split('.').next().unwrap().to_string();
            if let Some(c) = def.field(&id).and_then(|g| g.visible_if.as_ref()) {
                conds.push(c);
                cond_paths(c, &mut paths);
            }
            i += 1;
        }
        let with_context = conds.iter().any(|c| uses_context(c));
        let choices: Vec<Vec<Value1>> = paths.iter().map(|p| candidates(def, p, &conds)).collect();
        let total: usize = choices.iter().map(Vec::len).product();
        assert!(total <= 20_000, "{}: {} combinations for {}", def.id, total, f.id);
        for n in 0..total {
            let mut answers = jkda::form::Answers::new();
            let mut fhir: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            let mut rest = n;
            let mut picked = Vec::new();
            for (path, options) in paths.iter().zip(&choices) {
                let v = options[rest % options.len()].clone();
                rest /= options.len();
                let (field, kind) = part_kind(def, path);
                let system = format!("{}/CodeSystem/{field}", def.url);
                match &v {
                    Value1::None => {}
                    Value1::Code(c) => {
                        if matches!(kind, FieldKind::Multi { .. }) {
                            answers.set_codes(path, vec![c.clone()]);
                        } else {
                            answers.set_text(path, c);
                        }
                        fhir.insert(
                            path.clone(),
                            vec![serde_json::json!({ "valueCoding": { "system": system, "code": c } })],
                        );
                    }
                    Value1::Number(x) => {
                        let text = if matches!(kind, FieldKind::Integer(_)) {
                            format!("{x:.0}")
                        } else {
                            format!("{x}")
                        };
                        answers.set_text(path, &text);
                        let key = if matches!(kind, FieldKind::Integer(_)) {
                            "valueInteger"
                        } else {
                            "valueDecimal"
                        };
                        fhir.insert(path.clone(), vec![serde_json::json!({ key: x })]);
                    }
                    Value1::Text(t) => {
                        answers.set_text(path, t);
                        fhir.insert(path.clone(), vec![serde_json::json!({ "valueString": t })]);
                    }
                }
                picked.push(format!(
                    "{path}={}",
                    match &v {
                        Value1::None => "-".to_string(),
                        Value1::Code(c) | Value1::Text(c) => c.clone(),
                        Value1::Number(x) => x.to_string(),
                    }
                ));
            }
            let client = FhirClient::new(&q, fhir);
            let fhir_shows = client.enabled(&f.id);
            for (sex, birth) in people {
                let ctx = Context {
                    today,
                    sex: Some(sex.to_string()),
                    birth_date: Some(birth),
                };
                let jkda_shows = evaluate(def, &answers, &ctx).is_visible(&f.id);
                tried += 1;
                let wrong = if with_context {
                    jkda_shows && !fhir_shows
                } else {
                    jkda_shows != fhir_shows
                };
                if wrong {
                    out.push(format!(
                        "{} {}: {} jkda shows {jkda_shows}, FHIR {fhir_shows} (sex {sex}, {})",
                        def.id,
                        def.version,
                        f.id,
                        picked.join(" ")
                    ));
                }
            }
        }
    }
    (tried, out)
}

#[test]
fn exported_skip_logic_agrees_with_jkda() {
    let mut tried = 0;
    let mut wrong = Vec::new();
    for def in every_form_we_know() {
        let (n, w) = skip_logic_disagreements(&def);
        tried += n;
        wrong.extend(w);
    }
    assert!(tried > 500, "only {tried} cases tried");
    wrong.truncate(20);
    assert!(wrong.is_empty(), "disagreements (first 20):\n{}", wrong.join("\n"));
}

#[test]
fn a_condition_inside_all_that_fhir_cannot_join_is_left_out_not_garbled() {
    // 戒酒年龄: drinking 2, 3 or 4 (three alternatives) and quit = 2. A flat
    // enableWhen cannot say (a or b or c) and d; it keeps "quit = 2", which
    // a client only sees answered while drinking is 2, 3 or 4.
    let reg = Registry::embedded();
    let q = jkda::form::fhir::questionnaire(reg.get("health-exam").unwrap());
    let item = items(&q)
        .into_iter()
        .find(|i| i["linkId"] == "alcohol_quit_age")
        .unwrap();
    let conds = item["enableWhen"].as_array().unwrap();
    assert_eq!(conds.len(), 1, "{conds:?}");
    assert_eq!(conds[0]["question"], "alcohol_quit");
    assert_eq!(conds[0]["answerCoding"]["code"], "2");
    // Integer questions compare with integers.
    let q = jkda::form::fhir::questionnaire(reg.get("health-exam").unwrap());
    let mmse = items(&q).into_iter().find(|i| i["linkId"] == "mmse_score").unwrap();
    assert_eq!(
        mmse["enableWhen"][0]["question"], "elderly_cognition",
        "the age part is left to jkda"
    );
}

// ---------------------------------------------------------------- the standard's rules

fn ctx(sex: &str, birth: (i32, u32, u32)) -> jkda::form::rules::Context {
    jkda::form::rules::Context {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 15).unwrap(),
        sex: Some(sex.to_string()),
        birth_date: chrono::NaiveDate::from_ymd_opt(birth.0, birth.1, birth.2),
    }
}

fn answers(pairs: &[(&str, &str)]) -> jkda::form::Answers {
    let mut a = jkda::form::Answers::new();
    for (p, v) in pairs {
        a.set_text(p, v);
    }
    a
}

fn error_paths(def: &FormDef, a: &jkda::form::Answers, c: &jkda::form::rules::Context) -> BTreeSet<String> {
    jkda::form::rules::evaluate(def, a, c)
        .errors()
        .map(|f| f.path.clone())
        .collect()
}

#[test]
fn a_lost_or_dead_follow_up_is_finalized_without_measurements() {
    let reg = Registry::embedded();
    let man = ctx("1", (1960, 3, 4));
    for form in ["hypertension-followup", "diabetes-followup"] {
        let def = reg.get(form).unwrap();
        let base = [
            ("visit_date", "2026-11-01"),
            ("visit_method", "2"),
            ("doctor", "李医生"),
        ];
        let mut lost = answers(&base);
        lost.set_text("visit_status", "2");
        lost.set_text("visit_status.detail", "外出务工");
        assert_eq!(
            error_paths(def, &lost, &man),
            BTreeSet::new(),
            "{form}: lost to follow-up"
        );

        let mut dead = answers(&base);
        dead.set_text("visit_status", "3");
        dead.set_text("visit_status.detail", "脑出血");
        dead.set_text("death_date", "2026-10-20");
        assert_eq!(error_paths(def, &dead, &man), BTreeSet::new(), "{form}: death");
        // …but a death after the visit is an error.
        dead.set_text("death_date", "2026-11-02");
        assert!(error_paths(def, &dead, &man).contains("death_date"), "{form}");

        // A normal visit still needs them.
        let mut normal = answers(&base);
        normal.set_text("visit_status", "1");
        let errs = error_paths(def, &normal, &man);
        for path in ["symptoms", "bp.systolic", "classification", "next_visit_date"] {
            assert!(errs.contains(path), "{form}: {path} not required: {errs:?}");
        }
        if form == "diabetes-followup" {
            assert!(errs.contains("fbg"), "{errs:?}");
        }
        // Unanswered status counts as a normal visit.
        let errs = error_paths(def, &answers(&base), &man);
        assert!(errs.contains("bp.systolic"), "{form}: {errs:?}");
    }
}

#[test]
fn danger_signs_follow_symptoms_in_both_follow_up_forms() {
    let reg = Registry::embedded();
    let man = ctx("1", (1960, 3, 4));
    for (form, n, zh2, en_last) in [
        (
            "hypertension-followup",
            9,
            "意识改变",
            "Other illness the clinic cannot handle",
        ),
        (
            "diabetes-followup",
            12,
            "意识或行为改变",
            "Other illness the clinic cannot handle",
        ),
    ] {
        let def = reg.get(form).unwrap();
        assert_ne!(def.version, "2017.1", "{form}: the version was not bumped");
        let s = &def.sections[def.section_of("danger_signs").expect("danger_signs exists")];
        assert_eq!(s.id, "symptoms");
        let at = s.fields.iter().position(|f| f.id == "danger_signs").unwrap();
        assert_eq!(s.fields[at - 1].id, "symptoms", "{form}: right after symptoms");
        let f = &s.fields[at];
        assert!(!f.required && f.required_if.is_none(), "{form}: optional");
        assert_eq!(f.label.zh, "危急情况（需紧急转诊）");
        assert_eq!(f.label.en, "Danger signs (emergency referral)");
        assert!(
            f.hint.as_ref().is_some_and(|h| h.zh.contains("每次随访")),
            "{form}: hint"
        );
        let FieldKind::Multi { options, .. } = &f.kind else {
            panic!("{form}: danger_signs is a {}", f.kind.name())
        };
        let codes: Vec<String> = options.iter().map(|o| o.code.clone()).collect();
        let want: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
        assert_eq!(codes, want, "{form}");
        assert!(options[0].exclusive && options[0].label.zh == "无" && options[0].label.en == "None");
        assert_eq!(options[1].label.zh, zh2);
        assert!(options[1..].iter().all(|o| !o.exclusive));
        let last = options.last().unwrap();
        assert!(last.detail && last.label.en == en_last, "{form}");
        assert!(options[..n - 1].iter().all(|o| !o.detail));

        // 无 with another sign is an error; a sign without a referral warns.
        let base = [
            ("visit_date", "2026-11-01"),
            ("visit_method", "1"),
            ("visit_status", "2"),
            ("visit_status.detail", "x"),
            ("doctor", "李医生"),
        ];
        let mut a = answers(&base);
        a.set_codes("danger_signs", vec!["1".into(), "2".into()]);
        assert!(
            error_paths(def, &a, &man).contains("danger_signs"),
            "{form}: exclusive 无"
        );
        a.set_codes("danger_signs", vec![n.to_string()]);
        assert!(
            error_paths(def, &a, &man).contains("danger_signs.detail"),
            "{form}: detail"
        );
        a.set_codes("danger_signs", vec!["2".into()]);
        let e = jkda::form::rules::evaluate(def, &a, &man);
        assert!(!e.has_errors(), "{form}");
        // The referral a danger sign requires is the follow-up rules' call.
        // (as a normal visit: a lost patient was not seen, so nothing is required).
        let rules = |a: &jkda::form::Answers| {
            let mut seen = a.clone();
            seen.set_text("visit_status", "1");
            jkda::manage::assess_answers(def, &seen, None, None, &jkda::manage::Settings::default(), man.today)
                .map(|x| x.findings.iter().any(|f| f.path == "referred"))
                .unwrap_or(false)
        };
        assert!(rules(&a), "{form}: no referral required");
        a.set_text("referred", "2");
        a.set_text("referral_reason", "危急情况");
        a.set_text("referral_org", "市医院");
        let e = jkda::form::rules::evaluate(def, &a, &man);
        assert!(
            !e.warnings().any(|w| w.path == "referred") && !rules(&a),
            "{form}: warns though referred"
        );
        a.set_codes("danger_signs", vec!["1".into()]);
        a.set_text("referred", "1");
        let e = jkda::form::rules::evaluate(def, &a, &man);
        assert!(
            !e.warnings().any(|w| w.path == "referred") && !rules(&a),
            "{form}: warns on 无"
        );
    }
    // The diabetes form keeps the ids of its two measured danger conditions.
    let dm = reg.get("diabetes-followup").unwrap();
    assert!(dm.field("heart_rate").is_some() && dm.field("temperature").is_some());
}

#[test]
fn the_health_exam_requires_the_non_starred_items() {
    let reg = Registry::embedded();
    let def = reg.get("health-exam").unwrap();
    let required = [
        "lips",
        "dentition",
        "pharynx",
        "vision_left",
        "vision_right",
        "hearing",
        "motor_function",
        "skin",
        "sclera",
        "lymph_nodes",
        "barrel_chest",
        "breath_sounds",
        "rales",
        "heart_rate",
        "heart_rhythm",
        "heart_murmur",
        "abdominal_tenderness",
        "abdominal_mass",
        "hepatomegaly",
        "splenomegaly",
        "shifting_dullness",
        "lower_limb_edema",
        "cerebrovascular_disease",
        "kidney_disease",
        "heart_disease",
        "vascular_disease",
        "eye_disease",
        "nervous_system_disease",
        "other_system_disease",
        "risk_control",
    ];
    let starred = [
        "fundus",
        "dorsalis_pedis",
        "dre",
        "breast",
        "gyn_vulva",
        "gyn_vagina",
        "gyn_cervix",
        "gyn_uterus",
        "gyn_adnexa",
        "physical_other",
        "hemoglobin",
        "fbg",
        "ecg",
        "hba1c",
        "chest_xray",
        "cervical_smear",
        "vision_left_corrected",
        "vision_right_corrected",
    ];
    let woman = ctx("2", (1950, 3, 4));
    let young_man = ctx("1", (1980, 3, 4));
    let empty = answers(&[("exam_date", "2026-11-01")]);
    for c in [&woman, &young_man] {
        let e = jkda::form::rules::evaluate(def, &empty, c);
        for id in required {
            assert!(e.required.contains(id), "{id} is not required");
        }
        for id in starred {
            assert!(!e.required.contains(id), "starred {id} is required");
        }
    }
    // 健康指导 only when the evaluation found something.
    let e = jkda::form::rules::evaluate(def, &empty, &woman);
    assert!(!e.required.contains("health_guidance"));
    let abnormal = answers(&[("exam_date", "2026-11-01"), ("health_evaluation", "2")]);
    let e = jkda::form::rules::evaluate(def, &abnormal, &woman);
    assert!(e.required.contains("health_guidance"));
    // The elderly items from 65 only; gynaecology only for women, and optional.
    assert!(jkda::form::rules::evaluate(def, &empty, &woman)
        .required
        .contains("elderly_mood"));
    let e = jkda::form::rules::evaluate(def, &empty, &young_man);
    assert!(!e.required.contains("elderly_mood") && !e.is_visible("gyn_cervix"));
    assert!(jkda::form::rules::evaluate(def, &empty, &woman).is_visible("gyn_cervix"));
}

#[test]
fn vision_takes_the_five_point_and_the_decimal_chart() {
    let reg = Registry::embedded();
    let def = reg.get("health-exam").unwrap();
    let c = ctx("1", (1950, 3, 4));
    let findings = |v: &str| {
        let a = answers(&[
            ("vision_left", v),
            ("vision_right", v),
            ("vision_left_corrected", v),
            ("vision_right_corrected", v),
        ]);
        let e = jkda::form::rules::evaluate(def, &a, &c);
        let errs = e.errors().filter(|f| f.path.starts_with("vision")).count();
        let warns = e.warnings().filter(|f| f.path.starts_with("vision")).count();
        (errs, warns)
    };
    for ok in [
        "4.9", "5.0", "5.3", "3.0", "4.0", "0.8", "1.0", "1.5", "2.0", "0.02", "0.12",
    ] {
        assert_eq!(findings(ok), (0, 0), "{ok}");
    }
    // Between the charts: neither notation, so a warning on each field.
    for between in ["2.5", "2.01", "2.99"] {
        assert_eq!(findings(between), (0, 4), "{between}");
    }
    for bad in ["5.4", "0.01", "0", "6"] {
        assert_eq!(findings(bad).0, 4, "{bad}");
    }
    assert_eq!(findings("4.95").0, 0, "two decimals for 0.12 and the like");
    assert_eq!(findings("0.125").0, 4, "three decimals");
}

/// The versions of the shipped forms that records may still carry.
fn earlier_versions() -> Vec<(String, FormDef)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join("versions"))
        .expect("tests/forms/versions exists")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let src = std::fs::read_to_string(&p).unwrap();
            match parse_form(&name, &src) {
                Ok(def) => (name, def),
                Err(errs) => panic!("{name} no longer loads:\n{}", describe(&errs)),
            }
        })
        .collect()
}

#[test]
fn records_of_earlier_form_versions_still_load() {
    // A record keeps the text of the version it was filled with and is
    // reopened with parse_form; the loader must keep accepting them.
    let reg = Registry::embedded();
    let old = earlier_versions();
    assert_eq!(old.len(), 3);
    for (name, def) in old {
        let now = reg.get(&def.id).unwrap_or_else(|| panic!("{name}: no such form"));
        assert!(
            name.ends_with(&format!("-{}.toml", def.version)),
            "{name} is {}",
            def.version
        );
        assert_ne!(def.canonical(), now.canonical(), "{name}: same version as shipped");
    }
    let v1 = parse_form(
        "hypertension-followup-2017.1.toml",
        &std::fs::read_to_string(corpus_dir().join("versions/hypertension-followup-2017.1.toml")).unwrap(),
    )
    .unwrap();
    assert!(v1.field("danger_signs").is_none() && v1.field("bp").unwrap().required);
}

// ---------------------------------------------------------------- the binary

fn jkda(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jkda"))
        .arg("--data-dir")
        .arg(data)
        .args(["--lang", "en"])
        .args(args)
        .env_remove("JKDA_FORMS_DIR")
        .env_remove("JKDA_DATA_DIR")
        .env("NO_COLOR", "1")
        .output()
        .expect("jkda runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn cli_check_a_broken_file_exits_1_and_names_it() {
    let data = tempfile::tempdir().unwrap();
    let file = corpus_dir().join("broken/many_errors.toml");
    let out = jkda(data.path(), &["forms", "check", file.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(
        err.contains(&file.display().to_string()),
        "stderr does not name the file: {err}"
    );
    // Every problem is listed, one per line, with its place.
    let src = std::fs::read_to_string(&file).unwrap();
    for exp in expectations(&src) {
        if let Some(p) = exp.path {
            assert!(err.contains(&p), "stderr lacks {p}: {err}");
        }
    }
}

#[test]
fn cli_check_a_good_file_exits_0() {
    let data = tempfile::tempdir().unwrap();
    let file = good_file();
    let out = jkda(data.path(), &["forms", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("test-minimal"), "{}", text(&out.stdout));
}

#[test]
fn cli_check_the_built_in_forms_exits_0() {
    let data = tempfile::tempdir().unwrap();
    let out = jkda(data.path(), &["forms", "check"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
}

#[test]
fn cli_check_a_missing_file_exits_2() {
    let data = tempfile::tempdir().unwrap();
    let out = jkda(data.path(), &["forms", "check", "/no/such/file"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("/no/such/file"), "{err}");
}

#[test]
fn cli_check_a_form_whose_conditions_go_round_names_the_fields() {
    let data = tempfile::tempdir().unwrap();
    let file = corpus_dir().join("broken/visible_if_each_other.toml");
    let out = jkda(data.path(), &["forms", "check", file.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains("drinking → quit_drinking → drinking"), "{err}");
    assert!(err.contains("section[0].field[0] (drinking)"), "{err}");
}

#[test]
fn cli_export_fhir_prints_a_questionnaire() {
    let data = tempfile::tempdir().unwrap();
    let out = jkda(
        data.path(),
        &["forms", "export", "hypertension-followup", "--format", "fhir"],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let q: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(q["resourceType"], "Questionnaire");
    assert_eq!(q["id"], "hypertension-followup");
    assert_eq!(q["url"], "urn:jkda:form:hypertension-followup");
    assert!(!items(&q).is_empty());

    let out = jkda(data.path(), &["forms", "export", "no-such-form"]);
    assert_eq!(out.status.code(), Some(2), "an unknown form id is a usage error");
    assert!(
        text(&out.stderr).contains("hypertension-followup"),
        "lists the known forms"
    );
}

#[test]
fn cli_list_shows_the_four_forms() {
    let data = tempfile::tempdir().unwrap();
    let out = jkda(data.path(), &["forms", "list"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let ids: BTreeSet<&str> = stdout.lines().filter_map(|l| l.split('\t').next()).collect();
    let want: BTreeSet<&str> = [
        "diabetes-followup",
        "health-exam",
        "hypertension-followup",
        "resident-basic-info",
    ]
    .into_iter()
    .collect();
    assert_eq!(ids, want, "{stdout}");
}

#[test]
fn cli_list_with_a_forms_dir_reports_the_broken_file() {
    let data = tempfile::tempdir().unwrap();
    let forms = tempfile::tempdir().unwrap();
    std::fs::copy(good_file(), forms.path().join("good.toml")).unwrap();
    std::fs::copy(
        corpus_dir().join("broken/bad_range.toml"),
        forms.path().join("bad.toml"),
    )
    .unwrap();
    let out = jkda(
        data.path(),
        &["--forms-dir", forms.path().to_str().unwrap(), "forms", "list"],
    );
    assert_eq!(out.status.code(), Some(1), "a broken file makes list exit 1");
    assert!(text(&out.stdout).starts_with("test-minimal\t"), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("bad.toml"), "{}", text(&out.stderr));
}
