//! The password box: a one-line buffer whose text lives in a
//! `secrecy::SecretBox` from the first key typed, and leaves it only as a
//! `SecretString` for the key derivation. Nothing here can print it (`Debug`
//! is redacted, there is no `Clone`), and every buffer it ever used is wiped:
//! the text grows into a fresh allocation only after the old one is copied
//! and zeroized, so no stale copy is left on the heap by `String`'s growth.

use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox, SecretString};

/// Bytes reserved up front: a password rarely needs more, so the buffer
/// rarely moves at all.
const INITIAL_CAPACITY: usize = 64;

#[derive(Debug)]
pub struct SecretBuf {
    text: SecretBox<String>,
    /// Cursor position in characters (0..=len).
    cursor: usize,
}

impl Default for SecretBuf {
    fn default() -> Self {
        SecretBuf {
            text: SecretBox::new(Box::new(String::with_capacity(INITIAL_CAPACITY))),
            cursor: 0,
        }
    }
}

impl SecretBuf {
    /// The text, for a check that needs to read it in place (two entries
    /// alike, long enough). Never copy it out: use [`SecretBuf::secret`].
    pub fn expose(&self) -> &str {
        self.text.expose_secret()
    }

    /// A copy for the key derivation, as the type that wipes it.
    pub fn secret(&self) -> SecretString {
        SecretString::from(self.expose())
    }

    /// The text as a `SecretString`, leaving the box empty.
    pub fn take(&mut self) -> SecretString {
        let s = self.secret();
        self.clear();
        s
    }

    /// Wipes the text (the whole allocation, not just its length).
    pub fn clear(&mut self) {
        zeroize::Zeroize::zeroize(self.text.expose_secret_mut());
        self.cursor = 0;
    }

    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    /// Characters typed: what the screen shows as stars.
    pub fn chars(&self) -> usize {
        self.expose().chars().count()
    }

    /// The cursor in characters, which is its column among the stars.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// What the screen shows: one star a character.
    pub fn masked(&self) -> String {
        "*".repeat(self.chars())
    }

    fn byte_at(&self, chars: usize) -> usize {
        let text = self.expose();
        text.char_indices().nth(chars).map_or(text.len(), |(b, _)| b)
    }

    pub fn insert(&mut self, s: &str) {
        self.reserve(s.len());
        let at = self.byte_at(self.cursor);
        self.text.expose_secret_mut().insert_str(at, s);
        self.cursor += s.chars().count();
    }

    pub fn backspace(&mut self) -> bool {
        if self.cursor == 0 {
            return false;
        }
        let (start, end) = (self.byte_at(self.cursor - 1), self.byte_at(self.cursor));
        // `replace_range` shifts the tail left in place; the bytes past the
        // new end are overwritten by the wipe at the next clear or drop.
        self.text.expose_secret_mut().replace_range(start..end, "");
        self.cursor -= 1;
        true
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.chars());
    }

    pub fn delete(&mut self) -> bool {
        if self.cursor >= self.chars() {
            return false;
        }
        let (start, end) = (self.byte_at(self.cursor), self.byte_at(self.cursor + 1));
        self.text.expose_secret_mut().replace_range(start..end, "");
        true
    }

    /// A `[text]` action, as `TextBuf::apply`: None when the action is not
    /// about editing, else whether the text changed.
    pub fn apply(&mut self, action: crate::keymap::Action) -> Option<bool> {
        use crate::keymap::Action;
        match action {
            Action::CursorLeft => self.left(),
            Action::CursorRight => self.right(),
            Action::LineStart => self.cursor = 0,
            Action::LineEnd => self.cursor = self.chars(),
            Action::DeleteBack => return Some(self.backspace()),
            Action::DeleteForward => return Some(self.delete()),
            _ => return None,
        }
        Some(false)
    }

    /// Makes room for `extra` more bytes without `String` reallocating (which
    /// would free the old buffer unwiped): a bigger buffer is filled from the
    /// old one, which is then dropped, and so zeroized, by its `SecretBox`.
    fn reserve(&mut self, extra: usize) {
        let old: &String = self.text.expose_secret();
        let needed = old.len() + extra;
        if needed <= old.capacity() {
            return;
        }
        let mut bigger = String::with_capacity(needed.max(INITIAL_CAPACITY) * 2);
        bigger.push_str(old);
        self.text = SecretBox::new(Box::new(bigger));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_like_a_text_box_and_never_prints_its_text() {
        let mut b = SecretBuf::default();
        b.insert("密码ab");
        b.left();
        assert!(b.backspace());
        assert_eq!(b.expose(), "密码b");
        assert_eq!((b.chars(), b.cursor(), b.masked().as_str()), (3, 2, "***"));
        b.right();
        b.insert("c");
        assert_eq!(b.expose(), "密码bc");
        let debug = format!("{b:?}");
        assert!(!debug.contains("密码") && !debug.contains("bc"), "{debug}");
        let s = b.take();
        assert_eq!(s.expose_secret(), "密码bc");
        assert!(!format!("{s:?}").contains("密码"));
        assert!(b.is_empty() && b.cursor() == 0);
    }

    #[test]
    fn a_long_password_grows_the_buffer_and_keeps_every_character() {
        let mut b = SecretBuf::default();
        let long = "长密码".repeat(40);
        for c in long.chars() {
            b.insert(c.encode_utf8(&mut [0; 4]));
        }
        assert_eq!(b.expose(), long);
        assert_eq!(b.secret().expose_secret(), long);
    }
}
