//! Finding residents and never registering anyone twice (issue 3): pinyin
//! with polyphonic surnames, parts of two-character names, ID / phone /
//! record-number tails, ranking, garbage queries, duplicate detection (the
//! hard stop and the warnings, through the store and through the shell), the
//! index kept current on edits and rebuilt when missing, the command line,
//! and record numbers under two processes registering at once.

mod common;

use jkda::app::{App, Clock, Effect, Msg, Screen};
use jkda::form::{Answers, Registry};
use jkda::i18n::Lang;
use jkda::identity::check_char;
use jkda::keymap::Keymap;
use jkda::shell::Shell;
use jkda::store::bulk::ImportResident;
use jkda::store::{Actor, DuplicateReason, ResidentFields, ResidentRow, Save, SiteConfig, Store};
use std::path::Path;

fn site() -> SiteConfig {
    SiteConfig {
        division: "220602".into(),
        township: "101".into(),
        village: "101".into(),
        name: "测试卫生室".into(),
    }
}

fn actor() -> Actor {
    Actor::new("tester")
}

/// A valid ID number: division 220602, the birth date, a sequence whose
/// parity gives the sex, and the computed check character.
fn id_for(birth: &str, seq: u32) -> String {
    let first17 = format!("220602{}{:03}", birth.replace('-', ""), seq % 1000);
    format!("{first17}{}", check_char(&first17))
}

fn person(name: &str, birth: &str, seq: u32, phone: Option<&str>) -> ResidentFields {
    ResidentFields {
        name: Some(name.into()),
        sex: Some(if seq % 2 == 1 { "1" } else { "2" }.into()),
        birth_date: Some(birth.into()),
        id_number: Some(id_for(birth, seq)),
        phone: phone.map(str::to_string),
        address: Some("东山村一组1号".into()),
        village: Some("东山村".into()),
    }
}

fn open(dir: &Path) -> Store {
    Store::open(&dir.join("jkda.db")).expect("open store")
}

/// A store in a temp dir holding `people`, in order (record serials 1, 2, …).
fn store_with(people: &[ResidentFields]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(dir.path());
    store.set_site(&site()).unwrap();
    let batch: Vec<ImportResident> = people
        .iter()
        .map(|f| ImportResident {
            fields: f.clone(),
            programmes: Vec::new(),
            records: Vec::new(),
        })
        .collect();
    store.import_batch(&actor(), &site(), &batch).unwrap();
    (dir, store)
}

fn names(rows: &[ResidentRow]) -> Vec<&str> {
    rows.iter().map(|r| r.name.as_str()).collect()
}

fn find(store: &Store, q: &str) -> Vec<String> {
    store
        .search_residents(&actor(), q, 50)
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect()
}

#[test]
fn polyphonic_surnames_read_as_surnames() {
    let people: Vec<ResidentFields> = [
        "单田芳",
        "曾志伟",
        "解晓东",
        "仇英",
        "朴树",
        "区文",
        "查良镛",
        "盖丽丽",
        "尉迟恭",
        "欧阳修",
        "覃明",
        "缪明",
        "张乐",
        "丹田芳",
    ]
    .iter()
    .enumerate()
    .map(|(i, n)| person(n, "1960-01-01", i as u32 + 1, None))
    .collect();
    let (_dir, store) = store_with(&people);

    for (q, who) in [
        ("shantianfang", "单田芳"),
        ("stf", "单田芳"),
        ("zengzhiwei", "曾志伟"),
        ("zzw", "曾志伟"),
        ("xiexiaodong", "解晓东"),
        ("qiuying", "仇英"),
        ("piaoshu", "朴树"),
        ("ouwen", "区文"),
        ("zhaliangyong", "查良镛"),
        ("gelili", "盖丽丽"),
        ("yuchigong", "尉迟恭"),
        ("ycg", "尉迟恭"),
        ("ouyangxiu", "欧阳修"),
        ("oyx", "欧阳修"),
        ("qinming", "覃明"),
        ("miaoming", "缪明"),
        // Any reading of a given-name character: 乐 is le or yue.
        ("zhangle", "张乐"),
        ("zhangyue", "张乐"),
        ("zy", "张乐"),
        ("zl", "张乐"),
    ] {
        let found = find(&store, q);
        assert_eq!(found.first().map(String::as_str), Some(who), "{q}: {found:?}");
    }
    // The common readings of the surnames do not find them.
    assert!(!find(&store, "dantianfang").contains(&"单田芳".to_string()));
    assert_eq!(find(&store, "dantianfang"), vec!["丹田芳"]);
    assert!(find(&store, "cengzhiwei").is_empty());
    assert!(find(&store, "jiexiaodong").is_empty());
    assert!(find(&store, "chouying").is_empty());
    // Typed letter by letter, each prefix already finds the person.
    for q in ["s", "sh", "sha", "shan", "shant", "shantianf"] {
        assert!(find(&store, q).contains(&"单田芳".to_string()), "{q}");
    }
    // Upper case, full-width letters, spaces and apostrophes are ignored.
    assert_eq!(find(&store, "Shan Tian'Fang")[0], "单田芳");
    assert_eq!(find(&store, "ＳＴＦ")[0], "单田芳");
}

