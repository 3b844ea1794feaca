//! [`Row`]: column name → [`Datum`], with `BTreeMap<String, Datum>`'s API and order, stored
//! compactly: the sorted column names live in a [`Columns`] shared by every row that has
//! the same columns (all the rows of a replica table), and each row holds only its values.
//! A replica row thus costs its values, not a B-tree node and a heap string per column name.

use std::fmt;
use std::ops::Index;
use std::sync::Arc;

use crate::datum::Datum;

/// The column names of a row, sorted and unique.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Columns(Vec<String>);

impl Columns {
    /// From names in any order (duplicates dropped).
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        let mut v: Vec<String> = names.into_iter().map(Into::into).collect();
        v.sort();
        v.dedup();
        Columns(v)
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.find(name).ok()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|c| c.as_str().cmp(name))
    }
}

/// A row: the values of some columns. Rows built one column at a time own their
/// [`Columns`]; rows built against shared columns ([`Row::from_parts`]) only copy them
/// when a column is added or removed.
#[derive(Clone)]
pub struct Row {
    cols: Arc<Columns>,
    vals: Vec<Datum>,
}

impl Default for Row {
    fn default() -> Self {
        Row::new()
    }
}

impl Row {
    pub fn new() -> Self {
        Row {
            cols: Arc::default(),
            vals: Vec::new(),
        }
    }

    /// A row with the values of `cols`, in their order. `None` if the counts differ.
    pub fn from_parts(cols: Arc<Columns>, vals: Vec<Datum>) -> Option<Self> {
        (cols.len() == vals.len()).then_some(Row { cols, vals })
    }

    pub fn into_parts(self) -> (Arc<Columns>, Vec<Datum>) {
        (self.cols, self.vals)
    }

    /// The row's column names (shared with other rows having the same ones).
    pub fn columns(&self) -> &Arc<Columns> {
        &self.cols
    }

    pub fn len(&self) -> usize {
        self.vals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vals.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Datum> {
        self.cols.index_of(name).map(|i| &self.vals[i])
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Datum> {
        self.cols.index_of(name).map(|i| &mut self.vals[i])
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.cols.index_of(name).is_some()
    }

    /// Sets a column, returning its previous value.
    pub fn insert(&mut self, name: String, value: Datum) -> Option<Datum> {
        match self.cols.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.vals[i], value)),
            Err(i) => {
                Arc::make_mut(&mut self.cols).0.insert(i, name);
                self.vals.insert(i, value);
                None
            }
        }
    }

    /// The value of a column, inserting `make()` first if the row has none.
    pub fn get_or_insert_with(&mut self, name: &str, make: impl FnOnce() -> Datum) -> &mut Datum {
        let i = match self.cols.find(name) {
            Ok(i) => i,
            Err(i) => {
                Arc::make_mut(&mut self.cols).0.insert(i, name.to_string());
                self.vals.insert(i, make());
                i
            }
        };
        &mut self.vals[i]
    }

    pub fn remove(&mut self, name: &str) -> Option<Datum> {
        let i = self.cols.index_of(name)?;
        Arc::make_mut(&mut self.cols).0.remove(i);
        Some(self.vals.remove(i))
    }

    /// Keeps the columns `keep` accepts (it may also change their values).
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut Datum) -> bool) {
        let keeps: Vec<bool> = self
            .cols
            .0
            .iter()
            .zip(self.vals.iter_mut())
            .map(|(n, v)| keep(n, v))
            .collect();
        if keeps.iter().all(|k| *k) {
            return;
        }
        let (cols, vals) = std::mem::take(self).into_parts();
        let mut names = Arc::unwrap_or_clone(cols).0;
        let mut it = keeps.iter();
        names.retain(|_| *it.next().unwrap_or(&true));
        let mut it = keeps.iter();
        let vals = vals.into_iter().filter(|_| *it.next().unwrap_or(&true)).collect();
        *self = Row {
            cols: Arc::new(Columns(names)),
            vals,
        };
    }

    /// `(name, value)` in column order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.cols.0.iter().zip(self.vals.iter()))
    }

    pub fn keys(&self) -> std::slice::Iter<'_, String> {
        self.cols.0.iter()
    }

    pub fn values(&self) -> std::slice::Iter<'_, Datum> {
        self.vals.iter()
    }

    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, Datum> {
        self.vals.iter_mut()
    }

    /// Drops the spare capacity of a row that will be kept (e.g. in a replica).
    pub fn shrink_to_fit(&mut self) {
        self.vals.shrink_to_fit();
    }
}

/// Iterates a row's `(&name, &value)` pairs in column order.
#[derive(Clone)]
pub struct Iter<'a>(std::iter::Zip<std::slice::Iter<'a, String>, std::slice::Iter<'a, Datum>>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a String, &'a Datum);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}
impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back()
    }
}
impl ExactSizeIterator for Iter<'_> {}

impl PartialEq for Row {
    fn eq(&self, other: &Self) -> bool {
        (Arc::ptr_eq(&self.cols, &other.cols) || self.cols == other.cols) && self.vals == other.vals
    }
}
impl Eq for Row {}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Index<&str> for Row {
    type Output = Datum;
    /// Like `BTreeMap`'s: panics when the row has no such column.
    fn index(&self, name: &str) -> &Datum {
        match self.get(name) {
            Some(d) => d,
            None => panic!("row has no column {name:?}"),
        }
    }
}

impl FromIterator<(String, Datum)> for Row {
    /// Like collecting into a `BTreeMap`: of equal names, the last value wins.
    fn from_iter<I: IntoIterator<Item = (String, Datum)>>(iter: I) -> Self {
        let mut row = Row::new();
        row.extend(iter);
        row
    }
}

