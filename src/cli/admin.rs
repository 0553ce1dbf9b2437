//! Administrative commands: `jkda init`, `jkda user …`, `jkda audit …`,
//! `jkda key-file`. Scripted installs pipe passwords on standard input (one
//! per line); nothing secret is ever taken from the command line.

use crate::app::gate::check_new_password;
use crate::cli::auth::{self, read_password, Credentials};
use crate::cli::{AuditCmd, InitArgs, UserCmd};
use crate::i18n::{I18n, Msg};
use crate::store::crypt::{write_key_file, Keyring};
use crate::store::{AuditFilter, Permission, Role, SiteConfig, Store};
use crate::sync::anchor::{self, Comparison};
use crate::sync::SyncConfig;
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use std::process::ExitCode;

fn fail(i18n: &I18n, m: Msg) -> ExitCode {
    eprintln!("{}", i18n.msg(&m));
    ExitCode::from(1)
}

fn new_password(i18n: &I18n) -> Result<SecretString, Msg> {
    let io = |e: std::io::Error| crate::bounded_read::message(std::path::Path::new("stdin"), &e);
    let first = read_password(&format!("{}: ", i18n.t("gate.new_password"))).map_err(io)?;
    // From a pipe one line is enough; at a terminal the password is typed twice.
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let again = read_password(&format!("{}: ", i18n.t("gate.password_again"))).map_err(io)?;
        check_new_password(first.expose_secret(), again.expose_secret())?;
    } else {
        check_new_password(first.expose_secret(), first.expose_secret())?;
    }
    Ok(first)
}

pub fn init(dir: &Path, args: &InitArgs, i18n: &I18n) -> ExitCode {
    let keyring = match Keyring::load(dir) {
        Ok(k) => k,
        Err(e) => return fail(i18n, e.message()),
    };
    if keyring.is_some_and(|k| !k.users().is_empty()) {
        return fail(i18n, Msg::new("cli.already_initialized"));
    }
    if let Err(m) = crate::session::check_before_install(dir) {
        return fail(i18n, m);
    }
    let site = match (&args.site_name, &args.division, &args.township, &args.village) {
        (Some(name), Some(division), Some(township), Some(village)) => {
            if let Err(e) = crate::identity::validate_site_codes(division, township, village) {
                return fail(i18n, e.message());
            }
            Some(SiteConfig {
                name: name.clone(),
                division: division.clone(),
                township: township.clone(),
                village: village.clone(),
            })
        }
        (None, None, None, None) => None,
        _ => return fail(i18n, Msg::new("cli.site_incomplete")),
    };
    let password = match new_password(i18n) {
        Ok(p) => p,
        Err(m) => return fail(i18n, m),
    };
    let name = args.name.clone().unwrap_or_else(|| args.admin.clone());
    let result = crate::session::install(dir, site.as_ref(), &args.admin, &name, &password, !args.no_encrypt);
    match result {
        Ok(s) => {
            let encrypted = crate::store::Store::is_encrypted_file(&crate::paths::db_path(dir));
            println!(
                "{}",
                i18n.tf(
                    "cli.initialized",
                    &[("login", &s.user.login), ("dir", &dir.display().to_string())]
                )
            );
            if !encrypted {
                println!("{}", i18n.t("cli.not_encrypted"));
            }
            ExitCode::SUCCESS
        }
        Err(m) => fail(i18n, m),
    }
}

