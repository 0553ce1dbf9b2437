//! `jkda import FILE [--dry-run]`: a clinic's history from FHIR R4 NDJSON
//! or a JSON Bundle (transaction, batch, collection or searchset) of
//! Patient, QuestionnaireResponse, Encounter and Observation resources —
//! what jkda uploads, or the platform's export of it.
//!
//! The file is read as a stream (`parse`) and every resource checked as if
//! it had been typed: the ID number's check character and its agreement
//! with sex and birth date, the 17-digit record number, each response
//! against its form version (`form::rules::evaluate`; errors refuse it),
//! dates, and that every resource's subject is in the file or already here.
//! Each problem is reported with its line (or Bundle entry) and nothing is
//! written unless the whole file is good; then one transaction writes it
//! (`Store::import_resources`). Ids are the platform's: the Patient's is the
//! resident's uuid, the response's the record's, so a second import of the
//! same file adds nothing. Exit 0 imported (or checked, with `--dry-run`),
//! 1 problems in the file (nothing written) or a database error, 2 usage or
//! I/O error.
//!
//! Its parts: `parse` reads the file, `check` checks each resource as it
//! is read, `plan` checks what needs the whole file and the database and
//! gives what to write, `report` words the outcome.

mod check;
pub mod parse;
mod plan;
mod report;
#[cfg(test)]
mod test_support;

pub use check::{Checker, Problem};
pub use plan::Plan;
pub use report::describe_at;

use crate::fhir::Identifiers;
use crate::form::Registry;
use crate::i18n::I18n;
use crate::store::{Actor, ImportCounts, Store};
use parse::FileError;
use std::path::PathBuf;
use std::process::ExitCode;

/// The command line of `jkda import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// FHIR R4 NDJSON (one resource per line) or a JSON Bundle
    pub file: PathBuf,
    /// Check everything, write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `jkda import`: see the module documentation for what it checks and its exit codes.
pub fn run(
    store: &mut Store,
    registry: &Registry,
    ids: &Identifiers,
    actor: &Actor,
    i18n: &I18n,
    args: &ImportArgs,
) -> ExitCode {
    // Who imported what must be a person: a key file says only which machine.
    if crate::cli::auth::is_system(actor) {
        eprintln!("{}", i18n.t("import.needs_login"));
        return ExitCode::from(2);
    }
    for p in [
        crate::store::Permission::WriteRecords,
        crate::store::Permission::Finalize,
    ] {
        if let Err(m) = crate::cli::auth::require(actor, p) {
            eprintln!("{}", i18n.msg(&m));
            return ExitCode::from(1);
        }
    }
    let path = args.file.display().to_string();
    let io_error = |detail: String| {
        eprintln!("{}", i18n.tf("cli.io_error", &[("path", &path), ("detail", &detail)]));
        ExitCode::from(2)
    };
    let mut file = match std::fs::File::open(&args.file) {
        Ok(f) => f,
        Err(e) => return io_error(e.to_string()),
    };
    let today = chrono::Local::now().date_naive();
    let mut checker = Checker::new(registry, ids, i18n, today);
    match parse::read(&mut file, |at, r| checker.take(at, r)) {
        Ok(_) => {}
        Err(FileError::Io(e)) => return io_error(e.to_string()),
        Err(FileError::TooLarge { bytes }) => {
            eprintln!(
                "{}",
                i18n.tf(
                    "import.too_large",
                    &[
                        ("path", &path),
                        ("size", &(bytes >> 20).to_string()),
                        ("max", &(parse::MAX_FILE_BYTES >> 20).to_string())
                    ]
                )
            );
            return ExitCode::from(2);
        }
    }
    drop(file);
    let plan = match checker.finish(store, actor) {
        Ok(Ok(plan)) => plan,
        Ok(Err(problems)) => {
            report::print_problems(&problems, i18n);
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("{}", i18n.msg(&e.message()));
            return ExitCode::from(1);
        }
    };
    if args.dry_run {
        println!(
            "{}",
            report::counts_line("import.dry_run", &plan.counts, plan.linked, i18n)
        );
        return ExitCode::SUCCESS;
    }
    match store.import_resources(actor, &plan.patients, &plan.records) {
        Ok(written) => {
            // What was present at the check and what the write found agree
            // unless another program wrote in between; the write's are true.
            let counts = ImportCounts {
                residents_present: written.residents_present + plan.counts.residents_present,
                records_present: written.records_present + plan.counts.records_present,
                ..written
            };
            println!("{}", report::counts_line("import.done", &counts, plan.linked, i18n));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", i18n.msg(&e.message()));
            eprintln!("{}", i18n.t("import.nothing_written"));
            ExitCode::from(1)
        }
    }
}
