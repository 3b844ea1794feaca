//! The containers inside a [`crate::Datum`]: compact because a replica holds one per column
//! of every row (hundreds of thousands in a large Southbound). A set of one atom, the most
//! common column value, lives inline; larger sets and maps are boxed slices, a map's pairs
//! sorted by key (the order `BTreeMap` gave, which output and comparisons rely on). A string
//! atom of up to [`Str::INLINE`] bytes (names, stage names, map keys) needs no allocation.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use crate::datum::Atom;

/// An immutable string: short ones inline, longer ones in one shared allocation, so that
/// a copy of a replica row (a change handed to the application) and what the application
/// keeps of it ([`Str::to_arc`]) hold the same bytes. Reads like a `&str`
/// (`Deref<Target = str>`); compares, orders and hashes as one.
#[derive(Clone)]
pub struct Str(StrRepr);

#[derive(Clone)]
enum StrRepr {
    Inline { len: u8, buf: [u8; Str::INLINE] },
    Heap(Arc<str>),
}

impl Str {
    /// The longest string kept inline (the size of a `String`, less the length and tag).
    pub const INLINE: usize = 22;

    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only ever filled from a `&str` cut at its end, so always UTF-8.
            StrRepr::Inline { len, buf } => {
                std::str::from_utf8(&buf[..usize::from(*len)]).unwrap_or_default()
            }
            StrRepr::Heap(s) => s,
        }
    }

    /// The string as a shared `Arc<str>`: the same allocation for a long string, a new
    /// one for a short (inline) string.
    pub fn to_arc(&self) -> Arc<str> {
        match &self.0 {
            StrRepr::Heap(s) => s.clone(),
            StrRepr::Inline { .. } => Arc::from(self.as_str()),
        }
    }

    #[cfg(test)]
    fn is_inline(&self) -> bool {
        matches!(self.0, StrRepr::Inline { .. })
    }
}

impl Default for Str {
    fn default() -> Self {
        Str::from("")
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        match u8::try_from(s.len()) {
            Ok(len) if s.len() <= Str::INLINE => {
                let mut buf = [0; Str::INLINE];
                buf[..s.len()].copy_from_slice(s.as_bytes());
                Str(StrRepr::Inline { len, buf })
            }
            _ => Str(StrRepr::Heap(s.into())),
        }
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        if s.len() <= Str::INLINE {
            Str::from(s.as_str())
        } else {
            Str(StrRepr::Heap(Arc::from(s)))
        }
    }
}

impl From<&String> for Str {
    fn from(s: &String) -> Self {
        Str::from(s.as_str())
    }
}

impl From<Str> for String {
    fn from(s: Str) -> Self {
        s.as_str().to_string()
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
impl Eq for Str {}
impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}
impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Str {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}
impl Hash for Str {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The atoms of a set datum: at most one inline, more in one exact-size allocation.
/// Reads like a slice (`Deref<Target = [Atom]>`).
#[derive(Clone)]
pub struct AtomSet(SetRepr);

#[derive(Clone)]
enum SetRepr {
    One(Atom),
    Many(Box<[Atom]>),
}

impl AtomSet {
    pub fn new() -> Self {
        AtomSet(SetRepr::Many(Box::default()))
    }

    pub fn as_slice(&self) -> &[Atom] {
        match &self.0 {
            SetRepr::One(a) => std::slice::from_ref(a),
            SetRepr::Many(s) => s,
        }
    }

