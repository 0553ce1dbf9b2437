//! TEMPORARY in branch `web`: main's supervise module replaces this file on merge.

pub mod facts;
pub mod model;
pub mod settings;

pub use settings::SupervisionSettings;