#[test]
fn any_part_of_a_name_two_character_names_included() {
    let people = [
        person("王芳", "1970-03-04", 2, None),
        person("王芳芳", "1971-03-04", 4, None),
        person("赵王芳", "1972-03-04", 6, None),
        person("李娜", "1980-05-06", 8, None),
        person("张伟", "1981-05-06", 1, None),
        person("阿依古丽·买买提", "1990-01-01", 10, None),
    ];
    let (_dir, store) = store_with(&people);
    // The exact name first, then names starting with it, then names containing it.
    assert_eq!(find(&store, "王芳"), vec!["王芳", "王芳芳", "赵王芳"]);
    assert_eq!(find(&store, "芳").len(), 3);
    assert_eq!(find(&store, "娜"), vec!["李娜"]);
    assert_eq!(find(&store, "李"), vec!["李娜"]);
    assert_eq!(find(&store, "伟"), vec!["张伟"]);
    assert_eq!(find(&store, "张伟"), vec!["张伟"]);
    assert_eq!(find(&store, "王 芳")[0], "王芳");
    assert_eq!(find(&store, "古丽买买"), vec!["阿依古丽·买买提"]);
    assert_eq!(find(&store, "古丽·买"), vec!["阿依古丽·买买提"]);
    assert!(find(&store, "芳王").is_empty());
    assert!(find(&store, "刘").is_empty());
}

#[test]
fn id_tail_phone_tail_and_record_number() {
    let mut people = vec![
        person("孙立", "1955-07-08", 3, Some("13912345678")),
        person("周敏", "1966-02-03", 4, Some("043112345678")),
    ];
    // A legacy 15-digit number, stored upgraded to 18 characters.
    let legacy15 = "220602550708051";
    let first17 = format!("{}19{}", &legacy15[..6], &legacy15[6..]);
    people.push(ResidentFields {
        id_number: Some(format!("{first17}{}", check_char(&first17))),
        ..person("钱老", "1955-07-08", 5, None)
    });
    let (_dir, store) = store_with(&people);
    let id = people[0].id_number.clone().unwrap();

    assert_eq!(find(&store, &id), vec!["孙立"]);
    assert_eq!(find(&store, &id.to_lowercase()), vec!["孙立"]);
    for n in [4, 5, 6] {
        let tail = &id[id.len() - n..];
        assert_eq!(
            find(&store, tail).first().map(String::as_str),
            Some("孙立"),
            "ID tail {tail}"
        );
    }
    let mut both = find(&store, "5678");
    both.sort();
    assert_eq!(both, vec!["周敏", "孙立"]);
    assert_eq!(find(&store, "13912345678"), vec!["孙立"]);
    assert_eq!(find(&store, "139-1234-5678"), vec!["孙立"]);
    assert_eq!(find(&store, "0431-12345678"), vec!["周敏"]);
    assert_eq!(find(&store, legacy15), vec!["钱老"]);
    // Typed from the start, an ID number or record number narrows as it comes.
    assert_eq!(find(&store, &id[..14]), vec!["孙立", "钱老"], "division + birth date");
    assert_eq!(find(&store, &id[..16]), vec!["孙立"]);
    assert_eq!(find(&store, "2206021011010000").len(), 3);

    let rows = store.search_residents(&actor(), "孙立", 5).unwrap();
    let record_no = rows[0].record_no.clone();
    assert_eq!(record_no, "22060210110100001");
    assert_eq!(find(&store, &record_no), vec!["孙立"]);
    assert_eq!(find(&store, "220602-101-101-00001"), vec!["孙立"]);
    assert_eq!(find(&store, "00002"), vec!["周敏"]);
    assert_eq!(find(&store, "3"), vec!["钱老"]);
    // Rows carry masked identifiers only.
    assert_eq!(rows[0].id_masked, format!("220602********{}", &id[14..]));
    assert_eq!(rows[0].phone_masked, "139****5678");
}

