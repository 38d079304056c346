//! Notifications: when a host turns CRIT or DOWN (optionally WARN) and when it recovers,
//! decide what to tell the operator: the terminal bell and/or a desktop notification.
//!
//! This module only decides; it does no I/O and reads no clock (time comes in as a
//! value), so every rule is a unit test. [`encode`] turns a decision into terminal bytes
//! (BEL, OSC 9, OSC 777, wrapped for tmux); the runtime writes them.
//!
//! Rules:
//! - The first refresh sets the baseline silently: starting the board does not ring for
//!   every server that was already broken.
//! - Only fresh judgements count. A host with a reading carried over from an earlier
//!   refresh (its query failed), a host in UNKNOWN, and every host while the data is stale
//!   or replayed keep their previous state: nothing is told about them.
//! - One refresh gives at most one notification: several changes make one summary.
//! - At most one notification per `min_interval`; changes in between are queued and sent
//!   as one summary when the interval is over. A host that goes and comes back before
//!   then cancels out.
//! - A host that changes `flap_count` times within `flap_window` is reported flapping
//!   once, then is quiet until it has not changed for `flap_window`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::{Health, HostId};

/// A severity that can be notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The host is WARN (`"warn"` in the config).
    Warn,
    /// The host is CRIT (`"crit"` in the config).
    Crit,
    /// The host is DOWN (`"down"` in the config).
    Down,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Warn => "WARN",
            Level::Crit => "CRIT",
            Level::Down => "DOWN",
        }
    }

    fn of(h: Health) -> Option<Option<Level>> {
        match h {
            Health::Ok => Some(None),
            Health::Warn => Some(Some(Level::Warn)),
            Health::Crit => Some(Some(Level::Crit)),
            Health::Down => Some(Some(Level::Down)),
            // No judgement: neither a problem nor a recovery.
            Health::Unknown | Health::Stale => None,
        }
    }
}

/// How a desktop notification is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// `OSC 777 ; notify ; TITLE ; BODY` (foot, urxvt, VTE terminals, WezTerm).
    #[default]
    Osc777,
    /// `OSC 9 ; TEXT` (iTerm2, kitty, WezTerm, Windows Terminal).
    Osc9,
}

/// `[notify.clusters.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// `bell`: the severities that ring the bell for this cluster's hosts; an empty list
    /// never rings for them. `None`: the top-level `notify.bell`.
    pub bell: Option<Vec<Level>>,
    /// `desktop`: the severities that send a desktop notification for this cluster's
    /// hosts; an empty list never does. `None`: the top-level `notify.desktop`.
    pub desktop: Option<Vec<Level>>,
}

/// `[notify]` as written in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyFile {
    /// `bell`: the severities (`"warn"`, `"crit"`, `"down"`) that ring the terminal bell.
    /// `None` or empty: no bell, except for clusters with a list of their own.
    pub bell: Option<Vec<Level>>,
    /// `desktop`: the severities that send a desktop notification. `None` or empty: none,
    /// except for clusters with a list of their own.
    pub desktop: Option<Vec<Level>>,
    /// `desktop_protocol`: `"osc777"` or `"osc9"`, the escape sequence that carries a
    /// desktop notification. `None`: `"osc777"`.
    pub desktop_protocol: Option<Protocol>,
    /// `recover`: also notify when a host is back from a notified severity. `None`:
    /// `true`.
    pub recover: Option<bool>,
    /// `min_interval`: the shortest time between two notifications, a duration such as
    /// `"30s"`; changes in between make one summary. `None`: 30 seconds.
    pub min_interval: Option<toml::Spanned<String>>,
    /// `flap_count`: how many changes within `flap_window` make a host flapping. `None`:
    /// 4; values below 2 count as 2.
    pub flap_count: Option<u32>,
    /// `flap_window`: the time over which changes are counted, and how long a flapping
    /// host must stay steady before it is notified again, a duration such as `"10m"`.
    /// `None`: 10 minutes.
    pub flap_window: Option<toml::Spanned<String>>,
    /// `[notify.clusters.NAME]`: per-cluster `bell` and `desktop` lists that replace the
    /// top-level ones for that cluster's hosts. Empty when absent.
    #[serde(default)]
    pub clusters: BTreeMap<String, ClusterFile>,
}

/// Which severities use which channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Channels {
    /// Severities that ring the terminal bell; empty: never.
    pub bell: Vec<Level>,
    /// Severities that send a desktop notification; empty: never.
    pub desktop: Vec<Level>,
}

