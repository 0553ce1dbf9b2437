//! Issue 11, the rest of "what a new user hits at the clinic desk": the
//! real binary in a pseudo-terminal or on the command line, the real hub on
//! 127.0.0.1:0, and what was stored read back from the encrypted database.
//! Item 3: a duplicate ID number is caught when its item is left, and drafts
//! are marked as drafts everywhere. Item 5: upload settings written while
//! jkda runs are picked up by the upload list. Item 7: `jkda sync --status`
//! is honest for a scheduler and speaks local time; the upload list says
//! whose record it is; audit times carry their offset.

mod common;
mod sync_support;

use common::*;
use jkda::store::{Actor, Store};
use std::path::Path;

const CTRL_T: &str = "\x14";
const CTRL_Y: &str = "\x19";
const SHIFT_TAB: &str = "\x1b[Z";
const PAGE_DOWN: &str = "\x1b[6~";

fn open_store(dir: &Path) -> Store {
    let mut keyring = jkda::store::crypt::Keyring::load(dir).unwrap().unwrap();
    let key = keyring.unlock("admin", &ADMIN_PW.into(), chrono::Utc::now()).unwrap();
    Store::open_with_key(&dir.join("jkda.db"), Some(&key)).unwrap()
}

/// Runs jkda as li (password on standard input) with extra environment.
fn jkda_as_li(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    jkda_as(dir, "li", DOCTOR_PW, args, env)
}

fn jkda_as(dir: &Path, user: &str, password: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_jkda"));
    cmd.arg("--data-dir").arg(dir).arg("--user").arg(user).args(args);
    cmd.env_remove("JKDA_SITE_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jkda");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().expect("jkda output")
}