#[test]
fn ranking_exact_id_and_record_then_names_then_pinyin_then_tails() {
    // 孙立's ID ends in four digits that are also the end of 周敏's phone.
    let sun = person("孙立", "1955-07-08", 3, None);
    let id = sun.id_number.clone().unwrap();
    let tail = id[14..].to_string();
    let tail = if tail.ends_with('X') { "1234".to_string() } else { tail };
    let people = [
        sun,
        person("周敏", "1966-02-03", 4, Some(&format!("1390000{tail}"))),
        person("张伟明", "1970-01-01", 5, None),
        person("张伟", "1970-01-02", 7, None),
        person("李张", "1970-01-03", 9, None),
        person("安娜", "1990-01-01", 10, None),
        person("Anna", "1991-01-01", 12, None),
    ];
    let (_dir, store) = store_with(&people);
    if id.ends_with(&tail) {
        assert_eq!(find(&store, &tail), vec!["孙立", "周敏"], "ID tail before phone tail");
    }
    assert_eq!(find(&store, &id)[0], "孙立");
    assert_eq!(find(&store, "22060210110100002")[0], "周敏");
    // A surname before the same character inside a given name.
    assert_eq!(find(&store, "张"), vec!["张伟", "张伟明", "李张"]);
    // Exact spellings before longer ones.
    assert_eq!(find(&store, "zhangwei"), vec!["张伟", "张伟明"]);
    assert_eq!(find(&store, "zw")[0], "张伟");
    // A name written in Latin letters before a pinyin reading.
    assert_eq!(find(&store, "anna"), vec!["Anna", "安娜"]);
    // The limit is respected.
    assert_eq!(store.search_residents(&actor(), "z", 2).unwrap().len(), 2);
}

#[test]
fn garbage_finds_nothing_and_fails_nothing() {
    let people = [
        person("张三", "1960-01-01", 1, Some("13800000000")),
        person("王五", "1961-01-01", 3, None),
    ];
    let (_dir, store) = store_with(&people);
    let long = "张".repeat(10_000);
    let longer = "%".repeat(100_000);
    for q in [
        "%",
        "%%",
        "_",
        "'",
        "\"",
        "\\",
        "' OR '1'='1",
        "\"; DROP TABLE residents; --",
        "张%",
        "zs%",
        "%3",
        "*",
        "[张]",
        "\0",
        "😀",
        "！@#￥",
        "SELECT * FROM residents",
        long.as_str(),
        longer.as_str(),
    ] {
        let rows = store
            .search_residents(&actor(), q, 50)
            .unwrap_or_else(|e| panic!("{q:?}: {e}"));
        assert!(rows.is_empty(), "{q:?} found {:?}", names(&rows));
    }
    assert_eq!(store.resident_count().unwrap(), 2);
    // A blank box lists recent residents.
    assert_eq!(store.search_residents(&actor(), "  ", 50).unwrap().len(), 2);
}

