//! The boxes over a screen, as one stack (issue 12): help, the upload list,
//! the duplicate-ID stop, the suspected duplicates, the form picker, the
//! reason for abandoning a draft, the problems that stop finalizing, and
//! the idle lock. Keys go to [`Overlays::top`], the hint line describes it
//! and it is drawn last — one answer to "which box is in front", where
//! separate flags used to be weighed in three places that disagreed.
//!
//! Rules: at most one overlay of each kind (opening one again replaces it),
//! and the lock is always on top while it is down (whatever opens under it
//! waits there). Boxes about the screen (picker, reason, problems, and the
//! duplicate questions about the registration on screen) close when the
//! screen changes.

use super::form_fill::Dialog;
use super::session::LockState;
use super::text_input::TextBuf;
use super::Suspects;
use crate::keymap::Context;
use crate::store::ResidentRow;

/// Rows of keys the help shows at the smallest screen (80×24: the box
/// over all but the hint line, less its border). Scrolling stops when the
/// last row is on this page; a taller screen shows the end sooner.
pub const HELP_PAGE: usize = crate::ui::MIN_HEIGHT as usize - 3;

/// Actions side by side on a help row: two fit at the smallest width.
pub const HELP_COLUMNS: usize = 2;

/// The keys of an action fit beside another action when no wider than
/// this: half of 78 columns, less an indent of 2, a label of 16 (the widest
/// in the catalogues) and two blanks. Wider keys get a row of their own.
pub const HELP_KEYS_WIDTH: usize = 19;

pub enum Overlay {
    /// Finalizing was refused or needs confirmation (over a form).
    Problems(Dialog),
    /// Choosing which form to start: index into the visit forms (over a
    /// resident's page).
    Picker(usize),
    /// Abandoning the selected draft: the reason being typed (over a
    /// resident's page).
    AbandonReason(TextBuf),
    /// An existing resident with the same ID number as the one being registered.
    Duplicate(Vec<ResidentRow>),
    /// Possibly the same person as the one being registered: the worker is asked.
    Suspects(Suspects),
    /// The waiting and failed uploads (rows in `App::sync`).
    Uploads,
    /// A version clash with the platform, opened from the upload list.
    Conflict(Box<super::conflict_screen::ConflictState>),
    /// The keys, scrolled this many rows.
    Help { scroll: usize },
    /// The idle lock: hides every personal detail until the password.
    Lock(LockState),
}

/// Which overlay, without its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Problems,
    Picker,
    AbandonReason,
    Duplicate,
    Suspects,
    Uploads,
    Conflict,
    Help,
    Lock,
}

impl Overlay {
    pub fn kind(&self) -> Kind {
        match self {
            Overlay::Problems(_) => Kind::Problems,
            Overlay::Picker(_) => Kind::Picker,
            Overlay::AbandonReason(_) => Kind::AbandonReason,
            Overlay::Duplicate(_) => Kind::Duplicate,
            Overlay::Suspects(_) => Kind::Suspects,
            Overlay::Uploads => Kind::Uploads,
            Overlay::Conflict(_) => Kind::Conflict,
            Overlay::Help { .. } => Kind::Help,
            Overlay::Lock(_) => Kind::Lock,
        }
    }

    /// Where its keys are looked up, first binding wins.
    pub fn key_contexts(&self) -> &'static [Context] {
        match self {
            Overlay::Lock(_) => &[Context::Lock, Context::Text, Context::Global],
            // Any key not bound here closes help, so nothing global applies.
            Overlay::Help { .. } => &[Context::Help],
            Overlay::Uploads => &[Context::Uploads, Context::Global],
            Overlay::Conflict(_) => &[Context::Conflict, Context::Global],
            Overlay::AbandonReason(_) => &[Context::Prompt, Context::Text, Context::Global],
            Overlay::Problems(_) | Overlay::Picker(_) | Overlay::Duplicate(_) | Overlay::Suspects(_) => {
                &[Context::Dialog, Context::Global]
            }
        }
    }

    /// A box that takes typed text: printable keys are text in it.
    pub fn takes_text(&self) -> bool {
        matches!(self, Overlay::Lock(_) | Overlay::AbandonReason(_))
    }
}

impl Kind {
    /// About the screen under it: closes when that screen goes.
    fn screen_bound(self) -> bool {
        !matches!(self, Kind::Uploads | Kind::Conflict | Kind::Help | Kind::Lock)
    }
}

/// The stack, bottom first.
#[derive(Default)]
pub struct Overlays(Vec<Overlay>);

impl Overlays {
    /// The box in front: it gets the keys, the hint line and is drawn last.
    pub fn top(&self) -> Option<&Overlay> {
        self.0.last()
    }

    pub fn top_mut(&mut self) -> Option<&mut Overlay> {
        self.0.last_mut()
    }

    /// Bottom to top, the order they are drawn in.
    pub fn iter(&self) -> impl Iterator<Item = &Overlay> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_open(&self, kind: Kind) -> bool {
        self.0.iter().any(|o| o.kind() == kind)
    }

    pub fn locked(&self) -> bool {
        self.is_open(Kind::Lock)
    }

    /// Opens a box in front, replacing one of its kind; under the lock
    /// while it is down. The lock itself also closes help (nobody reads it
    /// behind the lock, and it would greet the user after unlocking).
    pub fn push(&mut self, overlay: Overlay) {
        let kind = overlay.kind();
        self.close(kind);
        if kind == Kind::Lock {
            self.close(Kind::Help);
            self.0.push(overlay);
            return;
        }
        let at = self
            .0
            .iter()
            .position(|o| o.kind() == Kind::Lock)
            .unwrap_or(self.0.len());
        self.0.insert(at, overlay);
    }

    /// Closes the box in front.
    pub fn pop(&mut self) -> Option<Overlay> {
        self.0.pop()
    }

    pub fn close(&mut self, kind: Kind) {
        self.0.retain(|o| o.kind() != kind);
    }

    /// The screen under the boxes changed: the boxes about it go.
    pub fn screen_changed(&mut self) {
        self.0.retain(|o| !o.kind().screen_bound());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(o: &Overlays) -> Vec<Kind> {
        o.iter().map(Overlay::kind).collect()
    }

    #[test]
    fn one_of_each_kind_and_the_lock_stays_on_top() {
        let mut o = Overlays::default();
        o.push(Overlay::Duplicate(Vec::new()));
        o.push(Overlay::Uploads);
        o.push(Overlay::Help { scroll: 0 });
        o.push(Overlay::Lock(LockState::default()));
        assert_eq!(kinds(&o), [Kind::Duplicate, Kind::Uploads, Kind::Lock], "help closes");
        o.push(Overlay::Picker(0));
        o.push(Overlay::Duplicate(Vec::new()));
        assert_eq!(kinds(&o), [Kind::Uploads, Kind::Picker, Kind::Duplicate, Kind::Lock]);
        assert!(matches!(o.pop(), Some(Overlay::Lock(_))));
        assert_eq!(o.top().map(Overlay::kind), Some(Kind::Duplicate));
        o.push(Overlay::Help { scroll: 0 });
        o.screen_changed();
        assert_eq!(kinds(&o), [Kind::Uploads, Kind::Help]);
    }
}
