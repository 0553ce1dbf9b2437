//! Privacy by type (issue 12, part 5): a stray `{:?}` in a log line, a panic
//! or an error must not leak a person or a password. Every type that holds
//! personal data is printed here with synthetic values, and none of them may
//! appear; and the password goes from the box where it is typed to the key
//! derivation as a `SecretString`, through the real keyring.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jkda::app::gate::{GateEffect, GateMode, GateState};
use jkda::app::text_input::TextBuf;
use jkda::app::{App, Clock, Effect, LockState, Msg, Overlay, SessionInfo};
use jkda::domain::Sensitive;
use jkda::form::{Answer, Answers};
use jkda::keymap::Keymap;
use jkda::store::{Record, RecordStatus, Resident, ResidentFields, ResidentRow, Role, Save, SiteConfig};
use jkda::supervise::model::SpotItem;
use jkda::sync::{SyncCommand, SyncEvent};
use secrecy::{ExposeSecret, SecretString};

// Synthetic: no real person has these.
const NAME: &str = "测试甲乙丙";
const ID_NUMBER: &str = "110101199003071916";
const PHONE: &str = "13900001234";
const ADDRESS: &str = "测试路九十九号";
const PASSWORD: &str = "示例口令-Xq7#";

/// None of the synthetic values, nor a telling part of them, is in `debug`.
fn assert_hidden(what: &str, debug: &str) {
    for secret in [
        NAME,
        ID_NUMBER,
        PHONE,
        ADDRESS,
        PASSWORD,
        "19900307",
        "00001234",
        "甲乙丙",
        "口令",
    ] {
        assert!(
            !debug.contains(secret),
            "{what}: {secret:?} shows in its Debug: {debug}"
        );
    }
}

fn clock() -> Clock {
    Clock {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).expect("a date"),
        time: chrono::NaiveTime::MIN,
        instant: std::time::Instant::now(),
    }
}

fn site() -> SiteConfig {
    SiteConfig {
        name: "测试村卫生室".into(),
        division: "220602".into(),
        township: "101".into(),
        village: "101".into(),
    }
}

fn answers() -> Answers {
    let mut a = Answers::new();
    a.set_text("name", NAME);
    a.set_text("id_number", ID_NUMBER);
    a.set_text("phone", PHONE);
    a.set_text("address", ADDRESS);
    a.set_codes("sex", vec!["1".into()]);
    a
}

fn fields() -> ResidentFields {
    ResidentFields {
        name: Some(NAME.into()),
        sex: Some("1".into()),
        birth_date: Some("1990-03-07".into()),
        id_number: Some(ID_NUMBER.into()),
        phone: Some(PHONE.into()),
        address: Some(ADDRESS.into()),
        village: Some("220602101101".into()),
    }
}

fn resident() -> Resident {
    Resident {
        id: 7,
        uuid: "0b4f2c56-0000-4000-8000-000000000007".into(),
        record_no: "22060210110100007".into(),
        status: "active".into(),
        name: Some(NAME.into()),
        sex: Some("1".into()),
        birth_date: Some("1990-03-07".into()),
        id_number: Some(ID_NUMBER.into()),
        phone: Some(PHONE.into()),
        address: Some(ADDRESS.into()),
        village: Some("220602101101".into()),
        programmes: vec!["hypertension".into()],
        created_at: "2026-11-29 09:00:00".into(),
        updated_at: "2026-11-29 09:00:00".into(),
    }
}

fn record() -> Record {
    Record {
        id: 3,
        uuid: "0b4f2c56-0000-4000-8000-000000000003".into(),
        resident_id: 7,
        form_id: "registration".into(),
        form_version: "1".into(),
        status: RecordStatus::Final,
        answers: answers(),
        record_date: Some("2026-11-29".into()),
        focus: None,
        author: "li".into(),
        created_at: "2026-11-29 09:00:00".into(),
        updated_at: "2026-11-29 09:00:00".into(),
        finalized_at: None,
        revision: 1,
    }
}

fn save() -> Save {
    Save {
        answers: answers(),
        focus: Some("phone".into()),
        record_date: Some("2026-11-29".into()),
        resident: Some(fields()),
    }
}

