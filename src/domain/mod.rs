//! The domain types shared by the clinic client and the hub: a resident, a
//! record, and the [`Sensitive`] wrapper that keeps personal data out of
//! `Debug`. No SQL, no terminal, no network here: `store` reads and writes
//! these types (and re-exports them), `fhir` maps them to and from FHIR R4,
//! so the shared FHIR code never depends on the client's storage.

mod record;
mod resident;
mod sensitive;

pub use record::{Record, RecordStatus};
pub use resident::{Resident, ResidentFields};
pub(crate) use sensitive::debug_shows;
pub use sensitive::Sensitive;
