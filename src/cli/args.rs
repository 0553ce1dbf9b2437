//! The command-line surface. Without a subcommand jkda opens the clinic TUI;
//! subcommands serve sysadmins and scripts (exit codes are documented per
//! command; usage errors exit 2).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "jkda",
    version,
    about = "健康档案 jkda — offline-first health-record client (基本公共卫生服务)"
)]
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
    /// Log in as this jkda user (password asked without echo, or read from
    /// the first line of standard input; never given on the command line)
    #[arg(long, global = true, value_name = "LOGIN")]
    pub user: Option<String>,
    /// Key file for unattended commands on an encrypted database
    #[arg(long, global = true, value_name = "FILE", env = "JKDA_KEY_FILE")]
    pub key_file: Option<PathBuf>,
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
    /// Print shell completions (bash, zsh, fish, powershell, elvish), e.g.
    /// `jkda completions bash > /etc/bash_completion.d/jkda`
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff), e.g. `jkda man > /usr/local/share/man/man1/jkda.1`
    Man,
    /// Create the database (encrypted) and the first administrator
    Init(InitArgs),
    /// Staff accounts: add, list, disable, enable, passwd, role
    #[command(subcommand)]
    User(UserCmd),
    /// The audit trail: verify the hash chain, show entries
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Write the database key to a file for unattended commands (scheduled sync).
    /// Keep it on removable media or a root-only path: anyone who has it can read the data
    KeyFile {
        /// Where to write the key (created with mode 0600)
        path: PathBuf,
    },
    /// Residents: search, suspected duplicates
    #[command(subcommand)]
    Residents(ResidentsCmd),
    /// Upload finalized records to the city platform now (or, with
    /// --status, only report). Exit 0 only when everything is confirmed, 1
    /// while anything is waiting, failed or in conflict, 2 not configured
    Sync(SyncArgs),
    /// Who is due: follow-ups due this week and overdue, referrals to follow
    /// up, no face-to-face visit this quarter, annual exams, lost candidates
    Worklist(WorklistArgs),
    /// Reports: the clinic's indicators (规范管理率, 控制率, ...)
    #[command(subcommand)]
    Report(ReportCmd),
    /// Check a FHIR QuestionnaireResponse (JSON) of a resident in this
    /// database against its form and the follow-up rules. Exit 0 no errors,
    /// 1 errors, 2 unusable input
    Check(CheckArgs),
    /// Programme membership: record leaving (moved away, lost, died) or rejoining
    #[command(subcommand)]
    Programme(ProgrammeCmd),
    /// Bring in residents and records from FHIR R4 NDJSON or a JSON Bundle
    /// (all checked; nothing written if any is bad). Exit 0 imported, 1 problems, 2 usage or I/O error
    Import(crate::import::ImportArgs),
    /// Check this installation without logging in: terminal, data folder,
    /// database (with a key file, also its pages, schema, audit chain and
    /// outbox), disk, keys, the city platform. Shows no personal data.
    /// Exit 0 all passed, 1 a warning, 2 a failure
    Doctor {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Copy the database (encrypted as it is) and keyring.json into a new
    /// folder under DIR, check the copy, and keep the newest `[backup] keep`
    /// (7). Runs while jkda is in use. Exit 0 done, 1 failed, 2 no folder
    Backup {
        /// Where (default: `[backup] dir` in config.toml)
        dir: Option<PathBuf>,
    },
    /// Replace the database with a backup (its folder, or a file in it),
    /// checked first; the replaced files are kept, renamed with the time.
    /// A backup of another site or from a newer jkda is refused. With
    /// --user, a login and password valid when the backup was made.
    /// Exit 0 restored, 1 refused or failed
    Restore { backup: PathBuf },
    /// Write a .tar.gz for a support engineer: versions, OS, terminal,
    /// config.toml without secrets, doctor, counts, error classes — no
    /// personal data. With --user or a key file the database's counts too
    SupportBundle { file: PathBuf },
    /// Version clashes with the city platform (a record amended here and
    /// elsewhere): list them, show both versions item by item, resolve one
    /// (keep ours, take the platform's, or take some items from it). Exit 0
    /// done (list: none waiting), 1 clashes waiting, refused or failed
    #[command(subcommand)]
    Conflicts(ConflictsCmd),
    /// Drafts never finalized: list them, or abandon one (with a reason,
    /// audited); an abandoned draft leaves every list
    #[command(subcommand)]
    Drafts(DraftsCmd),
}