#[test]
fn index_follows_edits_and_rebuilds_when_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    store.set_site(&site()).unwrap();
    let registry = Registry::embedded();
    let def = registry.registration().expect("registration form").clone();
    let source = registry.source(&def.id).unwrap().to_string();
    let resident = store.create_resident(&actor(), &site()).unwrap();
    // A new draft is found by its record number before anything is typed.
    assert_eq!(
        store.search_residents(&actor(), &resident.record_no, 5).unwrap()[0].id,
        resident.id
    );
    let record = store.create_record(&actor(), resident.id, &def, &source).unwrap();
    let save = |name: &str| Save {
        answers: Answers::new(),
        focus: None,
        record_date: None,
        resident: Some(ResidentFields {
            name: Some(name.into()),
            ..ResidentFields::default()
        }),
    };
    store.save_draft(&actor(), record.id, &save("周杰")).unwrap();
    assert_eq!(find(&store, "zj"), vec!["周杰"]);
    store.save_draft(&actor(), record.id, &save("吴凡")).unwrap();
    assert!(find(&store, "zj").is_empty());
    assert!(find(&store, "周").is_empty());
    assert_eq!(find(&store, "wf"), vec!["吴凡"]);
    assert_eq!(find(&store, &resident.record_no), vec!["吴凡"]);
    store.finalize(&actor(), record.id, &save("吴一凡"), None).unwrap();
    assert_eq!(find(&store, "一凡"), vec!["吴一凡"]);
    assert!(find(&store, "wf").is_empty());
    assert_eq!(store.rebuild_search_index().unwrap(), 1);
    assert_eq!(find(&store, "wyf"), vec!["吴一凡"]);
    drop(store);

    // A database whose index is missing (older jkda) is indexed on first search.
    let conn = rusqlite::Connection::open(dir.path().join("jkda.db")).unwrap();
    conn.execute_batch("DELETE FROM resident_keys; DELETE FROM settings WHERE key = 'search.keys_version';")
        .unwrap();
    drop(conn);
    let store = open(dir.path());
    assert_eq!(find(&store, "wyf"), vec!["吴一凡"]);
}

#[test]
fn bulk_imports_can_defer_the_index_and_stay_findable() {
    let (dir, mut store) = store_with(&[person("王芳", "1970-03-04", 2, None)]);
    store.defer_search_index().unwrap();
    let batch = |name: &str, seq| {
        vec![ImportResident {
            fields: person(name, "1980-01-01", seq, None),
            programmes: Vec::new(),
            records: Vec::new(),
        }]
    };
    store.import_batch(&actor(), &site(), &batch("李娜", 4)).unwrap();
    // The index is stale meanwhile: a search (here, or from another
    // process, or after a crash) rebuilds it rather than miss anyone.
    assert_eq!(find(&store, "ln"), vec!["李娜"]);
    store.import_batch(&actor(), &site(), &batch("赵敏", 6)).unwrap();
    let other = open(dir.path());
    assert_eq!(find(&other, "zm"), vec!["赵敏"]);
    drop(other);
    store.import_batch(&actor(), &site(), &batch("孙丽", 8)).unwrap();
    assert_eq!(store.finish_deferred_search_index().unwrap(), 4);
    assert_eq!(find(&store, "sl"), vec!["孙丽"]);
    assert_eq!(find(&store, "王"), vec!["王芳"]);
    // Not deferring any more: the next import is indexed as it is written.
    store.import_batch(&actor(), &site(), &batch("钱七", 10)).unwrap();
    assert_eq!(find(&store, "qq"), vec!["钱七"]);
}

