//! Keys are data: `assets/keymap.toml` (compiled in) maps each action to its
//! keys per context, a site may override it with `keymap.toml` in the data
//! directory, and the help screen is generated from the same table. A bad
//! entry is reported with file and line and the built-in binding is kept.

pub mod site_file;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

pub const DEFAULT: &str = include_str!("../../assets/keymap.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Context {
    Global,
    List,
    Resident,
    Form,
    Dialog,
    /// The list of waiting and failed uploads (an overlay).
    Uploads,
    /// The worklist and the clinic's indicators.
    Manage,
    /// A version clash with the platform, both versions side by side.
    Conflict,
}

impl Context {
    pub const ALL: [Context; 8] = [
        Context::Global,
        Context::List,
        Context::Resident,
        Context::Form,
        Context::Dialog,
        Context::Uploads,
        Context::Manage,
        Context::Conflict,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::List => "list",
            Context::Resident => "resident",
            Context::Form => "form",
            Context::Dialog => "dialog",
            Context::Uploads => "uploads",
            Context::Manage => "manage",
            Context::Conflict => "conflict",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Quit,
    Help,
    Up,
    Down,
    Open,
    NewResident,
    Clear,
    NewRecord,
    EditResident,
    AbandonDraft,
    Back,
    NextField,
    PrevField,
    NextSection,
    PrevSection,
    NextProblem,
    Toggle,
    OptionLeft,
    OptionRight,
    ClearField,
    DeleteRow,
    Finalize,
    Amend,
    Confirm,
    Cancel,
    Logout,
    Audit,
    /// Opens the upload list.
    Uploads,
    /// Uploads now.
    Send,
    /// Puts the failed uploads back in the queue.
    Retry,
    /// Links the selected upload's resident to the platform's record of the
    /// same person (`store::link`).
    Link,
    /// Opens the worklist (who is due).
    Worklist,
    /// Opens the clinic's indicators.
    Indicators,
    /// Worklist and indicators: the next programme / village filter.
    FilterProgramme,
    FilterVillage,
    /// Indicators: the previous / next period (year, quarters).
    PrevPeriod,
    NextPeriod,
    /// Upload list: compare the two versions of a clash.
    Compare,
    /// A clash: send ours again over the platform's version.
    KeepMine,
    /// A clash: take the platform's version.
    TakeTheirs,
    /// A clash: ours with the ticked items taken from the platform.
    Merge,
}

impl Action {
    pub const ALL: [Action; 41] = [
        Action::Quit,
        Action::Help,
        Action::Up,
        Action::Down,
        Action::Open,
        Action::NewResident,
        Action::Clear,
        Action::NewRecord,
        Action::EditResident,
        Action::AbandonDraft,
        Action::Back,
        Action::NextField,
        Action::PrevField,
        Action::NextSection,
        Action::PrevSection,
        Action::NextProblem,
        Action::Toggle,
        Action::OptionLeft,
        Action::OptionRight,
        Action::ClearField,
        Action::DeleteRow,
        Action::Finalize,
        Action::Amend,
        Action::Confirm,
        Action::Cancel,
        Action::Logout,
        Action::Audit,
        Action::Uploads,
        Action::Send,
        Action::Retry,
        Action::Link,
        Action::Worklist,
        Action::Indicators,
        Action::FilterProgramme,
        Action::FilterVillage,
        Action::PrevPeriod,
        Action::NextPeriod,
        Action::Compare,
        Action::KeepMine,
        Action::TakeTheirs,
        Action::Merge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::Up => "up",
            Action::Down => "down",
            Action::Open => "open",
            Action::NewResident => "new_resident",
            Action::Clear => "clear",
            Action::NewRecord => "new_record",
            Action::EditResident => "edit_resident",
            Action::AbandonDraft => "abandon_draft",
            Action::Back => "back",
            Action::NextField => "next_field",
            Action::PrevField => "prev_field",
            Action::NextSection => "next_section",
            Action::PrevSection => "prev_section",
            Action::NextProblem => "next_problem",
            Action::Toggle => "toggle",
            Action::OptionLeft => "option_left",
            Action::OptionRight => "option_right",
            Action::ClearField => "clear_field",
            Action::DeleteRow => "delete_row",
            Action::Finalize => "finalize",
            Action::Amend => "amend",
            Action::Confirm => "confirm",
            Action::Cancel => "cancel",
            Action::Logout => "logout",
            Action::Audit => "audit",
            Action::Uploads => "uploads",
            Action::Send => "send",
            Action::Retry => "retry",
            Action::Link => "link",
            Action::Worklist => "worklist",
            Action::Indicators => "indicators",
            Action::FilterProgramme => "filter_programme",
            Action::FilterVillage => "filter_village",
            Action::PrevPeriod => "prev_period",
            Action::NextPeriod => "next_period",
            Action::Compare => "compare",
            Action::KeepMine => "keep_mine",
            Action::TakeTheirs => "take_theirs",
            Action::Merge => "merge",
        }
    }

