//! One key as the keymap file writes it (`ctrl-q`, `f10`, `shift-tab`) and as
//! help and hints show it (`Ctrl-Q`, `F10`, `Shift-Tab`), made the same way
//! from a terminal's key event so that every binding can match a key press.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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

    /// The terminal's event for this key (tests play keys by their names).
    pub fn event(&self) -> KeyEvent {
        KeyEvent::new(self.code, self.mods)
    }

    /// All the keys of an action as help shows them: `F2 / Ctrl-R`.
    pub fn labels(keys: &[Key]) -> String {
        keys.iter().map(Key::label).collect::<Vec<_>>().join(" / ")
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
