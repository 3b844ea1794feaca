//! Finding tables, columns and records the way `ovs-vsctl`-family tools do: table
//! and column names are case-insensitive and may be abbreviated to a unique prefix
//! (`-` matches `_`); a record is named by UUID, by `.` when the table has one row,
//! by a per-table name column (or an `external_ids` key), or by a UUID prefix of at
//! least 4 characters.

use ovsdb::schema::TableSchema;
use ovsdb::{Atom, Condition, DatabaseSchema, Datum, Uuid};

use crate::CtlError;
use crate::txn::{RowKey, Txn};

/// How records of one table may be named besides their UUID: the value of
/// `column` (a string column), or of `column:key` when `key` is given.
#[derive(Debug, Clone, Copy)]
pub struct RowId {
    pub table: &'static str,
    pub column: &'static str,
    pub key: Option<&'static str>,
}

fn fold(c: char) -> char {
    if c == '-' { '_' } else { c.to_ascii_lowercase() }
}

/// `score_partial_match`: `u32::MAX` for an exact match, `u32::MAX - 1` for a
/// case-insensitive one, the prefix length for a prefix match, 0 otherwise.
pub fn score_partial_match(name: &str, s: &str) -> u32 {
    if name == s {
        return u32::MAX;
    }
    let n: Vec<char> = name.chars().collect();
    let q: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < n.len() && i < q.len() && fold(n[i]) == fold(q[i]) {
        i += 1;
    }
    if i == n.len() && i == q.len() {
        return u32::MAX - 1;
    }
    if i == q.len() { i as u32 } else { 0 }
}

pub fn find_table<'a>(schema: &'a DatabaseSchema, name: &str) -> Result<&'a TableSchema, CtlError> {
    let mut best: Option<&TableSchema> = None;
    let mut best_score = 0;
    for t in schema.tables.values() {
        let score = score_partial_match(&t.name, name);
        if score > best_score {
            best = Some(t);
            best_score = score;
        } else if score == best_score && score > 0 {
            best = None;
        }
    }
    match best {
        Some(t) => Ok(t),
        None if best_score > 0 => Err(CtlError::msg(format!("multiple table names match \"{name}\""))),
        None => Err(CtlError::msg(format!("unknown table \"{name}\""))),
    }
}

/// The column of `table` that `name` designates; `_uuid` is returned as itself.
pub fn find_column(table: &TableSchema, name: &str) -> Result<String, CtlError> {
    let mut best: Vec<&str> = Vec::new();
    let mut best_score = 0;
    for c in table.columns.keys() {
        let score = score_partial_match(c, name);
        if score > 0 && score >= best_score {
            if score > best_score {
                best.clear();
            }
            best.push(c);
            best_score = score;
        }
    }
    match best.as_slice() {
        [] => Err(CtlError::msg(format!(
            "{} does not contain a column whose name matches \"{name}\"",
            table.name
        ))),
        [one] => Ok(one.to_string()),
        many => Err(CtlError::msg(format!(
            "{} contains more than one column whose name matches \"{name}\": {}",
            table.name,
            many.join(", ")
        ))),
    }
}

/// Length of the UUID prefix `s` (hex digits, dashes in the right places), or 0.
pub fn uuid_partial_len(s: &str) -> usize {
    if s.len() > 36 {
        return 0;
    }
    for (i, c) in s.chars().enumerate() {
        let dash = matches!(i, 8 | 13 | 18 | 23);
        if dash != (c == '-') || (!dash && !c.is_ascii_hexdigit()) {
            return 0;
        }
    }
    s.len()
}

/// `ctl_get_row`: the record `id` of `table`, or `None` (an error when `must_exist`).
pub fn get_row(
    txn: &mut Txn,
    row_ids: &[RowId],
    table: &str,
    id: &str,
    must_exist: bool,
) -> Result<Option<RowKey>, CtlError> {
    if let Ok(u) = Uuid::parse_str(id)
        && id.len() == 36
        && let Some(k) = txn.by_uuid(table, u)?
    {
        return Ok(Some(k));
    }
    if id == "." {
        let all = txn.all(table)?;
        if all.len() == 1 {
            return Ok(all.into_iter().next());
        }
    }
    for rid in row_ids.iter().filter(|r| r.table == table) {
        let rows = match rid.key {
            None => txn.select(table, &[Condition::eq(rid.column, Datum::string(id))])?,
            Some(k) => txn.select(
                table,
                &[Condition::new(
                    rid.column,
                    "includes",
                    Datum::string_map([(k, id)]),
                )],
            )?,
        };
        match rows.len() {
            0 => continue,
            1 => return Ok(rows.into_iter().next()),
            _ => return Err(CtlError::msg(format!("multiple rows in {table} match \"{id}\""))),
        }
    }
    if uuid_partial_len(id) >= 4 {
        let lower = id.to_ascii_lowercase();
        let all = txn.all(table)?;
        let hits: Vec<&RowKey> = all
            .iter()
            .filter(|k| matches!(k, Atom::Uuid(u) if u.to_string().starts_with(&lower)))
            .collect();
        match hits.as_slice() {
            [] => {}
            [one] => return Ok(Some((*one).clone())),
            [a, b, ..] => {
                return Err(CtlError::msg(format!(
                    "{table} contains 2 or more rows whose UUIDs begin with {id}: at least {a} and {b}"
                )));
            }
        }
    }
    if must_exist {
        return Err(CtlError::msg(format!("no row \"{id}\" in table {table}")));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NB: &str = include_str!("../../../schemas/ovn-nb.ovsschema");

    #[test]
    fn table_names_match_like_ovs() {
        let nb = DatabaseSchema::parse(NB).unwrap();
        assert_eq!(find_table(&nb, "logical_switch").unwrap().name, "Logical_Switch");
        assert_eq!(
            find_table(&nb, "Logical-Switch-Port").unwrap().name,
            "Logical_Switch_Port"
        );
        assert_eq!(
            find_table(&nb, "load_balancer_g").unwrap().name,
            "Load_Balancer_Group"
        );
        assert_eq!(find_table(&nb, "load-balancer").unwrap().name, "Load_Balancer");
        assert!(find_table(&nb, "load_bal").is_err());
        assert_eq!(find_table(&nb, "nb_g").unwrap().name, "NB_Global");
        let e = find_table(&nb, "logical_s").unwrap_err().to_string();
        assert_eq!(e, "multiple table names match \"logical_s\"");
        assert_eq!(
            find_table(&nb, "lsp").unwrap_err().to_string(),
            "unknown table \"lsp\""
        );
    }

    #[test]
    fn column_names_match_like_ovs() {
        let nb = DatabaseSchema::parse(NB).unwrap();
        let lsp = nb.table("Logical_Switch_Port").unwrap();
        assert_eq!(find_column(lsp, "addr").unwrap(), "addresses");
        assert_eq!(find_column(lsp, "name").unwrap(), "name");
        assert!(
            find_column(lsp, "d")
                .unwrap_err()
                .to_string()
                .contains("more than one column")
        );
        assert!(find_column(lsp, "zzz").is_err());
    }

    #[test]
    fn uuid_prefixes() {
        assert_eq!(uuid_partial_len("863d"), 4);
        assert_eq!(uuid_partial_len("863d12eb-f78d"), 13);
        assert_eq!(uuid_partial_len("863d12ebf"), 0);
        assert_eq!(uuid_partial_len("ls1"), 0);
    }
}
