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

use jkda::form::def::{FieldKind, FormDef};
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
    // it; the two that only load_dir produces are covered by the registry tests.
    let en = I18n::new(Lang::En);
    let all: BTreeSet<String> = en.keys().filter(|k| k.starts_with("form_error.")).cloned().collect();
    let covered: BTreeSet<String> = broken_files()
        .iter()
        .flat_map(|f| expectations(&std::fs::read_to_string(f).unwrap()))
        .map(|e| e.key)
        .chain([
            "form_error.unreadable".to_string(),
            "form_error.duplicate_form".to_string(),
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

    for it in &all {
        let link = it["linkId"].as_str().unwrap_or("");
        let Some(conds) = it.get("enableWhen") else {
            continue;
        };
        let Some(conds) = conds.as_array().filter(|c| !c.is_empty()) else {
            p.push(format!("{id}: item {link} has an empty or malformed enableWhen"));
            continue;
        };
        for c in conds {
            let question = c["question"].as_str().unwrap_or("");
            if !by_link.contains_key(question) {
                p.push(format!(
                    "{id}: item {link}: enableWhen.question \"{question}\" is no linkId"
                ));
            }
            if c["operator"].as_str().is_none() {
                p.push(format!("{id}: item {link}: enableWhen without operator"));
            }
            let answers = c
                .as_object()
                .map(|o| o.keys().filter(|k| k.starts_with("answer")).count())
                .unwrap_or(0);
            if answers != 1 {
                p.push(format!(
                    "{id}: item {link}: enableWhen needs exactly one answer[x], has {answers}"
                ));
            }
        }
        if conds.len() > 1 && it.get("enableBehavior").is_none() {
            p.push(format!("{id}: item {link}: several enableWhen without enableBehavior"));
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
        // Units.
        if let Some(unit) = &f.unit {
            let code = f.ucum.clone().unwrap_or_else(|| unit.clone());
            let ext = item["extension"]
                .as_array()
                .and_then(|e| e.iter().find(|x| x["url"] == UNIT_EXT));
            match ext {
                None => p.push(format!(
                    "{id}: {link} has unit {unit} but no questionnaire-unit extension"
                )),
                Some(x) => {
                    if x["valueCoding"]["system"] != UCUM {
                        p.push(format!("{id}: {link} unit system is {}", x["valueCoding"]["system"]));
                    }
                    if x["valueCoding"]["code"] != code.as_str() {
                        p.push(format!(
                            "{id}: {link} unit code is {}, expected {code}",
                            x["valueCoding"]["code"]
                        ));
                    }
                }
            }
        }
    }
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
