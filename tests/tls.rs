//! HTTPS between clinic and platform, over loopback with certificates made
//! here: a city's private CA given as `ca_file` is trusted, and nothing else
//! is — neither a certificate the system's store does not know nor one made
//! out for another name. Records stay queued whenever the handshake fails.

mod sync_support;

use jkda::hub::{storage, Hub, HubConfig, TlsIdentity};
use jkda::store::Actor;
use jkda::sync::{Lookup, SyncError, Uploader};
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509Name, X509};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use sync_support::*;

fn new_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn name(cn: &str) -> X509Name {
    let mut n = X509Name::builder().unwrap();
    n.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    n.build()
}

/// A certificate for `key`, signed by `issuer` (self-signed when None),
/// valid from now for 30 days.
fn certificate(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>, serial: u32) -> X509 {
    certificate_valid(cn, key, issuer, serial, (0, 30))
}

/// The same, valid from `days.0` to `days.1` days from now (negative: past).
fn certificate_valid(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    serial: u32,
    days: (i64, i64),
) -> X509 {
    let at = |d: i64| Asn1Time::from_unix(chrono::Utc::now().timestamp() + d * 86_400).unwrap();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(serial).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name(cn)).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&at(days.0)).unwrap();
    b.set_not_after(&at(days.1)).unwrap();
    match issuer {
        None => {
            b.set_issuer_name(&name(cn)).unwrap();
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
            b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build().unwrap())
                .unwrap();
            b.sign(key, MessageDigest::sha256()).unwrap();
        }
        Some((ca, ca_key)) => {
            b.set_issuer_name(ca.subject_name()).unwrap();
            let san = SubjectAlternativeName::new()
                .dns("platform.test")
                .build(&b.x509v3_context(Some(ca), None))
                .unwrap();
            b.append_extension(san).unwrap();
            b.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap())
                .unwrap();
            b.sign(ca_key, MessageDigest::sha256()).unwrap();
        }
    }
    b.build()
}

struct TlsPlatform {
    hub: Option<Hub>,
    db: PathBuf,
    token: String,
    ca_file: PathBuf,
}

impl TlsPlatform {
    /// A hub serving HTTPS with a certificate for `platform.test` from a CA
    /// made for this test, whose certificate is written to `ca.pem`.
    fn start(dir: &Path) -> TlsPlatform {
        Self::start_valid(dir, (0, 30))
    }

    /// The same with a server certificate valid from `days.0` to `days.1`
    /// days from now.
    fn start_valid(dir: &Path, days: (i64, i64)) -> TlsPlatform {
        let ca_key = new_key();
        let ca = certificate("jkda test city CA", &ca_key, None, 1);
        let key = new_key();
        let cert = certificate_valid("platform.test", &key, Some((&ca, &ca_key)), 2, days);
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.to_pem().unwrap()).unwrap();
        let db = dir.join("hub-tls.sqlite");
        let token = storage::add_site(&storage::open(&db).unwrap(), "s1", "东山村卫生室").unwrap();
        let mut chain = cert.to_pem().unwrap();
        chain.extend(ca.to_pem().unwrap());
        let config = HubConfig {
            workers: 2,
            tls: Some(TlsIdentity {
                certificate_pem: chain,
                private_key_pem: key.private_key_to_pem_pkcs8().unwrap(),
            }),
            ..HubConfig::new(&db)
        };
        let hub = Hub::start("127.0.0.1:0", config).unwrap();
        assert!(hub.url().starts_with("https://"));
        TlsPlatform {
            hub: Some(hub),
            db,
            token,
            ca_file,
        }
    }

    fn received(&self) -> i64 {
        storage::count(&storage::open(&self.db).unwrap(), "QuestionnaireResponse").unwrap()
    }

    /// The hub's address under `host`: the test answers the name lookup
    /// itself, so nothing is asked of a DNS server.
    fn config_for(&self, host: &'static str, ca_file: Option<PathBuf>) -> jkda::sync::SyncConfig {
        let addr: SocketAddr = self.hub.as_ref().unwrap().addr();
        let mut cfg = sync_config(&format!("https://{host}:{}", addr.port()), &self.token);
        cfg.ca_file = ca_file;
        cfg.lookup = Some(Lookup(Arc::new(move |asked: &str, port: u16| {
            if asked == host {
                Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
            } else {
                Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such name"))
            }
        })));
        cfg
    }
}

