//! Who may do what. Roles follow the clinic's division of work: doctors
//! enter and finalize records, nurses enter drafts that a doctor finalizes,
//! viewers read, and auditors read only the audit trail. An administrator
//! manages accounts and settings and, because a village clinic often has a
//! single doctor who is also its administrator, may do a doctor's work too;
//! a bureau that wants the duties apart gives the administrator a separate
//! doctor account. Every store function checks here before it touches a
//! resident's data.

use crate::i18n::Msg;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Doctor,
    Nurse,
    Viewer,
    Auditor,
    /// A local tool trusted by whoever may open the database file itself
    /// (the demo generator, a key-file run of `jkda sync`, tests).
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ReadRecords,
    WriteRecords,
    Finalize,
    ManageUsers,
    Settings,
    ReadAudit,
    Upload,
}

impl Role {
    pub const ASSIGNABLE: [Role; 5] = [Role::Admin, Role::Doctor, Role::Nurse, Role::Viewer, Role::Auditor];

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" | "administrator" => Some(Role::Admin),
            "doctor" => Some(Role::Doctor),
            "nurse" => Some(Role::Nurse),
            "viewer" => Some(Role::Viewer),
            "auditor" => Some(Role::Auditor),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Doctor => "doctor",
            Role::Nurse => "nurse",
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
            Role::System => "system",
        }
    }

    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::System => true,
            Role::Admin => true,
            Role::Doctor => matches!(p, ReadRecords | WriteRecords | Finalize | Upload),
            Role::Nurse => matches!(p, ReadRecords | WriteRecords | Upload),
            Role::Viewer => matches!(p, ReadRecords),
            Role::Auditor => matches!(p, ReadAudit),
        }
    }

    /// Roles that see full ID and phone numbers on a resident's page.
    pub fn sees_full_identifiers(self) -> bool {
        matches!(self, Role::Doctor | Role::Nurse | Role::System)
    }
}

impl Permission {
    pub fn name(self) -> &'static str {
        match self {
            Permission::ReadRecords => "read_records",
            Permission::WriteRecords => "write_records",
            Permission::Finalize => "finalize",
            Permission::ManageUsers => "manage_users",
            Permission::Settings => "settings",
            Permission::ReadAudit => "read_audit",
            Permission::Upload => "upload",
        }
    }

    pub fn message(self) -> Msg {
        Msg::new("access.denied").arg("what", self.name())
    }
}
