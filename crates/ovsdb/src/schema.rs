//! Database schemas (RFC 7047 §3.2), parsed from `.ovsschema` files or `get_schema`.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::datum::{Atom, Datum};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtomicType {
    Integer,
    Real,
    Boolean,
    String,
    Uuid,
}

impl AtomicType {
    fn parse(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "integer" => AtomicType::Integer,
            "real" => AtomicType::Real,
            "boolean" => AtomicType::Boolean,
            "string" => AtomicType::String,
            "uuid" => AtomicType::Uuid,
            _ => return Err(Error::Schema(format!("unknown atomic type {s:?}"))),
        })
    }
}

impl fmt::Display for AtomicType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AtomicType::Integer => "integer",
            AtomicType::Real => "real",
            AtomicType::Boolean => "boolean",
            AtomicType::String => "string",
            AtomicType::Uuid => "uuid",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefType {
    Strong,
    Weak,
}

/// The type of a key or value, with its constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseType {
    pub atomic: AtomicType,
    pub enum_values: Option<Vec<Atom>>,
    pub min_integer: Option<i64>,
    pub max_integer: Option<i64>,
    pub min_real: Option<f64>,
    pub max_real: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub ref_table: Option<String>,
    pub ref_type: RefType,
}

impl BaseType {
    pub fn new(atomic: AtomicType) -> Self {
        BaseType {
            atomic,
            enum_values: None,
            min_integer: None,
            max_integer: None,
            min_real: None,
            max_real: None,
            min_length: None,
            max_length: None,
            ref_table: None,
            ref_type: RefType::Strong,
        }
    }

    fn parse(v: &Value) -> Result<Self, Error> {
        if let Some(s) = v.as_str() {
            return Ok(BaseType::new(AtomicType::parse(s)?));
        }
        let o = v
            .as_object()
            .ok_or_else(|| Error::Schema(format!("bad base type {v}")))?;
        let ty = o
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Schema(format!("base type without type: {v}")))?;
        let mut b = BaseType::new(AtomicType::parse(ty)?);
        if let Some(e) = o.get("enum") {
            let d = Datum::from_json(e)?;
            b.enum_values = Some(d.as_set().to_vec());
        }
        b.min_integer = o.get("minInteger").and_then(Value::as_i64);
        b.max_integer = o.get("maxInteger").and_then(Value::as_i64);
        b.min_real = o.get("minReal").and_then(Value::as_f64);
        b.max_real = o.get("maxReal").and_then(Value::as_f64);
        b.min_length = o.get("minLength").and_then(Value::as_u64);
        b.max_length = o.get("maxLength").and_then(Value::as_u64);
        b.ref_table = o.get("refTable").and_then(Value::as_str).map(str::to_string);
        if o.get("refType").and_then(Value::as_str) == Some("weak") {
            b.ref_type = RefType::Weak;
        }
        Ok(b)
    }
}

/// A column type: a set of `min..=max` keys, or a map when `value` is present.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    pub key: BaseType,
    pub value: Option<BaseType>,
    pub min: u64,
    /// `None` means "unlimited".
    pub max: Option<u64>,
}

