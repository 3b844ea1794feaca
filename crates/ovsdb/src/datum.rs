//! OVSDB values: atoms, and data (sets or maps of atoms), with their JSON encoding
//! (RFC 7047 §5.1): an atom is a JSON scalar or `["uuid", ..]` / `["named-uuid", ..]`;
//! a set of one atom may be written bare, otherwise `["set", [..]]`; a map is
//! `["map", [[k, v], ..]]`.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};
use uuid::Uuid;

pub use crate::collections::{AtomMap, AtomSet, Str};
use crate::error::Error;
pub use crate::row::{Columns, Row};
use crate::schema::{AtomicType, BaseType, ColumnType};

#[derive(Debug, Clone)]
pub enum Atom {
    Integer(i64),
    Real(f64),
    Boolean(bool),
    String(Str),
    Uuid(Uuid),
    /// A row inserted earlier in the same transaction, by its `uuid-name`.
    NamedUuid(String),
}

impl Atom {
    pub fn string(s: impl Into<String>) -> Self {
        Atom::String(Str::from(s.into()))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    pub fn as_uuid(&self) -> Option<Uuid> {
        match self {
            Atom::Uuid(u) => Some(*u),
            _ => None,
        }
    }

    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Atom::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// [`Atom::rank`] of strings.
    pub(crate) const STRING_RANK: u8 = 3;

    /// Orders atoms of different types (only ever compared within one column type).
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Atom::Integer(_) => 0,
            Atom::Real(_) => 1,
            Atom::Boolean(_) => 2,
            Atom::String(_) => Self::STRING_RANK,
            Atom::Uuid(_) => 4,
            Atom::NamedUuid(_) => 5,
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Atom::Integer(i) => json!(i),
            Atom::Real(r) => json!(r),
            Atom::Boolean(b) => json!(b),
            Atom::String(s) => json!(s.as_str()),
            Atom::Uuid(u) => json!(["uuid", u.to_string()]),
            Atom::NamedUuid(n) => json!(["named-uuid", n]),
        }
    }

    /// Parses an atom without knowing its column type.
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        match v {
            Value::Bool(b) => Ok(Atom::Boolean(*b)),
            Value::String(s) => Ok(Atom::String(s.as_str().into())),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(Atom::Integer(i))
                } else if let Some(f) = n.as_f64() {
                    Ok(Atom::Real(f))
                } else {
                    Err(Error::Datum(format!("number out of range: {n}")))
                }
            }
            Value::Array(a) => match (a.first().and_then(Value::as_str), a.get(1), a.len()) {
                (Some("uuid"), Some(Value::String(s)), 2) => Uuid::parse_str(s)
                    .map(Atom::Uuid)
                    .map_err(|e| Error::Datum(format!("bad uuid {s:?}: {e}"))),
                (Some("named-uuid"), Some(Value::String(s)), 2) => Ok(Atom::NamedUuid(s.clone())),
                _ => Err(Error::Datum(format!("not an atom: {v}"))),
            },
            _ => Err(Error::Datum(format!("not an atom: {v}"))),
        }
    }

    /// Parses an atom of a known type: integers are accepted where reals are expected,
    /// and a type mismatch is an error rather than a silently different value.
    pub fn from_json_typed(v: &Value, ty: AtomicType) -> Result<Self, Error> {
        let a = Atom::from_json(v)?;
        match (ty, a) {
            (AtomicType::Real, Atom::Integer(i)) => Ok(Atom::Real(i as f64)),
            (AtomicType::Integer, a @ Atom::Integer(_))
            | (AtomicType::Real, a @ Atom::Real(_))
            | (AtomicType::Boolean, a @ Atom::Boolean(_))
            | (AtomicType::String, a @ Atom::String(_))
            | (AtomicType::Uuid, a @ (Atom::Uuid(_) | Atom::NamedUuid(_))) => Ok(a),
            (ty, a) => Err(Error::Datum(format!("expected {ty}, got {}", a.to_json()))),
        }
    }

    /// Checks the constraints of a base type (ranges, lengths, enums).
    pub fn check(&self, base: &BaseType) -> Result<(), String> {
        if let Some(en) = &base.enum_values
            && !en.contains(self)
        {
            return Err(format!("{self} is not one of the allowed values"));
        }
        let out_of_range = match self {
            Atom::Integer(i) => {
                base.min_integer.is_some_and(|m| *i < m) || base.max_integer.is_some_and(|m| *i > m)
            }
            Atom::Real(r) => base.min_real.is_some_and(|m| *r < m) || base.max_real.is_some_and(|m| *r > m),
            Atom::String(s) => {
                let n = s.chars().count() as u64;
                base.min_length.is_some_and(|m| n < m) || base.max_length.is_some_and(|m| n > m)
            }
            _ => false,
        };
        if out_of_range {
            return Err(format!("{self} is out of range"));
        }
        Ok(())
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Atom {}
impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Atom {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Atom::Integer(a), Atom::Integer(b)) => a.cmp(b),
            (Atom::Real(a), Atom::Real(b)) => a.total_cmp(b),
            (Atom::Boolean(a), Atom::Boolean(b)) => a.cmp(b),
            (Atom::String(a), Atom::String(b)) => a.cmp(b),
            (Atom::Uuid(a), Atom::Uuid(b)) => a.cmp(b),
            (Atom::NamedUuid(a), Atom::NamedUuid(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl fmt::Display for Atom {
    /// The `ovs-vsctl`/`ovn-nbctl` text form: strings quoted only when they need it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Integer(i) => write!(f, "{i}"),
            Atom::Real(r) => write!(f, "{r}"),
            Atom::Boolean(b) => write!(f, "{b}"),
            Atom::String(s) => write_string(f, s),
            Atom::Uuid(u) => write!(f, "{u}"),
            Atom::NamedUuid(n) => write!(f, "@{n}"),
        }
    }
}

/// OVS quotes a string in text output unless it looks like a bare identifier that
/// cannot be mistaken for another type.
fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    if needs_quotes(s) {
        write!(f, "{}", Value::String(s.to_string()))
    } else {
        f.write_str(s)
    }
}

