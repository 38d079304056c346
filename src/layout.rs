//! Grid geometry, shared by drawing and by navigation/mouse hit-testing so the two
//! always agree. Positions are in a virtual canvas; the view scrolls over it.

/// Where one tile sits in the virtual canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePos {
    /// Index into the visible host list.
    pub host: usize,
    pub x: u16,
    pub y: u32,
}

/// A cluster title line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPos {
    /// Index into the visible group list.
    pub group: usize,
    pub y: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GridLayout {
    pub tile_w: u16,
    pub tile_h: u16,
    pub cols: u16,
    pub tiles: Vec<TilePos>,
    pub groups: Vec<GroupPos>,
    pub height: u32,
}

/// Gap between tiles, in columns.
pub const GAP: u16 = 1;

/// Tile size for a grid area: wider terminals get wider tiles with more figures;
/// short ones get one-line tiles.
pub fn tile_size(width: u16, height: u16) -> (u16, u16) {
    let w = match width {
        0..=59 => width.clamp(1, 14),
        60..=119 => 18,
        120..=199 => 20,
        _ => 24,
    };
    let h = match height {
        0..=11 => 1,
        12..=29 => 2,
        _ => 3,
    };
    (w, h)
}

/// Lays out groups of tiles: a title line per group, then rows of tiles, then a
/// blank line. `group_sizes[i]` is the number of hosts in group `i`, in order.
pub fn layout(width: u16, height: u16, group_sizes: &[usize]) -> GridLayout {
    // The rightmost column is kept for the scrollbar.
    let usable = width.saturating_sub(1).max(1);
    let (min_w, tile_h) = tile_size(usable, height);
    let cols = ((usable + GAP) / (min_w + GAP)).max(1);
    // Spread the spare columns over the tiles so the grid fills the width.
    let tile_w = ((usable + GAP) / cols)
        .saturating_sub(GAP)
        .max(min_w.min(usable));
    let row_h = u32::from(tile_h) + u32::from(tile_h > 1);
    let mut l = GridLayout {
        tile_w,
        tile_h,
        cols,
        ..GridLayout::default()
    };
    let mut y: u32 = 0;
    let mut host = 0usize;
    for (g, &n) in group_sizes.iter().enumerate() {
        l.groups.push(GroupPos { group: g, y });
        y += 1;
        for i in 0..n {
            let c = u16::try_from(i % usize::from(cols)).unwrap_or(0);
            let r = u32::try_from(i / usize::from(cols)).unwrap_or(u32::MAX);
            l.tiles.push(TilePos {
                host,
                x: c * (tile_w + GAP),
                y: y + r * row_h,
            });
            host += 1;
        }
        let rows = u32::try_from(n.div_ceil(usize::from(cols))).unwrap_or(u32::MAX);
        y += rows * row_h;
        if tile_h == 1 {
            y += 1;
        }
    }
    l.height = y;
    l
}

impl GridLayout {
    /// The tile in the row above (`dy < 0`) or below, nearest in x.
    pub fn vertical(&self, from: usize, down: bool) -> Option<usize> {
        let cur = self.tiles.get(from)?;
        let cand =
            self.tiles.iter().enumerate().filter(
                |(_, t)| {
                    if down {
                        t.y > cur.y
                    } else {
                        t.y < cur.y
                    }
                },
            );
        let row_y = if down {
            cand.clone().map(|(_, t)| t.y).min()?
        } else {
            cand.clone().map(|(_, t)| t.y).max()?
        };
        cand.filter(|(_, t)| t.y == row_y)
            .min_by_key(|(_, t)| t.x.abs_diff(cur.x))
            .map(|(i, _)| i)
    }

    /// The tile under a point of the view (`scroll` is the first visible canvas row).
    pub fn hit(&self, col: u16, row: u16, scroll: u32) -> Option<usize> {
        let y = scroll + u32::from(row);
        self.tiles.iter().position(|t| {
            col >= t.x && col < t.x + self.tile_w && y >= t.y && y < t.y + u32::from(self.tile_h)
        })
    }