impl Channels {
    fn wants(&self, l: Level) -> bool {
        self.bell.contains(&l) || self.desktop.contains(&l)
    }
}

/// Resolved `[notify]`. The default notifies nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// The channels for hosts of clusters not listed in `clusters`.
    pub channels: Channels,
    /// Channels per cluster name, replacing `channels` for that cluster's hosts.
    pub clusters: BTreeMap<String, Channels>,
    /// How desktop notifications are written to the terminal.
    pub protocol: Protocol,
    /// Also notify when a host is back from a notified severity.
    pub recover: bool,
    /// The shortest time between two notifications; changes in between are queued and
    /// sent as one summary.
    pub min_interval: Duration,
    /// Changes within `flap_window` that make a host flapping (at least 2).
    pub flap_count: u32,
    /// The time over which a host's changes are counted, and how long a flapping host
    /// must stay steady before it is notified again.
    pub flap_window: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            channels: Channels::default(),
            clusters: BTreeMap::new(),
            protocol: Protocol::default(),
            recover: true,
            min_interval: Duration::from_secs(30),
            flap_count: 4,
            flap_window: Duration::from_secs(600),
        }
    }
}

impl NotifyConfig {
    /// Whether anything at all can be notified.
    pub fn enabled(&self) -> bool {
        let on = |c: &Channels| !c.bell.is_empty() || !c.desktop.is_empty();
        on(&self.channels) || self.clusters.values().any(on)
    }

    fn channels(&self, cluster: &str) -> &Channels {
        self.clusters.get(cluster).unwrap_or(&self.channels)
    }

    /// Builds the config from the file's table; `dur` parses a duration key or names it
    /// in its error.
    ///
    /// # Errors
    ///
    /// The error of `dur` for `notify.min_interval` or `notify.flap_window`.
    pub fn from_file<E>(
        f: &NotifyFile,
        dur: impl Fn(&Option<toml::Spanned<String>>, &str) -> Result<Option<Duration>, E>,
    ) -> Result<Self, E> {
        let d = Self::default();
        let ch =
            |bell: &Option<Vec<Level>>, desktop: &Option<Vec<Level>>, base: &Channels| Channels {
                bell: bell.clone().unwrap_or_else(|| base.bell.clone()),
                desktop: desktop.clone().unwrap_or_else(|| base.desktop.clone()),
            };
        let channels = ch(&f.bell, &f.desktop, &Channels::default());
        let clusters = f
            .clusters
            .iter()
            .map(|(k, c)| (k.clone(), ch(&c.bell, &c.desktop, &channels)))
            .collect();
        Ok(Self {
            channels,
            clusters,
            protocol: f.desktop_protocol.unwrap_or(d.protocol),
            recover: f.recover.unwrap_or(d.recover),
            min_interval: dur(&f.min_interval, "notify.min_interval")?.unwrap_or(d.min_interval),
            flap_count: f.flap_count.unwrap_or(d.flap_count).max(2),
            flap_window: dur(&f.flap_window, "notify.flap_window")?.unwrap_or(d.flap_window),
        })
    }
}

/// What the notifier sees of one host in one refresh.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The host (its cluster picks the channels).
    pub id: &'a HostId,
    /// The host's health in this refresh; UNKNOWN and stale are no judgement and keep
    /// the previous state.
    pub health: Health,
    /// Some reading was carried over from an earlier refresh (its query failed).
    pub stale: bool,
}

/// One thing to tell the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Ring the terminal bell.
    pub bell: bool,
    /// Send a desktop notification.
    pub desktop: bool,
    /// Short: fits a notification title.
    pub title: String,
    /// The details: the host's cluster and change, or for a summary the first five
    /// changes. OSC 9 does not carry it.
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// From the level last told to the level now (`None`: recovered).
    Change {
        host: HostId,
        from: Option<Level>,
        to: Option<Level>,
    },
    Flapping {
        host: HostId,
        now: Option<Level>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Change,
    Flapping,
}

#[derive(Debug, Clone, Default)]
struct HostState {
    /// The notifiable level now (`None`: fine as far as notifications go).
    level: Option<Level>,
    /// The level the operator was last told (or the baseline).
    told: Option<Level>,
    changes: VecDeque<DateTime<Utc>>,
    flapping: bool,
}

