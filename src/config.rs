//! `config.toml` in the data directory (template: `assets/config.toml`).
//! A broken file is reported, with its line, and the defaults are used: a
//! typo in a setting must never keep a clinic from working. It may be UTF-8
//! (with or without a BOM), GBK or UTF-16, as Notepad saves it; a file that
//! exists but cannot be read is reported too, never taken for an absent one.

use crate::edited_file::EditedError;
use crate::i18n::{Lang, Msg};
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const TEMPLATE: &str = include_str!("../assets/config.toml");

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub lang: Option<String>,
    pub forms_dir: Option<PathBuf>,
    /// The city platform's FHIR base URL (https://; http:// only to this machine).
    pub server_url: Option<String>,
    /// This site's token from `jkda-hub site add` (or JKDA_SITE_TOKEN). Never printed.
    pub site_token: Option<crate::sync::Secret>,
    /// PEM file with the city's own CA certificate; TLS verification is always on.
    pub ca_file: Option<PathBuf>,
    /// FHIR identifier systems for the ID card number and the health record number.
    pub id_number_system: Option<String>,
    pub record_no_system: Option<String>,
    /// Lock the screen after this many minutes without a key press (default 10).
    pub idle_lock_minutes: Option<u64>,
    /// The chronic-disease management rules and indicators (`[management]`).
    pub management: Option<crate::manage::Settings>,
    /// Where backups go and how many are kept (`[backup]`).
    pub backup: Option<BackupConfig>,
}

/// `[backup]`: the folder for the daily backup (and `jkda backup` without
/// a folder), and how many of this site's backups to keep there.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    pub dir: Option<PathBuf>,
    pub keep: Option<usize>,
}

impl BackupConfig {
    pub const DEFAULT_KEEP: usize = 7;

    pub fn keep(&self) -> usize {
        self.keep.unwrap_or(Self::DEFAULT_KEEP).max(1)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub detail: String,
    pub kind: ConfigProblem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigProblem {
    /// A setting or the TOML syntax; `detail` says which.
    Content,
    /// The file exists but cannot be read; `detail` is the system's reason.
    Unreadable,
    /// Not UTF-8, GBK or UTF-16; `line` is the first line that is not.
    NotText,
    /// Larger than a configuration file can be; `detail` is the ceiling.
    TooLarge,
}

impl ConfigError {
    /// What the user reads, naming the file (and the line, when known).
    pub fn message(&self) -> Msg {
        let key = match self.kind {
            ConfigProblem::Content => "cli.config_error",
            ConfigProblem::Unreadable => "cli.config_unreadable",
            ConfigProblem::NotText => "cli.config_not_text",
            ConfigProblem::TooLarge => "cli.config_too_large",
        };
        Msg::new(key)
            .arg("file", self.file.display())
            .arg("line", self.line)
            .arg("detail", &self.detail)
    }
}

impl Config {
    pub fn load(dir: &Path) -> (Config, Option<ConfigError>) {
        let file = dir.join(crate::paths::CONFIG_FILE);
        let src = match crate::edited_file::read(&file) {
            Ok(Some(edited)) => edited.text,
            Ok(None) => return (Config::default(), None),
            Err(e) => {
                let (kind, line, detail) = match e {
                    EditedError::Unreadable(io) => (ConfigProblem::Unreadable, 0, io.to_string()),
                    EditedError::NotText { line } => (ConfigProblem::NotText, line, String::new()),
                    EditedError::TooLarge { limit } => {
                        (ConfigProblem::TooLarge, 0, crate::bounded_read::size_text(limit))
                    }
                };
                let error = ConfigError {
                    file,
                    line,
                    detail,
                    kind,
                };
                return (Config::default(), Some(error));
            }
        };
        match toml::from_str::<Config>(&src) {
            Ok(c) => match c.lang.as_deref().map(Lang::parse) {
                Some(None) => {
                    let line = src
                        .lines()
                        .position(|l| l.trim_start().starts_with("lang"))
                        .map(|i| i + 1)
                        .unwrap_or(0);
                    let detail = format!(
                        "lang = {:?}: use \"zh-CN\" or \"en\"",
                        c.lang.clone().unwrap_or_default()
                    );
                    let kind = ConfigProblem::Content;
                    (
                        Config { lang: None, ..c },
                        Some(ConfigError {
                            file,
                            line,
                            detail,
                            kind,
                        }),
                    )
                }
                _ => (c, None),
            },
            Err(e) => {
                let line = e.span().map(|s| line_of(&src, s.start)).unwrap_or(0);
                (
                    Config::default(),
                    Some(ConfigError {
                        file,
                        line,
                        detail: e.message().to_string(),
                        kind: ConfigProblem::Content,
                    }),
                )
            }
        }
    }

    pub fn lang(&self) -> Option<Lang> {
        self.lang.as_deref().and_then(Lang::parse)
    }
}

/// The 1-based line of a byte offset into a file's text (where a TOML error
/// starts). Bytes are counted, not sliced: an offset inside a character or
/// past the end cannot panic.
pub fn line_of(src: &str, byte: usize) -> usize {
    src.bytes().take(byte).filter(|b| *b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_and_bad_files_fall_back_with_a_line() {
        assert!(toml::from_str::<Config>(TEMPLATE).is_ok());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), "\n\nlang = \"fr\"\n").unwrap();
        let (c, err) = Config::load(dir.path());
        assert_eq!(c.lang(), None);
        assert_eq!(err.unwrap().line, 3);
        std::fs::write(dir.path().join("config.toml"), "colour = true\n").unwrap();
        let (_, err) = Config::load(dir.path());
        assert!(err.unwrap().detail.contains("colour"));
    }
}
