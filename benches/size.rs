//! Binary size (prints figures; asserts nothing).
//!
//! Prints the stripped size of `jkda` and `jkda-hub` against the 6 MB budget.
//! Cargo builds both binaries for a benchmark in the `bench` profile, which
//! inherits every setting of `release`, so the figures are those of
//! `cargo build --release` (within a few hundred bytes).
//!
//! Run: `cargo bench --bench size`
//!
//! README.md ("Binary size") has the last figures and what takes the space.

const BUDGET: u64 = 6_000_000;

fn main() {
    for (name, path) in [
        ("jkda", env!("CARGO_BIN_EXE_jkda")),
        ("jkda-hub", env!("CARGO_BIN_EXE_jkda-hub")),
    ] {
        match std::fs::metadata(path) {
            Ok(m) => {
                let size = m.len();
                let verdict = if size <= BUDGET { "within" } else { "over" };
                println!(
                    "{name:<9} {size:>11} bytes  {:>5.2} MB  {verdict} the {:.0} MB budget  ({path})",
                    size as f64 / 1e6,
                    BUDGET as f64 / 1e6,
                );
            }
            Err(e) => println!("{name:<9} {path}: {e}"),
        }
    }
}