fn out(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A finalized registration typed by li through the store (it is then
/// waiting in the outbox, as one finalized at the desk would be). Returns
/// the resident's name.
fn finalize_registration(dir: &Path, name: &str) -> String {
    use jkda::demo::{complete_required, id_number};
    use jkda::form::{rules::Context, Answers, Registry};
    use jkda::store::{ResidentFields, Save};
    use rand::SeedableRng;
    let mut store = open_store(dir);
    let actor = Actor::new("li");
    let site = store.site().unwrap().unwrap();
    let registry = Registry::embedded();
    let def = registry.registration().unwrap().clone();
    let src = registry.source(&def.id).unwrap().to_string();
    let r = store.create_resident(&actor, &site).unwrap();
    let rec = store.create_record(&actor, r.id, &def, &src).unwrap();
    let seed = name.chars().map(u64::from).sum::<u64>();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let birth = chrono::NaiveDate::from_ymd_opt(1956, 4, 12).unwrap();
    let fields = ResidentFields {
        name: Some(name.into()),
        sex: Some("2".into()),
        birth_date: Some("1956-04-12".into()),
        id_number: Some(id_number("220602", birth, false, &mut rng)),
        phone: Some("13800007777".into()),
        address: Some("东山村三组7号".into()),
        village: Some("东山村".into()),
    };
    let b = &def.resident;
    let mut a = Answers::new();
    for (slot, value) in [
        (&b.name, &fields.name),
        (&b.sex, &fields.sex),
        (&b.birth_date, &fields.birth_date),
        (&b.id_number, &fields.id_number),
        (&b.phone, &fields.phone),
        (&b.address, &fields.address),
        (&b.village, &fields.village),
    ] {
        if let (Some(p), Some(v)) = (slot, value) {
            a.set_text(p, v);
        }
    }
    let date = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    if let Some(df) = &def.date_field {
        a.set_text(df, "2026-10-01");
    }
    let ctx = Context {
        today: date,
        sex: fields.sex.clone(),
        birth_date: Some(birth),
    };
    complete_required(&def, &mut a, &ctx, date, &mut rng);
    let save = Save {
        answers: a,
        focus: None,
        record_date: Some("2026-10-01".into()),
        resident: Some(fields),
    };
    store.finalize(&actor, rec.id, &save, None).unwrap();
    assert!(store.pending_outbox().unwrap() >= 1);
    name.to_string()
}

fn write_config(dir: &Path, url: &str, token: &str) {
    std::fs::write(
        dir.join("config.toml"),
        format!("server_url = \"{url}\"\nsite_token = \"{token}\"\n"),
    )
    .unwrap();
}

/// `2026-12-04 10:42 +08:00` (or with seconds): a local time with its offset.
fn is_local_stamp(s: &str, offset: &str, seconds: bool) -> bool {
    let Some(time) = s.strip_suffix(&format!(" {offset}")) else {
        return false;
    };
    let format = if seconds { "%Y-%m-%d %H:%M:%S" } else { "%Y-%m-%d %H:%M" };
    chrono::NaiveDateTime::parse_from_str(time, format).is_ok()
}

// ------------------------------------------------ item 3: duplicates at once

/// The ID number of a resident who already has a record is refused as soon
/// as its item is left, long before the form is complete: Esc goes back to
/// correct it, Enter opens the existing resident. The abandoned registration
/// is a draft, and says so in `jkda residents search` and `duplicates`.
#[test]
fn a_registered_id_number_is_caught_when_its_item_is_left() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 3);
    let (existing_name, existing_id) = {
        let store = open_store(dir.path());
        let actor = Actor::new("test");
        let row = store.recent_residents(&actor, 1).unwrap().remove(0);
        let r = store.resident(&actor, row.id).unwrap();
        (r.name.unwrap(), r.id_number.unwrap())
    };

    let mut tui = Tui::start(dir.path(), &[], 80, 24);
    login(&mut tui, "li", DOCTOR_PW);
    tui.wait_for("查找");
    tui.send(CTRL_R);
    tui.wait_for("居民健康档案封面");
    tui.send("欧阳重复");
    tui.send(PAGE_DOWN);
    tui.wait_for("[2/");
    tui.send(TAB);
    tui.send(TAB);
    tui.send(&existing_id);
    tui.wait_for(&existing_id);
    tui.send(TAB);
    let dialog = tui.wait_for("该身份证号已建档");
    let named = dialog
        .lines()
        .find(|l| l.contains(&existing_name))
        .unwrap_or_else(|| panic!("the existing resident is named:\n{dialog}"));
    assert!(
        named.contains("********") && !named.contains(&existing_id),
        "the existing resident's ID number is masked: {named}"
    );
    // Asked long before finalizing: most required items are still empty.
    let required = dialog
        .lines()
        .find_map(|l| l.split("必填 ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .expect("required counter");
    let (done, all) = required.split_once('/').unwrap();
    assert!(done.parse::<u32>().unwrap() < all.parse::<u32>().unwrap(), "{dialog}");

    // Esc: back to the form to correct the number.
    tui.send(ESC);
    let back = tui.wait_for("[2/");
    assert!(!back.contains("该身份证号已建档"), "{back}");
    assert!(back.contains("身份证号"), "{back}");
    // Left again unchanged, it is asked again; Enter opens the existing resident.
    tui.send(SHIFT_TAB);
    tui.send(TAB);
    tui.wait_for("该身份证号已建档");
    tui.send(ENTER);
    let page = tui.wait_for("档案编号");
    assert!(page.contains(&existing_name), "the existing resident's page:\n{page}");
    assert!(!page.contains("该身份证号已建档"), "{page}");
    tui.send(CTRL_Q);
    assert!(tui.wait_exit(), "jkda did not exit cleanly");

    // The abandoned registration is a draft and nothing else.
    let store = open_store(dir.path());
    assert_eq!(store.resident_count().unwrap(), 3, "nobody was registered twice");
    drop(store);

    let search = jkda_as_li(dir.path(), &["residents", "search", "欧阳重复"], &[]);
    assert!(search.status.success(), "{}", out(&search));
    let text = String::from_utf8_lossy(&search.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("欧阳重复"))
        .unwrap_or_else(|| panic!("{}", out(&search)));
    assert!(line.contains("（建档中）"), "the draft is marked: {line}");
    let en = jkda_as_li(dir.path(), &["--lang", "en", "residents", "search", "欧阳重复"], &[]);
    assert!(
        String::from_utf8_lossy(&en.stdout).contains("(registering)"),
        "{}",
        out(&en)
    );
    let json = jkda_as_li(dir.path(), &["residents", "search", "欧阳重复", "--json"], &[]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows[0]["status"], "draft", "{rows}");
    // A finalized resident is not marked.
    let other = jkda_as_li(dir.path(), &["residents", "search", &existing_name], &[]);
    let other = String::from_utf8_lossy(&other.stdout);
    assert!(
        other
            .lines()
            .filter(|l| l.contains(&existing_name))
            .all(|l| !l.contains("（建档中）")),
        "{other}"
    );

    // `residents duplicates` sees the draft with the same ID number, marked.
    let dups = jkda_as_li(dir.path(), &["residents", "duplicates"], &[]);
    assert!(dups.status.success(), "{}", out(&dups));
    let text = String::from_utf8_lossy(&dups.stdout);
    assert!(text.contains("身份证号相同") || text.contains("同一身份证号"), "{text}");
    assert!(
        text.lines().any(|l| l.contains("欧阳重复") && l.contains("（建档中）")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.contains(&existing_name)), "{text}");
    let json = jkda_as_li(dir.path(), &["residents", "duplicates", "--json"], &[]);
    let pairs: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let pair = pairs
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["a"]["name"] == "欧阳重复" || p["b"]["name"] == "欧阳重复")
        .unwrap_or_else(|| panic!("{pairs}"));
    assert_eq!(pair["reasons"][0], "same_id");
    let statuses = [pair["a"]["status"].as_str(), pair["b"]["status"].as_str()];
    assert!(statuses.contains(&Some("draft")), "{pair}");
    assert!(!String::from_utf8_lossy(&json.stdout).contains(&existing_id));
}

// ------------------------------------------------ item 5: upload set up while running

/// Started without upload settings, the upload list says plainly that
/// upload is not set up; once `config.toml` names the hub and the site's
/// token, `s` in the list uploads the waiting record without a restart.
#[test]
fn upload_settings_written_while_running_are_used_by_the_upload_list() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 0);
    let name = finalize_registration(dir.path(), "孙秀兰");
    let hub_dir = tempfile::tempdir().unwrap();

    let mut tui = Tui::start(dir.path(), &[], 80, 24);
    login(&mut tui, "li", DOCTOR_PW);
    tui.wait_for("待上传 1");
    tui.send(CTRL_Y);
    let list = tui.wait_for("尚未设置上传");
    assert!(list.contains("server_url"), "says what to set:\n{list}");
    // Whose record it is, masked as lists mask names, and which form.
    let row = list
        .lines()
        .find(|l| l.contains("待上传") && l.contains("孙**"))
        .unwrap_or_else(|| panic!("no row naming the resident:\n{list}"));
    assert!(row.contains("居民健康档案"), "{row}");
    assert!(!list.contains(&name), "the name is masked in the list:\n{list}");
    // s without settings says so too (on the status line), not nothing.
    tui.send("s");
    let screen = tui.wait_for("! 尚未设置上传");
    assert!(screen.contains("config.toml"), "{screen}");

    // The administrator starts the hub, adds the site and writes the settings.
    let platform = sync_support::Platform::start(hub_dir.path());
    write_config(dir.path(), &platform.url(), &platform.tokens[0]);
    tui.send("s");
    let done = tui.wait_for("没有待上传或失败的记录");
    assert!(!done.contains("尚未设置上传"), "{done}");
    let status = tui.wait_for("待上传 0");
    assert!(status.contains("上次上传"), "{status}");
    tui.send(ESC);
    tui.send(CTRL_Q);
    assert!(tui.wait_exit(), "jkda did not exit cleanly");

    let hub = platform.conn();
    assert_eq!(
        jkda::hub::storage::count(&hub, "QuestionnaireResponse").unwrap(),
        1,
        "the record is on the hub"
    );
    let store = open_store(dir.path());
    let s = store.outbox_status().unwrap();
    assert_eq!((s.pending, s.failed, s.sent), (0, 0, 1));
}

