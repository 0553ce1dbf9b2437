//! The command line: its definitions (`args`, clap derive), what runs each
//! command group (one file per group), and `run`, which picks the language
//! and the data directory and dispatches. `main.rs` only calls `run::main`.

mod args;
pub use args::*;

pub mod admin;
pub mod auth;
pub mod conflicts;
pub mod docs;
pub mod drafts;
pub mod forms;
pub mod manage;
pub mod ops;
pub mod residents;
pub mod run;
pub mod sync;
