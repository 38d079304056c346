//! Untrusted text (label values, annotations, error bodies) must never reach the
//! terminal raw: a label holding `ESC ] 52 ;` could write the clipboard, one holding
//! `ESC [ 2 J` could clear the screen. Everything from the network passes through here.

use std::borrow::Cow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// True for characters that a terminal interprets instead of printing, or that change
/// what is shown without showing themselves: C0, DEL, C1, the bidirectional marks and
/// overrides (U+061C, U+200E/F, U+202A–E, U+2066–9), the zero-width characters
/// (U+200B–D) and the byte-order mark (U+FEFF). The one set every sanitiser uses.
pub fn is_dangerous(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || u == 0x7f
        || (0x80..=0x9f).contains(&u)
        || u == 0x061c
        || (0x200b..=0x200f).contains(&u)
        || (0x202a..=0x202e).contains(&u)
        || (0x2066..=0x2069).contains(&u)
        || u == 0xfeff
}

/// Escapes control characters as `\xNN` (or `\u{NNNN}`); other text is returned as is.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_dangerous(c) {
            let u = c as u32;
            if u <= 0xff {
                out.push_str(&format!("\\x{u:02x}"));
            } else {
                out.push_str(&format!("\\u{{{u:04x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Display width of `s` in terminal columns (after escaping). Measured on the whole
/// string, as the terminal sees it: a character and a following U+FE0F can be one
/// 2-column emoji although each alone is narrower.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Escapes `s` and cuts it to at most `max` columns, ending with `…` when cut.
/// Wide characters are never split, so the layout stays intact.
pub fn fit(s: &str, max: usize) -> String {
    let esc = escape(s);
    if width(&esc) <= max {
        return esc.into_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in esc.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw > max - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    // Sequences can be wider than their characters (`\x09` + U+FE0F ends in a keycap `9️`).
    while width(&out) > max {
        out.pop();
        if out.pop().is_none() {
            out.push('…');
            break;
        }
        out.push('…');
    }
    out
}

/// One printable line of at most `max_chars` characters, for error messages and log
/// lines: [`is_dangerous`] characters and white space become one space (runs collapse),
/// the ends are trimmed, and a cut ends with `…`.
pub fn line(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 4));
    let mut count = 0;
    let mut last_space = true;
    for c in s.chars() {
        let c = if is_dangerous(c) || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        if count == max_chars {
            while out.ends_with(' ') {
                out.pop();
            }
            out.push('…');
            return out;
        }
        out.push(c);
        count += 1;
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Last line of defence: replaces any control character left in a cell symbol.
/// Called on every frame's buffer before it is flushed.
pub fn scrub_buffer(buf: &mut ratatui::buffer::Buffer) {
    for cell in &mut buf.content {
        if cell.symbol().chars().any(is_dangerous) {
            cell.set_symbol("�");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_terminal_sequences() {
        assert_eq!(escape("db1"), "db1");
        assert_eq!(
            escape("a\x1b]52;c;SGVsbG8=\x07b"),
            "a\\x1b]52;c;SGVsbG8=\\x07b"
        );
        assert_eq!(escape("\x1b[2J"), "\\x1b[2J");
        assert_eq!(escape("x\u{9b}31m"), "x\\x9b31m");
        assert_eq!(escape("evil\u{202e}txt"), "evil\\u{202e}txt");
        assert_eq!(escape("tab\there\n"), "tab\\x09here\\x0a");
    }

    #[test]
    fn fit_cuts_with_ellipsis_and_respects_wide_chars() {
        assert_eq!(fit("payments-db-01", 8), "payment…");
        assert_eq!(fit("short", 8), "short");
        assert_eq!(fit("数据库服务器", 5), "数据…");
        assert_eq!(width(&fit("数据库服务器", 5)), 5);
        assert_eq!(fit("abc", 0), "");
    }

    #[test]
    fn fit_measures_sequences_as_the_terminal_does() {
        // Found by tests/suite/health_prop.rs: the escaped tab ends in `9`, which with U+FE0F is a
        // 2-column emoji; fit counted it as 1 column and overflowed its box.
        let f = fit("\t\u{fe0f}\u{1b}aa", 5);
        assert!(width(&f) <= 5, "{f:?} is {} columns", width(&f));
        assert_eq!(f, "\\x09…");
        assert_eq!(width("9\u{fe0f}"), 2);
        assert!(width(&fit("9\u{fe0f}9\u{fe0f}", 3)) <= 3);
    }

    #[test]
    fn one_set_of_characters_for_both_sanitisers() {
        // Each of these was let through by one of two sanitisers that had different sets.
        for c in [
            '\u{061c}', '\u{200b}', '\u{200d}', '\u{feff}', '\u{1b}', '\u{9b}', '\u{202e}',
        ] {
            let s = format!("a{c}b");
            assert!(!escape(&s).contains(c), "escape kept {:?}", c as u32);
            assert_eq!(line(&s, 10), "a b", "line kept {:?}", c as u32);
        }
        assert_eq!(line("  two\n\tlines  ", 20), "two lines");
        assert_eq!(line("abcdef", 3), "abc…");
    }

    proptest! {
        #[test]
        fn line_has_no_dangerous_chars(s in any::<String>(), max in 1usize..50) {
            let l = line(&s, max);
            prop_assert!(!l.chars().any(is_dangerous));
            prop_assert!(l.chars().count() <= max + 1);
        }

        #[test]
        fn escaped_text_has_no_control_chars(s in any::<String>()) {
            let e = escape(&s);
            prop_assert!(!e.chars().any(is_dangerous));
        }

        #[test]
        fn fit_never_exceeds_width(s in any::<String>(), max in 0usize..40) {
            let f = fit(&s, max);
            prop_assert!(width(&f) <= max);
            prop_assert!(!f.chars().any(is_dangerous));
        }
    }
}
