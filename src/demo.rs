//! Realistic synthetic residents for demos and benchmarks: surnames by their
//! real frequency (with the polyphonic ones search must handle), valid ID
//! numbers within the site's division, households sharing an address, ages
//! 0–100, and hypertension and diabetes near their real prevalence with
//! follow-ups. Nothing here describes a real person.

use crate::form::def::{FieldKind, FormDef, Role};
use crate::form::rules::{evaluate, Context};
use crate::form::{Answers, Registry};
use crate::identity::check_char;
use crate::store::bulk::{ImportRecord, ImportResident};
use crate::store::{Actor, ResidentFields, SiteConfig, Store, StoreError};
use chrono::{Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Surnames with their approximate share (per mille) among Chinese people.
const SURNAMES: &[(&str, u32)] = &[
    ("王", 71), ("李", 70), ("张", 67), ("刘", 54), ("陈", 45), ("杨", 31), ("黄", 22), ("赵", 22), ("吴", 20),
    ("周", 19), ("徐", 15), ("孙", 15), ("马", 14), ("朱", 13), ("胡", 13), ("郭", 11), ("何", 11), ("高", 11),
    ("林", 10), ("罗", 9), ("郑", 9), ("梁", 8), ("谢", 8), ("宋", 7), ("唐", 7), ("许", 7), ("韩", 7), ("冯", 7),
    ("邓", 7), ("曹", 6), ("彭", 6), ("曾", 6), ("肖", 6), ("田", 6), ("董", 5), ("袁", 5), ("潘", 5), ("于", 5),
    ("蒋", 5), ("蔡", 5), ("余", 5), ("杜", 5), ("叶", 4), ("程", 4), ("苏", 4), ("魏", 4), ("吕", 4), ("丁", 4),
    ("任", 4), ("沈", 4), ("姚", 4), ("卢", 4), ("姜", 4), ("崔", 4), ("钟", 4), ("谭", 3), ("陆", 3), ("汪", 3),
    ("范", 3), ("金", 3), ("石", 3), ("廖", 3), ("贾", 3), ("夏", 3), ("韦", 3), ("付", 3), ("方", 3), ("白", 3),
    ("单", 1), ("解", 1), ("仇", 1), ("朴", 1), ("区", 1), ("查", 1), ("盖", 1), ("乐", 1), ("覃", 1), ("缪", 1),
    ("尉迟", 1), ("欧阳", 1), ("上官", 1), ("司马", 1),
];
const MALE_CHARS: &str = "伟强军勇杰磊涛明超刚平辉建国志华文斌波宇浩凯健俊峰鹏飞林德福贵荣海山";
const FEMALE_CHARS: &str = "芳娜敏静丽艳娟霞秀英慧玲桂兰红梅燕琳雪萍婷颖洁琴云莲凤珍翠玉春花";
const VILLAGES: &[&str] = &["东山村", "西河村", "南岭村", "北坡村", "前进村", "红旗村", "杨柳村", "石桥村", "新民村", "和平村"];
const STREETS: &[&str] = &["一组", "二组", "三组", "四组", "五组", "六组"];

pub struct DemoReport {
    pub residents: u32,
    pub records: u32,
}

pub const DEMO_SITE: (&str, &str, &str, &str) = ("220602", "101", "101", "江源区示范村卫生室");

fn pick_surname(rng: &mut StdRng) -> &'static str {
    let total: u32 = SURNAMES.iter().map(|s| s.1).sum();
    let mut n = rng.random_range(0..total);
    for (s, w) in SURNAMES {
        if n < *w {
            return s;
        }
        n -= w;
    }
    "王"
}

fn given_name(rng: &mut StdRng, male: bool) -> String {
    let pool: Vec<char> = if male { MALE_CHARS.chars().collect() } else { FEMALE_CHARS.chars().collect() };
    let len = if rng.random_bool(0.3) { 1 } else { 2 };
    (0..len).map(|_| pool[rng.random_range(0..pool.len())]).collect()
}

