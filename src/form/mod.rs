//! Forms as data: the file format (`raw`), the checked definition (`def`),
//! the loader that turns one into the other (`load`, with `cycles` for
//! conditions that depend on themselves), what was typed
//! (`answers`), what it means (`rules`) and the FHIR view of a form (`fhir`).

pub mod answers;
mod cycles;
pub mod def;
pub mod fhir;
pub mod load;
pub mod published;
pub mod raw;
pub mod registry;
pub mod rules;

pub use answers::{Answer, Answers};
pub use def::{FieldKind, FormDef, Level, Role};
pub use load::{parse_form, FormError};
pub use registry::Registry;
