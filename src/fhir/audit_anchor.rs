//! The head of a clinic's audit trail as a FHIR `AuditEvent`, so any FHIR
//! server can keep it: one resource per installation
//! (`AuditEvent/audit-head-<installation>`), updated at each sync, its
//! versions the history of anchors. A copy of the head outside the clinic's
//! database is what lets `jkda audit verify` notice a trail that someone
//! holding the database key rewrote, cut or emptied.

use serde_json::{json, Value};

/// The identifier system naming an installation's audit chain.
pub const CHAIN_SYSTEM: &str = "urn:jkda:audit-chain";

/// One anchor: the chain's last entry and its hash, and when it was sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Anchor {
    pub installation: String,
    pub seq: i64,
    pub hash: String,
    pub recorded: String,
}

pub fn resource_id(installation: &str) -> String {
    format!("audit-head-{installation}")
}

pub fn to_resource(a: &Anchor) -> Value {
    json!({
        "resourceType": "AuditEvent",
        "id": resource_id(&a.installation),
        "type": {
            "system": "http://dicom.nema.org/resources/ontology/DCM",
            "code": "110100",
            "display": "Application Activity"
        },
        "subtype": [{ "system": "urn:jkda:audit-event", "code": "chain-head", "display": "audit trail head" }],
        "action": "E",
        "recorded": a.recorded,
        "outcome": "0",
        "agent": [{
            "type": { "coding": [{
                "system": "http://dicom.nema.org/resources/ontology/DCM",
                "code": "110150",
                "display": "Application"
            }] },
            "who": { "display": "jkda" },
            "requestor": false
        }],
        "source": { "observer": { "display": format!("jkda installation {}", a.installation) } },
        "entity": [{
            "what": { "identifier": { "system": CHAIN_SYSTEM, "value": a.installation } },
            "detail": [
                { "type": "sequence", "valueString": a.seq.to_string() },
                { "type": "hash", "valueString": a.hash }
            ]
        }]
    })
}

/// Reads an anchor back; None when the resource is not one.
pub fn from_resource(v: &Value) -> Option<Anchor> {
    let entity = v["entity"]
        .as_array()?
        .iter()
        .find(|e| e["what"]["identifier"]["system"] == CHAIN_SYSTEM)?;
    let detail = |name: &str| {
        entity["detail"].as_array()?.iter().find(|d| d["type"] == name)?["valueString"]
            .as_str()
            .map(str::to_string)
    };
    let hash = detail("hash").filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    Some(Anchor {
        installation: entity["what"]["identifier"]["value"].as_str()?.to_string(),
        seq: detail("sequence")?.parse().ok().filter(|s: &i64| *s > 0)?,
        hash,
        recorded: v["recorded"].as_str().unwrap_or("").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchor_survives_the_round_trip_and_a_malformed_one_is_none() {
        let a = Anchor {
            installation: "0190a0a0-0000-7000-8000-000000000001".into(),
            seq: 42,
            hash: "ab".repeat(32),
            recorded: "2026-03-01T02:00:00.000Z".into(),
        };
        let v = to_resource(&a);
        assert_eq!(from_resource(&v), Some(a.clone()));
        assert!(crate::fhir::valid_id(v["id"].as_str().unwrap()));
        let mut bad = v.clone();
        bad["entity"][0]["detail"][1]["valueString"] = json!("not a hash");
        assert_eq!(from_resource(&bad), None);
        let mut bad = v;
        bad["entity"][0]["detail"][0]["valueString"] = json!("-1");
        assert_eq!(from_resource(&bad), None);
    }
}
