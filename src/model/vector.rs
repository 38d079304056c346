//! A compact instant vector: what one instant query returns, held without a map per series.
//!
//! A refresh of 10,000 hosts is about 100,000 series. Held as one `BTreeMap` of owned
//! strings per series that is over 100 MB at the peak of every refresh. Here label names
//! and values are interned once per answer (`cluster`, `job`, `mysql` are stored once, not
//! 10,000 times) and each series is a slice of `(name, value)` ids: a few dozen bytes.

use super::labels::same_text;
use std::fmt;
use std::hash::BuildHasher as _;
use std::sync::Arc;

use super::source::Sample;

/// One instant query's answer: series with labels, a value and a time (unix seconds).
#[derive(Clone, Default)]
pub struct Vector {
    /// Shared by the parts of a split answer (see [`Vector::split_by`]).
    strings: Arc<Vec<Box<str>>>,
    pairs: Vec<(u32, u32)>,
    series: Vec<Entry>,
    /// Series whose sample is a native histogram (no float value; `value()` is NaN).
    histograms: Vec<Entry>,
    /// The answer was a scalar (one sample, no labels), not a vector.
    scalar: bool,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    first: u32,
    len: u32,
    value: f64,
    ts: f64,
}

/// One series of a [`Vector`], borrowed.
#[derive(Clone, Copy)]
pub struct SampleRef<'a> {
    v: &'a Vector,
    e: &'a Entry,
}

impl<'a> SampleRef<'a> {
    /// The sample value (NaN for a native histogram).
    pub fn value(&self) -> f64 {
        self.e.value
    }

    /// Sample time, unix seconds with a fraction.
    pub fn ts(&self) -> f64 {
        self.e.ts
    }

    /// `(name, value)` pairs in the order the server sent them.
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let v = self.v;
        let (a, n) = (self.e.first as usize, self.e.len as usize);
        v.pairs[a..a + n]
            .iter()
            .map(move |&(k, x)| (&*v.strings[k as usize], &*v.strings[x as usize]))
    }

    /// The value of label `name`, if the series has it.
    pub fn label(&self, name: &str) -> Option<&'a str> {
        self.labels().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// An owned copy, labels in a map.
    pub fn to_sample(&self) -> Sample {
        Sample {
            labels: self
                .labels()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            value: self.value(),
            ts: self.ts(),
        }
    }
}

