//! A resident: the person a health record is about, as the client stores
//! them and the FHIR mapping turns them into a `Patient`.

use super::debug_shows;

/// A resident. `Debug` prints ids only: a stray `{:?}` must not leak a person.
#[derive(Clone, PartialEq, Eq)]
pub struct Resident {
    pub id: i64,
    pub uuid: String,
    pub record_no: String,
    pub status: String,
    pub name: Option<String>,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub village: Option<String>,
    pub programmes: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

debug_shows!(Resident: id, record_no, status);

/// The resident attributes a registration form carries. Every one of them
/// is personal: `Debug` shows none.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct ResidentFields {
    pub name: Option<String>,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub village: Option<String>,
}

debug_shows!(ResidentFields:);
