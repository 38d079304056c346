//! The board at fleet scale: tiles or map (`m`), the problems named on the first screen
//! (a strip above the tiles, a list beside the map), and a cluster's topology (`T`).
//!
//! Hooks in [`super::App`]: `rebuild_view` asks `App::lay_out` for the layout,
//! selection moves go through `App::board_move`, clicks through `App::board_click`.

use crate::fleet::topology::{cluster_tree, TreeItem, TreeRow};
use crate::layout::GridLayout;
use crate::model::Health;
use crate::packing;

use super::{App, Screen};

/// How the grid shows hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GridMode {
    /// Tiles, small clusters packed side by side.
    #[default]
    Tiles,
    /// One cell per host.
    Map,
}

/// Problem hosts (DOWN, CRIT, WARN, UNKNOWN) of the view, worst first, and where they
/// are named when the tiles alone cannot name them all on the first screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    /// Indices into the view's hosts, worst first, then in view order.
    pub hosts: Vec<usize>,
    /// Rows of the strip above the tiles, its title not counted (0: no strip).
    pub rows: u16,
    /// Entries per strip row, and the width of one.
    pub per_row: u16,
    /// Width of one strip entry, in columns (on the map: of the list beside it).
    pub entry_w: u16,
    /// Entries wide enough for the first reason.
    pub with_reason: bool,
}

impl Problems {
    /// Entries the strip (or the list beside the map) has room for; when not all fit,
    /// the last place says how many more there are.
    pub fn named(&self) -> usize {
        let room = usize::from(self.rows) * usize::from(self.per_row);
        if self.hosts.len() <= room {
            self.hosts.len()
        } else {
            room.saturating_sub(1)
        }
    }
}

/// The topology popup: the cluster, its tree and the selected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyUi {
    /// The cluster whose replication tree is shown.
    pub cluster: String,
    /// The tree's rows in display order, rebuilt from each refresh.
    pub rows: Vec<TreeRow>,
    /// Index into `rows` of the selected row; Enter opens its host's panel.
    pub selected: usize,
}

/// Actions of this module (keys in [`crate::action`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardAction {
    /// Tiles ↔ map (`m`).
    ToggleMap,
    /// The selected host's cluster as a replication tree (`T`).
    OpenTopology,
    /// A cluster's topology by name (a click on its title).
    Topology(String),
    /// Close the topology popup (Esc, Backspace, `T`).
    CloseTopology,
    /// Move the topology selection by this many rows.
    TopologyMove(i32),
    /// Open the panel of the selected topology row's host.
    TopologyOpen,
}

/// Width of the problem list beside the map, for a terminal `width` wide (0: none).
pub fn map_pane_width(width: u16) -> u16 {
    if width >= 60 {
        (width / 4).clamp(24, 60)
    } else {
        0
    }
}

impl App {
    /// The map is on screen: chosen with `m`, or a wall whose fleet tiles cannot hold.
    pub fn map_shown(&self) -> bool {
        self.grid.view.map
    }

    /// Rows of the canvas in view: the grid less the problem strip, or the map less its
    /// info line.
    pub fn canvas_height(&self) -> u16 {
        let g = self.grid_height();
        if self.grid.view.map {
            g.saturating_sub(1)
        } else if self.grid.view.problems.rows > 0 {
            g.saturating_sub(self.grid.view.problems.rows + 1)
        } else {
            g
        }
    }

    /// Problem hosts named nowhere on the screen now (not in the strip or list, no
    /// readable tile in view).
    pub fn problems_off_screen(&self) -> usize {
        let p = &self.grid.view.problems;
        let l = &self.grid.view.layout;
        let named = p.named();
        let (top, bottom) = (
            self.grid.scroll,
            self.grid.scroll + u32::from(self.canvas_height()),
        );
        p.hosts[named..]
            .iter()
            .filter(|&&i| {
                self.grid.view.map
                    || l.tiles
                        .get(i)
                        .is_none_or(|t| t.y < top || t.y + u32::from(l.tile_h) > bottom)
            })
            .count()
    }