impl Vector {
    /// Number of series with a float value (native histograms not counted).
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether no series has a float value.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Series `i`, in the server's order.
    pub fn get(&self, i: usize) -> Option<SampleRef<'_>> {
        self.series.get(i).map(|e| SampleRef { v: self, e })
    }

    /// Every series with a float value, in the server's order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SampleRef<'_>> + '_ {
        self.series.iter().map(move |e| SampleRef { v: self, e })
    }

    /// Series that answered a native histogram instead of a float: the board cannot show
    /// them, but names them (their value is NaN).
    pub fn histograms(&self) -> impl ExactSizeIterator<Item = SampleRef<'_>> + '_ {
        self.histograms
            .iter()
            .map(move |e| SampleRef { v: self, e })
    }

    /// The expression returned a scalar (no labels, so no host), not one series per host.
    pub fn is_scalar(&self) -> bool {
        self.scalar
    }

    /// Marks the answer as a scalar result.
    #[must_use]
    pub fn into_scalar(mut self) -> Self {
        self.scalar = true;
        self
    }

    /// Adds each of `extra` to every series that lacks a label of that name.
    ///
    /// In place: the strings stay where they are and only the label table is written again,
    /// sized once (a copy through [`VectorBuilder`] would hold two answers of 50,000 hosts).
    pub fn add_missing_labels(&mut self, extra: &[(&str, &str)]) {
        if extra.is_empty() {
            return;
        }
        let ids: Vec<(u32, u32)> = extra
            .iter()
            .map(|(k, v)| (self.string_id(k), self.string_id(v)))
            .collect();
        let strings = &self.strings;
        let old = std::mem::take(&mut self.pairs);
        let rows = self.series.len() + self.histograms.len();
        let mut pairs = Vec::with_capacity(old.len() + rows * ids.len());
        for e in self.series.iter_mut().chain(self.histograms.iter_mut()) {
            let own = &old[e.first as usize..(e.first + e.len) as usize];
            let first = pairs.len();
            pairs.extend_from_slice(own);
            for (&(k, v), (name, _)) in ids.iter().zip(extra) {
                if !own.iter().any(|&(x, _)| *strings[x as usize] == **name) {
                    pairs.push((k, v));
                }
            }
            e.first = u32::try_from(first).unwrap_or(u32::MAX);
            e.len = u32::try_from(pairs.len() - first).unwrap_or(u32::MAX);
        }
        drop(old);
        pairs.shrink_to_fit();
        self.pairs = pairs;
    }

    /// The id of `s` in this vector's strings, added when absent.
    fn string_id(&mut self, s: &str) -> u32 {
        string_id(&mut self.strings, s)
    }

    /// Splits the series by the value of label `tag`: one vector per key (same order as
    /// `keys`), without the tag, each series given the `extra` labels it lacks (its own
    /// value wins). Series whose tag names no key are counted in the second value and
    /// dropped; native-histogram samples go to their part too.
    ///
    /// The parts share this vector's strings: only the label table is copied, nothing is
    /// interned again (a united answer is every series of a refresh: 11,000 at 1,000 hosts).
    pub fn split_by(
        self,
        tag: &str,
        keys: &[&str],
        extra: &[(&str, &str)],
    ) -> (Vec<Vector>, usize) {
        let mut strings = self.strings;
        let extra: Vec<(u32, u32)> = extra
            .iter()
            .map(|(k, v)| (string_id(&mut strings, k), string_id(&mut strings, v)))
            .collect();
        // Ids are unique per text (interned), so names and values compare as ids.
        let find = |s: &str| strings.iter().position(|x| **x == *s);
        let tag_id = find(tag).and_then(|i| u32::try_from(i).ok());
        let key_ids: Vec<Option<u32>> = keys
            .iter()
            .map(|k| find(k).and_then(|i| u32::try_from(i).ok()))
            .collect();
        let mut parts: Vec<Vector> = keys.iter().map(|_| Vector::default()).collect();
        let mut stray = 0;
        for (list, histogram) in [(&self.series, false), (&self.histograms, true)] {
            for e in list {
                let own = &self.pairs[e.first as usize..(e.first + e.len) as usize];
                let part = tag_id
                    .and_then(|t| own.iter().find(|p| p.0 == t))
                    .and_then(|&(_, v)| key_ids.iter().position(|k| *k == Some(v)));
                let Some(i) = part else {
                    stray += 1;
                    continue;
                };
                let out = &mut parts[i];
                let first = out.pairs.len();
                out.pairs
                    .extend(own.iter().filter(|p| Some(p.0) != tag_id).copied());
                for &(k, v) in &extra {
                    if !own.iter().any(|p| p.0 == k) {
                        out.pairs.push((k, v));
                    }
                }
                let entry = Entry {
                    first: u32::try_from(first).unwrap_or(u32::MAX),
                    len: u32::try_from(out.pairs.len() - first).unwrap_or(u32::MAX),
                    ..*e
                };
                if histogram {
                    out.histograms.push(entry);
                } else {
                    out.series.push(entry);
                }
            }
        }
        for p in &mut parts {
            p.strings = Arc::clone(&strings);
            p.pairs.shrink_to_fit();
            p.series.shrink_to_fit();
        }
        (parts, stray)
    }

    /// Owned samples with their label maps (tests, and small answers such as `ALERTS`).
    pub fn to_samples(&self) -> Vec<Sample> {
        self.iter().map(|s| s.to_sample()).collect()
    }
}

/// The id of `s` in `strings`, added when absent (copying the table only when it is
/// shared).
fn string_id(strings: &mut Arc<Vec<Box<str>>>, s: &str) -> u32 {
    let at = strings.iter().position(|x| **x == *s).unwrap_or_else(|| {
        let v = Arc::make_mut(strings);
        v.push(s.into());
        v.len() - 1
    });
    u32::try_from(at).unwrap_or(u32::MAX)
}

impl fmt::Debug for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|s| (s.labels().collect::<Vec<_>>(), s.value(), s.ts())),
            )
            .finish()
    }
}

impl PartialEq for Vector {
    /// Same series, labels and values in the same order (NaN equals nothing, as for `f64`).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.iter().zip(other.iter()).all(|(a, b)| {
                a.value() == b.value() && a.ts() == b.ts() && a.labels().eq(b.labels())
            })
    }
}

impl FromIterator<Sample> for Vector {
    fn from_iter<I: IntoIterator<Item = Sample>>(it: I) -> Self {
        let mut b = VectorBuilder::default();
        for s in it {
            b.push(
                s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                s.value,
                s.ts,
            );
        }
        b.finish()
    }
}

impl From<Vec<Sample>> for Vector {
    fn from(v: Vec<Sample>) -> Self {
        v.into_iter().collect()
    }
}

