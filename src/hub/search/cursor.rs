//! The `_cursor` of a next link: where the previous page ended (the last
//! resource's `last_updated` and id, the search's sort key) and the total
//! counted on the first page, so later pages neither count again (that
//! would cost as much as the whole result) nor skip or repeat anything
//! when resources are written between pages. Hex, so that clients treat it
//! as the opaque token it is and it needs no escaping in a URL.

use super::super::HubError;

/// Where a page starts: after this key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub last_updated: String,
    pub id: String,
    /// Matches counted when the search began.
    pub total: u64,
}

/// The format's version, so a hub that changes it can refuse old cursors clearly.
const VERSION: &str = "1";

impl Cursor {
    pub fn encode(&self) -> String {
        hex::encode(format!("{VERSION}\n{}\n{}\n{}", self.total, self.last_updated, self.id))
    }

    pub fn decode(text: &str) -> Result<Cursor, HubError> {
        let bad = || HubError::Invalid("_cursor is not one this hub gave out; start the search again".into());
        if text.len() % 2 != 0 || text.len() > 400 {
            return Err(bad());
        }
        let bytes = hex::decode(text).map_err(|_| bad())?;
        let plain = String::from_utf8(bytes).map_err(|_| bad())?;
        let parts: Vec<&str> = plain.split('\n').collect();
        let &[VERSION, total, last_updated, id] = parts.as_slice() else {
            return Err(bad());
        };
        let time_like = last_updated.len() == 24 && chrono::DateTime::parse_from_rfc3339(last_updated).is_ok();
        if !time_like || !crate::fhir::valid_id(id) {
            return Err(bad());
        }
        Ok(Cursor {
            last_updated: last_updated.to_string(),
            id: id.to_string(),
            total: total.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let c = Cursor {
            last_updated: "2026-11-05T08:01:02.345Z".into(),
            id: "0f8c1e6a-1b2c-4d5e-8f90-123456789abc".into(),
            total: 1_000_000,
        };
        let text = c.encode();
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(Cursor::decode(&text).unwrap(), c);
        let wrong_version = text.replacen("31", "32", 1);
        for bad in ["", "zz", "abc", &text[..20], &wrong_version, "310a"] {
            let err = Cursor::decode(bad).unwrap_err();
            assert!(err.to_string().contains("start the search again"), "{bad}: {err}");
        }
    }
}