pub fn user(dir: &Path, creds: &Credentials, cmd: &UserCmd, i18n: &I18n) -> ExitCode {
    let (mut store, actor, key) = match auth::open(dir, creds, i18n) {
        Ok(x) => x,
        Err(m) => return fail(i18n, m),
    };
    if let Err(m) = auth::require(&actor, Permission::ManageUsers) {
        return fail(i18n, m);
    }
    let mut keyring = match Keyring::load(dir) {
        Ok(Some(k)) => k,
        Ok(None) => return fail(i18n, Msg::new("access.no_accounts")),
        Err(e) => return fail(i18n, e.message()),
    };
    // Rewrapping the key for a new password needs the key itself: the
    // administrator's login (or the key file) provided it to open the store.
    let Some(key) = key else {
        return fail(i18n, Msg::new("cli.needs_key_for_passwords"));
    };
    let result: Result<(), Msg> = (|| match cmd {
        UserCmd::Add { login, role, name } => {
            let role = Role::parse(role).ok_or_else(|| Msg::new("cli.bad_role").arg("value", role))?;
            let password = new_password(i18n)?;
            // Keyring first: an account in the database that no keyring entry
            // can open would be a login nobody can use. Undone if the
            // database refuses the account.
            let r = keyring.add_user(login, &password, &key).map_err(|e| e.message());
            r?;
            if let Err(e) = store.add_user(&actor, login, name.as_deref().unwrap_or(login), role, true) {
                let _ = keyring.remove_user(login);
                return Err(e.message());
            }
            println!(
                "{}",
                i18n.tf("cli.user_added", &[("login", login), ("role", role.name())])
            );
            Ok(())
        }
        UserCmd::List { json } => {
            let users = store.users(&actor).map_err(|e| e.message())?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&users).unwrap_or_default());
            } else {
                for u in users {
                    let state = if u.disabled { i18n.t("cli.user_disabled") } else { "" };
                    println!("{}\t{}\t{}\t{state}", u.login, u.role.name(), u.display_name);
                }
            }
            Ok(())
        }
        UserCmd::Disable { login } => store.set_disabled(&actor, login, true).map_err(|e| e.message()),
        UserCmd::Enable { login } => store.set_disabled(&actor, login, false).map_err(|e| e.message()),
        UserCmd::Role { login, role } => {
            let role = Role::parse(role).ok_or_else(|| Msg::new("cli.bad_role").arg("value", role))?;
            store.set_role(&actor, login, role).map_err(|e| e.message())
        }
        UserCmd::Passwd { login } => {
            if store.user(login).map_err(|e| e.message())?.is_none() {
                return Err(Msg::new("store.not_found"));
            }
            let password = new_password(i18n)?;
            let r = keyring.set_password(login, &password, &key).map_err(|e| e.message());
            r?;
            // Someone else's reset must be replaced by a password only they know.
            store
                .set_must_change(&actor, login, actor.user != *login)
                .map_err(|e| e.message())?;
            store
                .audit(&actor, "password_reset", "user", login)
                .map_err(|e| e.message())?;
            Ok(())
        }
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(m) => fail(i18n, m),
    }
}

