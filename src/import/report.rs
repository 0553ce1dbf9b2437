//! The report `jkda import` prints: where a problem is (line, Bundle
//! entry or the file), the list of problems, and the counts of what was
//! new and what was here already.

use super::check::Problem;
use super::parse::At;
use crate::i18n::I18n;
use crate::store::ImportCounts;

/// Where a position is, as the report writes it.
pub fn describe_at(at: At, i18n: &I18n) -> String {
    match at {
        At::Line(n) => i18n.tf("import.at_line", &[("line", &n.to_string())]),
        At::Entry(i) => i18n.tf("import.at_entry", &[("index", &i.to_string())]),
        At::File { line, column } => i18n.tf(
            "import.at_file",
            &[("line", &line.to_string()), ("column", &column.to_string())],
        ),
    }
}

/// Every problem with where it is, then how many: nothing was written.
pub(super) fn print_problems(problems: &[Problem], i18n: &I18n) {
    for p in problems {
        eprintln!(
            "{}",
            i18n.tf(
                "import.problem",
                &[("at", &describe_at(p.at, i18n)), ("reason", &p.reason)]
            )
        );
    }
    eprintln!(
        "{}",
        i18n.tf("import.failed", &[("count", &problems.len().to_string())])
    );
}

/// The counts line under `key` (`import.dry_run`, `import.done`).
pub(super) fn counts_line(key: &str, c: &ImportCounts, linked: usize, i18n: &I18n) -> String {
    let a = [
        ("residents_new", c.residents_new.to_string()),
        ("residents_present", c.residents_present.to_string()),
        ("records_new", c.records_new.to_string()),
        ("records_present", c.records_present.to_string()),
        ("linked", linked.to_string()),
    ];
    let a: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, v.as_str())).collect();
    i18n.tf(key, &a)
}
