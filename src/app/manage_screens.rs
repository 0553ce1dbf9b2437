//! The worklist and the clinic's indicators as screens: their state and
//! their keys. The rows come from the store through effects; these only
//! select, filter and ask.

use super::{App, Effect, Screen};
use crate::form::def::Programme;
use crate::keymap::Action;
use crate::manage::kpi::Period;
use crate::manage::worklist::{Item, Kind, Worklist};
use crate::store::care_read::{KpiReport, Measure, WorklistFilter};
use crate::store::ResidentRow;
use chrono::Datelike;

/// Items the worklist screen asks for first: the most urgent, a dozen
/// screens' worth (every item is counted); scrolling past them asks for
/// twice as many, so a county's list never sits in memory whole.
pub const WORKLIST_ROWS: usize = 200;

#[derive(Debug, Clone, Default)]
pub struct WorklistState {
    pub items: Vec<Item>,
    /// Items of each kind in all (the list holds the most urgent ones).
    pub counts: Vec<(Kind, usize)>,
    pub total: usize,
    /// How many items were asked for.
    pub limit: usize,
    pub selected: usize,
    pub programme: Option<Programme>,
    pub village: Option<String>,
    /// Villages seen in the unfiltered list (code, name), for the filter.
    pub villages: Vec<(String, String)>,
    pub loaded: bool,
}

impl WorklistState {
    fn load(&self) -> Effect {
        Effect::LoadWorklist {
            filter: self.filter(),
            limit: self.limit.max(WORKLIST_ROWS),
        }
    }

    pub fn filter(&self) -> WorklistFilter {
        WorklistFilter {
            village: self.village.clone(),
            programme: self.programme,
        }
    }
}

/// The figures a user can select on the indicators screen (and list the
/// residents behind).
pub const KPI_ROWS: [(Programme, Measure); 8] = [
    (Programme::Hypertension, Measure::Managed),
    (Programme::Hypertension, Measure::Standardised),
    (Programme::Hypertension, Measure::Controlled),
    (Programme::Hypertension, Measure::Examined),
    (Programme::Diabetes, Measure::Managed),
    (Programme::Diabetes, Measure::Standardised),
    (Programme::Diabetes, Measure::Controlled),
    (Programme::Diabetes, Measure::Examined),
];

#[derive(Debug, Clone)]
pub struct KpiState {
    pub year: i32,
    /// None: the whole year; 1–4: a quarter.
    pub quarter: Option<u32>,
    pub village: Option<String>,
    pub villages: Vec<(String, String)>,
    pub report: Option<KpiReport>,
    pub selected: usize,
    /// The residents behind the selected figure, when opened.
    pub drill: Option<(usize, Vec<ResidentRow>, usize)>,
}

impl KpiState {
    pub fn new(year: i32) -> Self {
        KpiState {
            year,
            quarter: None,
            village: None,
            villages: Vec::new(),
            report: None,
            selected: 0,
            drill: None,
        }
    }

    pub fn period(&self) -> Option<Period> {
        match self.quarter {
            Some(q) => Period::quarter(self.year, q),
            None => Period::year(self.year),
        }
    }

    fn load(&self) -> Vec<Effect> {
        match self.period() {
            Some(period) => vec![Effect::LoadKpi {
                period,
                village: self.village.clone(),
            }],
            None => Vec::new(),
        }
    }

    /// Year → Q1 → … → Q4 → next year, and back.
    fn step(&mut self, forward: bool) {
        (self.year, self.quarter) = match (forward, self.quarter) {
            (true, None) => (self.year, Some(1)),
            (true, Some(4)) => (self.year + 1, None),
            (true, Some(q)) => (self.year, Some(q + 1)),
            (false, None) => (self.year - 1, Some(4)),
            (false, Some(1)) => (self.year, None),
            (false, Some(q)) => (self.year, Some(q - 1)),
        };
    }
}

fn next_village(current: &Option<String>, villages: &[(String, String)]) -> Option<String> {
    match current {
        None => villages.first().map(|v| v.0.clone()),
        Some(c) => {
            let i = villages.iter().position(|v| &v.0 == c);
            i.and_then(|i| villages.get(i + 1)).map(|v| v.0.clone())
        }
    }
}

fn next_programme(p: Option<Programme>) -> Option<Programme> {
    match p {
        None => Some(Programme::Hypertension),
        Some(Programme::Hypertension) => Some(Programme::Diabetes),
        Some(Programme::Diabetes) => None,
    }
}

impl App {
    pub(super) fn open_worklist(&mut self) -> Vec<Effect> {
        let state = WorklistState::default();
        let effect = state.load();
        self.set_screen(Screen::Worklist(state));
        vec![effect]
    }

    pub(super) fn open_indicators(&mut self) -> Vec<Effect> {
        let state = KpiState::new(self.today.year());
        let effects = state.load();
        self.set_screen(Screen::Kpi(Box::new(state)));
        effects
    }

