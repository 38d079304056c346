//! Packed layouts for fleets of many small clusters, and the map (one cell per host).
//!
//! Real MySQL fleets are hundreds of clusters of two or three servers. Giving each its
//! own full-width band leaves most of the screen empty, so small clusters are packed
//! side by side: the width is cut into lanes one tile wide, and each cluster becomes a
//! block some lanes wide (a column of tiles for a small cluster, several columns for a
//! large one) under its own title. Blocks go, in order, to the highest free place at or
//! below the previous one, so the reading order (problems first) is kept:
//!
//! ```text
//! ── payments-0003 (3) ✖1  ── orders-0011 (3) ▲1  ── users-0002 (3)
//! ✖ payments-0003-db2 —    ▲ orders-0011-db3 41%  ✓ users-0002-db1 0s
//! ✓ payments-0003-db1 0s   ✓ orders-0011-db1 0s   ✓ users-0002-db2 0s
//! ✓ payments-0003-db3 0s   ✓ orders-0011-db2 0s   ✓ users-0002-db3 0s
//! ```
//!
//! The map packs further: one cell per host, a cluster a run of cells, clusters one
//! blank cell apart, a cluster kept on one row when it fits in one.

use crate::layout::{tile_size, GridLayout, GroupPos, TilePos, GAP};

/// Lays out `group_sizes` packed for a view `width`×`height`: the tallest tiles (up to
/// the usual height for the terminal) with which every host fits, else one-line tiles,
/// which name the most hosts per screen.
pub fn packed(width: u16, height: u16, group_sizes: &[usize]) -> GridLayout {
    let usable = width.saturating_sub(1).max(1);
    let (min_w, max_h) = tile_size(usable, height);
    let lanes = ((usable + GAP) / (min_w + GAP)).max(1);
    // Spread the spare columns over the lanes so the grid fills the width.
    let tile_w = ((usable + GAP) / lanes)
        .saturating_sub(GAP)
        .max(min_w.min(usable));
    let mut tile_h = max_h;
    loop {
        let l = masonry(tile_w, tile_h, lanes, height, group_sizes);
        if tile_h <= 1 || l.height <= u32::from(height) {
            return l;
        }
        tile_h -= 1;
    }
}

/// Tile columns of a cluster block: as few as keep the block about a third of the view
/// high (at least three rows), so small clusters are single columns.
fn block_cols(n: usize, lanes: u16, row_h: u32, view_h: u16) -> u16 {
    let rows = (u32::from(view_h) / 3 / row_h.max(1)).max(3);
    let c = n
        .div_ceil(usize::try_from(rows).unwrap_or(usize::MAX))
        .max(1);
    u16::try_from(c).unwrap_or(u16::MAX).min(lanes)
}

