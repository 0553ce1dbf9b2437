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
    /// The supervision report: per site, ranked, bottom three flagged
    Report {
        /// Month, YYYY-MM (default: everything)
        #[arg(long)]
        period: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SiteCmd {
    /// Add a site and print its token (shown once; only its hash is kept)
    Add { code: String, name: String },
}

fn main() -> ExitCode {
    jkda::hardening::forbid_core_dumps();
    let cli = Cli::parse();
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
                (Some(cert), Some(key)) => match (std::fs::read(&cert), std::fs::read(&key)) {
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
        Command::Report { period, json } => hub::storage::open(&cli.db)
            .and_then(|conn| hub::report(&conn, period.as_deref()))
            .map(|rows| {
                if json {
                    println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
                } else {
                    print!("{}", hub::report::render(&rows, period.as_deref()));
                }
            }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jkda-hub: {e}");
            ExitCode::from(if matches!(e, hub::HubError::Usage(_)) { 2 } else { 1 })
        }
    }
}