pub fn needs_quotes(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return true;
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return true;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        return true;
    }
    matches!(s, "true" | "false") || Uuid::parse_str(s).is_ok()
}

/// A column value: a set (possibly empty or of one element) or a map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Datum {
    Set(AtomSet),
    Map(AtomMap),
}

impl Default for Datum {
    fn default() -> Self {
        Datum::Set(AtomSet::new())
    }
}

impl Datum {
    pub fn empty_set() -> Self {
        Datum::Set(AtomSet::new())
    }

    pub fn empty_map() -> Self {
        Datum::Map(AtomMap::new())
    }

    pub fn atom(a: Atom) -> Self {
        Datum::Set(vec![a].into())
    }

    pub fn string(s: impl Into<String>) -> Self {
        Datum::atom(Atom::string(s))
    }

    pub fn integer(i: i64) -> Self {
        Datum::atom(Atom::Integer(i))
    }

    pub fn boolean(b: bool) -> Self {
        Datum::atom(Atom::Boolean(b))
    }

    pub fn uuid(u: Uuid) -> Self {
        Datum::atom(Atom::Uuid(u))
    }

    /// A set, sorted and without duplicates, as OVSDB stores it.
    pub fn set(atoms: impl IntoIterator<Item = Atom>) -> Self {
        let mut v: Vec<Atom> = atoms.into_iter().collect();
        v.sort();
        v.dedup();
        Datum::Set(v.into())
    }

    pub fn map(pairs: impl IntoIterator<Item = (Atom, Atom)>) -> Self {
        Datum::Map(pairs.into_iter().collect())
    }

