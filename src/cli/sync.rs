//! `jkda sync [--json] [--status] [--retry-failed]` and
//! `jkda residents fetch ID-NUMBER`. Exit codes, for a scheduler, with or
//! without `--status`: 0 everything confirmed, 1 anything still waiting,
//! failed or in conflict, 2 upload not configured or usage error. Times are
//! printed in this PC's time zone with the offset; JSON keeps RFC 3339.

use crate::cli::SyncArgs;
use crate::form::Registry;
use crate::i18n::I18n;
use crate::store::{Actor, OutboxRow, OutboxStatus, ResidentRow, Store};
use crate::sync::{fetch_resident, refresh_resident, stored_message, Client, NotRefreshed, SyncConfig, Uploader};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(serde::Serialize)]
struct StatusOut<'a> {
    #[serde(flatten)]
    status: &'a OutboxStatus,
    sent_now: Option<usize>,
    error: Option<String>,
    problems: Vec<RowOut>,
}

#[derive(serde::Serialize)]
struct RowOut {
    record_id: i64,
    revision: i64,
    state: String,
    form: String,
    record_date: Option<String>,
    record_no: String,
    resident_masked: String,
    attempts: i64,
    reason: Option<String>,
}

fn row_out(r: &OutboxRow, i18n: &I18n) -> RowOut {
    RowOut {
        record_id: r.record_id,
        revision: r.revision,
        state: r.state.clone(),
        form: r.form_id.clone(),
        record_date: r.record_date.clone(),
        record_no: r.record_no.clone(),
        resident_masked: r.resident_masked.clone(),
        attempts: r.attempts,
        reason: r.last_error.as_deref().map(|e| i18n.msg(&stored_message(e))),
    }
}

fn print_status(
    store: &Store,
    i18n: &I18n,
    json: bool,
    sent_now: Option<usize>,
    error: Option<String>,
    configured: bool,
) -> Result<OutboxStatus, crate::store::StoreError> {
    let status = store.outbox_status()?;
    let rows = store.outbox_rows(&["failed", "conflict"], 200)?;
    let problems: Vec<RowOut> = rows.iter().map(|r| row_out(r, i18n)).collect();
    if json {
        let out = StatusOut {
            status: &status,
            sent_now,
            error,
            problems,
        };
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(status);
    }
    if let Some(n) = sent_now {
        println!("{}", i18n.tf("sync.cli_sent", &[("count", &n.to_string())]));
    }
    println!(
        "{}",
        i18n.tf(
            "sync.cli_counts",
            &[
                ("pending", &status.pending.to_string()),
                ("failed", &status.failed.to_string()),
                ("conflict", &status.conflict.to_string()),
                ("sent", &status.sent.to_string()),
            ]
        )
    );
    let last = status
        .last_success
        .as_deref()
        .map(|t| crate::ui::text::local_stamp(t, false))
        .unwrap_or_else(|| i18n.t("sync.never").to_string());
    println!("{}", i18n.tf("sync.cli_last_success", &[("time", &last)]));
    if let Some(e) = error.or_else(|| status.last_error.as_deref().map(|e| i18n.msg(&stored_message(e)))) {
        if status.pending + status.failed + status.conflict > 0 {
            println!("{}", i18n.tf("sync.cli_last_error", &[("error", &e)]));
        }
    }
    for p in &problems {
        println!(
            "  {} #{} r{} {} {} {} {}: {}",
            i18n.t(if p.state == "conflict" {
                "sync.state_conflict"
            } else {
                "sync.state_failed"
            }),
            p.record_id,
            p.revision,
            p.resident_masked,
            p.form,
            p.record_date.as_deref().unwrap_or(""),
            p.record_no,
            p.reason.as_deref().unwrap_or("")
        );
    }
    if status.conflict > 0 {
        // A clash waits for a person, never for a retry.
        println!("{}", i18n.t("conflicts.cli_hint"));
    }
    // Not "will retry": nothing here runs again by itself.
    if configured && status.pending + status.failed + status.conflict > 0 {
        println!("{}", i18n.t("sync.cli_next"));
    }
    Ok(status)
}

