//! The bureau's supervision of its sites: record-building progress,
//! timeliness, quality (the clinic's own form checks and follow-up rules,
//! run again on what arrives), signs of made-up records, the clinic's
//! indicators per unit, a ranking that is fair to small units, and spot
//! checks. Pure: the platform's store (or a reader of any FHIR server)
//! feeds it rows; dates come in as parameters.

pub mod aggregate;
pub mod facts;
pub mod model;
pub mod ranking;
pub mod settings;
pub mod spotcheck;
pub mod stats;
pub mod text;

pub use aggregate::{month_bounds, Aggregator, Row, SiteInfo};
pub use settings::{SupervisionSettings, Weights};
