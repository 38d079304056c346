//! Application state and its only way to change: [`App::update`]. No I/O and no clock
//! here: time arrives inside actions, side effects leave as [`Command`]s.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::action::Action;
use crate::fleet::{Fleet, Health, Host, HostId, MetricSet};
use crate::layout::{self, GridLayout};
use crate::poller::Update;
use crate::theme::Theme;

/// Side effects for the runtime to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    RefreshNow,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Worst first, clusters with problems first.
    Severity,
    Name,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Severity => "severity",
            Sort::Name => "name",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    Grid,
    Host(HostId),
}

/// Freshness of one data source.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceStatus {
    pub name: String,
    pub last_ok: Option<DateTime<Utc>>,
    pub last_attempt: Option<DateTime<Utc>>,
    /// Current error, and since when the source has been failing.
    pub error: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
}

impl SourceStatus {
    fn record(&mut self, at: DateTime<Utc>, err: Option<String>) {
        self.last_attempt = Some(at);
        match err {
            None => {
                self.last_ok = Some(at);
                self.error = None;
                self.failing_since = None;
            }
            Some(e) => {
                if self.failing_since.is_none() {
                    self.failing_since = Some(at);
                }
                self.error = Some(e);
            }
        }
    }
}

/// Everything the screen shows.
pub struct App {
    pub metrics: Arc<MetricSet>,
    pub theme: Theme,
    pub refresh: Duration,
    pub stale_after: u32,
    pub fleet: Fleet,
    pub prom: SourceStatus,
    pub alertmanagers: Vec<SourceStatus>,
    /// Clusters the queries are narrowed to (`--cluster`); empty is all.
    pub server_clusters: Vec<String>,
    pub now: DateTime<Utc>,
    pub screen: Screen,
    pub help: bool,
    pub selected: Option<HostId>,
    /// Applied text filter (substring of host or cluster, case-insensitive).
    pub filter: String,
    /// The filter being typed, while `/` is active.
    pub filter_edit: Option<String>,
    /// Cluster shown alone (`c` cycles), `None` for all.
    pub cluster: Option<String>,
    pub sort: Sort,
    pub width: u16,
    pub height: u16,
    /// First visible row of the grid canvas.
    pub scroll: u32,
    /// First visible line of the host panel.
    pub panel_scroll: u16,
    pub last_click: Option<(usize, DateTime<Utc>)>,
    pub quit: bool,
    /// Something visible changed since the last draw.
    pub dirty: bool,
    /// Every host visible with the current filter, sort and fleet (cached).
    view: View,
}

/// The visible hosts, grouped by cluster, and their layout.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// Indices into `fleet.hosts`, in display order.
    pub hosts: Vec<usize>,
    /// `(cluster, start, len)` ranges of `hosts`.
    pub groups: Vec<(String, usize, usize)>,
    pub layout: GridLayout,
}

impl App {
    pub fn new(metrics: Arc<MetricSet>, theme: Theme, refresh: Duration, stale_after: u32) -> Self {
        let mut a = Self {
            metrics,
            theme,
            refresh,
            stale_after,
            fleet: Fleet::default(),
            prom: SourceStatus::default(),
            alertmanagers: Vec::new(),
            server_clusters: Vec::new(),
            now: DateTime::<Utc>::UNIX_EPOCH,
            screen: Screen::Grid,
            help: false,
            selected: None,
            filter: String::new(),
            filter_edit: None,
            cluster: None,
            sort: Sort::Severity,
            width: 80,
            height: 24,
            scroll: 0,
            panel_scroll: 0,
            last_click: None,
            quit: false,
            dirty: true,
            view: View::default(),
        };
        a.rebuild_view();
        a
    }

    pub fn view(&self) -> &View {
        &self.view
    }

    /// Rows of the terminal used by the grid (everything but header and status bar).
    pub fn grid_height(&self) -> u16 {
        self.height.saturating_sub(2)
    }

    /// The data is older than `stale_after` refreshes (or never arrived).
    pub fn is_stale(&self) -> bool {
        match self.prom.last_ok {
            None => self.prom.error.is_some(),
            Some(t) => {
                let limit =
                    self.refresh.mul_f64(f64::from(self.stale_after)) + Duration::from_secs(1);
                (self.now - t).to_std().unwrap_or_default() > limit
            }
        }
    }