    fn from_name(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// A key as written in the keymap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn from_event(e: &KeyEvent) -> Key {
        let mut mods = e.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match e.code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) || mods.contains(KeyModifiers::ALT) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            // Shift is already in the character itself.
            KeyCode::Char(c) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c)
            }
            // Shift-Tab, whether the terminal says BackTab or Tab with Shift.
            KeyCode::BackTab | KeyCode::Tab if e.code == KeyCode::BackTab || mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    /// A key as written in a keymap file (`ctrl-q`, `f10`, `shift-tab`,
    /// `space`, `x`), or as [`Key::label`] shows it (`Ctrl-Q`, `PgDn`, `↑`):
    /// names and modifiers in any case. A single character keeps its case
    /// (`N` is Shift-n), and the key comes out as [`Key::from_event`] makes
    /// it from the terminal's event, so every binding can match a key press.
    pub fn parse(s: &str) -> Option<Key> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            mods |= m;
            // The prefixes are ASCII, so `len` bytes end on a character boundary.
            rest = rest.get(len..)?;
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "up" | "↑" => KeyCode::Up,
            "down" | "↓" => KeyCode::Down,
            "left" | "←" => KeyCode::Left,
            "right" | "→" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            f if f.len() > 1 && f.starts_with('f') => {
                KeyCode::F(f.get(1..)?.parse().ok().filter(|n| (1..=12).contains(n))?)
            }
            _ => {
                let mut chars = rest.chars();
                let c = chars.next().filter(|_| chars.next().is_none())?;
                // Shift with a character and no Ctrl/Alt is the shifted
                // character itself, as the terminal sends it.
                let plain = !mods.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
                let mut upper = c.to_uppercase();
                match (upper.next(), upper.next()) {
                    (Some(u), None) if plain && mods.contains(KeyModifiers::SHIFT) => KeyCode::Char(u),
                    _ => KeyCode::Char(c),
                }
            }
        };
        Some(Key::from_event(&KeyEvent::new(code, mods)))
    }

    /// The name shown in help and hints.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("Ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("Alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            s.push_str("Shift-");
        }
        let name = match self.code {
            KeyCode::Enter => "Enter".to_string(),
            KeyCode::Esc => "Esc".to_string(),
            KeyCode::Tab => "Tab".to_string(),
            KeyCode::BackTab => "Shift-Tab".to_string(),
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Backspace => "Backspace".to_string(),
            KeyCode::Delete => "Del".to_string(),
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::Home => "Home".to_string(),
            KeyCode::End => "End".to_string(),
            KeyCode::PageUp => "PgUp".to_string(),
            KeyCode::PageDown => "PgDn".to_string(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::Char(c) if self.mods.is_empty() => c.to_string(),
            KeyCode::Char(c) => c.to_ascii_uppercase().to_string(),
            _ => "?".to_string(),
        };
        s.push_str(&name);
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapError {
    pub file: String,
    pub line: usize,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: BTreeMap<Context, Vec<(Action, Vec<Key>)>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let (map, errors) = Keymap::parse("keymap.toml", DEFAULT, None);
        debug_assert!(errors.is_empty(), "built-in keymap is valid (tested)");
        map
    }
}

impl Keymap {
    /// Parses a keymap file over `base` (or empty). Every problem is
    /// returned; the entries that are fine still apply.
    pub fn parse(file: &str, src: &str, base: Option<&Keymap>) -> (Keymap, Vec<KeymapError>) {
        let mut map = base.cloned().unwrap_or(Keymap {
            bindings: BTreeMap::new(),
        });
        let mut errors = Vec::new();
        let line_of = |needle: &str| -> usize {
            src.lines()
                .position(|l| l.trim_start().starts_with(needle))
                .map(|i| i + 1)
                .unwrap_or(0)
        };
        let table: toml::Table = match toml::from_str(src) {
            Ok(t) => t,
            Err(e) => {
                let line = e.span().map(|s| crate::config::line_of(src, s.start)).unwrap_or(0);
                errors.push(KeymapError {
                    file: file.into(),
                    line,
                    detail: e.message().to_string(),
                });
                return (map, errors);
            }
        };
        for (ctx_name, actions) in table {
            let Some(ctx) = Context::ALL.into_iter().find(|c| c.name() == ctx_name) else {
                errors.push(KeymapError {
                    file: file.into(),
                    line: line_of(&format!("[{ctx_name}]")),
                    detail: format!("unknown context [{ctx_name}]"),
                });
                continue;
            };
            let Some(actions) = actions.as_table() else {
                errors.push(KeymapError {
                    file: file.into(),
                    line: line_of(&ctx_name),
                    detail: format!("[{ctx_name}] must be a table"),
                });
                continue;
            };
            for (name, keys) in actions {
                let line = line_of(name);
                let Some(action) = Action::from_name(name) else {
                    errors.push(KeymapError {
                        file: file.into(),
                        line,
                        detail: format!("unknown action \"{name}\""),
                    });
                    continue;
                };
                let Some(list) = keys.as_array() else {
                    errors.push(KeymapError {
                        file: file.into(),
                        line,
                        detail: format!("\"{name}\" must be a list of keys, like [\"ctrl-q\"]"),
                    });
                    continue;
                };
                let mut parsed = Vec::new();
                for k in list {
                    match k.as_str().and_then(Key::parse) {
                        Some(key) => parsed.push(key),
                        None => errors.push(KeymapError {
                            file: file.into(),
                            line,
                            detail: format!("unknown key {k}"),
                        }),
                    }
                }
                let entries = map.bindings.entry(ctx).or_default();
                entries.retain(|(a, _)| *a != action);
                entries.push((action, parsed));
            }
        }
        errors.sort_by_key(|e| e.line);
        // Help lists actions in their natural order, not the file's.
        for entries in map.bindings.values_mut() {
            entries.sort_by_key(|(a, _)| *a);
        }
        (map, errors)
    }

