//! Reads for the worklist and the clinic's indicators: the rows of
//! `store/care.rs` handed to the pure `manage::worklist` and `manage::kpi`.
//! The indicators stream one membership at a time, so a year at 200 000
//! residents needs no more memory than one resident's visits.

use super::care::{kinds, parse_programme, LeaveReason, VisitFact};
use super::{Actor, Result, Store};
use crate::form::def::{Programme, Role};
use crate::form::Answers;
use crate::manage::kpi::{judge, rate, Judgement, MemberHistory, Period, ProgrammeKpi, Tally};
use crate::manage::rules;
use crate::manage::visit::Previous;
use crate::manage::visit::VisitStatus;
use crate::manage::worklist::{self, Candidate, Worklist};
use chrono::{Datelike, NaiveDate};
use rusqlite::params;
use rusqlite::OptionalExtension;
use serde::Serialize;
use std::collections::BTreeMap;

use super::care::{day, text};

/// The date someone born on it turns 65 ... inverted: born on or before
/// this date, they are 65 or older on `on`.
fn born_by_for_age(on: NaiveDate, years: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(on.year() - years, on.month(), on.day())
        .or_else(|| NaiveDate::from_ymd_opt(on.year() - years, on.month(), 28))
        .unwrap_or(on)
}

/// What the worklist shows, filtered.
#[derive(Debug, Clone, Default)]
pub struct WorklistFilter {
    /// Village code (3 digits, from the record number).
    pub village: Option<String>,
    pub programme: Option<Programme>,
}

/// Figures for one group (the site, or one village).
#[derive(Debug, Clone, Serialize)]
pub struct GroupKpi {
    pub programmes: Vec<ProgrammeKpi>,
    /// Residents 65 or older at the end of the period, and those examined.
    pub older_adults: u64,
    pub older_adults_examined: u64,
    pub older_adults_exam_rate: f64,
    /// Residents with a finished record (cover page + basic information).
    pub records: u64,
    pub population: Option<u32>,
    /// 建档率, where the population is configured.
    pub record_rate: Option<f64>,
    /// Records with a service entry within the year up to the period's end.
    pub records_in_use: u64,
    /// 使用率.
    pub usage_rate: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VillageKpi {
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: GroupKpi,
}

#[derive(Debug, Clone, Serialize)]
pub struct KpiReport {
    pub period: Period,
    pub village: Option<String>,
    #[serde(flatten)]
    pub figures: GroupKpi,
    pub villages: Vec<VillageKpi>,
}

/// Which residents behind a figure to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Managed,
    Standardised,
    NotStandardised,
    Controlled,
    NotControlled,
    Examined,
    NotExamined,
}

impl Measure {
    fn holds(self, j: &Judgement) -> bool {
        j.managed
            && match self {
                Measure::Managed => true,
                Measure::Standardised => j.standardised,
                Measure::NotStandardised => !j.standardised,
                Measure::Controlled => j.controlled,
                Measure::NotControlled => !j.controlled,
                Measure::Examined => j.examined,
                Measure::NotExamined => !j.examined,
            }
    }
}

#[derive(Default)]
struct Group {
    name: String,
    tallies: BTreeMap<Programme, Tally>,
    older: u64,
    older_examined: u64,
    records: u64,
    in_use: u64,
}

impl Group {
    fn finish(&self, period: &Period, population: Option<u32>) -> GroupKpi {
        let programmes = [Programme::Hypertension, Programme::Diabetes]
            .iter()
            .map(|p| self.tallies.get(p).cloned().unwrap_or_default().finish(*p, period))
            .collect();
        GroupKpi {
            programmes,
            older_adults: self.older,
            older_adults_examined: self.older_examined,
            older_adults_exam_rate: rate(self.older_examined, self.older),
            records: self.records,
            population,
            record_rate: population.map(|p| rate(self.records, u64::from(p))),
            records_in_use: self.in_use,
            usage_rate: rate(self.in_use, self.records),
        }
    }
}

/// A set of resident ids, sorted: a county's worth is 8 bytes an id, a
/// third of a hash set's, which matters to a TUI kept under 20 MB.
struct Ids(Vec<i64>);

