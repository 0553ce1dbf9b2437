//! The follow-up rules of the 规范 (rules.md §1.3–§1.4, §2.4–§2.5, §3):
//! from one visit, the resident's age at it and the previous visit of the
//! same programme, what the classification, the next step, the latest next
//! visit and the referral should be, and what in the record contradicts
//! them. Pure: the form screen, `jkda check`, the KPIs and the platform all
//! call [`assess`], so they cannot disagree.

use super::settings::Settings;
use super::visit::{self as v, Previous, Visit, VisitStatus};
use crate::form::def::{Level, Programme};
use crate::i18n::Msg;
use chrono::{Days, NaiveDate};

/// 此次随访分类 codes.
pub const CONTROLLED: u8 = 1;
pub const UNCONTROLLED: u8 = 2;
pub const ADVERSE_REACTION: u8 = 3;
pub const COMPLICATION: u8 = 4;

/// 下一步管理措施 codes (rules.md §3).
pub const STEP_ROUTINE: u8 = 1;
pub const STEP_REVISIT: u8 = 2;
pub const STEP_REFER: u8 = 3;
pub const STEP_EMERGENCY: u8 = 4;

/// Fasting glucose on target below this (mmol/L).
pub const FBG_TARGET: f64 = 7.0;

/// Blood pressure on target below (systolic, diastolic): <140/90, and
/// <150/90 from 65 (completed years on the visit date).
pub fn bp_target(age: Option<u32>) -> (f64, f64) {
    if age.is_some_and(|a| a >= 65) {
        (150.0, 90.0)
    } else {
        (140.0, 90.0)
    }
}

/// On target by the programme's measurement; `None` if it was not taken.
pub fn on_target(programme: Programme, age: Option<u32>, visit: &Visit) -> Option<bool> {
    match programme {
        Programme::Hypertension => {
            let (s, d) = (visit.systolic?, visit.diastolic?);
            let (ts, td) = bp_target(age);
            Some(s < ts && d < td)
        }
        Programme::Diabetes => Some(visit.fbg? < FBG_TARGET),
    }
}

/// Why a referral is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Referral {
    /// A danger condition: refer at once after initial handling.
    Emergency,
    /// A new or worse complication (the doctor classified 4).
    Complication,
    /// Not controlled at two consecutive visits.
    TwiceUncontrolled,
}