/// Builds a [`Vector`] one series at a time: labels first ([`VectorBuilder::label`]), then
/// [`VectorBuilder::close`] with the value, or [`VectorBuilder::discard`].
#[derive(Default)]
pub struct VectorBuilder {
    strings: Vec<Box<str>>,
    pairs: Vec<(u32, u32)>,
    series: Vec<Entry>,
    histograms: Vec<Entry>,
    /// Ids of `strings`, found by the string's hash.
    ids: hashbrown::HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    open: usize,
    /// Name id → position in `pairs`, for an open series with many labels (a hostile
    /// answer must not make the repeated-name check quadratic).
    open_names: hashbrown::HashMap<u32, usize>,
}

/// Labels per series up to which a repeated name is looked for by scanning.
const SCAN_LABELS: usize = 32;

impl VectorBuilder {
    /// The id of a string, storing it the first time it is seen.
    pub fn intern(&mut self, s: &str) -> u32 {
        let hash = self.hasher.hash_one(s);
        let strings = &mut self.strings;
        *self
            .ids
            .entry(
                hash,
                |&id| same_text(&strings[id as usize], s),
                |&id| self.hasher.hash_one(&*strings[id as usize]),
            )
            .or_insert_with(|| {
                strings.push(s.into());
                u32::try_from(strings.len() - 1).unwrap_or(u32::MAX)
            })
            .get()
    }

    /// The id of the string of a label at position `pos` of the open series: answers list
    /// the same label names (and often values) in the same order, so the previous series'
    /// id at that position is tried before hashing.
    pub fn intern_at(&mut self, s: &str, pos: usize, name: bool) -> u32 {
        if let Some(prev) = self.series.last() {
            let p = prev.first as usize + pos;
            if pos < prev.len as usize {
                let (k, v) = self.pairs[p];
                let id = if name { k } else { v };
                if same_text(&self.strings[id as usize], s) {
                    return id;
                }
            }
        }
        self.intern(s)
    }

    /// Position the next label of the open series will have.
    pub fn open_len(&self) -> usize {
        self.pairs.len() - self.open
    }

    /// Adds a label to the open series; a name given twice keeps the last value (as a
    /// JSON object read into a map would).
    pub fn label_ids(&mut self, name: u32, value: u32) {
        let open = self.pairs.len() - self.open;
        if open < SCAN_LABELS {
            if let Some(p) = self.pairs[self.open..].iter_mut().find(|p| p.0 == name) {
                p.1 = value;
                return;
            }
        } else {
            if self.open_names.is_empty() {
                let pairs = &self.pairs[self.open..];
                let at = self.open;
                self.open_names
                    .extend(pairs.iter().enumerate().map(|(i, p)| (p.0, at + i)));
            }
            if let Some(&i) = self.open_names.get(&name) {
                self.pairs[i].1 = value;
                return;
            }
            self.open_names.insert(name, self.pairs.len());
        }
        self.pairs.push((name, value));
    }

    /// Adds a label to the open series, interning both strings.
    pub fn label(&mut self, name: &str, value: &str) {
        let (k, v) = (self.intern(name), self.intern(value));
        self.label_ids(k, v);
    }

    /// Ends the open series with its value.
    pub fn close(&mut self, value: f64, ts: f64) {
        let first = u32::try_from(self.open).unwrap_or(u32::MAX);
        let len = u32::try_from(self.pairs.len() - self.open).unwrap_or(u32::MAX);
        self.series.push(Entry {
            first,
            len,
            value,
            ts,
        });
        self.open = self.pairs.len();
        self.open_names.clear();
    }

    /// Ends the open series as a native histogram sample (kept apart: it has no float).
    pub fn close_histogram(&mut self, ts: f64) {
        let first = u32::try_from(self.open).unwrap_or(u32::MAX);
        let len = u32::try_from(self.pairs.len() - self.open).unwrap_or(u32::MAX);
        self.histograms.push(Entry {
            first,
            len,
            value: f64::NAN,
            ts,
        });
        self.open = self.pairs.len();
        self.open_names.clear();
    }

    /// Drops the open series' labels.
    pub fn discard(&mut self) {
        self.pairs.truncate(self.open);
        self.open_names.clear();
    }