/// The decision state. Feed it every fresh refresh ([`Notifier::observe`]) and the clock
/// ([`Notifier::tick`]); each returns what to notify now, if anything.
#[derive(Debug, Clone)]
pub struct Notifier {
    cfg: NotifyConfig,
    hosts: HashMap<HostId, HostState>,
    baseline: bool,
    pending: BTreeMap<HostId, Pending>,
    last_sent: Option<DateTime<Utc>>,
    /// Hosts with `flapping` set: the clock looks at hosts only while there are some.
    flapping: usize,
}

impl Notifier {
    /// A notifier with no baseline yet: the first refresh it observes notifies nothing.
    pub fn new(cfg: NotifyConfig) -> Self {
        Self {
            cfg,
            hosts: HashMap::new(),
            baseline: false,
            pending: BTreeMap::new(),
            last_sent: None,
            flapping: 0,
        }
    }

    /// The `[notify]` settings it applies.
    pub fn config(&self) -> &NotifyConfig {
        &self.cfg
    }

    /// Whether [`Notifier::tick`] has work to do as time passes: hosts flapping, or notices
    /// held back by the rate limit.
    pub fn wants_tick(&self) -> bool {
        self.flapping > 0 || !self.pending.is_empty()
    }

    /// Forgets everything: the next refresh is a new baseline (after replay, say).
    pub fn reset(&mut self) {
        self.hosts.clear();
        self.pending.clear();
        self.baseline = false;
        self.flapping = 0;
    }

    /// A fresh refresh of the whole fleet at `now`. Hosts not in it are forgotten.
    pub fn observe<'a>(
        &mut self,
        hosts: impl IntoIterator<Item = Observation<'a>>,
        now: DateTime<Utc>,
    ) -> Option<Notice> {
        if !self.cfg.enabled() {
            return None;
        }
        let mut seen = std::collections::HashSet::new();
        for o in hosts {
            seen.insert(o.id.clone());
            if o.stale {
                continue;
            }
            let Some(level) = Level::of(o.health) else {
                continue;
            };
            let wants = self.cfg.channels(&o.id.cluster);
            let level = level.filter(|l| wants.wants(*l));
            let Some(st) = self.hosts.get_mut(o.id) else {
                self.hosts.insert(
                    o.id.clone(),
                    HostState {
                        level,
                        told: level,
                        ..HostState::default()
                    },
                );
                continue;
            };
            if !self.baseline || st.level == level {
                st.level = level;
                continue;
            }
            st.level = level;
            st.changes.push_back(now);
            let window =
                chrono::Duration::from_std(self.cfg.flap_window).unwrap_or(chrono::Duration::MAX);
            while st.changes.front().is_some_and(|t| now - *t > window) {
                st.changes.pop_front();
            }
            if st.flapping {
                continue;
            }
            if st.changes.len() >= self.cfg.flap_count as usize {
                st.flapping = true;
                self.flapping += 1;
                self.pending.insert(o.id.clone(), Pending::Flapping);
            } else if self.pending.get(o.id) != Some(&Pending::Flapping) {
                self.pending.insert(o.id.clone(), Pending::Change);
            }
        }
        self.hosts.retain(|id, _| seen.contains(id));
        self.pending.retain(|id, _| seen.contains(id));
        self.flapping = self.hosts.values().filter(|s| s.flapping).count();
        self.baseline = true;
        self.tick(now)
    }

    /// The clock moved: settle flapping hosts and send what the rate limit held back.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Option<Notice> {
        let window =
            chrono::Duration::from_std(self.cfg.flap_window).unwrap_or(chrono::Duration::MAX);
        let hosts = if self.flapping > 0 {
            Some(self.hosts.iter_mut())
        } else {
            None
        };
        for (id, st) in hosts.into_iter().flatten() {
            if st.flapping && st.changes.back().is_none_or(|t| now - *t > window) {
                st.flapping = false;
                self.flapping = self.flapping.saturating_sub(1);
                st.changes.clear();
                if st.level != st.told {
                    self.pending.insert(id.clone(), Pending::Change);
                }
            }
        }
        if self.pending.is_empty() {
            return None;
        }
        let min = chrono::Duration::from_std(self.cfg.min_interval).unwrap_or_default();
        if self.last_sent.is_some_and(|t| now - t < min) {
            return None;
        }
        let mut events = Vec::new();
        for (id, p) in std::mem::take(&mut self.pending) {
            let Some(st) = self.hosts.get_mut(&id) else {
                continue;
            };
            match p {
                Pending::Flapping => events.push(Event::Flapping {
                    host: id,
                    now: st.level,
                }),
                Pending::Change if st.level == st.told => {}
                Pending::Change => {
                    let (from, to) = (st.told, st.level);
                    st.told = to;
                    if to.is_some() || self.cfg.recover {
                        events.push(Event::Change { host: id, from, to });
                    }
                }
            }
        }
        let notice = self.compose(&events)?;
        self.last_sent = Some(now);
        Some(notice)
    }

    fn compose(&self, events: &[Event]) -> Option<Notice> {
        let (mut bell, mut desktop) = (false, false);
        for e in events {
            let (host, level) = match e {
                Event::Change { host, from, to } => (host, to.or(*from)),
                Event::Flapping { host, now } => (
                    host,
                    now.or_else(|| self.hosts.get(host).and_then(|s| s.told)),
                ),
            };
            if let Some(l) = level {
                let c = self.cfg.channels(&host.cluster);
                bell |= c.bell.contains(&l);
                desktop |= c.desktop.contains(&l);
            }
        }
        if !bell && !desktop {
            return None;
        }
        let phrase = |e: &Event| match e {
            Event::Change { host, from, to } => match (from, to) {
                (_, Some(t)) => format!(
                    "{} {}{}",
                    host.name,
                    t.as_str(),
                    from.map(|f| format!(" (was {})", f.as_str()))
                        .unwrap_or_default()
                ),
                (Some(f), None) => format!("{} recovered (was {})", host.name, f.as_str()),
                (None, None) => format!("{} recovered", host.name),
            },
            Event::Flapping { host, .. } => {
                format!("{} is flapping, quiet until it settles", host.name)
            }
        };
        let (title, body) = if let [e] = events {
            let host = match e {
                Event::Change { host, .. } | Event::Flapping { host, .. } => host,
            };
            (
                format!("fleetboard: {}", phrase(e)),
                format!("cluster {}: {}", host.cluster, phrase(e)),
            )
        } else {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for e in events {
                let k = match e {
                    Event::Change { to: Some(t), .. } => t.as_str(),
                    Event::Change { to: None, .. } => "recovered",
                    Event::Flapping { .. } => "flapping",
                };
                *counts.entry(k).or_default() += 1;
            }
            let order = ["DOWN", "CRIT", "WARN", "flapping", "recovered"];
            let summary: Vec<String> = order
                .iter()
                .filter_map(|k| counts.get(k).map(|n| format!("{n} {k}")))
                .collect();
            const SHOWN: usize = 5;
            let mut names: Vec<String> = events.iter().take(SHOWN).map(phrase).collect();
            if events.len() > SHOWN {
                names.push(format!("+{} more", events.len() - SHOWN));
            }
            (
                format!(
                    "fleetboard: {} hosts changed: {}",
                    events.len(),
                    summary.join(", ")
                ),
                names.join(", "),
            )
        };
        Some(Notice {
            bell,
            desktop,
            title,
            body,
        })
    }
}

