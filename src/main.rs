//! Thin entry point: parse the command line, pick language and paths,
//! dispatch, and map failures to a message in the user's language and an
//! exit code.

use clap::Parser;
use jkda::cli::{Cli, Command, ExportFormat, FormsCmd};
use jkda::config::Config;
use jkda::form::{FormError, Registry};
use jkda::i18n::{I18n, Lang};
use jkda::store::{Actor, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    jkda::hardening::forbid_core_dumps();
    let cli = Cli::parse();
    if cli.command.is_some() {
        // Commands print; the TUI draws on a terminal and keeps ignoring it.
        jkda::hardening::quiet_on_closed_pipe();
    }
    // Generated from the definitions alone: no data directory needed.
    match &cli.command {
        Some(Command::Completions { shell }) => return jkda::cli_docs::completions(*shell),
        Some(Command::Man) => return jkda::cli_docs::man(),
        _ => {}
    }
    let dir = jkda::paths::data_dir(cli.data_dir.as_deref());
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
    let permissions = jkda::private_files::warning(&dir);
    if let Some(m) = permissions.as_ref().filter(|_| cli.command.is_some()) {
        eprintln!("{}", i18n.msg(m));
    }
    match &cli.command {
        Some(Command::Forms(cmd)) => forms(cmd, forms_dir.as_deref(), &dir, &i18n),
        Some(Command::Init(args)) => jkda::cli_admin::init(&dir, args, &i18n),
        Some(Command::User(cmd)) => jkda::cli_admin::user(&dir, &creds(&cli), cmd, &i18n),
        Some(Command::Audit(cmd)) => jkda::cli_admin::audit(
            &dir,
            &creds(&cli),
            cmd,
            &i18n,
            jkda::sync::SyncConfig::from_config(&config),
        ),
        Some(Command::KeyFile { path }) => jkda::cli_admin::key_file(&dir, &creds(&cli), path, &i18n),
        Some(Command::Doctor { json }) => {
            jkda::cli_ops::doctor(&dir, &config, config_error.as_ref(), &creds(&cli), *json, &i18n)
        }
        Some(Command::Backup { dir: to }) => jkda::cli_ops::backup(&dir, &config, &creds(&cli), to.as_deref(), &i18n),
        Some(Command::Restore { backup }) => jkda::cli_ops::restore(&dir, &creds(&cli), backup, &i18n),
        Some(Command::SupportBundle { file }) => {
            jkda::cli_ops::support_bundle(&dir, &config, config_error.as_ref(), &creds(&cli), file, &i18n)
        }
        Some(Command::Conflicts(cmd)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            let registry = load_registry(forms_dir.as_deref(), &dir, &i18n).0;
            jkda::cli_conflicts::run(cmd, &mut store, &registry, &actor, &i18n)
        }),
        Some(Command::Drafts(cmd)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            jkda::cli_drafts::run(cmd, &mut store, &actor, &i18n)
        }),
        Some(Command::Completions { shell }) => jkda::cli_docs::completions(*shell),
        Some(Command::Man) => jkda::cli_docs::man(),
        Some(Command::Paths) => {
            println!(
                "{}",
                i18n.tf(
                    "cli.paths",
                    &[
                        ("dir", &dir.display().to_string()),
                        ("db", &jkda::paths::db_path(&dir).display().to_string())
                    ]
                )
            );
            ExitCode::SUCCESS
        }
        Some(Command::Demo(args)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            let registry = load_registry(forms_dir.as_deref(), &dir, &i18n).0;
            // On a terminal only: a pipe or a log gets the result line alone.
            let bar = jkda::progress::bar();
            let report = jkda::demo::generate(
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
        Some(Command::Residents(jkda::cli::ResidentsCmd::Fetch { id_number })) => {
            with_store(&dir, &cli, &i18n, |mut store, actor| {
                let registry = load_registry(forms_dir.as_deref(), &dir, &i18n).0;
                let cfg = jkda::sync::SyncConfig::from_config(&config);
                Ok(jkda::sync::cli::fetch(
                    &mut store, cfg, &registry, &actor, &i18n, id_number,
                ))
            })
        }
        Some(Command::Residents(jkda::cli::ResidentsCmd::Link { resident, target })) => {
            with_store(&dir, &cli, &i18n, |mut store, actor| {
                let cfg = jkda::sync::SyncConfig::from_config(&config);
                Ok(jkda::sync::link::run(&mut store, cfg, &actor, &i18n, resident, target))
            })
        }
        Some(Command::Sync(args)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            let registry = load_registry(forms_dir.as_deref(), &dir, &i18n).0;
            let cfg = jkda::sync::SyncConfig::from_config(&config);
            Ok(jkda::sync::cli::sync(&mut store, cfg, registry, &actor, &i18n, args))
        }),
        Some(Command::Import(args)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            let registry = load_registry(forms_dir.as_deref(), &dir, &i18n).0;
            let ids = jkda::sync::SyncConfig::from_config(&config).identifiers;
            let working = jkda::progress::spinner(i18n.t("import.working").to_string());
            let code = jkda::import::run(&mut store, &registry, &ids, &actor, &i18n, args);
            working.finish_and_clear();
            Ok(code)
        }),
        Some(Command::Residents(cmd)) => with_store(&dir, &cli, &i18n, |store, actor| {
            jkda::cli_residents::run(cmd, &store, &actor, &i18n)
        }),
        Some(Command::Worklist(args)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            store.set_care_settings(config.management.clone().unwrap_or_default());
            jkda::cli_manage::worklist(&store, &actor, &i18n, args)
        }),
        Some(Command::Report(cmd)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            store.set_care_settings(config.management.clone().unwrap_or_default());
            jkda::cli_manage::report(&store, &actor, &i18n, cmd)
        }),
        Some(Command::Check(args)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            store.set_care_settings(config.management.clone().unwrap_or_default());
            let registry = load_registry(forms_dir.as_deref(), &dir, &i18n).0;
            jkda::cli_manage::check(&store, &actor, &registry, &i18n, args)
        }),
        Some(Command::Programme(cmd)) => with_store(&dir, &cli, &i18n, |mut store, actor| {
            store.set_care_settings(config.management.clone().unwrap_or_default());
            jkda::cli_manage::programme(&mut store, &actor, &i18n, cmd)
        }),
        None => {
            let (_, failures) = load_registry(forms_dir.as_deref(), &dir, &i18n);
            let keymap = jkda::keymap::site_file::load(&dir, &i18n);
            let startup_notice = failures
                .first()
                .or(keymap.1.first())
                .map(|first| jkda::i18n::Msg::new("cli.startup_problem").arg("detail", first))
                .or(permissions);
            let forms = || load_registry(forms_dir.as_deref(), &dir, &i18n).0;
            let clinic = jkda::tui::Clinic {
                dir: dir.clone(),
                view: jkda::ui::View {
                    i18n: &i18n,
                    theme: jkda::ui::Theme::from_env(),
                },
                lang,
                keymap: keymap.0,
                forms: &forms,
                sync: jkda::sync::SyncConfig::from_config(&config),
                idle_after: Some(idle_after(&config)),
                startup_notice,
                management: config.management.clone().unwrap_or_default(),
                backup: config.backup.clone().unwrap_or_default(),
            };
            match jkda::tui::run_clinic(&clinic) {
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

fn creds(cli: &Cli) -> jkda::cli_auth::Credentials<'_> {
    jkda::cli_auth::Credentials {
        user: cli.user.as_deref(),
        key_file: cli.key_file.as_deref(),
    }
}

fn with_store(
    dir: &Path,
    cli: &Cli,
    i18n: &I18n,
    f: impl FnOnce(Store, Actor) -> Result<ExitCode, jkda::store::StoreError>,
) -> ExitCode {
    let (store, actor) = match jkda::cli_auth::open(dir, &creds(cli), i18n) {
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

fn describe(e: &FormError, i18n: &I18n) -> String {
    if e.path.is_empty() {
        format!("{}: {}", e.file, i18n.msg(&e.msg))
    } else {
        format!("{}: {}: {}", e.file, e.path, i18n.msg(&e.msg))
    }
}

/// The forms to use, and a one-line description of each file that failed.
fn load_registry(forms_dir: Option<&Path>, data_dir: &Path, i18n: &I18n) -> (Registry, Vec<String>) {
    let registry = match forms_dir {
        Some(d) => Registry::from_dir(d).unwrap_or_else(|e| {
            let mut r = Registry::embedded();
            r.failures.push((
                d.to_path_buf(),
                vec![FormError {
                    file: d.display().to_string(),
                    path: String::new(),
                    msg: jkda::i18n::Msg::new("form_error.unreadable").arg("reason", e),
                }],
            ));
            r
        }),
        // The shipped forms, with newer versions adopted from the platform.
        None => Registry::embedded_with(&jkda::paths::adopted_forms_dir(data_dir)),
    };
    let failures = registry
        .failures
        .iter()
        .map(|(_, errs)| {
            let first = errs.first().map(|e| describe(e, i18n)).unwrap_or_default();
            if errs.len() > 1 {
                format!("{first} (+{})", errs.len() - 1)
            } else {
                first
            }
        })
        .collect();
    (registry, failures)
}

fn forms(cmd: &FormsCmd, forms_dir: Option<&Path>, data_dir: &Path, i18n: &I18n) -> ExitCode {
    match cmd {
        FormsCmd::List => {
            let (registry, failures) = load_registry(forms_dir, data_dir, i18n);
            for d in registry.all() {
                println!("{}\t{}\t{}", d.id, d.version, d.title.get(i18n.lang()));
            }
            for f in &failures {
                eprintln!("{}", i18n.tf("cli.form_failed", &[("detail", f)]));
            }
            if failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        FormsCmd::Check { files } => {
            let files: Vec<PathBuf> = if files.is_empty() {
                match forms_dir {
                    Some(d) => match std::fs::read_dir(d) {
                        Ok(rd) => {
                            let mut v: Vec<PathBuf> = rd
                                .filter_map(|e| e.ok().map(|e| e.path()))
                                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                                .collect();
                            v.sort();
                            v
                        }
                        Err(e) => {
                            eprintln!(
                                "{}",
                                i18n.tf(
                                    "cli.io_error",
                                    &[("path", &d.display().to_string()), ("detail", &e.to_string())]
                                )
                            );
                            return ExitCode::from(2);
                        }
                    },
                    None => {
                        // The built-in forms.
                        let mut bad = 0;
                        for (name, src) in jkda::form::registry::EMBEDDED {
                            bad += report_check(name, jkda::form::parse_form(name, src), i18n);
                        }
                        return if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) };
                    }
                }
            } else {
                files.clone()
            };
            let mut bad = 0;
            for path in &files {
                let name = path.display().to_string();
                match jkda::bounded_read::read_to_string(path, jkda::bounded_read::FORM_FILE) {
                    Ok(src) => bad += report_check(&name, jkda::form::parse_form(&name, &src), i18n),
                    Err(e) => {
                        eprintln!("{}", i18n.msg(&jkda::bounded_read::message(path, &e)));
                        return ExitCode::from(2);
                    }
                }
            }
            if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        FormsCmd::Export {
            id,
            format: ExportFormat::Fhir,
        } => {
            let (registry, _) = load_registry(forms_dir, data_dir, i18n);
            match registry.get(id) {
                Some(def) => {
                    let q = jkda::form::fhir::questionnaire(def);
                    println!("{}", serde_json::to_string_pretty(&q).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                None => {
                    let known: Vec<&str> = registry.all().map(|d| d.id.as_str()).collect();
                    eprintln!(
                        "{}",
                        i18n.tf("cli.unknown_form", &[("id", id), ("known", &known.join(", "))])
                    );
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn report_check(name: &str, result: Result<jkda::form::FormDef, Vec<FormError>>, i18n: &I18n) -> usize {
    match result {
        Ok(def) => {
            println!(
                "{}",
                i18n.tf(
                    "cli.form_ok",
                    &[("file", name), ("id", &def.id), ("version", &def.version)]
                )
            );
            0
        }
        Err(errs) => {
            for e in &errs {
                eprintln!("{}", describe(e, i18n));
            }
            eprintln!(
                "{}",
                i18n.tf("cli.form_bad", &[("file", name), ("count", &errs.len().to_string())])
            );
            1
        }
    }
}
