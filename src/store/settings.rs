//! Site settings kept in the database, so a clinic PC needs no config file
//! edited by hand: the first-run screen writes them.

use super::{Result, Store};
use rusqlite::{params, OptionalExtension};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SiteConfig {
    /// 6-digit county-level division code (GB/T 2260).
    pub division: String,
    /// 3-digit township code.
    pub township: String,
    /// 3-digit village / committee code.
    pub village: String,
    pub name: String,
}

impl SiteConfig {
    pub fn prefix(&self) -> String {
        format!("{}{}{}", self.division, self.township, self.village)
    }
}

impl Store {
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM settings WHERE key = ?1", params![key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn clear_setting(&self, key: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM settings WHERE key = ?1", params![key])?;
        Ok(())
    }

    pub fn site(&self) -> Result<Option<SiteConfig>> {
        let get = |k| self.setting(k);
        match (
            get("site.division")?,
            get("site.township")?,
            get("site.village")?,
            get("site.name")?,
        ) {
            (Some(division), Some(township), Some(village), Some(name)) => Ok(Some(SiteConfig {
                division,
                township,
                village,
                name,
            })),
            _ => Ok(None),
        }
    }

    pub fn set_site(&self, site: &SiteConfig) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        for (k, v) in [
            ("site.division", &site.division),
            ("site.township", &site.township),
            ("site.village", &site.village),
            ("site.name", &site.name),
        ] {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
