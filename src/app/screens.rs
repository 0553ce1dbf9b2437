//! State of the screens other than form filling: first-run setup, the
//! resident list with its search box, and a resident's page.

use super::text_input::TextBuf;
use crate::store::{DuplicateCandidate, RecordSummary, Resident, ResidentRow};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetupState {
    /// site name, division (6), township (3), village (3)
    pub inputs: [TextBuf; 4],
    pub focus: usize,
    pub error: Option<crate::i18n::Msg>,
}

impl SetupState {
    pub const LABELS: [&'static str; 4] = ["setup.site_name", "setup.division", "setup.township", "setup.village"];

    /// Edits the input with the focus (nothing happens, rather than a
    /// panic, should the focus ever point past the four inputs).
    pub fn edit(&mut self, f: impl FnOnce(&mut TextBuf)) {
        if let Some(b) = self.inputs.get_mut(self.focus) {
            f(b);
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListState {
    pub query: TextBuf,
    pub rows: Vec<ResidentRow>,
    pub selected: usize,
    /// The query the rows answer; results for an older query are ignored.
    /// A name or an ID number: redacted in `Debug`, like `query`.
    pub rows_for: crate::domain::Sensitive<String>,
}

impl ListState {
    /// Rows fetched per keystroke: the best matches, a few screens' worth.
    /// Every row costs a page read (and decryption) at county scale, so a
    /// longer list would make typing slower for rows nobody scrolls to;
    /// typing one more character narrows the list instead.
    pub const LIMIT: usize = 50;
}

pub struct ResidentPage {
    pub resident: Resident,
    pub records: Vec<RecordSummary>,
    /// Programme memberships, left ones included.
    pub memberships: Vec<crate::store::care::Membership>,
    pub selected: usize,
}

/// Existing residents who may be the person being registered (same name and
/// birth date, or same phone), shown before the registration is finalized.
#[derive(Debug, Clone)]
pub struct Suspects {
    pub record_id: i64,
    pub candidates: Vec<DuplicateCandidate>,
}
