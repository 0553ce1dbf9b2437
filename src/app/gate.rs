//! The screens before anyone is logged in: first-run installation (site and
//! first administrator), login, and the forced password change. Pure state;
//! the tui runs the `GateEffect`s through `session.rs`.

use super::secret_input::SecretBuf;
use super::text_input::TextBuf;
use crate::i18n::Msg;
use crate::identity::validate_site_codes;
use crate::keymap::{typed_char, Action, Context, Keymap};
use crate::store::SiteConfig;
use crossterm::event::KeyEvent;
use secrecy::SecretString;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateMode {
    Install { need_site: bool },
    Login,
    ChangePassword,
}

#[derive(Debug)]
pub struct GateState {
    pub mode: GateMode,
    pub inputs: Vec<GateInput>,
    pub labels: Vec<&'static str>,
    pub focus: usize,
    pub error: Option<Msg>,
}

/// One box of the gate: plain text, or a password that only ever lives in
/// a wiped, redacted buffer.
#[derive(Debug)]
pub enum GateInput {
    Plain(TextBuf),
    Secret(SecretBuf),
}

impl GateInput {
    pub fn is_secret(&self) -> bool {
        matches!(self, GateInput::Secret(_))
    }

    /// What the screen shows: the text, or a star a character.
    pub fn shown(&self) -> String {
        match self {
            GateInput::Plain(b) => b.text().to_string(),
            GateInput::Secret(b) => b.masked(),
        }
    }

    /// The cursor's screen column within the box.
    pub fn cursor_column(&self) -> usize {
        match self {
            GateInput::Plain(b) => b.cursor_column(),
            GateInput::Secret(b) => b.cursor(),
        }
    }

    fn insert(&mut self, s: &str) {
        match self {
            GateInput::Plain(b) => b.insert(s),
            GateInput::Secret(b) => b.insert(s),
        }
    }

    /// A `[text]` editing action on whichever box this is.
    fn apply(&mut self, action: Action) {
        match self {
            GateInput::Plain(b) => {
                b.apply(action);
            }
            GateInput::Secret(b) => {
                b.apply(action);
            }
        }
    }
}

/// What the tui runs. Passwords travel as `SecretString`: printed redacted,
/// wiped when dropped.
#[derive(Debug)]
pub enum GateEffect {
    Install {
        site: Option<SiteConfig>,
        login: String,
        name: String,
        password: SecretString,
    },
    Login {
        login: String,
        password: SecretString,
    },
    ChangePassword {
        new: SecretString,
    },
    Quit,
}

