//! The bureau's supervision pages over loopback: who may see what (bureau
//! accounts by HTTP Basic, a site's token only its own page, neither where
//! the other belongs), the ranked table and site pages with real uploads,
//! entering a spot-check result through the page's form, escaping of
//! what admins type, and the `jkda-hub user` commands.

mod fhir_fixtures;
mod hub_web_support;

use hub_web_support::*;
use std::time::{Duration, Instant};

fn page(p: &Platform, path: &str) -> String {
    format!("{}{path}", p.url())
}

#[test]
fn without_credentials_or_with_wrong_ones_the_pages_ask_for_a_bureau_login() {
    let dir = tempfile::tempdir().unwrap();
    let p = Platform::start(dir.path());
    for path in ["/supervision", "/supervision/site/220602101001", "/supervision/nothing"] {
        let r = get(&page(&p, path), None);
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Basic realm="jkda-hub supervision", charset="UTF-8""#)
        );
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        assert!(
            r.body.contains("jkda-hub user add"),
            "the page says how to get an account"
        );
    }
    // A wrong password and an unknown name: the same answer, after a wait.
    for auth in [
        basic(USER, "not the password"),
        basic("nobody", PASSWORD),
        basic("", ""),
    ] {
        let started = Instant::now();
        let r = get(&page(&p, "/supervision"), Some(&auth));
        assert_eq!(r.status, 401);
        assert!(r.header("www-authenticate").is_some());
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "wrong credentials are slowed down"
        );
    }
    assert_eq!(get(&page(&p, "/supervision"), Some("Bearer not-a-token")).status, 401);
    assert_eq!(get(&page(&p, "/supervision"), Some("Basic !!!")).status, 401);
}

