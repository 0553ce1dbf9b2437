//! `jkda conflicts list|show ID|resolve ID --keep mine|theirs|--take ITEMS`:
//! version clashes with the city platform for a sysadmin over SSH, the same
//! decisions as the conflict screen (`sync::conflict`). A decision takes
//! effect at the next sync. Exit 0 done (list: none waiting), 1 clashes
//! waiting, refused or failed.

use crate::cli::{ConflictsCmd, Keep};
use crate::form::Registry;
use crate::i18n::I18n;
use crate::store::{Actor, ConflictRow, Store, StoreError};
use crate::sync::conflict::{self, unresolvable_key, Choice, Item};
use crate::ui::text::local_stamp;
use std::process::ExitCode;

#[derive(serde::Serialize)]
struct ShowOut<'a> {
    #[serde(flatten)]
    row: &'a ConflictRow,
    mine_author: &'a str,
    mine_at: &'a str,
    server_site: Option<&'a str>,
    changed_since: bool,
    items: &'a [Item],
}

fn stamp(t: Option<&str>) -> String {
    t.map(|t| local_stamp(t, false)).unwrap_or_else(|| "-".into())
}

fn head(r: &ConflictRow) -> String {
    format!(
        "#{}\tr{}\t{}\t{}\t{}\t{}",
        r.record_id,
        r.revision,
        r.form_id,
        r.record_date.as_deref().unwrap_or("-"),
        r.record_no,
        r.resident_masked
    )
}

pub fn run(
    cmd: &ConflictsCmd,
    store: &mut Store,
    registry: &Registry,
    actor: &Actor,
    i18n: &I18n,
) -> Result<ExitCode, StoreError> {
    match cmd {
        ConflictsCmd::List { json } => {
            let rows = store.conflicts(actor)?;
            store.audit_list_reads(actor)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
            } else if rows.is_empty() {
                println!("{}", i18n.t("conflicts.none"));
            } else {
                for r in &rows {
                    let server = if r.server_known {
                        i18n.tf(
                            "conflicts.server_line",
                            &[
                                ("version", r.server_version.as_deref().unwrap_or("-")),
                                ("who", r.server_author.as_deref().unwrap_or("-")),
                                ("when", &stamp(r.server_at.as_deref())),
                            ],
                        )
                    } else {
                        i18n.t("conflicts.server_unknown").to_string()
                    };
                    println!("{}\t{server}", head(r));
                }
                println!("{}", i18n.t("conflicts.cli_hint"));
            }
            Ok(if rows.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        ConflictsCmd::Show { id, json } => {
            let c = match store.conflict(actor, *id) {
                Err(StoreError::NotFound) => return Ok(not_found(i18n, *id)),
                other => other?,
            };
            let items = differing_items(store, registry, &c, i18n);
            if *json {
                let out = ShowOut {
                    row: &c.row,
                    mine_author: &c.mine_author,
                    mine_at: &c.mine_at,
                    server_site: c.server.as_ref().and_then(|s| s.site.as_deref()),
                    changed_since: c.changed_since,
                    items: &items,
                };
                println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
                return Ok(ExitCode::SUCCESS);
            }
            println!("{}", head(&c.row));
            println!(
                "{}",
                i18n.tf(
                    "conflicts.mine_line",
                    &[("who", &c.mine_author), ("when", &stamp(Some(&c.mine_at)))]
                )
            );
            match &c.server {
                Some(s) => {
                    let who = match &s.site {
                        Some(site) => format!("{} ({site})", s.author.as_deref().unwrap_or("-")),
                        None => s.author.clone().unwrap_or_else(|| "-".into()),
                    };
                    println!(
                        "{}",
                        i18n.tf(
                            "conflicts.server_line",
                            &[
                                ("version", s.version.as_deref().unwrap_or("-")),
                                ("who", &who),
                                ("when", &stamp(s.at.as_deref())),
                            ]
                        )
                    );
                }
                None => println!("{}", i18n.t("conflicts.server_unknown")),
            }
            for i in &items {
                println!("  {} [{}]", i.label, i.field);
                println!("    {}: {}", i18n.t("conflicts.mine"), or_dash(&i.mine, i18n));
                println!("    {}: {}", i18n.t("conflicts.theirs"), or_dash(&i.theirs, i18n));
            }
            if c.changed_since {
                println!("{}", i18n.t("conflicts.changed_since"));
            }
            Ok(ExitCode::SUCCESS)
        }
        ConflictsCmd::Resolve { id, keep, take } => {
            let choice = match keep {
                Some(Keep::Mine) => Choice::Mine,
                Some(Keep::Theirs) => Choice::Theirs,
                None => Choice::Merge(take.iter().map(|s| s.trim().to_string()).collect()),
            };
            if let Choice::Merge(take) = &choice {
                // Only items that differ can be taken: a typo must not pass as "keep mine".
                let c = match store.conflict(actor, *id) {
                    Err(StoreError::NotFound) => return Ok(not_found(i18n, *id)),
                    other => other?,
                };
                let items = differing_items(store, registry, &c, i18n);
                if let Some(bad) = take.iter().find(|t| !items.iter().any(|i| &i.field == *t)) {
                    eprintln!("{}", i18n.tf("conflicts.unknown_item", &[("item", bad)]));
                    return Ok(ExitCode::from(1));
                }
            }
            let outcome = match conflict::resolve(store, registry, actor, *id, &choice) {
                Err(StoreError::NotFound) => return Ok(not_found(i18n, *id)),
                other => other?,
            };
            match outcome {
                Ok(upload) => {
                    let key = match (&choice, upload) {
                        (Choice::Mine, _) => "conflicts.resolved_mine",
                        (Choice::Theirs, _) | (Choice::Merge(_), false) => "conflicts.resolved_theirs",
                        (Choice::Merge(_), true) => "conflicts.resolved_merged",
                    };
                    println!("{}", i18n.tf(key, &[("id", &id.to_string())]));
                    Ok(ExitCode::SUCCESS)
                }
                Err(why) => {
                    eprintln!("{}", i18n.t(unresolvable_key(why)));
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// The items that differ between ours and the platform's, with the form's
/// labels in the reader's language; none when either side is unknown.
fn differing_items(store: &Store, registry: &Registry, c: &crate::store::Conflict, i18n: &I18n) -> Vec<Item> {
    let def = crate::sync::forms::form_at(store, registry, &c.row.form_id, &c.row.form_version);
    match (&def, &c.server) {
        (Some(d), Some(s)) => conflict::diff(d, &c.mine, &s.answers, i18n.lang()),
        _ => Vec::new(),
    }
}

fn or_dash<'a>(s: &'a str, i18n: &'a I18n) -> &'a str {
    if s.is_empty() {
        i18n.t("conflicts.empty")
    } else {
        s
    }
}

fn not_found(i18n: &I18n, id: i64) -> ExitCode {
    eprintln!("{}", i18n.tf("conflicts.not_found", &[("id", &id.to_string())]));
    ExitCode::from(1)
}
