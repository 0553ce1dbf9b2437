//! A clinic installation's health as a FHIR `Device` (one per installation,
//! `Device/jkda-<installation>`, a new version at each sync), so the
//! engineers see at the centre which clinic has stopped syncing or is
//! failing before anyone calls. Counts and error classes only: no personal
//! data.

use serde_json::{json, Value};

pub const INSTALLATION_SYSTEM: &str = "urn:jkda:installation";
pub const SITE_SYSTEM: &str = "urn:jkda:site";

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ClinicState {
    pub installation: String,
    /// The site's 12-digit code (division + township + village).
    pub site: Option<String>,
    pub version: String,
    pub pending: i64,
    pub failed: i64,
    pub conflict: i64,
    /// The message key of the last upload error (`sync.err_server`), no text.
    pub last_error_class: Option<String>,
    pub free_disk_mb: Option<u64>,
    /// The clinic's clock minus the platform's, in seconds, as last seen.
    pub clock_offset_s: Option<i64>,
    /// When the clinic sent this (its own clock).
    pub recorded: String,
}

pub fn resource_id(installation: &str) -> String {
    format!("jkda-{installation}")
}

fn property(name: &str, value: i64) -> Value {
    json!({ "type": { "coding": [{ "system": "urn:jkda:device-property", "code": name }] },
            "valueQuantity": [{ "value": value }] })
}

pub fn to_resource(s: &ClinicState) -> Value {
    let mut props = vec![
        property("outbox-pending", s.pending),
        property("outbox-failed", s.failed),
        property("outbox-conflict", s.conflict),
    ];
    if let Some(mb) = s.free_disk_mb {
        props.push(property("free-disk-mb", i64::try_from(mb).unwrap_or(i64::MAX)));
    }
    if let Some(c) = s.clock_offset_s {
        props.push(property("clock-offset-s", c));
    }
    let mut v = json!({
        "resourceType": "Device",
        "id": resource_id(&s.installation),
        "identifier": [{ "system": INSTALLATION_SYSTEM, "value": s.installation }],
        "status": "active",
        "deviceName": [{ "name": "jkda", "type": "user-friendly-name" }],
        "version": [{ "value": s.version }],
        "property": props,
        "note": [{ "time": s.recorded, "text": format!("last-error: {}", s.last_error_class.as_deref().unwrap_or("none")) }],
    });
    if let Some(site) = &s.site {
        v["owner"] = json!({ "identifier": { "system": SITE_SYSTEM, "value": site } });
    }
    v
}

pub fn from_resource(v: &Value) -> Option<ClinicState> {
    let installation = v["identifier"]
        .as_array()?
        .iter()
        .find(|i| i["system"] == INSTALLATION_SYSTEM)?["value"]
        .as_str()?
        .to_string();
    let prop = |name: &str| -> Option<i64> {
        v["property"]
            .as_array()?
            .iter()
            .find(|p| p["type"]["coding"][0]["code"] == name)?["valueQuantity"][0]["value"]
            .as_i64()
    };
    let note = v["note"][0]["text"].as_str().unwrap_or("");
    let class = note
        .strip_prefix("last-error: ")
        .filter(|c| *c != "none")
        .map(str::to_string);
    Some(ClinicState {
        installation,
        site: v["owner"]["identifier"]["value"].as_str().map(str::to_string),
        version: v["version"][0]["value"].as_str().unwrap_or("").to_string(),
        pending: prop("outbox-pending").unwrap_or(0),
        failed: prop("outbox-failed").unwrap_or(0),
        conflict: prop("outbox-conflict").unwrap_or(0),
        last_error_class: class,
        free_disk_mb: prop("free-disk-mb").and_then(|m| u64::try_from(m).ok()),
        clock_offset_s: prop("clock-offset-s"),
        recorded: v["note"][0]["time"].as_str().unwrap_or("").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_survives_the_round_trip() {
        let s = ClinicState {
            installation: "0190a0a0-0000-7000-8000-000000000001".into(),
            site: Some("220602101101".into()),
            version: "0.1.0".into(),
            pending: 3,
            failed: 1,
            conflict: 0,
            last_error_class: Some("sync.err_server".into()),
            free_disk_mb: Some(812),
            clock_offset_s: Some(-340),
            recorded: "2026-03-01T02:00:00.000Z".into(),
        };
        assert_eq!(from_resource(&to_resource(&s)), Some(s.clone()));
        let quiet = ClinicState {
            last_error_class: None,
            free_disk_mb: None,
            clock_offset_s: None,
            site: None,
            ..s
        };
        assert_eq!(from_resource(&to_resource(&quiet)), Some(quiet));
    }
}
