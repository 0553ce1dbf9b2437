//! Staff accounts as the database knows them: login, name, role, whether
//! disabled and whether the password must be changed at next login. The
//! password itself never reaches the database: it unlocks the user's
//! wrapped copy of the database key in the keyring (`crypt.rs`).

use super::access::{Permission, Role};
use super::{audit, now_text, Actor, Result, Store, StoreError};
use rusqlite::{params, OptionalExtension};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub must_change: bool,
    pub created_at: String,
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    Ok(User {
        login: r.get(0)?,
        display_name: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        disabled: r.get::<_, i64>(3)? != 0,
        must_change: r.get::<_, i64>(4)? != 0,
        created_at: r.get(5)?,
    })
}

const COLUMNS: &str = "login, display_name, role, disabled, must_change, created_at";

/// Logins are short identifiers; anything else is refused before storage.
pub fn valid_login(login: &str) -> bool {
    (1..=32).contains(&login.chars().count())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Store {
    /// Looks a user up for logging in (no audit: nobody is acting yet).
    pub fn user(&self, login: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE login = ?1");
        Ok(self.conn().query_row(&sql, params![login], from_row).optional()?)
    }

    pub fn user_count(&self) -> Result<i64> {
        Ok(self.conn().query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
    }

    pub fn users(&self, actor: &Actor) -> Result<Vec<User>> {
        actor.require(Permission::ManageUsers)?;
        let sql = format!("SELECT {COLUMNS} FROM users ORDER BY login");
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn add_user(
        &mut self,
        actor: &Actor,
        login: &str,
        display_name: &str,
        role: Role,
        must_change: bool,
    ) -> Result<User> {
        actor.require(Permission::ManageUsers)?;
        if !valid_login(login) || role == Role::System {
            return Err(StoreError::InvalidInput);
        }
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "INSERT INTO users (login, display_name, role, must_change, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                login,
                display_name,
                role.name(),
                must_change,
                now_text(chrono::Local::now())
            ],
        )
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::AlreadyExists,
            _ => e.into(),
        })?;
        audit::append(&tx, actor, "user_add", "user", login)?;
        tx.commit()?;
        self.user(login)?.ok_or(StoreError::NotFound)
    }

    fn update_user(
        &mut self,
        actor: &Actor,
        login: &str,
        action: &str,
        sql: &str,
        value: &dyn rusqlite::ToSql,
    ) -> Result<()> {
        actor.require(Permission::ManageUsers)?;
        let tx = self.conn_mut().transaction()?;
        if tx.execute(sql, params![login, value])? == 0 {
            return Err(StoreError::NotFound);
        }
        audit::append(&tx, actor, action, "user", login)?;
        tx.commit()?;
        Ok(())
    }

    pub fn set_disabled(&mut self, actor: &Actor, login: &str, disabled: bool) -> Result<()> {
        let action = if disabled { "user_disable" } else { "user_enable" };
        self.update_user(
            actor,
            login,
            action,
            "UPDATE users SET disabled = ?2 WHERE login = ?1",
            &disabled,
        )
    }

    pub fn set_role(&mut self, actor: &Actor, login: &str, role: Role) -> Result<()> {
        if role == Role::System {
            return Err(StoreError::InvalidInput);
        }
        self.update_user(
            actor,
            login,
            "user_role",
            "UPDATE users SET role = ?2 WHERE login = ?1",
            &role.name(),
        )
    }

    /// Set by an administrator's password reset; cleared by the user's own change.
    pub fn set_must_change(&mut self, actor: &Actor, login: &str, must: bool) -> Result<()> {
        let own = actor.user == login;
        if !own {
            actor.require(Permission::ManageUsers)?;
        }
        let tx = self.conn_mut().transaction()?;
        if tx.execute(
            "UPDATE users SET must_change = ?2 WHERE login = ?1",
            params![login, must],
        )? == 0
        {
            return Err(StoreError::NotFound);
        }
        audit::append(&tx, actor, "password_change", "user", login)?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_administrators_manage_users_and_logins_are_checked() {
        let mut s = Store::open_in_memory().unwrap();
        let system = Actor::new("install");
        s.add_user(&system, "admin", "管理员", Role::Admin, false).unwrap();
        let admin = Actor::with_role("admin", Role::Admin);
        s.add_user(&admin, "li", "李医生", Role::Doctor, true).unwrap();
        let nurse = Actor::with_role("wang", Role::Nurse);
        assert!(matches!(
            s.add_user(&nurse, "x", "x", Role::Viewer, true),
            Err(StoreError::Forbidden(_))
        ));
        assert!(matches!(
            s.add_user(&admin, "bad login", "x", Role::Viewer, true),
            Err(StoreError::InvalidInput)
        ));
        assert!(matches!(
            s.add_user(&admin, "li", "again", Role::Viewer, true),
            Err(StoreError::AlreadyExists)
        ));
        s.set_role(&admin, "li", Role::Viewer).unwrap();
        assert_eq!(s.user("li").unwrap().unwrap().role, Role::Viewer);
        s.set_disabled(&admin, "li", true).unwrap();
        assert!(s.user("li").unwrap().unwrap().disabled);
        assert_eq!(s.users(&admin).unwrap().len(), 2);
    }
}
