//! The one line editor of the board: the grid filter, the alerts filter and each field
//! of the silence form type through it, with one length limit and one rule for what may
//! be typed.

/// Longest text a line takes, in characters: room for a long matcher list, far below
/// anything that would slow a filter down.
pub const MAX_CHARS: usize = 1000;

/// One edit of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// Append a character (refused when the line is full or the character is one a
    /// terminal would interpret, e.g. from a paste).
    Type(char),
    /// Delete the last character.
    Backspace,
    /// Empty the line (Ctrl-U).
    Clear,
}

/// Applies `e` to `text`. Returns whether the text changed.
pub fn apply(text: &mut String, e: Edit) -> bool {
    match e {
        Edit::Type(c) => {
            if crate::sanitize::is_dangerous(c) || text.chars().count() >= MAX_CHARS {
                return false;
            }
            text.push(c);
            true
        }
        Edit::Backspace => text.pop().is_some(),
        Edit::Clear => {
            let changed = !text.is_empty();
            text.clear();
            changed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_deletes_clears_and_stops_at_the_limit() {
        let mut s = String::new();
        assert!(apply(&mut s, Edit::Type('d')));
        assert!(apply(&mut s, Edit::Type('b')));
        assert!(
            !apply(&mut s, Edit::Type('\u{1b}')),
            "no escape from a paste"
        );
        assert_eq!(s, "db");
        assert!(apply(&mut s, Edit::Backspace));
        assert_eq!(s, "d");
        assert!(apply(&mut s, Edit::Clear));
        assert!(!apply(&mut s, Edit::Backspace));
        for _ in 0..MAX_CHARS + 5 {
            apply(&mut s, Edit::Type('é'));
        }
        assert_eq!(s.chars().count(), MAX_CHARS);
    }
}
