//! Forms from the platform (issue 10, part 5), end to end over loopback:
//! the bureau publishes a new version with `jkda-hub forms publish` (checked
//! with the clinic's loader; broken or older files refused), a clinic's
//! sync adopts it for new records, records keep their version, and a
//! broken or older published version is refused by the clinic too.

mod sync_support;

use jkda::form::Registry;
use jkda::store::Actor;
use jkda::sync::Uploader;
use sync_support::*;

fn hub_cli(db: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jkda-hub"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn sync(clinic: &mut Clinic, platform: &Platform) -> jkda::sync::RunReport {
    let cfg = sync_config(&platform.url(), &platform.tokens[0]);
    let mut up = Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync")).unwrap();
    let r = up.run(&mut clinic.store);
    assert!(r.error.is_none() && r.pull_error.is_none(), "{r:?}");
    r
}

#[test]
fn a_published_version_is_adopted_for_new_records_and_a_bad_one_is_refused_at_both_ends() {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::start(dir.path());
    let db = dir.path().join("hub.sqlite");
    let shipped = Registry::embedded();
    let source = shipped.source("hypertension-followup").unwrap();
    let newer = source.replacen("version = \"2017.2\"", "version = \"2017.3\"", 1);
    assert_ne!(newer, source);
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = files.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };

    // Refused by the hub: broken, and not newer.
    let (code, said) = hub_cli(
        &db,
        &[
            "forms",
            "publish",
            &write("broken.toml", &newer.replacen("[[section]]", "[[section", 1)),
        ],
    );
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("does not load"), "{said}");
    let (code, said) = hub_cli(&db, &["forms", "publish", &write("same.toml", source)]);
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("not newer"), "{said}");
    // Published.
    let (code, said) = hub_cli(&db, &["forms", "publish", &write("new.toml", &newer)]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("form-hypertension-followup-2017.3"), "{said}");
    let q: i64 = platform
        .conn()
        .query_row("SELECT count(*) FROM resources WHERE type = 'Questionnaire'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(q, 1, "a Questionnaire for other systems too");
    let (code, said) = hub_cli(&db, &["forms", "publish", &write("again.toml", &newer)]);
    assert_eq!(code, 2, "publishing the same version twice: {said}");

    // A clinic with a record on the shipped version adopts the new one.
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    let (resident, _) = clinic.register(0);
    let old_record = clinic.follow_up(resident, "hypertension-followup", 3);
    let r = sync(&mut clinic, &platform);
    assert_eq!(
        r.forms.adopted,
        [("hypertension-followup".to_string(), "2017.3".to_string())]
    );
    let forms_dir = jkda::paths::adopted_forms_dir(clinic.path.parent().unwrap());
    let adopted = Registry::embedded_with(&forms_dir);
    assert_eq!(adopted.get("hypertension-followup").unwrap().version, "2017.3");
    assert_eq!(adopted.get("diabetes-followup").unwrap().version, "2017.2");
    // Records keep the version they were filled with; new ones take the new.
    let version_of = |clinic: &Clinic, id: i64| -> String {
        clinic
            .sql()
            .query_row("SELECT form_version FROM records WHERE id = ?1", [id], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(version_of(&clinic, old_record), "2017.2");
    let def = adopted.get("hypertension-followup").unwrap().clone();
    let src = adopted.source(&def.id).unwrap().to_string();
    let new_record = clinic.store.create_record(&clinic.actor, resident, &def, &src).unwrap();
    assert_eq!(version_of(&clinic, new_record.id), "2017.3");

    // A site cannot publish forms to everyone.
    let conn = platform.conn();
    let forms = Registry::embedded();
    let broken = serde_json::json!({
        "resourceType": "Binary", "id": "form-diabetes-followup-2099.1",
        "contentType": "application/toml",
        "data": base64_of("id = \"diabetes-followup\"\nversion = \"2099.1\"\nnot a form")
    });
    let refused = jkda::hub::storage::write(
        &conn,
        &forms,
        "s1",
        "Binary",
        "form-diabetes-followup-2099.1",
        Some(&broken),
        None,
        None,
        &jkda::hub::storage::now(),
    );
    assert!(matches!(refused, Err(jkda::hub::HubError::Forbidden(_))), "{refused:?}");
    // A broken and an older version on the platform (another server, a
    // mistake): the clinic refuses both and keeps what it has.
    for (id, body) in [
        ("form-diabetes-followup-2099.1", broken.clone()),
        (
            "form-hypertension-followup-2017.1",
            jkda::form::published::to_binary(shipped.get("hypertension-followup").unwrap(), source)
                .as_object()
                .cloned()
                .map(|mut o| {
                    o.insert("id".into(), "form-hypertension-followup-2017.1".into());
                    serde_json::Value::Object(o)
                })
                .unwrap(),
        ),
    ] {
        jkda::hub::storage::write(
            &conn,
            &forms,
            "platform",
            "Binary",
            id,
            Some(&body),
            None,
            None,
            &jkda::hub::storage::now(),
        )
        .unwrap();
    }
    let r = sync(&mut clinic, &platform);
    let mut refused: Vec<&str> = r.forms.refused.iter().map(|(_, why)| *why).collect();
    refused.sort();
    assert_eq!(refused, ["broken", "not_newer"]);
    assert!(r.forms.adopted.is_empty());
    assert_eq!(
        Registry::embedded_with(&forms_dir)
            .get("hypertension-followup")
            .unwrap()
            .version,
        "2017.3"
    );
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
