//! Programme histories for the demo: a patient's follow-ups over the last
//! fifteen months, visit by visit, each classified, booked and referred by
//! the management rules (`manage::rules::assess`) the way a careful doctor
//! following the 规范 would; and the annual health examinations.
//!
//! Each patient has a tendency (well controlled, borderline, poorly
//! controlled) the measurements are drawn around; an uncontrolled visit
//! makes the "doctor" step up the treatment, which fades again. Patients
//! come back around the date booked for them, sometimes late, sometimes a
//! quarter late; a few stop coming, are recorded lost to follow-up or die.

use super::{complete_required, set_if_field};
use crate::form::def::{FieldKind, FormDef, Programme};
use crate::form::rules::Context;
use crate::form::Answers;
use crate::identity::age_on;
use crate::manage::rules::{self, Referral, COMPLICATION, STEP_ROUTINE, UNCONTROLLED};
use crate::manage::visit::{Method, Previous, Visit, VisitStatus};
use crate::manage::Settings;
use crate::store::bulk::ImportRecord;
use chrono::{Datelike, Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::Rng;

/// How far back a programme's history goes (about fifteen months).
pub const HISTORY_DAYS: i64 = 456;

/// Patients by how well their numbers are controlled, per mille: well,
/// borderline, poorly.
const TENDENCY: [u32; 3] = [450, 330, 220];

/// Usual systolic BP (mean, spread) by tendency, and for people without
/// hypertension.
const SBP: [(f64, f64); 3] = [(129.0, 8.0), (143.0, 9.0), (158.0, 11.0)];
const SBP_NORMAL: (f64, f64) = (122.0, 8.0);
/// Usual fasting glucose (mmol/L) by tendency, and without diabetes.
const FBG: [(f64, f64); 3] = [(6.3, 0.6), (7.6, 0.9), (9.8, 1.6)];
const FBG_NORMAL: (f64, f64) = (5.2, 0.4);

/// Per-visit chances, per mille.
const ADR_PER_MILLE: u32 = 20;
const COMPLICATION_PER_MILLE: u32 = 8;
const EMERGENCY_PER_MILLE: u32 = 7;
/// A routine patient who lets a whole quarter pass.
const MISS_QUARTER_PER_MILLE: u32 = 40;

/// Drugs as (name, times a day, dose).
const HYPERTENSION_DRUGS: &[(&str, &str, &str)] = &[
    ("氨氯地平片", "1", "5mg"),
    ("硝苯地平缓释片", "2", "10mg"),
    ("厄贝沙坦片", "1", "150mg"),
    ("缬沙坦胶囊", "1", "80mg"),
    ("吲达帕胺片", "1", "2.5mg"),
    ("美托洛尔缓释片", "1", "47.5mg"),
];
const DIABETES_DRUGS: &[(&str, &str, &str)] = &[
    ("二甲双胍片", "3", "0.5g"),
    ("格列美脲片", "1", "2mg"),
    ("阿卡波糖片", "3", "50mg"),
    ("西格列汀片", "1", "100mg"),
];
const HYPERTENSION_ADR: &[&str] = &["干咳", "踝部水肿", "头痛、面部潮红"];
const DIABETES_ADR: &[&str] = &["胃肠道不适", "轻度低血糖反应", "腹胀"];
const HYPERTENSION_COMPLICATIONS: &[&str] = &[
    "新发胸闷胸痛，疑似冠心病",
    "一过性肢体麻木无力，疑似短暂性脑缺血发作",
    "尿蛋白阳性，疑似高血压肾损害",
];
const DIABETES_COMPLICATIONS: &[&str] = &[
    "足背动脉搏动减弱，疑似糖尿病足",
    "视物模糊加重，疑似糖尿病视网膜病变",
    "尿蛋白阳性，疑似糖尿病肾病",
];
const HYPERTENSION_ORGS: &[&str] = &["江源区人民医院心内科", "白山市中心医院心血管内科"];
const DIABETES_ORGS: &[&str] = &["江源区人民医院内分泌科", "白山市中心医院内分泌科"];
const LOST_REASONS: &[&str] = &[
    "外出务工，联系不上",
    "电话停机，家中无人",
    "搬迁至外地居住",
    "连续三次电话随访无人接听",
];
const DEATH_CAUSES: &[&str] = &["脑卒中", "急性心肌梗死", "肺部感染", "恶性肿瘤", "心力衰竭"];

fn pick<'t>(rng: &mut StdRng, table: &[&'t str]) -> &'t str {
    table[rng.random_range(0..table.len())]
}

