//! Grid geometry, shared by drawing and by navigation/mouse hit-testing so the two
//! always agree. Positions are in a virtual canvas; the view scrolls over it.

/// Where one tile sits in the virtual canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePos {
    /// Index into the visible host list.
    pub host: usize,
    /// Left column of the tile in the canvas, in cells.
    pub x: u16,
    /// Top row of the tile in the canvas (0 is the canvas's first row, before scrolling).
    pub y: u32,
}

/// A cluster title line: at `x`, `w` columns wide (in the map, where the run of cells
/// starts and its width on that row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPos {
    /// Index into the visible group list.
    pub group: usize,
    /// Canvas row of the title (in the map, the row where the cluster's cells start).
    pub y: u32,
    /// Left column of the title, in cells.
    pub x: u16,
    /// Width of the title line, in cells: the width of the cluster's block of tiles.
    pub w: u16,
    /// Index of the group's first tile (its tiles are contiguous).
    pub first: usize,
}

/// Tiles (one per visible host, `tiles[i].host == i`) and cluster titles in a canvas
/// `height` rows high.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GridLayout {
    /// Width of every tile, in cells (1 in the map).
    pub tile_w: u16,
    /// Height of every tile, in rows (1 for one-line tiles and in the map).
    pub tile_h: u16,
    /// Tile columns across the grid (lanes in a packed layout; in the map, its width
    /// in cells).
    pub cols: u16,
    /// One tile per visible host, indexed by host.
    pub tiles: Vec<TilePos>,
    /// One title per visible cluster, in group order.
    pub groups: Vec<GroupPos>,
    /// Canvas height, in rows: how far the view can scroll.
    pub height: u32,
    /// Tile indices by position, top to bottom then left to right: drawing starts at the
    /// first visible one, whatever order the packing placed them in.
    pub order: Vec<usize>,
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
    layout_with(tile_w, tile_h, cols, group_sizes)
}

/// Largest tiles for a wall: the tile size and columns that show every host of
/// `group_sizes` in `width`×`height` with the biggest tiles (cells are about twice as
/// tall as wide, so a tile's visual size is min(w, 2h)). `None` when even small tiles
/// (12×2) do not fit: the wall must page.
pub fn wall_fit(width: u16, height: u16, group_sizes: &[usize]) -> Option<(u16, u16, u16)> {
    wall_fit_min(width, height, group_sizes, 12)
}

/// [`wall_fit`] preferring tiles at least `min_w` wide (room for the host names);
/// narrower tiles only when nothing wider fits.
pub fn wall_fit_min(
    width: u16,
    height: u16,
    group_sizes: &[usize],
    min_w: u16,
) -> Option<(u16, u16, u16)> {
    if min_w > 12 {
        if let Some(t) = wall_fit_inner(width, height, group_sizes, min_w) {
            return Some(t);
        }
    }
    wall_fit_inner(width, height, group_sizes, 12)
}

fn wall_fit_inner(
    width: u16,
    height: u16,
    group_sizes: &[usize],
    min_w: u16,
) -> Option<(u16, u16, u16)> {
    let usable = width.saturating_sub(1).max(1);
    let titles = u32::try_from(group_sizes.len()).unwrap_or(u32::MAX);
    let mut best: Option<(u32, (u16, u16, u16))> = None;
    let max_cols = (usable / 12).max(1);
    for cols in 1..=max_cols {
        let tile_w = ((usable + GAP) / cols).saturating_sub(GAP);
        if tile_w < min_w {
            break;
        }
        let rows: u32 = group_sizes
            .iter()
            .map(|&n| u32::try_from(n.div_ceil(usize::from(cols))).unwrap_or(u32::MAX))
            .sum();
        let avail = u32::from(height).saturating_sub(titles);
        if rows == 0 || avail < rows * 3 {
            continue;
        }
        // Each row is the tile plus one blank line.
        let tile_h = u16::try_from((avail / rows).saturating_sub(1).min(13)).unwrap_or(13);
        if tile_h < 2 {
            continue;
        }
        let score = u32::from(tile_w.min(tile_h * 2)) * 1000 + u32::from(tile_w);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, (tile_w.min(60), tile_h, cols)));
        }
    }
    best.map(|(_, t)| t)
}