impl Ids {
    fn contains(&self, id: &i64) -> bool {
        self.0.binary_search(id).is_ok()
    }
}

impl Store {
    fn village_clause(column: &str, village: &Option<String>, n: usize) -> String {
        if village.is_some() {
            format!(" AND {column} = ?{n}")
        } else {
            String::new()
        }
    }

    /// Residents with a final record of one of `forms` dated in
    /// `after < date <= until` (each form's range through its index).
    fn residents_with_records(&self, forms: &[String], after: NaiveDate, until: NaiveDate) -> Result<Ids> {
        let mut out = Vec::new();
        for form in forms {
            let mut stmt = self.conn().prepare_cached(
                "SELECT resident_id FROM records WHERE form_id = ?1 AND status = 'final'
                 AND record_date > ?2 AND record_date <= ?3",
            )?;
            let rows = stmt.query_map(params![form, text(after), text(until)], |r| r.get::<_, i64>(0))?;
            for r in rows {
                out.push(r?);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(Ids(out))
    }

    /// Residents examined (a final health examination dated) in the period.
    fn examined_in(&self, start: NaiveDate, end: NaiveDate) -> Result<Ids> {
        let before = start.pred_opt().unwrap_or(start);
        self.residents_with_records(&kinds().exam_forms(), before, end)
    }

    /// The worklist on `today`: every active membership and every older
    /// adult without this year's exam, classified as they are read from
    /// the derived tables and the covering indexes; the most urgent `limit`
    /// items are kept (and only then their names read), every item is
    /// counted. Audited as one list read.
    pub fn worklist(&self, actor: &Actor, today: NaiveDate, filter: &WorklistFilter, limit: usize) -> Result<Worklist> {
        actor.require(super::Permission::ReadRecords)?;
        self.count_read("worklist");
        let settings = self.care_settings().clone();
        let mut builder = worklist::Builder::new(today, &settings, limit);
        let bare = |id: i64, birth: Option<String>, village_code: String| Candidate {
            resident_id: id,
            name: String::new(),
            sex: None,
            birth_date: birth.as_deref().and_then(day),
            village_code,
            village: String::new(),
            programme: None,
            enrolled_on: None,
            last_f2f: None,
            next_due: None,
            referral_due: None,
            last_exam: None,
        };
        let sql = format!(
            "SELECT m.resident_id, m.birth_date, m.village, m.programme, m.enrolled_on, m.last_f2f, m.next_due,
                    m.referral_due, m.last_exam
             FROM memberships m WHERE m.left_on IS NULL{} ORDER BY m.resident_id, m.programme",
            Self::village_clause("m.village", &filter.village, 1)
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows = match &filter.village {
            Some(v) => stmt.query(params![v])?,
            None => stmt.query([])?,
        };
        // Residents in a programme now (in id order, as read): their exam
        // is on their programme's row, not the older adults'.
        let mut members = Vec::new();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            if members.last() != Some(&id) {
                members.push(id);
            }
            // Borrowed text, no allocation: this loop runs once a member.
            let text_at = |i: usize| -> rusqlite::Result<Option<&str>> {
                r.get_ref(i)?.as_str_or_null().map_err(rusqlite::Error::from)
            };
            let Some(programme) = text_at(3)?.and_then(parse_programme) else {
                continue;
            };
            if filter.programme.is_some_and(|f| f != programme) {
                continue;
            }
            let date = |i: usize| -> rusqlite::Result<Option<NaiveDate>> { Ok(text_at(i)?.and_then(day)) };
            let mut c = bare(id, None, r.get(2)?);
            c.birth_date = date(1)?;
            c.programme = Some(programme);
            c.enrolled_on = date(4)?;
            c.last_f2f = date(5)?;
            c.next_due = date(6)?;
            c.referral_due = date(7)?;
            c.last_exam = date(8)?;
            builder.add(&c);
        }
        if filter.programme.is_none() {
            // Older adults outside the programmes (and members who left,
            // unless they died): the annual exam. The index holds all this
            // query reads; who is a member or dead is looked up in memory.
            let mut stmt = self
                .conn()
                .prepare_cached("SELECT resident_id FROM memberships WHERE left_reason = 'death'")?;
            members.extend(
                stmt.query_map([], |r| r.get::<_, i64>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            );
            members.sort_unstable();
            members.dedup();
            let skip = Ids(members);
            let sql = format!(
                "SELECT r.id, r.birth_date, substr(r.record_no, 10, 3), r.last_exam FROM residents r INDEXED BY residents_birth
                 WHERE r.birth_date <= ?1 AND r.status = 'active'{}",
                Self::village_clause("substr(r.record_no, 10, 3)", &filter.village, 2)
            );
            let born_by = text(born_by_for_age(today, 65));
            let mut stmt = self.conn().prepare_cached(&sql)?;
            let mut rows = match &filter.village {
                Some(v) => stmt.query(params![born_by, v])?,
                None => stmt.query(params![born_by])?,
            };
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                if !skip.contains(&id) {
                    let mut c = bare(id, r.get(1)?, r.get(2)?);
                    c.last_exam = r.get::<_, Option<String>>(3)?.as_deref().and_then(day);
                    builder.add(&c);
                }
            }
        }
        let mut list = builder.finish();
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT coalesce(name, ''), sex, coalesce(village, '') FROM residents WHERE id = ?1")?;
        for item in &mut list.items {
            (item.name, item.sex, item.village) =
                stmt.query_row(params![item.resident_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        }
        Ok(list)
    }

    /// Streams every membership managed in the period with its visits in
    /// the period, in resident order, to `each`.
    fn each_member(
        &self,
        period: &Period,
        village: &Option<String>,
        examined: &Ids,
        mut each: impl FnMut(&MemberHistory, &str),
    ) -> Result<()> {
        let sql = format!(
            "SELECT m.resident_id, m.programme, m.enrolled_on, m.left_on, m.left_reason, m.village,
                    v.record_id, v.visit_date, v.face_to_face, v.status, v.measured, v.controlled,
                    v.classification, v.referred, v.emergency, v.next_visit
             FROM memberships m
             LEFT JOIN visits v ON v.resident_id = m.resident_id AND v.programme = m.programme
                  AND v.visit_date >= ?1 AND v.visit_date <= ?2
             WHERE m.enrolled_on <= ?2 AND (m.left_on IS NULL OR m.left_on >= ?1){}
             ORDER BY m.resident_id, m.programme, v.visit_date, v.record_id",
            Self::village_clause("m.village", village, 3)
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let (s, e) = (text(period.start), text(period.end));
        let mut rows = match village {
            Some(v) => stmt.query(params![s, e, v])?,
            None => stmt.query(params![s, e])?,
        };
        struct Current {
            key: (i64, String),
            programme: Programme,
            enrolled: NaiveDate,
            left: Option<NaiveDate>,
            reason: Option<LeaveReason>,
            vcode: String,
            visits: Vec<VisitFact>,
        }
        let flush = |c: &Current, each: &mut dyn FnMut(&MemberHistory, &str)| {
            let m = MemberHistory {
                resident_id: c.key.0,
                programme: c.programme,
                enrolled_on: c.enrolled,
                left_on: c.left,
                left_reason: c.reason,
                visits: &c.visits,
                examined: examined.contains(&c.key.0),
            };
            each(&m, &c.vcode);
        };
        let mut cur: Option<Current> = None;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let p: String = r.get(1)?;
            if cur.as_ref().is_none_or(|c| c.key.0 != id || c.key.1 != p) {
                if let Some(c) = cur.take() {
                    flush(&c, &mut each);
                }
                let (Some(programme), Some(enrolled)) = (parse_programme(&p), day(&r.get::<_, String>(2)?)) else {
                    continue;
                };
                cur = Some(Current {
                    key: (id, p),
                    programme,
                    enrolled,
                    left: r.get::<_, Option<String>>(3)?.as_deref().and_then(day),
                    reason: r.get::<_, Option<String>>(4)?.as_deref().and_then(LeaveReason::parse),
                    vcode: r.get(5)?,
                    visits: Vec::new(),
                });
            }
            let Some(c) = cur.as_mut() else { continue };
            let Some(record_id) = r.get::<_, Option<i64>>(6)? else {
                continue;
            };
            let Some(date) = r.get::<_, Option<String>>(7)?.as_deref().and_then(day) else {
                continue;
            };
            c.visits.push(VisitFact {
                record_id,
                date,
                face_to_face: r.get(8)?,
                status: VisitStatus::parse(&r.get::<_, String>(9)?),
                measured: r.get(10)?,
                controlled: r.get(11)?,
                classification: r.get(12)?,
                referred: r.get(13)?,
                emergency: r.get(14)?,
                next_visit: r.get::<_, Option<String>>(15)?.as_deref().and_then(day),
            });
        }
        if let Some(c) = cur.take() {
            flush(&c, &mut each);
        }
        Ok(())
    }

    /// The clinic's indicators for a period, for the site (or one village)
    /// and village by village. Reads the derived tables, the records'
    /// form-and-date index and the residents' covering index, never a
    /// resident's row. Audited as one list read.
    pub fn kpi(&self, actor: &Actor, period: &Period, village: Option<String>) -> Result<KpiReport> {
        actor.require(super::Permission::ReadRecords)?;
        self.count_read("report");
        let settings = self.care_settings().clone();
        let examined = self.examined_in(period.start, period.end)?;
        let mut site = Group::default();
        let mut villages: BTreeMap<String, Group> = BTreeMap::new();
        self.each_member(period, &village, &examined, |m, vcode| {
            let j = judge(m, period, &settings);
            for g in [&mut site, villages.entry(vcode.to_string()).or_default()] {
                g.tallies.entry(m.programme).or_default().add(m, &j, period);
            }
        })?;

        // 使用率: a service record (anything but the registration) within
        // the year up to the period's end.
        let services: Vec<String> = kinds()
            .all_ids()
            .into_iter()
            .filter(|id| !kinds().with_role(Role::Registration).contains(id))
            .collect();
        let in_use = self.residents_with_records(&services, period.end - chrono::Days::new(365), period.end)?;
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT resident_id, left_on FROM memberships WHERE left_reason = 'death'")?;
        let died: std::collections::HashMap<i64, String> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let born_by = text(born_by_for_age(period.end, 65));
        let start = text(period.start);
        let sql = format!(
            "SELECT r.id, substr(r.record_no, 10, 3), coalesce(r.village, ''), r.birth_date
             FROM residents r INDEXED BY residents_by_village WHERE r.status = 'active'{}",
            Self::village_clause("substr(r.record_no, 10, 3)", &village, 1)
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows = match &village {
            Some(v) => stmt.query(params![v])?,
            None => stmt.query([])?,
        };
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let vcode: String = r.get(1)?;
            let g = villages.entry(vcode).or_default();
            if g.name.is_empty() {
                g.name = r.get(2)?;
            }
            let older = r
                .get_ref(3)?
                .as_str_or_null()
                .map_err(rusqlite::Error::from)?
                .is_some_and(|b| b <= born_by.as_str());
            let dead_before = died.get(&id).is_some_and(|d| *d < start);
            for g in [&mut site, g] {
                g.records += 1;
                g.in_use += u64::from(in_use.contains(&id));
                if older && !dead_before {
                    g.older += 1;
                    g.older_examined += u64::from(examined.contains(&id));
                }
            }
        }
        let population = match &village {
            Some(v) => settings.village_population.get(v).copied(),
            None => settings.population,
        };
        Ok(KpiReport {
            period: *period,
            figures: site.finish(period, population),
            villages: villages
                .iter()
                .map(|(code, g)| VillageKpi {
                    code: code.clone(),
                    name: g.name.clone(),
                    figures: g.finish(period, settings.village_population.get(code).copied()),
                })
                .collect(),
            village,
        })
    }

    /// The residents behind one figure of [`Store::kpi`] (ids, in order).
    pub fn kpi_residents(
        &self,
        actor: &Actor,
        period: &Period,
        village: Option<String>,
        programme: Programme,
        measure: Measure,
    ) -> Result<Vec<i64>> {
        actor.require(super::Permission::ReadRecords)?;
        self.count_read("report");
        let settings = self.care_settings().clone();
        let examined = self.examined_in(period.start, period.end)?;
        let mut out = Vec::new();
        self.each_member(period, &village, &examined, |m, _| {
            if m.programme == programme && measure.holds(&judge(m, period, &settings)) {
                out.push(m.resident_id);
            }
        })?;
        Ok(out)
    }
}

impl Store {
    /// The local id of the resident a platform id (uuid) names.
    pub fn resident_id_by_uuid(&self, uuid: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row("SELECT id FROM residents WHERE uuid = ?1", params![uuid], |r| r.get(0))
            .optional()?)
    }

    pub fn record_id_by_uuid(&self, uuid: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row("SELECT id FROM records WHERE uuid = ?1", params![uuid], |r| r.get(0))
            .optional()?)
    }

    pub fn resident_id_by_record_no(&self, record_no: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id FROM residents WHERE record_no = ?1",
                params![record_no.trim()],
                |r| r.get(0),
            )
            .optional()?)
    }
}

