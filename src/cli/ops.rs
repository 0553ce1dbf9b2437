//! The operations commands: `jkda doctor`, `backup`, `restore` and
//! `support-bundle` (the work is in `ops`). Exit codes: doctor 0/1/2 by its
//! worst check; the others 0 done, 1 refused or failed, 2 usage.

use crate::cli::auth::{self, read_password, Credentials};
use crate::config::Config;
use crate::i18n::{I18n, Msg};
use crate::ops::{backup, bundle, doctor, restore, OpsError};
use crate::store::crypt::{read_key_file, DbKey};
use crate::store::{Actor, Permission, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn fail(i18n: &I18n, m: Msg) -> ExitCode {
    eprintln!("{}", i18n.msg(&m));
    ExitCode::from(1)
}

fn key_file(creds: &Credentials) -> Option<PathBuf> {
    creds.key_file.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("JKDA_KEY_FILE")
            .filter(|v| !v.is_empty())
            .map(Into::into)
    })
}

fn doctor_report(
    dir: &Path,
    config: &Config,
    config_error: Option<&crate::config::ConfigError>,
    creds: &Credentials,
    key: Option<DbKey>,
) -> doctor::Report {
    doctor::run(&doctor::Inputs {
        data_dir: dir,
        config,
        config_error,
        key_file: key_file(creds),
        key,
        sync: crate::sync::SyncConfig::from_config(config),
        terminal: doctor::TerminalFacts::from_env(),
        now: chrono::Utc::now(),
    })
}

pub fn doctor(
    dir: &Path,
    config: &Config,
    config_error: Option<&crate::config::ConfigError>,
    creds: &Credentials,
    json: bool,
    i18n: &I18n,
) -> ExitCode {
    let report = doctor_report(dir, config, config_error, creds, None);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.json(i18n)).unwrap_or_default()
        );
    } else {
        print!("{}", report.text(i18n));
    }
    ExitCode::from(report.exit_code())
}