#[derive(Debug, Subcommand)]
pub enum DraftsCmd {
    /// Drafts never finalized, oldest first (names masked)
    List {
        #[arg(long)]
        json: bool,
    },
    /// Abandon a draft (its id from `jkda drafts list`): it is deleted, a
    /// registration's draft resident with it; the reason is kept
    Abandon {
        id: i64,
        /// Why (kept with who and when; at most 200 characters)
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct WorklistArgs {
    /// Only this village (3-digit code of the record number)
    #[arg(long)]
    pub village: Option<String>,
    /// Only this programme: hypertension or diabetes
    #[arg(long)]
    pub programme: Option<String>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// The date to compute for (YYYY-MM-DD; default today)
    #[arg(long)]
    pub today: Option<String>,
    /// Only the N most urgent items (every item is still counted)
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum ReportCmd {
    /// The clinic's indicators for a year or a quarter, per village
    Kpi(KpiArgs),
}

#[derive(Debug, Clone, Args)]
pub struct KpiArgs {
    #[arg(long)]
    pub year: i32,
    /// 1-4: one quarter of the year
    #[arg(long)]
    pub quarter: Option<u32>,
    /// Only this village (3-digit code of the record number)
    #[arg(long)]
    pub village: Option<String>,
    /// Print JSON (rates as fractions)
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// A QuestionnaireResponse as JSON
    pub file: PathBuf,
    /// Print JSON: errors, warnings, suggested
    #[arg(long)]
    pub json: bool,
    /// The date to check as of (YYYY-MM-DD; default today)
    #[arg(long)]
    pub today: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProgrammeCmd {
    /// Record that a resident left a programme
    Leave {
        /// The 17-digit health record number
        record_no: String,
        /// hypertension or diabetes
        programme: String,
        /// The date they left (YYYY-MM-DD)
        #[arg(long)]
        date: String,
        /// death, lost, moved or other
        #[arg(long)]
        reason: String,
    },
    /// Record that a resident came back to a programme
    Rejoin {
        record_no: String,
        programme: String,
        #[arg(long)]
        date: String,
    },
}

#[derive(Debug, Clone, Copy, Args)]
pub struct SyncArgs {
    /// Report what is waiting, failed or in conflict, without uploading
    #[arg(long)]
    pub status: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Put failed records back in the queue first (after the cause was fixed)
    #[arg(long)]
    pub retry_failed: bool,
}

#[derive(Debug, Subcommand)]
pub enum ResidentsCmd {
    /// Find residents by pinyin initials (zs) or full pinyin (zhangsan), any
    /// part of the name, an ID number or its last 4–6 digits, a phone number
    /// or its last 4, or a health-record number; best matches first.
    /// Identifiers are shown masked; registrations not finalized are marked
    /// （建档中）/ (registering), `"status": "draft"` in JSON. Exit 0 (also
    /// when nothing matches), 1 on error
    Search {
        /// What to look for; several words are joined (`zhang san`)
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        /// At most this many residents
        #[arg(long, default_value_t = 20, value_name = "N")]
        limit: usize,
    },
    /// List pairs of residents who may be one person registered twice: the
    /// same ID number, the same name and birth date, or the same name and
    /// phone. Registrations not finalized are included and marked as drafts
    Duplicates {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        /// Also pairs that share only a phone (mostly households sharing one)
        #[arg(long)]
        shared_phones: bool,
    },
    /// Look a resident up on the city platform by ID number and bring them
    /// and their recent records here; for a resident already here, bring
    /// down all their records (new ones, and amendments made elsewhere,
    /// taken or held as conflicts). Exit 0 found or refreshed, 1 not on the
    /// platform or an error, 2 upload not configured
    Fetch {
        /// The 18-digit resident ID card number
        id_number: String,
    },
    /// Link a resident registered here to the platform's record of the same
    /// person (when an upload says "already registered"): the resident takes
    /// the platform's record number and identity, every record here is
    /// uploaded under it, what was entered here is kept. Exit 0 linked, 1
    /// not found or an error, 2 upload not configured
    Link {
        /// The resident here: the number the upload message gives, or the
        /// local health-record number
        resident: String,
        /// The platform's record: `Patient/<id>`, its id, or its health-record number
        target: String,
    },
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

#[derive(Debug, Args)]
pub struct InitArgs {
    /// First administrator's login
    #[arg(long, default_value = "admin")]
    pub admin: String,
    /// First administrator's name
    #[arg(long)]
    pub name: Option<String>,
    /// Site name, and the codes of the 17-digit record number
    #[arg(long)]
    pub site_name: Option<String>,
    #[arg(long, value_name = "6 DIGITS")]
    pub division: Option<String>,
    #[arg(long, value_name = "3 DIGITS")]
    pub township: Option<String>,
    #[arg(long, value_name = "3 DIGITS")]
    pub village: Option<String>,
    /// Keep the database unencrypted (see README for the trade-off)
    #[arg(long)]
    pub no_encrypt: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Add an account; its password (asked, or the next line of stdin) must be changed at first login
    Add {
        login: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// List accounts
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable an account (it can no longer log in; its history stays)
    Disable { login: String },
    /// Enable a disabled account
    Enable { login: String },
    /// Set a new password for an account (must be changed at next login unless it is your own)
    Passwd { login: String },
    /// Change an account's role
    Role { login: String, role: String },
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Check the hash chain; exit 0 intact, 1 broken (first broken entry printed)
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Show entries (newest last)
    Show {
        /// Only entries about this resident (database id)
        #[arg(long)]
        resident: Option<i64>,
        /// Only entries by this user (login)
        #[arg(long)]
        by: Option<String>,
        /// Only entries on or after this date (YYYY-MM-DD)
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConflictsCmd {
    /// Clashes waiting for a person, oldest first (names masked)
    List {
        #[arg(long)]
        json: bool,
    },
    /// Both versions of a record (its id from the list): what differs, item
    /// by item with the form's labels, who and when
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Resolve: `--keep mine` sends ours again over the platform's version,
    /// `--keep theirs` takes the platform's (ours stays in the history),
    /// `--take ITEM,...` takes those items from the platform and keeps ours
    /// for the rest. Applied at the next sync; audited
    Resolve {
        id: i64,
        #[arg(long, value_enum, required_unless_present = "take")]
        keep: Option<Keep>,
        /// Item ids (as `show` lists them) to take from the platform
        #[arg(long, value_delimiter = ',', conflicts_with = "keep")]
        take: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Keep {
    Mine,
    Theirs,
}