    /// The action for a key in a context; global bindings apply everywhere.
    pub fn action(&self, ctx: Context, key: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(key);
        let find = |c: Context| {
            self.bindings
                .get(&c)?
                .iter()
                .find(|(_, keys)| keys.contains(&key))
                .map(|(a, _)| *a)
        };
        find(ctx).or_else(|| find(Context::Global))
    }

    pub fn keys(&self, ctx: Context, action: Action) -> &[Key] {
        self.bindings
            .get(&ctx)
            .and_then(|v| v.iter().find(|(a, _)| *a == action))
            .map(|(_, k)| k.as_slice())
            .unwrap_or(&[])
    }

    /// The first key label for an action, for one-line hints.
    pub fn hint(&self, ctx: Context, action: Action) -> String {
        self.keys(ctx, action).first().map(Key::label).unwrap_or_default()
    }

    pub fn entries(&self, ctx: Context) -> &[(Action, Vec<Key>)] {
        self.bindings.get(&ctx).map(Vec::as_slice).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_keymap_parses_cleanly() {
        let (map, errors) = Keymap::parse("keymap.toml", DEFAULT, None);
        assert!(errors.is_empty(), "{errors:?}");
        let ctrl_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert_eq!(map.action(Context::Form, &ctrl_q), Some(Action::Quit));
        let backtab = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(map.action(Context::Form, &backtab), Some(Action::PrevField));
    }

    #[test]
    fn every_action_has_a_key_without_function_keys() {
        let map = Keymap::default();
        for ctx in Context::ALL {
            for (action, keys) in map.entries(ctx) {
                assert!(
                    keys.iter()
                        .any(|k| !matches!(k.code, KeyCode::F(_) | KeyCode::Home | KeyCode::End)),
                    "{}.{} needs a key that is not a function key",
                    ctx.name(),
                    action.name()
                );
            }
        }
    }

    #[test]
    fn bad_entries_are_reported_with_their_line_and_the_rest_applies() {
        let src = "[form]\nfinalize = [\"ctrl-f\"]\nnonsense = [\"x\"]\nback = [\"hyper-z\"]\n";
        let (map, errors) = Keymap::parse("user.toml", src, Some(&Keymap::default()));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].line, 3);
        assert!(errors[0].detail.contains("nonsense"));
        assert_eq!(errors[1].line, 4);
        let ctrl_f = KeyEvent::new(KeyCode::Char('f'), KeyModifiers::CONTROL);
        assert_eq!(map.action(Context::Form, &ctrl_f), Some(Action::Finalize));
    }

    #[test]
    fn key_names_round_trip() {
        for s in ["ctrl-q", "f10", "shift-tab", "pagedown", "space", "x"] {
            assert!(Key::parse(s).is_some(), "{s}");
        }
        assert!(Key::parse("f13").is_none());
        assert_eq!(Key::parse("ctrl-q").unwrap().label(), "Ctrl-Q");
        for label in ["Ctrl-Q", "PgDn", "Del", "↑", "Shift-Tab", "N", "Ctrl-Space", "F12"] {
            let key = Key::parse(label).expect(label);
            assert_eq!(key.label(), label);
        }
    }

    /// A binding must be able to match what the terminal sends: `shift-n`
    /// and `N` are the event `N`, `shift-backtab` is BackTab.
    #[test]
    fn parsed_keys_match_the_terminals_events() {
        let map = |s: &str| Key::parse(s).expect(s);
        let shift_n = KeyEvent::new(KeyCode::Char('N'), KeyModifiers::SHIFT);
        assert_eq!(map("shift-n"), Key::from_event(&shift_n));
        assert_eq!(map("N"), Key::from_event(&shift_n));
        assert_ne!(map("n"), Key::from_event(&shift_n));
        let backtab = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(map("shift-backtab"), Key::from_event(&backtab));
        let ctrl_shift_a = KeyEvent::new(KeyCode::Char('A'), KeyModifiers::CONTROL | KeyModifiers::SHIFT);
        assert_eq!(map("Ctrl-Shift-A"), Key::from_event(&ctrl_shift_a));
    }
}
