//! The site's own `keymap.toml` in the data directory, over the built-in
//! keys. It may be UTF-8, GBK or UTF-16 as Notepad saves it; a file that
//! exists but cannot be read is reported like a bad entry, never taken for
//! an absent one.

use super::Keymap;
use crate::edited_file::{self, EditedError};
use crate::i18n::I18n;
use std::path::Path;

/// The keys to use, and one message (in the user's language) per problem.
pub fn load(dir: &Path, i18n: &I18n) -> (Keymap, Vec<String>) {
    let base = Keymap::default();
    let file = dir.join(crate::paths::KEYMAP_FILE);
    let name = file.display().to_string();
    let src = match edited_file::read(&file) {
        Ok(Some(edited)) => edited.text,
        Ok(None) => return (base, Vec::new()),
        Err(EditedError::Unreadable(e)) => {
            let msg = i18n.tf("cli.keymap_unreadable", &[("file", &name), ("detail", &e.to_string())]);
            return (base, vec![msg]);
        }
        Err(EditedError::NotText { line }) => {
            let msg = i18n.tf("cli.keymap_not_text", &[("file", &name), ("line", &line.to_string())]);
            return (base, vec![msg]);
        }
        Err(EditedError::TooLarge { limit }) => {
            let max = crate::bounded_read::size_text(limit);
            let msg = i18n.tf("cli.keymap_too_large", &[("file", &name), ("max", &max)]);
            return (base, vec![msg]);
        }
    };
    let (map, errors) = Keymap::parse(&name, &src, Some(&base));
    let msgs = errors
        .iter()
        .map(|e| {
            i18n.tf(
                "cli.keymap_error",
                &[("file", &e.file), ("line", &e.line.to_string()), ("detail", &e.detail)],
            )
        })
        .collect();
    (map, msgs)
}
