//! Conversions between [`Datum`]s and Rust values, used by the structs generated
//! from the schemas (crate `ovn-db`) so that daemon code never indexes rows by
//! column name.
//!
//! Column type → Rust type: a scalar column (exactly one value) is `T`; an optional
//! one (0..1) is `Option<T>`; any other set is `Vec<T>` (sorted, as OVSDB stores
//! sets); a map is `BTreeMap<K, V>`; with `T` one of `i64`, `f64`, `bool`, `String`,
//! `Uuid`.

use std::collections::BTreeMap;

use thiserror::Error;
use uuid::Uuid;

use crate::datum::{Atom, Datum, Row};

/// A row that does not fit its generated struct.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{table}.{column}: {reason}")]
pub struct TypedError {
    pub table: String,
    pub column: String,
    pub reason: String,
}

/// A generated table struct.
pub trait Table: Sized {
    /// The table's name in the schema.
    const TABLE: &'static str;
    /// Builds the struct; columns missing from the row (not monitored) get their
    /// type's default, `_uuid` is taken from the row when present.
    fn from_row(row: &Row) -> Result<Self, TypedError>;
    /// All columns except `_uuid`, as an `insert` or `update` operation wants them.
    fn to_row(&self) -> Row;
}

/// A Rust type one atom converts to and from.
pub trait AtomValue: Sized + Clone {
    const KIND: &'static str;
    fn from_atom(a: &Atom) -> Option<Self>;
    fn to_atom(&self) -> Atom;
}

impl AtomValue for i64 {
    const KIND: &'static str = "integer";
    fn from_atom(a: &Atom) -> Option<Self> {
        a.as_integer()
    }
    fn to_atom(&self) -> Atom {
        Atom::Integer(*self)
    }
}