impl GateState {
    pub fn new(mode: GateMode) -> GateState {
        let (labels, secret): (Vec<&'static str>, Vec<bool>) = match &mode {
            GateMode::Install { need_site } => {
                let mut l: Vec<(&'static str, bool)> = Vec::new();
                if *need_site {
                    l.extend([
                        ("setup.site_name", false),
                        ("setup.division", false),
                        ("setup.township", false),
                        ("setup.village", false),
                    ]);
                }
                l.extend([
                    ("gate.admin_login", false),
                    ("gate.admin_name", false),
                    ("gate.password", true),
                    ("gate.password_again", true),
                ]);
                l.into_iter().unzip()
            }
            GateMode::Login => [("gate.login", false), ("gate.password", true)].into_iter().unzip(),
            GateMode::ChangePassword => [("gate.new_password", true), ("gate.password_again", true)]
                .into_iter()
                .unzip(),
        };
        let inputs = secret
            .iter()
            .map(|&s| {
                if s {
                    GateInput::Secret(SecretBuf::default())
                } else {
                    GateInput::Plain(TextBuf::default())
                }
            })
            .collect();
        GateState {
            inputs,
            labels,
            focus: 0,
            error: None,
            mode,
        }
    }

    fn clear_secrets(&mut self) {
        for input in &mut self.inputs {
            if let GateInput::Secret(b) = input {
                b.clear();
            }
        }
    }

    fn input(&self, label: &str) -> Option<&GateInput> {
        self.labels
            .iter()
            .position(|l| *l == label)
            .and_then(|i| self.inputs.get(i))
    }

    fn value(&self, label: &str) -> String {
        match self.input(label) {
            Some(GateInput::Plain(b)) => b.text().trim().to_string(),
            _ => String::new(),
        }
    }

    /// A password box, read in place. Passwords are taken as typed (no
    /// trimming: a space may be part of one).
    fn secret_text(&self, label: &str) -> &str {
        match self.input(label) {
            Some(GateInput::Secret(b)) => b.expose(),
            _ => "",
        }
    }

    /// A password box's text as the `SecretString` that goes to the key
    /// derivation.
    fn secret_value(&self, label: &str) -> SecretString {
        SecretString::from(self.secret_text(label))
    }

    pub fn failed(&mut self, msg: Msg) {
        self.error = Some(msg);
        self.clear_secrets();
        self.focus = self.inputs.iter().position(GateInput::is_secret).unwrap_or(0);
    }

    /// A key, through the keymap's `[setup]`, `[text]` and `[global]`
    /// (quit) contexts like every other screen.
    pub fn key(&mut self, keymap: &Keymap, k: KeyEvent) -> Option<GateEffect> {
        if let Some(c) = typed_char(&k) {
            self.edit(|b| b.insert(c.encode_utf8(&mut [0; 4])));
            return None;
        }
        let n = self.inputs.len().max(1);
        let chain = [Context::Setup, Context::Text, Context::Global];
        match keymap.action_in(&chain, &k).map(|(_, a)| a)? {
            Action::Quit => return Some(GateEffect::Quit),
            Action::NextField => self.focus = (self.focus + 1) % n,
            Action::PrevField => self.focus = (self.focus + n - 1) % n,
            Action::Confirm if self.focus + 1 < n => self.focus += 1,
            Action::Confirm => return self.submit(),
            a => self.edit(|b| {
                b.apply(a);
            }),
        }
        None
    }

    pub fn paste(&mut self, s: &str) {
        let line = s.split(['\r', '\n']).next().unwrap_or("");
        let clean = crate::form::answers::sanitize(line);
        self.edit(|b| b.insert(&clean));
    }

    /// Edits the input with the focus (there always is one; nothing happens
    /// rather than a panic should the focus ever point past the inputs).
    fn edit(&mut self, f: impl FnOnce(&mut GateInput)) {
        if let Some(b) = self.inputs.get_mut(self.focus) {
            f(b);
        }
    }

    fn submit(&mut self) -> Option<GateEffect> {
        self.error = None;
        match self.mode.clone() {
            GateMode::Login => {
                let login = self.value("gate.login");
                let password = self.secret_value("gate.password");
                if login.is_empty() {
                    self.focus = 0;
                    self.error = Some(Msg::new("gate.login_required"));
                    return None;
                }
                Some(GateEffect::Login { login, password })
            }
            GateMode::ChangePassword => {
                let again = self.secret_text("gate.password_again");
                if let Err(m) = check_new_password(self.secret_text("gate.new_password"), again) {
                    self.failed(m);
                    return None;
                }
                Some(GateEffect::ChangePassword {
                    new: self.secret_value("gate.new_password"),
                })
            }
            GateMode::Install { need_site } => {
                let site = if need_site {
                    let site = SiteConfig {
                        name: self.value("setup.site_name"),
                        division: self.value("setup.division"),
                        township: self.value("setup.township"),
                        village: self.value("setup.village"),
                    };
                    if site.name.is_empty() {
                        self.focus = 0;
                        self.error = Some(Msg::new("setup.name_required"));
                        return None;
                    }
                    if let Err(e) = validate_site_codes(&site.division, &site.township, &site.village) {
                        self.focus = 1;
                        self.error = Some(e.message());
                        return None;
                    }
                    Some(site)
                } else {
                    None
                };
                let login = self.value("gate.admin_login");
                if !crate::store::users_valid_login(&login) {
                    self.focus = self.labels.iter().position(|l| *l == "gate.admin_login").unwrap_or(0);
                    self.error = Some(Msg::new("access.bad_login"));
                    return None;
                }
                let name = self.value("gate.admin_name");
                let again = self.secret_text("gate.password_again");
                if let Err(m) = check_new_password(self.secret_text("gate.password"), again) {
                    self.failed(m);
                    return None;
                }
                Some(GateEffect::Install {
                    site,
                    name: if name.is_empty() { login.clone() } else { name },
                    login,
                    password: self.secret_value("gate.password"),
                })
            }
        }
    }
}

pub const MIN_PASSWORD_CHARS: usize = 6;

/// A new password: typed twice alike, not blank, at least six characters
/// (Chinese characters count one each).
pub fn check_new_password(new: &str, again: &str) -> Result<(), Msg> {
    if new.trim().is_empty() {
        return Err(Msg::new("gate.password_empty"));
    }
    if new.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Msg::new("gate.password_short").arg("min", MIN_PASSWORD_CHARS));
    }
    if new != again {
        return Err(Msg::new("gate.password_mismatch"));
    }
    Ok(())
}