    pub fn into_vec(self) -> Vec<Atom> {
        match self.0 {
            SetRepr::One(a) => vec![a],
            SetRepr::Many(s) => s.into_vec(),
        }
    }
}

impl Default for AtomSet {
    fn default() -> Self {
        AtomSet::new()
    }
}

impl Deref for AtomSet {
    type Target = [Atom];
    fn deref(&self) -> &[Atom] {
        self.as_slice()
    }
}

impl From<Vec<Atom>> for AtomSet {
    fn from(mut v: Vec<Atom>) -> Self {
        if v.len() == 1
            && let Some(a) = v.pop()
        {
            return AtomSet(SetRepr::One(a));
        }
        AtomSet(SetRepr::Many(v.into_boxed_slice()))
    }
}

impl FromIterator<Atom> for AtomSet {
    fn from_iter<I: IntoIterator<Item = Atom>>(iter: I) -> Self {
        iter.into_iter().collect::<Vec<_>>().into()
    }
}

impl IntoIterator for AtomSet {
    type Item = Atom;
    type IntoIter = std::vec::IntoIter<Atom>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl<'a> IntoIterator for &'a AtomSet {
    type Item = &'a Atom;
    type IntoIter = std::slice::Iter<'a, Atom>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl PartialEq for AtomSet {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for AtomSet {}
impl PartialOrd for AtomSet {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for AtomSet {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl fmt::Debug for AtomSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// The pairs of a map datum, sorted by key with unique keys, in one exact-size
/// allocation. Offers the read side of `BTreeMap`'s API; updates rebuild the slice,
/// which is cheap for the small maps OVSDB columns hold.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct AtomMap(Box<[(Atom, Atom)]>);

impl AtomMap {
    pub fn new() -> Self {
        AtomMap::default()
    }

    /// Pairs already sorted by key without duplicates (checked in debug builds).
    pub(crate) fn from_sorted(pairs: Vec<(Atom, Atom)>) -> Self {
        debug_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
        AtomMap(pairs.into_boxed_slice())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, key: &Atom) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub fn get(&self, key: &Atom) -> Option<&Atom> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    /// The value of a string key, without building an [`Atom`] for the lookup.
    pub fn get_str(&self, key: &str) -> Option<&Atom> {
        self.0
            .binary_search_by(|(k, _)| match k {
                Atom::String(s) => s.as_str().cmp(key),
                other => other.rank().cmp(&Atom::STRING_RANK),
            })
            .ok()
            .map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &Atom) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`, returning the value it replaced.
    pub fn insert(&mut self, key: Atom, value: Atom) -> Option<Atom> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                let mut v = std::mem::take(&mut self.0).into_vec();
                v.insert(i, (key, value));
                self.0 = v.into_boxed_slice();
                None
            }
        }
    }

    pub fn remove(&mut self, key: &Atom) -> Option<Atom> {
        let i = self.find(key).ok()?;
        let mut v = std::mem::take(&mut self.0).into_vec();
        let (_, value) = v.remove(i);
        self.0 = v.into_boxed_slice();
        Some(value)
    }

    /// Keeps the pairs `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&Atom, &Atom) -> bool) {
        if self.0.iter().all(|(k, v)| keep(k, v)) {
            return;
        }
        let mut v = std::mem::take(&mut self.0).into_vec();
        v.retain(|(k, val)| keep(k, val));
        self.0 = v.into_boxed_slice();
    }

    pub fn iter(&self) -> MapIter<'_> {
        MapIter(self.0.iter())
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Atom> + ExactSizeIterator + Clone {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Atom> + ExactSizeIterator + Clone {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn as_slice(&self) -> &[(Atom, Atom)] {
        &self.0
    }
}

/// Iterates a map's pairs in key order, as `(&key, &value)`.
#[derive(Clone)]
pub struct MapIter<'a>(std::slice::Iter<'a, (Atom, Atom)>);

impl<'a> Iterator for MapIter<'a> {
    type Item = (&'a Atom, &'a Atom);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}
impl DoubleEndedIterator for MapIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}
impl ExactSizeIterator for MapIter<'_> {}

impl FromIterator<(Atom, Atom)> for AtomMap {
    /// Like collecting into a `BTreeMap`: of pairs with equal keys, the last wins.
    fn from_iter<I: IntoIterator<Item = (Atom, Atom)>>(iter: I) -> Self {
        let mut v: Vec<(Atom, Atom)> = iter.into_iter().collect();
        // Stable, so equal keys keep their input order and the last of each run is kept.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Atom, Atom)> = Vec::with_capacity(v.len());
        for p in v {
            match out.last_mut() {
                Some(last) if last.0 == p.0 => *last = p,
                _ => out.push(p),
            }
        }
        AtomMap(out.into_boxed_slice())
    }
}

impl IntoIterator for AtomMap {
    type Item = (Atom, Atom);
    type IntoIter = std::vec::IntoIter<(Atom, Atom)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_vec().into_iter()
    }
}

impl<'a> IntoIterator for &'a AtomMap {
    type Item = (&'a Atom, &'a Atom);
    type IntoIter = MapIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Debug for AtomMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn s(x: &str) -> Atom {
        Atom::string(x)
    }

