//! `jkda drafts list` and `jkda drafts abandon ID --reason TEXT`: drafts
//! that will never be finished leave every list, the reason kept and the
//! act audited (`store/drafts.rs`). Exit 0 done, 1 refused or failed.

use crate::cli::DraftsCmd;
use crate::i18n::{I18n, Msg};
use crate::store::{Actor, Store, StoreError};
use std::process::ExitCode;

pub fn run(cmd: &DraftsCmd, store: &mut Store, actor: &Actor, i18n: &I18n) -> Result<ExitCode, StoreError> {
    match cmd {
        DraftsCmd::List { json } => {
            let rows = store.drafts(actor)?;
            store.audit_list_reads(actor)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
            } else if rows.is_empty() {
                println!("{}", i18n.t("drafts.none"));
            } else {
                for r in &rows {
                    let mark = if r.registration { i18n.t("list.draft") } else { "" };
                    println!(
                        "{}\t{}\t{}\t{}{mark}\t{}\t{}",
                        r.id, r.form_id, r.record_no, r.resident_masked, r.author, r.updated_at
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DraftsCmd::Abandon { id, reason } => match store.abandon_draft(actor, *id, reason) {
            Ok(a) => {
                let key = if a.resident_removed {
                    "drafts.abandoned_registration"
                } else {
                    "drafts.abandoned"
                };
                println!(
                    "{}",
                    i18n.tf(key, &[("id", &a.record_id.to_string()), ("form", &a.form_id)])
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(StoreError::InvalidInput) => {
                let m = Msg::new("drafts.bad_reason").arg("max", crate::store::MAX_REASON_CHARS);
                eprintln!("{}", i18n.msg(&m));
                Ok(ExitCode::from(1))
            }
            Err(StoreError::AlreadyFinal) => {
                eprintln!("{}", i18n.tf("drafts.not_a_draft", &[("id", &id.to_string())]));
                Ok(ExitCode::from(1))
            }
            Err(e) => Err(e),
        },
    }
}
