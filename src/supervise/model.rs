//! The supervision report as the command line prints it, the JSON carries
//! it and the web pages draw it.

use crate::domain::Sensitive;
use crate::manage::kpi::ProgrammeKpi;
use chrono::NaiveDate;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The month reported (`YYYY-MM`), by visit date.
    pub period: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The indicators' period: the year of `period`, up to its end.
    pub indicator_year: i32,
    pub settings: super::SupervisionSettings,
    /// Ranked, best first.
    pub sites: Vec<SiteReport>,
    /// The city's own figures, what each site is compared with.
    pub city: CityFigures,
    /// Indicators per township (9-digit code) and county (6-digit code).
    pub townships: Vec<UnitIndicators>,
    pub counties: Vec<UnitIndicators>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CityFigures {
    pub records: u64,
    pub timely_share: f64,
    pub clean_share: f64,
    pub standardised_rate: f64,
    pub control_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteReport {
    pub rank: usize,
    pub code: String,
    pub name: String,
    /// The composite score, 0..=100.
    pub score: f64,
    pub components: Components,
    /// Among the bottom three.
    pub flagged: bool,
    /// Why the site ranks low: its weakest components and any authenticity
    /// flags, worst first.
    pub reasons: Vec<Reason>,
    pub progress: Progress,
    pub timeliness: Timeliness,
    pub quality: Quality,
    pub authenticity: Vec<Flag>,
    pub indicators: Vec<ProgrammeKpi>,
    /// Month by month, oldest first, ending with the period.
    pub trend: Vec<MonthFigures>,
}

/// Each component 0..=1 after blending with the city (see the README).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Components {
    pub timeliness: f64,
    pub quality: f64,
    pub indicators: f64,
    /// None when the site's population is not set.
    pub progress: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// `timeliness`, `quality`, `indicators`, `progress`, `nothing_received`
    /// or an authenticity flag's kind.
    pub kind: String,
    /// The site's own figure and the city's (shares 0..=1), when there
    /// are; for `progress`, the site's rate and its target.
    pub value: Option<f64>,
    pub city: Option<f64>,
}

/// 建档进度.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    pub population: Option<u64>,
    pub target_rate: Option<f64>,
    /// Residents on the platform registered by the site.
    pub residents: u64,
    /// Of those, with a basic-information record (cover page included)
    /// without errors.
    pub complete: u64,
    /// complete / population.
    pub rate: Option<f64>,
    /// Registrations per week by their date, the last weeks up to the
    /// period's end, oldest first (week starting Monday).
    pub by_week: Vec<WeekCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekCount {
    pub week_start: NaiveDate,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeliness {
    /// Records whose visit date falls in the period.
    pub records: u64,
    pub median_lag_days: Option<f64>,
    pub p90_lag_days: Option<f64>,
    pub timely: u64,
    pub timely_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quality {
    pub records: u64,
    /// Records with no error.
    pub clean: u64,
    pub clean_share: Option<f64>,
    pub errors_per_100: Option<f64>,
    pub warnings_per_100: Option<f64>,
    /// Most frequent first.
    pub top_problems: Vec<ProblemCount>,
    pub spot_checked: u64,
    pub spot_failed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemCount {
    pub form: String,
    pub item: String,
    pub code: String,
    pub error: bool,
    pub count: u64,
}

/// A sign of made-up records, for the bureau to look at on site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    pub kind: FlagKind,
    /// Records concerned (the platform's ids), at most 20.
    pub records: Vec<String>,
    /// How many records in all.
    pub count: u64,
    /// The share of readings ending in 0, for digit preference.
    pub share: Option<f64>,
    /// The receipt day of a burst.
    pub day: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// The same clinical answers for different residents.
    IdenticalAnswers,
    /// Blood pressures (nearly) always ending in 0.
    DigitPreference,
    /// Many late records received on one day.
    LateBurst,
    /// A visit dated after the resident's death.
    AfterDeath,
    /// The clinic's audit trail went back behind what the platform holds.
    AuditRewound,
}

impl FlagKind {
    pub fn key(self) -> &'static str {
        match self {
            FlagKind::IdenticalAnswers => "identical_answers",
            FlagKind::DigitPreference => "digit_preference",
            FlagKind::LateBurst => "late_burst",
            FlagKind::AfterDeath => "after_death",
            FlagKind::AuditRewound => "audit_rewound",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthFigures {
    pub month: String,
    pub records: u64,
    pub timely_share: Option<f64>,
    pub clean_share: Option<f64>,
    /// Timeliness and quality blended with their weights, 0..=100.
    pub score: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitIndicators {
    pub code: String,
    pub sites: usize,
    pub indicators: Vec<ProgrammeKpi>,
}

/// One record drawn for a spot check, with what to verify.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpotItem {
    pub record: String,
    pub form: String,
    pub visit_date: Option<NaiveDate>,
    /// Whose record: shown to the supervisor, never in `Debug`.
    pub resident_name: Sensitive<Option<String>>,
    pub record_no: Sensitive<Option<String>>,
    /// Items to compare with the resident or the paper register: label and
    /// the value on the platform.
    pub checks: Sensitive<Vec<(String, String)>>,
    /// A result already entered.
    pub result: Option<SpotResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpotResult {
    pub passed: bool,
    pub note: String,
    pub checked_on: NaiveDate,
    pub checker: String,
}