    /// Age of the data shown, in whole seconds.
    pub fn data_age(&self) -> Option<i64> {
        self.prom
            .last_ok
            .map(|t| (self.now - t).num_seconds().max(0))
    }

    pub fn selected_host(&self) -> Option<&Host> {
        self.selected.as_ref().and_then(|id| self.fleet.find(id))
    }

    fn selected_index(&self) -> Option<usize> {
        let id = self.selected.as_ref()?;
        self.view
            .hosts
            .iter()
            .position(|&i| self.fleet.hosts[i].id == *id)
    }

    fn matches(&self, h: &Host) -> bool {
        if let Some(c) = &self.cluster {
            if &h.id.cluster != c {
                return false;
            }
        }
        let f = self.filter_edit.as_deref().unwrap_or(&self.filter);
        if f.is_empty() {
            return true;
        }
        let f = f.to_lowercase();
        h.id.name.to_lowercase().contains(&f) || h.id.cluster.to_lowercase().contains(&f)
    }

    /// Recomputes the visible host list and its layout.
    pub fn rebuild_view(&mut self) {
        let mut idx: Vec<usize> = (0..self.fleet.hosts.len())
            .filter(|&i| self.matches(&self.fleet.hosts[i]))
            .collect();
        let hosts = &self.fleet.hosts;
        // Clusters with problems first (by their worst host), then by name.
        let mut worst: std::collections::HashMap<&str, u8> = std::collections::HashMap::new();
        for &i in &idx {
            let h = &hosts[i];
            let r = h.health.severity_rank();
            let e = worst.entry(h.id.cluster.as_str()).or_insert(u8::MAX);
            *e = (*e).min(r);
        }
        match self.sort {
            Sort::Severity => idx.sort_by(|&a, &b| {
                let (ha, hb) = (&hosts[a], &hosts[b]);
                worst[ha.id.cluster.as_str()]
                    .cmp(&worst[hb.id.cluster.as_str()])
                    .then_with(|| ha.id.cluster.cmp(&hb.id.cluster))
                    .then_with(|| ha.health.severity_rank().cmp(&hb.health.severity_rank()))
                    .then_with(|| natural_cmp(&ha.id.name, &hb.id.name))
            }),
            Sort::Name => idx.sort_by(|&a, &b| {
                let (ha, hb) = (&hosts[a], &hosts[b]);
                ha.id
                    .cluster
                    .cmp(&hb.id.cluster)
                    .then_with(|| natural_cmp(&ha.id.name, &hb.id.name))
            }),
        }
        let mut groups: Vec<(String, usize, usize)> = Vec::new();
        for (pos, &i) in idx.iter().enumerate() {
            let c = &hosts[i].id.cluster;
            match groups.last_mut() {
                Some((name, _, len)) if name == c => *len += 1,
                _ => groups.push((c.clone(), pos, 1)),
            }
        }
        let sizes: Vec<usize> = groups.iter().map(|g| g.2).collect();
        let layout = layout::layout(self.width, self.grid_height(), &sizes);
        self.view = View {
            hosts: idx,
            groups,
            layout,
        };
        // Keep a selection when there is something to select.
        if self.selected_index().is_none() {
            self.selected = self
                .view
                .hosts
                .first()
                .map(|&i| self.fleet.hosts[i].id.clone());
        }
        self.keep_selection_visible();
    }

    fn keep_selection_visible(&mut self) {
        let max = self
            .view
            .layout
            .height
            .saturating_sub(u32::from(self.grid_height()));
        if let Some(i) = self.selected_index() {
            self.scroll = self
                .view
                .layout
                .scroll_to(i, self.scroll, self.grid_height());
        }
        self.scroll = self.scroll.min(max);
    }

    fn select_index(&mut self, i: usize) {
        if let Some(&h) = self.view.hosts.get(i) {
            self.selected = Some(self.fleet.hosts[h].id.clone());
            self.keep_selection_visible();
        }
    }

    fn open_selected(&mut self) {
        if let Some(id) = self.selected.clone() {
            if self.fleet.find(&id).is_some() {
                self.screen = Screen::Host(id);
                self.panel_scroll = 0;
            }
        }
    }

