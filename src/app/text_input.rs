//! A one-line text buffer whose cursor counts characters, and whose screen
//! column counts display width, so Chinese text (two columns a character)
//! keeps the cursor where the user sees it.

use crate::domain::Sensitive;
use crate::keymap::Action;
use unicode_width::UnicodeWidthStr;

/// What a user typed: a name, an ID number, an answer. `Debug` shows the
/// cursor, never the text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextBuf {
    text: Sensitive<String>,
    /// Cursor position in characters (0..=len).
    cursor: usize,
}

impl TextBuf {
    pub fn new(text: &str) -> Self {
        TextBuf {
            text: Sensitive(text.to_string()),
            cursor: text.chars().count(),
        }
    }

    pub fn text(&self) -> &str {
        self.text.as_str()
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map(|(b, _)| b)
            .unwrap_or(self.text.len())
    }

    pub fn insert(&mut self, s: &str) {
        let at = self.byte_at(self.cursor);
        self.text.insert_str(at, s);
        self.cursor += s.chars().count();
    }

    pub fn backspace(&mut self) -> bool {
        if self.cursor == 0 {
            return false;
        }
        let start = self.byte_at(self.cursor - 1);
        let end = self.byte_at(self.cursor);
        self.text.replace_range(start..end, "");
        self.cursor -= 1;
        true
    }

    pub fn delete(&mut self) -> bool {
        if self.cursor >= self.text.chars().count() {
            return false;
        }
        let start = self.byte_at(self.cursor);
        let end = self.byte_at(self.cursor + 1);
        self.text.replace_range(start..end, "");
        true
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    pub fn set(&mut self, s: &str) {
        self.text = Sensitive(s.to_string());
        self.cursor = s.chars().count();
    }

    /// A `[text]` action (the keys that edit a line wherever one is typed);
    /// None when the action is not about editing, else whether the text
    /// changed.
    pub fn apply(&mut self, action: Action) -> Option<bool> {
        match action {
            Action::CursorLeft => self.left(),
            Action::CursorRight => self.right(),
            Action::LineStart => self.home(),
            Action::LineEnd => self.end(),
            Action::DeleteBack => return Some(self.backspace()),
            Action::DeleteForward => return Some(self.delete()),
            _ => return None,
        }
        Some(false)
    }

    /// Screen columns from the start of the text to the cursor.
    pub fn cursor_column(&self) -> usize {
        self.text.get(..self.byte_at(self.cursor)).map_or(0, |s| s.width())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_column_uses_display_width() {
        let mut t = TextBuf::new("张三");
        assert_eq!(t.cursor(), 2);
        assert_eq!(t.cursor_column(), 4);
        t.left();
        assert_eq!(t.cursor_column(), 2);
        t.insert("a");
        assert_eq!(t.text(), "张a三");
        assert_eq!(t.cursor_column(), 3);
        assert!(t.backspace());
        assert!(t.backspace());
        assert_eq!(t.text(), "三");
        assert!(!t.backspace());
        assert!(t.delete());
        assert_eq!(t.text(), "");
        t.insert("王小明");
        assert!(!format!("{t:?}").contains("王"), "Debug shows no typed text");
    }
}
