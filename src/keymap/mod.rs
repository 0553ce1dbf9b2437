//! Keys are data: `assets/keymap.toml` (compiled in) maps each action to its
//! keys per context, a site may override it with `keymap.toml` in the data
//! directory, and the hint line, the help screen and the instructions in
//! translated text (`{key:new_resident}`) are generated from the same table.
//! A bad entry, or one key given two actions in a context, is reported with
//! file and line and the built-in binding is kept.
//!
//! This module is also the one place that looks at a terminal key's code:
//! the core asks it for actions ([`Keymap::action_in`]) and for typed text
//! ([`typed_char`]), never matching `KeyCode`s itself.

mod key;
mod parse;
pub mod site_file;
#[cfg(test)]
mod tests;

pub use key::Key;
pub use parse::KeymapError;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

pub const DEFAULT: &str = include_str!("../../assets/keymap.toml");

/// Declares a closed list of names as they are written in the keymap file.
macro_rules! named {
    ($(#[$doc:meta])* $vis:vis enum $name:ident { $($(#[$m:meta])* $v:ident = $s:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name { $($(#[$m])* $v,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v,)*];

            pub fn name(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }

            pub fn from_name(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|a| a.name() == s)
            }
        }
    };
}

named! {
    /// Where a key is pressed: a screen or a box over it. Keys are looked up
    /// in a short chain of contexts (see `App::key_contexts`), the first
    /// binding wins, `global` last.
    pub enum Context {
        Global = "global",
        List = "list",
        Resident = "resident",
        Form = "form",
        /// Editing a line of text, wherever one is typed: shared by every
        /// screen with an input, after that screen's own keys.
        Text = "text",
        Dialog = "dialog",
        /// A box that takes typed text: the reason for abandoning a draft.
        Prompt = "prompt",
        /// The list of waiting and failed uploads (an overlay).
        Uploads = "uploads",
        /// The worklist and the clinic's indicators.
        Manage = "manage",
        /// The first-run setup, installation, login and password screens.
        Setup = "setup",
        /// The help screen (it scrolls).
        Help = "help",
        /// The idle lock.
        Lock = "lock",
        /// A version clash with the platform, both versions side by side.
        Conflict = "conflict",
    }
}

named! {
    pub enum Action {
        Quit = "quit",
        Help = "help",
        Up = "up",
        Down = "down",
        Open = "open",
        NewResident = "new_resident",
        Clear = "clear",
        NewRecord = "new_record",
        EditResident = "edit_resident",
        AbandonDraft = "abandon_draft",
        Back = "back",
        NextField = "next_field",
        PrevField = "prev_field",
        NextSection = "next_section",
        PrevSection = "prev_section",
        NextProblem = "next_problem",
        Toggle = "toggle",
        OptionLeft = "option_left",
        OptionRight = "option_right",
        ClearField = "clear_field",
        DeleteRow = "delete_row",
        Finalize = "finalize",
        Amend = "amend",
        Confirm = "confirm",
        Cancel = "cancel",
        Logout = "logout",
        Audit = "audit",
        /// Opens the upload list.
        Uploads = "uploads",
        /// Uploads now.
        Send = "send",
        /// Puts the failed uploads back in the queue.
        Retry = "retry",
        /// Links the selected upload's resident to the platform's record of the
        /// same person (`store::link`).
        Link = "link",
        /// Opens the worklist (who is due).
        Worklist = "worklist",
        /// Opens the clinic's indicators.
        Indicators = "indicators",
        /// Worklist and indicators: the next programme / village filter.
        FilterProgramme = "filter_programme",
        FilterVillage = "filter_village",
        /// Indicators: the previous / next period (year, quarters).
        PrevPeriod = "prev_period",
        NextPeriod = "next_period",
        /// Upload list: compare the two versions of a clash.
        Compare = "compare",
        /// A clash: send ours again over the platform's version.
        KeepMine = "keep_mine",
        /// A clash: take the platform's version.
        TakeTheirs = "take_theirs",
        /// A clash: ours with the ticked items taken from the platform.
        Merge = "merge",
        /// Help: a screenful up or down.
        PageUp = "page_up",
        PageDown = "page_down",
        /// Text editing: the cursor, and deleting before or at it.
        CursorLeft = "cursor_left",
        CursorRight = "cursor_right",
        LineStart = "line_start",
        LineEnd = "line_end",
        DeleteBack = "delete_back",
        DeleteForward = "delete_forward",
    }
}

/// The character a key types, if it types one: a printable character
/// without Ctrl or Alt (Shift is already in the character). Text inputs
/// take these before any binding of the same key elsewhere.
pub fn typed_char(k: &KeyEvent) -> Option<char> {
    match k.code {
        KeyCode::Char(c) if !k.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) && !c.is_control() => {
            Some(c)
        }
        _ => None,
    }
}

