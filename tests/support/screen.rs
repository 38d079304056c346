//! Reading the board's screen in end-to-end tests: the block font of the wall clock and of
//! "ALL OK", one host's tile, the selected row of a list.

/// The three rows of `text` in the board's block font, one blank column between glyphs;
/// `None` for a character the font has no glyph for.
pub fn big_rows(text: &str) -> Option<[String; 3]> {
    fleetboard::ui::bigtext::rows(text)
}

/// Where `text` is drawn big on the screen: (row, column in chars) of its top-left corner,
/// the three rows one under the other at the same column.
///
/// A captured line ends at its last non-blank cell (`tmux capture-pane` trims the rest), so
/// cells past its end count as blanks: a glyph whose last column is blank (`1`: `▀█ `)
/// at the right edge of the screen is still found.
pub fn find_big(lines: &[&str], text: &str) -> Option<(usize, usize)> {
    let rows = big_rows(text)?;
    let want: Vec<Vec<char>> = rows.iter().map(|r| r.chars().collect()).collect();
    let lines: Vec<Vec<char>> = lines.iter().map(|l| l.chars().collect()).collect();
    let cell = |line: &[char], c: usize| line.get(c).copied().unwrap_or(' ');
    for i in 0..lines.len().saturating_sub(2) {
        let top = &lines[i];
        for col in 0..top.len() {
            if (0..3).all(|r| {
                want[r]
                    .iter()
                    .enumerate()
                    .all(|(k, w)| cell(&lines[i + r], col + k) == *w)
            }) {
                return Some((i, col));
            }
        }
    }
    None
}

/// The title row of `host`'s tile on the grid, from its health symbol to where the next
/// tile on that row starts (so a badge such as `⚑1` can be read for that host only).
/// `hosts` are every host name of the fleet; a name counts only as a whole word after a
/// health symbol and a space.
pub fn tile_title(lines: &[&str], host: &str, hosts: &[&str]) -> Option<String> {
    for l in lines {
        let chars: Vec<char> = l.chars().collect();
        // (start of the symbol, host name) of every tile title on this row
        let mut starts: Vec<(usize, &str)> = Vec::new();
        for h in hosts {
            let name: Vec<char> = h.chars().collect();
            for p in 2..chars.len() {
                let end = p + name.len();
                if chars.get(p..end) == Some(name.as_slice())
                    && chars[p - 1] == ' '
                    && !chars[p - 2].is_whitespace()
                    && chars
                        .get(end)
                        .is_none_or(|c| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
                {
                    starts.push((p - 2, h));
                }
            }
        }
        starts.sort_unstable();
        if let Some(i) = starts.iter().position(|(_, h)| *h == host) {
            let from = starts[i].0;
            let to = starts.get(i + 1).map_or(chars.len(), |(p, _)| *p);
            return Some(chars[from..to].iter().collect::<String>().trim_end().into());
        }
    }
    None
}

/// Host names in the order the screen shows them (row by row, left to right), each once.
pub fn host_order<'a>(lines: &[&str], hosts: &[&'a str]) -> Vec<&'a str> {
    let mut seen: Vec<(usize, usize, &'a str)> = Vec::new();
    for (row, l) in lines.iter().enumerate() {
        for h in hosts {
            if seen.iter().any(|(_, _, s)| s == h) {
                continue;
            }
            if let Some(t) = tile_title(&[l], h, hosts) {
                let col = l.find(t.as_str()).map_or(0, |b| l[..b].chars().count());
                seen.push((row, col, h));
            }
        }
    }
    seen.sort_unstable();
    seen.into_iter().map(|(_, _, h)| h).collect()
}

/// The selected row of a list (the one marked `▸ `), without the frame.
pub fn selected_row<'a>(lines: &[&'a str]) -> Option<&'a str> {
    lines
        .iter()
        .find(|l| l.trim_start_matches('│').starts_with("▸ "))
        .map(|l| l.trim_matches('│').trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_text_at_the_right_edge_is_found_in_a_trimmed_capture() {
        let rows = big_rows("22:31").expect("the block font has digits and `:`");
        // drawn in the last 17 columns of an 80-column screen, captured with trailing
        // blanks trimmed: row 0 of `1` (`▀█ `) loses its last cell
        let lines: Vec<String> = rows
            .iter()
            .map(|r| format!("{}{r}", " ".repeat(63)).trim_end().to_string())
            .collect();
        assert!(lines[0].chars().count() < 80, "the capture is trimmed");
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(find_big(&lines, "22:31"), Some((0, 63)));
        assert_eq!(find_big(&lines, "22:32"), None);
    }
}