/// Splits groups into wall pages that each fit `height` with 2-line tiles 16 columns
/// wide. A group larger than a page continues on the next one. Each page is a list of
/// `(group index, first host within the group, count)`.
pub fn wall_pages(
    width: u16,
    height: u16,
    group_sizes: &[usize],
) -> Vec<Vec<(usize, usize, usize)>> {
    let usable = width.saturating_sub(1).max(1);
    let cols = usize::from(((usable + GAP) / (16 + GAP)).max(1));
    let h = usize::from(height.max(4));
    let mut pages = Vec::new();
    let mut page: Vec<(usize, usize, usize)> = Vec::new();
    let mut used = 0usize;
    for (g, &n) in group_sizes.iter().enumerate() {
        let mut start = 0;
        while start < n {
            // A title line, then rows of 3 lines (2-line tile + blank).
            let room_rows = h.saturating_sub(used + 1) / 3;
            if room_rows == 0 {
                if page.is_empty() {
                    // Not even one row fits: one row per page, whatever the height.
                    page.push((g, start, cols.min(n - start)));
                    start += cols.min(n - start);
                }
                pages.push(std::mem::take(&mut page));
                used = 0;
                continue;
            }
            let take = (room_rows * cols).min(n - start);
            page.push((g, start, take));
            used += 1 + take.div_ceil(cols) * 3;
            start += take;
        }
    }
    if !page.is_empty() || pages.is_empty() {
        pages.push(page);
    }
    pages
}

