//! `jkda residents link RESIDENT TARGET`: links a resident here to the
//! platform's Patient (`store::link`), found by its id (`Patient/<id>` or
//! the bare id) or its 17-digit health-record number.

use super::serials::platform_patient;
use super::{Client, SyncConfig, SyncError};
use crate::i18n::I18n;
use crate::store::link::PlatformPatient;
use crate::store::{Actor, Store};
use std::process::ExitCode;

/// The platform's Patient named by `target`.
pub fn find_patient(client: &Client, cfg: &SyncConfig, target: &str) -> Result<Option<PlatformPatient>, SyncError> {
    let target = target.trim();
    let is_record_no = target.len() == 17 && target.bytes().all(|b| b.is_ascii_digit());
    if !is_record_no {
        return platform_patient(client, cfg, target);
    }
    let ident = format!("{}|{target}", cfg.identifiers.record_no);
    let found = client.search("Patient", &[("identifier", &ident)])?;
    match found["entry"][0]["resource"]["id"].as_str() {
        Some(id) => platform_patient(client, cfg, id),
        None => Ok(None),
    }
}

/// The resident here named by `local`: its number in the lists (the id
/// the upload messages give) or its health-record number.
fn local_resident(store: &Store, actor: &Actor, local: &str) -> Option<i64> {
    let local = local.trim();
    if local.len() == 17 {
        return store
            .import_resident_by_record_no(actor, local)
            .ok()
            .flatten()
            .and_then(|k| store.resident_id_by_uuid(&k.uuid).ok().flatten());
    }
    let id = local.parse::<i64>().ok()?;
    store.resident(actor, id).ok().map(|r| r.id)
}

/// Links resident `resident` to `patient` (`Patient/<id>` or a record
/// number); the record number the resident has now.
pub fn link_to(
    client: &Client,
    cfg: &SyncConfig,
    store: &mut Store,
    actor: &Actor,
    resident: i64,
    patient: &str,
) -> Result<String, SyncError> {
    let p = find_patient(client, cfg, patient)?.ok_or_else(|| SyncError::Refused {
        status: 404,
        reason: format!("{patient} is not on the platform"),
    })?;
    store.link_resident(actor, resident, &p)?;
    Ok(p.record_no)
}

pub fn run(store: &mut Store, cfg: SyncConfig, actor: &Actor, i18n: &I18n, local: &str, target: &str) -> ExitCode {
    let Some(resident) = local_resident(store, actor, local) else {
        eprintln!("{}", i18n.t("sync.link_no_resident"));
        return ExitCode::from(1);
    };
    if !cfg.is_configured() {
        eprintln!("{}", i18n.t("sync.err_not_configured"));
        return ExitCode::from(2);
    }
    let found = Client::new(&cfg).and_then(|c| find_patient(&c, &cfg, target));
    let patient = match found {
        Ok(Some(p)) => p,
        Ok(None) => {
            eprintln!("{}", i18n.t("sync.link_no_patient"));
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("{}", i18n.msg(&e.message()));
            return ExitCode::from(1);
        }
    };
    match store.link_resident(actor, resident, &patient) {
        Ok(holder) => {
            println!(
                "{}",
                i18n.tf(
                    "sync.link_done",
                    &[
                        ("id", &holder.to_string()),
                        ("record_no", &patient.record_no),
                        ("patient", &patient.id)
                    ]
                )
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", i18n.msg(&e.message()));
            ExitCode::from(1)
        }
    }
}