pub fn backup(dir: &Path, config: &Config, creds: &Credentials, to: Option<&Path>, i18n: &I18n) -> ExitCode {
    let cfg = config.backup.clone().unwrap_or_default();
    let Some(dest) = to.map(Path::to_path_buf).or(cfg.dir.clone()) else {
        eprintln!("{}", i18n.msg(&OpsError::NoDir.message()));
        return ExitCode::from(2);
    };
    let (store, actor, key) = match auth::open(dir, creds, i18n) {
        Ok(x) => x,
        Err(m) => return fail(i18n, m),
    };
    if let Err(m) = auth::require(&actor, Permission::Settings) {
        return fail(i18n, m);
    }
    // A login unwraps the key of a plaintext installation too; only an
    // encrypted database is copied with it.
    let key = key.filter(|_| Store::is_encrypted_file(store.path()));
    let working = crate::progress::spinner(i18n.t("ops.backup_working").to_string());
    let made = backup::make(
        &store,
        dir,
        key.as_ref(),
        &dest,
        cfg.keep(),
        &actor,
        chrono::Local::now(),
    );
    working.finish_and_clear();
    match made {
        Ok(made) => {
            println!(
                "{}",
                i18n.tf(
                    "ops.backup_done",
                    &[
                        ("path", &made.path.display().to_string()),
                        ("size", &doctor::human_bytes(made.manifest.db_bytes)),
                        ("seconds", &format!("{:.1}", made.took.as_secs_f64())),
                    ]
                )
            );
            for old in &made.removed {
                println!(
                    "{}",
                    i18n.tf("ops.backup_removed", &[("path", &old.display().to_string())])
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(i18n, e.message()),
    }
}

pub fn restore(dir: &Path, creds: &Credentials, given: &Path, i18n: &I18n) -> ExitCode {
    let folder = restore::folder(given);
    let manifest = match backup::read_manifest(&folder) {
        Ok(m) => m,
        Err(e) => return fail(i18n, e.message()),
    };
    // The key comes from the backup's own keyring (the passwords valid when
    // it was made) or from the key file: the database in place may be the
    // damaged thing being replaced.
    let mut actor = Actor::new(auth::os_user());
    let key: Option<DbKey> = if !manifest.encrypted {
        None
    } else if let Some(login) = creds.user {
        let password = match read_password(&format!("{}: ", i18n.t("gate.password"))) {
            Ok(p) => p,
            Err(e) => return fail(i18n, Msg::new("cli.io_error").arg("path", "stdin").arg("detail", e)),
        };
        let key = restore::unlock(&folder, login, &password);
        let key = match key {
            Ok(k) => k,
            Err(e) => return fail(i18n, e.message()),
        };
        // Only an administrator of the backup's installation restores it.
        let user = Store::open_read_only(&folder.join(backup::DB), Some(&key)).and_then(|s| s.user(login));
        match user {
            Ok(Some(u)) if !u.disabled && u.role.allows(Permission::Settings) => {
                actor = Actor::with_role(login, u.role);
            }
            Ok(_) => return fail(i18n, Permission::Settings.message()),
            Err(e) => return fail(i18n, e.message()),
        }
        Some(key)
    } else if let Some(path) = key_file(creds) {
        if let Err(m) = auth::check_key_file(dir, &path) {
            return fail(i18n, m);
        }
        match read_key_file(&path) {
            Ok(k) => {
                actor = Actor::new(format!("keyfile:{}", auth::os_user()));
                Some(k)
            }
            Err(e) => return fail(i18n, e.message()),
        }
    } else {
        return fail(i18n, OpsError::NeedsKey.message());
    };
    let working = crate::progress::spinner(i18n.t("ops.restore_working").to_string());
    let restored = restore::restore(dir, &folder, key.as_ref(), &actor, chrono::Local::now());
    working.finish_and_clear();
    match restored {
        Ok(r) => {
            println!(
                "{}",
                i18n.tf(
                    "ops.restore_done",
                    &[
                        ("backup", &folder.display().to_string()),
                        ("created", &r.manifest.created_at),
                        ("seconds", &format!("{:.1}", r.took.as_secs_f64())),
                    ]
                )
            );
            for p in &r.replaced {
                println!("{}", i18n.tf("ops.restore_kept", &[("path", &p.display().to_string())]));
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(i18n, e.message()),
    }
}

pub fn support_bundle(
    dir: &Path,
    config: &Config,
    config_error: Option<&crate::config::ConfigError>,
    creds: &Credentials,
    file: &Path,
    i18n: &I18n,
) -> ExitCode {
    let started = std::time::Instant::now();
    let terminal = doctor::TerminalFacts::from_env();
    let db = crate::paths::db_path(dir);
    let mut login_key = None;
    // Counts come from a login's store (audited), a key file's or a
    // plaintext database's read-only one, or are left out.
    let opened: Result<(Store, Option<Actor>), &'static str> = if creds.user.is_some() {
        match auth::open(dir, creds, i18n) {
            Ok((s, a, k)) => {
                login_key = k.filter(|_| Store::is_encrypted_file(&db));
                Ok((s, Some(a)))
            }
            Err(m) => return fail(i18n, m),
        }
    } else if !db.exists() {
        Err("ops.bundle_no_db")
    } else if Store::is_encrypted_file(&db) {
        match key_file(creds).map(|p| read_key_file(&p)) {
            Some(Ok(k)) => Store::open_read_only(&db, Some(&k))
                .map(|s| (s, None))
                .map_err(|_| "ops.bundle_db_unreadable"),
            _ => Err("ops.bundle_needs_key"),
        }
    } else {
        Store::open_read_only(&db, None)
            .map(|s| (s, None))
            .map_err(|_| "ops.bundle_db_unreadable")
    };
    let report = doctor_report(dir, config, config_error, creds, login_key);
    let name = file.display().to_string();
    if let Ok((store, Some(actor))) = &opened {
        if let Err(e) = store.audit(actor, "support_bundle", "database", &name) {
            return fail(i18n, e.message());
        }
    }
    let database = match &opened {
        Ok((s, _)) => bundle::Database::Open(s),
        Err(why) => bundle::Database::NotRead(why),
    };
    let inputs = bundle::Inputs {
        data_dir: dir,
        doctor: &report,
        terminal: &terminal,
        database,
        i18n,
        now: chrono::Local::now(),
    };
    match bundle::write(file, &inputs) {
        Ok(files) => {
            println!(
                "{}",
                i18n.tf(
                    "ops.bundle_done",
                    &[
                        ("path", &name),
                        ("files", &files.join(", ")),
                        ("seconds", &format!("{:.1}", started.elapsed().as_secs_f64())),
                    ]
                )
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(i18n, e.message()),
    }
}