impl Drop for TlsPlatform {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.take() {
            hub.stop();
        }
    }
}

fn run(cfg: jkda::sync::SyncConfig, clinic: &mut Clinic) -> jkda::sync::RunReport {
    Uploader::new(cfg, clinic.registry.clone(), Actor::new("sync"))
        .unwrap()
        .run(&mut clinic.store)
}

#[test]
fn the_city_ca_is_trusted_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let platform = TlsPlatform::start(dir.path());
    let mut clinic = Clinic::open(dir.path(), "clinic", "101");
    clinic.fill(3, 1);
    let queued = clinic.store.outbox_status().unwrap().pending;
    assert!(queued > 0);

    // The system's CA store does not know the city's CA: refused, kept.
    let r = run(platform.config_for("platform.test", None), &mut clinic);
    assert!(matches!(r.error, Some(SyncError::Tls(_))), "{:?}", r.error);
    assert_eq!(clinic.store.outbox_status().unwrap().pending, queued);

    // The right CA, but the certificate is for another name: refused, kept.
    wait_out_backoff();
    let r = run(
        platform.config_for("other.test", Some(platform.ca_file.clone())),
        &mut clinic,
    );
    assert!(matches!(r.error, Some(SyncError::Tls(_))), "{:?}", r.error);
    assert_eq!(clinic.store.outbox_status().unwrap().pending, queued);
    assert_eq!(platform.received(), 0);

    // The city's CA as ca_file and the name on the certificate: all arrive.
    wait_out_backoff();
    let r = run(
        platform.config_for("platform.test", Some(platform.ca_file.clone())),
        &mut clinic,
    );
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(clinic.store.outbox_status().unwrap().pending, 0);
    assert_eq!(platform.received(), queued);
}

/// `jkda doctor`'s platform checks, with sync's own TLS settings: a
/// certificate from a CA nobody gave it fails at the TLS step (with what
/// to do), the city's CA makes every step pass, the clock included, and
/// the certificate's remaining days are told.
#[test]
fn doctor_names_an_untrusted_certificate() {
    use jkda::ops::doctor::{run, Inputs, Level};
    let dir = tempfile::tempdir().unwrap();
    let platform = TlsPlatform::start(dir.path());
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let config = jkda::config::Config::default();
    let check = |sync: jkda::sync::SyncConfig| {
        let report = run(&Inputs {
            data_dir: &data,
            config: &config,
            config_error: None,
            key_file: None,
            key: None,
            sync,
            terminal: Default::default(),
            now: chrono::Utc::now(),
        });
        report
            .checks
            .into_iter()
            .map(|c| (c.id, (c.level, c.advice.map(|a| a.key), c.facts)))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let untrusted = check(platform.config_for("platform.test", None));
    assert_eq!(untrusted["tcp"].0, Level::Pass);
    assert_eq!(
        (untrusted["tls"].0, untrusted["tls"].1),
        (Level::Fail, Some("doctor.tls_do"))
    );
    assert_eq!(untrusted["token"].0, Level::Skip);
    let trusted = check(platform.config_for("platform.test", Some(platform.ca_file.clone())));
    for id in ["dns", "tcp", "tls", "server", "token", "clock"] {
        assert_eq!(trusted[id].0, Level::Pass, "{id}: {trusted:?}");
    }
    // The certificate was made valid for 30 days from now.
    let days = trusted["tls"].2["days_left"].as_i64().unwrap();
    assert!((29..=30).contains(&days), "{days}");
    // The certificate is for platform.test, not for the name asked.
    let other_name = check(platform.config_for("other.test", Some(platform.ca_file.clone())));
    assert_eq!(other_name["tls"].0, Level::Fail);
    drop(platform);

    // Ten days left: a warning to renew; expired yesterday: named as such.
    for (days, level, advice) in [
        ((-30, 10), Level::Warn, "doctor.tls_renew"),
        ((-30, -1), Level::Fail, "doctor.tls_renew"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let platform = TlsPlatform::start_valid(dir.path(), days);
        let found = check(platform.config_for("platform.test", Some(platform.ca_file.clone())));
        assert_eq!(
            (found["tls"].0, found["tls"].1),
            (level, Some(advice)),
            "{days:?}: {found:?}"
        );
    }
}
