//! A hand-made report for the page tests: five sites (one with a hostile
//! name), the bottom three flagged, six months of trend, spot-check items
//! with and without a result.

use super::html::View;
pub use super::html::Viewer;
use crate::domain::Sensitive;
use crate::form::def::Level;
use crate::form::Registry;
use crate::i18n::{I18n, Lang};
use crate::manage::kpi::ProgrammeKpi;
use crate::supervise::facts::Problem;
use crate::supervise::model::*;
use crate::supervise::SupervisionSettings;
use chrono::NaiveDate;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn bureau() -> Viewer {
    Viewer::Bureau("wang".into())
}

pub fn with_view(lang: Lang, viewer: &Viewer, f: impl FnOnce(&View) -> String) -> String {
    let t = I18n::new(lang);
    let forms = Registry::embedded();
    let v = View {
        t: &t,
        lang,
        period: "2026-11",
        forms: &forms,
        viewer,
        computed_at: "2026-12-01 09:30",
    };
    f(&v)
}

fn kpi(programme: &'static str, managed: u64, standardised: u64, controlled: u64) -> ProgrammeKpi {
    let rate = |n: u64| if managed == 0 { 0.0 } else { n as f64 / managed as f64 };
    ProgrammeKpi {
        programme,
        managed,
        standardised,
        standardised_rate: rate(standardised),
        controlled,
        control_rate: rate(controlled),
        examined: managed / 2,
        exam_rate: rate(managed / 2),
        followups_by_month: vec![0; 11],
    }
}

fn site(rank: usize, code: &str, name: &str, score: f64, flagged: bool) -> SiteReport {
    let f = score / 100.0;
    SiteReport {
        rank,
        code: code.into(),
        name: name.into(),
        score,
        components: Components {
            timeliness: f,
            quality: (f + 0.1).min(1.0),
            indicators: f * 0.9,
            progress: if rank == 2 { None } else { Some(f * 0.8) },
        },
        flagged,
        reasons: if flagged {
            vec![
                Reason {
                    kind: "timeliness".into(),
                    value: Some(0.42),
                    city: Some(0.8134),
                },
                Reason {
                    kind: "digit_preference".into(),
                    value: None,
                    city: None,
                },
            ]
        } else {
            Vec::new()
        },
        progress: Progress {
            population: Some(1200),
            target_rate: Some(0.9),
            residents: 800,
            complete: 700,
            rate: Some(700.0 / 1200.0),
            by_week: (0..8)
                .map(|i| WeekCount {
                    week_start: d("2026-10-05") + chrono::Days::new(7 * i),
                    count: (i * 3 + rank as u64) % 11,
                })
                .collect(),
        },
        timeliness: Timeliness {
            records: 120,
            median_lag_days: Some(2.5),
            p90_lag_days: Some(11.0),
            timely: 96,
            timely_share: Some(0.8),
        },
        quality: Quality {
            records: 120,
            clean: 100,
            clean_share: Some(100.0 / 120.0),
            errors_per_100: Some(21.7),
            warnings_per_100: Some(8.3),
            top_problems: vec![
                ProblemCount {
                    form: "hypertension-followup".into(),
                    item: "classification".into(),
                    code: "classification_contradicts_bp".into(),
                    error: true,
                    count: 9,
                },
                ProblemCount {
                    form: "hypertension-followup".into(),
                    item: "bp".into(),
                    code: "rules.required".into(),
                    error: true,
                    count: 4,
                },
            ],
            spot_checked: 2,
            spot_failed: 1,
        },
        authenticity: vec![Flag {
            kind: FlagKind::DigitPreference,
            records: vec!["qr-1".into(), "qr-2".into()],
            count: 40,
            share: Some(0.95),
            day: None,
        }],
        indicators: vec![kpi("hypertension", 200, 150, 120), kpi("diabetes", 80, 50, 40)],
        trend: ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
            .iter()
            .enumerate()
            .map(|(i, m)| MonthFigures {
                month: m.to_string(),
                records: 80 + i as u64 * 8,
                timely_share: Some(0.6 + i as f64 * 0.05),
                clean_share: if i == 2 { None } else { Some(0.7) },
                score: Some(score - 10.0 + i as f64 * 2.0),
            })
            .collect(),
    }
}

pub fn report() -> Report {
    let sites = vec![
        site(1, "220602001001", "东山村卫生室", 88.5, false),
        site(2, "220602001002", "西河乡卫生院", 80.0, false),
        site(3, "220602002001", "<script>alert(1)</script>", 61.0, true),
        site(4, "220602002002", "南岭村卫生室", 55.2, true),
        site(5, "220603001001", "北坡村卫生室", 40.9, true),
    ];
    Report {
        period: "2026-11".into(),
        period_start: d("2026-11-01"),
        period_end: d("2026-11-30"),
        indicator_year: 2026,
        settings: SupervisionSettings::default(),
        sites,
        city: CityFigures {
            records: 600,
            timely_share: 0.8134,
            clean_share: 0.83,
            standardised_rate: 0.7,
            control_rate: 0.6,
        },
        townships: vec![UnitIndicators {
            code: "220602001".into(),
            sites: 2,
            indicators: vec![kpi("hypertension", 400, 300, 240)],
        }],
        counties: vec![UnitIndicators {
            code: "220602".into(),
            sites: 4,
            indicators: vec![kpi("hypertension", 800, 600, 480), kpi("diabetes", 160, 100, 80)],
        }],
    }
}

pub fn spots() -> Vec<SpotItem> {
    vec![
        SpotItem {
            record: "qr-a".into(),
            form: "hypertension-followup".into(),
            visit_date: Some(d("2026-11-03")),
            resident_name: Sensitive(Some("张三".into())),
            record_no: Sensitive(Some("22060200100100012".into())),
            checks: Sensitive(vec![("收缩压".into(), "150".into())]),
            result: None,
        },
        SpotItem {
            record: "qr-b".into(),
            form: "diabetes-followup".into(),
            visit_date: Some(d("2026-11-05")),
            resident_name: Sensitive(Some("李四".into())),
            record_no: Sensitive(None),
            checks: Sensitive(vec![("空腹血糖".into(), "7.2".into())]),
            result: Some(SpotResult {
                passed: false,
                note: "本人说未随访 <b>".into(),
                checked_on: d("2026-11-20"),
                checker: "wang".into(),
            }),
        },
    ]
}

pub fn records() -> Vec<crate::hub::findings::RecordProblems> {
    vec![(
        "qr-c".into(),
        Some(d("2026-11-09")),
        "hypertension-followup".into(),
        vec![Problem {
            item: "next_visit".into(),
            code: "next_visit_late_after_uncontrolled".into(),
            level: Level::Error,
        }],
    )]
}
