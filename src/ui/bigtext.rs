//! A three-row block font for what must read from across the room: the wall clock,
//! tile figures on large tiles, and "ALL OK".

use ratatui::buffer::Buffer;
use ratatui::style::Style;

/// Rows of a glyph, each three columns wide (`:` and `.` are one column).
pub fn glyph(c: char) -> Option<[&'static str; 3]> {
    Some(match c {
        '0' | 'O' => ["█▀█", "█ █", "▀▀▀"],
        '1' => ["▀█ ", " █ ", "▀▀▀"],
        '2' => ["▀▀█", "█▀▀", "▀▀▀"],
        '3' => ["▀▀█", " ▀█", "▀▀▀"],
        '4' => ["█ █", "▀▀█", "  ▀"],
        '5' => ["█▀▀", "▀▀█", "▀▀▀"],
        '6' => ["█▀▀", "█▀█", "▀▀▀"],
        '7' => ["▀▀█", "  █", "  ▀"],
        '8' => ["█▀█", "█▀█", "▀▀▀"],
        '9' => ["█▀█", "▀▀█", "▀▀▀"],
        'A' => ["█▀█", "█▀█", "▀ ▀"],
        'L' => ["█  ", "█  ", "▀▀▀"],
        'K' => ["█ ▄", "█▀▄", "▀ ▀"],
        '-' => ["   ", "▀▀▀", "   "],
        ' ' => ["   ", "   ", "   "],
        ':' => [" ", "▀", "▀"],
        '.' => [" ", " ", "▀"],
        _ => return None,
    })
}

/// The three rows of `s` as [`draw`] puts them on screen (one blank column between
/// glyphs); `None` if a character has no big glyph.
pub fn rows(s: &str) -> Option<[String; 3]> {
    let mut out = [String::new(), String::new(), String::new()];
    for (i, c) in s.chars().enumerate() {
        let g = glyph(c)?;
        for (r, row) in out.iter_mut().enumerate() {
            if i > 0 {
                row.push(' ');
            }
            row.push_str(g[r]);
        }
    }
    Some(out)
}

/// Width in columns of `s` drawn big (one blank column between glyphs); `None` if a
/// character has no big glyph.
pub fn width(s: &str) -> Option<u16> {
    let mut w: u16 = 0;
    for (i, c) in s.chars().enumerate() {
        let g = glyph(c)?;
        w += u16::try_from(g[0].chars().count()).unwrap_or(3) + u16::from(i > 0);
    }
    Some(w)
}

/// Draws `s` big at (x, y), clipped to `max_w` columns. Returns the width used, or
/// `None` (nothing drawn) when it does not fit or a character has no glyph.
pub fn draw(buf: &mut Buffer, x: u16, y: u16, max_w: u16, s: &str, style: Style) -> Option<u16> {
    let w = width(s)?;
    if w > max_w {
        return None;
    }
    let area = buf.area;
    if y + 3 > area.y + area.height || x + w > area.x + area.width {
        return None;
    }
    let mut cx = x;
    for (i, c) in s.chars().enumerate() {
        if i > 0 {
            cx += 1;
        }
        let g = glyph(c)?;
        for (row, line) in g.iter().enumerate() {
            buf.set_string(cx, y + u16::try_from(row).unwrap_or(0), line, style);
        }
        cx += u16::try_from(g[0].chars().count()).unwrap_or(3);
    }
    Some(w)
}

/// A value split for big display: the digits (big) and the unit (small beside them).
pub fn figure_parts(v: f64, unit: crate::model::Unit) -> (String, &'static str) {
    use crate::model::Unit;
    if !v.is_finite() {
        return ("-".into(), "");
    }
    let num = |x: f64| {
        if x.abs() >= 10.0 || x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.1}")
        }
    };
    match unit {
        Unit::Seconds if v.abs() >= 5400.0 => (num(v / 3600.0), "h"),
        Unit::Seconds if v.abs() >= 90.0 => (num(v / 60.0), "m"),
        Unit::Seconds => (num(v), "s"),
        Unit::Ratio => (num(v * 100.0), "%"),
        Unit::Rate if v.abs() >= 10_000.0 => (num(v / 1000.0), "k/s"),
        Unit::Rate => (num(v), "/s"),
        Unit::Bool => (if v >= 1.0 { "1".into() } else { "0".into() }, ""),
        Unit::None | Unit::Count => (num(v), ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Unit;
    use ratatui::layout::Rect;

    #[test]
    fn draws_digits_and_clips() {
        let mut b = Buffer::empty(Rect::new(0, 0, 20, 3));
        assert_eq!(draw(&mut b, 0, 0, 20, "12:30", Style::default()), Some(17));
        let top: String = (0..17).map(|x| b[(x, 0)].symbol().to_string()).collect();
        assert_eq!(top, "▀█  ▀▀█   ▀▀█ █▀█");
        assert_eq!(draw(&mut b, 0, 0, 5, "123", Style::default()), None);
        assert_eq!(draw(&mut b, 0, 0, 20, "x", Style::default()), None);
        assert_eq!(width("ALL OK"), Some(23));
        let r = rows("12:30").expect("glyphs");
        assert_eq!(r[0], top);
        assert!(r.iter().all(|l| l.chars().count() == 17));
    }

    #[test]
    fn figures_pick_readable_units() {
        assert_eq!(figure_parts(12.0, Unit::Seconds), ("12".into(), "s"));
        assert_eq!(figure_parts(600.0, Unit::Seconds), ("10".into(), "m"));
        assert_eq!(figure_parts(0.873, Unit::Ratio), ("87".into(), "%"));
        assert_eq!(figure_parts(1.37, Unit::None), ("1.4".into(), ""));
        assert_eq!(figure_parts(f64::NAN, Unit::None), ("-".into(), ""));
    }
}
