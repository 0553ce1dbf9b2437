//! The composite that ranks the sites, fair to small ones: every component
//! is a rate, never a count (a big township does not win by size), and each
//! rate is blended with the city's before ranking (`stats::shrunk`), so a
//! village with three records is neither first nor last by chance. A site
//! that sent nothing for the period scores 0 on timeliness and quality.
//!
//! - timeliness: share of the period's records received within
//!   `timely_days` of their visit;
//! - quality: share of records without an error, times the share of spot
//!   checks passed (counted as if five more had passed);
//! - indicators: the mean of 规范管理率 and 控制率 over both programmes;
//! - progress: complete records against population × target rate (capped
//!   at 1), left out when the site's population is not set.
//!
//! The score is the weighted mean of the components present, 0..=100.

use super::model::{CityFigures, Reason, SiteReport};
use super::stats::{share, shrunk};
use super::SupervisionSettings;

const SPOT_PRIOR: f64 = 5.0;

fn sum(sites: &[SiteReport], f: impl Fn(&SiteReport) -> u64) -> u64 {
    sites.iter().map(f).sum()
}

fn managed(s: &SiteReport) -> u64 {
    s.indicators.iter().map(|k| k.managed).sum()
}

fn standardised(s: &SiteReport) -> u64 {
    s.indicators.iter().map(|k| k.standardised).sum()
}

fn controlled(s: &SiteReport) -> u64 {
    s.indicators.iter().map(|k| k.controlled).sum()
}

/// Scores, ranks and flags the sites; returns the city's figures.
pub fn rank(sites: &mut [SiteReport], s: &SupervisionSettings) -> CityFigures {
    let records = sum(sites, |x| x.timeliness.records);
    let city = CityFigures {
        records,
        timely_share: share(sum(sites, |x| x.timeliness.timely), records).unwrap_or(0.0),
        clean_share: share(sum(sites, |x| x.quality.clean), records).unwrap_or(0.0),
        standardised_rate: share(sum(sites, standardised), sum(sites, managed)).unwrap_or(0.0),
        control_rate: share(sum(sites, controlled), sum(sites, managed)).unwrap_or(0.0),
    };
    let m = s.prior_records;
    let w = &s.weights;
    for site in sites.iter_mut() {
        let n = site.timeliness.records;
        // As if five more checks had passed: one failure in one check is a
        // warning, not a zero.
        let spot_passed = 1.0 - site.quality.spot_failed as f64 / (site.quality.spot_checked as f64 + SPOT_PRIOR);
        let (timeliness, quality) = if n == 0 {
            (0.0, 0.0)
        } else {
            (
                shrunk(site.timeliness.timely, n, city.timely_share, m),
                shrunk(site.quality.clean, n, city.clean_share, m) * spot_passed,
            )
        };
        let k = managed(site);
        let indicators = (shrunk(standardised(site), k, city.standardised_rate, m)
            + shrunk(controlled(site), k, city.control_rate, m))
            / 2.0;
        let progress = site
            .progress
            .rate
            .map(|r| (r / site.progress.target_rate.unwrap_or(1.0).max(1e-9)).min(1.0));
        let mut total = w.timeliness * timeliness + w.quality * quality + w.indicators * indicators;
        let mut weight = w.timeliness + w.quality + w.indicators;
        if let Some(p) = progress {
            total += w.progress * p;
            weight += w.progress;
        }
        site.score = if weight > 0.0 { 100.0 * total / weight } else { 0.0 };
        site.components.timeliness = timeliness;
        site.components.quality = quality;
        site.components.indicators = indicators;
        site.components.progress = progress;
        site.reasons = reasons(site, &city, s);
    }
    sites.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.code.cmp(&b.code)));
    let n = sites.len();
    let bottom = 3.min(n.saturating_sub(1));
    for (i, site) in sites.iter_mut().enumerate() {
        site.rank = i + 1;
        site.flagged = i + bottom >= n;
    }
    city
}

/// Components where the site is below the city, the largest weighted gap
/// first, then the authenticity flags.
fn reasons(site: &SiteReport, city: &CityFigures, s: &SupervisionSettings) -> Vec<Reason> {
    let w = &s.weights;
    let mut out: Vec<(f64, Reason)> = Vec::new();
    if site.timeliness.records == 0 {
        out.push((f64::MAX, reason("nothing_received", None, None)));
    } else {
        if let Some(t) = site.timeliness.timely_share.filter(|t| *t < city.timely_share) {
            out.push((
                w.timeliness * (city.timely_share - t),
                reason("timeliness", Some(t), Some(city.timely_share)),
            ));
        }
        if let Some(c) = site.quality.clean_share.filter(|c| *c < city.clean_share) {
            out.push((
                w.quality * (city.clean_share - c),
                reason("quality", Some(c), Some(city.clean_share)),
            ));
        }
    }
    let k = managed(site);
    if let Some(r) = share(standardised(site) + controlled(site), 2 * k) {
        let c = (city.standardised_rate + city.control_rate) / 2.0;
        if r < c {
            out.push((w.indicators * (c - r), reason("indicators", Some(r), Some(c))));
        }
    }
    if let Some(p) = site.components.progress.filter(|p| *p < 1.0) {
        out.push((
            w.progress * (1.0 - p),
            reason("progress", site.progress.rate, site.progress.target_rate),
        ));
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut list: Vec<Reason> = out.into_iter().map(|(_, r)| r).collect();
    list.extend(site.authenticity.iter().map(|f| reason(f.kind.key(), f.share, None)));
    list
}

fn reason(kind: &str, value: Option<f64>, city: Option<f64>) -> Reason {
    Reason {
        kind: kind.to_string(),
        value,
        city,
    }
}
