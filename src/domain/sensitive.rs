//! Privacy by type: personal data (names, ID numbers, phones, answers) and
//! secrets print redacted, so a stray `{:?}` in a log line, a panic or an
//! error cannot leak a person.
//!
//! Two tools, one rule. [`Sensitive<T>`] wraps a value whose every part is
//! personal (an ID number in a sync command, a search query, the answers of
//! a form): its `Debug` is `<redacted>` whatever `T` is. [`debug_shows!`]
//! writes the `Debug` of a struct that mixes personal data with ids: it
//! names the fields that may be shown (ids, codes, states) and leaves every
//! other field out, so a field added later stays hidden until someone
//! decides it may be printed.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Deref, DerefMut};

/// A value whose `Debug` never shows it. Everything else (comparison,
/// hashing, serde, reading it through `Deref`) is `T`'s own.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sensitive<T>(pub T);

impl<T> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Sensitive(value)
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> Deref for Sensitive<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Sensitive<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Sensitive(value)
    }
}

/// `Debug` for a struct holding personal data: the listed fields, then `..`
/// for the rest (which are never printed).
///
/// ```ignore
/// debug_shows!(Resident: id, record_no, status);
/// ```
macro_rules! debug_shows {
    ($ty:ident $(<$lt:lifetime>)? : $($field:ident),* $(,)?) => {
        impl $(<$lt>)? std::fmt::Debug for $ty $(<$lt>)? {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use debug_shows;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_hides_the_value_but_keeps_its_behaviour() {
        let id = Sensitive::new("110101199003071234".to_string());
        assert_eq!(format!("{id:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(id.clone())), "Some(<redacted>)");
        assert_eq!(id.len(), 18, "reads through Deref");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"110101199003071234\"");
        assert_eq!(id, Sensitive::from("110101199003071234".to_string()));
    }

    struct Person {
        id: i64,
        name: String,
    }
    debug_shows!(Person: id);

    #[test]
    fn debug_shows_only_the_listed_fields() {
        let p = Person {
            id: 7,
            name: "张三丰".into(),
        };
        assert_eq!(p.name.chars().count(), 3);
        assert_eq!(format!("{p:?}"), "Person { id: 7, .. }");
    }
}
