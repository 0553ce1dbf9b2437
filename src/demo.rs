//! Realistic synthetic residents for demos and benchmarks: surnames by their
//! real frequency (with the polyphonic ones search must handle), valid ID
//! numbers within the site's division, households sharing an address, ages
//! 0–100, and hypertension and diabetes near their real prevalence with
//! fifteen months of follow-ups that follow the management rules, and annual
//! health exams (see `history`). Nothing here describes a real person.

use crate::form::def::{FormDef, Programme, Role};
use crate::form::rules::Context;
use crate::form::{Answers, Registry};
use crate::store::bulk::{ImportRecord, ImportResident};
use crate::store::{Actor, ResidentFields, SiteConfig, Store, StoreError};
use chrono::{Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;

mod answers;
mod history;
mod people;

pub use answers::complete_required;
use answers::set_if_field;
pub use people::id_number;
use people::{phone, pick_surname, villages, DOCTORS, FEMALE_CHARS, MALE_CHARS, STREETS};

use history::{ExamForm, FollowupForm, Patient};

pub struct DemoReport {
    pub residents: u32,
    pub records: u32,
}

pub const DEMO_SITE: (&str, &str, &str, &str) = ("220602", "101", "101", "江源区示范村卫生室");

/// Share (per mille) of the population in each five-year age band from 0–4
/// to 95–99: a rural county after decades of out-migration, with fewer
/// young adults and many people in their fifties (7th census shape).
const AGE_BANDS: [u32; 20] = [
    55, 65, 63, 52, 45, 50, 60, 58, 56, 73, 86, 76, 59, 63, 46, 30, 20, 10, 4, 1,
];

/// Diagnosed prevalence by age (35–44, 45–54, 55–64, 65–74, 75+), per mille:
/// hypertension from the China Hypertension Survey 2012–2015, type 2
/// diabetes from the 2018 national survey. Both programmes take residents
/// aged 35 and over.
const HYPERTENSION: [u32; 5] = [130, 250, 380, 500, 550];
const DIABETES: [u32; 5] = [70, 110, 160, 190, 190];

/// Household sizes 1–6 (per mille); the rural mean is about three.
const HOUSEHOLD_SIZES: [u32; 6] = [150, 300, 250, 180, 80, 40];

/// Residents registered a second time (another clinic, a lost card, no ID
/// at hand), per 100 000: what `jkda residents duplicates` exists to find.
const REREGISTERED_PER_100K: u32 = 100;

/// Residents generated and written per transaction (at most a village).
const BATCH: u32 = 2000;

fn weighted(rng: &mut StdRng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut n = rng.random_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if n < *w {
            return i;
        }
        n -= w;
    }
    weights.len() - 1
}

fn prevalence_band(age: u32) -> Option<usize> {
    match age {
        0..=34 => None,
        35..=44 => Some(0),
        45..=54 => Some(1),
        55..=64 => Some(2),
        65..=74 => Some(3),
        _ => Some(4),
    }
}

/// A text progress bar for the command line: `[#####-----]  50%`.
pub fn progress_bar(done: u32, total: u32, width: usize) -> String {
    let frac = if total == 0 {
        1.0
    } else {
        f64::from(done.min(total)) / f64::from(total)
    };
    let filled = ((frac * width as f64).round() as usize).min(width);
    format!(
        "[{}{}] {:>3}%",
        "#".repeat(filled),
        "-".repeat(width - filled),
        (frac * 100.0).floor() as u32
    )
}

struct Household {
    surname: &'static str,
    village: String,
    address: String,
    phone: Option<String>,
    left: usize,
}

/// Makes residents one after another from one seeded generator, so the same
/// seed gives the same people however the writing is scheduled.
struct Generator<'a> {
    rng: StdRng,
    /// The village residents are being made for now.
    village: String,
    today: NaiveDate,
    division: String,
    registration: Option<&'a FormDef>,
    hypertension: Option<FollowupForm<'a>>,
    diabetes: Option<FollowupForm<'a>>,
    exam: Option<ExamForm<'a>>,
    /// The management rules the histories follow (the store's own).
    settings: crate::manage::Settings,
    registry: &'a Registry,
    household: Option<Household>,
    used_ids: HashSet<String>,
    used_phones: HashSet<String>,
    male_chars: Vec<char>,
    female_chars: Vec<char>,
}

