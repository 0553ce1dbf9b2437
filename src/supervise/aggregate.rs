//! From the platform's record facts to the report: one pass over the
//! records in subject order (the indicators need a resident's records
//! together; everything else is a per-site sum), then the ranking.
//! Memory grows with the sites and the period's records, not the history.

use super::model::*;
use super::ranking;
use super::stats::{median, quantile, share};
use super::SupervisionSettings;
use crate::form::def::Role;
use crate::manage::history::{derive, RecordFact};
use crate::manage::kpi::{judge, MemberHistory, Period, ProgrammeKpi, Tally};
use crate::manage::Settings;
use chrono::{Datelike, Days, NaiveDate};
use std::collections::{BTreeMap, HashMap};

/// One QuestionnaireResponse as the platform keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The platform's id of the record.
    pub key: String,
    /// The site that sent it.
    pub site: String,
    pub subject: String,
    /// The site that registered the resident (who the indicators count
    /// them for); None when the Patient is not on the platform.
    pub patient_site: Option<String>,
    pub role: Role,
    pub visit_date: Option<NaiveDate>,
    /// The local day the platform first received it.
    pub received_day: NaiveDate,
    pub errors: u32,
    pub warnings: u32,
    pub answer_hash: Option<i64>,
    pub bp: Option<(u32, u32)>,
    pub history: Option<RecordFact>,
}

/// What the platform knows of a site besides its records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteInfo {
    pub code: String,
    pub name: String,
    pub population: Option<u64>,
    pub target_rate: Option<f64>,
    /// Patients the site registered.
    pub residents: u64,
    pub spot_checked: u64,
    pub spot_failed: u64,
    /// The period's problems, most frequent first.
    pub problems: Vec<ProblemCount>,
    /// Attempts in the period to move an installation's audit anchor back.
    pub audit_rewinds: u64,
}

/// The month `YYYY-MM` as its first and last day.
pub fn month_bounds(period: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (y, m) = period.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let start = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?;
    let end = start.checked_add_months(chrono::Months::new(1))?.pred_opt()?;
    Some((start, end))
}

const WEEKS: u64 = 13;
const FLAG_RECORDS: usize = 20;

#[derive(Default)]
struct Identical {
    subjects: Vec<String>,
    records: Vec<String>,
}

#[derive(Default)]
struct SiteAcc {
    records: u64,
    lags: Vec<i64>,
    timely: u64,
    clean: u64,
    errors: u64,
    warnings: u64,
    readings: u64,
    zero_readings: u64,
    identical: HashMap<i64, Identical>,
    late_by_day: BTreeMap<NaiveDate, Vec<String>>,
    after_death: Vec<String>,
    after_death_count: u64,
    complete: u64,
    by_week: Vec<u64>,
    /// Per month of the trend: records, timely, clean.
    months: Vec<(u64, u64, u64)>,
    tallies: BTreeMap<&'static str, Tally>,
}