    /// Positions in `idx` (the view's hosts) of the hosts with a problem, worst first.
    pub(super) fn problem_hosts(&self, idx: &[usize]) -> Vec<usize> {
        let mut problems: Vec<usize> = (0..idx.len())
            .filter(|&k| self.fleet.hosts[idx[k]].health != Health::Ok)
            .collect();
        problems.sort_by_key(|&k| self.fleet.hosts[idx[k]].health.severity_rank());
        problems
    }

    /// The layout of `sizes` for the grid (tiles or map) and the problems to name.
    /// `idx` are the view's hosts in order.
    pub(super) fn lay_out(
        &self,
        idx: &[usize],
        sizes: &[usize],
        map: bool,
    ) -> (GridLayout, Problems) {
        let problems = self.problem_hosts(idx);
        let gh = self.grid_height();
        if map {
            let pane = map_pane_width(self.width);
            let w = self.width.saturating_sub(pane + u16::from(pane > 0) + 1);
            let l = packing::map(w, sizes);
            let p = Problems {
                hosts: problems,
                rows: if pane > 0 { gh.saturating_sub(2) } else { 0 },
                per_row: 1,
                entry_w: pane,
                with_reason: true,
            };
            return (l, p);
        }
        let l = packing::packed(self.width, gh, sizes);
        // Named: the whole tile on the first screen, and wide enough for the name.
        let first_screen = |l: &GridLayout, h: u16| {
            problems.iter().all(|&k| {
                let name_w = crate::sanitize::width(&self.fleet.hosts[idx[k]].id.name);
                l.tiles.get(k).is_some_and(|t| {
                    t.y + u32::from(l.tile_h) <= u32::from(h) && name_w + 2 <= usize::from(l.tile_w)
                })
            })
        };
        if problems.is_empty() || first_screen(&l, gh) {
            let p = Problems {
                hosts: problems,
                ..Problems::default()
            };
            return (l, p);
        }
        // Some problems are below the first screen: name them all in a strip on top.
        let name_w = problems
            .iter()
            .map(|&k| crate::sanitize::width(&self.fleet.hosts[idx[k]].id.name))
            .max()
            .unwrap_or(0);
        let usable = self.width.saturating_sub(1).max(1);
        let short = u16::try_from(name_w + 2)
            .unwrap_or(u16::MAX)
            .max(12)
            .min(usable);
        let long = short.saturating_add(26).min(usable);
        let max_rows = (gh / 3).max(1);
        let per = |w: u16| ((usable + 1) / (w + 1)).max(1);
        let need = |w: u16| {
            u16::try_from(problems.len().div_ceil(usize::from(per(w)))).unwrap_or(u16::MAX)
        };
        let (entry_w, with_reason) = if need(long) <= max_rows {
            (long, true)
        } else {
            (short, false)
        };
        let rows = need(entry_w).min(max_rows);
        let l = packing::packed(self.width, gh.saturating_sub(rows + 1), sizes);
        let p = Problems {
            hosts: problems,
            rows,
            per_row: per(entry_w),
            entry_w,
            with_reason,
        };
        (l, p)
    }

    /// Arrow keys on the grid or map: across packed blocks as the eye reads them.
    pub(super) fn board_move(&mut self, i: usize, dx: i32, dy: i32) {
        let l = &self.grid.view.layout;
        let j = if dx != 0 {
            l.horizontal(i, dx > 0)
        } else {
            l.vertical(i, dy > 0)
        };
        self.select_index(j.unwrap_or(i));
    }

    /// PgUp/PgDn: a screen up or down in the same column.
    pub(super) fn board_page(&mut self, down: bool) {
        let Some(i) = self.selected_index() else {
            self.select_index(0);
            return;
        };
        let h = self.canvas_height();
        let j = self.grid.view.layout.page(i, down, h).unwrap_or(i);
        self.select_index(j);
        // Scroll by the page too, so the next page starts where this one ended.
        let max = self.grid.view.layout.height.saturating_sub(u32::from(h));
        self.grid.scroll = if down {
            self.grid.scroll.saturating_add(u32::from(h)).min(max)
        } else {
            self.grid.scroll.saturating_sub(u32::from(h))
        };
        self.keep_selection_visible();
    }

