//! `jkda-hub`: the reference city platform. Thin: parse the command line and
//! call `jkda::hub`. Exit codes: 0 ok, 1 failure, 2 usage.

use clap::{Parser, Subcommand};
use jkda::hub::{self, Hub, HubConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

#[derive(Debug, Parser)]
#[command(name = "jkda-hub", version, about = "Reference FHIR R4 platform for jkda clinics")]
struct Cli {
    /// The hub's SQLite database
    #[arg(long, global = true, env = "JKDA_HUB_DB", default_value = "jkda-hub.sqlite")]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the FHIR API: HTTPS with --tls-cert and --tls-key (clinics
    /// send health data only over HTTPS), or plain HTTP behind a TLS proxy
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Worker threads
        #[arg(long, default_value_t = 4)]
        workers: usize,
        /// Largest request body in bytes (compressed and decompressed)
        #[arg(long, default_value_t = 16 << 20)]
        max_body: usize,
        /// Certificate chain (PEM) to serve HTTPS with
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// Private key (PEM) of --tls-cert
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Sites (clinics) and their tokens
    #[command(subcommand)]
    Site(SiteCmd),
    /// Bureau accounts for the supervision pages (never for the FHIR API)
    #[command(subcommand)]
    User(UserCmd),
    /// The supervision report: timeliness, quality, indicators and progress
    /// per site, ranked fairly, bottom three flagged with reasons
    /// Forms the clinics use: publish a new version of a form file
    #[command(subcommand)]
    Forms(FormsCmd),
    /// Sites and their clinics' health (last contact, version, backlog,
    /// problems), the longest-standing problem first
    Sites {
        #[arg(long)]
        json: bool,
    },
    /// Patients that share an ID card or health-record number (left from
    /// before the platform refused duplicates, or from clinics that counted
    /// record numbers on their own), with their sites and dates
    Collisions {
        #[arg(long)]
        json: bool,
    },
    /// Copy what another FHIR R4 server holds into --db (replaced whole,
    /// atomically), so `serve` shows its supervision pages and `report`
    /// and `spotcheck` read it; run it again (e.g. nightly) to refresh
    Mirror {
        #[command(flatten)]
        source: SourceArgs,
    },
    Report {
        /// Month by visit date, YYYY-MM (default: this month)
        #[arg(long)]
        period: Option<String>,
        #[arg(long)]
        json: bool,
        /// Supervision settings (weights, timely days; see the README)
        #[arg(long)]
        settings: Option<PathBuf>,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Draw a reproducible sample of a site's records with a checklist each,
    /// or (with --record) enter the result of checking one
    Spotcheck {
        #[arg(long)]
        site: String,
        /// Records to draw
        #[arg(long, default_value_t = 20)]
        n: usize,
        /// Seed of the draw (default: fixed by site and period)
        #[arg(long)]
        seed: Option<u64>,
        /// Month by visit date, YYYY-MM (default: all records)
        #[arg(long)]
        period: Option<String>,
        #[arg(long)]
        json: bool,
        /// Enter a result for this record instead of drawing
        #[arg(long)]
        record: Option<String>,
        /// The record matched the resident / register
        #[arg(long, requires = "record", conflicts_with = "fail")]
        pass: bool,
        /// The record did not match
        #[arg(long, requires = "record")]
        fail: bool,
        #[arg(long, default_value = "")]
        note: String,
        /// Who checked (default: the login name)
        #[arg(long)]
        checker: Option<String>,
        #[command(flatten)]
        source: SourceArgs,
    },
}

/// Read another FHIR R4 server (HAPI FHIR, a cloud service, another hub)
/// through standard search instead of this hub's database.
#[derive(Debug, clap::Args)]
struct SourceArgs {
    /// The server's FHIR base URL
    #[arg(long)]
    source: Option<String>,
    /// Its bearer token (better: the environment variable)
    #[arg(long, env = "JKDA_SOURCE_TOKEN", hide_env_values = true, default_value = "")]
    token: String,
    /// code,name[,population[,target_rate]] of the bureau's units
    #[arg(long, requires = "source")]
    sites: Option<PathBuf>,
}

impl SourceArgs {
    fn get(&self) -> Option<hub::cli::Source<'_>> {
        self.source.as_deref().map(|url| hub::cli::Source {
            url,
            token: &self.token,
            sites: self.sites.as_deref(),
        })
    }
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Add an account; the password is read from standard input (typed
    /// twice without echo at a terminal, else the first line)
    Add { name: String },
    /// List the accounts
    List,
    /// Remove an account
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
enum FormsCmd {
    /// Check a form file with the clinic's loader and publish it (as a
    /// Binary and a Questionnaire); clinics adopt it at their next sync.
    /// A broken file or a version not newer than the one in force is refused
    Publish { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum SiteCmd {
    /// Add a site and print its token (shown once; only its hash is kept)
    Add { code: String, name: String },
    /// Set a site's resident population and record-building target
    Set {
        code: String,
        #[arg(long)]
        population: Option<u64>,
        /// Share of the population that should have a record, e.g. 0.9
        #[arg(long)]
        target_rate: Option<f64>,
    },
    /// Read populations from a CSV of code,population[,target_rate]
    Population { csv: PathBuf },
}

fn main() -> ExitCode {
    jkda::hardening::forbid_core_dumps();
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve { .. }) {
        // Commands print; the server must outlive any client's closed socket.
        jkda::hardening::quiet_on_closed_pipe();
    }
    let result = match cli.command {
        Command::Serve {
            listen,
            workers,
            max_body,
            tls_cert,
            tls_key,
        } => {
            let log: Box<dyn std::io::Write + Send> = Box::new(std::io::stderr());
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => match (
                    jkda::bounded_read::read(&cert, jkda::bounded_read::PEM_FILE),
                    jkda::bounded_read::read(&key, jkda::bounded_read::PEM_FILE),
                ) {
                    (Ok(certificate_pem), Ok(private_key_pem)) => Some(hub::TlsIdentity {
                        certificate_pem,
                        private_key_pem,
                    }),
                    (Err(e), _) | (_, Err(e)) => {
                        eprintln!("jkda-hub: cannot read the TLS certificate or key: {e}");
                        return ExitCode::from(2);
                    }
                },
                _ => None,
            };
            // Created 0600; an older or hand-made database may be wider.
            for (file, mode) in jkda::private_files::database_open_to_others(&cli.db) {
                eprintln!(
                    "jkda-hub: warning: {} is open to other users (mode {mode:o}) and holds health data; run chmod 600 on it",
                    file.display()
                );
            }
            let config = HubConfig {
                workers,
                max_body,
                log: Some(Arc::new(Mutex::new(log))),
                tls,
                ..HubConfig::new(&cli.db)
            };
            Hub::start(&listen, config).map(|hub| {
                println!("jkda-hub listening on {}", hub.url());
                let _ = std::io::Write::flush(&mut std::io::stdout());
                loop {
                    std::thread::park();
                }
            })
        }
        Command::Site(SiteCmd::Add { code, name }) => hub::storage::open(&cli.db)
            .and_then(|conn| hub::storage::add_site(&conn, &code, &name))
            .map(|token| println!("{token}")),
        Command::Site(SiteCmd::Set {
            code,
            population,
            target_rate,
        }) => hub::cli::set_target(&cli.db, &code, population, target_rate).map(|t| print!("{t}")),
        Command::Site(SiteCmd::Population { csv }) => hub::cli::import_targets(&cli.db, &csv).map(|t| print!("{t}")),
        Command::User(cmd) => user(&cli.db, cmd),
        Command::Forms(FormsCmd::Publish { file }) => hub::storage::open(&cli.db)
            .and_then(|mut conn| hub::forms::publish(&mut conn, &file, &hub::storage::now()))
            .map(|id| println!("{}", hub::cli::i18n().tf("hub.forms.published", &[("id", &id)]))),
        Command::Sites { json } => hub::storage::open(&cli.db)
            .and_then(|conn| hub::sites::health(&conn, chrono::Utc::now()))
            .map(|sites| {
                if json {
                    println!("{}", serde_json::to_string_pretty(&sites).unwrap_or_default());
                } else {
                    print!("{}", hub::sites::render(&sites, &hub::cli::i18n()));
                }
            }),
        Command::Collisions { json } => hub::storage::open(&cli.db)
            .and_then(|conn| hub::collisions::find(&conn))
            .map(|found| {
                if json {
                    println!("{}", serde_json::to_string_pretty(&found).unwrap_or_default());
                } else {
                    print!("{}", hub::collisions::render(&found, &hub::cli::i18n()));
                }
            }),
        Command::Mirror { source } => match source.get() {
            Some(src) => hub::cli::mirror(&cli.db, &src).map(|t| print!("{t}")),
            None => Err(hub::HubError::Usage("give --source URL".into())),
        },
        Command::Report {
            period,
            json,
            settings,
            source,
        } => {
            let period = period.unwrap_or_else(|| hub::cli::this_month(chrono::Utc::now()));
            // The pages' settings file unless another is named: one ranking.
            let settings = settings.unwrap_or_else(|| cli.db.with_file_name(hub::cli::SETTINGS_FILE));
            let args = hub::cli::ReportArgs {
                period: &period,
                json,
                settings: Some(&settings),
            };
            hub::cli::open(&cli.db, source.get().as_ref())
                .and_then(|data| hub::cli::report_from(data.conn(), &args))
                .map(|t| print!("{t}"))
        }
        Command::Spotcheck {
            site,
            n,
            seed,
            period,
            json,
            record,
            pass,
            fail,
            note,
            checker,
            source,
        } => match record {
            Some(record) if pass || fail => {
                let checker = checker.or_else(|| std::env::var("USER").ok()).unwrap_or_default();
                let today = hub::supervision::local_day(&jkda::store::utc_text(chrono::Utc::now())).unwrap_or_default();
                hub::cli::spot_result(&cli.db, &site, &record, pass, &note, &checker, today).map(|t| print!("{t}"))
            }
            Some(_) => Err(hub::HubError::Usage("give --pass or --fail with --record".into())),
            None => hub::cli::open(&cli.db, source.get().as_ref()).and_then(|data| {
                let args = hub::cli::SpotArgs {
                    site: &site,
                    n,
                    seed,
                    period: period.as_deref(),
                    json,
                };
                hub::cli::spotcheck_from(data.conn(), &args).map(|t| print!("{t}"))
            }),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jkda-hub: {e}");
            ExitCode::from(if matches!(e, hub::HubError::Usage(_)) { 2 } else { 1 })
        }
    }
}

fn user(db: &std::path::Path, cmd: UserCmd) -> Result<(), hub::HubError> {
    use hub::users;
    use secrecy::ExposeSecret;
    let conn = hub::storage::open(db)?;
    match cmd {
        UserCmd::Add { name } => {
            users::check_name(&name)?;
            // SecretStrings: wiped when they drop.
            let password = jkda::cli::auth::read_password("Password: ")?;
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                let again = jkda::cli::auth::read_password("Password again: ")?;
                if again.expose_secret() != password.expose_secret() {
                    return Err(hub::HubError::Usage("the two passwords differ".into()));
                }
            }
            let now = jkda::store::utc_text(chrono::Utc::now());
            let added = users::add(&conn, &name, password.expose_secret(), &now);
            added?;
            eprintln!("added bureau account {name}");
        }
        UserCmd::List => {
            for (name, created) in users::list(&conn)? {
                println!("{name}\t{created}");
            }
        }
        UserCmd::Remove { name } => {
            users::remove(&conn, &name)?;
            eprintln!("removed bureau account {name}");
        }
    }
    Ok(())
}
