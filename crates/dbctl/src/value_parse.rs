//! The `ovs-vsctl` text syntax for OVSDB values, as `ovn-nbctl` accepts it on the
//! command line (`ovsdb_token_parse`, `ovsdb_atom_from_string`,
//! `ovsdb_datum_from_string` in Open vSwitch), and the matching text output
//! (`ovsdb_datum_to_string` / `ovsdb_datum_to_bare`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use ovsdb::schema::{AtomicType, BaseType, ColumnType};
use ovsdb::{Atom, Datum, Uuid};

use crate::CtlError;

/// Characters that end an unquoted token.
const DELIMS: &str = ":=, []{}!<>";

/// `--id=@name` symbols: `@name` → the named-uuid of a row inserted in this transaction.
pub type Symbols = HashMap<String, Atom>;

/// Cuts one token off the front of `s`: up to the first unquoted delimiter. Quotes are
/// kept (the atom parser interprets them); backslash escapes the next character.
pub fn parse_token(s: &str) -> Result<(String, &str), CtlError> {
    let mut out = String::new();
    let mut in_quotes = false;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            if in_quotes {
                out.push('\\');
            }
            match chars.next() {
                Some((_, n)) => out.push(n),
                None => return Err(CtlError::msg(format!("{s}: backslash at end of argument"))),
            }
        } else if !in_quotes && DELIMS.contains(c) {
            return Ok((out, &s[i..]));
        } else {
            out.push(c);
            if c == '"' {
                in_quotes = !in_quotes;
            }
        }
    }
    if in_quotes {
        return Err(CtlError::msg(format!(
            "{s}: quoted string extends past end of argument"
        )));
    }
    Ok((out, ""))
}

/// Parses one atom of `base`'s type from its complete text, and checks constraints.
pub fn parse_atom(s: &str, base: &BaseType, symbols: &Symbols) -> Result<Atom, CtlError> {
    let atom = match base.atomic {
        AtomicType::Integer => Atom::Integer(
            s.parse::<i64>()
                .map_err(|_| CtlError::msg(format!("\"{s}\" is not a valid integer")))?,
        ),
        AtomicType::Real => Atom::Real(
            s.parse::<f64>()
                .map_err(|_| CtlError::msg(format!("\"{s}\" is not a valid real number")))?,
        ),
        AtomicType::Boolean => match s {
            "true" => Atom::Boolean(true),
            "false" => Atom::Boolean(false),
            _ => {
                return Err(CtlError::msg(format!(
                    "\"{s}\" is not a valid boolean (use \"true\" or \"false\")"
                )));
            }
        },
        AtomicType::String => {
            if s.is_empty() {
                return Err(CtlError::msg(
                    "An empty string is not valid as input; use \"\" to represent the empty string",
                ));
            } else if let Some(inner) = s.strip_prefix('"') {
                if s.len() < 2 || !inner.ends_with('"') {
                    return Err(CtlError::msg(format!(
                        "{s}: missing quote at end of quoted string"
                    )));
                }
                let v: serde_json::Value = serde_json::from_str(s)
                    .map_err(|_| CtlError::msg(format!("{s}: error parsing string")))?;
                Atom::string(v.as_str().unwrap_or_default())
            } else {
                Atom::string(s)
            }
        }
        AtomicType::Uuid => {
            if s.starts_with('@') {
                symbols
                    .get(s)
                    .cloned()
                    .ok_or_else(|| CtlError::msg(format!("row id \"{s}\" is referenced but never created (e.g. with \"-- --id={s} create ...\")")))?
            } else {
                Atom::Uuid(
                    Uuid::parse_str(s).map_err(|_| CtlError::msg(format!("\"{s}\" is not a valid UUID")))?,
                )
            }
        }
    };
    atom.check(base).map_err(|_| constraint_error(&atom, base))?;
    Ok(atom)
}

fn constraint_error(atom: &Atom, base: &BaseType) -> CtlError {
    if let Some(e) = &base.enum_values {
        let allowed: Vec<String> = e.iter().map(|a| a.to_string()).collect();
        let list = match allowed.len() {
            1 => allowed[0].clone(),
            2 => format!("{} or {}", allowed[0], allowed[1]),
            n => format!("{}, or {}", allowed[..n - 1].join(", "), allowed[n - 1]),
        };
        return CtlError::msg(format!("{atom} is not one of the allowed values ({list})"));
    }
    CtlError::msg(format!("{atom} is outside the valid range"))
}