/// The same in English, and a broken config.toml is reported, not taken
/// as "no settings".
#[test]
fn the_upload_list_says_not_set_up_in_english() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 0);
    let mut tui = Tui::start(dir.path(), &["--lang", "en"], 80, 24);
    login_en(&mut tui, "li", DOCTOR_PW);
    tui.send(CTRL_Y);
    let list = tui.wait_for("Upload is not set up");
    assert!(list.contains("config.toml"), "{list}");
    std::fs::write(dir.path().join("config.toml"), "server_url = [\n").unwrap();
    tui.send("s");
    tui.wait_for("config.toml");
    let screen = tui.wait_for("line 1");
    assert!(screen.contains('!'), "{screen}");
    tui.send(ESC);
    tui.send(CTRL_Q);
    assert!(tui.wait_exit());
}

fn login_en(tui: &mut Tui, login: &str, password: &str) {
    tui.wait_for("Log in");
    tui.send(login);
    tui.send(TAB);
    tui.send(password);
    tui.send(ENTER);
    tui.wait_for("To upload");
}

// ------------------------------------------------ item 7: honest and local status

/// For a scheduler: 2 while upload is not set up, 1 while anything waits,
/// 0 only once everything is confirmed; the last upload in local time with
/// its offset; and no "will retry" from a command that will not.
#[test]
fn sync_status_exit_codes_local_time_and_no_false_promise() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 0);
    finalize_registration(dir.path(), "周桂英");
    let shanghai = [("TZ", "Asia/Shanghai")];

    let status = jkda_as_li(dir.path(), &["sync", "--status"], &shanghai);
    assert_eq!(status.status.code(), Some(2), "not configured:\n{}", out(&status));
    assert!(out(&status).contains("尚未设置上传"), "{}", out(&status));

    let hub_dir = tempfile::tempdir().unwrap();
    let mut platform = sync_support::Platform::start(hub_dir.path());
    write_config(dir.path(), &platform.url(), &platform.tokens[0]);
    let status = jkda_as_li(dir.path(), &["sync", "--status"], &shanghai);
    assert_eq!(status.status.code(), Some(1), "one waiting:\n{}", out(&status));
    let json = jkda_as_li(dir.path(), &["sync", "--status", "--json"], &shanghai);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["pending"], 1, "{v}");

    // Uploaded and confirmed: exit 0.
    let up = jkda_as_li(dir.path(), &["sync"], &shanghai);
    assert_eq!(up.status.code(), Some(0), "{}", out(&up));
    let status = jkda_as_li(dir.path(), &["--lang", "en", "sync", "--status"], &shanghai);
    assert_eq!(status.status.code(), Some(0), "{}", out(&status));
    let text = String::from_utf8_lossy(&status.stdout).to_string();
    let last = text
        .lines()
        .find_map(|l| l.strip_prefix("Last successful upload: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        is_local_stamp(last, "+08:00", false),
        "local time with offset: {last:?}"
    );
    assert!(!text.contains("run `jkda sync` again"), "{text}");
    // Elsewhere, the same instant in that zone.
    let utc = jkda_as_li(dir.path(), &["--lang", "en", "sync", "--status"], &[("TZ", "UTC")]);
    let text = String::from_utf8_lossy(&utc.stdout).to_string();
    let last_utc = text
        .lines()
        .find_map(|l| l.strip_prefix("Last successful upload: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(is_local_stamp(last_utc, "+00:00", false), "{last_utc:?}");
    assert_ne!(last, last_utc);
    // A new record while the hub is down: it waits, the exit says so, and
    // the advice is what to run, not a retry a one-shot command never makes.
    finalize_registration(dir.path(), "吴秀珍");
    platform.stop();
    let down = jkda_as_li(dir.path(), &["--lang", "en", "sync"], &shanghai);
    assert_eq!(down.status.code(), Some(1), "{}", out(&down));
    let text = out(&down);
    assert!(!text.contains("will retry"), "{text}");
    assert!(text.contains("run `jkda sync` again"), "{text}");
    assert!(text.contains("jkda sync --status"), "{text}");
    let zh = jkda_as_li(dir.path(), &["sync"], &shanghai);
    assert_eq!(zh.status.code(), Some(1));
    assert!(
        !out(&zh).contains("稍后自动重试") && !out(&zh).contains("自动重试"),
        "{}",
        out(&zh)
    );
    assert!(out(&zh).contains("jkda sync --status"), "{}", out(&zh));

    let status = jkda_as_li(dir.path(), &["sync", "--status"], &shanghai);
    assert_eq!(status.status.code(), Some(1), "{}", out(&status));
}

/// `jkda audit show` and the audit screen print each time in the PC's
/// time zone with the offset.
#[test]
fn audit_times_are_local_with_their_offset() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), 1);
    let shown = jkda_as(
        dir.path(),
        "admin",
        ADMIN_PW,
        &["audit", "show"],
        &[("TZ", "Asia/Shanghai")],
    );
    assert!(shown.status.success(), "{}", out(&shown));
    let text = String::from_utf8_lossy(&shown.stdout).to_string();
    assert!(text.lines().count() > 3, "{text}");
    for line in text.lines() {
        let at = line.split('\t').nth(1).unwrap_or_else(|| panic!("{line}"));
        assert!(is_local_stamp(at, "+08:00", true), "{line}");
    }

    std::env::set_var("TZ", "Asia/Shanghai");
    let mut tui = Tui::start(dir.path(), &[], 80, 24);
    std::env::remove_var("TZ");
    login(&mut tui, "admin", ADMIN_PW);
    tui.wait_for("查找");
    tui.send(CTRL_T);
    let screen = tui.wait_for("+08:00");
    let rows: Vec<&str> = screen.lines().filter(|l| l.contains("+08:00")).collect();
    assert!(rows.len() > 3, "{screen}");
    for row in rows {
        let at: String = row.chars().take(26).collect();
        assert!(is_local_stamp(&at, "+08:00", true), "{row:?}");
    }
    tui.send(CTRL_Q);
    assert!(tui.wait_exit());
}

