//! Thin entry point: everything the command line does is in `jkda::cli`.

fn main() -> std::process::ExitCode {
    jkda::cli::run::main()
}