/// Places each group as a block of lanes at the highest place no higher than the
/// previous block (ties: at or right of where the previous block ended, else leftmost).
pub fn masonry(
    tile_w: u16,
    tile_h: u16,
    lanes: u16,
    view_h: u16,
    group_sizes: &[usize],
) -> GridLayout {
    let lanes = lanes.max(1);
    let tile_h = tile_h.max(1);
    let pitch = tile_w + GAP;
    // A taller tile is followed by a blank line; one-line tiles are dense and the blank
    // line comes after the block instead.
    let row_h = u32::from(tile_h) + u32::from(tile_h > 1);
    let gap_after = u32::from(tile_h == 1);
    let mut l = GridLayout {
        tile_w,
        tile_h,
        cols: lanes,
        ..GridLayout::default()
    };
    l.tiles.reserve(group_sizes.iter().sum());
    let mut bottom = vec![0u32; usize::from(lanes)];
    let (mut floor, mut cursor) = (0u32, 0usize);
    let mut host = 0usize;
    for (g, &n) in group_sizes.iter().enumerate() {
        let c = usize::from(block_cols(n, lanes, row_h, view_h));
        let rows = u32::try_from(n.div_ceil(c)).unwrap_or(u32::MAX);
        let h = 1 + rows.saturating_mul(row_h);
        let mut best: Option<(u32, bool, usize)> = None;
        for s in 0..=usize::from(lanes) - c {
            let y = bottom[s..s + c]
                .iter()
                .copied()
                .max()
                .unwrap_or(0)
                .max(floor);
            // Lower is better; at equal height, continuing the row beats going back left.
            let key = (y, s < cursor, s);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        let (y, _, s) = best.unwrap_or((floor, false, 0));
        let x0 = u16::try_from(s).unwrap_or(0) * pitch;
        let cw = u16::try_from(c).unwrap_or(1);
        l.groups.push(GroupPos {
            group: g,
            y,
            x: x0,
            w: cw * pitch - GAP,
            first: host,
        });
        for i in 0..n {
            let col = u16::try_from(i % c).unwrap_or(0);
            let r = u32::try_from(i / c).unwrap_or(u32::MAX);
            l.tiles.push(TilePos {
                host,
                x: x0 + col * pitch,
                y: y + 1 + r * row_h,
            });
            host += 1;
        }
        for b in &mut bottom[s..s + c] {
            *b = y + h + gap_after;
        }
        floor = y;
        cursor = s + c;
        if cursor >= usize::from(lanes) {
            cursor = 0;
        }
    }
    // The blank line after the last block is not part of the canvas.
    l.height = bottom
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .saturating_sub(gap_after);
    l.finish();
    l
}

/// The map: one cell per host in a canvas `width` wide; clusters are runs of cells one
/// blank cell apart, a run kept on one row when it fits, clusters in order.
pub fn map(width: u16, group_sizes: &[usize]) -> GridLayout {
    let w = width.max(1);
    let mut l = GridLayout {
        tile_w: 1,
        tile_h: 1,
        cols: w,
        ..GridLayout::default()
    };
    l.tiles.reserve(group_sizes.iter().sum());
    let (mut x, mut y) = (0u16, 0u32);
    let mut host = 0usize;
    for (g, &n) in group_sizes.iter().enumerate() {
        let n16 = u16::try_from(n).unwrap_or(u16::MAX);
        if x > 0 && (n16 > w - x) && n16 <= w {
            x = 0;
            y += 1;
        }
        l.groups.push(GroupPos {
            group: g,
            y,
            x,
            w: n16.min(w - x),
            first: host,
        });
        for _ in 0..n {
            if x >= w {
                x = 0;
                y += 1;
            }
            l.tiles.push(TilePos { host, x, y });
            host += 1;
            x += 1;
        }
        // One blank cell between clusters.
        x += 1;
        if x >= w {
            x = 0;
            y += 1;
        }
    }
    l.height = if x == 0 { y } else { y + 1 };
    l.finish();
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlaps(l: &GridLayout) -> bool {
        let mut cells = std::collections::HashSet::new();
        for t in &l.tiles {
            for dy in 0..u32::from(l.tile_h) {
                for dx in 0..l.tile_w {
                    if !cells.insert((t.x + dx, t.y + dy)) {
                        return true;
                    }
                }
            }
        }
        for g in &l.groups {
            for dx in 0..g.w {
                if !cells.insert((g.x + dx, g.y)) {
                    return true;
                }
            }
        }
        false
    }

    #[test]
    fn small_clusters_sit_side_by_side() {
        let sizes = vec![3; 1000 / 3];
        let l = packed(200, 48, &sizes);
        assert_eq!(l.tile_h, 1, "a thousand hosts do not fit: one-line tiles");
        assert_eq!(l.cols, 9);
        // The first row of blocks: one cluster per lane, titles one lane wide.
        assert!(l.groups[..9].iter().all(|g| g.y == 0 && g.w == l.tile_w));
        assert_eq!(l.groups[9].y, 5, "title, three tiles, a blank line");
        let on_screen = l.tiles.iter().filter(|t| t.y < 48).count();
        assert!(on_screen >= 200, "{on_screen}");
        assert!(!overlaps(&l));
        assert_eq!(l.tiles.len(), 999);
        assert!(l.tiles.iter().enumerate().all(|(i, t)| t.host == i));
    }

    #[test]
    fn big_clusters_take_several_lanes_and_few_hosts_keep_tall_tiles() {
        let l = packed(80, 22, &[16, 14, 10]);
        assert!(!overlaps(&l));
        assert!(l.height <= 22, "{}", l.height);
        let l = packed(200, 48, &[2, 3]);
        assert_eq!(l.tile_h, 3, "few hosts: the usual tall tiles");
        assert_eq!(l.groups[1].y, 0, "side by side");
        assert!(l.groups[1].x > 0);
        let big = packed(120, 38, &[200]);
        assert_eq!(big.groups[0].w + 1, big.cols * (big.tile_w + 1));
        assert!(!overlaps(&big));
    }

    #[test]
    fn reading_order_never_goes_up() {
        let sizes = [3, 12, 1, 2, 7, 3, 3, 30, 2, 3, 5];
        let l = packed(150, 40, &sizes);
        assert!(!overlaps(&l));
        for w in l.groups.windows(2) {
            assert!(w[1].y >= w[0].y, "{:?}", l.groups);
        }
    }

    #[test]
    fn map_keeps_clusters_on_a_row_and_fits_ten_thousand() {
        let l = map(10, &[3, 3, 3, 12]);
        let at = |i: usize| (l.tiles[i].x, l.tiles[i].y);
        assert_eq!(at(0), (0, 0));
        assert_eq!(at(3), (4, 0));
        assert_eq!(at(6), (0, 1), "the third cluster would not fit after x=8");
        assert_eq!(at(9), (4, 1));
        assert_eq!(at(15), (0, 2), "a cluster wider than the map wraps");
        assert_eq!(l.height, 3);
        assert!(!overlaps(&GridLayout {
            groups: Vec::new(),
            ..l.clone()
        }));
        let big = map(399, &vec![3; 10_000 / 3]);
        assert!(big.height <= 96, "{}", big.height);
        let k = map(199, &vec![3; 1000 / 3]);
        assert!(k.height <= 20, "{}", k.height);
    }
}