    /// A click on the grid body at `(col, r)` (rows from the top of the body). Returns
    /// the view index of the host it selects, if any; a click on a cluster title opens
    /// its topology.
    pub(super) fn board_click(&mut self, col: u16, r: u16) -> Option<usize> {
        let p = &self.grid.view.problems;
        if !self.grid.view.map && p.rows > 0 {
            if r == 0 {
                return None;
            }
            if r <= p.rows {
                let k = usize::from(r - 1) * usize::from(p.per_row)
                    + usize::from(col / (p.entry_w + 1));
                return (col / (p.entry_w + 1) < p.per_row && k < p.named()).then(|| p.hosts[k]);
            }
        }
        if self.grid.view.map {
            let map_w = self.grid.view.layout.cols;
            if col > map_w {
                // The problem list beside the map.
                let k = usize::from(r.checked_sub(1)?);
                return (k < p.named()).then(|| p.hosts[k]);
            }
        }
        let top = self.grid_top();
        let rr = r.checked_sub(top)?;
        if rr >= self.canvas_height() {
            return None;
        }
        if let Some(i) = self.grid.view.layout.hit(col, rr, self.grid.scroll) {
            return Some(i);
        }
        if let Some(g) = self.grid.view.layout.hit_group(col, rr, self.grid.scroll) {
            if let Some((name, _, _)) = self.grid.view.groups.get(g) {
                let name = name.clone();
                self.board(BoardAction::Topology(name));
            }
        }
        None
    }

    /// Rows above the canvas inside the grid body (the problem strip and its title).
    pub fn grid_top(&self) -> u16 {
        if !self.grid.view.map && self.grid.view.problems.rows > 0 {
            self.grid.view.problems.rows + 1
        } else {
            0
        }
    }

    /// Applies a [`BoardAction`].
    pub fn board(&mut self, a: BoardAction) {
        match a {
            BoardAction::ToggleMap => {
                self.grid.mode = match self.grid.mode {
                    GridMode::Tiles => GridMode::Map,
                    GridMode::Map => GridMode::Tiles,
                };
                self.screen = Screen::Grid;
                self.grid.scroll = 0;
                self.rebuild_view();
            }
            BoardAction::OpenTopology => {
                let id = match &self.screen {
                    Screen::Host(id) => Some(id.clone()),
                    _ => self.grid.selected.clone(),
                };
                if let Some(id) = id {
                    self.board(BoardAction::Topology(id.cluster.clone()));
                    // Start on the host the key was pressed on.
                    if let Some(t) = &mut self.topology {
                        if let Some(k) = t.rows.iter().position(
                            |r| matches!(r.item, TreeItem::Host(i) if self.fleet.hosts[i].id == id),
                        ) {
                            t.selected = k;
                        }
                    }
                }
            }
            BoardAction::Topology(cluster) => {
                let rows = cluster_tree(&self.fleet.hosts, &cluster);
                self.topology = Some(TopologyUi {
                    cluster,
                    rows,
                    selected: 0,
                });
            }
            BoardAction::CloseTopology => self.topology = None,
            BoardAction::TopologyMove(d) => {
                if let Some(t) = &mut self.topology {
                    let n = t.rows.len();
                    let j = i64::try_from(t.selected).unwrap_or(0) + i64::from(d);
                    t.selected =
                        usize::try_from(j.clamp(0, i64::try_from(n).unwrap_or(0) - 1)).unwrap_or(0);
                }
            }
            BoardAction::TopologyOpen => {
                let host = self
                    .topology
                    .as_ref()
                    .and_then(|t| match t.rows.get(t.selected) {
                        Some(TreeRow {
                            item: TreeItem::Host(i),
                            ..
                        }) => self.fleet.hosts.get(*i).map(|h| h.id.clone()),
                        _ => None,
                    });
                if let Some(id) = host {
                    self.topology = None;
                    self.grid.selected = Some(id.clone());
                    self.screen = Screen::Host(id);
                    self.panel.scroll = 0;
                    self.keep_selection_visible();
                }
            }
        }
    }