impl<const N: usize> From<[(String, Datum); N]> for Row {
    fn from(pairs: [(String, Datum); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl Extend<(String, Datum)> for Row {
    fn extend<I: IntoIterator<Item = (String, Datum)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl IntoIterator for Row {
    type Item = (String, Datum);
    type IntoIter = std::iter::Zip<std::vec::IntoIter<String>, std::vec::IntoIter<Datum>>;
    fn into_iter(self) -> Self::IntoIter {
        Arc::unwrap_or_clone(self.cols).0.into_iter().zip(self.vals)
    }
}

impl<'a> IntoIterator for &'a Row {
    type Item = (&'a String, &'a Datum);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Hands out shared [`Columns`] for rows parsed one by one: rows with the same column
/// names get the same `Arc`, so a thousand parsed rows do not make a thousand copies of
/// the names. Keeps the few distinct sets seen last (update2 omits columns holding
/// their default, so a table's rows come in a handful of shapes).
#[derive(Default)]
pub struct ColumnsCache(Vec<Arc<Columns>>);

impl ColumnsCache {
    const KEEP: usize = 8;

    /// A row of `pairs` (any order; of equal names the last wins).
    pub fn row<'a>(&mut self, pairs: impl IntoIterator<Item = (&'a str, Datum)>) -> Row {
        let mut pairs: Vec<(&str, Datum)> = pairs.into_iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let mut dedup: Vec<(&str, Datum)> = Vec::with_capacity(pairs.len());
        for p in pairs {
            match dedup.last_mut() {
                Some(last) if last.0 == p.0 => *last = p,
                _ => dedup.push(p),
            }
        }
        let same = |c: &Columns| c.0.len() == dedup.len() && c.0.iter().zip(&dedup).all(|(a, b)| a == b.0);
        let cols = match self.0.iter().position(|c| same(c)) {
            Some(i) => self.0[i].clone(),
            None => {
                let c = Arc::new(Columns(dedup.iter().map(|(n, _)| n.to_string()).collect()));
                if self.0.len() == Self::KEEP {
                    self.0.remove(0);
                }
                self.0.push(c.clone());
                c
            }
        };
        Row {
            cols,
            vals: dedup.into_iter().map(|(_, v)| v).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn d(s: &str) -> Datum {
        Datum::string(s)
    }

    #[test]
    fn behaves_like_a_btreemap() {
        let mut r = Row::new();
        let mut b = BTreeMap::new();
        for (k, v) in [("m", "1"), ("a", "2"), ("z", "3"), ("m", "4")] {
            assert_eq!(r.insert(k.into(), d(v)), b.insert(k.to_string(), d(v)));
        }
        assert!(r.iter().eq(b.iter()));
        assert_eq!(r.remove("a"), b.remove("a"));
        assert_eq!(r.remove("a"), b.remove("a"));
        assert!(r.iter().eq(b.iter()));
        assert_eq!(r["m"], d("4"));
        assert_eq!(r.get("nope"), None);
        assert!(r.contains_key("z") && !r.contains_key("a"));
        *r.get_or_insert_with("b", Datum::empty_set) = d("5");
        b.entry("b".to_string()).or_insert_with(Datum::empty_set);
        *b.get_mut("b").unwrap() = d("5");
        *r.get_or_insert_with("b", || d("ignored")) = d("6");
        *b.get_mut("b").unwrap() = d("6");
        r.retain(|k, _| k != "z");
        b.retain(|k, _| k != "z");
        assert!(r.iter().eq(b.iter()));
        assert!(r.keys().eq(b.keys()) && r.values().eq(b.values()));
        assert!(r.clone().into_iter().eq(b.clone().into_iter()));
        let collected: Row = [
            ("y".to_string(), d("1")),
            ("x".into(), d("2")),
            ("y".into(), d("3")),
        ]
        .into_iter()
        .collect();
        let pairs: Vec<(&str, Datum)> = collected.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        assert_eq!(pairs, vec![("x", d("2")), ("y", d("3"))]);
    }

    #[test]
    fn rows_sharing_columns_copy_them_only_to_change_them() {
        let cols = Arc::new(Columns::new(["b", "a"]));
        let r1 = Row::from_parts(cols.clone(), vec![d("1"), d("2")]).unwrap();
        let mut r2 = r1.clone();
        assert!(Row::from_parts(cols.clone(), vec![]).is_none());
        assert_eq!(r1["a"], d("1"));
        r2.insert("a".into(), d("3"));
        assert!(Arc::ptr_eq(r2.columns(), &cols));
        r2.insert("c".into(), d("4"));
        assert!(!Arc::ptr_eq(r2.columns(), &cols));
        assert_eq!(cols.names(), ["a", "b"]);
        assert_eq!(
            r1,
            Row::from_iter([("a".to_string(), d("1")), ("b".to_string(), d("2"))])
        );
        assert_ne!(r1, r2);
    }

    #[test]
    fn cache_shares_columns_of_rows_with_the_same_names() {
        let mut cache = ColumnsCache::default();
        let r1 = cache.row([("b", d("1")), ("a", d("2"))]);
        let r2 = cache.row([("a", d("3")), ("b", d("4"))]);
        let r3 = cache.row([("a", d("5"))]);
        assert!(Arc::ptr_eq(r1.columns(), r2.columns()));
        assert!(!Arc::ptr_eq(r1.columns(), r3.columns()));
        assert_eq!(r2["b"], d("4"));
        assert_eq!(r3, Row::from_iter([("a".to_string(), d("5"))]));
        let dup = cache.row([("a", d("1")), ("a", d("2"))]);
        assert_eq!(dup, Row::from_iter([("a".to_string(), d("2"))]));
    }
}