    pub fn string_map<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Datum::map(pairs.into_iter().map(|(k, v)| (Atom::string(k), Atom::string(v))))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        match self {
            Datum::Set(s) => s.len(),
            Datum::Map(m) => m.len(),
        }
    }

    /// The atoms of a set (the keys of a map).
    pub fn keys(&self) -> Vec<&Atom> {
        match self {
            Datum::Set(s) => s.iter().collect(),
            Datum::Map(m) => m.keys().collect(),
        }
    }

    pub fn as_set(&self) -> &[Atom] {
        match self {
            Datum::Set(s) => s,
            Datum::Map(_) => &[],
        }
    }

    pub fn as_map(&self) -> Option<&AtomMap> {
        match self {
            Datum::Map(m) => Some(m),
            Datum::Set(s) if s.is_empty() => None,
            Datum::Set(_) => None,
        }
    }

    /// The single atom of a scalar or optional column.
    pub fn as_atom(&self) -> Option<&Atom> {
        match self {
            Datum::Set(s) if s.len() == 1 => s.first(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        self.as_atom().and_then(Atom::as_str)
    }

    pub fn as_integer(&self) -> Option<i64> {
        self.as_atom().and_then(Atom::as_integer)
    }

    pub fn as_bool(&self) -> Option<bool> {
        self.as_atom().and_then(Atom::as_bool)
    }

    pub fn as_uuid(&self) -> Option<Uuid> {
        self.as_atom().and_then(Atom::as_uuid)
    }

    /// Strings of a set column, in order.
    pub fn strings(&self) -> Vec<String> {
        self.as_set()
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    }

    pub fn uuids(&self) -> Vec<Uuid> {
        self.as_set().iter().filter_map(Atom::as_uuid).collect()
    }

    /// A string→string map column (`external_ids`, `options`, ...).
    pub fn string_pairs(&self) -> BTreeMap<String, String> {
        match self {
            Datum::Map(m) => m
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                .collect(),
            Datum::Set(_) => BTreeMap::new(),
        }
    }

    pub fn map_get(&self, key: &str) -> Option<&Atom> {
        match self {
            Datum::Map(m) => m.get_str(key),
            Datum::Set(_) => None,
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Datum::Set(s) if s.len() == 1 => s[0].to_json(),
            Datum::Set(s) => json!(["set", s.iter().map(Atom::to_json).collect::<Vec<_>>()]),
            Datum::Map(m) => json!([
                "map",
                m.iter()
                    .map(|(k, v)| json!([k.to_json(), v.to_json()]))
                    .collect::<Vec<_>>()
            ]),
        }
    }

    /// Parses a datum without its column type. An empty `["set", []]` could be an
    /// empty map too; callers that care use [`Datum::from_json_typed`].
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        if let Value::Array(a) = v {
            match (a.first().and_then(Value::as_str), a.get(1), a.len()) {
                (Some("set"), Some(Value::Array(items)), 2) => {
                    return Ok(Datum::set(
                        items.iter().map(Atom::from_json).collect::<Result<Vec<_>, _>>()?,
                    ));
                }
                (Some("map"), Some(Value::Array(pairs)), 2) => {
                    let mut m = Vec::with_capacity(pairs.len());
                    for p in pairs {
                        match p.as_array().map(Vec::as_slice) {
                            Some([k, v]) => m.push((Atom::from_json(k)?, Atom::from_json(v)?)),
                            _ => return Err(Error::Datum(format!("bad map pair: {p}"))),
                        }
                    }
                    return Ok(Datum::Map(m.into_iter().collect()));
                }
                _ => {}
            }
        }
        Ok(Datum::atom(Atom::from_json(v)?))
    }

    /// Parses a datum of a known column type, checking atom types (not constraints).
    pub fn from_json_typed(v: &Value, ty: &ColumnType) -> Result<Self, Error> {
        let raw = Datum::from_json(v)?;
        match (&ty.value, raw) {
            (Some(vt), Datum::Map(m)) => Ok(Datum::Map(
                m.into_iter()
                    .map(|(k, v)| Ok((coerce(k, ty.key.atomic)?, coerce(v, vt.atomic)?)))
                    .collect::<Result<_, Error>>()?,
            )),
            (Some(_), Datum::Set(s)) if s.is_empty() => Ok(Datum::empty_map()),
            (None, Datum::Set(s)) => Ok(Datum::set(
                s.into_iter()
                    .map(|a| coerce(a, ty.key.atomic))
                    .collect::<Result<Vec<_>, _>>()?,
            )),
            (Some(_), d) => Err(Error::Datum(format!("expected a map, got {}", d.to_json()))),
            (None, d) => Err(Error::Datum(format!("expected a set, got {}", d.to_json()))),
        }
    }
}