impl Store {
    /// List rows (identifiers masked) for residents by id, in that order.
    pub fn resident_rows(&self, actor: &Actor, ids: &[i64]) -> Result<Vec<crate::store::ResidentRow>> {
        actor.require(super::Permission::ReadRecords)?;
        self.count_read("report");
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let r = self.resident_unaudited(*id)?;
            out.push(super::residents::row_from_resident(&r));
        }
        Ok(out)
    }
}

/// What the form screen and `jkda check` read of a resident's history.
impl Store {
    /// The last follow-up of a programme before `date` (another record
    /// than `except`): what "the second consecutive uncontrolled visit"
    /// compares with.
    pub fn previous_visit(
        &self,
        resident_id: i64,
        programme: Programme,
        date: NaiveDate,
        except: i64,
    ) -> Result<Option<Previous>> {
        let row: Option<(String, Option<bool>, Option<u8>, bool)> = self
            .conn()
            .query_row(
                "SELECT visit_date, controlled, classification, referred FROM visits
                 WHERE resident_id = ?1 AND programme = ?2 AND visit_date < ?3 AND record_id <> ?4 AND status = '1'
                 ORDER BY visit_date DESC, record_id DESC LIMIT 1",
                params![resident_id, programme.key(), text(date), except],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        Ok(row.and_then(|(d, controlled, class, referred)| {
            Some(Previous {
                date: day(&d)?,
                uncontrolled: controlled == Some(false) || (controlled.is_none() && class == Some(rules::UNCONTROLLED)),
                referred,
            })
        }))
    }

    /// Every normal visit of a programme (except one record), for the form
    /// screen to find "the previous visit" as the visit date is typed.
    pub fn visit_history(&self, resident_id: i64, programme: Programme, except: i64) -> Result<Vec<Previous>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT visit_date, controlled, classification, referred FROM visits
             WHERE resident_id = ?1 AND programme = ?2 AND record_id <> ?3 AND status = '1'
             ORDER BY visit_date",
        )?;
        let rows = stmt.query_map(params![resident_id, programme.key(), except], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<bool>>(1)?,
                r.get::<_, Option<u8>>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (d, controlled, class, referred) = row?;
            if let Some(date) = day(&d) {
                out.push(Previous {
                    date,
                    uncontrolled: controlled == Some(false)
                        || (controlled.is_none() && class == Some(rules::UNCONTROLLED)),
                    referred,
                });
            }
        }
        Ok(out)
    }

    /// The answers of the resident's latest final record of a form (for
    /// prefilling what the clinic would otherwise retype).
    pub fn latest_answers(&self, resident_id: i64, form_id: &str, except: i64) -> Result<Option<Answers>> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT answers FROM records WHERE resident_id = ?1 AND form_id = ?2 AND status = 'final' AND id <> ?3
                 ORDER BY record_date DESC, id DESC LIMIT 1",
                params![resident_id, form_id, except],
                |r| r.get(0),
            )
            .optional()?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }
}