/// Right after finalizing, the status line does not say "waiting to
/// upload" next to "to upload: 0" once the uploader has sent it.
#[test]
fn the_status_line_does_not_contradict_itself_after_an_upload() {
    use jkda::app::{App, Clock, Msg};
    use jkda::i18n::{I18n, Lang};
    use jkda::keymap::Keymap;
    use jkda::store::{OutboxStatus, SiteConfig};
    use jkda::sync::SyncEvent;
    use jkda::ui::{Theme, View};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    for lang in [Lang::Zh, Lang::En] {
        let site = SiteConfig {
            division: "220602".into(),
            township: "101".into(),
            village: "101".into(),
            name: "测试村卫生室".into(),
        };
        let clock = Clock {
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
            time: chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
            instant: std::time::Instant::now(),
        };
        let mut app = App::new(lang, Keymap::default(), Some(site), &clock);
        let _ = app.update(
            Msg::Finalized {
                record_id: 1,
                resident_id: 1,
            },
            &clock,
        );
        let status = OutboxStatus {
            sent: 1,
            last_success: Some("2026-11-29T13:05:00.000Z".into()),
            ..Default::default()
        };
        let _ = app.update(
            Msg::Sync(SyncEvent::Ran {
                sent: 1,
                failed: 0,
                conflicts: 0,
                status,
                error: None,
            }),
            &clock,
        );
        let i18n = I18n::new(lang);
        let view = View {
            i18n: &i18n,
            theme: Theme { color: false },
        };
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|f| jkda::ui::draw(f, &app, &view)).unwrap();
        let buf = terminal.backend().buffer().clone();
        // Wide characters take two cells; the second is skipped.
        let mut footer = String::new();
        let mut skip = 0;
        for x in 0..80 {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, 22)].symbol();
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
            footer.push_str(sym);
        }
        let (count, waiting) = match lang {
            Lang::Zh => ("待上传 0", "等待上传"),
            Lang::En => ("To upload: 0", "waiting to upload"),
        };
        assert!(footer.contains(count), "{footer}");
        assert!(!footer.contains(waiting), "{footer}");
    }
}
