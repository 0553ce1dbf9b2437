//! A record: one form filled for one resident, as the client stores it and
//! the FHIR mapping reads it.

use super::debug_shows;
use crate::form::Answers;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Draft,
    Final,
}

impl RecordStatus {
    /// The stored text (`"final"`); anything else is a draft.
    pub fn parse(s: &str) -> RecordStatus {
        if s == "final" {
            RecordStatus::Final
        } else {
            RecordStatus::Draft
        }
    }
}

/// A record with its answers. `Debug` leaves the answers out.
#[derive(Clone, PartialEq)]
pub struct Record {
    pub id: i64,
    pub uuid: String,
    pub resident_id: i64,
    pub form_id: String,
    pub form_version: String,
    pub status: RecordStatus,
    pub answers: Answers,
    pub record_date: Option<String>,
    pub focus: Option<String>,
    pub author: String,
    pub created_at: String,
    pub updated_at: String,
    pub finalized_at: Option<String>,
    pub revision: i64,
}

debug_shows!(Record: id, form_id, status, revision);