impl AtomValue for f64 {
    const KIND: &'static str = "real";
    fn from_atom(a: &Atom) -> Option<Self> {
        match a {
            Atom::Real(r) => Some(*r),
            Atom::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
    fn to_atom(&self) -> Atom {
        Atom::Real(*self)
    }
}

impl AtomValue for bool {
    const KIND: &'static str = "boolean";
    fn from_atom(a: &Atom) -> Option<Self> {
        a.as_bool()
    }
    fn to_atom(&self) -> Atom {
        Atom::Boolean(*self)
    }
}

impl AtomValue for String {
    const KIND: &'static str = "string";
    fn from_atom(a: &Atom) -> Option<Self> {
        a.as_str().map(str::to_string)
    }
    fn to_atom(&self) -> Atom {
        Atom::string(self.as_str())
    }
}

impl AtomValue for Uuid {
    const KIND: &'static str = "uuid";
    fn from_atom(a: &Atom) -> Option<Self> {
        a.as_uuid()
    }
    fn to_atom(&self) -> Atom {
        Atom::Uuid(*self)
    }
}

/// A Rust type a whole column value converts to and from.
pub trait ColumnValue: Sized {
    fn from_datum(d: &Datum) -> Result<Self, String>;
    fn to_datum(&self) -> Datum;
}

fn atom_of<T: AtomValue>(a: &Atom) -> Result<T, String> {
    T::from_atom(a).ok_or_else(|| format!("expected {}, got {}", T::KIND, a.to_json()))
}

macro_rules! scalar_column {
    ($($t:ty),*) => {$(
        impl ColumnValue for $t {
            fn from_datum(d: &Datum) -> Result<Self, String> {
                match d {
                    Datum::Set(s) if s.len() == 1 => atom_of(&s[0]),
                    _ => Err(format!("expected exactly one {}, got {}", <$t>::KIND, d.to_json())),
                }
            }
            fn to_datum(&self) -> Datum {
                Datum::atom(self.to_atom())
            }
        }
    )*};
}
scalar_column!(i64, f64, bool, String, Uuid);

impl<T: AtomValue> ColumnValue for Option<T> {
    fn from_datum(d: &Datum) -> Result<Self, String> {
        match d {
            Datum::Set(s) if s.is_empty() => Ok(None),
            Datum::Set(s) if s.len() == 1 => atom_of(&s[0]).map(Some),
            Datum::Map(m) if m.is_empty() => Ok(None),
            _ => Err(format!("expected at most one {}, got {}", T::KIND, d.to_json())),
        }
    }
    fn to_datum(&self) -> Datum {
        match self {
            Some(v) => Datum::atom(v.to_atom()),
            None => Datum::empty_set(),
        }
    }
}

impl<T: AtomValue> ColumnValue for Vec<T> {
    fn from_datum(d: &Datum) -> Result<Self, String> {
        match d {
            Datum::Set(s) => s.iter().map(atom_of).collect(),
            Datum::Map(m) if m.is_empty() => Ok(Vec::new()),
            Datum::Map(_) => Err(format!("expected a set of {}, got a map", T::KIND)),
        }
    }
    fn to_datum(&self) -> Datum {
        Datum::set(self.iter().map(AtomValue::to_atom))
    }
}

impl<K: AtomValue + Ord, V: AtomValue> ColumnValue for BTreeMap<K, V> {
    fn from_datum(d: &Datum) -> Result<Self, String> {
        match d {
            Datum::Map(m) => m.iter().map(|(k, v)| Ok((atom_of(k)?, atom_of(v)?))).collect(),
            Datum::Set(s) if s.is_empty() => Ok(BTreeMap::new()),
            Datum::Set(_) => Err(format!("expected a map of {} to {}, got a set", K::KIND, V::KIND)),
        }
    }
    fn to_datum(&self) -> Datum {
        Datum::map(self.iter().map(|(k, v)| (k.to_atom(), v.to_atom())))
    }
}

/// Reads one column for a generated `from_row`: a missing column gives `T::default()`.
pub fn column<T: ColumnValue + Default>(row: &Row, table: &str, column: &str) -> Result<T, TypedError> {
    match row.get(column) {
        None => Ok(T::default()),
        Some(d) => T::from_datum(d).map_err(|reason| TypedError {
            table: table.to_string(),
            column: column.to_string(),
            reason,
        }),
    }
}

/// The row's `_uuid`, nil when absent (e.g. a struct built for an insert).
pub fn row_uuid(row: &Row) -> Uuid {
    row.get("_uuid")
        .and_then(Datum::as_uuid)
        .unwrap_or_else(Uuid::nil)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: ColumnValue + PartialEq + std::fmt::Debug>(v: T) {
        let d = v.to_datum();
        assert_eq!(T::from_datum(&d).unwrap(), v, "{d}");
        // and through JSON, as the wire carries it
        let j = d.to_json();
        assert_eq!(T::from_datum(&Datum::from_json(&j).unwrap()).unwrap(), v, "{j}");
    }

    #[test]
    fn scalars() {
        round_trip(7i64);
        round_trip(-1i64);
        round_trip(2.5f64);
        round_trip(true);
        round_trip(String::from("ls1"));
        round_trip(String::new());
        round_trip(Uuid::new_v4());
        assert_eq!(f64::from_datum(&Datum::integer(3)), Ok(3.0));
        assert!(i64::from_datum(&Datum::empty_set()).is_err());
        assert!(i64::from_datum(&Datum::string("x")).is_err());
        assert!(String::from_datum(&Datum::set([Atom::string("a"), Atom::string("b")])).is_err());
        assert!(bool::from_datum(&Datum::string_map([("a", "b")])).is_err());
        assert!(Uuid::from_datum(&Datum::string("not a uuid")).is_err());
    }

    #[test]
    fn optionals() {
        round_trip(Some(5i64));
        round_trip(None::<i64>);
        round_trip(Some(String::from("x")));
        round_trip(Some(Uuid::new_v4()));
        round_trip(None::<Uuid>);
        assert_eq!(Option::<i64>::to_datum(&None), Datum::empty_set());
        assert_eq!(Option::<String>::from_datum(&Datum::empty_map()), Ok(None));
        assert!(Option::<i64>::from_datum(&Datum::set([Atom::Integer(1), Atom::Integer(2)])).is_err());
        assert!(Option::<i64>::from_datum(&Datum::string("1")).is_err());
    }

    #[test]
    fn sets() {
        round_trip(Vec::<String>::new());
        round_trip(vec![String::from("a")]);
        round_trip(vec![String::from("a"), String::from("b")]);
        round_trip(vec![1i64, 2, 3]);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut refs = vec![a, b];
        refs.sort();
        round_trip(refs.clone());
        // unsorted input comes back sorted and deduplicated, as OVSDB stores sets
        let d = vec![String::from("b"), String::from("a"), String::from("b")].to_datum();
        assert_eq!(Vec::<String>::from_datum(&d).unwrap(), vec!["a", "b"]);
        assert!(Vec::<i64>::from_datum(&Datum::set([Atom::string("a")])).is_err());
        assert!(Vec::<i64>::from_datum(&Datum::string_map([("a", "b")])).is_err());
        assert_eq!(Vec::<i64>::from_datum(&Datum::empty_map()), Ok(vec![]));
    }

    #[test]
    fn maps() {
        let mut m = BTreeMap::new();
        round_trip(m.clone());
        m.insert(String::from("k"), String::from("v"));
        m.insert(String::from("a"), String::from(""));
        round_trip(m);
        let mut im = BTreeMap::new();
        im.insert(1i64, Uuid::new_v4());
        im.insert(2i64, Uuid::new_v4());
        round_trip(im);
        let mut sm = BTreeMap::new();
        sm.insert(String::from("x"), 1i64);
        round_trip(sm);
        assert_eq!(
            BTreeMap::<String, String>::from_datum(&Datum::empty_set()),
            Ok(BTreeMap::new())
        );
        assert!(BTreeMap::<String, String>::from_datum(&Datum::string("a")).is_err());
        let wrong = Datum::map([(Atom::string("k"), Atom::Integer(1))]);
        assert!(BTreeMap::<String, String>::from_datum(&wrong).is_err());
    }

    #[test]
    fn column_reads_default_when_missing_and_names_the_culprit() {
        let mut row = Row::new();
        row.insert("n".into(), Datum::string("x"));
        assert_eq!(column::<i64>(&row, "T", "missing"), Ok(0));
        assert_eq!(column::<Vec<String>>(&row, "T", "missing"), Ok(vec![]));
        let e = column::<i64>(&row, "T", "n").unwrap_err();
        assert_eq!((e.table.as_str(), e.column.as_str()), ("T", "n"));
        assert_eq!(row_uuid(&row), Uuid::nil());
        let u = Uuid::new_v4();
        row.insert("_uuid".into(), Datum::uuid(u));
        assert_eq!(row_uuid(&row), u);
    }
}