fn per_mille(rng: &mut StdRng, n: u32) -> bool {
    rng.random_range(0..1000) < n
}

/// A normally distributed draw (Box–Muller).
fn normal(rng: &mut StdRng, (mean, sd): (f64, f64)) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Codes of a choice or multi-choice item: the exclusive "none" option and
/// the plain ones (neither exclusive nor asking for a detail).
fn option_codes(def: &FormDef, id: &str) -> Option<(Option<String>, Vec<String>)> {
    let options = match &def.field(id)?.kind {
        FieldKind::Choice { options } | FieldKind::Multi { options, .. } => options,
        _ => return None,
    };
    let none = options.iter().find(|o| o.exclusive).map(|o| o.code.clone());
    let plain = options
        .iter()
        .filter(|o| !o.exclusive && !o.detail)
        .map(|o| o.code.clone())
        .collect();
    Some((none, plain))
}

/// What the generator needs to know of a programme's follow-up form, found
/// once (never per record).
pub(super) struct FollowupForm<'a> {
    pub def: &'a FormDef,
    pub source: &'a str,
    programme: Programme,
    /// A normal visit may go without the programme's measurement (a
    /// telephone call): only where the form does not require it.
    measurement_optional: bool,
    /// The form's danger-sign item, if it has one: its "none" code and the
    /// signs that need no detail.
    danger_signs: Option<(Option<String>, Vec<String>)>,
    symptoms: Option<(Option<String>, Vec<String>)>,
    /// The lost/dead status options ask for their reason as a detail.
    status_detail: bool,
}

impl<'a> FollowupForm<'a> {
    pub fn new(def: &'a FormDef, source: &'a str) -> Option<FollowupForm<'a>> {
        let programme = def.programme?;
        let measure = match programme {
            Programme::Hypertension => "bp",
            Programme::Diabetes => "fbg",
        };
        let measurement_optional = def
            .field(measure)
            .is_some_and(|f| !f.required && f.required_if.is_none());
        let status_detail = match def.field("visit_status").map(|f| &f.kind) {
            Some(FieldKind::Choice { options }) => options.iter().any(|o| o.code == "2" && o.detail),
            _ => false,
        };
        Some(FollowupForm {
            def,
            source,
            programme,
            measurement_optional,
            danger_signs: option_codes(def, "danger_signs"),
            symptoms: option_codes(def, "symptoms"),
            status_detail,
        })
    }
}

/// The health-examination form.
pub(super) struct ExamForm<'a> {
    pub def: &'a FormDef,
    pub source: &'a str,
}

/// How one programme member's story ends before `today`, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// Keeps coming.
    Stays,
    /// Stops coming from this date, without a word (the worklist finds them).
    Stops(NaiveDate),
    /// Recorded lost to follow-up at the first visit due from this date.
    Lost(NaiveDate),
    /// Dies on this date; recorded at the next visit due.
    Dies(NaiveDate),
}

/// A programme member (or an older adult due an exam) as the "doctor" knows them.
pub(super) struct Patient {
    pub birth: NaiveDate,
    pub male: bool,
    pub doctor: &'static str,
    height: f64,
    weight: f64,
    /// Usual systolic BP and fasting glucose, and their visit-to-visit spread.
    sbp: (f64, f64),
    fbg: (f64, f64),
    smoker: bool,
    hypertension: bool,
    diabetes: bool,
    hypertension_drugs: Vec<usize>,
    diabetes_drugs: Vec<usize>,
    pub fate: Fate,
}