    pub(super) fn worklist_loaded(&mut self, list: Worklist) {
        let Worklist { items, counts, total } = list;
        if let Screen::Worklist(w) = &mut self.screen {
            w.counts = counts;
            w.total = total;
            if w.village.is_none() && w.programme.is_none() {
                let mut villages: Vec<(String, String)> = items
                    .iter()
                    .map(|i| (i.village_code.clone(), i.village.clone()))
                    .collect();
                villages.sort();
                villages.dedup_by(|a, b| a.0 == b.0);
                w.villages = villages;
            }
            w.items = items;
            w.selected = w.selected.min(w.items.len().saturating_sub(1));
            w.loaded = true;
        }
    }

    pub(super) fn kpi_loaded(&mut self, report: KpiReport) {
        if let Screen::Kpi(k) = &mut self.screen {
            if k.village.is_none() {
                k.villages = report
                    .villages
                    .iter()
                    .map(|v| (v.code.clone(), v.name.clone()))
                    .collect();
            }
            k.report = Some(report);
        }
    }

    pub(super) fn kpi_residents_loaded(&mut self, row: usize, rows: Vec<ResidentRow>) {
        if let Screen::Kpi(k) = &mut self.screen {
            k.drill = Some((row, rows, 0));
        }
    }

    pub(super) fn worklist_key(&mut self, action: Option<Action>) -> Vec<Effect> {
        let Screen::Worklist(w) = &mut self.screen else {
            return Vec::new();
        };
        match action {
            Some(Action::Up) => w.selected = w.selected.saturating_sub(1),
            Some(Action::Down) => {
                w.selected = (w.selected + 1).min(w.items.len().saturating_sub(1));
                // At the end of what was loaded, and there is more: twice as many.
                if w.selected + 1 == w.items.len() && w.items.len() < w.total {
                    w.limit = w.items.len() * 2;
                    return vec![w.load()];
                }
            }
            Some(Action::Open) => {
                if let Some(i) = w.items.get(w.selected) {
                    return vec![Effect::NewRecord {
                        resident_id: i.resident_id,
                        form_id: i.form_id.to_string(),
                    }];
                }
            }
            Some(Action::FilterProgramme) => {
                w.programme = next_programme(w.programme);
                w.selected = 0;
                w.limit = WORKLIST_ROWS;
                return vec![w.load()];
            }
            Some(Action::FilterVillage) => {
                w.village = next_village(&w.village, &w.villages);
                w.selected = 0;
                w.limit = WORKLIST_ROWS;
                return vec![w.load()];
            }
            Some(Action::Back) => {
                self.set_screen(Screen::Residents(Default::default()));
                return vec![Effect::Search(Default::default())];
            }
            _ => {}
        }
        Vec::new()
    }

    pub(super) fn kpi_key(&mut self, action: Option<Action>) -> Vec<Effect> {
        let Screen::Kpi(k) = &mut self.screen else {
            return Vec::new();
        };
        if let Some((row, rows, sel)) = &mut k.drill {
            match action {
                Some(Action::Up) => *sel = sel.saturating_sub(1),
                Some(Action::Down) => *sel = (*sel + 1).min(rows.len().saturating_sub(1)),
                Some(Action::Open) => {
                    if let Some(r) = rows.get(*sel) {
                        return vec![Effect::OpenResident(r.id)];
                    }
                }
                Some(Action::Back) => {
                    k.selected = *row;
                    k.drill = None;
                }
                _ => {}
            }
            return Vec::new();
        }
        match action {
            Some(Action::Up) => k.selected = k.selected.saturating_sub(1),
            Some(Action::Down) => k.selected = (k.selected + 1).min(KPI_ROWS.len() - 1),
            Some(Action::Open) => {
                if let (Some(period), Some((programme, measure))) = (k.period(), KPI_ROWS.get(k.selected)) {
                    return vec![Effect::LoadKpiResidents {
                        row: k.selected,
                        period,
                        village: k.village.clone(),
                        programme: *programme,
                        measure: *measure,
                    }];
                }
            }
            Some(Action::PrevPeriod) => {
                k.step(false);
                return k.load();
            }
            Some(Action::NextPeriod) => {
                k.step(true);
                return k.load();
            }
            Some(Action::FilterVillage) => {
                k.village = next_village(&k.village, &k.villages);
                return k.load();
            }
            Some(Action::Back) => {
                self.set_screen(Screen::Residents(Default::default()));
                return vec![Effect::Search(Default::default())];
            }
            _ => {}
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_step_through_the_quarters_into_the_next_year() {
        let mut k = KpiState::new(2026);
        k.step(true);
        assert_eq!((k.year, k.quarter), (2026, Some(1)));
        for _ in 0..3 {
            k.step(true);
        }
        assert_eq!((k.year, k.quarter), (2026, Some(4)));
        k.step(true);
        assert_eq!((k.year, k.quarter), (2027, None));
        k.step(false);
        assert_eq!((k.year, k.quarter), (2026, Some(4)));
        let villages = vec![("101".to_string(), "a".to_string()), ("102".into(), "b".into())];
        assert_eq!(next_village(&None, &villages).as_deref(), Some("101"));
        assert_eq!(next_village(&Some("101".into()), &villages).as_deref(), Some("102"));
        assert_eq!(next_village(&Some("102".into()), &villages), None);
    }
}
