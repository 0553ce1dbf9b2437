//! A form open in the app core, without a terminal or a database: for
//! tests that drive `App::update` and draw with a TestBackend.

use jkda::app::{App, Clock, FormState, Header, Screen};
use jkda::form::Registry;
use jkda::i18n::Lang;
use jkda::keymap::Keymap;
use jkda::store::SiteConfig;
use std::sync::Arc;

/// A fixed day, so nothing depends on when the tests run.
pub fn clock() -> Clock {
    Clock {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        time: chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
        instant: std::time::Instant::now(),
    }
}

/// `form_id` on screen for a woman of 76 (so the items for the elderly show).
pub fn app(form_id: &str, lang: Lang) -> App {
    let reg = Registry::embedded();
    let def = Arc::new(reg.get(form_id).expect("form").clone());
    let clock = clock();
    let ctx = jkda::form::rules::Context {
        today: clock.today,
        sex: Some("2".into()),
        birth_date: chrono::NaiveDate::from_ymd_opt(1950, 3, 1),
    };
    let header = Header {
        resident_id: 1,
        name: "赵霞".into(),
        sex: Some("2".into()),
        age: Some(76),
        id_masked: String::new(),
        record_no: String::new(),
    };
    let form = FormState::new(def, 1, header, Default::default(), ctx, false, None);
    let site = SiteConfig {
        division: "220602".into(),
        township: "101".into(),
        village: "101".into(),
        name: "测试村卫生室".into(),
    };
    let mut app = App::new(lang, Keymap::default(), Some(site), &clock);
    app.screen = Screen::Form(Box::new(form));
    app
}