fn coerce(a: Atom, ty: AtomicType) -> Result<Atom, Error> {
    Atom::from_json_typed(&a.to_json(), ty)
}

impl fmt::Display for Datum {
    /// `ovn-nbctl list` style: scalars bare, sets `[a, b]`, maps `{k=v, ...}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Datum::Set(s) => {
                f.write_str("[")?;
                for (i, a) in s.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str("]")
            }
            Datum::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Parses a `<row>` JSON object.
pub fn row_from_json(v: &Value) -> Result<Row, Error> {
    let obj = v
        .as_object()
        .ok_or_else(|| Error::Datum(format!("row is not an object: {v}")))?;
    obj.iter()
        .map(|(k, v)| Ok((k.clone(), Datum::from_json(v)?)))
        .collect()
}

pub fn row_to_json(row: &Row) -> Value {
    Value::Object(row.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_of_one_is_written_bare_and_read_back() {
        let d = Datum::string("a");
        assert_eq!(d.to_json(), json!("a"));
        assert_eq!(Datum::from_json(&json!("a")).unwrap(), d);
        assert_eq!(Datum::from_json(&json!(["set", ["a"]])).unwrap(), d);
    }

    #[test]
    fn sets_are_sorted_and_deduplicated() {
        let d = Datum::from_json(&json!(["set", ["b", "a", "b"]])).unwrap();
        assert_eq!(d, Datum::set([Atom::string("a"), Atom::string("b")]));
        assert_eq!(d.to_json(), json!(["set", ["a", "b"]]));
    }

    #[test]
    fn maps_round_trip() {
        let d = Datum::string_map([("k", "v"), ("a", "b")]);
        let j = d.to_json();
        assert_eq!(j, json!(["map", [["a", "b"], ["k", "v"]]]));
        assert_eq!(Datum::from_json(&j).unwrap(), d);
        assert_eq!(d.to_string(), "{a=b, k=v}");
    }

    #[test]
    fn uuids_and_named_uuids() {
        let u = Uuid::new_v4();
        let d = Datum::from_json(&json!(["uuid", u.to_string()])).unwrap();
        assert_eq!(d.as_uuid(), Some(u));
        let n = Datum::from_json(&json!(["named-uuid", "row1"])).unwrap();
        assert_eq!(n.as_atom(), Some(&Atom::NamedUuid("row1".into())));
        assert!(Datum::from_json(&json!(["uuid", "not-a-uuid"])).is_err());
    }

    #[test]
    fn malformed_values_are_errors() {
        for bad in [
            json!(null),
            json!({}),
            json!(["set"]),
            json!(["map", [["a"]]]),
            json!(["map", [1]]),
            json!(["set", [null]]),
            json!(["uuid"]),
            json!(["what", 1]),
        ] {
            assert!(Datum::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn typed_parse_coerces_integers_to_reals_and_rejects_mismatches() {
        let real = ColumnType::scalar(AtomicType::Real);
        assert_eq!(
            Datum::from_json_typed(&json!(3), &real).unwrap(),
            Datum::atom(Atom::Real(3.0))
        );
        let int = ColumnType::scalar(AtomicType::Integer);
        assert!(Datum::from_json_typed(&json!("x"), &int).is_err());
        let map = ColumnType {
            key: BaseType::new(AtomicType::String),
            value: Some(BaseType::new(AtomicType::String)),
            min: 0,
            max: None,
        };
        assert_eq!(
            Datum::from_json_typed(&json!(["set", []]), &map).unwrap(),
            Datum::empty_map()
        );
        assert!(Datum::from_json_typed(&json!("x"), &map).is_err());
    }

    #[test]
    fn display_quotes_like_ovs() {
        assert_eq!(Atom::string("ls1").to_string(), "ls1");
        assert_eq!(
            Atom::string("02:ac:10:ff:00:11").to_string(),
            "\"02:ac:10:ff:00:11\""
        );
        assert_eq!(Atom::string("").to_string(), "\"\"");
        assert_eq!(Atom::string("true").to_string(), "\"true\"");
        assert_eq!(Atom::string("a b").to_string(), "\"a b\"");
    }
}