    /// The topology follows new data: same cluster, same selected host when it is still
    /// there.
    pub(super) fn refresh_topology(&mut self) {
        let Some(t) = &self.topology else { return };
        let cur = match t.rows.get(t.selected) {
            Some(TreeRow {
                item: TreeItem::Host(i),
                ..
            }) => self.fleet.hosts.get(*i).map(|h| h.id.clone()),
            _ => None,
        };
        let cluster = t.cluster.clone();
        let rows = cluster_tree(&self.fleet.hosts, &cluster);
        let selected = cur
            .and_then(|id| {
                rows.iter().position(
                    |r| matches!(r.item, TreeItem::Host(i) if self.fleet.hosts[i].id == id),
                )
            })
            .unwrap_or(0)
            .min(rows.len().saturating_sub(1));
        self.topology = Some(TopologyUi {
            cluster,
            rows,
            selected,
        });
    }
}

/// The layout the wall uses when its tiles cannot show every host on one screen:
/// packed tiles when they fit, else `None` (the map, with the problems beside it).
pub fn wall_packed(width: u16, height: u16, sizes: &[usize]) -> Option<GridLayout> {
    let l = packing::packed(width, height, sizes);
    (l.height <= u32::from(height)).then_some(l)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::action::Action;
    use crate::testing::{app_with, fixed_time, synthetic_fleet};

    fn at(app: &App) -> crate::layout::TilePos {
        app.view().layout.tiles[app.selected_index().unwrap()]
    }

    fn cluster(app: &App) -> String {
        app.grid.selected.as_ref().unwrap().cluster.clone()
    }

    #[test]
    fn arrows_cross_packed_blocks_as_they_read() {
        let mut app = app_with(synthetic_fleet(1000), 200, 50, fixed_time());
        assert_eq!(app.view().layout.tile_h, 1);
        let c0 = cluster(&app);
        let p0 = at(&app);
        // Down stays in the block while it has hosts, then reaches the block below.
        app.update(Action::Move(0, 1));
        assert_eq!(cluster(&app), c0);
        assert_eq!((at(&app).x, at(&app).y), (p0.x, p0.y + 1));
        app.update(Action::Move(0, 1));
        app.update(Action::Move(0, 1));
        assert_ne!(cluster(&app), c0, "past the block's last host");
        assert_eq!(at(&app).x, p0.x, "the block under it, same column");
        app.update(Action::Move(0, -1));
        assert_eq!(cluster(&app), c0);
        // Right goes to the block beside, on the same row.
        app.update(Action::Home);
        app.update(Action::Move(1, 0));
        assert_ne!(cluster(&app), c0);
        assert_eq!(at(&app).y, p0.y);
        assert!(at(&app).x > p0.x);
        app.update(Action::Move(-1, 0));
        assert_eq!(cluster(&app), c0);
        // Left at the start goes nowhere; End reaches the last host, scrolled into view.
        app.update(Action::Move(-1, 0));
        assert_eq!(at(&app), p0);
        app.update(Action::End);
        let last = *app.view().hosts.last().unwrap();
        assert_eq!(app.grid.selected.as_ref(), Some(&app.fleet.hosts[last].id));
        assert!(app.grid.scroll > 0);
        let t = at(&app);
        assert!(t.y >= app.grid.scroll && t.y < app.grid.scroll + u32::from(app.canvas_height()));
        app.update(Action::Home);
        assert_eq!(app.grid.scroll, 0);
    }

    #[test]
    fn page_keys_move_a_screen_in_the_same_column() {
        let mut app = app_with(synthetic_fleet(3000), 120, 40, fixed_time());
        let h = u32::from(app.canvas_height());
        let p0 = at(&app);
        app.update(Action::Page(true));
        let p1 = at(&app);
        assert_eq!(p1.x, p0.x);
        assert!(
            p1.y > p0.y + h / 2 && p1.y <= p0.y + h,
            "{p0:?} -> {p1:?} (view {h})"
        );
        assert!(app.grid.scroll > 0);
        let t = at(&app);
        assert!(t.y >= app.grid.scroll && t.y < app.grid.scroll + h);
        app.update(Action::Page(false));
        assert_eq!(at(&app).x, p0.x);
        assert!(at(&app).y <= p0.y + h / 2);
    }

    #[test]
    fn clicks_select_tiles_strip_entries_and_open_a_title_s_topology() {
        let mut app = app_with(synthetic_fleet(3000), 200, 50, fixed_time());
        // Every problem is named on the first screen: the strip when tiles cannot.
        assert_eq!(app.problems_off_screen(), 0);
        let top = app.grid_top();
        assert!(top > 0, "3,000 hosts at 200x50: a problem strip");
        // A click on a strip entry selects its host (the second entry: the first, the
        // worst host, is selected already and a click on it would open its panel).
        let p = app.view().problems.clone();
        app.update(Action::Click(p.entry_w + 2, 2));
        assert_eq!(app.selected_index(), Some(p.hosts[1]));
        assert_eq!(app.screen, Screen::Grid);
        // A click on a tile selects it; a click on a title opens the topology.
        app.update(Action::Home);
        assert_eq!(app.grid.scroll, 0);
        let t = app.view().layout.tiles[1];
        let row = 1 + top + u16::try_from(t.y).unwrap();
        app.update(Action::Click(t.x + 2, row));
        assert_eq!(app.selected_index(), Some(1));
        assert_eq!(
            app.screen,
            Screen::Grid,
            "one click selects, the next opens"
        );
        let g = app.view().layout.groups[0].clone();
        app.update(Action::Click(
            g.x + 3,
            1 + top + u16::try_from(g.y).unwrap(),
        ));
        let topo = app.topology.as_ref().expect("topology open");
        assert_eq!(topo.cluster, app.view().groups[0].0);
        assert_eq!(topo.rows.len(), 3);
        app.update(Action::Board(BoardAction::TopologyMove(1)));
        app.update(Action::Board(BoardAction::TopologyOpen));
        assert!(app.topology.is_none());
        assert!(matches!(app.screen, Screen::Host(_)));
    }

    #[test]
    fn map_fits_fleets_and_names_the_cell_under_the_cursor() {
        for (n, w, h) in [(1000, 200, 50), (10_000, 400, 100)] {
            let mut app = app_with(synthetic_fleet(n), w, h, fixed_time());
            app.update(Action::Board(BoardAction::ToggleMap));
            assert!(app.map_shown());
            assert_eq!(app.shown_on_screen(), n, "{n} at {w}x{h}");
        }
        let mut app = app_with(synthetic_fleet(1000), 200, 50, fixed_time());
        app.update(Action::Board(BoardAction::ToggleMap));
        let p0 = at(&app);
        app.update(Action::Move(1, 0));
        assert_eq!(at(&app).x, p0.x + 1);
        app.update(Action::Move(0, 1));
        assert_eq!(at(&app).y, p0.y + 1);
        app.update(Action::Open);
        assert!(matches!(app.screen, Screen::Host(_)));
    }

    #[test]
    fn wall_uses_packing_then_the_map_instead_of_pages() {
        let mut app = app_with(synthetic_fleet(150), 200, 50, fixed_time());
        app.wall.on = true;
        app.rebuild_view();
        assert!(!app.map_shown());
        assert_eq!(app.shown_on_screen(), 150);
        let mut app = app_with(synthetic_fleet(5000), 240, 67, fixed_time());
        app.wall.on = true;
        app.rebuild_view();
        assert!(app.map_shown());
        assert_eq!(app.wall.pages, 1);
        assert_eq!(app.shown_on_screen(), 5000);
        // Far more than a screen of cells: the map flips a screen at a time.
        let mut app = app_with(synthetic_fleet(20_000), 200, 50, fixed_time());
        app.wall.on = true;
        app.rebuild_view();
        assert!(app.wall.pages > 1);
        let first = app.shown_on_screen();
        app.update(Action::Page(true));
        assert!(app.grid.scroll > 0);
        assert!(first + app.shown_on_screen() <= 20_000);
    }
}