impl Patient {
    pub fn new(
        rng: &mut StdRng,
        birth: NaiveDate,
        male: bool,
        doctor: &'static str,
        programmes: &[Programme],
        today: NaiveDate,
    ) -> Patient {
        let has = |p| programmes.contains(&p);
        let height = normal(rng, if male { (168.0, 6.0) } else { (157.0, 5.5) }).clamp(140.0, 190.0);
        let bmi = normal(rng, (24.5, 3.0)).clamp(17.5, 36.0);
        let weight = bmi * (height / 100.0).powi(2);
        let sbp = if has(Programme::Hypertension) {
            SBP[super::weighted(rng, &TENDENCY)]
        } else {
            SBP_NORMAL
        };
        let fbg = if has(Programme::Diabetes) {
            FBG[super::weighted(rng, &TENDENCY)]
        } else {
            FBG_NORMAL
        };
        let smoker = male && rng.random_bool(0.45) || rng.random_bool(0.03);
        let drugs = |rng: &mut StdRng, table: &[(&str, &str, &str)]| {
            let first = rng.random_range(0..table.len());
            let mut v = vec![first];
            if rng.random_bool(0.35) {
                v.push((first + 1 + rng.random_range(0..table.len() - 1)) % table.len());
            }
            v
        };
        let hypertension_drugs = drugs(rng, HYPERTENSION_DRUGS);
        let diabetes_drugs = drugs(rng, DIABETES_DRUGS);
        let age = age_on(birth, today).unwrap_or(0);
        let when = |rng: &mut StdRng| today - Duration::days(rng.random_range(0..HISTORY_DAYS - 60));
        let fate = if programmes.is_empty() {
            Fate::Stays
        } else {
            let dies = if age >= 75 { 25 } else { 6 };
            let n = rng.random_range(0..1000);
            if n < dies {
                Fate::Dies(when(rng))
            } else if n < dies + 20 {
                Fate::Lost(when(rng))
            } else if n < dies + 70 {
                Fate::Stops(when(rng))
            } else {
                Fate::Stays
            }
        };
        Patient {
            birth,
            male,
            doctor,
            height,
            weight,
            sbp,
            fbg,
            smoker,
            hypertension: has(Programme::Hypertension),
            diabetes: has(Programme::Diabetes),
            hypertension_drugs,
            diabetes_drugs,
            fate,
        }
    }

    /// Seen (alive and in touch) on this date.
    pub fn reachable(&self, d: NaiveDate) -> bool {
        match self.fate {
            Fate::Stays => true,
            Fate::Stops(from) | Fate::Lost(from) | Fate::Dies(from) => d < from,
        }
    }

    fn blood_pressure(&self, rng: &mut StdRng, shift: f64) -> (i32, i32) {
        let s = normal(rng, (self.sbp.0 + shift, self.sbp.1)).clamp(96.0, 178.0);
        let d = (s * 0.52 + normal(rng, (12.0, 5.0))).clamp(58.0, 108.0).min(s - 22.0);
        (s.round() as i32, d.round() as i32)
    }
}

