//! Running a command line: parse it, pick the language and the data
//! directory, dispatch to the command's group, and map failures to a
//! message in the user's language and an exit code.

use super::{Cli, Command};
use crate::config::Config;
use crate::i18n::{I18n, Lang};
use crate::store::{Actor, Store};
use clap::Parser;
use std::path::Path;
use std::process::ExitCode;

/// The whole program behind `jkda`.
pub fn main() -> ExitCode {
    crate::hardening::forbid_core_dumps();
    let cli = Cli::parse();
    if cli.command.is_some() {
        // Commands print; the TUI draws on a terminal and keeps ignoring it.
        crate::hardening::quiet_on_closed_pipe();
    }
    // Generated from the definitions alone: no data directory needed.
    match &cli.command {
        Some(Command::Completions { shell }) => return crate::cli::docs::completions(*shell),
        Some(Command::Man) => return crate::cli::docs::man(),
        _ => {}
    }
    let dir = crate::paths::data_dir(cli.data_dir.as_deref());
    let (config, config_error) = dir.as_deref().map(Config::load).unwrap_or_default();
    let lang = match cli.lang.as_deref() {
        Some(s) => match Lang::parse(s) {
            Some(l) => l,
            None => {
                eprintln!("{}", I18n::new(Lang::Zh).tf("cli.bad_lang", &[("value", s)]));
                return ExitCode::from(2);
            }
        },
        None => config.lang().unwrap_or_default(),
    };
    let i18n = I18n::new(lang);
    if let Some(e) = &config_error {
        eprintln!("{}", i18n.msg(&e.message()));
    }
    let forms_dir = cli.forms_dir.clone().or(config.forms_dir.clone());
    let Some(dir) = dir else {
        eprintln!("{}", i18n.t("cli.no_data_dir"));
        return ExitCode::from(2);
    };
    let permissions = crate::private_files::warning(&dir);
    if let Some(m) = permissions.as_ref().filter(|_| cli.command.is_some()) {
        eprintln!("{}", i18n.msg(m));
    }
    match &cli.command {
        Some(Command::Forms(cmd)) => super::forms::run(cmd, forms_dir.as_deref(), &dir, &i18n),
        Some(Command::Init(args)) => crate::cli::admin::init(&dir, args, &i18n),
        Some(Command::User(cmd)) => crate::cli::admin::user(&dir, &creds(&cli), cmd, &i18n),
        Some(Command::Audit(cmd)) => crate::cli::admin::audit(
            &dir,
            &creds(&cli),
            cmd,
            &i18n,
            crate::sync::SyncConfig::from_config(&config),
        ),
        Some(Command::KeyFile { path }) => crate::cli::admin::key_file(&dir, &creds(&cli), path, &i18n),
        Some(Command::Doctor { json }) => {
            crate::cli::ops::doctor(&dir, &config, config_error.as_ref(), &creds(&cli), *json, &i18n)
        }
        Some(Command::Backup { dir: to }) => crate::cli::ops::backup(&dir, &config, &creds(&cli), to.as_deref(), &i18n),
        Some(Command::Restore { backup }) => crate::cli::ops::restore(&dir, &creds(&cli), backup, &i18n),
        Some(Command::SupportBundle { file }) => {
            crate::cli::ops::support_bundle(&dir, &config, config_error.as_ref(), &creds(&cli), file, &i18n)
        }
        Some(Command::Conflicts(cmd)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            let registry = super::forms::load_registry(forms_dir.as_deref(), &dir, &i18n).0;
            crate::cli::conflicts::run(cmd, &mut store, &registry, &actor, &i18n)
        }),
        Some(Command::Drafts(cmd)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            crate::cli::drafts::run(cmd, &mut store, &actor, &i18n)
        }),
        Some(Command::Completions { shell }) => crate::cli::docs::completions(*shell),
        Some(Command::Man) => crate::cli::docs::man(),
        Some(Command::Paths) => {
            println!(
                "{}",
                i18n.tf(
                    "cli.paths",
                    &[
                        ("dir", &dir.display().to_string()),
                        ("db", &crate::paths::db_path(&dir).display().to_string())
                    ]
                )
            );
            ExitCode::SUCCESS
        }
        Some(Command::Demo(args)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            let registry = super::forms::load_registry(forms_dir.as_deref(), &dir, &i18n).0;
            // On a terminal only: a pipe or a log gets the result line alone.
            let bar = crate::progress::bar();
            let report = crate::demo::generate(
                &mut store,
                &registry,
                &actor,
                args.residents,
                args.seed,
                chrono::Local::now().date_naive(),
                &mut |done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                    bar.set_message(i18n.tf(
                        "demo.progress",
                        &[("done", &done.to_string()), ("total", &total.to_string())],
                    ));
                },
            );
            bar.finish_and_clear();
            let report = report?;
            println!(
                "{}",
                i18n.tf(
                    "demo.done",
                    &[
                        ("residents", &report.residents.to_string()),
                        ("records", &report.records.to_string())
                    ]
                )
            );
            Ok(ExitCode::SUCCESS)
        }),
        Some(Command::Residents(crate::cli::ResidentsCmd::Fetch { id_number })) => {
            with_store(&dir, &cli, &i18n, |mut store, actor| {
                let registry = super::forms::load_registry(forms_dir.as_deref(), &dir, &i18n).0;
                let cfg = crate::sync::SyncConfig::from_config(&config);
                Ok(crate::cli::sync::fetch(
                    &mut store, cfg, &registry, &actor, &i18n, id_number,
                ))
            })
        }
        Some(Command::Residents(crate::cli::ResidentsCmd::Link { resident, target })) => {
            with_store(&dir, &cli, &i18n, |mut store, actor| {
                let cfg = crate::sync::SyncConfig::from_config(&config);
                Ok(crate::sync::link::run(&mut store, cfg, &actor, &i18n, resident, target))
            })
        }
        Some(Command::Sync(args)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            let registry = super::forms::load_registry(forms_dir.as_deref(), &dir, &i18n).0;
            let cfg = crate::sync::SyncConfig::from_config(&config);
            Ok(crate::cli::sync::sync(&mut store, cfg, registry, &actor, &i18n, args))
        }),
        Some(Command::Import(args)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            let registry = super::forms::load_registry(forms_dir.as_deref(), &dir, &i18n).0;
            let ids = crate::sync::SyncConfig::from_config(&config).identifiers;
            let working = crate::progress::spinner(i18n.t("import.working").to_string());
            let code = crate::import::run(&mut store, &registry, &ids, &actor, &i18n, args);
            working.finish_and_clear();
            Ok(code)
        }),
        Some(Command::Residents(cmd)) => with_store(&dir, &cli, &i18n, |store, actor| {
            crate::cli::residents::run(cmd, &store, &actor, &i18n)
        }),
        Some(Command::Worklist(args)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            store.set_care_settings(config.management.clone().unwrap_or_default());
            crate::cli::manage::worklist(&store, &actor, &i18n, args)
        }),
        Some(Command::Report(cmd)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            store.set_care_settings(config.management.clone().unwrap_or_default());
            crate::cli::manage::report(&store, &actor, &i18n, cmd)
        }),
        Some(Command::Check(args)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            store.set_care_settings(config.management.clone().unwrap_or_default());
            let registry = super::forms::load_registry(forms_dir.as_deref(), &dir, &i18n).0;
            crate::cli::manage::check(&store, &actor, &registry, &i18n, args)
        }),
        Some(Command::Programme(cmd)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            store.set_care_settings(config.management.clone().unwrap_or_default());
            crate::cli::manage::programme(&mut store, &actor, &i18n, cmd)
        }),
        None => {
            let (_, failures) = super::forms::load_registry(forms_dir.as_deref(), &dir, &i18n);
            let keymap = crate::keymap::site_file::load(&dir, &i18n);
            let startup_notice = failures
                .first()
                .or(keymap.1.first())
                .map(|first| crate::i18n::Msg::new("cli.startup_problem").arg("detail", first))
                .or(permissions);
            let forms = || super::forms::load_registry(forms_dir.as_deref(), &dir, &i18n).0;
            let clinic = crate::tui::Clinic {
                dir: dir.clone(),
                view: crate::ui::View {
                    i18n: &i18n,
                    theme: crate::ui::Theme::from_env(),
                },
                lang,
                keymap: keymap.0,
                forms: &forms,
                sync: crate::sync::SyncConfig::from_config(&config),
                idle_after: Some(idle_after(&config)),
                startup_notice,
                management: config.management.clone().unwrap_or_default(),
                backup: config.backup.clone().unwrap_or_default(),
            };
            match crate::tui::run_clinic(&clinic) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{}", i18n.tf("cli.tui_failed", &[("detail", &e.to_string())]));
                    ExitCode::from(1)
                }
            }
        }
    }
}

/// The idle lock: `idle_lock_minutes` in config.toml (default 10);
/// `JKDA_IDLE_LOCK_SECONDS` overrides it for kiosks and tests.
fn idle_after(config: &Config) -> std::time::Duration {
    let from_env = std::env::var("JKDA_IDLE_LOCK_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0);
    std::time::Duration::from_secs(from_env.unwrap_or(60 * config.idle_lock_minutes.unwrap_or(10).max(1)))
}

fn creds(cli: &Cli) -> crate::cli::auth::Credentials<'_> {
    crate::cli::auth::Credentials {
        user: cli.user.as_deref(),
        key_file: cli.key_file.as_deref(),
    }
}

fn with_store(
    dir: &Path,
    cli: &Cli,
    i18n: &I18n,
    f: impl FnOnce(Store, Actor) -> Result<ExitCode, crate::store::StoreError>,
) -> ExitCode {
    let (store, actor) = match crate::cli::auth::open(dir, &creds(cli), i18n) {
        Ok((s, a, _)) => (s, a),
        Err(m) => {
            eprintln!("{}", i18n.msg(&m));
            return ExitCode::from(1);
        }
    };
    match f(store, actor) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", i18n.msg(&e.message()));
            ExitCode::from(1)
        }
    }
}