/// A finding of the rules: where it belongs, how serious, what to say, and
/// a stable code (for the platform's quality statistics).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFinding {
    pub path: &'static str,
    pub level: Level,
    pub code: &'static str,
    pub msg: Msg,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assessment {
    /// On target by this visit's measurement.
    pub controlled: Option<bool>,
    /// Danger conditions found, as findings (one per cause).
    pub emergency: bool,
    pub classification: Option<u8>,
    pub next_step: Option<u8>,
    /// The latest date the next visit may be booked for.
    pub next_visit_by: Option<NaiveDate>,
    pub referral: Option<Referral>,
    pub findings: Vec<RuleFinding>,
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// Danger conditions of rules.md §1.3 (hypertension) and §2.4 (diabetes).
fn emergencies(programme: Programme, visit: &Visit) -> Vec<RuleFinding> {
    let mut out = Vec::new();
    let warn = |path, code, msg| RuleFinding {
        path,
        level: Level::Warning,
        code,
        msg,
    };
    if let (Some(s), Some(d)) = (visit.systolic, visit.diastolic) {
        if s >= 180.0 || d >= 110.0 {
            let m = Msg::new("manage.emergency.bp")
                .arg("sbp", fmt_num(s))
                .arg("dbp", fmt_num(d));
            out.push(warn("bp", "emergency_bp", m));
        }
    }
    if programme == Programme::Diabetes {
        if let Some(g) = visit.fbg {
            if g >= 16.7 {
                out.push(warn(
                    v::FBG,
                    "emergency_glucose_high",
                    Msg::new("manage.emergency.glucose_high").arg("fbg", fmt_num(g)),
                ));
            } else if g <= 3.9 {
                out.push(warn(
                    v::FBG,
                    "emergency_glucose_low",
                    Msg::new("manage.emergency.glucose_low").arg("fbg", fmt_num(g)),
                ));
            }
        }
        if let Some(hr) = visit.heart_rate.filter(|hr| *hr > 100.0) {
            out.push(warn(
                v::HEART_RATE,
                "emergency_heart_rate",
                Msg::new("manage.emergency.heart_rate").arg("hr", fmt_num(hr)),
            ));
        }
        if let Some(t) = visit.temperature.filter(|t| *t > 39.0) {
            out.push(warn(
                v::TEMPERATURE,
                "emergency_temperature",
                Msg::new("manage.emergency.temperature").arg("t", fmt_num(t)),
            ));
        }
    }
    if !visit.danger_signs.is_empty() {
        out.push(warn(
            v::DANGER_SIGNS,
            "emergency_signs",
            Msg::new("manage.emergency.signs"),
        ));
    }
    out
}

/// Assesses one follow-up visit. `age` is in completed years on the visit
/// date; `previous` is the last visit of the same programme before it.
pub fn assess(
    programme: Programme,
    age: Option<u32>,
    visit: &Visit,
    previous: Option<&Previous>,
    settings: &Settings,
) -> Assessment {
    // A lost or dead patient was not seen: nothing to classify or book.
    if visit.status != VisitStatus::Normal {
        return Assessment::default();
    }
    let controlled = on_target(programme, age, visit);
    let mut findings = emergencies(programme, visit);
    let emergency = !findings.is_empty();
    // A new or worse complication is the doctor's call; never downgraded.
    let complication = visit.classification == Some(COMPLICATION);
    let classification = if complication {
        Some(COMPLICATION)
    } else if visit.adr {
        Some(ADVERSE_REACTION)
    } else {
        controlled.map(|c| if c { CONTROLLED } else { UNCONTROLLED })
    };
    let twice = controlled == Some(false) && previous.is_some_and(|p| p.uncontrolled);
    let referral = if emergency {
        Some(Referral::Emergency)
    } else if complication {
        Some(Referral::Complication)
    } else if twice {
        Some(Referral::TwiceUncontrolled)
    } else {
        None
    };
    let next_step = if emergency {
        Some(STEP_EMERGENCY)
    } else if referral.is_some() {
        Some(STEP_REFER)
    } else if visit.adr || controlled == Some(false) {
        Some(STEP_REVISIT)
    } else if controlled == Some(true) {
        Some(STEP_ROUTINE)
    } else {
        None
    };
    let short = next_step.is_some_and(|s| s != STEP_ROUTINE) || visit.referred;
    let next_visit_by = match (visit.date, next_step.is_some() || visit.referred) {
        (Some(d), true) => {
            let days = if short {
                settings.revisit_days
            } else {
                settings.routine_interval_days
            };
            d.checked_add_days(Days::new(u64::from(days)))
        }
        _ => None,
    };

    classification_findings(programme, age, visit, classification, &mut findings);

    if let (Some(by), Some(next)) = (next_visit_by, visit.next_visit) {
        if next > by {
            let days = if short {
                settings.revisit_days
            } else {
                settings.routine_interval_days
            };
            let msg = Msg::new(if visit.reason_given {
                "manage.rule.next_visit_late_reason"
            } else {
                "manage.rule.next_visit_late"
            })
            .arg("by", by.format("%Y-%m-%d"))
            .arg("days", days);
            findings.push(RuleFinding {
                path: v::NEXT_VISIT,
                level: if visit.reason_given {
                    Level::Warning
                } else {
                    Level::Error
                },
                code: if short {
                    "next_visit_late_after_uncontrolled"
                } else {
                    "next_visit_late_routine"
                },
                msg,
            });
        }
    }
    if let Some(why) = referral.filter(|_| !visit.referred) {
        let key = match why {
            Referral::Emergency => "manage.rule.referral_emergency",
            Referral::Complication => "manage.rule.referral_complication",
            Referral::TwiceUncontrolled => "manage.rule.referral_twice",
        };
        findings.push(RuleFinding {
            path: v::REFERRED,
            level: if visit.reason_given {
                Level::Warning
            } else {
                Level::Error
            },
            code: "referral_missing",
            msg: Msg::new(key),
        });
    }
    if let (Some(chosen), Some(suggested)) = (visit.next_step, next_step) {
        if chosen < suggested {
            findings.push(RuleFinding {
                path: v::NEXT_STEP,
                level: Level::Warning,
                code: "next_step_milder",
                msg: Msg::new("manage.rule.next_step_milder").arg("code", suggested),
            });
        }
    }
    Assessment {
        controlled,
        emergency,
        classification,
        next_step,
        next_visit_by,
        referral,
        findings,
    }
}

/// Warns where the doctor's classification disagrees with the values.
fn classification_findings(
    programme: Programme,
    age: Option<u32>,
    visit: &Visit,
    suggested: Option<u8>,
    out: &mut Vec<RuleFinding>,
) {
    let (Some(chosen), Some(suggested)) = (visit.classification, suggested) else {
        return;
    };
    if chosen == suggested || chosen == COMPLICATION {
        return;
    }
    let (ts, td) = bp_target(age);
    let values = |m: Msg| match programme {
        Programme::Hypertension => m
            .arg("sbp", visit.systolic.map(fmt_num).unwrap_or_default())
            .arg("dbp", visit.diastolic.map(fmt_num).unwrap_or_default())
            .arg("ts", fmt_num(ts))
            .arg("td", fmt_num(td))
            .arg("age", age.map(|a| a.to_string()).unwrap_or_default()),
        Programme::Diabetes => m.arg("fbg", visit.fbg.map(fmt_num).unwrap_or_default()),
    };
    let (key, code) = match (suggested, chosen) {
        (ADVERSE_REACTION, _) => ("manage.rule.class_adr", "classification_ignores_adr"),
        (_, ADVERSE_REACTION) => ("manage.rule.class_adr_absent", "classification_adr_without_adr"),
        (UNCONTROLLED, _) => match programme {
            Programme::Hypertension => ("manage.rule.class_bp_uncontrolled", "classification_contradicts_bp"),
            Programme::Diabetes => ("manage.rule.class_fbg_uncontrolled", "classification_contradicts_fbg"),
        },
        _ => match programme {
            Programme::Hypertension => ("manage.rule.class_bp_controlled", "classification_contradicts_bp"),
            Programme::Diabetes => ("manage.rule.class_fbg_controlled", "classification_contradicts_fbg"),
        },
    };
    out.push(RuleFinding {
        path: v::CLASSIFICATION,
        level: Level::Warning,
        code,
        msg: values(Msg::new(key)),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn bp(s: f64, dia: f64) -> Visit {
        Visit {
            date: Some(d("2026-03-10")),
            systolic: Some(s),
            diastolic: Some(dia),
            ..Visit::default()
        }
    }

    fn glucose(g: f64) -> Visit {
        Visit {
            date: Some(d("2026-03-10")),
            fbg: Some(g),
            ..Visit::default()
        }
    }

    fn codes(a: &Assessment) -> Vec<&'static str> {
        a.findings.iter().map(|f| f.code).collect()
    }

    const HT: Programme = Programme::Hypertension;
    const DM: Programme = Programme::Diabetes;

    #[test]
    fn blood_pressure_targets_are_strict_and_depend_on_age_at_the_visit() {
        let s = Settings::default();
        // 140/90 exactly is not on target under 65.
        assert_eq!(on_target(HT, Some(64), &bp(140.0, 80.0)), Some(false));
        assert_eq!(on_target(HT, Some(64), &bp(139.0, 90.0)), Some(false));
        assert_eq!(on_target(HT, Some(64), &bp(139.0, 89.0)), Some(true));
        // From 65: 149/89 is on target, 150 is not, 90 diastolic never is.
        assert_eq!(on_target(HT, Some(65), &bp(149.0, 89.0)), Some(true));
        assert_eq!(on_target(HT, Some(65), &bp(150.0, 80.0)), Some(false));
        assert_eq!(on_target(HT, Some(70), &bp(145.0, 90.0)), Some(false));
        // Unknown age: the stricter general target.
        assert_eq!(on_target(HT, None, &bp(145.0, 85.0)), Some(false));
        assert_eq!(on_target(HT, Some(50), &Visit::default()), None);
        let a = assess(HT, Some(65), &bp(149.0, 89.0), None, &s);
        assert_eq!(a.classification, Some(CONTROLLED));
        assert_eq!(a.next_step, Some(STEP_ROUTINE));
        assert_eq!(a.next_visit_by, Some(d("2026-06-08")));
    }

    #[test]
    fn the_issue_case_a_70_year_old_at_152_96_is_not_controlled() {
        let s = Settings::default();
        let mut visit = bp(152.0, 96.0);
        visit.classification = Some(CONTROLLED);
        visit.next_visit = Some(d("2026-06-10"));
        let a = assess(HT, Some(70), &visit, None, &s);
        assert_eq!(a.controlled, Some(false));
        assert_eq!(a.classification, Some(UNCONTROLLED));
        assert_eq!(a.next_step, Some(STEP_REVISIT));
        assert_eq!(a.next_visit_by, Some(d("2026-03-24")));
        assert_eq!(a.referral, None);
        assert_eq!(
            codes(&a),
            vec!["classification_contradicts_bp", "next_visit_late_after_uncontrolled"]
        );
        let late = a.findings.iter().find(|f| f.path == "next_visit_date").unwrap();
        assert_eq!(late.level, Level::Error);
        // A stated reason turns the refusal into a warning.
        visit.reason_given = true;
        let a = assess(HT, Some(70), &visit, None, &s);
        let late = a.findings.iter().find(|f| f.path == "next_visit_date").unwrap();
        assert_eq!(late.level, Level::Warning);
    }

    #[test]
    fn fourteen_days_is_allowed_fifteen_is_not() {
        let s = Settings::default();
        let mut visit = glucose(7.0);
        visit.next_visit = Some(d("2026-03-24"));
        let a = assess(DM, Some(50), &visit, None, &s);
        assert_eq!(a.classification, Some(UNCONTROLLED), "7.0 is not below 7.0");
        assert!(a.findings.is_empty(), "{:?}", a.findings);
        visit.next_visit = Some(d("2026-03-25"));
        let a = assess(DM, Some(50), &visit, None, &s);
        assert_eq!(codes(&a), vec!["next_visit_late_after_uncontrolled"]);
        let controlled = assess(DM, Some(50), &glucose(6.9), None, &s);
        assert_eq!(controlled.classification, Some(CONTROLLED));
    }

    #[test]
    fn the_second_uncontrolled_visit_requires_a_referral() {
        let s = Settings::default();
        let prev = Previous {
            date: d("2026-02-24"),
            uncontrolled: true,
            referred: false,
        };
        let visit = bp(150.0, 95.0);
        let a = assess(HT, Some(60), &visit, Some(&prev), &s);
        assert_eq!(a.referral, Some(Referral::TwiceUncontrolled));
        assert_eq!(a.next_step, Some(STEP_REFER));
        assert_eq!(a.next_visit_by, Some(d("2026-03-24")));
        assert_eq!(codes(&a), vec!["referral_missing"]);
        let referred = Visit {
            referred: true,
            ..visit.clone()
        };
        assert!(assess(HT, Some(60), &referred, Some(&prev), &s).findings.is_empty());
        // Controlled last time: the first uncontrolled visit, a 2-week revisit.
        let first = Previous {
            uncontrolled: false,
            ..prev
        };
        let a = assess(HT, Some(60), &visit, Some(&first), &s);
        assert_eq!((a.referral, a.next_step), (None, Some(STEP_REVISIT)));
    }

    #[test]
    fn the_most_severe_wins_and_a_complication_is_never_downgraded() {
        let s = Settings::default();
        let mut visit = bp(130.0, 80.0);
        visit.adr = true;
        let a = assess(HT, Some(50), &visit, None, &s);
        assert_eq!(a.classification, Some(ADVERSE_REACTION));
        assert_eq!(a.next_step, Some(STEP_REVISIT));
        visit.classification = Some(CONTROLLED);
        assert_eq!(
            codes(&assess(HT, Some(50), &visit, None, &s)),
            vec!["classification_ignores_adr"]
        );
        visit.classification = Some(COMPLICATION);
        let a = assess(HT, Some(50), &visit, None, &s);
        assert_eq!(a.classification, Some(COMPLICATION));
        assert_eq!(a.referral, Some(Referral::Complication));
        assert_eq!(codes(&a), vec!["referral_missing"]);
        // Classified ADR without one recorded: a warning, the values decide.
        let mut no_adr = bp(130.0, 80.0);
        no_adr.classification = Some(ADVERSE_REACTION);
        let a = assess(HT, Some(50), &no_adr, None, &s);
        assert_eq!(a.classification, Some(CONTROLLED));
        assert_eq!(codes(&a), vec!["classification_adr_without_adr"]);
    }

    #[test]
    fn emergencies_come_from_numbers_and_from_symptoms() {
        let s = Settings::default();
        let a = assess(HT, Some(50), &bp(180.0, 100.0), None, &s);
        assert!(a.emergency);
        assert_eq!(a.next_step, Some(STEP_EMERGENCY));
        assert_eq!(a.referral, Some(Referral::Emergency));
        assert_eq!(codes(&a), vec!["emergency_bp", "referral_missing"]);
        assert!(!assess(HT, Some(50), &bp(179.0, 109.0), None, &s).emergency);
        assert!(assess(HT, Some(50), &bp(170.0, 110.0), None, &s).emergency);
        // A danger sign with a normal BP (e.g. pregnancy with raised BP ticked).
        let mut signs = bp(130.0, 80.0);
        signs.danger_signs = vec!["8".into()];
        let a = assess(HT, Some(30), &signs, None, &s);
        assert_eq!(a.next_step, Some(STEP_EMERGENCY));
        assert_eq!(a.classification, Some(CONTROLLED));
        assert_eq!(a.next_visit_by, Some(d("2026-03-24")));
        // Diabetes: glucose at both ends, heart rate, temperature.
        assert!(assess(DM, Some(50), &glucose(16.7), None, &s).emergency);
        assert!(!assess(DM, Some(50), &glucose(16.6), None, &s).emergency);
        assert!(assess(DM, Some(50), &glucose(3.9), None, &s).emergency);
        assert!(!assess(DM, Some(50), &glucose(4.0), None, &s).emergency);
        let mut hr = glucose(6.0);
        hr.heart_rate = Some(101.0);
        assert_eq!(codes(&assess(DM, Some(50), &hr, None, &s))[0], "emergency_heart_rate");
        hr.heart_rate = Some(100.0);
        assert!(!assess(DM, Some(50), &hr, None, &s).emergency);
        hr.temperature = Some(39.1);
        assert_eq!(codes(&assess(DM, Some(50), &hr, None, &s))[0], "emergency_temperature");
        hr.temperature = Some(39.0);
        assert!(!assess(DM, Some(50), &hr, None, &s).emergency);
    }

    #[test]
    fn lost_and_dead_visits_need_no_measurements_and_get_no_suggestion() {
        let s = Settings::default();
        let lost = Visit {
            date: Some(d("2026-03-10")),
            status: VisitStatus::Lost,
            ..Visit::default()
        };
        let a = assess(HT, Some(70), &lost, None, &s);
        assert_eq!(a, Assessment::default());
    }

    #[test]
    fn a_referral_shortens_the_next_visit_and_a_milder_next_step_is_flagged() {
        let s = Settings::default();
        let mut visit = bp(130.0, 80.0);
        visit.referred = true;
        visit.next_visit = Some(d("2026-04-10"));
        let a = assess(HT, Some(50), &visit, None, &s);
        assert_eq!(a.next_visit_by, Some(d("2026-03-24")));
        assert_eq!(codes(&a), vec!["next_visit_late_after_uncontrolled"]);
        let mut milder = bp(160.0, 95.0);
        milder.next_step = Some(STEP_ROUTINE);
        assert_eq!(
            codes(&assess(HT, Some(50), &milder, None, &s)),
            vec!["next_step_milder"]
        );
        let long = Settings {
            routine_interval_days: 60,
            ..Settings::default()
        };
        assert_eq!(
            assess(HT, Some(50), &bp(120.0, 70.0), None, &long).next_visit_by,
            Some(d("2026-05-09"))
        );
    }
}