/// Generates one programme's follow-ups for a patient up to `today`.
pub(super) fn followups<'a>(
    rng: &mut StdRng,
    form: &FollowupForm<'a>,
    patient: &Patient,
    ctx: &Context,
    today: NaiveDate,
    settings: &Settings,
) -> Vec<ImportRecord<'a>> {
    let mut records = Vec::new();
    let start = today - Duration::days(HISTORY_DAYS);
    // Most were under management before the window; some are new.
    let mut date = if rng.random_bool(0.08) {
        start + Duration::days(rng.random_range(60..HISTORY_DAYS - 20))
    } else {
        start + Duration::days(rng.random_range(0..80))
    };
    // A few have a complication found at a visit in the last fortnight, so
    // the worklist has referrals awaiting their 2-week follow-up.
    let recent_complication = per_mille(rng, 25);
    let mut previous: Option<Previous> = None;
    // Treatment stepped up after uncontrolled visits, fading over time.
    let mut shift = 0.0f64;
    let mut first = true;
    while date <= today {
        match patient.fate {
            Fate::Stops(from) if date >= from => break,
            Fate::Lost(from) | Fate::Dies(from) if date >= from => {
                let dead = matches!(patient.fate, Fate::Dies(_));
                records.push(ended(
                    rng,
                    form,
                    patient,
                    ctx,
                    date,
                    from,
                    dead,
                    previous.map(|p| p.date),
                ));
                break;
            }
            _ => {}
        }
        let complication =
            per_mille(rng, COMPLICATION_PER_MILLE) || recent_complication && (today - date).num_days() < 13;
        let seen = visit(
            rng,
            form,
            patient,
            ctx,
            date,
            previous.as_ref(),
            settings,
            shift,
            complication,
            first,
        );
        first = false;
        records.push(seen.record);
        previous = Some(seen.previous);
        // The doctor steps up the treatment after an uncontrolled visit, the
        // specialist more after a referral; adherence fades between.
        let (step, floor) = match (form.programme, seen.previous.referred) {
            (Programme::Hypertension, false) => (rng.random_range(3.0..6.0), -10.0),
            (Programme::Hypertension, true) => (rng.random_range(10.0..18.0), -22.0),
            (Programme::Diabetes, false) => (rng.random_range(0.3..0.6), -1.2),
            (Programme::Diabetes, true) => (rng.random_range(1.5..2.5), -3.0),
        };
        shift = if seen.previous.uncontrolled || seen.previous.referred {
            (shift - step).max(floor).min(shift)
        } else {
            shift * 0.85
        };
        // The next visit happens around its booked date.
        let booked = seen.next;
        let short = (booked - date).num_days() <= i64::from(settings.revisit_days);
        // Patients asked back within two weeks often come later than that.
        let n = rng.random_range(0..1000);
        let offset = if short {
            match n {
                0..450 => rng.random_range(-2..=1),
                450..750 => rng.random_range(3..=21),
                _ => rng.random_range(30..=80),
            }
        } else if n < 720 {
            rng.random_range(-2..=1)
        } else if n < 900 {
            rng.random_range(3..=21)
        } else if n < 900 + MISS_QUARTER_PER_MILLE {
            rng.random_range(80..=100)
        } else {
            rng.random_range(22..=45)
        };
        date = (booked + Duration::days(offset)).max(date + Duration::days(1));
    }
    records
}

struct Seen<'a> {
    record: ImportRecord<'a>,
    previous: Previous,
    next: NaiveDate,
}