    #[test]
    fn short_strings_are_inline_and_all_read_back() {
        let long = "x".repeat(Str::INLINE + 1);
        let edge = "é".repeat(Str::INLINE / 2);
        for t in ["", "ingress", "ls_in_port_sec_l2", edge.as_str(), long.as_str()] {
            let a = Str::from(t);
            assert_eq!(a.as_str(), t);
            assert_eq!(a.is_inline(), t.len() <= Str::INLINE, "{t}");
            assert_eq!(String::from(a.clone()), t);
            assert_eq!(Str::from(t.to_string()), a);
        }
        let (a, y, long) = (Str::from("a"), Str::from("y"), Str::from(long));
        assert!(a < long && y > long && a.cmp(&long) == "a".cmp(&long));
        assert_eq!(std::mem::size_of::<Str>(), std::mem::size_of::<String>());
    }

    #[test]
    fn long_strings_are_shared_not_copied() {
        let long = Str::from("ip4 && ip4.dst == 10.0.0.0/8 && tcp.dst == 80");
        let copy = long.clone();
        assert!(Arc::ptr_eq(&long.to_arc(), &copy.to_arc()));
        assert_eq!(&*long.to_arc(), long.as_str());
        let short = Str::from("ls_in_acl");
        assert!(short.is_inline());
        assert_eq!(&*short.to_arc(), "ls_in_acl");
    }

    #[test]
    fn sets_of_one_are_inline_and_read_like_slices() {
        let one: AtomSet = vec![s("a")].into();
        assert!(matches!(one.0, SetRepr::One(_)));
        assert_eq!(&*one, &[s("a")]);
        let many: AtomSet = [s("a"), s("b")].into_iter().collect();
        assert_eq!(many.len(), 2);
        assert_eq!(many.clone().into_vec(), vec![s("a"), s("b")]);
        assert!(AtomSet::new().is_empty());
        assert!(one < many && AtomSet::new() < one);
        assert_eq!(one, AtomSet::from(vec![s("a")]));
    }

    #[test]
    fn maps_behave_like_btreemaps() {
        let pairs = [("k", "1"), ("a", "2"), ("k", "3"), ("z", "4"), ("a", "5")];
        let mut m: AtomMap = pairs.iter().map(|(k, v)| (s(k), s(v))).collect();
        let mut b: BTreeMap<Atom, Atom> = pairs.iter().map(|(k, v)| (s(k), s(v))).collect();
        let same = |m: &AtomMap, b: &BTreeMap<Atom, Atom>| {
            assert!(m.iter().eq(b.iter()));
            assert_eq!(m.len(), b.len());
        };
        same(&m, &b);
        assert_eq!(m.get(&s("a")), Some(&s("5")));
        assert_eq!(m.get_str("k"), Some(&s("3")));
        assert_eq!(m.get_str("nope"), None);
        assert_eq!(m.insert(s("b"), s("6")), b.insert(s("b"), s("6")));
        assert_eq!(m.insert(s("k"), s("7")), b.insert(s("k"), s("7")));
        assert_eq!(m.remove(&s("z")), b.remove(&s("z")));
        assert_eq!(m.remove(&s("z")), b.remove(&s("z")));
        same(&m, &b);
        m.retain(|k, _| *k != s("b"));
        b.retain(|k, _| *k != s("b"));
        same(&m, &b);
        assert!(m.keys().eq(b.keys()) && m.values().eq(b.values()));
        assert!(m.clone().into_iter().eq(b.clone().into_iter()));
        // a map with non-string keys still answers string lookups by OVSDB's atom order
        let mixed: AtomMap = [
            (Atom::Integer(1), s("i")),
            (s("x"), s("y")),
            (Atom::Boolean(true), s("b")),
        ]
        .into_iter()
        .collect();
        assert_eq!(mixed.get_str("x"), Some(&s("y")));
        assert_eq!(mixed.get_str("a"), None);
    }

    #[test]
    fn map_order_is_btreemap_order() {
        let a: AtomMap = [(s("a"), s("1"))].into_iter().collect();
        let b: AtomMap = [(s("a"), s("2"))].into_iter().collect();
        let ab: AtomMap = [(s("a"), s("1")), (s("b"), s("1"))].into_iter().collect();
        let ba = |m: &AtomMap| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        for (x, y) in [(&a, &b), (&a, &ab), (&b, &ab), (&ab, &ab)] {
            assert_eq!(x.cmp(y), ba(x).cmp(&ba(y)), "{x:?} {y:?}");
        }
    }
}