/// Lays out groups with a given tile size and column count.
pub fn layout_with(tile_w: u16, tile_h: u16, cols: u16, group_sizes: &[usize]) -> GridLayout {
    let cols = cols.max(1);
    let row_h = u32::from(tile_h) + u32::from(tile_h > 1);
    let mut l = GridLayout {
        tile_w,
        tile_h,
        cols,
        ..GridLayout::default()
    };
    let mut y: u32 = 0;
    let mut host = 0usize;
    let full = cols * (tile_w + GAP) - GAP;
    for (g, &n) in group_sizes.iter().enumerate() {
        l.groups.push(GroupPos {
            group: g,
            y,
            x: 0,
            w: full,
            first: host,
        });
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
    l.finish();
    l
}

impl GridLayout {
    /// Fills [`GridLayout::order`] once the tiles are placed.
    pub fn finish(&mut self) {
        let mut order: Vec<usize> = (0..self.tiles.len()).collect();
        if !self
            .tiles
            .windows(2)
            .all(|w| (w[0].y, w[0].x) < (w[1].y, w[1].x))
        {
            order.sort_unstable_by_key(|&i| (self.tiles[i].y, self.tiles[i].x));
        }
        self.order = order;
    }

    /// Position in [`GridLayout::order`] of the first tile that reaches row `y` or below.
    pub fn first_visible(&self, y: u32) -> usize {
        let h = u32::from(self.tile_h);
        self.order.partition_point(|&i| self.tiles[i].y + h <= y)
    }

    /// The tile to the right (or left) on the same row; past the row's end, the first
    /// tile of the next row (the last of the previous one), as text reads.
    pub fn horizontal(&self, from: usize, right: bool) -> Option<usize> {
        let k = self.order.iter().position(|&i| i == from)?;
        let next = if right {
            self.order.get(k + 1)
        } else {
            k.checked_sub(1).and_then(|j| self.order.get(j))
        };
        next.copied()
    }

    /// The tile below (or above): the next row of the same cluster block when there is
    /// one, else the nearest tile in the same column (the block under it), else the
    /// nearest row, nearest in x. In the map (one-column cells) simply the nearest row.
    pub fn vertical(&self, from: usize, down: bool) -> Option<usize> {
        let cur = self.tiles.get(from)?;
        let row = self.nearest_row(cur, down)?;
        if self.tile_w == 1 {
            return Some(row);
        }
        let g = self.group_of(from);
        let ry = self.tiles[row].y;
        let same_block = self
            .tiles
            .iter()
            .enumerate()
            .filter(|(i, t)| t.y == ry && self.group_of(*i) == g)
            .min_by_key(|(_, t)| t.x.abs_diff(cur.x))
            .map(|(i, _)| i);
        if same_block.is_some() {
            return same_block;
        }
        let beyond = |t: &TilePos| if down { t.y > cur.y } else { t.y < cur.y };
        self.tiles
            .iter()
            .enumerate()
            .filter(|(_, t)| t.x == cur.x && beyond(t))
            .min_by_key(|(_, t)| t.y.abs_diff(cur.y))
            .map(|(i, _)| i)
            .or(Some(row))
    }

    /// The group (index into `groups`) tile `i` belongs to.
    fn group_of(&self, i: usize) -> usize {
        self.groups
            .partition_point(|g| g.first <= i)
            .saturating_sub(1)
    }

    /// A page down (or up): the tile in the same column about `view_h` rows away, the
    /// farthest one that does not pass it.
    pub fn page(&self, from: usize, down: bool, view_h: u16) -> Option<usize> {
        let cur = self.tiles.get(from)?;
        let vh = u32::from(view_h.max(1));
        let within = |t: &TilePos| {
            if down {
                t.y > cur.y && t.y <= cur.y + vh
            } else {
                t.y < cur.y && t.y + vh >= cur.y
            }
        };
        let best = |same_x: bool| {
            self.tiles
                .iter()
                .enumerate()
                .filter(|(_, t)| within(t) && (!same_x || t.x == cur.x))
                .max_by_key(|(_, t)| (t.y.abs_diff(cur.y), std::cmp::Reverse(t.x.abs_diff(cur.x))))
                .map(|(i, _)| i)
        };
        best(true)
            .or_else(|| best(false))
            .or_else(|| self.vertical(from, down))
    }

    fn nearest_row(&self, cur: &TilePos, down: bool) -> Option<usize> {
        let cand =
            self.tiles
                .iter()
                .enumerate()
                .filter(|(_, t)| if down { t.y > cur.y } else { t.y < cur.y });
        let row_y = if down {
            cand.clone().map(|(_, t)| t.y).min()?
        } else {
            cand.clone().map(|(_, t)| t.y).max()?
        };
        cand.filter(|(_, t)| t.y == row_y)
            .min_by_key(|(_, t)| t.x.abs_diff(cur.x))
            .map(|(i, _)| i)
    }

    /// The cluster title under a point of the view.
    pub fn hit_group(&self, col: u16, row: u16, scroll: u32) -> Option<usize> {
        let y = scroll + u32::from(row);
        self.groups
            .iter()
            .find(|g| g.y == y && col >= g.x && col < g.x + g.w.max(1))
            .map(|g| g.group)
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
        let top = if self
            .groups
            .iter()
            .any(|g| g.y + 1 == t.y && t.x >= g.x && t.x < g.x + g.w.max(1))
        {
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
    fn wall_tiles_grow_to_fill() {
        // Few hosts: big tiles.
        let (w, h, cols) = wall_fit(240, 63, &[3, 2]).expect("fits");
        assert!(w >= 40 && h >= 8, "{w}x{h} in {cols} cols");
        let l = layout_with(w, h, cols, &[3, 2]);
        assert!(l.height <= 63, "{}", l.height);
        // Many hosts: smaller tiles, still all on one screen.
        let (w2, h2, cols2) = wall_fit(240, 63, &[16, 14, 10]).expect("fits");
        assert!(w2 < w || h2 < h);
        assert!(layout_with(w2, h2, cols2, &[16, 14, 10]).height <= 63);
        // Too many: no fit, so pages.
        assert_eq!(wall_fit(80, 20, &[500]), None);
    }

    #[test]
    fn wall_pages_cover_every_host_once() {
        let sizes = [100, 7, 250];
        let pages = wall_pages(80, 20, &sizes);
        assert!(pages.len() > 3);
        let mut seen = [0usize; 3];
        for p in &pages {
            assert!(!p.is_empty());
            for &(g, start, n) in p {
                assert_eq!(start, seen[g], "pages continue groups in order");
                seen[g] += n;
            }
            let l = layout_with(16, 2, 4, &p.iter().map(|x| x.2).collect::<Vec<_>>());
            assert!(l.height <= 20, "page height {}", l.height);
        }
        assert_eq!(seen, sizes);
        assert_eq!(
            wall_pages(80, 3, &[10])
                .iter()
                .map(|p| p[0].2)
                .sum::<usize>(),
            10
        );
    }

    #[test]
    fn tiny_terminals_still_lay_out() {
        let l = layout(1, 1, &[3]);
        assert_eq!(l.cols, 1);
        assert_eq!(l.tiles.len(), 3);
    }
}