/// One row of the help screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpRow<'a> {
    Context(Context),
    Entries(Vec<(Action, &'a [Key])>),
}

/// The event of a key written as in the keymap file (`"f9"`, `"ctrl-y"`,
/// `"张"`), for tests that press keys; panics on a name that is no key.
pub fn press(name: &str) -> KeyEvent {
    Key::parse(name)
        .unwrap_or_else(|| panic!("no key is called {name}"))
        .event()
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
    /// The action for a key in a context; global bindings apply everywhere.
    pub fn action(&self, ctx: Context, key: &KeyEvent) -> Option<Action> {
        self.action_in(&[ctx, Context::Global], key).map(|(_, a)| a)
    }

    /// The first binding of a key along a chain of contexts, with the
    /// context it was found in.
    pub fn action_in(&self, chain: &[Context], key: &KeyEvent) -> Option<(Context, Action)> {
        let key = Key::from_event(key);
        chain.iter().find_map(|c| {
            let entries = self.bindings.get(c)?;
            let (a, _) = entries.iter().find(|(_, keys)| keys.contains(&key))?;
            Some((*c, *a))
        })
    }

    pub fn keys(&self, ctx: Context, action: Action) -> &[Key] {
        self.bindings
            .get(&ctx)
            .and_then(|v| v.iter().find(|(a, _)| *a == action))
            .map(|(_, k)| k.as_slice())
            .unwrap_or(&[])
    }

    /// Every key of an action, tight (`Esc/F9/Ctrl-Y`), for the key line
    /// inside a box where space is short.
    pub fn compact_labels(&self, ctx: Context, action: Action) -> String {
        self.keys(ctx, action)
            .iter()
            .map(Key::label)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The first key label for an action, for one-line hints.
    pub fn hint(&self, ctx: Context, action: Action) -> String {
        self.keys(ctx, action).first().map(Key::label).unwrap_or_default()
    }

    pub fn entries(&self, ctx: Context) -> &[(Action, Vec<Key>)] {
        self.bindings.get(&ctx).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The help screen's rows: each context with keys, then its actions
    /// with all their keys, `columns` to a row — but an action whose keys
    /// are wider than `keys_width` has a row of its own — so nothing need
    /// be cut at 80 columns; the help scrolls instead.
    pub fn help_rows(&self, columns: usize, keys_width: usize) -> Vec<HelpRow<'_>> {
        let mut rows = Vec::new();
        for ctx in Context::ALL {
            let entries: Vec<(Action, &[Key])> = self
                .entries(*ctx)
                .iter()
                .filter(|(_, k)| !k.is_empty())
                .map(|(a, k)| (*a, k.as_slice()))
                .collect();
            if entries.is_empty() {
                continue;
            }
            rows.push(HelpRow::Context(*ctx));
            let mut row: Vec<(Action, &[Key])> = Vec::new();
            for (action, keys) in entries {
                if Key::labels(keys).chars().count() > keys_width {
                    if !row.is_empty() {
                        rows.push(HelpRow::Entries(std::mem::take(&mut row)));
                    }
                    rows.push(HelpRow::Entries(vec![(action, keys)]));
                    continue;
                }
                row.push((action, keys));
                if row.len() >= columns {
                    rows.push(HelpRow::Entries(std::mem::take(&mut row)));
                }
            }
            if !row.is_empty() {
                rows.push(HelpRow::Entries(row));
            }
        }
        rows
    }

    /// Text with its key placeholders filled in from this keymap, so the
    /// instructions follow a site's own keys: `{key:new_resident}` is the
    /// first key of that action, `{keys:new_resident}` all of them
    /// ("F2 / Ctrl-R"); `{key:uploads.back}` names the context, otherwise
    /// the action's first context in [`Context::ALL`] order is taken. A
    /// placeholder for an action without a key is left as written: a gap
    /// to be seen, not a wrong instruction.
    pub fn fill(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find("{key") {
            let (before, tail) = rest.split_at(open);
            out.push_str(before);
            let Some(close) = tail.find('}') else {
                rest = tail;
                break;
            };
            let (placeholder, after) = tail.split_at(close + 1);
            match self.placeholder(placeholder) {
                Some(keys) => out.push_str(&keys),
                None => out.push_str(placeholder),
            }
            rest = after;
        }
        out.push_str(rest);
        out
    }

    /// `{key:ctx.action}` or `{keys:action}` -> the labels; None if it is
    /// not a placeholder or names nothing bound.
    fn placeholder(&self, p: &str) -> Option<String> {
        let inner = p.strip_prefix('{')?.strip_suffix('}')?;
        let (all, name) = match inner.split_once(':')? {
            ("key", name) => (false, name),
            ("keys", name) => (true, name),
            _ => return None,
        };
        let keys = match name.split_once('.') {
            Some((ctx, action)) => self.keys(Context::from_name(ctx)?, Action::from_name(action)?),
            None => {
                let action = Action::from_name(name)?;
                Context::ALL
                    .iter()
                    .map(|c| self.keys(*c, action))
                    .find(|k| !k.is_empty())?
            }
        };
        let labels: Vec<String> = keys.iter().map(Key::label).collect();
        match (all, labels.first()) {
            (_, None) => None,
            (false, Some(first)) => Some(first.clone()),
            (true, Some(_)) => Some(labels.join(" / ")),
        }
    }
}
