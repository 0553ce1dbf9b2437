//! `jkda completions SHELL` and `jkda man`: the shell completions and the
//! manual page, generated from the same clap definitions the program
//! parses, so they never fall behind a new option.

use crate::cli::Cli;
use clap::CommandFactory;
use std::io::Write;
use std::process::ExitCode;

/// Writes to standard output; a closed pipe (`jkda man | head`) ends
/// quietly, as it should.
fn emit(bytes: &[u8]) -> ExitCode {
    match std::io::stdout().write_all(bytes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jkda: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "jkda", &mut out);
    emit(&out)
}

pub fn man() -> ExitCode {
    let mut out = Vec::new();
    match clap_mangen::Man::new(Cli::command()).render(&mut out) {
        Ok(()) => emit(&out),
        Err(e) => {
            eprintln!("jkda: {e}");
            ExitCode::FAILURE
        }
    }
}