pub fn audit(dir: &Path, creds: &Credentials, cmd: &AuditCmd, i18n: &I18n, sync: SyncConfig) -> ExitCode {
    let (store, actor, _) = match auth::open(dir, creds, i18n) {
        Ok(x) => x,
        Err(m) => return fail(i18n, m),
    };
    match cmd {
        AuditCmd::Verify { json } => match store.verify_audit() {
            Ok(None) => {
                let (platform, said) = compare_with_platform(&store, &sync, i18n);
                let agrees = !matches!(
                    platform,
                    PlatformCheck::Compared(Comparison::Altered { .. } | Comparison::Shorter { .. })
                );
                if *json {
                    println!(
                        "{}",
                        serde_json::json!({ "intact": agrees, "local_intact": true, "platform": platform })
                    );
                } else {
                    println!("{}", i18n.t("cli.audit_intact"));
                    println!("{said}");
                }
                if agrees {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Ok(Some(b)) => {
                if *json {
                    println!("{}", serde_json::json!({ "intact": false, "first_broken": b }));
                } else {
                    let kind = i18n.t(&format!("cli.audit_break.{}", b.kind)).to_string();
                    println!(
                        "{}",
                        i18n.tf(
                            "cli.audit_broken",
                            &[("id", &b.id.to_string()), ("at", &b.at), ("kind", &kind)]
                        )
                    );
                }
                ExitCode::from(1)
            }
            Err(e) => fail(i18n, e.message()),
        },
        AuditCmd::Show {
            resident,
            by,
            since,
            json,
        } => {
            let filter = AuditFilter {
                resident: *resident,
                user: by.clone(),
                since: since.clone(),
                limit: None,
            };
            match store.audit_query(&actor, &filter) {
                Ok(entries) if *json => {
                    println!("{}", serde_json::to_string_pretty(&entries).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Ok(entries) => {
                    for e in entries {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}",
                            e.id,
                            crate::ui::text::local_stamp(&e.at, true),
                            e.actor,
                            e.action,
                            e.entity,
                            e.entity_id
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(i18n, e.message()),
            }
        }
    }
}

pub fn key_file(dir: &Path, creds: &Credentials, path: &Path, i18n: &I18n) -> ExitCode {
    let (store, actor, key) = match auth::open(dir, creds, i18n) {
        Ok(x) => x,
        Err(m) => return fail(i18n, m),
    };
    if let Err(m) = auth::require(&actor, Permission::ManageUsers) {
        return fail(i18n, m);
    }
    let Some(key) = key else {
        return fail(i18n, Msg::new("cli.needs_key_for_passwords"));
    };
    if let Err(m) = auth::check_key_file(dir, path) {
        return fail(i18n, m);
    }
    match write_key_file(path, &key) {
        Ok(()) => {
            let _ = store.audit(&actor, "key_file_written", "database", "");
            println!(
                "{}",
                i18n.tf("cli.key_file_written", &[("path", &path.display().to_string())])
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(i18n, e.message()),
    }
}

/// What the platform's copy of the trail's head says.
#[derive(Debug, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum PlatformCheck {
    NotConfigured,
    Unreachable { reason: String },
    Compared(Comparison),
}

/// Compares the local trail with the anchor the platform keeps; the second
/// value says in words what could and could not be checked.
fn compare_with_platform(store: &Store, sync: &SyncConfig, i18n: &I18n) -> (PlatformCheck, String) {
    if !sync.is_configured() {
        return (
            PlatformCheck::NotConfigured,
            i18n.t("cli.audit_anchor.not_configured").to_string(),
        );
    }
    let fetched = crate::sync::client::Client::new(sync).and_then(|client| {
        let installation = store
            .installation_id()
            .map_err(|e| crate::sync::SyncError::Config(e.to_string()))?;
        anchor::fetch(&client, &installation)
    });
    let anchor = match fetched {
        Ok(a) => a,
        Err(e) => {
            let reason = i18n.msg(&e.message());
            let said = i18n.tf("cli.audit_anchor.unreachable", &[("reason", &reason)]);
            return (PlatformCheck::Unreachable { reason }, said);
        }
    };
    let comparison = match anchor::compare(store, anchor.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            let reason = i18n.msg(&e.message());
            let said = i18n.tf("cli.audit_anchor.unreachable", &[("reason", &reason)]);
            return (PlatformCheck::Unreachable { reason }, said);
        }
    };
    let said = match &comparison {
        Comparison::Matches { seq, recorded } => i18n.tf(
            "cli.audit_anchor.matches",
            &[("seq", &seq.to_string()), ("recorded", recorded)],
        ),
        Comparison::Altered { seq, recorded } => i18n.tf(
            "cli.audit_anchor.altered",
            &[("seq", &seq.to_string()), ("recorded", recorded)],
        ),
        Comparison::Shorter {
            seq,
            recorded,
            local_last,
        } => i18n.tf(
            "cli.audit_anchor.shorter",
            &[
                ("seq", &seq.to_string()),
                ("recorded", recorded),
                ("last", &local_last.to_string()),
            ],
        ),
        Comparison::NoAnchor => i18n.t("cli.audit_anchor.none").to_string(),
    };
    (PlatformCheck::Compared(comparison), said)
}