fn parse_atom_token<'a>(s: &'a str, base: &BaseType, symbols: &Symbols) -> Result<(Atom, &'a str), CtlError> {
    let (tok, rest) = parse_token(s)?;
    Ok((parse_atom(&tok, base, symbols)?, rest))
}

fn type_english(ty: &ColumnType) -> String {
    if ty.is_map() { "map".into() } else { "set".into() }
}

/// Parses a whole datum (`a`, `[a, b]`, `{k=v, ...}`) of column type `ty`, checking
/// the number of elements.
pub fn parse_datum(s: &str, ty: &ColumnType, symbols: &Symbols) -> Result<Datum, CtlError> {
    let is_map = ty.is_map();
    let mut p = s.trim_start();
    let open = if is_map { '{' } else { '[' };
    let end_delim = if p.starts_with(open) {
        p = p[1..].trim_start();
        Some(if is_map { '}' } else { ']' })
    } else if p.is_empty() {
        return Err(CtlError::msg(if is_map {
            "use \"{}\" to specify the empty map"
        } else {
            "use \"[]\" to specify the empty set"
        }));
    } else {
        None
    };
    let mut keys = Vec::new();
    let mut map = BTreeMap::new();
    while let Some(c) = p.chars().next() {
        if Some(c) == end_delim {
            break;
        }
        if DELIMS.contains(c) {
            return Err(CtlError::msg(format!(
                "{s}: unexpected \"{c}\" parsing {}",
                type_english(ty)
            )));
        }
        let (key, rest) = parse_atom_token(p, &ty.key, symbols)?;
        p = rest;
        if let Some(vt) = &ty.value {
            p = p.trim_start();
            if !p.starts_with('=') {
                let c = p.chars().next().map(String::from).unwrap_or_default();
                return Err(CtlError::msg(format!(
                    "{s}: syntax error at \"{c}\" expecting \"=\""
                )));
            }
            p = p[1..].trim_start();
            let (value, rest) = parse_atom_token(p, vt, symbols)?;
            p = rest;
            if map.insert(key.clone(), value).is_some() {
                return Err(CtlError::msg(format!("{s}: map contains duplicate key {key}")));
            }
        } else {
            if keys.contains(&key) {
                return Err(CtlError::msg(format!("{s}: set contains duplicate value {key}")));
            }
            keys.push(key);
        }
        p = p.trim_start();
        if let Some(r) = p.strip_prefix(',') {
            p = r.trim_start();
        }
    }
    match end_delim {
        Some(d) => {
            if !p.starts_with(d) {
                return Err(CtlError::msg(format!("{s}: missing \"{d}\" at end of data")));
            }
            if !p[1..].trim().is_empty() {
                return Err(CtlError::msg(format!("{s}: trailing garbage after \"{d}\"")));
            }
        }
        None if !p.is_empty() => {
            return Err(CtlError::msg(format!("{s}: trailing garbage")));
        }
        None => {}
    }
    let datum = if is_map {
        Datum::Map(map.into_iter().collect())
    } else {
        Datum::set(keys)
    };
    let n = datum.len() as u64;
    let what = if is_map { "pairs" } else { "values" };
    if n < ty.min {
        return Err(CtlError::msg(format!(
            "{s}: {n} {what} specified but the minimum number is {}",
            ty.min
        )));
    }
    if let Some(max) = ty.max
        && n > max
    {
        return Err(CtlError::msg(format!(
            "{s}: {n} {what} specified but the maximum number is {max}"
        )));
    }
    Ok(datum)
}

/// A column type that accepts any number of elements (for `add`, `remove`, conditions).
pub fn unbounded(ty: &ColumnType) -> ColumnType {
    ColumnType {
        min: 0,
        max: None,
        ..ty.clone()
    }
}

/// `ovsdb_datum_to_string`: a single value of a scalar/optional column bare, sets in
/// `[...]`, maps in `{...}`, strings quoted when they need it.
pub fn datum_to_string(d: &Datum, ty: &ColumnType) -> String {
    let bracket = ty.max != Some(1) || ty.is_map() || d.is_empty();
    let mut out = String::new();
    match d {
        Datum::Set(s) => {
            if bracket {
                out.push(if ty.is_map() { '{' } else { '[' });
            }
            for (i, a) in s.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{a}");
            }
            if bracket {
                out.push(if ty.is_map() { '}' } else { ']' });
            }
        }
        Datum::Map(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{k}={v}");
            }
            out.push('}');
        }
    }
    out
}

