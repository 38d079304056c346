//! Label sets: of one series (owned, sorted) and of one host (shared strings).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

/// Label set of one series, sorted so that output is deterministic.
pub type Labels = BTreeMap<String, String>;

/// A label set's `(name, value)` pairs, borrowed, as [`crate::model::Identity::key_parts_of`]
/// and [`crate::model::naming_values`] read them.
pub fn pairs(labels: &Labels) -> impl Iterator<Item = (&str, &str)> {
    labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// A host's labels (the union over its series, `__name__` left out), sorted by name.
///
/// The strings are shared: between hosts (`cluster`, `job`, a cluster's name) and with the
/// same host in the previous refresh, so a steady fleet allocates none of them again.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostLabels(Vec<(Arc<str>, Arc<str>)>);

impl HostLabels {
    /// Labels from pairs already sorted by name with no name twice (the merge sorts and
    /// dedups once per host; checking again here would cost as much).
    pub fn from_sorted(pairs: Vec<(Arc<str>, Arc<str>)>) -> Self {
        debug_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
        Self(pairs)
    }

    /// The value of label `name`, if the host has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entry(name).map(|(_, v)| &**v)
    }

    /// The shared strings of one label: its name and its value.
    pub fn entry(&self, name: &str) -> Option<(&Arc<str>, &Arc<str>)> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| (&self.0[i].0, &self.0[i].1))
    }

    /// The shared strings of every label, sorted by name.
    pub fn entries(&self) -> &[(Arc<str>, Arc<str>)] {
        &self.0
    }

    /// `(name, value)` pairs, sorted by name.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the host has no label at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets a label, keeping the order.
    pub fn insert(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|(k, _)| (**k).cmp(name)) {
            Ok(i) => self.0[i].1 = Arc::from(value),
            Err(i) => self.0.insert(i, (Arc::from(name), Arc::from(value))),
        }
    }
}

impl Serialize for HostLabels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// Equal texts, compared in words rather than by a call to `memcmp`.
///
/// Label names and values are short (`instance`, `db0412:9104`) and a merge compares
/// hundreds of thousands of them; on x86-64 each `memcmp` call cost about as much as the
/// rest of a lookup (`perf record` of a 5,000-host refresh had 14 % of the board's CPU in
/// it). Equal addresses (the interned strings of one answer) match at once.
#[inline]
pub fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if std::ptr::eq(a, b) {
        return true;
    }
    if a.len() > 64 {
        return a == b;
    }
    let word = |c: &[u8]| u64::from_ne_bytes(<[u8; 8]>::try_from(c).unwrap_or_default());
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (wa.remainder(), wb.remainder());
    wa.zip(wb).all(|(x, y)| word(x) == word(y))
        && ra.iter().zip(rb).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::same_text;
    use proptest::prelude::*;

    #[test]
    fn same_text_is_string_equality() {
        for (a, b) in [
            ("", ""),
            ("a", "a"),
            ("a", "b"),
            ("instance", "__name__"),
            ("db0412:9104", "db0412:9105"),
            ("db0412:9104", "db0413:9104"),
            ("connection_name", "connection_name"),
            ("ä", "a\u{308}"),
        ] {
            assert_eq!(same_text(a, b), a == b, "{a:?} {b:?}");
        }
        let long = "x".repeat(100);
        assert!(same_text(&long, &"x".repeat(100)));
        assert!(!same_text(&long, &format!("{}y", "x".repeat(99))));
    }

    proptest! {
        #[test]
        fn same_text_agrees_with_eq(a in "[a-c:._0-9]{0,80}", flip in 0usize..80) {
            let mut b = a.clone().into_bytes();
            if let Some(c) = b.get_mut(flip) {
                *c = if *c == b'a' { b'b' } else { b'a' };
            }
            let b = String::from_utf8(b).unwrap_or_default();
            prop_assert_eq!(same_text(&a, &b), a == b);
            prop_assert!(same_text(&a, &a.clone()));
        }
    }
}