/// A township's or county's sites and their tallies per programme.
type UnitTally = (usize, BTreeMap<&'static str, Tally>);

pub struct Aggregator {
    settings: SupervisionSettings,
    care: Settings,
    period: String,
    start: NaiveDate,
    end: NaiveDate,
    year: Period,
    trend_start: NaiveDate,
    week_start: NaiveDate,
    sites: HashMap<String, SiteAcc>,
    subject: Option<String>,
    pending: Vec<Row>,
}

impl Aggregator {
    pub fn new(period: &str, settings: &SupervisionSettings) -> Option<Aggregator> {
        let (start, end) = month_bounds(period)?;
        // The clinic's yearly figures, for the year of the month reported.
        let year = Period::year(start.year())?;
        let trend_start = start.checked_sub_months(chrono::Months::new(settings.trend_months.max(1) - 1))?;
        let last_monday = end - Days::new(u64::from(end.weekday().num_days_from_monday()));
        let week_start = last_monday.checked_sub_days(Days::new(7 * (WEEKS - 1)))?;
        Some(Aggregator {
            settings: settings.clone(),
            care: Settings::default(),
            period: period.to_string(),
            start,
            end,
            year,
            trend_start,
            week_start,
            sites: HashMap::new(),
            subject: None,
            pending: Vec::new(),
        })
    }

    fn acc(&mut self, site: &str) -> &mut SiteAcc {
        self.sites.entry(site.to_string()).or_default()
    }

    /// Adds a record; records of one subject must come together.
    pub fn add(&mut self, row: Row) {
        if self.subject.as_deref() != Some(row.subject.as_str()) {
            self.flush_subject();
            self.subject = Some(row.subject.clone());
        }
        self.count_record(&row);
        self.pending.push(row);
    }

    fn count_record(&mut self, row: &Row) {
        let (start, end, trend_start, week_start) = (self.start, self.end, self.trend_start, self.week_start);
        let s = self.settings.clone();
        let a = self.acc(&row.site);
        let Some(visit) = row.visit_date else { return };
        let lag = (row.received_day - visit).num_days().max(0);
        let timely = lag <= i64::from(s.timely_days);
        if row.role == Role::Registration && visit >= week_start && visit <= end {
            let w = ((visit - week_start).num_days() / 7) as usize;
            a.by_week.resize(WEEKS as usize, 0);
            if let Some(c) = a.by_week.get_mut(w) {
                *c += 1;
            }
        }
        if visit >= trend_start && visit <= end {
            let i = ((visit.year() - trend_start.year()) * 12 + visit.month0() as i32 - trend_start.month0() as i32)
                as usize;
            a.months.resize(s.trend_months.max(1) as usize, (0, 0, 0));
            if let Some(m) = a.months.get_mut(i) {
                m.0 += 1;
                m.1 += u64::from(timely);
                m.2 += u64::from(row.errors == 0);
            }
        }
        if visit < start || visit > end {
            return;
        }
        a.records += 1;
        a.lags.push(lag);
        a.timely += u64::from(timely);
        a.clean += u64::from(row.errors == 0);
        a.errors += u64::from(row.errors);
        a.warnings += u64::from(row.warnings);
        if let Some((sbp, dbp)) = row.bp {
            a.readings += 2;
            a.zero_readings += u64::from(sbp % 10 == 0) + u64::from(dbp % 10 == 0);
        }
        if let Some(h) = row.answer_hash {
            let e = a.identical.entry(h).or_default();
            if !e.subjects.contains(&row.subject) && e.subjects.len() < 3 {
                e.subjects.push(row.subject.clone());
            }
            e.records.push(row.key.clone());
        }
        if lag > i64::from(s.late_days) {
            a.late_by_day.entry(row.received_day).or_default().push(row.key.clone());
        }
    }

    /// The indicators, completeness and deaths need a resident's records
    /// together.
    fn flush_subject(&mut self) {
        let rows = std::mem::take(&mut self.pending);
        if rows.is_empty() {
            return;
        }
        let owner = rows.iter().find_map(|r| r.patient_site.clone());
        let facts: Vec<RecordFact> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let mut f = r.history.clone()?;
                f.record_id = i as i64;
                if let Some((_, v)) = &mut f.visit {
                    v.record_id = i as i64;
                }
                Some(f)
            })
            .collect();
        if let Some(owner) = &owner {
            if rows.iter().any(|r| r.role == Role::Registration && r.errors == 0) {
                self.acc(owner).complete += 1;
            }
            let history = derive(&facts, &[], &self.care);
            let examined = facts.iter().any(|f| f.role == Role::Exam && self.year.contains(f.date));
            let (year, care) = (self.year, self.care.clone());
            for m in &history.members {
                let mh = MemberHistory {
                    resident_id: 0,
                    programme: m.programme,
                    enrolled_on: m.enrolled_on,
                    left_on: m.left.map(|l| l.0),
                    left_reason: m.left.map(|l| l.1),
                    visits: &m.visits,
                    examined,
                };
                let j = judge(&mh, &year, &care);
                self.acc(owner)
                    .tallies
                    .entry(m.programme.key())
                    .or_default()
                    .add(&mh, &j, &year);
            }
        }
        let death = facts.iter().filter_map(|f| f.death).min();
        if let Some(death) = death {
            let (start, end) = (self.start, self.end);
            for r in &rows {
                let after = r.visit_date.is_some_and(|d| d > death && d >= start && d <= end);
                let dead_visit = r.history.as_ref().is_some_and(|f| f.death.is_some());
                if after && !dead_visit && matches!(r.role, Role::FollowUp | Role::Exam) {
                    let a = self.acc(&r.site);
                    a.after_death_count += 1;
                    if a.after_death.len() < FLAG_RECORDS {
                        a.after_death.push(r.key.clone());
                    }
                }
            }
        }
    }

    pub fn finish(mut self, infos: Vec<SiteInfo>) -> Report {
        self.flush_subject();
        let s = self.settings.clone();
        let programmes = ["diabetes", "hypertension"];
        let mut sites: Vec<SiteReport> = Vec::new();
        let mut unit_tallies: BTreeMap<(bool, String), UnitTally> = BTreeMap::new();
        for info in infos {
            let mut a = self.sites.remove(&info.code).unwrap_or_default();
            a.lags.sort_unstable();
            a.by_week.resize(WEEKS as usize, 0);
            a.months.resize(s.trend_months.max(1) as usize, (0, 0, 0));
            let indicators: Vec<ProgrammeKpi> = programmes
                .iter()
                .filter_map(|p| crate::manage::history::parse_programme(p))
                .map(|p| {
                    a.tallies
                        .get(p.key())
                        .cloned()
                        .unwrap_or_default()
                        .finish(p, &self.year)
                })
                .collect();
            for (county, code) in [(false, info.code.get(..9)), (true, info.code.get(..6))] {
                let Some(code) = code else { continue };
                let u = unit_tallies.entry((county, code.to_string())).or_default();
                u.0 += 1;
                for (p, t) in &a.tallies {
                    merge(u.1.entry(p).or_default(), t);
                }
            }
            sites.push(site_report(
                &info,
                &mut a,
                indicators,
                &s,
                self.start,
                self.week_start,
                self.trend_start,
            ));
        }
        let mut townships = Vec::new();
        let mut counties = Vec::new();
        for ((county, code), (n, tallies)) in unit_tallies {
            let indicators = programmes
                .iter()
                .filter_map(|p| crate::manage::history::parse_programme(p))
                .map(|p| tallies.get(p.key()).cloned().unwrap_or_default().finish(p, &self.year))
                .collect();
            let u = UnitIndicators {
                code,
                sites: n,
                indicators,
            };
            if county {
                counties.push(u);
            } else {
                townships.push(u);
            }
        }
        let city = ranking::rank(&mut sites, &s);
        Report {
            period: self.period,
            period_start: self.start,
            period_end: self.end,
            indicator_year: self.start.year(),
            settings: s,
            sites,
            city,
            townships,
            counties,
        }
    }
}