/// `ovsdb_atom_to_bare`: strings unquoted.
pub fn atom_to_bare(a: &Atom) -> String {
    match a {
        Atom::String(s) => s.to_string(),
        a => a.to_string(),
    }
}

/// `ovsdb_datum_to_bare`: space-separated atoms, `k=v` pairs, no brackets or quotes.
pub fn datum_to_bare(d: &Datum) -> String {
    match d {
        Datum::Set(s) => s.iter().map(atom_to_bare).collect::<Vec<_>>().join(" "),
        Datum::Map(m) => m
            .iter()
            .map(|(k, v)| format!("{}={}", atom_to_bare(k), atom_to_bare(v)))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_set() -> ColumnType {
        ColumnType {
            key: BaseType::new(AtomicType::String),
            value: None,
            min: 0,
            max: None,
        }
    }

    fn string_map() -> ColumnType {
        ColumnType {
            value: Some(BaseType::new(AtomicType::String)),
            ..string_set()
        }
    }

    #[test]
    fn tokens_stop_at_delimiters_outside_quotes() {
        assert_eq!(
            parse_token("vips:1.2.3.4=x").unwrap(),
            ("vips".into(), ":1.2.3.4=x")
        );
        assert_eq!(parse_token("\"a:b\"=c").unwrap(), ("\"a:b\"".into(), "=c"));
        assert_eq!(parse_token("a\\:b").unwrap(), ("a:b".into(), ""));
        assert!(parse_token("\"abc").is_err());
    }

    #[test]
    fn parses_sets_and_maps() {
        let syms = Symbols::new();
        let d = parse_datum("[b, a,c]", &string_set(), &syms).unwrap();
        assert_eq!(d, Datum::set(["a", "b", "c"].map(Atom::string)));
        let d = parse_datum("{k=v, \"x y\"=\"1,2\"}", &string_map(), &syms).unwrap();
        assert_eq!(d, Datum::string_map([("k", "v"), ("x y", "1,2")]));
        assert_eq!(
            parse_datum("[]", &string_set(), &syms).unwrap(),
            Datum::empty_set()
        );
        assert_eq!(
            parse_datum("{}", &string_map(), &syms).unwrap(),
            Datum::empty_map()
        );
        assert!(parse_datum("", &string_set(), &syms).is_err());
        assert!(parse_datum("{k}", &string_map(), &syms).is_err());
        let int = ColumnType::scalar(AtomicType::Integer);
        assert_eq!(parse_datum("42", &int, &syms).unwrap(), Datum::integer(42));
        assert!(parse_datum("x", &int, &syms).is_err());
        assert!(parse_datum("[1, 2]", &int, &syms).is_err());
    }

    #[test]
    fn named_rows_resolve_through_symbols() {
        let mut syms = Symbols::new();
        syms.insert("@lb".into(), Atom::NamedUuid("row1".into()));
        let u = ColumnType::scalar(AtomicType::Uuid);
        assert_eq!(
            parse_datum("@lb", &u, &syms).unwrap(),
            Datum::atom(Atom::NamedUuid("row1".into()))
        );
        assert!(parse_datum("@nope", &u, &syms).is_err());
    }

    #[test]
    fn text_output_matches_ovs() {
        let opt = ColumnType {
            min: 0,
            max: Some(1),
            ..ColumnType::scalar(AtomicType::String)
        };
        assert_eq!(datum_to_string(&Datum::empty_set(), &opt), "[]");
        assert_eq!(datum_to_string(&Datum::string("x"), &opt), "x");
        assert_eq!(
            datum_to_string(&Datum::set(["02:aa", "unknown"].map(Atom::string)), &string_set()),
            "[\"02:aa\", unknown]"
        );
        assert_eq!(
            datum_to_string(&Datum::string_map([("a", "1")]), &string_map()),
            "{a=\"1\"}"
        );
        assert_eq!(
            datum_to_bare(&Datum::string_map([("a", "1"), ("b", "x y")])),
            "a=1 b=x y"
        );
    }
}
