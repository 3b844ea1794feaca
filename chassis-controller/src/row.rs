//! Lenient accessors for untyped OVSDB rows: a missing or mistyped column reads
//! as empty, so that odd database contents never make the controller panic.

use std::collections::BTreeMap;

use ovsdb::{Atom, Datum, Row, Uuid};

/// A string column, `""` if missing or not a string.
pub fn str<'a>(row: &'a Row, col: &str) -> &'a str {
    row.get(col).and_then(Datum::as_str).unwrap_or("")
}

/// An optional string column.
pub fn opt_str<'a>(row: &'a Row, col: &str) -> Option<&'a str> {
    row.get(col).and_then(Datum::as_str)
}

pub fn int(row: &Row, col: &str) -> Option<i64> {
    row.get(col).and_then(Datum::as_integer)
}

pub fn boolean(row: &Row, col: &str) -> Option<bool> {
    row.get(col).and_then(Datum::as_bool)
}

/// A reference column holding at most one UUID.
pub fn uuid(row: &Row, col: &str) -> Option<Uuid> {
    row.get(col).and_then(Datum::as_uuid)
}

/// A set of UUIDs (references).
pub fn uuids(row: &Row, col: &str) -> Vec<Uuid> {
    row.get(col)
        .map(|d| d.as_set().iter().filter_map(Atom::as_uuid).collect())
        .unwrap_or_default()
}

/// A set of strings.
pub fn strings(row: &Row, col: &str) -> Vec<String> {
    row.get(col)
        .map(|d| {
            d.as_set()
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A string→string map.
pub fn smap(row: &Row, col: &str) -> BTreeMap<String, String> {
    let Some(Datum::Map(m)) = row.get(col) else {
        return BTreeMap::new();
    };
    m.iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
        .collect()
}

/// One key of a string→string map.
pub fn smap_get<'a>(row: &'a Row, col: &str, key: &str) -> Option<&'a str> {
    let Some(Datum::Map(m)) = row.get(col) else {
        return None;
    };
    m.get(&Atom::string(key)).and_then(Atom::as_str)
}

/// Builds a row from `(column, datum)` pairs.
pub fn build<const N: usize>(cols: [(&str, Datum); N]) -> Row {
    cols.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A string set datum.
pub fn string_set<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Datum {
    Datum::set(items.into_iter().map(|s| Atom::String(s.into())))
}

/// An optional reference datum (`[]` for none).
pub fn opt_uuid(u: Option<Uuid>) -> Datum {
    Datum::set(u.map(Atom::Uuid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_reads() {
        let u = Uuid::new_v4();
        let r = build([
            ("name", Datum::string("x")),
            ("n", Datum::integer(3)),
            ("ids", Datum::string_map([("a", "1")])),
            ("refs", Datum::set([Atom::Uuid(u)])),
            ("bad", Datum::integer(1)),
        ]);
        assert_eq!(str(&r, "name"), "x");
        assert_eq!(str(&r, "bad"), "");
        assert_eq!(str(&r, "missing"), "");
        assert_eq!(int(&r, "n"), Some(3));
        assert_eq!(smap(&r, "ids")["a"], "1");
        assert_eq!(smap_get(&r, "ids", "a"), Some("1"));
        assert!(smap(&r, "name").is_empty());
        assert_eq!(uuids(&r, "refs"), vec![u]);
        assert_eq!(uuid(&r, "refs"), Some(u));
        assert_eq!(opt_uuid(None), Datum::empty_set());
        assert_eq!(strings(&r, "name"), vec!["x".to_string()]);
    }
}