#[allow(clippy::too_many_arguments)]
fn visit<'a>(
    rng: &mut StdRng,
    form: &FollowupForm<'a>,
    patient: &Patient,
    ctx: &Context,
    date: NaiveDate,
    previous: Option<&Previous>,
    settings: &Settings,
    shift: f64,
    complication: bool,
    first: bool,
) -> Seen<'a> {
    let def = form.def;
    let programme = form.programme;
    let age = age_on(patient.birth, date);
    let old = age.is_some_and(|a| a >= 75);
    let method = if first {
        Method::Clinic
    } else {
        match rng.random_range(0..100) {
            0..9 => Method::Phone,
            9..27 => Method::Home,
            27..37 if old => Method::Home,
            _ => Method::Clinic,
        }
    };
    let measured = !(method == Method::Phone && form.measurement_optional && rng.random_bool(0.5));
    let mut v = Visit {
        date: Some(date),
        method: Some(method),
        ..Visit::default()
    };
    // The measurements: BP on both forms, glucose on the diabetes one.
    let (bp_shift, fbg_shift) = match programme {
        Programme::Hypertension => (shift, 0.0),
        Programme::Diabetes => (0.0, shift),
    };
    let (mut sbp, mut dbp) = patient.blood_pressure(rng, bp_shift);
    let mut fbg = normal(rng, (patient.fbg.0 + fbg_shift, patient.fbg.1)).clamp(4.2, 16.0);
    let heart_rate = rng.random_range(60..=94);
    let mut sign = None;
    if per_mille(rng, EMERGENCY_PER_MILLE) {
        let signs = form.danger_signs.as_ref().map(|d| &d.1).filter(|s| !s.is_empty());
        match (programme, signs) {
            (_, Some(signs)) if rng.random_bool(0.3) => sign = Some(signs[rng.random_range(0..signs.len())].clone()),
            (Programme::Diabetes, _) if rng.random_bool(0.8) => {
                fbg = if rng.random_bool(0.75) {
                    rng.random_range(16.7..22.0)
                } else {
                    rng.random_range(2.8..3.8)
                };
            }
            _ => {
                sbp = rng.random_range(180..=205);
                dbp = rng.random_range(95..=118);
            }
        }
    }
    let fbg = (fbg * 10.0).round() / 10.0;
    if measured {
        v.systolic = Some(f64::from(sbp));
        v.diastolic = Some(f64::from(dbp));
    }
    if programme == Programme::Diabetes && measured {
        v.fbg = Some(fbg);
    }
    if def.field("heart_rate").is_some() {
        v.heart_rate = Some(f64::from(heart_rate));
    }
    v.adr = per_mille(rng, ADR_PER_MILLE);
    if let Some(s) = &sign {
        v.danger_signs = vec![s.clone()];
    }
    if complication {
        v.classification = Some(COMPLICATION);
    }
    let a = rules::assess(programme, age, &v, previous, settings);
    let classification = a.classification.unwrap_or(if previous.is_some_and(|p| p.uncontrolled) {
        UNCONTROLLED
    } else {
        rules::CONTROLLED
    });
    let referred = a.referral.is_some();
    let short = referred || a.next_step.is_some_and(|s| s != STEP_ROUTINE);
    let by = a.next_visit_by.unwrap_or_else(|| {
        date + Duration::days(i64::from(if short {
            settings.revisit_days
        } else {
            settings.routine_interval_days
        }))
    });
    // Booked on the latest date or a few days before it.
    let early = if rng.random_bool(0.55) {
        0
    } else if short {
        rng.random_range(1..=3)
    } else {
        rng.random_range(1..=10)
    };
    let next = (by - Duration::days(early)).max(date + Duration::days(1));

    let mut ans = Answers::new();
    let set = |ans: &mut Answers, path: &str, value: &str| set_if_field(def, ans, path, value);
    set(&mut ans, "visit_date", &day(date));
    set(&mut ans, "visit_method", method.code());
    set(&mut ans, "visit_status", VisitStatus::Normal.code());
    if let Some((none, plain)) = &form.symptoms {
        let code = if classification != rules::CONTROLLED && !plain.is_empty() && rng.random_bool(0.3) {
            Some(plain[rng.random_range(0..plain.len())].clone())
        } else {
            none.clone()
        };
        if let Some(c) = code {
            ans.set_codes("symptoms", vec![c]);
        }
    }
    if let Some((none, _)) = &form.danger_signs {
        match (&sign, none) {
            (Some(s), _) => ans.set_codes("danger_signs", vec![s.clone()]),
            (None, Some(n)) => ans.set_codes("danger_signs", vec![n.clone()]),
            (None, None) => {}
        }
    }
    if let (Some(s), Some(d)) = (v.systolic, v.diastolic) {
        set(&mut ans, "bp.systolic", &format!("{s:.0}"));
        set(&mut ans, "bp.diastolic", &format!("{d:.0}"));
    }
    if let Some(g) = v.fbg {
        set(&mut ans, "fbg", &format!("{g:.1}"));
    }
    if method.face_to_face() {
        let w = patient.weight + normal(rng, (0.0, 0.6));
        let bmi = w / (patient.height / 100.0).powi(2);
        set(&mut ans, "weight.current", &format!("{w:.1}"));
        set(
            &mut ans,
            "weight.target",
            &format!("{:.1}", if bmi >= 24.0 { w - 3.0 } else { w }),
        );
        set(&mut ans, "height", &format!("{:.1}", patient.height));
        if let Some(hr) = v.heart_rate {
            set(&mut ans, "heart_rate", &format!("{hr:.0}"));
        }
    }
    let cigarettes = if patient.smoker { rng.random_range(5..=20) } else { 0 };
    set(&mut ans, "cigarettes.current", &cigarettes.to_string());
    set(&mut ans, "cigarettes.target", "0");
    let adherence = match rng.random_range(0..100) {
        0..85 => "1",
        85..97 => "2",
        _ => "3",
    };
    set(&mut ans, "adherence", adherence);
    if adherence != "3" {
        let (table, drugs) = match programme {
            Programme::Hypertension => (HYPERTENSION_DRUGS, &patient.hypertension_drugs),
            Programme::Diabetes => (DIABETES_DRUGS, &patient.diabetes_drugs),
        };
        for (i, d) in drugs.iter().enumerate() {
            let (name, times, dose) = table[*d];
            set(&mut ans, &format!("meds.{i}.name"), name);
            set(&mut ans, &format!("meds.{i}.times_per_day"), times);
            set(&mut ans, &format!("meds.{i}.dose"), dose);
        }
    }
    if v.adr {
        set(&mut ans, "adr", "2");
        let table = match programme {
            Programme::Hypertension => HYPERTENSION_ADR,
            Programme::Diabetes => DIABETES_ADR,
        };
        set(&mut ans, "adr.detail", pick(rng, table));
    } else {
        set(&mut ans, "adr", "1");
    }
    set(&mut ans, "classification", &classification.to_string());
    set(&mut ans, "next_step", &a.next_step.unwrap_or(STEP_ROUTINE).to_string());
    if let Some(why) = a.referral {
        set(&mut ans, "referred", "2");
        let reason = match (why, programme) {
            (Referral::Emergency, _) if sign.is_some() => "出现危急情况，处理后紧急转诊".to_string(),
            (Referral::Emergency, Programme::Diabetes) if v.fbg.is_some_and(|g| g >= 16.7) => {
                format!("空腹血糖{fbg:.1}mmol/L，处理后紧急转诊")
            }
            (Referral::Emergency, Programme::Diabetes) if v.fbg.is_some_and(|g| g <= 3.9) => {
                format!("低血糖（{fbg:.1}mmol/L），处理后紧急转诊")
            }
            (Referral::Emergency, _) => format!("血压{sbp}/{dbp}mmHg，处理后紧急转诊"),
            (Referral::Complication, Programme::Hypertension) => pick(rng, HYPERTENSION_COMPLICATIONS).to_string(),
            (Referral::Complication, Programme::Diabetes) => pick(rng, DIABETES_COMPLICATIONS).to_string(),
            (Referral::TwiceUncontrolled, Programme::Hypertension) => "连续两次随访血压控制不满意".to_string(),
            (Referral::TwiceUncontrolled, Programme::Diabetes) => "连续两次随访血糖控制不满意".to_string(),
        };
        set(&mut ans, "referral_reason", &reason);
        let orgs = match programme {
            Programme::Hypertension => HYPERTENSION_ORGS,
            Programme::Diabetes => DIABETES_ORGS,
        };
        set(&mut ans, "referral_org", pick(rng, orgs));
    } else {
        set(&mut ans, "referred", "1");
    }
    set(&mut ans, "next_visit_date", &day(next));
    set(&mut ans, "doctor", patient.doctor);
    complete_required(def, &mut ans, ctx, date, rng);
    let uncontrolled = a.controlled == Some(false) || (a.controlled.is_none() && classification == UNCONTROLLED);
    Seen {
        record: ImportRecord {
            def,
            source: form.source,
            answers: ans,
            record_date: day(date),
            author: patient.doctor.into(),
        },
        previous: Previous {
            date,
            uncontrolled,
            referred,
        },
        next,
    }
}