#[test]
fn duplicates_hard_stop_on_id_and_warnings_on_name_birth_or_phone() {
    let a = person("王芳", "1970-03-04", 2, Some("13800001111"));
    let people = [
        a.clone(),
        // Same ID as 王芳 (legacy data: registration would have stopped it).
        ResidentFields {
            name: Some("王方".into()),
            ..a.clone()
        },
        // Same name and birth date, other ID and phone.
        person("王芳", "1970-03-04", 4, Some("13800002222")),
        // Same phone only: a household sharing one.
        person("李强", "1945-01-01", 1, Some("13800001111")),
        person("赵六", "1980-01-01", 3, Some("13800003333")),
    ];
    let (_dir, store) = store_with(&people);
    assert_eq!(store.resident_count().unwrap(), 5);

    // The hard stop: the ID number is already registered.
    let same_id = store
        .residents_with_id_number(&actor(), a.id_number.as_deref().unwrap(), None)
        .unwrap();
    assert_eq!(same_id.len(), 2);

    // Someone new being registered with 王芳's details.
    let newcomer = ResidentFields {
        phone: Some("13800001111".into()),
        ..person("王芳", "1970-03-04", 6, None)
    };
    let mut got: Vec<(String, Vec<DuplicateReason>)> = store
        .duplicate_candidates(&actor(), &newcomer, None)
        .unwrap()
        .into_iter()
        .map(|c| (c.row.name, c.reasons))
        .collect();
    got.sort();
    let mut want: Vec<(String, Vec<DuplicateReason>)> = vec![
        (
            "王芳".into(),
            vec![DuplicateReason::SameNameBirth, DuplicateReason::SamePhone],
        ),
        ("王方".into(), vec![DuplicateReason::SamePhone]),
        ("王芳".into(), vec![DuplicateReason::SameNameBirth]),
        ("李强".into(), vec![DuplicateReason::SamePhone]),
    ];
    want.sort();
    assert_eq!(got, want);
    // With the same ID the reason says so; names are compared as searched.
    let twin = ResidentFields {
        name: Some("王 芳".into()),
        ..a.clone()
    };
    let c = store.duplicate_candidates(&actor(), &twin, None).unwrap();
    assert!(c.iter().any(|c| c.reasons.contains(&DuplicateReason::SameId)));
    assert!(
        c.iter()
            .filter(|c| c.reasons.contains(&DuplicateReason::SameNameBirth))
            .count()
            == 2
    );
    // The resident being edited is not their own duplicate.
    let zhao = store.search_residents(&actor(), "赵六", 5).unwrap()[0].id;
    let me = person("赵六", "1980-01-01", 3, Some("13800003333"));
    assert_eq!(store.duplicate_candidates(&actor(), &me, None).unwrap().len(), 1);
    assert!(store
        .duplicate_candidates(&actor(), &me, Some(zhao))
        .unwrap()
        .is_empty());
    // Nobody like this: no candidates.
    assert!(store
        .duplicate_candidates(&actor(), &person("孙七", "1999-09-09", 9, Some("13999999999")), None)
        .unwrap()
        .is_empty());

    // The clean-up list: every suspected pair, strongest reason first.
    let summary = |shared_phones| -> Vec<(String, String, Vec<DuplicateReason>)> {
        let pairs = store.duplicate_pairs(&actor(), shared_phones).unwrap();
        pairs.into_iter().map(|p| (p.a.name, p.b.name, p.reasons)).collect()
    };
    use DuplicateReason::*;
    let pair = |a: &str, b: &str, r: &[DuplicateReason]| (a.to_string(), b.to_string(), r.to_vec());
    // By default a shared phone alone (a household) is not listed.
    assert_eq!(
        summary(false),
        vec![pair("王芳", "王方", &[SameId]), pair("王芳", "王芳", &[SameNameBirth])]
    );
    assert_eq!(
        summary(true),
        vec![
            pair("王芳", "王方", &[SameId, SamePhone]),
            pair("王芳", "王芳", &[SameNameBirth]),
            pair("王芳", "李强", &[SamePhone]),
            pair("王方", "李强", &[SamePhone]),
        ]
    );
}

#[test]
fn duplicates_same_name_and_phone_is_listed_as_a_likely_typo() {
    let people = [
        person("周敏", "1966-02-03", 4, Some("13800005555")),
        // The same person, birth date typed wrong.
        person("周敏", "1966-03-02", 6, Some("13800005555")),
        // Her mother, on her phone.
        person("吴秀兰", "1940-01-01", 8, Some("13800005555")),
    ];
    let (_dir, store) = store_with(&people);
    let pairs = store.duplicate_pairs(&actor(), false).unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!((pairs[0].a.name.as_str(), pairs[0].b.name.as_str()), ("周敏", "周敏"));
    assert_eq!(pairs[0].reasons, vec![DuplicateReason::SamePhone]);
    assert_eq!(store.duplicate_pairs(&actor(), true).unwrap().len(), 3);
}

