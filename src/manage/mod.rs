//! Managing the chronic-disease programmes, as the 国家基本公共卫生服务规范
//! (2017) asks: the follow-up rules (classification, 2-week revisits,
//! referrals, emergencies), programme membership, the clinic's worklist and
//! its own indicators (规范管理率, 控制率). One module so the form screen, the
//! command line and the platform compute exactly the same thing.
//!
//! Everything here is pure (the date comes in): `rules` and `visit` judge
//! one visit; `worklist` and `kpi` compute from the rows `store::care`
//! derives from the records, so the platform can feed them its own rows.

pub mod history;
pub mod kpi;
pub mod rules;
pub mod settings;
pub mod visit;
pub mod worklist;

pub use rules::{assess, Assessment, Referral};
pub use settings::Settings;
pub use visit::{Method, Previous, Visit, VisitStatus};

use crate::form::answers::Answers;
use crate::form::def::{FormDef, Role};
use chrono::NaiveDate;

/// Assesses a follow-up record's answers: `None` for a form that is not a
/// programme's follow-up. `birth` gives the age at the visit date.
pub fn assess_answers(
    def: &FormDef,
    answers: &Answers,
    birth: Option<NaiveDate>,
    previous: Option<&Previous>,
    settings: &Settings,
    today: NaiveDate,
) -> Option<Assessment> {
    let programme = def.programme.filter(|_| def.role == Role::FollowUp)?;
    let visit = Visit::from_answers(answers, today);
    let age = birth.and_then(|b| crate::identity::age_on(b, visit.date.unwrap_or(today)));
    Some(assess(programme, age, &visit, previous, settings))
}