    /// Applies one action. Returns the side effects to perform.
    #[allow(clippy::too_many_lines)]
    pub fn update(&mut self, action: Action) -> Vec<Command> {
        let mut cmds = Vec::new();
        self.dirty = true;
        match action {
            Action::Tick(now) => {
                // Redraw only when a visible age label changes (whole seconds).
                let changed = now.timestamp() != self.now.timestamp();
                self.now = now;
                self.dirty = changed;
            }
            Action::Data(u) => self.apply_update(*u),
            Action::Resize(w, h) => {
                self.width = w;
                self.height = h;
                self.rebuild_view();
            }
            Action::Quit => {
                self.quit = true;
                cmds.push(Command::Quit);
            }
            Action::Help => self.help = !self.help,
            Action::Refresh => cmds.push(Command::RefreshNow),
            Action::Back => {
                if self.help {
                    self.help = false;
                } else if self.filter_edit.is_some() {
                    self.filter_edit = None;
                    self.filter.clear();
                    self.rebuild_view();
                } else if matches!(self.screen, Screen::Host(_)) {
                    self.screen = Screen::Grid;
                    self.keep_selection_visible();
                } else if !self.filter.is_empty() || self.cluster.is_some() {
                    self.filter.clear();
                    self.cluster = None;
                    self.rebuild_view();
                } else {
                    self.dirty = false;
                }
            }
            Action::Open => {
                if matches!(self.screen, Screen::Grid) {
                    self.open_selected();
                }
            }
            Action::Move(dx, dy) => self.move_selection(dx, dy),
            Action::Page(down) => match self.screen {
                Screen::Grid => {
                    let steps = (self.grid_height() / (self.view.layout.tile_h + 1)).max(1);
                    for _ in 0..steps {
                        self.move_selection(0, if down { 1 } else { -1 });
                    }
                }
                Screen::Host(_) => {
                    let d = self.height.saturating_sub(4);
                    self.panel_scroll = if down {
                        self.panel_scroll.saturating_add(d)
                    } else {
                        self.panel_scroll.saturating_sub(d)
                    };
                }
            },
            Action::Home => match self.screen {
                Screen::Grid => self.select_index(0),
                Screen::Host(_) => self.panel_scroll = 0,
            },
            Action::End => {
                if matches!(self.screen, Screen::Grid) {
                    self.select_index(self.view.hosts.len().saturating_sub(1));
                }
            }
            Action::StartFilter => {
                self.filter_edit = Some(self.filter.clone());
            }
            Action::FilterChar(c) => {
                if let Some(f) = &mut self.filter_edit {
                    if f.chars().count() < 200 {
                        f.push(c);
                    }
                    self.rebuild_view();
                }
            }
            Action::FilterBackspace => {
                if let Some(f) = &mut self.filter_edit {
                    f.pop();
                    self.rebuild_view();
                }
            }
            Action::FilterClear => {
                if let Some(f) = &mut self.filter_edit {
                    f.clear();
                    self.rebuild_view();
                }
            }
            Action::FilterApply => {
                if let Some(f) = self.filter_edit.take() {
                    self.filter = f;
                    self.rebuild_view();
                }
            }
            Action::CycleCluster => {
                let cl = &self.fleet.clusters;
                self.cluster = match &self.cluster {
                    None => cl.first().cloned(),
                    Some(c) => cl
                        .iter()
                        .position(|x| x == c)
                        .and_then(|p| cl.get(p + 1))
                        .cloned(),
                };
                self.screen = Screen::Grid;
                self.rebuild_view();
            }
            Action::CycleSort => {
                self.sort = match self.sort {
                    Sort::Severity => Sort::Name,
                    Sort::Name => Sort::Severity,
                };
                self.rebuild_view();
            }
            Action::Click(col, row) => self.click(col, row),
            Action::Scroll(down) => match self.screen {
                Screen::Grid => self.move_selection(0, if down { 1 } else { -1 }),
                Screen::Host(_) => {
                    self.panel_scroll = if down {
                        self.panel_scroll.saturating_add(3)
                    } else {
                        self.panel_scroll.saturating_sub(3)
                    };
                }
            },
            Action::None => self.dirty = false,
        }
        cmds
    }