/// A shell over a store with one finalized resident and a registration in
/// progress, with its form open in the app.
fn registration_in_progress(existing: &ResidentFields) -> (tempfile::TempDir, Shell, App, Clock, i64) {
    let (dir, store) = store_with(std::slice::from_ref(existing));
    let mut shell = Shell::new(store, Registry::embedded(), actor());
    let clock = Clock {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        time: chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
        instant: std::time::Instant::now(),
    };
    let mut app = App::new(Lang::Zh, Keymap::default(), Some(site()), &clock);
    shell.dispatch(&mut app, Msg::Key(key(crossterm::event::KeyCode::F(2))), &clock);
    let Screen::Form(f) = &app.screen else {
        panic!("registration form did not open")
    };
    let record_id = f.record_id;
    (dir, shell, app, clock, record_id)
}

fn key(code: crossterm::event::KeyCode) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE)
}

fn finalize_with(fields: ResidentFields, record_id: i64, anyway: bool) -> Effect {
    let save = Save {
        answers: Answers::new(),
        focus: None,
        record_date: None,
        resident: Some(fields),
    };
    if anyway {
        Effect::FinalizeAnyway { record_id, save }
    } else {
        Effect::Finalize { record_id, save }
    }
}

#[test]
fn registration_stops_on_same_id_and_asks_on_same_name_and_birth() {
    let existing = person("王芳", "1970-03-04", 2, Some("13800001111"));

    // Same ID: the hard stop, whatever else differs, even after "register anyway".
    let (_d, mut shell, mut app, clock, record_id) = registration_in_progress(&existing);
    let twin = ResidentFields {
        name: Some("王方".into()),
        phone: None,
        ..existing.clone()
    };
    for anyway in [false, true] {
        let msgs = shell.run(finalize_with(twin.clone(), record_id, anyway), &mut app, &clock);
        assert!(msgs
            .iter()
            .any(|m| matches!(m, Msg::DuplicateId { existing } if existing.len() == 1)));
        assert!(!msgs.iter().any(|m| matches!(m, Msg::Finalized { .. })));
    }

    // Same name and birth date, other ID: a question listing the candidate.
    let (_d, mut shell, mut app, clock, record_id) = registration_in_progress(&existing);
    let namesake = person("王芳", "1970-03-04", 8, None);
    let msgs = shell.run(finalize_with(namesake.clone(), record_id, false), &mut app, &clock);
    let candidates = msgs
        .into_iter()
        .find_map(|m| match m {
            Msg::DuplicateSuspects {
                record_id: r,
                candidates,
            } if r == record_id => Some(candidates),
            _ => None,
        })
        .expect("asked about the namesake");
    assert_eq!(candidates.len(), 1);
    assert_eq!(candidates[0].reasons, vec![DuplicateReason::SameNameBirth]);
    // The draft was kept, not finalized.
    assert_eq!(shell.store.resident_count().unwrap(), 1);

    // In the core: Esc goes back to the form, Enter registers anyway.
    app.update(
        Msg::DuplicateSuspects {
            record_id,
            candidates: candidates.clone(),
        },
        &clock,
    );
    assert!(matches!(app.overlays.top(), Some(jkda::app::Overlay::Suspects(_))));
    assert_eq!(app.key_contexts().first(), Some(&jkda::keymap::Context::Dialog));
    let effects = app.update(Msg::Key(key(crossterm::event::KeyCode::Esc)), &clock);
    assert!(effects.is_empty() && app.overlays.is_empty());
    assert!(matches!(app.screen, Screen::Form(_)));
    app.update(Msg::DuplicateSuspects { record_id, candidates }, &clock);
    let effects = app.update(Msg::Key(key(crossterm::event::KeyCode::Enter)), &clock);
    assert!(matches!(effects.as_slice(), [Effect::FinalizeAnyway { record_id: r, .. }] if *r == record_id));

    // Confirmed: the registration goes through.
    let msgs = shell.run(finalize_with(namesake, record_id, true), &mut app, &clock);
    assert!(
        msgs.iter().any(|m| matches!(m, Msg::Finalized { .. })),
        "finalized after confirming"
    );
    assert_eq!(shell.store.resident_count().unwrap(), 2);

    // Same phone only: asked too.
    let (_d, mut shell, mut app, clock, record_id) = registration_in_progress(&existing);
    let msgs = shell.run(
        finalize_with(person("李强", "1945-01-01", 1, Some("13800001111")), record_id, false),
        &mut app,
        &clock,
    );
    assert!(msgs
        .iter()
        .any(|m| matches!(m, Msg::DuplicateSuspects { candidates, .. }
        if candidates[0].reasons == vec![DuplicateReason::SamePhone])));

    // Nobody alike: finalized at once.
    let (_d, mut shell, mut app, clock, record_id) = registration_in_progress(&existing);
    let msgs = shell.run(
        finalize_with(person("赵六", "1980-01-01", 3, Some("13800003333")), record_id, false),
        &mut app,
        &clock,
    );
    assert!(msgs.iter().any(|m| matches!(m, Msg::Finalized { .. })));
}

