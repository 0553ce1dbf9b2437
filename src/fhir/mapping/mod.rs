//! jkda's residents and records as FHIR R4 resources, and back.
//!
//! A resident is a `Patient`; a finalized record is a `QuestionnaireResponse`
//! (every answered item by linkId, nested like the form's Questionnaire), an
//! `Encounter` (the visit) and one `Observation` per measured vital sign or
//! laboratory value whose field carries a LOINC code. Ids are the client's
//! stable UUIDs, so sending a record twice writes the same resources.
//!
//! Each direction and resource has its own module: `patient` (identifiers and
//! the Patient, both ways), `encounter` (the visit), `response` (the
//! QuestionnaireResponse writer), `observation` (coded measurements) and
//! `answers` (a QuestionnaireResponse read back into answer paths). This
//! module holds what they share and re-exports their public functions, so
//! callers keep using `fhir::mapping::…`.

mod answers;
mod encounter;
mod observation;
mod patient;
mod response;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod typed_text;

pub use answers::answers_from_response;
pub use encounter::encounter;
pub use observation::{observations, observations_json, FBG_MG, FBG_MMOL};
pub use patient::{gender, patient, patient_fields, Identifiers};
pub use response::{questionnaire_response, questionnaire_response_json};

use super::Resource;
use crate::domain::debug_shows;
use crate::domain::{Record, Resident};
use crate::form::def::FormDef;
use serde::Serialize;
use serde_json::{json, Value};

/// What one record's resources are made from. `Debug` shows ids only.
pub struct RecordInput<'a> {
    pub record: &'a Record,
    pub resident: &'a Resident,
    pub def: &'a FormDef,
    pub ids: &'a Identifiers,
}

debug_shows!(RecordInput<'a>: record, resident);

/// Every resource of a finalized record, in the order a transaction should
/// write them: the Patient first (when `with_patient`), then Encounter,
/// QuestionnaireResponse and Observations.
pub fn record_resources(input: &RecordInput, with_patient: bool) -> Vec<Resource> {
    let mut out = Vec::new();
    if with_patient {
        out.push(patient(input.resident, input.ids));
    }
    out.push(encounter(input));
    out.push(questionnaire_response(input));
    out.extend(observations(input));
    out
}

/// A reference built as a value, for the resources still written as
/// `serde_json` values (the Encounter).
fn reference(kind: &str, id: &str) -> Value {
    json!({ "reference": format!("{kind}/{id}") })
}

/// A reference in the typed resources (the response and the Observations),
/// which serialize straight to text.
#[derive(Serialize)]
struct Reference {
    reference: String,
}

impl Reference {
    fn to(kind: &str, id: &str) -> Reference {
        Reference {
            reference: format!("{kind}/{id}"),
        }
    }
}