    /// A scroll offset that keeps tile `i` (and its group title, when it is the first
    /// row of its group) in a view `view_h` rows high.
    pub fn scroll_to(&self, i: usize, scroll: u32, view_h: u16) -> u32 {
        let Some(t) = self.tiles.get(i) else {
            return 0;
        };
        let vh = u32::from(view_h.max(1));
        let top = if self.groups.iter().any(|g| g.y + 1 == t.y) {
            t.y - 1
        } else {
            t.y
        };
        let bottom = t.y + u32::from(self.tile_h);
        if top < scroll {
            top
        } else if bottom > scroll + vh {
            bottom.saturating_sub(vh)
        } else {
            scroll
        }
    }
}

/// The host panel's inside (within its border), for a terminal of this size.
pub fn panel_inner(width: u16, height: u16) -> ratatui::layout::Rect {
    ratatui::layout::Rect::new(1, 2, width.saturating_sub(2), height.saturating_sub(4))
}

/// Splits the host panel into the details part and one rectangle per chart. Wide
/// terminals put the charts in a column on the right; others put them on top, two per
/// row. Too little room: no charts, details only.
pub fn panel_split(
    area: ratatui::layout::Rect,
    n: usize,
) -> (ratatui::layout::Rect, Vec<ratatui::layout::Rect>) {
    use ratatui::layout::Rect;
    let n16 = u16::try_from(n).unwrap_or(u16::MAX);
    if n == 0 || area.height < 12 || area.width < 40 {
        return (area, Vec::new());
    }
    if area.width >= 150 && area.height >= n16 * 5 {
        let info_w = 76.min(area.width / 2);
        let cw = area.width - info_w;
        let ch = area.height / n16;
        let charts = (0..n16)
            .map(|i| Rect::new(area.x + info_w, area.y + i * ch, cw, ch))
            .collect();
        return (Rect::new(area.x, area.y, info_w, area.height), charts);
    }
    let per_row: u16 = 2;
    let rows = n16.div_ceil(per_row);
    let ch = ((area.height * 3 / 5) / rows).clamp(4, 10);
    let cw = area.width / per_row;
    let mut charts = Vec::with_capacity(n);
    for i in 0..n16 {
        let (r, c) = (i / per_row, i % per_row);
        let w = if c + 1 == per_row {
            area.width - cw * c
        } else {
            cw
        };
        charts.push(Rect::new(area.x + c * cw, area.y + r * ch, w, ch));
    }
    let used = rows * ch;
    (
        Rect::new(area.x, area.y + used, area.width, area.height - used),
        charts,
    )
}

/// Columns of a chart that hold data points (inside its border and y-axis labels).
pub fn chart_plot_width(chart: ratatui::layout::Rect) -> u16 {
    chart.width.saturating_sub(2 + 9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_groups_in_rows() {
        let l = layout(80, 24, &[5, 2]);
        assert_eq!((l.tile_w, l.tile_h, l.cols), (19, 2, 4));
        assert_eq!(l.tiles.len(), 7);
        assert_eq!(l.groups[0].y, 0);
        assert_eq!(l.tiles[0].y, 1);
        assert_eq!(l.tiles[4].y, 4); // second row: 1 + row height 3
        assert_eq!(l.groups[1].y, 7);
        assert_eq!(l.tiles[5].y, 8);
    }

    #[test]
    fn vertical_moves_and_hits() {
        let l = layout(80, 24, &[5, 2]);
        assert_eq!(l.vertical(1, true), Some(4));
        assert_eq!(l.vertical(4, true), Some(5));
        assert_eq!(l.vertical(5, false), Some(4));
        assert_eq!(l.vertical(0, false), None);
        assert_eq!(l.hit(20, 1, 0), Some(1));
        assert_eq!(l.hit(19, 1, 0), None); // the gap
        assert_eq!(l.hit(0, 0, 8), Some(5));
    }

    #[test]
    fn tiny_terminals_still_lay_out() {
        let l = layout(1, 1, &[3]);
        assert_eq!(l.cols, 1);
        assert_eq!(l.tiles.len(), 3);
    }
}