/// The screen as text; a wide character's blank continuation cell skipped.
fn screen_text(app: &App, lang: Lang, width: u16, height: u16) -> String {
    use unicode_width::UnicodeWidthStr;
    let i18n = jkda::i18n::I18n::new(lang);
    let view = jkda::ui::View {
        i18n: &i18n,
        theme: jkda::ui::Theme { color: false },
    };
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| jkda::ui::draw(f, app, &view)).unwrap();
    let buf = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            out.push_str(sym);
            skip = sym.width().saturating_sub(1);
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_warning_lists_candidates_with_their_reasons_in_both_languages() {
    let existing = person("王芳", "1970-03-04", 2, Some("13800001111"));
    let (_d, mut shell, mut app, clock, record_id) = registration_in_progress(&existing);
    let msgs = shell.run(
        finalize_with(person("王芳", "1970-03-04", 8, Some("13800001111")), record_id, false),
        &mut app,
        &clock,
    );
    for m in msgs {
        app.update(m, &clock);
    }
    let zh = screen_text(&app, Lang::Zh, 80, 24);
    for text in [
        "可能已经建过档",
        "王芳",
        "1970-03-04",
        "220602********",
        "138****1111",
        "姓名和出生日期相同、电话相同",
        "Esc / n",
    ] {
        assert!(zh.contains(text), "{text} missing:\n{zh}");
    }
    let en = screen_text(&app, Lang::En, 80, 24);
    for text in [
        "Possibly registered already",
        "same name and birth date, same phone",
        "Esc / n go back",
    ] {
        assert!(en.contains(text), "{text} missing:\n{en}");
    }
}

#[test]
fn command_line_search_and_duplicates() {
    let people = [
        person("王芳", "1970-03-04", 2, Some("13800001111")),
        person("王芳", "1970-03-04", 4, None),
        person("张三", "1960-01-01", 1, Some("13912345678")),
    ];
    let (dir, store) = store_with(&people);
    drop(store);

    let out = common::run_jkda(dir.path(), &["residents", "search", "wf", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], "王芳");
    assert!(rows[0]["id_masked"].as_str().unwrap().contains("********"));
    assert!(rows[0]["age"].as_u64().unwrap() >= 55);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(people[0].id_number.as_deref().unwrap()));

    let out = common::run_jkda(dir.path(), &["residents", "search", "zhang", "san", "--limit", "1"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("张三") && text.contains("139****5678"), "{text}");

    let out = common::run_jkda(dir.path(), &["residents", "search", "%'"]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());

    let out = common::run_jkda(dir.path(), &["residents", "duplicates", "--json"]);
    assert!(out.status.success());
    let pairs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pairs.as_array().unwrap().len(), 1);
    assert_eq!(pairs[0]["reasons"][0], "same_name_birth");
    let out = common::run_jkda(dir.path(), &["--lang", "en", "residents", "duplicates"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("same name and birth date"));

    // Each command left one audit entry with the number of results, not the query.
    let store = open(dir.path());
    let audit = store.audit_entries(0, 10_000).unwrap();
    let searches: Vec<_> = audit.iter().filter(|e| e.action == "search").collect();
    assert_eq!(searches.len(), 3);
    assert_eq!(
        (searches[0].entity.as_str(), searches[0].entity_id.as_str()),
        ("residents", "2")
    );
    assert_eq!(searches[2].entity_id, "0");
    assert!(audit
        .iter()
        .all(|e| !e.entity_id.contains("wf") && !e.entity_id.contains('%')));
    assert_eq!(audit.iter().filter(|e| e.action == "duplicates").count(), 2);
    assert_eq!(jkda::store::verify_chain(&audit), None);
}