impl<'a> Generator<'a> {
    fn unique_id(&mut self, birth: NaiveDate, male: bool) -> String {
        loop {
            let id = id_number(&self.division, birth, male, &mut self.rng);
            if self.used_ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn unique_phone(&mut self) -> String {
        loop {
            let p = phone(&mut self.rng);
            if self.used_phones.insert(p.clone()) {
                return p;
            }
        }
    }

    fn given_name(&mut self, male: bool) -> String {
        let pool = if male { &self.male_chars } else { &self.female_chars };
        let len = if self.rng.random_bool(0.3) { 1 } else { 2 };
        (0..len).map(|_| pool[self.rng.random_range(0..pool.len())]).collect()
    }

    fn birth_date(&mut self) -> NaiveDate {
        let band = weighted(&mut self.rng, &AGE_BANDS) as i64;
        let days = band * 5 * 365 + self.rng.random_range(0..5 * 365);
        self.today - Duration::days(days)
    }

    /// The household the next resident lives in: the current one while it
    /// has room, else a new one with its own address.
    fn household(&mut self) -> &mut Household {
        if self
            .household
            .as_ref()
            .is_none_or(|h| h.left == 0 || h.village != self.village)
        {
            let village = self.village.clone();
            let address = format!(
                "{village}{}{}号",
                STREETS[self.rng.random_range(0..STREETS.len())],
                self.rng.random_range(1..120)
            );
            let size = weighted(&mut self.rng, &HOUSEHOLD_SIZES) + 1;
            let surname = pick_surname(&mut self.rng);
            self.household = Some(Household {
                surname,
                village,
                address,
                phone: None,
                left: size,
            });
        }
        let h = self.household.as_mut().expect("set above");
        h.left -= 1;
        h
    }

    fn resident(&mut self) -> ImportResident<'a> {
        let male = self.rng.random_bool(0.5);
        let birth = self.birth_date();
        let today = self.today;
        let age = crate::identity::age_on(birth, today).unwrap_or(0);
        let own_phone = age >= 16 && self.rng.random_bool(if age >= 70 { 0.5 } else { 0.95 });
        let phone = own_phone.then(|| self.unique_phone());
        let id = self.unique_id(birth, male);
        let given = self.given_name(male);
        let spouse_surname = pick_surname(&mut self.rng);
        let share_surname = self.rng.random_bool(0.65);
        let h = self.household();
        // Children and parents of the head share the surname; spouses keep theirs.
        let surname = if share_surname { h.surname } else { spouse_surname };
        // Older people without a phone of their own give the household's.
        let phone = match phone {
            Some(p) => {
                h.phone.get_or_insert_with(|| p.clone());
                Some(p)
            }
            None if age >= 16 => h.phone.clone(),
            None => None,
        };
        let fields = ResidentFields {
            name: Some(format!("{surname}{given}")),
            sex: Some(if male { "1" } else { "2" }.into()),
            birth_date: Some(birth.format("%Y-%m-%d").to_string()),
            id_number: Some(id),
            phone,
            address: Some(h.address.clone()),
            village: Some(h.village.clone()),
        };
        let ctx = Context {
            today,
            sex: fields.sex.clone(),
            birth_date: Some(birth),
        };
        let doctor = DOCTORS[self.rng.random_range(0..DOCTORS.len())];
        let mut item = ImportResident {
            fields,
            programmes: Vec::new(),
            records: Vec::new(),
        };
        let mut programmes = Vec::new();
        if let Some(band) = prevalence_band(age) {
            for (has_form, per_mille, p) in [
                (self.hypertension.is_some(), HYPERTENSION[band], Programme::Hypertension),
                (self.diabetes.is_some(), DIABETES[band], Programme::Diabetes),
            ] {
                if has_form && self.rng.random_range(0..1000) < per_mille {
                    programmes.push(p);
                }
            }
        }
        // Programme members and older adults have a history with the clinic.
        let exams_due = self.exam.is_some() && age >= 64;
        if !programmes.is_empty() || exams_due {
            let patient = Patient::new(&mut self.rng, birth, male, doctor, &programmes, today);
            for p in &programmes {
                let form = match p {
                    Programme::Hypertension => self.hypertension.as_ref(),
                    Programme::Diabetes => self.diabetes.as_ref(),
                };
                let Some(form) = form else { continue };
                item.programmes.push(p.key());
                item.records.extend(history::followups(
                    &mut self.rng,
                    form,
                    &patient,
                    &ctx,
                    today,
                    &self.settings,
                ));
            }
            if let Some(exam) = &self.exam {
                let member = !programmes.is_empty();
                item.records
                    .extend(history::exams(&mut self.rng, exam, &patient, member, &ctx, today));
            }
        }
        // Registered before anything else was recorded.
        let first = item.records.iter().map(|r| r.record_date.as_str()).min();
        let first = first.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        self.registration_record(&mut item, &ctx, doctor, first);
        item
    }

    /// The registration, made on a day before `not_after` (the resident's
    /// first other record), if any.
    fn registration_record(
        &mut self,
        item: &mut ImportResident<'a>,
        ctx: &Context,
        doctor: &str,
        not_after: Option<NaiveDate>,
    ) {
        let Some(def) = self.registration.filter(|d| d.role == Role::Registration) else {
            return;
        };
        let mut created = self.today - Duration::days(self.rng.random_range(30..1500));
        if let Some(first) = not_after.filter(|f| *f < created) {
            created = first - Duration::days(self.rng.random_range(0..60));
        }
        let mut a = Answers::new();
        let b = &def.resident;
        let f = &item.fields;
        for (slot, value) in [
            (&b.name, &f.name),
            (&b.sex, &f.sex),
            (&b.birth_date, &f.birth_date),
            (&b.id_number, &f.id_number),
            (&b.phone, &f.phone),
            (&b.address, &f.address),
            (&b.village, &f.village),
        ] {
            if let (Some(path), Some(v)) = (slot, value) {
                a.set_text(path, v);
            }
        }
        if let Some(df) = &def.date_field {
            a.set_text(df, &created.format("%Y-%m-%d").to_string());
        }
        complete_required(def, &mut a, ctx, created, &mut self.rng);
        item.records.insert(
            0,
            ImportRecord {
                def,
                source: self.registry.source(&def.id).unwrap_or_default(),
                answers: a,
                record_date: created.format("%Y-%m-%d").to_string(),
                author: doctor.into(),
            },
        );
    }

    /// The same person registered again without their ID card: same name,
    /// birth date, phone and village, no ID number, registration form only.
    fn reregistration(&mut self, of: &ImportResident<'a>) -> ImportResident<'a> {
        let fields = ResidentFields {
            id_number: None,
            ..of.fields.clone()
        };
        let birth = fields
            .birth_date
            .as_deref()
            .and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok());
        let ctx = Context {
            today: self.today,
            sex: fields.sex.clone(),
            birth_date: birth,
        };
        let mut item = ImportResident {
            fields,
            programmes: Vec::new(),
            records: Vec::new(),
        };
        self.registration_record(&mut item, &ctx, DOCTORS[0], None);
        item
    }

    fn batch(&mut self, n: u32) -> Vec<ImportResident<'a>> {
        let n = n as usize;
        let mut batch: Vec<ImportResident<'a>> = Vec::with_capacity(n);
        while batch.len() < n {
            let item = self.resident();
            let again = batch.len() + 1 < n && self.rng.random_range(0..100_000) < REREGISTERED_PER_100K;
            let copy = again.then(|| self.reregistration(&item));
            batch.push(item);
            batch.extend(copy);
        }
        batch
    }
}