#[test]
fn every_type_holding_personal_data_prints_redacted() {
    let row = ResidentRow {
        id: 7,
        record_no: "22060210110100007".into(),
        status: "active".into(),
        name: NAME.into(),
        sex: Some("1".into()),
        birth_date: Some("1990-03-07".into()),
        id_masked: jkda::store::mask_id(ID_NUMBER),
        phone_masked: PHONE.into(),
        village: ADDRESS.into(),
    };
    let spot = SpotItem {
        record: "qr-1".into(),
        form: "hypertension-followup".into(),
        visit_date: None,
        resident_name: Sensitive(Some(NAME.into())),
        record_no: Sensitive(Some(ID_NUMBER.into())),
        checks: Sensitive(vec![("phone".into(), PHONE.into())]),
        result: None,
    };
    let mut typed = TextBuf::default();
    typed.insert(NAME);
    let printed = [
        ("Answers", format!("{:?}", answers())),
        ("Answer", format!("{:?}", Answer::Text(NAME.into()))),
        ("Resident", format!("{:?}", resident())),
        ("ResidentRow", format!("{row:?}")),
        ("ResidentFields", format!("{:?}", fields())),
        ("Record", format!("{:?}", record())),
        ("Save", format!("{:?}", save())),
        ("SpotItem", format!("{spot:?}")),
        ("TextBuf", format!("{typed:?}")),
        (
            "SyncCommand::Fetch",
            format!("{:?}", SyncCommand::Fetch(ID_NUMBER.to_string().into())),
        ),
        (
            "SyncEvent::Fetched",
            format!(
                "{:?}",
                SyncEvent::Fetched {
                    query: ID_NUMBER.to_string().into(),
                    result: Ok(Some(7)),
                }
            ),
        ),
        (
            "Effect::CheckIdNumber",
            format!(
                "{:?}",
                Effect::CheckIdNumber {
                    resident_id: 7,
                    id_number: ID_NUMBER.to_string().into(),
                }
            ),
        ),
        (
            "Effect::Sync",
            format!("{:?}", Effect::Sync(SyncCommand::Fetch(ID_NUMBER.to_string().into()))),
        ),
        (
            "Effect::SaveDraft",
            format!(
                "{:?}",
                Effect::SaveDraft {
                    record_id: 3,
                    save: save()
                }
            ),
        ),
        (
            "Effect::Finalize",
            format!(
                "{:?}",
                Effect::Finalize {
                    record_id: 3,
                    save: save()
                }
            ),
        ),
        (
            "Effect::Unlock",
            format!("{:?}", Effect::Unlock(SecretString::from(PASSWORD))),
        ),
        ("SecretString", format!("{:?}", SecretString::from(PASSWORD))),
        (
            "Effect::Search",
            format!("{:?}", Effect::Search(ID_NUMBER.to_string().into())),
        ),
        (
            "Effect::AbandonDraft",
            format!(
                "{:?}",
                Effect::AbandonDraft {
                    resident_id: 7,
                    record_id: 3,
                    reason: format!("{NAME} moved away, phone {PHONE}").into(),
                }
            ),
        ),
    ];
    for (what, debug) in &printed {
        assert_hidden(what, debug);
    }
    // Ids stay visible: a log line still says which record it is about.
    assert!(printed[2].1.contains("22060210110100007"), "{}", printed[2].1);
    assert!(printed[5].1.contains("registration"), "{}", printed[5].1);
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), &clock())
}

/// Only a `SecretString` goes in: the compiler, not this test, holds the
/// line; the test shows that what arrives is the password as typed.
fn as_typed(s: &SecretString) -> &str {
    s.expose_secret()
}

#[test]
fn the_password_is_a_secret_string_from_the_box_to_the_key_derivation() {
    let dir = tempfile::tempdir().expect("temp dir");

    // First run: the administrator types the password twice into the gate.
    let mut gate = GateState::new(GateMode::Install { need_site: false });
    let type_in = |g: &mut GateState, s: &str| {
        let keys = Keymap::default();
        for c in s.chars() {
            g.key(&keys, KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        g.key(&keys, KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
    };
    type_in(&mut gate, "admin");
    // A staff member's name, which the audit trail shows by design.
    type_in(&mut gate, "管理员");
    type_in(&mut gate, PASSWORD);
    assert_hidden("GateState", &format!("{gate:?}"));
    let effect = type_in(&mut gate, PASSWORD).expect("the install is submitted");
    assert_hidden("GateEffect::Install", &format!("{effect:?}"));
    let GateEffect::Install {
        login, name, password, ..
    } = effect
    else {
        panic!("expected an install")
    };
    assert_eq!(as_typed(&password), PASSWORD);
    let installed = jkda::session::install(dir.path(), Some(&site()), &login, &name, &password, true)
        .unwrap_or_else(|m| panic!("install: {m:?}"));
    assert_eq!(installed.user.login, "admin");
    drop((installed, password));

    // Logging in through the gate: the same type reaches the keyring.
    let mut gate = GateState::new(GateMode::Login);
    type_in(&mut gate, "admin");
    let Some(GateEffect::Login { login, password }) = type_in(&mut gate, PASSWORD) else {
        panic!("expected a login")
    };
    let mut session = jkda::session::login(dir.path(), &login, &password).unwrap_or_else(|m| panic!("login: {m:?}"));
    drop(password);

    // The idle lock: the box is a SecretBuf, the effect carries a SecretString.
    let mut app = App::new(jkda::i18n::Lang::Zh, Keymap::default(), Some(site()), &clock());
    app.session = Some(SessionInfo {
        login: "admin".into(),
        display_name: NAME.into(),
        role: Role::Admin,
    });
    app.overlays.push(Overlay::Lock(LockState::default()));
    for c in PASSWORD.chars() {
        assert!(press(&mut app, KeyCode::Char(c)).is_empty());
    }
    let lock = |app: &App| match app.overlays.top() {
        Some(Overlay::Lock(l)) => Some(format!("{l:?}")).zip(Some(l.password.is_empty())),
        _ => None,
    };
    assert_hidden("LockState", &lock(&app).expect("locked").0);
    let effects = press(&mut app, KeyCode::Enter);
    assert_hidden("the lock's effects", &format!("{effects:?}"));
    let [Effect::Unlock(password)] = effects.as_slice() else {
        panic!("expected one unlock, got {effects:?}")
    };
    assert_eq!(as_typed(password), PASSWORD);
    assert!(
        lock(&app).is_some_and(|(_, empty)| empty),
        "the box is emptied (and wiped) as the password leaves it"
    );
    jkda::session::unlock(&mut session.keyring, &session.store, &session.actor, password)
        .unwrap_or_else(|m| panic!("unlock: {m:?}"));
    assert!(
        jkda::session::unlock(&mut session.keyring, &session.store, &session.actor, &"not it".into()).is_err(),
        "a wrong password is refused"
    );
    drop(session);
}
