//! Application state and its only way to change: [`App::update`]. No I/O and no clock
//! here: time arrives inside actions, side effects leave as [`Command`]s.

pub mod history;
pub mod keymap;
pub mod line_edit;
pub mod map;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::action::Action;
use crate::layout::{self, GridLayout};
use crate::model::Update;
use crate::model::{Fleet, Health, Host, HostId, Identity, MetricSet, Signal};

use crate::theme::Theme;
use history::{HistoryCache, HistoryFetch, HistoryKey, WINDOWS};

/// Rows of the wall header (clock and freshness in big digits).
pub const WALL_HEADER: u16 = 3;

/// The longest the loop sleeps with nothing arriving ([`App::next_tick`]): a bound on how
/// late a change the clock alone makes could be shown, should one be missing from there.
pub const MAX_TICK: Duration = Duration::from_secs(10);

pub mod alerts;

/// Side effects for the runtime to carry out.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Poll Prometheus and Alertmanager now instead of at the next refresh (`r`, and
    /// after a silence is created or expired, so that the alerts show it).
    RefreshNow,
    /// Leave the board: the runtime stops after this batch of actions and restores the
    /// terminal.
    Quit,
    /// Range queries for the host panel's charts.
    FetchHistory(Vec<HistoryFetch>),
    /// The panel closed: abort chart queries in flight.
    CancelHistory,
    /// Poll the fleet as it was at this time (`None`: live).
    SetReplay(Option<DateTime<Utc>>),
    /// List silences; answered by [`alerts::AlertAction::SilencesLoaded`].
    FetchSilences,
    /// Answered by [`alerts::AlertAction::SilenceCreated`].
    CreateSilence(crate::model::NewSilence),
    /// Expire the silence with this id; answered by [`alerts::AlertAction::SilenceExpired`].
    ExpireSilence(String),
    /// Start this argv (a URL opener and the URL), detached; no shell.
    OpenUrl(Vec<String>),
    /// Leave the screen, run this argv in the terminal (no shell), come back.
    RunCommand(Vec<String>),
}

/// Order of the grid: how clusters, and hosts within a cluster, follow each other
/// (`s` cycles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Worst first, clusters with problems first.
    Severity,
    /// Clusters by name, hosts by name within each (`db2` before `db10`).
    Name,
    /// Clusters grouped by the metrics source that reports them (several Prometheus
    /// servers), then by name.
    Source,
}

impl Sort {
    /// The order's name as the header shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Severity => "severity",
            Sort::Name => "name",
            Sort::Source => "source",
        }
    }
}

/// The screen shown, under any popup (help, topology, silence form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// The board: the fleet as tiles or as the map.
    Grid,
    /// The panel of this host (Enter); it stays open, shown as gone, if the host leaves
    /// the fleet.
    Host(HostId),
    /// Every alert (`a`).
    Alerts,
    /// Active and pending silences (`A`).
    Silences,
}

/// Freshness of one data source.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceStatus {
    /// The source as the status bar names it: the metrics source's name, or the
    /// Alertmanager's URL.
    pub name: String,
    /// When it last answered without error; `None` if it never has.
    pub last_ok: Option<DateTime<Utc>>,
    /// When its last answer or failure arrived; `None` before the first.
    pub last_attempt: Option<DateTime<Utc>>,
    /// Current error, and since when the source has been failing.
    pub error: Option<String>,
    /// When the current run of failures began; `None` when the last poll succeeded, even
    /// partly.
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

/// Everything the screen shows: what every screen shares, and one part per screen.
pub struct App {
    /// The metrics the tiles show and the host panel charts, with their thresholds.
    pub metrics: Arc<MetricSet>,
    /// The colours drawn with: the theme given to [`App::new`] until one of `themes`
    /// replaces it.
    pub theme: Theme,
    /// Time between refreshes of the fleet.
    pub refresh: Duration,
    /// Refreshes missed before the data counts as stale.
    pub stale_after: u32,
    /// Shared with the poller (its previous refresh): replaced, never copied.
    pub fleet: Arc<Fleet>,
    /// Freshness of the metrics source (Prometheus): its last good answer decides
    /// whether the data is stale ([`App::is_stale`]).
    pub prom: SourceStatus,
    /// Freshness of each Alertmanager, named by URL, in the order they first reported.
    pub alertmanagers: Vec<SourceStatus>,
    /// Clusters the queries are narrowed to (`--cluster`); empty is all.
    pub server_clusters: Vec<String>,
    /// The board's clock, brought by ticks and arriving data: ages and staleness are
    /// measured from it.
    pub now: DateTime<Utc>,
    /// The screen shown.
    pub screen: Screen,
    /// Terminal size, in columns and rows.
    pub width: u16,
    /// Terminal height, in rows.
    pub height: u16,
    /// Something visible changed since the last draw.
    pub dirty: bool,
    /// Counts the changes to the screen's body (all but the header and the status bar):
    /// two frames drawn at the same count have the same body, so the runtime may keep the
    /// last one's and draw only the header and status bar over it. Every change that sets
    /// `dirty` counts, except a refresh that brought the same fleet again (see
    /// [`Fleet::same_but_time`]) onto the plain grid or map.
    pub body_gen: u64,
    /// Which labels name hosts and clusters: chart queries narrow and filter by them.
    pub identity: Identity,
    /// Themes `t` cycles through, and the one in use (index into `themes`).
    pub themes: Vec<Theme>,
    /// Index into `themes` of the theme in use; `t` advances it, wrapping around.
    pub theme_index: usize,
    /// The status bar's message, one slot for every screen (see [`StatusMessage`]).
    pub message: Option<StatusMessage>,
    /// Draw with ASCII only (`--ascii`, or a locale that is not UTF-8).
    pub ascii: bool,
    /// Replay time (`--at`, `[` `]`); `None` is live.
    pub replay: Option<DateTime<Utc>>,
    /// What each key does on each screen (defaults, or rebound by `[keys]`).
    pub keymap: Arc<keymap::Keymap>,
    /// The grid of tiles or the map.
    pub grid: GridUi,
    /// The host panel (Enter).
    pub panel: PanelUi,
    /// The help popup (`?`).
    pub help: HelpUi,
    /// Wall mode and its pages.
    pub wall: WallUi,
    /// Alerts view, silences list, silence form.
    pub alerts: alerts::AlertsUi,
    /// A cluster's replication tree, over the grid (`T`).
    pub topology: Option<map::TopologyUi>,
}