/// A user's own change of password (forced at first login after an
/// administrator set it, or by choice): besides [`check_new_password`], the
/// new password is not the old one, which the administrator knows, nor the
/// login name.
pub fn check_password_change(login: &str, old: &str, new: &str) -> Result<(), Msg> {
    if new == old {
        return Err(Msg::new("gate.password_same"));
    }
    if new.trim().to_lowercase() == login.trim().to_lowercase() {
        return Err(Msg::new("gate.password_is_login"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::keymap::press;
    use secrecy::ExposeSecret;

    fn type_str(g: &mut GateState, s: &str) {
        for c in s.chars() {
            g.key(&Keymap::default(), press(&c.to_string()));
        }
    }

    fn enter(g: &mut GateState) -> Option<GateEffect> {
        g.key(&Keymap::default(), press("enter"))
    }

    /// Issue 12: the login honours a site's keys, Ctrl-Q included.
    #[test]
    fn the_login_follows_the_site_keymap() {
        let site = "[setup]\nconfirm = [\"f5\"]\n[global]\nquit = [\"ctrl-x\"]\n";
        let (keys, errors) = Keymap::parse("keymap.toml", site, Some(&Keymap::default()));
        assert!(errors.is_empty(), "{errors:?}");
        let mut g = GateState::new(GateMode::Login);
        for c in "wang".chars() {
            g.key(&keys, press(&c.to_string()));
        }
        assert!(g.key(&keys, press("enter")).is_none());
        assert_eq!(g.focus, 0, "Enter is no longer bound here");
        assert!(g.key(&keys, press("f5")).is_none());
        assert_eq!(g.focus, 1);
        g.key(&keys, press("x"));
        g.key(&keys, press("backspace"));
        g.key(&keys, press("y"));
        assert!(matches!(
            g.key(&keys, press("f5")),
            Some(GateEffect::Login { login, password }) if login == "wang" && password.expose_secret() == "y"
        ));
        assert!(g.key(&keys, press("ctrl-q")).is_none(), "Ctrl-Q is no longer quit");
        assert!(matches!(g.key(&keys, press("ctrl-x")), Some(GateEffect::Quit)));
    }

    #[test]
    fn install_checks_site_codes_and_passwords() {
        let mut g = GateState::new(GateMode::Install { need_site: true });
        type_str(&mut g, "村卫生室");
        enter(&mut g);
        type_str(&mut g, "22060");
        for _ in 0..3 {
            enter(&mut g);
        }
        type_str(&mut g, "admin");
        enter(&mut g);
        enter(&mut g);
        type_str(&mut g, "密码很安全1");
        enter(&mut g);
        type_str(&mut g, "密码很安全1");
        assert!(enter(&mut g).is_none(), "a 5-digit division code must be refused");
        assert_eq!(g.focus, 1);
        type_str(&mut g, "2");
        g.focus = 2;
        type_str(&mut g, "101");
        g.focus = 3;
        type_str(&mut g, "101");
        g.focus = 7;
        match enter(&mut g) {
            Some(GateEffect::Install {
                site: Some(site),
                login,
                password,
                ..
            }) => {
                assert_eq!(site.division, "220602");
                assert_eq!(login, "admin");
                assert_eq!(secrecy::ExposeSecret::expose_secret(&password), "密码很安全1");
                assert!(
                    !format!("{g:?}").contains("密码很安全1"),
                    "the gate's Debug shows no password"
                );
            }
            _ => panic!("expected an install"),
        }
    }

    #[test]
    fn new_passwords_must_match_and_not_be_blank() {
        assert!(check_new_password("", "").is_err());
        assert!(check_new_password("      ", "      ").is_err());
        assert!(check_new_password("abc", "abc").is_err());
        assert!(check_new_password("abcdef", "abcdeg").is_err());
        assert!(check_new_password("健康档案密码", "健康档案密码").is_ok());
    }

    #[test]
    fn a_changed_password_is_neither_the_old_one_nor_the_login() {
        let key = |r: Result<(), Msg>| r.err().map(|m| m.key);
        assert_eq!(
            key(check_password_change("wangfang", "first-pass-1", "first-pass-1")),
            Some("gate.password_same")
        );
        assert_eq!(
            key(check_password_change("wangfang", "first-pass-1", "WangFang")),
            Some("gate.password_is_login")
        );
        assert!(check_password_change("wangfang", "first-pass-1", "only-mine-2").is_ok());
    }
}