/// The visit that records a patient lost to follow-up or dead.
#[allow(clippy::too_many_arguments)]
fn ended<'a>(
    rng: &mut StdRng,
    form: &FollowupForm<'a>,
    patient: &Patient,
    ctx: &Context,
    date: NaiveDate,
    from: NaiveDate,
    dead: bool,
    last_seen: Option<NaiveDate>,
) -> ImportRecord<'a> {
    let def = form.def;
    let mut ans = Answers::new();
    let set = |ans: &mut Answers, path: &str, value: &str| set_if_field(def, ans, path, value);
    set(&mut ans, "visit_date", &day(date));
    // The family is asked at home or on the telephone.
    set(&mut ans, "visit_method", if rng.random_bool(0.6) { "3" } else { "2" });
    let (status, reason) = if dead {
        (VisitStatus::Dead, pick(rng, DEATH_CAUSES))
    } else {
        (VisitStatus::Lost, pick(rng, LOST_REASONS))
    };
    set(&mut ans, "visit_status", status.code());
    let reason_at = if form.status_detail {
        "visit_status.detail"
    } else {
        "remarks"
    };
    set(&mut ans, reason_at, reason);
    if dead {
        let died = from.max(last_seen.map_or(from, |d| d + Duration::days(1))).min(date);
        set(&mut ans, "death_date", &day(died));
    }
    set(&mut ans, "doctor", patient.doctor);
    // A form that still asks for items a lost or dead patient cannot give
    // gets the filler's values; the rules ignore them for such a visit.
    complete_required(def, &mut ans, ctx, date, rng);
    ImportRecord {
        def,
        source: form.source,
        answers: ans,
        record_date: day(date),
        author: patient.doctor.into(),
    }
}