/// A valid 18-digit ID number for the division, birth date and sex.
pub fn id_number(division: &str, birth: NaiveDate, male: bool, rng: &mut StdRng) -> String {
    let seq = rng.random_range(0..50u32) * 2 + rng.random_range(0..10u32) * 100 + u32::from(male);
    let first17 = format!("{division}{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    format!("{first17}{}", check_char(&first17))
}

fn phone(rng: &mut StdRng) -> String {
    let prefixes = ["138", "139", "150", "151", "186", "187", "135", "137", "158", "189"];
    format!("{}{:08}", prefixes[rng.random_range(0..prefixes.len())], rng.random_range(0..100_000_000u32))
}

/// Fills every visible required input still empty with a plausible value, so
/// demo records are complete the way a careful doctor's would be.
pub fn complete_required(def: &FormDef, answers: &mut Answers, ctx: &Context, date: NaiveDate, rng: &mut StdRng) {
    for _round in 0..3 {
        let eval = evaluate(def, answers, ctx);
        for (_, f) in def.fields() {
            if !eval.is_visible(&f.id) {
                continue;
            }
            let required = f.required || f.required_if.is_some() && eval.at(&f.id).next().is_some();
            if !required {
                continue;
            }
            fill(&f.kind, &f.id, answers, date, rng);
        }
    }
}

fn number_in(limits: &crate::form::def::Limits, precision: u8, rng: &mut StdRng) -> String {
    let (lo, hi) = limits.plausible.or(limits.range).unwrap_or((1.0, 10.0));
    let v = lo + (hi - lo) * rng.random_range(0.3..0.6);
    format!("{:.*}", usize::from(precision), v)
}

fn fill(kind: &FieldKind, path: &str, answers: &mut Answers, date: NaiveDate, rng: &mut StdRng) {
    if answers.is_answered(path) {
        return;
    }
    match kind {
        FieldKind::Text { .. } => answers.set_text(path, "—"),
        FieldKind::Integer(s) => answers.set_text(path, &number_in(&s.limits, 0, rng)),
        FieldKind::Decimal(s) => answers.set_text(path, &number_in(&s.limits, s.precision, rng)),
        FieldKind::Date { .. } => answers.set_text(path, &date.format("%Y-%m-%d").to_string()),
        FieldKind::Choice { options } => {
            if let Some(o) = options.iter().find(|o| !o.detail) {
                answers.set_text(path, &o.code);
            }
        }
        FieldKind::Multi { options, .. } => {
            if let Some(o) = options.iter().find(|o| !o.detail) {
                answers.set_codes(path, vec![o.code.clone()]);
            }
        }
        FieldKind::Pair { of } => fill(of, &format!("{path}.current"), answers, date, rng),
        FieldKind::BloodPressure { .. } => {
            answers.set_text(&format!("{path}.systolic"), &rng.random_range(110..150).to_string());
            answers.set_text(&format!("{path}.diastolic"), &rng.random_range(65..92).to_string());
        }
        FieldKind::Rows { columns, .. } => {
            for c in columns {
                fill(&c.kind, &format!("{path}.0.{}", c.id), answers, date, rng);
            }
        }
        FieldKind::IdNumber | FieldKind::Phone | FieldKind::Calculated { .. } => {}
    }
}

fn set_if_field(def: &FormDef, answers: &mut Answers, path: &str, value: &str) {
    let field = path.split('.').next().unwrap_or(path);
    if def.field(field).is_some() {
        answers.set_text(path, value);
    }
}

fn followup(def: &FormDef, ctx: &Context, date: NaiveDate, doctor: &str, rng: &mut StdRng) -> Answers {
    let mut a = Answers::new();
    let d = date.format("%Y-%m-%d").to_string();
    set_if_field(def, &mut a, "visit_date", &d);
    set_if_field(def, &mut a, "visit_method", ["1", "1", "2", "3"][rng.random_range(0..4)]);
    a.set_codes("symptoms", vec!["1".into()]);
    let sbp = rng.random_range(118..172);
    set_if_field(def, &mut a, "bp.systolic", &sbp.to_string());
    set_if_field(def, &mut a, "bp.diastolic", &rng.random_range(70..(sbp - 30).min(105)).to_string());
    let w = rng.random_range(48.0..88.0f64);
    set_if_field(def, &mut a, "weight.current", &format!("{w:.1}"));
    set_if_field(def, &mut a, "weight.target", &format!("{:.1}", w - 2.0));
    set_if_field(def, &mut a, "height", &format!("{:.1}", rng.random_range(150.0..180.0f64)));
    set_if_field(def, &mut a, "heart_rate", &rng.random_range(60..96).to_string());
    set_if_field(def, &mut a, "fbg", &format!("{:.1}", rng.random_range(5.0..11.0f64)));
    set_if_field(def, &mut a, "classification", if sbp < 140 { "1" } else { "2" });
    set_if_field(def, &mut a, "doctor", doctor);
    set_if_field(def, &mut a, "next_visit_date", &(date + Duration::days(if sbp < 140 { 90 } else { 14 })).format("%Y-%m-%d").to_string());
    complete_required(def, &mut a, ctx, date, rng);
    a
}

pub fn generate(
    store: &mut Store,
    registry: &Registry,
    actor: &Actor,
    count: u32,
    seed: u64,
    progress: &mut dyn FnMut(u32, u32),
) -> Result<DemoReport, StoreError> {
    let site = match store.site()? {
        Some(s) => s,
        None => {
            let (division, township, village, name) = DEMO_SITE;
            let s = SiteConfig { division: division.into(), township: township.into(), village: village.into(), name: name.into() };
            store.set_site(&s)?;
            s
        }
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let today = chrono::Local::now().date_naive();
    let registration = registry.registration();
    let hypertension = registry.all().find(|d| d.programme == Some(crate::form::def::Programme::Hypertension));
    let diabetes = registry.all().find(|d| d.programme == Some(crate::form::def::Programme::Diabetes));
    let source = |d: &FormDef| registry.source(&d.id).unwrap_or_default();
    let doctors = ["李医生", "王医生", "张医生"];
    let mut records = 0u32;
    let mut done = 0u32;
    let mut household: Option<(String, String)> = None;
    while done < count {
        let batch_size = (count - done).min(1000);
        let mut batch = Vec::with_capacity(batch_size as usize);
        for _ in 0..batch_size {
            let male = rng.random_bool(0.5);
            let age_days = rng.random_range(0..(100 * 365));
            let birth = today - Duration::days(age_days);
            let age = crate::identity::age_on(birth, today).unwrap_or(0);
            let name = format!("{}{}", pick_surname(&mut rng), given_name(&mut rng, male));
            // Two to four people share a household address.
            let (village, address) = match &household {
                Some(h) if rng.random_bool(0.6) => h.clone(),
                _ => {
                    let v = VILLAGES[rng.random_range(0..VILLAGES.len())].to_string();
                    let a = format!("{v}{}{}号", STREETS[rng.random_range(0..STREETS.len())], rng.random_range(1..120));
                    household = Some((v.clone(), a.clone()));
                    (v, a)
                }
            };
            let fields = ResidentFields {
                name: Some(name.clone()),
                sex: Some(if male { "1" } else { "2" }.into()),
                birth_date: Some(birth.format("%Y-%m-%d").to_string()),
                id_number: Some(id_number(&site.division, birth, male, &mut rng)),
                phone: (age >= 16).then(|| phone(&mut rng)),
                address: Some(address.clone()),
                village: Some(village.clone()),
            };
            let ctx = Context { today, sex: fields.sex.clone(), birth_date: Some(birth) };
            let doctor = doctors[rng.random_range(0..doctors.len())];
            let mut item = ImportResident { fields, programmes: Vec::new(), records: Vec::new() };
            if let Some(def) = registration.filter(|d| d.role == Role::Registration) {
                let created = today - Duration::days(rng.random_range(30..1500));
                let mut a = Answers::new();
                let b = &def.resident;
                let f = &item.fields;
                for (slot, value) in [(&b.name, &f.name), (&b.sex, &f.sex), (&b.birth_date, &f.birth_date), (&b.id_number, &f.id_number), (&b.phone, &f.phone), (&b.address, &f.address), (&b.village, &f.village)] {
                    if let (Some(path), Some(v)) = (slot, value) {
                        a.set_text(path, v);
                    }
                }
                if let Some(df) = &def.date_field {
                    a.set_text(df, &created.format("%Y-%m-%d").to_string());
                }
                complete_required(def, &mut a, &ctx, created, &mut rng);
                item.records.push(ImportRecord { def, source: source(def), answers: a, record_date: created.format("%Y-%m-%d").to_string(), author: doctor.into() });
            }
            // Prevalence among adults ≥35 in rural China: hypertension ~30 %, diabetes ~10 %.
            for (def, share, key) in [(hypertension, 0.30, "hypertension"), (diabetes, 0.10, "diabetes")] {
                let Some(def) = def else { continue };
                if age < 35 || !rng.random_bool(share) {
                    continue;
                }
                item.programmes.push(key);
                let visits = rng.random_range(1..=4);
                for v in 0..visits {
                    let date = today - Duration::days(30 + 90 * v + rng.random_range(0..20));
                    let answers = followup(def, &ctx, date, doctor, &mut rng);
                    item.records.push(ImportRecord { def, source: source(def), answers, record_date: date.format("%Y-%m-%d").to_string(), author: doctor.into() });
                }
            }
            records += item.records.len() as u32;
            batch.push(item);
        }
        store.import_batch(actor, &site, &batch)?;
        done += batch_size;
        progress(done, count);
    }
    Ok(DemoReport { residents: count, records })
}
