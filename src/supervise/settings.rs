//! The bureau's supervision settings (`supervision.toml`, all optional).
//! The defaults are our reading of what a city bureau asks; the README
//! documents each so a city can set its own.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupervisionSettings {
    /// A record counts as timely when the platform has it within this many
    /// days of its visit date.
    pub timely_days: u32,
    /// Weights of the composite score; they need not add up to 1.
    pub weights: Weights,
    /// How many records of city-average behaviour a site's own figures are
    /// blended with before ranking, so a village with three records is
    /// neither top nor bottom by chance (see `stats::shrunk`).
    pub prior_records: f64,
    /// Entered more than this many days after the visit: late.
    pub late_days: u32,
    /// This many late records received on one day make a burst.
    pub burst_min: u32,
    /// Blood pressures: at least this many readings before judging digits.
    pub digit_min_readings: u32,
    /// Flag a site when this share of its readings end in 0 (about 0.2 is
    /// what careful measuring gives; 1.0 is "always").
    pub digit_zero_share: f64,
    /// Months of trend shown per site.
    pub trend_months: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    pub timeliness: f64,
    pub quality: f64,
    pub indicators: f64,
    pub progress: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            timeliness: 0.3,
            quality: 0.3,
            indicators: 0.2,
            progress: 0.2,
        }
    }
}

impl Default for SupervisionSettings {
    fn default() -> Self {
        SupervisionSettings {
            timely_days: 7,
            weights: Weights::default(),
            prior_records: 20.0,
            late_days: 30,
            burst_min: 10,
            digit_min_readings: 20,
            digit_zero_share: 0.8,
            trend_months: 6,
        }
    }
}

impl SupervisionSettings {
    /// Reads a settings file; a missing file is the defaults, an unreadable
    /// or wrong one is an error naming it.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        match crate::bounded_read::read_to_string(path, crate::bounded_read::SETTINGS_FILE) {
            Ok(t) => toml::from_str(&t).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}