/// Health examinations last year and this year, for a programme member or
/// an older adult: most years, and not yet for everyone this year.
pub(super) fn exams<'a>(
    rng: &mut StdRng,
    form: &ExamForm<'a>,
    patient: &Patient,
    member: bool,
    ctx: &Context,
    today: NaiveDate,
) -> Vec<ImportRecord<'a>> {
    let mut out = Vec::new();
    for year in [today.year() - 1, today.year()] {
        let Some(jan1) = NaiveDate::from_ymd_opt(year, 1, 1) else {
            continue;
        };
        let date = jan1 + Duration::days(rng.random_range(0..365));
        let done = rng.random_bool(0.85);
        let eligible = member || age_on(patient.birth, date).is_some_and(|a| a >= 65);
        if !done || !eligible || date > today || !patient.reachable(date) {
            continue;
        }
        out.push(exam(rng, form, patient, ctx, date));
    }
    out
}

fn exam<'a>(
    rng: &mut StdRng,
    form: &ExamForm<'a>,
    patient: &Patient,
    ctx: &Context,
    date: NaiveDate,
) -> ImportRecord<'a> {
    let def = form.def;
    let mut ans = Answers::new();
    let set = |ans: &mut Answers, path: &str, value: &str| set_if_field(def, ans, path, value);
    set(&mut ans, "exam_date", &day(date));
    set(&mut ans, "doctor", patient.doctor);
    set(&mut ans, "temperature", &format!("{:.1}", rng.random_range(36.0..37.2)));
    set(&mut ans, "pulse_rate", &rng.random_range(62..=92).to_string());
    set(&mut ans, "respiratory_rate", &rng.random_range(16..=20).to_string());
    let (s, d) = patient.blood_pressure(rng, 0.0);
    set(&mut ans, "bp_left.systolic", &s.to_string());
    set(&mut ans, "bp_left.diastolic", &d.to_string());
    let w = patient.weight + normal(rng, (0.0, 0.8));
    set(&mut ans, "height", &format!("{:.1}", patient.height));
    set(&mut ans, "weight", &format!("{w:.1}"));
    let waist = 0.75 * w + if patient.male { 36.0 } else { 33.0 } + normal(rng, (0.0, 3.0));
    set(&mut ans, "waist", &format!("{waist:.1}"));
    let g = normal(rng, patient.fbg).clamp(4.0, 15.0);
    set(&mut ans, "fbg", &format!("{g:.1}"));
    set(&mut ans, "fbg_unit", "1");
    let abnormal: Vec<&str> = [
        (patient.hypertension, "高血压"),
        (patient.diabetes, "2型糖尿病"),
        (!patient.diabetes && g >= 7.0, "空腹血糖升高"),
        (!patient.hypertension && (s >= 140 || d >= 90), "血压偏高"),
    ]
    .into_iter()
    .filter_map(|(on, what)| on.then_some(what))
    .take(2)
    .collect();
    if abnormal.is_empty() {
        set(&mut ans, "health_evaluation", "1");
    } else {
        set(&mut ans, "health_evaluation", "2");
        for (i, what) in abnormal.iter().enumerate() {
            set(&mut ans, &format!("abnormality_{}", i + 1), what);
        }
    }
    complete_required(def, &mut ans, ctx, date, rng);
    ImportRecord {
        def,
        source: form.source,
        answers: ans,
        record_date: day(date),
        author: patient.doctor.into(),
    }
}