/// How a [`StatusMessage`] is shown and how long it stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// The result of something asked for (a silence created): the whole status bar, until
    /// the user does something else.
    Info,
    /// A refusal or a failure: as `Info`, in the error colour.
    Error,
    /// A short note (theme changed, a command finished): at the right end of the status
    /// bar, over the hints, until another message replaces it.
    Note,
}

/// The one message of the status bar. Every screen writes the same slot: a later message
/// replaces an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    /// What the status bar says.
    pub text: String,
    /// How it is shown and when it goes away.
    pub kind: MessageKind,
}

impl StatusMessage {
    /// A message for the status bar's slot.
    pub fn new(text: impl Into<String>, kind: MessageKind) -> Self {
        Self {
            text: text.into(),
            kind,
        }
    }

    /// Drawn in the error colour.
    pub fn is_error(&self) -> bool {
        self.kind == MessageKind::Error
    }

    /// Gone as soon as the user does something else (`Info` and `Error`).
    pub fn clears_on_input(&self) -> bool {
        self.kind != MessageKind::Note
    }
}

/// What the board starts with, from the settings; applied by [`Action::Start`].
#[derive(Debug, Clone)]
pub struct Startup {
    /// The clock at start.
    pub now: DateTime<Utc>,
    /// The metrics source, as the status bar names it.
    pub source_name: String,
    /// Clusters the queries are narrowed to (`--cluster`); empty is all.
    pub server_clusters: Vec<String>,
    /// Themes `t` cycles through, and the one to start with (index into `themes`).
    pub themes: Vec<Theme>,
    /// Index into `themes` of the theme to start with.
    pub theme_index: usize,
    /// Wall mode (`--wall`), and the time each wall page stays.
    pub wall: bool,
    /// Time each wall page stays before the next.
    pub wall_page_every: Duration,
    /// Hide healthy hosts from the start (`--only-problems`).
    pub only_problems: bool,
    /// Start on the map instead of tiles (`--map`).
    pub map: bool,
    /// Draw with ASCII only.
    pub ascii: bool,
    /// What each key does on each screen: the defaults with `[keys]` applied.
    pub keymap: Arc<keymap::Keymap>,
    /// The metric tile sparklines show, if any.
    pub sparkline_metric: Option<String>,
    /// Links and commands of the host panel.
    pub links: crate::links::LinksUi,
    /// How series name hosts and clusters: chart queries narrow and filter by it.
    pub identity: Identity,
}

/// State of the grid screen: which hosts it shows, in what order, and where.
#[derive(Debug, Clone)]
pub struct GridUi {
    /// The host the cursor is on (also the one the panel opens).
    pub selected: Option<HostId>,
    /// Applied text filter (substring of host or cluster, case-insensitive).
    pub filter: String,
    /// The filter being typed, while `/` is active.
    pub filter_edit: Option<String>,
    /// Cluster shown alone (`c` cycles), `None` for all.
    pub cluster: Option<String>,
    /// Order of clusters and hosts (`s`).
    pub sort: Sort,
    /// First visible row of the grid canvas.
    pub scroll: u32,
    /// Index into the view's hosts of the last click, and when: two within 500 ms open.
    pub last_click: Option<(usize, DateTime<Utc>)>,
    /// Hide healthy hosts (`p`).
    pub only_problems: bool,
    /// Healthy hosts hidden by `only_problems`.
    pub hidden_ok: usize,
    /// Tiles or map (`m`, `--map`).
    pub mode: map::GridMode,
    /// The metric tile sparklines show, if any.
    pub sparkline_metric: Option<String>,
    /// Every host visible with the current filter, sort and fleet (cached).
    view: View,
}

impl Default for GridUi {
    fn default() -> Self {
        Self {
            selected: None,
            filter: String::new(),
            filter_edit: None,
            cluster: None,
            sort: Sort::Severity,
            scroll: 0,
            last_click: None,
            only_problems: false,
            hidden_ok: 0,
            mode: map::GridMode::Tiles,
            sparkline_metric: None,
            view: View::default(),
        }
    }
}

/// State of the host panel (Enter): its scroll, charts, and links.
#[derive(Debug)]
pub struct PanelUi {
    /// First visible line of the host panel.
    pub scroll: u16,
    /// Chart data of the host panel.
    pub history: HistoryCache,
    /// Chart window, as an index into [`WINDOWS`].
    pub window: usize,
    /// Links and commands of the host panel.
    pub links: crate::links::LinksUi,
}

