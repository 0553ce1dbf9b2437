//! The architecture as the sources show it (issue 12, part 6): shared code
//! does not reach into the client's storage, and the hub's storage does not
//! judge what it stores. These read the source files, so a new import that
//! breaks a layer fails here with the file and line.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn src(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(rel)
}

/// Lines of `dir`'s files that mention `needle`, as `file:line: text`.
fn mentions(dir: &str, needle: &str) -> Vec<String> {
    let files = rust_files(&src(dir));
    assert!(!files.is_empty(), "no sources under src/{dir}");
    let mut hits = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).expect("source file");
        for (n, line) in text.lines().enumerate() {
            if line.contains(needle) {
                hits.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    hits
}

#[test]
fn shared_fhir_code_does_not_import_client_storage() {
    let hits = mentions("fhir", "crate::store");
    assert!(
        hits.is_empty(),
        "src/fhir/ must use crate::domain, not crate::store:\n{}",
        hits.join("\n")
    );
    // And the types it maps do live in the domain module.
    assert!(!mentions("fhir", "crate::domain").is_empty());
}

#[test]
fn domain_types_depend_on_no_storage_terminal_or_network() {
    for needle in ["crate::store", "rusqlite", "ratatui", "crossterm", "ureq", "tiny_http"] {
        let hits = mentions("domain", needle);
        assert!(
            hits.is_empty(),
            "src/domain/ must not use {needle}:\n{}",
            hits.join("\n")
        );
    }
}

#[test]
fn the_hub_validates_resources_outside_its_storage() {
    let storage = fs::read_to_string(src("hub/storage.rs")).expect("hub storage");
    for judged in ["fn validate", "fn items_ok", "is not a valid status"] {
        assert!(
            !storage.contains(judged),
            "src/hub/storage.rs still holds {judged:?}: it belongs in hub/validate.rs"
        );
    }
    let validate = fs::read_to_string(src("hub/validate.rs")).expect("hub validation");
    assert!(validate.contains("pub fn resource(") && validate.contains("pub fn deletion("));
}

/// The command line lives in `src/cli/` (one file per command group) and
/// `main.rs` only hands over to it: no `cli_*.rs` beside the other layers,
/// and no command handled in the entry point.
#[test]
fn the_command_line_lives_in_src_cli_and_main_is_thin() {
    let strays: Vec<String> = fs::read_dir(src(""))
        .expect("src")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cli") && n.ends_with(".rs"))
        .collect();
    assert!(strays.is_empty(), "command-line files outside src/cli/: {strays:?}");
    let main = fs::read_to_string(src("main.rs")).expect("main.rs");
    let code: Vec<&str> = main
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect();
    assert!(
        code.len() <= 5,
        "main.rs does more than hand over:\n{}",
        code.join("\n")
    );
    assert!(main.contains("jkda::cli::run::main()"), "{main}");
    assert!(mentions("sync", "clap").is_empty(), "{:?}", mentions("sync", "clap"));
}