    fn move_selection(&mut self, dx: i32, dy: i32) {
        if let Screen::Host(_) = self.screen {
            if dy != 0 {
                self.panel_scroll = if dy > 0 {
                    self.panel_scroll.saturating_add(1)
                } else {
                    self.panel_scroll.saturating_sub(1)
                };
                return;
            }
            // Left/right walk to the neighbouring host without leaving the panel.
            if let Some(i) = self.selected_index() {
                let n = self.view.hosts.len();
                let j = if dx > 0 {
                    (i + 1).min(n.saturating_sub(1))
                } else {
                    i.saturating_sub(1)
                };
                self.select_index(j);
                if let Some(id) = self.selected.clone() {
                    self.screen = Screen::Host(id);
                    self.panel_scroll = 0;
                }
            }
            return;
        }
        let Some(i) = self.selected_index() else {
            self.select_index(0);
            return;
        };
        let n = self.view.hosts.len();
        let j = if dx > 0 {
            (i + 1).min(n.saturating_sub(1))
        } else if dx < 0 {
            i.saturating_sub(1)
        } else {
            self.view.layout.vertical(i, dy > 0).unwrap_or(i)
        };
        self.select_index(j);
    }

    fn click(&mut self, col: u16, row: u16) {
        if !matches!(self.screen, Screen::Grid) || self.help {
            self.dirty = false;
            return;
        }
        // Row 0 is the header; the grid starts on row 1.
        let Some(r) = row.checked_sub(1) else { return };
        if r >= self.grid_height() {
            return;
        }
        let Some(i) = self.view.layout.hit(col, r, self.scroll) else {
            return;
        };
        let was_selected = self.selected_index() == Some(i);
        let double = self
            .last_click
            .is_some_and(|(j, t)| j == i && (self.now - t).num_milliseconds() < 500);
        self.select_index(i);
        self.last_click = Some((i, self.now));
        if was_selected || double {
            self.open_selected();
        }
    }

    fn apply_update(&mut self, u: Update) {
        let at = u.received_at;
        self.now = self.now.max(at);
        self.prom.record(
            at,
            u.prom_error
                .as_ref()
                .filter(|_| u.fleet.is_none())
                .map(ToString::to_string),
        );
        if let Some(f) = u.fleet {
            if let Some(e) = &u.prom_error {
                // Partial failure: data arrived, but some queries failed.
                self.prom.error = Some(format!("partial: {e}"));
            }
            self.fleet = f;
        }
        for (url, err) in u.alert_sources {
            let pos = self.alertmanagers.iter().position(|s| s.name == url);
            let s = match pos {
                Some(p) => &mut self.alertmanagers[p],
                None => {
                    self.alertmanagers.push(SourceStatus {
                        name: url.clone(),
                        ..SourceStatus::default()
                    });
                    self.alertmanagers.last_mut().expect("just pushed")
                }
            };
            s.record(at, err.map(|e| e.to_string()));
        }
        // The open host panel follows its host; if it vanished, stay on it (shown as gone).
        self.rebuild_view();
    }

    /// Hosts per health among the visible ones.
    pub fn visible_counts(&self) -> [usize; 5] {
        let mut c = [0usize; 5];
        for &i in &self.view.hosts {
            let k = Health::ALL
                .iter()
                .position(|h| *h == self.fleet.hosts[i].health)
                .unwrap_or(0);
            c[k] += 1;
        }
        c
    }
}

/// The digits of `s` from `k` without leading zeros, and where the run ends.
fn digit_run(s: &[u8], k: usize) -> (&[u8], usize) {
    let end = k + s[k..].iter().take_while(|c| c.is_ascii_digit()).count();
    let start = k + s[k..end].iter().take_while(|&&c| c == b'0').count();
    (&s[start..end], end)
}

/// `db2` before `db10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    // Byte-wise without allocating: it runs ~n log n times per sort of the fleet. UTF-8
    // orders like code points, and ASCII digits never occur inside a multi-byte char.
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        match (a.get(i).copied(), b.get(j).copied()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let ((ta, ei), (tb, ej)) = (digit_run(a, i), digit_run(b, j));
                let o = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
                (i, j) = (ei, ej);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                i += 1;
                j += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests;