impl Default for PanelUi {
    fn default() -> Self {
        Self {
            scroll: 0,
            history: HistoryCache::default(),
            window: history::DEFAULT_WINDOW,
            links: crate::links::LinksUi::default(),
        }
    }
}

/// State of the help popup (`?`).
#[derive(Debug, Clone, Default)]
pub struct HelpUi {
    /// The help is shown.
    pub open: bool,
    /// First visible line of the help.
    pub scroll: u16,
}

/// Wall mode: no input needed, tiles fill the screen, pages flip by themselves.
#[derive(Debug, Clone)]
pub struct WallUi {
    /// The board is a wall (`--wall`).
    pub on: bool,
    /// Wall page shown (from 0), of `pages`.
    pub page: usize,
    /// Pages the wall's hosts need (at least 1).
    pub pages: usize,
    /// Time each page stays before the next.
    pub page_every: Duration,
    /// When the page shown was turned to.
    pub page_flipped_at: DateTime<Utc>,
}

impl Default for WallUi {
    fn default() -> Self {
        Self {
            on: false,
            page: 0,
            pages: 1,
            page_every: Duration::from_secs(10),
            page_flipped_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

/// The visible hosts, grouped by cluster, and their layout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// Indices into `fleet.hosts`, in display order.
    pub hosts: Vec<usize>,
    /// `(cluster, start, len)` ranges of `hosts`.
    pub groups: Vec<(String, usize, usize)>,
    /// Where each host's tile (or map cell) and each cluster title sits on the grid
    /// canvas, in the order of `hosts` and `groups`.
    pub layout: GridLayout,
    /// The map is shown instead of tiles.
    pub map: bool,
    /// Problem hosts and where they are named.
    pub problems: map::Problems,
}

impl App {
    /// A board with no data yet: an empty fleet on the grid, 80×24 until the first resize.
    /// `refresh` is the time between polls; `stale_after` the refreshes missed before the
    /// data counts as stale.
    pub fn new(metrics: Arc<MetricSet>, theme: Theme, refresh: Duration, stale_after: u32) -> Self {
        let mut a = Self {
            metrics,
            theme,
            refresh,
            stale_after,
            fleet: Arc::new(Fleet::default()),
            prom: SourceStatus::default(),
            alertmanagers: Vec::new(),
            server_clusters: Vec::new(),
            now: DateTime::<Utc>::UNIX_EPOCH,
            screen: Screen::Grid,
            width: 80,
            height: 24,
            dirty: true,
            body_gen: 0,
            identity: Identity::default(),
            themes: Vec::new(),
            theme_index: 0,
            message: None,
            ascii: false,
            replay: None,
            keymap: Arc::new(keymap::Keymap::default()),
            grid: GridUi::default(),
            panel: PanelUi::default(),
            help: HelpUi::default(),
            wall: WallUi::default(),
            alerts: alerts::AlertsUi::new(),
            topology: None,
        };
        a.rebuild_view();
        a
    }

    /// The hosts the grid shows (filter, cluster, only-problems and sort applied), grouped
    /// by cluster, with their layout; [`App::rebuild_view`] recomputes it.
    pub fn view(&self) -> &View {
        &self.grid.view
    }

    /// Rows of the terminal used by the grid (everything but header and status bar).
    pub fn grid_height(&self) -> u16 {
        self.height
            .saturating_sub(2 + if self.wall.on { WALL_HEADER - 1 } else { 0 })
    }

    /// The body shows the grid or map of live data on time and nothing over it: what it
    /// draws then comes from the fleet and the grid's own state alone, not from the clock.
    fn body_is_plain(&self) -> bool {
        matches!(self.screen, Screen::Grid)
            && !self.help.open
            && self.topology.is_none()
            && self.alerts.form.is_none()
            && self.alerts.confirm.is_none()
            && self.replay.is_none()
            && self.prom.error.is_none()
            && self.prom.last_ok.is_some()
            && !self.is_stale()
    }

    /// This refresh brings nothing the body would draw differently.
    fn data_keeps_body(&self, u: &Update) -> bool {
        self.body_is_plain()
            && u.prom_error.is_none()
            && u.fleet
                .as_ref()
                .is_some_and(|f| Arc::ptr_eq(f, &self.fleet) || f.same_but_time(&self.fleet))
    }

    /// The data is older than `stale_after` refreshes (or never arrived). In replay
    /// the data does not age: it is stale only while the source fails.
    pub fn is_stale(&self) -> bool {
        if self.replay.is_some() {
            return self.prom.error.is_some() && self.prom.failing_since > self.prom.last_ok;
        }
        match self.prom.last_ok {
            None => self.prom.error.is_some(),
            Some(t) => (self.now - t).to_std().unwrap_or_default() > self.stale_limit(),
        }
    }

    /// How old the last good answer may be before the data is stale.
    fn stale_limit(&self) -> Duration {
        self.refresh.mul_f64(f64::from(self.stale_after)) + Duration::from_secs(1)
    }

    /// How old a source's last good answer may be before it is late.
    fn late_limit(&self) -> Duration {
        self.refresh.mul_f64(2.0).max(Duration::from_secs(2))
    }

    /// Whether a source's last good answer is later than expected: older than two refresh
    /// intervals (at least 2 s). Only then is its age worth a number that changes every
    /// second; before, the time of that answer says it.
    pub fn is_late(&self, s: &SourceStatus) -> bool {
        let expected = self.late_limit();
        s.last_ok
            .is_some_and(|t| (self.now - t).to_std().unwrap_or_default() > expected)
    }

    /// What on screen follows the clock, at the granularity it shows: whole seconds while an
    /// age or a countdown is shown (a late or failing source, stale data, the wall's page
    /// timer, any screen but the board), the minute of the wall's clock, else nothing. A tick
    /// redraws only when this changes: an idle board on time draws once per refresh.
    fn clock_key(&self) -> i64 {
        if self.ticks_seconds() {
            self.now.timestamp()
        } else if self.wall.on {
            self.now.timestamp() / 60
        } else {
            0
        }
    }

    /// Whether something shown counts whole seconds (see [`App::clock_key`]).
    fn ticks_seconds(&self) -> bool {
        self.screen != Screen::Grid
            || self.alerts.form.is_some()
            || self.is_stale()
            || self.is_late(&self.prom)
            || self.prom.error.is_some()
            || self.alertmanagers.iter().any(|s| s.error.is_some())
            || (self.wall.on && self.wall.pages > 1)
    }

    /// When the clock alone next changes what the board shows, `now` being the time it is:
    /// the next whole second while an age or countdown is shown, else the first of the next
    /// minute of the wall's clock and the moments the data turns late and stale. The loop
    /// sleeps until then rather than waking every second, so that an idle board on time wakes
    /// once per refresh. At most [`MAX_TICK`] ahead, and at least 10 ms (never a busy loop).
    pub fn next_tick(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let floor = |t: DateTime<Utc>, secs: i64| {
            DateTime::from_timestamp(t.timestamp().div_euclid(secs) * secs, 0).unwrap_or(t)
        };
        let soonest = now + chrono::Duration::milliseconds(10);
        let mut at = now + chrono::Duration::from_std(MAX_TICK).unwrap_or_default();
        if self.ticks_seconds() {
            at = floor(now, 1) + chrono::Duration::seconds(1);
        } else {
            if self.wall.on {
                at = at.min(floor(now, 60) + chrono::Duration::seconds(60));
            }
            if let (Some(t), None) = (self.prom.last_ok, self.replay) {
                // Both tests are strict (older than the limit): 1 ms past it.
                let past = |d: Duration| {
                    chrono::Duration::from_std(d).unwrap_or_default()
                        + chrono::Duration::milliseconds(1)
                };
                at = at.min(t + past(self.late_limit().min(self.stale_limit())));
            }
        }
        at.max(soonest)
    }

    /// Age of the data shown, in whole seconds.
    pub fn data_age(&self) -> Option<i64> {
        self.prom
            .last_ok
            .map(|t| (self.now - t).num_seconds().max(0))
    }

    /// The host under the cursor; `None` when nothing is selected or the host has left
    /// the fleet.
    pub fn selected_host(&self) -> Option<&Host> {
        self.grid
            .selected
            .as_ref()
            .and_then(|id| self.fleet.find(id))
    }

    fn selected_index(&self) -> Option<usize> {
        let id = self.grid.selected.as_ref()?;
        self.grid
            .view
            .hosts
            .iter()
            .position(|&i| self.fleet.hosts[i].id == *id)
    }

    /// `needle` is the filter, already lower-cased (once per rebuild, not per host).
    fn matches(&self, h: &Host, needle: &str) -> bool {
        if self.grid.only_problems && h.health == Health::Ok {
            return false;
        }
        if let Some(c) = &self.grid.cluster {
            if &h.id.cluster != c {
                return false;
            }
        }
        needle.is_empty()
            || h.id.name.to_lowercase().contains(needle)
            || h.id.cluster.to_lowercase().contains(needle)
            || h.source
                .as_deref()
                .is_some_and(|s| s.to_lowercase().contains(needle))
    }

    /// Recomputes the visible host list and its layout.
    pub fn rebuild_view(&mut self) {
        let needle = self
            .grid
            .filter_edit
            .as_deref()
            .unwrap_or(&self.grid.filter)
            .to_lowercase();
        let mut idx: Vec<usize> = (0..self.fleet.hosts.len())
            .filter(|&i| self.matches(&self.fleet.hosts[i], &needle))
            .collect();
        let hosts = &self.fleet.hosts;
        // The fleet is sorted by cluster: number the clusters in that order once, so that
        // sorting compares small integers and reaches the names only within a cluster.
        let mut cluster_of = vec![0u32; hosts.len()];
        let mut n_clusters = 0u32;
        for (i, h) in hosts.iter().enumerate() {
            if i > 0 && h.id.cluster != hosts[i - 1].id.cluster {
                n_clusters += 1;
            }
            cluster_of[i] = n_clusters;
        }
        // Clusters with problems first (by their worst host), then by name.
        let mut worst = vec![u8::MAX; n_clusters as usize + 1];
        for &i in &idx {
            let w = &mut worst[cluster_of[i] as usize];
            *w = (*w).min(hosts[i].health.severity_rank());
        }
        // An alert about a cluster as a whole ranks it as a host of that health would.
        if !self.fleet.cluster_alerts.is_empty() {
            for (i, h) in hosts.iter().enumerate() {
                if let Some(c) = self.fleet.cluster_alerts.get(&h.id.cluster) {
                    let w = &mut worst[cluster_of[i] as usize];
                    *w = (*w).min(c.health.severity_rank());
                }
            }
        }
        let name = |a: usize, b: usize| natural_cmp(&hosts[a].id.name, &hosts[b].id.name);
        match self.grid.sort {
            Sort::Severity => idx.sort_unstable_by(|&a, &b| {
                let (ca, cb) = (cluster_of[a], cluster_of[b]);
                worst[ca as usize]
                    .cmp(&worst[cb as usize])
                    .then(ca.cmp(&cb))
                    .then_with(|| {
                        let (ha, hb) = (&hosts[a], &hosts[b]);
                        ha.health.severity_rank().cmp(&hb.health.severity_rank())
                    })
                    .then_with(|| name(a, b))
            }),
            Sort::Name => idx.sort_unstable_by(|&a, &b| {
                cluster_of[a].cmp(&cluster_of[b]).then_with(|| name(a, b))
            }),
            Sort::Source => {
                // A cluster sorts under the first of its hosts' sources.
                let mut src: Vec<Option<&str>> = vec![None; n_clusters as usize + 1];
                for &i in &idx {
                    let s = &mut src[cluster_of[i] as usize];
                    let h = hosts[i].source.as_deref();
                    if s.is_none() || (h.is_some() && h < *s) {
                        *s = h;
                    }
                }
                idx.sort_unstable_by(|&a, &b| {
                    let (ca, cb) = (cluster_of[a], cluster_of[b]);
                    src[ca as usize]
                        .cmp(&src[cb as usize])
                        .then(ca.cmp(&cb))
                        .then_with(|| name(a, b))
                });
            }
        }
        let mut groups: Vec<(String, usize, usize)> = Vec::new();
        for (pos, &i) in idx.iter().enumerate() {
            let c = &hosts[i].id.cluster;
            match groups.last_mut() {
                Some((name, _, len)) if name == c => *len += 1,
                _ => groups.push((c.clone(), pos, 1)),
            }
        }
        self.grid.hidden_ok = if self.grid.only_problems {
            self.fleet
                .hosts
                .iter()
                .filter(|h| {
                    h.health == Health::Ok
                        && self
                            .grid
                            .cluster
                            .as_ref()
                            .is_none_or(|c| *c == h.id.cluster)
                })
                .count()
        } else {
            0
        };
        let sizes: Vec<usize> = groups.iter().map(|g| g.2).collect();
        let want_map = self.grid.mode == map::GridMode::Map;
        let (layout, problems, on_map) = if self.wall.on {
            let longest = idx
                .iter()
                .map(|&i| crate::sanitize::width(&self.fleet.hosts[i].id.name))
                .max()
                .unwrap_or(0);
            let min_w = u16::try_from(longest + 5).unwrap_or(u16::MAX).min(32);
            let fit = layout::wall_fit_min(self.width, self.grid_height(), &sizes, min_w);
            match (fit, want_map) {
                (Some((w, h, cols)), false) => (
                    layout::layout_with(w, h, cols, &sizes),
                    map::Problems {
                        hosts: self.problem_hosts(&idx),
                        ..map::Problems::default()
                    },
                    false,
                ),
                // Too many for big tiles: packed tiles, else the map with the problems
                // named beside it.
                (None, false) => match map::wall_packed(self.width, self.grid_height(), &sizes) {
                    Some(l) => (
                        l,
                        map::Problems {
                            hosts: self.problem_hosts(&idx),
                            ..map::Problems::default()
                        },
                        false,
                    ),
                    None => {
                        let (l, p) = self.lay_out(&idx, &sizes, true);
                        (l, p, true)
                    }
                },
                (_, true) => {
                    let (l, p) = self.lay_out(&idx, &sizes, true);
                    (l, p, true)
                }
            }
        } else {
            let (l, p) = self.lay_out(&idx, &sizes, want_map);
            (l, p, want_map)
        };
        self.grid.view = View {
            hosts: idx,
            groups,
            layout,
            map: on_map,
            problems,
        };
        if self.wall.on {
            // A wall map taller than the screen flips through it a screen at a time.
            let h = u32::from(self.canvas_height().max(1));
            self.wall.pages =
                usize::try_from(self.grid.view.layout.height.div_ceil(h).max(1)).unwrap_or(1);
            self.wall.page %= self.wall.pages;
            self.grid.scroll = u32::try_from(self.wall.page).unwrap_or(0) * h;
        }
        // Keep a selection when there is something to select.
        if self.selected_index().is_none() {
            self.grid.selected = self
                .grid
                .view
                .hosts
                .first()
                .map(|&i| self.fleet.hosts[i].id.clone());
        }
        self.keep_selection_visible();
    }

    /// Takes the settings the board starts with.
    fn start(&mut self, s: Startup) {
        self.now = s.now;
        self.prom.name = s.source_name;
        self.server_clusters = s.server_clusters;
        if let Some(t) = s.themes.get(s.theme_index) {
            self.theme = t.clone();
        }
        self.themes = s.themes;
        self.theme_index = s.theme_index;
        self.wall.on = s.wall;
        self.wall.page_every = s.wall_page_every;
        self.wall.page_flipped_at = s.now;
        self.grid.only_problems = s.only_problems;
        if s.map {
            self.grid.mode = map::GridMode::Map;
        }
        self.ascii = s.ascii;
        self.keymap = s.keymap;
        self.grid.sparkline_metric = s.sparkline_metric;
        self.panel.links = s.links;
        self.identity = s.identity;
        self.rebuild_view();
    }

    /// Cycles to the next theme (`t`).
    fn next_theme(&mut self) {
        if self.themes.len() > 1 {
            self.theme_index = (self.theme_index + 1) % self.themes.len();
            self.theme = self.themes[self.theme_index].clone();
            self.say(format!("theme {}", self.theme.name), MessageKind::Note);
        }
    }

    /// Puts `text` in the status bar's message slot, replacing whatever was there.
    pub(crate) fn say(&mut self, text: impl Into<String>, kind: MessageKind) {
        self.message = Some(StatusMessage::new(text, kind));
    }

    /// Clears an `Info` or `Error` message when the user does something else.
    fn clear_message_on_input(&mut self, a: &Action) {
        if self
            .message
            .as_ref()
            .is_some_and(StatusMessage::clears_on_input)
            && is_user_action(a)
        {
            self.message = None;
            self.dirty = true;
        }
    }

    fn keep_selection_visible(&mut self) {
        // A wall has no one at the keyboard: its pages set the scroll.
        if self.wall.on {
            return;
        }
        let max = self
            .grid
            .view
            .layout
            .height
            .saturating_sub(u32::from(self.canvas_height()));
        if let Some(i) = self.selected_index() {
            self.grid.scroll =
                self.grid
                    .view
                    .layout
                    .scroll_to(i, self.grid.scroll, self.canvas_height());
        }
        self.grid.scroll = self.grid.scroll.min(max);
    }

    fn select_index(&mut self, i: usize) {
        if let Some(&h) = self.grid.view.hosts.get(i) {
            self.grid.selected = Some(self.fleet.hosts[h].id.clone());
            self.keep_selection_visible();
        }
    }

    fn open_selected(&mut self) {
        if let Some(id) = self.grid.selected.clone() {
            if self.fleet.find(&id).is_some() {
                self.screen = Screen::Host(id);
                self.panel.scroll = 0;
            }
        }
    }

    /// Seconds of the chart window.
    pub fn window_secs(&self) -> u64 {
        WINDOWS[self.panel.window.min(WINDOWS.len() - 1)].1
    }

    /// The moment charts end at: the replay time, or the data's time.
    pub fn chart_end(&self) -> DateTime<Utc> {
        self.replay.unwrap_or(self.now)
    }

    /// Key of a chart of the open panel.
    pub fn history_key(&self, host: &HostId, metric: &str) -> HistoryKey {
        HistoryKey {
            host: host.clone(),
            metric: metric.to_string(),
            window: self.window_secs(),
            end: self.replay.map(|t| t.timestamp()),
        }
    }

    /// Columns of one chart's plot in the host panel at the current size (`None` when no
    /// chart fits); the step of the chart queries follows it.
    fn chart_width(&self) -> Option<u16> {
        let n = self.metrics.metrics.iter().filter(|m| m.chart).count();
        let (_, charts) = layout::panel_split(layout::panel_inner(self.width, self.height), n);
        charts.first().map(|c| layout::chart_plot_width(*c))
    }

    /// Range queries for the open panel's charts (none when no chart fits).
    fn fetch_history(&mut self) -> Vec<Command> {
        let Screen::Host(id) = &self.screen else {
            return Vec::new();
        };
        let Some(width) = self.chart_width() else {
            return Vec::new();
        };
        let host = self.fleet.find(id);
        let mut fetches = history::requests(
            &self.metrics,
            &self.identity,
            id,
            self.window_secs(),
            self.chart_end(),
            self.replay.is_some(),
            width,
            self.fleet
                .hosts
                .iter()
                .filter(|h| h.id.name == id.name)
                .count()
                == 1,
            host.map_or(&[][..], |h| &h.aliases[..]),
            host.map(|h| history::Rescraped::of(&h.labels, &self.identity))
                .unwrap_or_default(),
        );
        // Each host's charts come from its own source (several Prometheus servers), and its
        // lag from the heartbeat rows its tile reads.
        let source = host.and_then(|h| h.source.clone());
        let lag_key = self
            .metrics
            .by_signal(Signal::ReplicationLag)
            .map(|i| self.metrics.metrics[i].key.as_str());
        for f in &mut fetches {
            f.req.source.clone_from(&source);
            if Some(f.key.metric.as_str()) == lag_key {
                f.heartbeat_from = host.map(|h| h.heartbeat_from.clone()).unwrap_or_default();
            }
            self.panel.history.start(&f.key);
        }
        vec![Command::FetchHistory(fetches)]
    }

    /// Applies one action. Returns the side effects to perform.
    #[allow(clippy::too_many_lines)]
    pub fn update(&mut self, action: Action) -> Vec<Command> {
        let before = (
            self.screen.clone(),
            self.panel.window,
            self.replay,
            self.chart_width(),
        );
        let is_data = matches!(action, Action::Data(_));
        // The view and selection are compared too: the body stays only if the refresh left
        // every tile where it was.
        let kept = matches!(&action, Action::Data(u) if self.data_keeps_body(u)).then(|| {
            (
                self.grid.view.clone(),
                self.grid.selected.clone(),
                self.grid.scroll,
            )
        });
        let mut cmds = self.apply(action);
        let keeps_body = kept.is_some_and(|(view, selected, scroll)| {
            self.body_is_plain()
                && view == self.grid.view
                && selected == self.grid.selected
                && scroll == self.grid.scroll
        });
        if self.dirty && !keeps_body {
            self.body_gen = self.body_gen.wrapping_add(1);
        }
        let after = (
            &self.screen,
            self.panel.window,
            self.replay,
            self.chart_width(),
        );
        if let (Screen::Host(_), Screen::Grid) = (&before.0, after.0) {
            self.panel.history.cancel_loading();
            cmds.push(Command::CancelHistory);
        }
        let changed = before.0 != *after.0
            || before.1 != after.1
            || before.2 != after.2
            || before.3 != after.3;
        // Charts follow the panel's host, window, replay time and width, and live data.
        if matches!(self.screen, Screen::Host(_)) && (changed || (is_data && self.replay.is_none()))
        {
            cmds.extend(self.fetch_history());
        }
        cmds
    }

    #[allow(clippy::too_many_lines)]
    fn apply(&mut self, action: Action) -> Vec<Command> {
        let mut cmds = Vec::new();
        self.clear_message_on_input(&action);
        self.dirty = true;
        match action {
            Action::Key(k) => {
                let a = self.key_action(&k);
                return self.apply(a);
            }
            Action::Start(s) => self.start(*s),
            Action::Drawn => self.dirty = false,
            Action::Alerts(a) => cmds = self.update_alerts(a),
            Action::Board(a) => self.board(a),
            Action::Links(a) => cmds = crate::links::update(self, a),
            Action::Tick(now) => {
                // Redraw only when something shown follows the clock and has moved.
                let before = self.clock_key();
                self.now = now;
                self.dirty = self.clock_key() != before;
                if self.wall.on
                    && self.wall.pages > 1
                    && (now - self.wall.page_flipped_at)
                        .to_std()
                        .unwrap_or_default()
                        >= self.wall.page_every
                {
                    self.wall.page = (self.wall.page + 1) % self.wall.pages;
                    self.wall.page_flipped_at = now;
                    self.rebuild_view();
                    self.dirty = true;
                }
            }
            Action::OnlyProblems => {
                self.grid.only_problems = !self.grid.only_problems;
                self.rebuild_view();
            }
            Action::NextTheme => self.next_theme(),
            Action::Data(u) => self.apply_update(*u),
            Action::Resize(w, h) => {
                self.width = w;
                self.height = h;
                self.rebuild_view();
            }
            Action::Quit => {
                cmds.push(Command::Quit);
            }
            Action::Help => {
                self.help.open = !self.help.open;
                self.help.scroll = 0;
            }
            Action::HelpScroll(d) => {
                self.help.scroll = if d > 0 {
                    self.help
                        .scroll
                        .saturating_add(d.unsigned_abs().try_into().unwrap_or(u16::MAX))
                } else {
                    self.help
                        .scroll
                        .saturating_sub(d.unsigned_abs().try_into().unwrap_or(u16::MAX))
                };
            }
            Action::Refresh => cmds.push(Command::RefreshNow),
            Action::Back => {
                if self.help.open {
                    self.help.open = false;
                } else if self.grid.filter_edit.is_some() {
                    self.grid.filter_edit = None;
                    self.grid.filter.clear();
                    self.rebuild_view();
                } else if matches!(self.screen, Screen::Host(_)) {
                    self.screen = Screen::Grid;
                    self.keep_selection_visible();
                } else if !self.grid.filter.is_empty() || self.grid.cluster.is_some() {
                    self.grid.filter.clear();
                    self.grid.cluster = None;
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
                Screen::Grid if self.wall.on && self.wall.pages > 1 => {
                    self.wall.page = if down {
                        (self.wall.page + 1) % self.wall.pages
                    } else {
                        (self.wall.page + self.wall.pages - 1) % self.wall.pages
                    };
                    self.wall.page_flipped_at = self.now;
                    self.rebuild_view();
                }
                Screen::Grid => self.board_page(down),
                Screen::Alerts | Screen::Silences => {}
                Screen::Host(_) => {
                    let d = self.height.saturating_sub(4);
                    self.panel.scroll = if down {
                        self.panel.scroll.saturating_add(d)
                    } else {
                        self.panel.scroll.saturating_sub(d)
                    };
                }
            },
            Action::Home => match self.screen {
                Screen::Grid => self.select_index(0),
                Screen::Host(_) => self.panel.scroll = 0,
                Screen::Alerts | Screen::Silences => {}
            },
            Action::End => {
                if matches!(self.screen, Screen::Grid) {
                    self.select_index(self.grid.view.hosts.len().saturating_sub(1));
                }
            }
            Action::StartFilter => {
                self.grid.filter_edit = Some(self.grid.filter.clone());
            }
            Action::FilterChar(_) | Action::FilterBackspace | Action::FilterClear => {
                let e = match action {
                    Action::FilterChar(c) => line_edit::Edit::Type(c),
                    Action::FilterBackspace => line_edit::Edit::Backspace,
                    _ => line_edit::Edit::Clear,
                };
                let changed = self
                    .grid
                    .filter_edit
                    .as_mut()
                    .is_some_and(|f| line_edit::apply(f, e));
                if changed {
                    self.rebuild_view();
                } else {
                    self.dirty = false;
                }
            }
            Action::FilterApply => {
                if let Some(f) = self.grid.filter_edit.take() {
                    self.grid.filter = f;
                    self.rebuild_view();
                }
            }
            Action::CycleCluster => {
                let cl = &self.fleet.clusters;
                self.grid.cluster = match &self.grid.cluster {
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
                self.grid.sort = match self.grid.sort {
                    Sort::Severity => Sort::Name,
                    Sort::Name if self.fleet.sources.len() > 1 => Sort::Source,
                    Sort::Name | Sort::Source => Sort::Severity,
                };
                self.rebuild_view();
            }
            Action::Click(col, row) => self.click(col, row),
            Action::Scroll(down) => match self.screen {
                Screen::Grid => self.move_selection(0, if down { 1 } else { -1 }),
                Screen::Alerts | Screen::Silences => {
                    cmds = self.update_alerts(alerts::AlertAction::Move(if down { 1 } else { -1 }));
                }
                Screen::Host(_) => {
                    self.panel.scroll = if down {
                        self.panel.scroll.saturating_add(3)
                    } else {
                        self.panel.scroll.saturating_sub(3)
                    };
                }
            },
            Action::Window(i) => self.panel.window = i.min(WINDOWS.len() - 1),
            Action::WindowStep(d) => {
                self.panel.window = if d > 0 {
                    (self.panel.window + 1).min(WINDOWS.len() - 1)
                } else {
                    self.panel.window.saturating_sub(1)
                };
            }
            Action::History(key, result) => self.panel.history.finish(key, result),
            Action::ReplayStep(steps) => {
                let step = chrono::Duration::from_std(self.refresh)
                    .unwrap_or(chrono::Duration::seconds(5));
                let from = self.replay.unwrap_or(self.now);
                let to = from + step * i32::try_from(steps).unwrap_or(0);
                self.replay = if to >= self.now { None } else { Some(to) };
                cmds.push(Command::SetReplay(self.replay));
            }
            Action::ReplayAt(t) => {
                self.replay = t;
                cmds.push(Command::SetReplay(t));
            }
            Action::Live => {
                if self.replay.is_some() {
                    self.replay = None;
                    cmds.push(Command::SetReplay(None));
                } else {
                    self.dirty = false;
                }
            }
            Action::None => self.dirty = false,
        }
        cmds
    }

    fn move_selection(&mut self, dx: i32, dy: i32) {
        if let Screen::Host(_) = self.screen {
            if dy != 0 {
                self.panel.scroll = if dy > 0 {
                    self.panel.scroll.saturating_add(1)
                } else {
                    self.panel.scroll.saturating_sub(1)
                };
                return;
            }
            // Left/right walk to the neighbouring host without leaving the panel.
            if let Some(i) = self.selected_index() {
                let n = self.grid.view.hosts.len();
                let j = if dx > 0 {
                    (i + 1).min(n.saturating_sub(1))
                } else {
                    i.saturating_sub(1)
                };
                self.select_index(j);
                if let Some(id) = self.grid.selected.clone() {
                    self.screen = Screen::Host(id);
                    self.panel.scroll = 0;
                }
            }
            return;
        }
        let Some(i) = self.selected_index() else {
            self.select_index(0);
            return;
        };
        self.board_move(i, dx, dy);
    }

    fn click(&mut self, col: u16, row: u16) {
        if !matches!(self.screen, Screen::Grid) || self.help.open {
            self.dirty = false;
            return;
        }
        // Row 0 is the header; the grid starts on row 1.
        let Some(r) = row.checked_sub(1) else { return };
        if r >= self.grid_height() {
            return;
        }
        let Some(i) = self.board_click(col, r) else {
            return;
        };
        let was_selected = self.selected_index() == Some(i);
        let double = self
            .grid
            .last_click
            .is_some_and(|(j, t)| j == i && (self.now - t).num_milliseconds() < 500);
        self.select_index(i);
        self.grid.last_click = Some((i, self.now));
        if was_selected || double {
            self.open_selected();
        }
    }

    fn apply_update(&mut self, u: Update) {
        let at = u.received_at;
        self.now = self.now.max(at);
        // A query the server rejects fails the same way on every refresh: say that
        // retrying cannot help, so nobody waits for it to pass.
        let describe = |e: &crate::model::SourceError| {
            if e.is_transient() {
                e.to_string()
            } else {
                format!("query rejected (fix it; polling goes on): {e}")
            }
        };
        self.prom.record(
            at,
            u.prom_error
                .as_ref()
                .filter(|_| u.fleet.is_none())
                .map(describe),
        );
        if let Some(f) = u.fleet {
            if let Some(e) = &u.prom_error {
                // Partial failure: data arrived, but some queries failed.
                self.prom.error = Some(format!("partial: {}", describe(e)));
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
        self.refresh_topology();
    }

    /// Hosts with a tile (or map cell) at least partly inside the grid's view right now.
    pub fn shown_on_screen(&self) -> usize {
        let l = &self.grid.view.layout;
        let (top, bottom) = (
            self.grid.scroll,
            self.grid.scroll + u32::from(self.canvas_height()),
        );
        l.tiles
            .iter()
            .filter(|t| t.y < bottom && t.y + u32::from(l.tile_h) > top)
            .count()
    }

    /// Hosts per health among the visible ones.
    pub fn visible_counts(&self) -> [usize; 6] {
        Health::count(
            self.grid
                .view
                .hosts
                .iter()
                .map(|&i| self.fleet.hosts[i].health),
        )
    }
}

/// Whether an action is the user doing something (which clears the status message).
fn is_user_action(a: &Action) -> bool {
    !matches!(
        a,
        Action::Tick(_)
            | Action::Data(_)
            | Action::Resize(..)
            | Action::Start(_)
            | Action::Drawn
            | Action::None
            | Action::Alerts(
                alerts::AlertAction::Setup(_)
                    | alerts::AlertAction::SilencesLoaded(_)
                    | alerts::AlertAction::SilenceCreated(_)
                    | alerts::AlertAction::SilenceExpired { .. }
            )
    )
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