    /// Adds a whole series: its labels, value and time (unix seconds).
    pub fn push<'s>(
        &mut self,
        labels: impl IntoIterator<Item = (&'s str, &'s str)>,
        value: f64,
        ts: f64,
    ) {
        for (k, v) in labels {
            self.label(k, v);
        }
        self.close(value, ts);
    }

    /// The vector built so far; a series left open is dropped.
    pub fn finish(mut self) -> Vector {
        self.discard();
        let mut strings = self.strings;
        strings.shrink_to_fit();
        self.pairs.shrink_to_fit();
        self.series.shrink_to_fit();
        Vector {
            strings: Arc::new(strings),
            pairs: self.pairs,
            series: self.series,
            histograms: self.histograms,
            scalar: false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample(pairs: &[(&str, &str)], value: f64) -> Sample {
        Sample {
            labels: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            value,
            ts: 1.5,
        }
    }

    #[test]
    fn a_split_shares_the_strings_and_copies_only_label_ids() {
        let v = Vector::from(vec![
            sample(&[("part", "a"), ("instance", "db1")], 1.0),
            sample(&[("instance", "db2"), ("part", "b"), ("site", "own")], 2.0),
            sample(&[("part", "zz"), ("instance", "db3")], 3.0),
            sample(&[("instance", "db4")], 4.0),
        ]);
        let (parts, stray) = v.split_by("part", &["a", "b", "c"], &[("site", "main")]);
        assert_eq!(stray, 2, "an unknown part and no part at all");
        assert_eq!(
            parts[0].to_samples(),
            vec![sample(&[("instance", "db1"), ("site", "main")], 1.0)]
        );
        assert_eq!(
            parts[1].to_samples(),
            vec![sample(&[("instance", "db2"), ("site", "own")], 2.0)]
        );
        assert!(parts[2].is_empty());
        assert!(Arc::ptr_eq(&parts[0].strings, &parts[1].strings));
    }

    #[test]
    fn missing_labels_are_added_in_place_and_a_series_keeps_its_own() {
        let mut v = Vector::from(vec![
            sample(&[("instance", "db1"), ("fb_source", "own")], 1.0),
            sample(&[("instance", "db2")], 2.0),
        ]);
        let strings = v.strings.len();
        v.add_missing_labels(&[("fb_source", "main"), ("instance", "ignored")]);
        assert_eq!(
            v.to_samples(),
            vec![
                sample(&[("instance", "db1"), ("fb_source", "own")], 1.0),
                sample(&[("instance", "db2"), ("fb_source", "main")], 2.0),
            ]
        );
        // "fb_source" and "instance" were there already: only "main" and "ignored" are new.
        assert_eq!(v.strings.len(), strings + 2);
        assert_eq!(v.pairs.len(), 4, "the label table is sized exactly");
        v.add_missing_labels(&[]);
        assert_eq!(v.len(), 2);
    }
    #[test]
    fn round_trips_samples_and_shares_strings() {
        let input = vec![
            sample(&[("cluster", "a"), ("instance", "db1")], 1.0),
            sample(&[("cluster", "a"), ("instance", "db2")], 2.0),
            sample(&[], 3.0),
        ];
        let v = Vector::from(input.clone());
        assert_eq!(v.len(), 3);
        assert_eq!(v.to_samples(), input);
        assert_eq!(v.get(1).unwrap().label("instance"), Some("db2"));
        assert_eq!(v.get(2).unwrap().label("instance"), None);
        // cluster, a, instance, db1, db2
        assert_eq!(v.strings.len(), 5);
    }

    #[test]
    fn repeated_name_keeps_the_last_value_and_discard_forgets() {
        let mut b = VectorBuilder::default();
        b.label("a", "1");
        b.label("a", "2");
        b.close(0.0, 0.0);
        b.label("x", "y");
        b.discard();
        b.label("b", "3");
        b.close(1.0, 0.0);
        b.label("never", "closed");
        let v = b.finish();
        assert_eq!(v.len(), 2);
        assert_eq!(v.get(0).unwrap().labels().collect::<Vec<_>>(), [("a", "2")]);
        assert_eq!(v.get(1).unwrap().labels().collect::<Vec<_>>(), [("b", "3")]);
    }

    #[test]
    fn many_labels_stay_linear_and_keep_the_last_value() {
        let mut b = VectorBuilder::default();
        let names: Vec<String> = (0..50_000).map(|i| format!("l{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            b.label(n, if i % 2 == 0 { "even" } else { "odd" });
        }
        // Repeats after the scan threshold replace the value in place.
        b.label("l3", "again");
        b.label("l40000", "again");
        b.close(1.0, 0.0);
        let v = b.finish();
        let s = v.get(0).unwrap();
        assert_eq!(s.labels().count(), 50_000);
        assert_eq!(s.label("l3"), Some("again"));
        assert_eq!(s.label("l40000"), Some("again"));
        assert_eq!(s.label("l4"), Some("even"));
    }
}