/// Fills the store with `count` synthetic residents as of `today` (the
/// caller's clock: ages, histories and the worklist are relative to it).
/// Generation runs on a second thread while this one writes, so both cores
/// of a clinic PC work.
pub fn generate(
    store: &mut Store,
    registry: &Registry,
    actor: &Actor,
    count: u32,
    seed: u64,
    today: NaiveDate,
    progress: &mut dyn FnMut(u32, u32),
) -> Result<DemoReport, StoreError> {
    let site = match store.site()? {
        Some(s) => s,
        None => {
            let (division, township, village, name) = DEMO_SITE;
            let s = SiteConfig {
                division: division.into(),
                township: township.into(),
                village: village.into(),
                name: name.into(),
            };
            store.set_site(&s)?;
            s
        }
    };
    let followup_form = |p| {
        registry
            .all()
            .find(|d| d.programme == Some(p) && d.role == Role::FollowUp)
            .and_then(|d| FollowupForm::new(d, registry.source(&d.id).unwrap_or_default()))
    };
    let exam = registry.all().find(|d| d.role == Role::Exam).map(|def| ExamForm {
        def,
        source: registry.source(&def.id).unwrap_or_default(),
    });
    let villages = villages(&site, count);
    let mut gen = Generator {
        rng: StdRng::seed_from_u64(seed),
        village: String::new(),
        today,
        division: site.division.clone(),
        registration: registry.registration(),
        hypertension: followup_form(Programme::Hypertension),
        diabetes: followup_form(Programme::Diabetes),
        exam,
        settings: store.care_settings().clone(),
        registry,
        household: None,
        used_ids: HashSet::new(),
        used_phones: HashSet::new(),
        male_chars: MALE_CHARS.chars().collect(),
        female_chars: FEMALE_CHARS.chars().collect(),
    };
    // Writing demo data: a bigger page cache (the search index takes random
    // inserts), fewer checkpoints, and commits not each forced to disk. A
    // power cut may lose the last village written, never the database's
    // consistency (WAL); the clinic's own settings are restored after.
    let _ = store.conn().pragma_update(None, "cache_size", -65536);
    let _ = store.conn().pragma_update(None, "wal_autocheckpoint", 10_000);
    let _ = store.conn().pragma_update(None, "synchronous", "NORMAL");
    // Keys for search are built in one pass at the end.
    store.defer_search_index()?;
    let (send, receive) = std::sync::mpsc::sync_channel::<(usize, Vec<ImportResident>)>(2);
    let result = std::thread::scope(|scope| {
        let villages = &villages;
        scope.spawn(move || {
            for (i, v) in villages.iter().enumerate() {
                gen.village = v.name.clone();
                let mut left = v.quota;
                while left > 0 {
                    let n = left.min(BATCH);
                    if send.send((i, gen.batch(n))).is_err() {
                        return;
                    }
                    left -= n;
                }
            }
        });
        let mut done = 0u32;
        let mut records = 0u32;
        for (village, batch) in receive {
            store.import_batch(actor, &villages[village].codes, &batch)?;
            records += batch.iter().map(|r| r.records.len() as u32).sum::<u32>();
            done += batch.len() as u32;
            progress(done, count);
        }
        Ok(DemoReport {
            residents: done,
            records,
        })
    });
    let result = result.and_then(|report| store.finish_deferred_search_index().map(|_| report));
    let _ = store.conn().pragma_update(None, "cache_size", -2000);
    let _ = store.conn().pragma_update(None, "wal_autocheckpoint", 1000);
    let _ = store.conn().pragma_update(None, "synchronous", "FULL");
    let _ = store
        .conn()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::def::Level;
    use crate::form::rules::evaluate;
    use crate::manage::kpi::Period;
    use crate::manage::visit::{Visit, VisitStatus};
    use crate::manage::worklist::Kind;
    use crate::store::care_read::WorklistFilter;
    use std::collections::BTreeMap;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    }

    fn demo(residents: u32, seed: u64) -> (Store, Registry) {
        let mut store = Store::open_in_memory().unwrap();
        let registry = Registry::embedded();
        let report = generate(
            &mut store,
            &registry,
            &Actor::new("demo-test"),
            residents,
            seed,
            today(),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(report.residents, residents);
        (store, registry)
    }

    struct Row {
        id: i64,
        resident: i64,
        form: String,
        answers: Answers,
        sex: Option<String>,
        birth: Option<NaiveDate>,
    }

    fn records(store: &Store) -> Vec<Row> {
        let mut stmt = store
            .conn()
            .prepare(
                "SELECT r.id, r.resident_id, r.form_id, r.answers, p.sex, p.birth_date
                 FROM records r JOIN residents p ON p.id = r.resident_id ORDER BY r.resident_id, r.record_date, r.id",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok(Row {
                id: r.get(0)?,
                resident: r.get(1)?,
                form: r.get(2)?,
                answers: serde_json::from_str(&r.get::<_, String>(3)?).unwrap(),
                sex: r.get(4)?,
                birth: r
                    .get::<_, Option<String>>(5)?
                    .and_then(|b| NaiveDate::parse_from_str(&b, "%Y-%m-%d").ok()),
            })
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    #[test]
    fn demo_follow_ups_and_exams_pass_the_form_checks_and_follow_the_rules() {
        // A seed whose 300 residents include every kind of visit with the
        // shipped forms (lost and dead are rare; a form change that shifts the
        // random draws may need another seed).
        let (store, registry) = demo(300, 2);
        let settings = store.care_settings().clone();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let rows = records(&store);
        for row in &rows {
            let def = registry.get(&row.form).unwrap();
            let ctx = Context {
                today: today(),
                sex: row.sex.clone(),
                birth_date: row.birth,
            };
            let role = def.role;
            if role != Role::FollowUp && role != Role::Exam {
                continue;
            }
            let eval = evaluate(def, &row.answers, &ctx);
            let errors: Vec<_> = eval.errors().collect();
            assert!(
                errors.is_empty(),
                "{} {}: {errors:?}\n{:?}",
                row.form,
                row.id,
                row.answers
            );
            if role == Role::Exam {
                *seen.entry("exam").or_default() += 1;
                continue;
            }
            let programme = def.programme.unwrap();
            let visit = Visit::from_answers(&row.answers, today());
            let date = visit.date.unwrap();
            let previous = store.previous_visit(row.resident, programme, date, row.id).unwrap();
            let a = crate::manage::assess_answers(def, &row.answers, row.birth, previous.as_ref(), &settings, today())
                .unwrap();
            let rule_errors: Vec<_> = a.findings.iter().filter(|f| f.level == Level::Error).collect();
            assert!(rule_errors.is_empty(), "{} {}: {rule_errors:?}", row.form, row.id);
            match visit.status {
                VisitStatus::Lost => *seen.entry("lost").or_default() += 1,
                VisitStatus::Dead => *seen.entry("dead").or_default() += 1,
                VisitStatus::Normal => {
                    *seen.entry("visit").or_default() += 1;
                    // Filled as the rules suggest, and booked within their window.
                    assert_eq!(visit.classification, a.classification.or(visit.classification));
                    assert_eq!(visit.next_step, a.next_step.or(visit.next_step));
                    assert_eq!(visit.referred, a.referral.is_some(), "{}", row.id);
                    let (next, by) = (visit.next_visit.unwrap(), a.next_visit_by.unwrap());
                    assert!(date < next && next <= by, "{} {date} {next} {by}", row.id);
                    if visit.referred {
                        *seen.entry("referred").or_default() += 1;
                    }
                    if a.emergency {
                        *seen.entry("emergency").or_default() += 1;
                    }
                    if visit.adr {
                        *seen.entry("adr").or_default() += 1;
                    }
                    if visit.classification == Some(crate::manage::rules::COMPLICATION) {
                        *seen.entry("complication").or_default() += 1;
                    }
                    if visit.method == Some(crate::manage::Method::Phone) {
                        *seen.entry("phone").or_default() += 1;
                    }
                    if a.controlled == Some(false) {
                        *seen.entry("uncontrolled").or_default() += 1;
                    }
                }
            }
        }
        eprintln!("{seen:?}");
        for kind in [
            "exam",
            "lost",
            "dead",
            "visit",
            "referred",
            "emergency",
            "adr",
            "complication",
            "phone",
            "uncontrolled",
        ] {
            assert!(seen.get(kind).is_some_and(|n| *n > 0), "no {kind} in {seen:?}");
        }
    }

    #[test]
    fn demo_indicators_and_worklist_come_out_plausible() {
        let (store, _) = demo(500, 8);
        let actor = Actor::new("demo-test");
        let report = store.kpi(&actor, &Period::year(2026).unwrap(), None).unwrap();
        for p in &report.figures.programmes {
            eprintln!(
                "{}: managed {} standardised {:.3} controlled {:.3} examined {:.3}",
                p.programme, p.managed, p.standardised_rate, p.control_rate, p.exam_rate
            );
            assert!(p.managed > 0, "{}", p.programme);
            assert!(
                p.standardised_rate > 0.0 && p.standardised_rate < 1.0,
                "{}",
                p.programme
            );
            assert!(p.control_rate > 0.0 && p.control_rate < 1.0, "{}", p.programme);
        }
        let items = store
            .worklist(&actor, today(), &WorklistFilter::default(), usize::MAX)
            .unwrap()
            .items;
        let mut kinds: BTreeMap<Kind, usize> = BTreeMap::new();
        for i in &items {
            *kinds.entry(i.kind).or_default() += 1;
        }
        eprintln!("worklist {kinds:?}");
        for kind in [
            Kind::Referral,
            Kind::Overdue,
            Kind::DueSoon,
            Kind::ExamDue,
            Kind::LostCandidate,
        ] {
            assert!(kinds.contains_key(&kind), "no {kind:?} in {kinds:?}");
        }
    }

    #[test]
    fn the_demo_is_the_same_for_the_same_seed() {
        let answers = |seed| {
            let (store, _) = demo(60, seed);
            records(&store)
                .into_iter()
                .map(|r| (r.form, r.answers))
                .collect::<Vec<_>>()
        };
        let a = answers(3);
        assert_eq!(a, answers(3));
        assert_ne!(a, answers(4));
    }
}