fn merge(into: &mut Tally, t: &Tally) {
    into.managed += t.managed;
    into.standardised += t.standardised;
    into.controlled += t.controlled;
    into.examined += t.examined;
    if into.by_month.len() < t.by_month.len() {
        into.by_month.resize(t.by_month.len(), 0);
    }
    for (i, v) in t.by_month.iter().enumerate() {
        if let Some(x) = into.by_month.get_mut(i) {
            *x += v;
        }
    }
}

fn site_report(
    info: &SiteInfo,
    a: &mut SiteAcc,
    indicators: Vec<ProgrammeKpi>,
    s: &SupervisionSettings,
    start: NaiveDate,
    week_start: NaiveDate,
    trend_start: NaiveDate,
) -> SiteReport {
    let per_100 = |k: u64| share(k, a.records).map(|x| x * 100.0);
    let mut flags = Vec::new();
    let mut identical: Vec<&Identical> = a.identical.values().filter(|i| i.subjects.len() > 1).collect();
    if !identical.is_empty() {
        identical.sort_by(|x, y| y.records.len().cmp(&x.records.len()).then(x.records.cmp(&y.records)));
        let count = identical.iter().map(|i| i.records.len() as u64).sum();
        let mut records: Vec<String> = identical.iter().flat_map(|i| i.records.iter().cloned()).collect();
        records.truncate(FLAG_RECORDS);
        flags.push(Flag {
            kind: FlagKind::IdenticalAnswers,
            records,
            count,
            share: None,
            day: None,
        });
    }
    let zero_share = share(a.zero_readings, a.readings);
    if a.readings >= u64::from(s.digit_min_readings) && zero_share.is_some_and(|z| z >= s.digit_zero_share) {
        flags.push(Flag {
            kind: FlagKind::DigitPreference,
            records: Vec::new(),
            count: a.readings / 2,
            share: zero_share,
            day: None,
        });
    }
    for (day, keys) in &a.late_by_day {
        if keys.len() as u64 >= u64::from(s.burst_min) {
            flags.push(Flag {
                kind: FlagKind::LateBurst,
                records: keys.iter().take(FLAG_RECORDS).cloned().collect(),
                count: keys.len() as u64,
                share: None,
                day: Some(*day),
            });
        }
    }
    if info.audit_rewinds > 0 {
        flags.push(Flag {
            kind: FlagKind::AuditRewound,
            records: Vec::new(),
            count: info.audit_rewinds,
            share: None,
            day: None,
        });
    }
    if a.after_death_count > 0 {
        flags.push(Flag {
            kind: FlagKind::AfterDeath,
            records: a.after_death.clone(),
            count: a.after_death_count,
            share: None,
            day: None,
        });
    }
    let trend = a
        .months
        .iter()
        .enumerate()
        .map(|(i, (n, timely, clean))| {
            let month = trend_start
                .checked_add_months(chrono::Months::new(i as u32))
                .unwrap_or(start)
                .format("%Y-%m")
                .to_string();
            let (t, c) = (share(*timely, *n), share(*clean, *n));
            let w = s.weights.timeliness + s.weights.quality;
            let score = match (t, c) {
                (Some(t), Some(c)) if w > 0.0 => Some(100.0 * (t * s.weights.timeliness + c * s.weights.quality) / w),
                _ => None,
            };
            MonthFigures {
                month,
                records: *n,
                timely_share: t,
                clean_share: c,
                score,
            }
        })
        .collect();
    let by_week = a
        .by_week
        .iter()
        .enumerate()
        .map(|(i, c)| WeekCount {
            week_start: week_start + Days::new(7 * i as u64),
            count: *c,
        })
        .collect();
    let rate = info.population.filter(|p| *p > 0).map(|p| a.complete as f64 / p as f64);
    SiteReport {
        rank: 0,
        code: info.code.clone(),
        name: info.name.clone(),
        score: 0.0,
        components: Components {
            timeliness: 0.0,
            quality: 0.0,
            indicators: 0.0,
            progress: None,
        },
        flagged: false,
        reasons: Vec::new(),
        progress: Progress {
            population: info.population,
            target_rate: info.target_rate,
            residents: info.residents,
            complete: a.complete,
            rate,
            by_week,
        },
        timeliness: Timeliness {
            records: a.records,
            median_lag_days: median(&a.lags),
            p90_lag_days: quantile(&a.lags, 0.9),
            timely: a.timely,
            timely_share: share(a.timely, a.records),
        },
        quality: Quality {
            records: a.records,
            clean: a.clean,
            clean_share: share(a.clean, a.records),
            errors_per_100: per_100(a.errors),
            warnings_per_100: per_100(a.warnings),
            top_problems: info.problems.clone(),
            spot_checked: info.spot_checked,
            spot_failed: info.spot_failed,
        },
        authenticity: flags,
        indicators,
        trend,
    }
}