/// `jkda sync`.
pub fn sync(
    store: &mut Store,
    cfg: SyncConfig,
    registry: Registry,
    actor: &Actor,
    i18n: &I18n,
    args: &SyncArgs,
) -> ExitCode {
    let SyncArgs {
        status: status_only,
        json,
        retry_failed,
    } = *args;
    let run = || -> Result<ExitCode, crate::store::StoreError> {
        if status_only {
            let s = print_status(store, i18n, json, None, None, cfg.is_configured())?;
            if !cfg.is_configured() {
                eprintln!("{}", i18n.t("sync.err_not_configured"));
                return Ok(ExitCode::from(2));
            }
            return Ok(if s.pending + s.failed + s.conflict > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            });
        }
        if !cfg.is_configured() {
            eprintln!("{}", i18n.t("sync.err_not_configured"));
            print_status(store, i18n, json, None, None, cfg.is_configured())?;
            return Ok(ExitCode::from(2));
        }
        if retry_failed {
            store.retry_failed()?;
        }
        let mut up = match Uploader::new(cfg, Arc::new(registry), actor.clone()) {
            Ok(u) => u,
            Err(e) => {
                eprintln!("{}", i18n.msg(&e.message()));
                return Ok(ExitCode::from(2));
            }
        };
        let report = up.run(store);
        if let Some(e) = &report.anchor_error {
            eprintln!(
                "{}",
                i18n.tf("sync.anchor_failed", &[("reason", &i18n.msg(&e.message()))])
            );
        }
        if let Some(e) = &report.numbers_error {
            eprintln!(
                "{}",
                i18n.tf("sync.numbers_failed", &[("reason", &i18n.msg(&e.message()))])
            );
        }
        if report.numbers.renumbered > 0 {
            let n = report.numbers.renumbered.to_string();
            println!("{}", i18n.tf("sync.renumbered", &[("count", &n)]));
        }
        if let Some(e) = &report.pull_error {
            eprintln!(
                "{}",
                i18n.tf("sync.pull_failed", &[("reason", &i18n.msg(&e.message()))])
            );
        }
        for (form, version) in &report.forms.adopted {
            println!(
                "{}",
                i18n.tf("sync.form_adopted", &[("form", form), ("version", version)])
            );
        }
        for (id, why) in &report.forms.refused {
            let why = i18n.t(&format!("sync.form_refused_{why}")).to_string();
            eprintln!("{}", i18n.tf("sync.form_refused", &[("id", id), ("why", &why)]));
        }
        if report.pulled.added > 0 && !json {
            println!("{}", i18n.tf("sync.pulled", &[("n", &report.pulled.added.to_string())]));
        }
        let amended = report.pulled.amended;
        if amended != Default::default() && !json {
            let n = |v: usize| v.to_string();
            let args = [
                ("updated", n(amended.updated)),
                ("conflicts", n(amended.conflicts)),
                ("held", n(amended.held)),
            ];
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            println!("{}", i18n.tf("sync.pulled_amended", &args));
        }
        let error = report.error.as_ref().map(|e| i18n.msg(&e.message()));
        let s = print_status(store, i18n, json, Some(report.sent), error, true)?;
        let clean = s.pending + s.failed + s.conflict == 0;
        Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(1) })
    };
    run().unwrap_or_else(|e| {
        eprintln!("{}", i18n.msg(&e.message()));
        ExitCode::from(1)
    })
}

/// `jkda residents fetch ID-NUMBER`: exit 0 found (or already here, then
/// refreshed), 1 not on the platform or an error, 2 not configured.
pub fn fetch(
    store: &mut Store,
    cfg: SyncConfig,
    registry: &Registry,
    actor: &Actor,
    i18n: &I18n,
    id_number: &str,
) -> ExitCode {
    let id_number = id_number.trim();
    let here = match store.residents_with_id_number(actor, id_number, None) {
        Ok(local) => local,
        Err(e) => {
            eprintln!("{}", i18n.msg(&e.message()));
            return ExitCode::from(1);
        }
    };
    if !cfg.is_configured() {
        eprintln!("{}", i18n.t("sync.err_not_configured"));
        return ExitCode::from(2);
    }
    let client = match Client::new(&cfg) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", i18n.msg(&e.message()));
            return ExitCode::from(2);
        }
    };
    if !here.is_empty() {
        return refresh(&client, &cfg, store, registry, actor, i18n, id_number, &here);
    }
    match fetch_resident(&client, &cfg, store, registry, actor, id_number, 20) {
        Ok(Some(f)) => {
            println!(
                "{}",
                i18n.tf(
                    "sync.fetch_done",
                    &[
                        ("records", &f.records.to_string()),
                        ("skipped", &f.skipped.to_string()),
                        ("id", &f.resident_id.to_string())
                    ]
                )
            );
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!("{}", i18n.t("sync.fetch_none"));
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("{}", i18n.msg(&e.message()));
            ExitCode::from(1)
        }
    }
}

/// A resident already here: their records on the platform brought down,
/// new ones added and amendments made elsewhere applied (`sync::amended`).
/// Exit 0 refreshed (or not on the platform yet), 1 another registration
/// or an error. `here`: the residents here with the ID number.
#[allow(clippy::too_many_arguments)]
fn refresh(
    client: &Client,
    cfg: &SyncConfig,
    store: &mut Store,
    registry: &Registry,
    actor: &Actor,
    i18n: &I18n,
    id_number: &str,
    here: &[ResidentRow],
) -> ExitCode {
    let record_no = |id: Option<i64>| -> String {
        here.iter()
            .find(|r| id.is_none_or(|id| r.id == id))
            .map(|r| r.record_no.clone())
            .unwrap_or_default()
    };
    match refresh_resident(client, cfg, store, registry, actor, id_number) {
        Ok(Ok(r)) => {
            let n = |v: usize| v.to_string();
            let a = r.amended;
            println!(
                "{}",
                i18n.tf(
                    "sync.refresh_done",
                    &[
                        ("record_no", &record_no(Some(r.resident_id))),
                        ("added", &n(r.added)),
                        ("updated", &n(a.updated)),
                        ("conflicts", &n(a.conflicts)),
                        ("skipped", &n(r.skipped)),
                    ]
                )
            );
            if a.held > 0 {
                println!("{}", i18n.tf("sync.refresh_held", &[("n", &n(a.held))]));
            }
            if a.conflicts > 0 {
                println!("{}", i18n.t("conflicts.cli_hint"));
            }
            ExitCode::SUCCESS
        }
        Ok(Err(NotRefreshed::NotOnPlatform)) => {
            println!("{}", i18n.tf("sync.fetch_local", &[("record_no", &record_no(None))]));
            ExitCode::SUCCESS
        }
        Ok(Err(NotRefreshed::OtherRegistration(patient))) => {
            let no = record_no(None);
            eprintln!(
                "{}",
                i18n.tf("sync.refresh_other", &[("record_no", &no), ("patient", &patient)])
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("{}", i18n.msg(&e.message()));
            ExitCode::from(1)
        }
    }
}
