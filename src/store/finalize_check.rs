//! The rules that stop a finalize (issue 12: they lived in the shell): a
//! registration whose ID number another resident has is never finalized,
//! and one that may be someone already registered (same name and birth
//! date, or same phone) is asked about first. Either way what was typed is
//! kept as a draft.

use super::{Actor, DuplicateCandidate, ResidentRow, Result, Save, Store};

#[derive(Debug)]
pub enum FinalizeOutcome {
    /// The record is final.
    Finalized,
    /// Another resident has this ID number: saved as a draft, not final.
    DuplicateId(Vec<ResidentRow>),
    /// Possibly the same person as these: saved as a draft; the worker is
    /// asked, and confirms with `ask_suspects` false.
    Suspects(Vec<DuplicateCandidate>),
}

impl Store {
    /// Finalizes `record_id` of `resident_id` with `save`, unless the
    /// rules above stop it.
    pub fn finalize_checked(
        &mut self,
        actor: &Actor,
        record_id: i64,
        resident_id: i64,
        save: &Save,
        programme: Option<&str>,
        ask_suspects: bool,
    ) -> Result<FinalizeOutcome> {
        if let Some(fields) = &save.resident {
            if let Some(id_number) = &fields.id_number {
                let existing = self.residents_with_id_number(actor, id_number, Some(resident_id))?;
                if !existing.is_empty() {
                    self.save_draft(actor, record_id, save)?;
                    return Ok(FinalizeOutcome::DuplicateId(existing));
                }
            }
            if ask_suspects {
                let candidates = self.duplicate_candidates(actor, fields, Some(resident_id))?;
                if !candidates.is_empty() {
                    self.save_draft(actor, record_id, save)?;
                    return Ok(FinalizeOutcome::Suspects(candidates));
                }
            }
        }
        self.finalize(actor, record_id, save, programme)?;
        Ok(FinalizeOutcome::Finalized)
    }
}
