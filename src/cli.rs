//! The command-line surface. Without a subcommand jkda opens the clinic TUI;
//! subcommands serve sysadmins and scripts (exit codes are documented per
//! command; usage errors exit 2).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "jkda", version, about = "健康档案 jkda — offline-first health-record client (基本公共卫生服务)")]
pub struct Cli {
    /// Data directory (default: JKDA_DATA_DIR, else the platform data directory)
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Interface language: zh-CN (default) or en
    #[arg(long, global = true, value_name = "LANG")]
    pub lang: Option<String>,
    /// Folder of form files to use instead of the built-in standard forms
    #[arg(long, global = true, value_name = "DIR", env = "JKDA_FORMS_DIR")]
    pub forms_dir: Option<PathBuf>,
    /// Acting user recorded in the audit trail (default: the login name)
    #[arg(long, global = true, value_name = "USER")]
    pub user: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Form definitions: list, check, export
    #[command(subcommand)]
    Forms(FormsCmd),
    /// Fill the local database with synthetic demo residents and records
    Demo(DemoArgs),
    /// Show where jkda keeps its data
    Paths,
}

#[derive(Debug, Subcommand)]
pub enum FormsCmd {
    /// List the forms jkda offers (id, version, title)
    List,
    /// Validate form files; exit 0 all valid, 1 invalid, 2 usage or I/O error
    Check {
        /// Files to check (default: every form jkda would load)
        files: Vec<PathBuf>,
    },
    /// Print a form in another format
    Export {
        /// Form id, e.g. hypertension-followup
        id: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Fhir)]
        format: ExportFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// FHIR R4 Questionnaire (JSON)
    Fhir,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many residents to create
    #[arg(long, default_value_t = 200)]
    pub residents: u32,
    /// Random seed, for reproducible data
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}
