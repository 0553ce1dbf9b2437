//! Managing the chronic-disease programmes, as the 国家基本公共卫生服务规范
//! (2017) asks: the follow-up rules (classification, 2-week revisits,
//! referrals, emergencies), programme membership, the clinic's worklist and
//! its own indicators (规范管理率, 控制率). One module so the form screen, the
//! command line and the platform compute exactly the same thing.
//!
//! Everything here is pure (the date comes in): `rules` and `visit` judge
//! one visit; `worklist` and `kpi` compute from the rows `store::care`
//! derives from the records, so the platform can feed them its own rows.

pub mod kpi;
pub mod rules;
pub mod settings;
pub mod visit;
pub mod worklist;

pub use rules::{assess, Assessment, Referral};
pub use settings::Settings;
pub use visit::{Method, Previous, Visit, VisitStatus};