impl ColumnType {
    pub fn scalar(atomic: AtomicType) -> Self {
        ColumnType {
            key: BaseType::new(atomic),
            value: None,
            min: 1,
            max: Some(1),
        }
    }

    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }

    /// Exactly one value: shown bare, not as a set.
    pub fn is_scalar(&self) -> bool {
        self.min == 1 && self.max == Some(1) && self.value.is_none()
    }

    /// Zero or one value.
    pub fn is_optional(&self) -> bool {
        self.min == 0 && self.max == Some(1) && self.value.is_none()
    }

    fn parse(v: &Value) -> Result<Self, Error> {
        if v.is_string() {
            return Ok(ColumnType {
                key: BaseType::parse(v)?,
                value: None,
                min: 1,
                max: Some(1),
            });
        }
        let o = v
            .as_object()
            .ok_or_else(|| Error::Schema(format!("bad column type {v}")))?;
        let key = BaseType::parse(
            o.get("key")
                .ok_or_else(|| Error::Schema(format!("column type without key: {v}")))?,
        )?;
        let value = o.get("value").map(BaseType::parse).transpose()?;
        let min = o
            .get("min")
            .map_or(Some(1), Value::as_u64)
            .ok_or_else(|| Error::Schema(format!("bad min in {v}")))?;
        let max = match o.get("max") {
            None => Some(1),
            Some(Value::String(s)) if s == "unlimited" => None,
            Some(m) => Some(
                m.as_u64()
                    .ok_or_else(|| Error::Schema(format!("bad max in {v}")))?,
            ),
        };
        Ok(ColumnType { key, value, min, max })
    }

    /// The value a new row gets for this column when none is given.
    pub fn default_datum(&self) -> Datum {
        if self.value.is_some() {
            return Datum::empty_map();
        }
        if self.min == 0 {
            return Datum::empty_set();
        }
        let a = match self.key.atomic {
            AtomicType::Integer => Atom::Integer(0),
            AtomicType::Real => Atom::Real(0.0),
            AtomicType::Boolean => Atom::Boolean(false),
            AtomicType::String => Atom::String(Default::default()),
            AtomicType::Uuid => Atom::Uuid(uuid::Uuid::nil()),
        };
        let a = match &self.key.enum_values {
            Some(e) if !e.is_empty() && !e.contains(&a) => e[0].clone(),
            _ => a,
        };
        Datum::atom(a)
    }

    /// Checks a datum against the type: atom types, constraints and the size bounds.
    pub fn check(&self, d: &Datum) -> Result<(), String> {
        let n = d.len() as u64;
        if n < self.min || self.max.is_some_and(|m| n > m) {
            return Err(format!(
                "{n} values where {}..{} are allowed",
                self.min,
                self.max.map_or("unlimited".into(), |m| m.to_string())
            ));
        }
        match (d, &self.value) {
            (Datum::Set(s), None) => s.iter().try_for_each(|a| a.check(&self.key)),
            (Datum::Map(m), Some(vt)) => m.iter().try_for_each(|(k, v)| {
                k.check(&self.key)?;
                v.check(vt)
            }),
            (Datum::Set(s), Some(_)) if s.is_empty() => Ok(()),
            _ => Err("set given where a map is expected, or the reverse".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSchema {
    pub ty: ColumnType,
    pub ephemeral: bool,
    pub mutable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    pub name: String,
    pub columns: BTreeMap<String, ColumnSchema>,
    pub is_root: bool,
    pub max_rows: Option<u64>,
    pub indexes: Vec<Vec<String>>,
}

impl TableSchema {
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.get(name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSchema {
    pub name: String,
    pub version: String,
    pub tables: BTreeMap<String, TableSchema>,
}

impl DatabaseSchema {
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        let o = v
            .as_object()
            .ok_or_else(|| Error::Schema("schema is not an object".into()))?;
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Schema("schema without name".into()))?;
        let version = o.get("version").and_then(Value::as_str).unwrap_or("").to_string();
        let tables_json = o
            .get("tables")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::Schema("schema without tables".into()))?;
        let mut tables = BTreeMap::new();
        for (tname, t) in tables_json {
            let to = t
                .as_object()
                .ok_or_else(|| Error::Schema(format!("table {tname} is not an object")))?;
            let cols = to
                .get("columns")
                .and_then(Value::as_object)
                .ok_or_else(|| Error::Schema(format!("table {tname} has no columns")))?;
            let mut columns = BTreeMap::new();
            for (cname, c) in cols {
                let ty = ColumnType::parse(
                    c.get("type")
                        .ok_or_else(|| Error::Schema(format!("{tname}.{cname} has no type")))?,
                )
                .map_err(|e| Error::Schema(format!("{tname}.{cname}: {e}")))?;
                columns.insert(
                    cname.clone(),
                    ColumnSchema {
                        ty,
                        ephemeral: c.get("ephemeral").and_then(Value::as_bool).unwrap_or(false),
                        mutable: c.get("mutable").and_then(Value::as_bool).unwrap_or(true),
                    },
                );
            }
            let indexes = to
                .get("indexes")
                .and_then(Value::as_array)
                .map(|ix| {
                    ix.iter()
                        .filter_map(|i| {
                            i.as_array().map(|cols| {
                                cols.iter()
                                    .filter_map(|c| c.as_str().map(str::to_string))
                                    .collect()
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            tables.insert(
                tname.clone(),
                TableSchema {
                    name: tname.clone(),
                    columns,
                    is_root: to.get("isRoot").and_then(Value::as_bool).unwrap_or(false),
                    max_rows: to.get("maxRows").and_then(Value::as_u64),
                    indexes,
                },
            );
        }
        Ok(DatabaseSchema {
            name: name.to_string(),
            version,
            tables,
        })
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        let v: Value = serde_json::from_str(s).map_err(|e| Error::Schema(e.to_string()))?;
        Self::from_json(&v)
    }

    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NB: &str = include_str!("../../../schemas/ovn-nb.ovsschema");
    const SB: &str = include_str!("../../../schemas/ovn-sb.ovsschema");

    #[test]
    fn parses_the_ovn_schemas() {
        let nb = DatabaseSchema::parse(NB).unwrap();
        assert_eq!(nb.name, "OVN_Northbound");
        let lsp = nb.table("Logical_Switch_Port").unwrap();
        assert!(lsp.indexes.contains(&vec!["name".to_string()]));
        let addrs = &lsp.column("addresses").unwrap().ty;
        assert_eq!(
            (addrs.min, addrs.max, addrs.key.atomic),
            (0, None, AtomicType::String)
        );
        let sb = DatabaseSchema::parse(SB).unwrap();
        let tk = &sb
            .table("Datapath_Binding")
            .unwrap()
            .column("tunnel_key")
            .unwrap()
            .ty;
        assert_eq!(
            (tk.key.min_integer, tk.key.max_integer),
            (Some(1), Some(16777215))
        );
        let mg = &sb.table("Multicast_Group").unwrap().column("ports").unwrap().ty;
        assert_eq!(mg.key.ref_type, RefType::Weak);
    }

    #[test]
    fn defaults_and_checks() {
        let nb = DatabaseSchema::parse(NB).unwrap();
        let lb = nb.table("Load_Balancer").unwrap();
        let proto = &lb.column("protocol").unwrap().ty;
        assert!(proto.is_optional());
        assert!(proto.check(&Datum::string("tcp")).is_ok());
        assert!(proto.check(&Datum::string("icmp")).is_err());
        assert_eq!(proto.default_datum(), Datum::empty_set());
        let name = &lb.column("name").unwrap().ty;
        assert_eq!(name.default_datum(), Datum::string(""));
    }

    #[test]
    fn rejects_bad_schemas() {
        assert!(DatabaseSchema::parse("[]").is_err());
        assert!(
            DatabaseSchema::parse(r#"{"name":"x","tables":{"t":{"columns":{"c":{"type":"frob"}}}}}"#)
                .is_err()
        );
        assert!(DatabaseSchema::parse("{").is_err());
    }
}