/// Longest text put in a notification, in characters.
const MAX_TEXT: usize = 200;

/// Text from the network (host and cluster names) made safe for an OSC string: control
/// characters escaped as text, `;` (the field separator of OSC 777) replaced, cut short.
fn osc_text(s: &str) -> String {
    let e = crate::sanitize::escape(s).replace(';', ",");
    if e.chars().count() > MAX_TEXT {
        let mut t: String = e.chars().take(MAX_TEXT - 1).collect();
        t.push('…');
        t
    } else {
        e
    }
}

/// The bytes that carry `n` to the terminal: BEL, then the desktop notification. Inside
/// tmux (`in_tmux`) the OSC is wrapped in `ESC P tmux ;` … `ESC \` with every ESC doubled,
/// which tmux 3.3+ passes to the outer terminal when `allow-passthrough` is on; the bell
/// needs no wrapping (tmux relays it by itself).
pub fn encode(n: &Notice, protocol: Protocol, in_tmux: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if n.bell {
        out.push(0x07);
    }
    if n.desktop {
        let osc = match protocol {
            Protocol::Osc777 => format!(
                "\x1b]777;notify;{};{}\x1b\\",
                osc_text(&n.title),
                osc_text(&n.body)
            ),
            // Starts with a letter: `OSC 9 ; 4` is a progress bar in some terminals.
            Protocol::Osc9 => format!("\x1b]9;{}\x1b\\", osc_text(&n.title)),
        };
        if in_tmux {
            out.extend_from_slice(b"\x1bPtmux;");
            for b in osc.bytes() {
                if b == 0x1b {
                    out.push(0x1b);
                }
                out.push(b);
            }
            out.extend_from_slice(b"\x1b\\");
        } else {
            out.extend_from_slice(osc.as_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests;