#[test]
fn a_bureau_account_sees_the_ranking_and_every_site_page() {
    let dir = tempfile::tempdir().unwrap();
    let p = Platform::filled(dir.path());
    let report = p.report();
    let r = get(&page(&p, &format!("/supervision?period={PERIOD}")), Some(&bureau()));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
    let html = &r.body;
    assert!(html.contains("2026年3月 各机构督导排名"));
    assert!(
        !html.contains("<script"),
        "no script at all, and the hostile name escaped"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;卫生室"));
    for s in &report.sites {
        assert!(
            html.contains(&format!(r#"href="/supervision/site/{}?period=2026-03""#, s.code)),
            "link to {}",
            s.code
        );
        assert!(
            html.contains(&format!("<strong>{:.1}</strong>", s.score)),
            "score of {}",
            s.code
        );
    }
    assert_eq!(html.matches(r#"<tr class="flagged">"#).count(), 3, "the bottom three");
    assert!(html.contains("规范管理率") && html.contains("控制率"));
    assert!(html.contains("各乡镇（街道）管理指标") && html.contains("220602101"));
    assert!(html.contains(&report.city.records.to_string()));

    // Without a period: the month of the hub's clock (April 2026).
    let r = get(&page(&p, "/supervision"), Some(&bureau()));
    assert!(r.body.contains("2026年4月"), "the default month");
    // In English.
    let r = get(&page(&p, "/supervision?period=2026-03&lang=en"), Some(&bureau()));
    assert!(r.body.contains("Site ranking, March 2026"));
    assert!(r.body.contains(r#"<html lang="en">"#));

    for (code, name) in SITES {
        let r = get(
            &page(&p, &format!("/supervision/site/{code}?period={PERIOD}")),
            Some(&bureau()),
        );
        assert_eq!(r.status, 200, "{code}");
        assert!(r.body.contains(&jkda_escape(name)), "{code}");
        assert_eq!(r.body.matches("<svg").count(), 4, "four charts on {code}");
        assert!(r.body.contains("抽查清单"));
    }
    // Site C's late January and February arrive in one burst, D's blood
    // pressures all end in 0: both shown on their pages.
    let d = get(
        &page(&p, &format!("/supervision/site/{D}?period={PERIOD}")),
        Some(&bureau()),
    );
    assert!(d.body.contains("血压尾数偏好"), "{}", d.body);
    // E classifies 152/96 as satisfactory: its problems are in words.
    let e = get(
        &page(&p, &format!("/supervision/site/{E}?period={PERIOD}")),
        Some(&bureau()),
    );
    assert!(e.body.contains("分类与血压值不符"), "{}", e.body);

    assert_eq!(
        get(&page(&p, "/supervision/site/nosuchsite"), Some(&bureau())).status,
        404
    );
    assert_eq!(
        get(&page(&p, "/supervision?period=2026-13"), Some(&bureau())).status,
        400
    );
    assert_eq!(get(&page(&p, "/supervision/elsewhere"), Some(&bureau())).status, 404);
    assert_eq!(get(&page(&p, "/supervision/site/a%0Db"), Some(&bureau())).status, 404);
    let wrong_method = post_form(&page(&p, "/supervision"), &bureau(), &[], &[]);
    assert_eq!(wrong_method.status, 405);
}

fn jkda_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[test]
fn a_site_token_sees_only_its_own_page_and_a_bureau_account_never_the_fhir_api() {
    let dir = tempfile::tempdir().unwrap();
    let p = Platform::filled(dir.path());
    let a = bearer(p.token(A));
    let own = get(&page(&p, &format!("/supervision/site/{A}?period={PERIOD}")), Some(&a));
    assert_eq!(own.status, 200);
    assert!(own.body.contains("东山村卫生室"));
    assert!(
        !own.body.contains(r#"<form class="spot""#),
        "no spot-check forms for a site"
    );
    assert!(
        !own.body.contains(r#"<tr id="spot-"#) && !own.body.contains("22060210100000"),
        "nor the sample drawn for the next visit"
    );
    assert!(!own.body.contains(r#"href="/supervision?"#), "no link to the ranking");
    for path in [
        "/supervision".to_string(),
        format!("/supervision?period={PERIOD}"),
        format!("/supervision/site/{B}"),
        format!("/supervision/site/{D}?period={PERIOD}"),
    ] {
        assert_eq!(get(&page(&p, &path), Some(&a)).status, 403, "{path}");
    }
    let post = post_form(
        &page(&p, &format!("/supervision/site/{A}/spotcheck")),
        &a,
        &[("record", "x"), ("result", "pass"), ("note", "")],
        &[],
    );
    assert_eq!(post.status, 403, "sites do not enter spot-check results");

    // The FHIR API takes site tokens only.
    let fhir = [
        "/Patient?identifier=220602197001011234",
        "/Patient/00000000-0000-4000-8000-000000000000",
        "/QuestionnaireResponse?subject=Patient/x",
    ];
    for path in fhir {
        let r = get(&page(&p, path), Some(&bureau()));
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        // The account's password as a bearer token is no token either.
        assert_eq!(get(&page(&p, path), Some(&bearer(PASSWORD))).status, 401);
        assert_eq!(get(&page(&p, path), Some(&a)).status, 200, "{path} with a site token");
    }
    let bundle = r#"{"resourceType":"Bundle","type":"transaction","entry":[]}"#;
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let r = agent
        .post(page(&p, "/"))
        .header("Authorization", &bureau())
        .header("Content-Type", "application/fhir+json")
        .send(bundle)
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "a bureau account cannot write");
}

#[test]
fn a_spot_check_result_entered_on_the_page_shows_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = Platform::filled(dir.path());
    let site_page = page(&p, &format!("/supervision/site/{A}?period={PERIOD}"));
    let before = get(&site_page, Some(&bureau()));
    let records = input_values(&before.body, "record");
    assert!(!records.is_empty(), "the spot-check list has a form per record");
    assert_eq!(records.len(), before.body.matches(r#"<form class="spot""#).count());
    // The same draw as `jkda-hub spotcheck` for the site and month.
    let conn = jkda::hub::storage::open(&p.db).unwrap();
    let seed = jkda::hub::cli::default_seed(A, Some(PERIOD));
    let drawn = jkda::hub::spotchecks::spot_sample(
        &conn,
        &jkda::form::Registry::embedded(),
        A,
        20,
        seed,
        Some(PERIOD),
        jkda::i18n::Lang::Zh,
    )
    .unwrap();
    let drawn: Vec<String> = drawn.into_iter().map(|i| i.record).collect();
    assert_eq!(records, drawn);

    let record = &records[0];
    let action = page(&p, &format!("/supervision/site/{A}/spotcheck"));
    let fields = [
        ("record", record.as_str()),
        ("result", "fail"),
        ("note", "居民说本月未随访 <b>"),
        ("period", PERIOD),
        ("lang", "zh-CN"),
    ];
    // A post from another site's page is refused, even with the credentials.
    let forged = post_form(&action, &bureau(), &fields, &[("Origin", "http://evil.example")]);
    assert_eq!(forged.status, 403);
    let forged = post_form(&action, &bureau(), &fields, &[("Sec-Fetch-Site", "cross-site")]);
    assert_eq!(forged.status, 403);
    let origin = p.url();
    let r = post_form(
        &action,
        &bureau(),
        &fields,
        &[("Origin", origin.as_str()), ("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some(format!("/supervision/site/{A}?period={PERIOD}").as_str())
    );

    let after = get(&site_page, Some(&bureau()));
    assert!(after
        .body
        .contains(r#"<span class="fail">不合格</span> 居民说本月未随访 &lt;b&gt;"#));
    assert!(after.body.contains(&format!("由 {USER} 抽查")));
    assert!(
        after.body.contains("2026-04-02"),
        "dated by the hub's clock (Beijing day)"
    );
    // The site sees the checked record with its result, and only that one.
    let own = get(&site_page, Some(&bearer(p.token(A))));
    assert!(own.body.contains("居民说本月未随访"));
    assert_eq!(own.body.matches(r#"<tr id="spot-"#).count(), 1);
    // The quality figure counts it.
    let site = p.report().sites.into_iter().find(|s| s.code == A).unwrap();
    assert_eq!((site.quality.spot_checked, site.quality.spot_failed), (1, 1));

    let bad = post_form(&action, &bureau(), &[("record", record), ("result", "maybe")], &[]);
    assert_eq!(bad.status, 400);
    let unknown = post_form(&action, &bureau(), &[("record", "nope"), ("result", "pass")], &[]);
    assert_eq!(unknown.status, 404);

    // The access log: who, but no query values, no record ids, no notes.
    let log = p.log_text();
    assert!(
        log.contains("POST /supervision/site/220602101001/spotcheck 303"),
        "{log}"
    );
    assert!(log.contains(&format!("site=bureau:{USER}")));
    assert!(log.contains(&format!("site={A}")));
    assert!(log.contains("GET /supervision/site/220602101001?period= 200"));
    assert!(!log.contains(PERIOD) && !log.contains(record.as_str()) && !log.contains("未随访"));
}

#[test]
fn the_user_commands_add_list_and_remove_bureau_accounts() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.sqlite");
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_jkda-hub"))
            .arg("--db")
            .arg(&db)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A command refused before it reads the password closes its input.
        let _ = std::io::Write::write_all(child.stdin.as_mut().unwrap(), stdin.as_bytes());
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = run(&["user", "add", "li"], "short\n");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("too short"));
    assert_eq!(run(&["user", "add", "li"], "\n").0, 2);
    assert_eq!(run(&["user", "add", "li:x"], "a good long password\n").0, 2);
    assert_eq!(run(&["user", "add", "li"], "a good long password\n").0, 0);
    assert_eq!(
        run(&["user", "add", "li"], "another long password\n").0,
        2,
        "names are unique"
    );
    let (code, out, _) = run(&["user", "list"], "");
    assert_eq!(code, 0);
    assert!(out.starts_with("li\t2"), "{out}");
    assert!(!out.contains("argon2"), "hashes are not listed");
    let conn = jkda::hub::storage::open(&db).unwrap();
    let phc = jkda::hub::users::stored_hash(&conn, "li").unwrap().unwrap();
    assert!(phc.starts_with("$argon2id$"));
    assert!(jkda::hub::users::verify_hash(Some(&phc), "a good long password"));
    assert_eq!(run(&["user", "remove", "li"], "").0, 0);
    assert_eq!(run(&["user", "remove", "li"], "").0, 2);
    assert!(run(&["user", "list"], "").1.is_empty());
}
