//! `GET /metadata`: what this server can do, as a FHIR CapabilityStatement
//! (the types, interactions and search parameters clients may rely on).

use crate::fhir;
use serde_json::{json, Value};

pub(super) fn capability() -> Value {
    let resources: Vec<Value> = fhir::TYPES
        .iter()
        .map(|t| {
            let mut r = json!({
                "type": t,
                "versioning": "versioned-update",
                "interaction": [{ "code": "read" }, { "code": "vread" }, { "code": "update" }, { "code": "delete" }, { "code": "search-type" }, { "code": "create" }],
                "updateCreate": true,
                "conditionalCreate": true,
                "conditionalUpdate": false,
            });
            r["searchParam"] = if *t == "Patient" {
                json!([{ "name": "_lastUpdated", "type": "date" }, { "name": "identifier", "type": "token" }])
            } else {
                json!([
                    { "name": "_lastUpdated", "type": "date" },
                    { "name": "subject", "type": "reference" },
                    { "name": "patient", "type": "reference" },
                ])
            };
            r
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-29",
        "kind": "instance",
        "software": { "name": "jkda-hub", "version": env!("CARGO_PKG_VERSION") },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": { "description": "Bearer token per site" },
            "resource": resources,
            "interaction": [{ "code": "transaction" }],
        }],
    })
}