#[test]
fn search_as_you_type_in_the_tui() {
    let people = [
        person("单田芳", "1960-01-01", 1, None),
        person("张三", "1960-01-02", 3, Some("13912345678")),
    ];
    let dir = tempfile::tempdir().unwrap();
    installed_with(dir.path(), &people);
    let mut tui = common::Tui::start(dir.path(), &[], 100, 30);
    common::login(&mut tui, "admin", common::ADMIN_PW);
    tui.wait_for("张三");
    for c in ["s", "t", "f"] {
        tui.send(c);
    }
    let screen = wait_until(&tui, |s| s.contains("单田芳") && !s.contains("张三"));
    assert!(screen.contains("220602********"), "{screen}");
    tui.send(common::ESC);
    tui.send("5678");
    wait_until(&tui, |s| s.contains("张三") && !s.contains("单田芳"));
    tui.send(common::CTRL_Q);
    assert!(tui.wait_exit());
}

/// An encrypted installation (site, administrator) holding `people`.
fn installed_with(dir: &Path, people: &[ResidentFields]) {
    let mut session = jkda::session::install(dir, Some(&site()), "admin", "管理员", &common::ADMIN_PW.into(), true)
        .unwrap_or_else(|m| panic!("install: {m:?}"));
    let batch: Vec<ImportResident> = people
        .iter()
        .map(|f| ImportResident {
            fields: f.clone(),
            programmes: Vec::new(),
            records: Vec::new(),
        })
        .collect();
    session.store.import_batch(&session.actor, &site(), &batch).unwrap();
}

fn wait_until(tui: &common::Tui, ok: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = tui.screen();
        if ok(&s) {
            return s;
        }
        assert!(std::time::Instant::now() < deadline, "screen never matched:\n{s}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn record_numbers_stay_unique_when_two_processes_register_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // Install first (encrypted, as a clinic runs): both processes then only register.
    installed_with(dir.path(), &[]);
    let spawn = |seed: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jkda"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--user", "admin", "demo", "--residents", "1200", "--seed", seed])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn jkda");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{}\n", common::ADMIN_PW).as_bytes())
            .unwrap();
        child
    };
    let (a, b) = (spawn("1"), spawn("2"));
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    let session =
        jkda::session::login(dir.path(), "admin", &common::ADMIN_PW.into()).unwrap_or_else(|m| panic!("login: {m:?}"));
    let store = session.store;
    let mut numbers: Vec<String> = store
        .search_residents(&actor(), "", 10_000)
        .unwrap()
        .into_iter()
        .map(|r| r.record_no)
        .collect();
    numbers.sort();
    assert_eq!(numbers.len(), 2400);
    // A demo this size spreads over ten villages, each numbering its own residents.
    let mut by_prefix: std::collections::BTreeMap<&str, Vec<u32>> = Default::default();
    for n in &numbers {
        assert!(
            n.len() == 17 && n.starts_with("220602") && n.bytes().all(|b| b.is_ascii_digit()),
            "{n}"
        );
        by_prefix.entry(&n[..12]).or_default().push(n[12..].parse().unwrap());
    }
    assert!(by_prefix.contains_key(site().prefix().as_str()));
    assert_eq!(by_prefix.len(), 10);
    for (prefix, serials) in &by_prefix {
        assert_eq!(
            *serials,
            (1..=serials.len() as u32).collect::<Vec<u32>>(),
            "{prefix}: unique and contiguous"
        );
    }
    // Both processes wrote every resident with its audit entry, and the chain holds.
    let audit = store.audit_entries(0, 1_000_000).unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "import").count(), 2400);
    assert_eq!(jkda::store::verify_chain(&audit), None);
    // Every resident is findable by record number.
    assert_eq!(
        store.search_residents(&actor(), &numbers[1234], 5).unwrap()[0].record_no,
        numbers[1234]
    );
}
