//! Lenient accessors for untyped OVSDB rows (the local Open_vSwitch database;
//! the Southbound tables are typed, see `sb.rs`): a missing or mistyped column
//! reads as empty, so that odd database contents never make the controller
//! panic.

use std::collections::BTreeMap;

use ovsdb::{Atom, Datum, Row, Uuid};

/// A string column, `""` if missing or not a string.
pub fn str<'a>(row: &'a Row, col: &str) -> &'a str {
    row.get(col).and_then(Datum::as_str).unwrap_or("")
}

pub fn int(row: &Row, col: &str) -> Option<i64> {
    row.get(col).and_then(Datum::as_integer)
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
    m.get_str(key).and_then(Atom::as_str)
}

/// Builds a row from `(column, datum)` pairs.
pub fn build<const N: usize>(cols: [(&str, Datum); N]) -> Row {
    cols.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
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
        assert_eq!(strings(&r, "name"), vec!["x".to_string()]);
    }
}
