//! jkda: an offline-first, keyboard-driven health-record client for the
//! standardized forms of China's National Basic Public Health Service.
//!
//! The binary `jkda` is a thin shell over this library so that integration
//! tests and benchmarks reach every layer.

pub mod app;
pub mod bounded_read;
pub mod cli;
pub mod config;
pub mod demo;
pub mod desk_watch;
pub mod domain;
pub mod edited_file;
pub mod fhir;
pub mod form;
pub mod hardening;
pub mod hub;
pub mod i18n;
pub mod identity;
pub mod import;
pub mod keymap;
pub mod manage;
pub mod ops;
pub mod paths;
pub mod private_files;
pub mod progress;
pub mod search;
pub mod session;
pub mod shell;
pub mod store;
pub mod supervise;
pub mod sync;
pub mod tui;
pub mod tui_backend;
pub mod ui;
