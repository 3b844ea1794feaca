//! The database commands every `*ctl` tool has: `list`, `find`, `get`, `set`,
//! `add`, `remove`, `clear`, `create`, `destroy` (Open vSwitch `db-ctl-base.c`).

use std::cmp::Ordering;

use ovsdb::schema::{AtomicType, ColumnType, TableSchema};
use ovsdb::{Atom, Datum, Row};

use crate::output::{Cell, Table};
use crate::record::{find_column, find_table};
use crate::value_parse::{parse_atom, parse_datum, parse_token, unbounded};
use crate::{Command, CommandSpec, CtlError, Ctx, Output, Result, RowKey, Syntax};

const MAX: usize = usize::MAX;

/// The generic commands, ready to be added to a program's command table.
pub fn commands() -> Vec<CommandSpec> {
    let c = |name, min_args, max_args, usage, options, run| CommandSpec {
        syntax: Syntax {
            name,
            min_args,
            max_args,
            usage,
            options,
        },
        run,
    };
    vec![
        c(
            "list",
            1,
            MAX,
            "TABLE [RECORD]...",
            "--if-exists,--columns=",
            cmd_list,
        ),
        c(
            "find",
            1,
            MAX,
            "TABLE [COLUMN[:KEY]=VALUE]...",
            "--columns=",
            cmd_find,
        ),
        c(
            "get",
            2,
            MAX,
            "TABLE RECORD [COLUMN[:KEY]]...",
            "--if-exists,--id=",
            cmd_get,
        ),
        c(
            "set",
            3,
            MAX,
            "TABLE RECORD COLUMN[:KEY]=VALUE...",
            "--if-exists",
            cmd_set,
        ),
        c(
            "add",
            4,
            MAX,
            "TABLE RECORD COLUMN [KEY=]VALUE...",
            "--if-exists",
            cmd_add,
        ),
        c(
            "remove",
            4,
            MAX,
            "TABLE RECORD COLUMN KEY|VALUE|KEY=VALUE...",
            "--if-exists",
            cmd_remove,
        ),
        c(
            "clear",
            3,
            MAX,
            "TABLE RECORD COLUMN...",
            "--if-exists",
            cmd_clear,
        ),
        c(
            "create",
            2,
            MAX,
            "TABLE COLUMN[:KEY]=VALUE...",
            "--id=",
            cmd_create,
        ),
        c(
            "wait-until",
            2,
            MAX,
            "TABLE RECORD [COLUMN[:KEY]=VALUE]...",
            "",
            cmd_wait_until,
        ),
        c(
            "destroy",
            1,
            MAX,
            "TABLE [RECORD]...",
            "--if-exists,--all",
            cmd_destroy,
        ),
    ]
}

fn table_of(ctx: &Ctx, name: &str) -> Result<TableSchema> {
    Ok(find_table(&ctx.txn.schema, name)?.clone())
}

fn uuid_type() -> ColumnType {
    ColumnType::scalar(AtomicType::Uuid)
}

/// `parse_column_key_value`: `COLUMN[:KEY][OP VALUE]`.
pub struct ColumnKeyValue {
    pub column: String,
    pub key: Option<String>,
    pub op: Option<&'static str>,
    pub value: Option<String>,
}

pub fn parse_column_key_value(
    arg: &str,
    table: &TableSchema,
    operators: Option<&[&'static str]>,
) -> Result<ColumnKeyValue> {
    let (name, mut p) = parse_token(arg)?;
    if name.is_empty() {
        return Err(CtlError::msg(format!("{arg}: missing column name")));
    }
    let column = find_column(table, &name)?;
    let mut key = None;
    if let Some(rest) = p.strip_prefix(':') {
        let (k, rest) = parse_token(rest)?;
        key = Some(k);
        p = rest;
    }
    let (mut op, mut value) = (None, None);
    match operators {
        Some(ops) => {
            let best = ops
                .iter()
                .filter(|o| p.starts_with(**o) && p.len() > o.len())
                .max_by_key(|o| o.len());
            let Some(best) = best else {
                return Err(CtlError::msg(missing_operator_error(arg, ops)));
            };
            op = Some(*best);
            value = Some(p[best.len()..].to_string());
        }
        None if !p.is_empty() => {
            return Err(CtlError::msg(format!(
                "{arg}: trailing garbage \"{p}\" in argument"
            )));
        }
        None => {}
    }
    Ok(ColumnKeyValue {
        column,
        key,
        op,
        value,
    })
}

fn missing_operator_error(arg: &str, ops: &[&str]) -> String {
    let mut s = format!("{arg}: argument does not end in \"{}\"", ops[0]);
    match ops.len() {
        1 => {}
        2 => s += &format!(" or \"{}\"", ops[1]),
        n => {
            for o in &ops[1..n - 1] {
                s += &format!(", \"{o}\"");
            }
            s += &format!(", or \"{}\"", ops[n - 1]);
        }
    }
    s + " followed by a value."
}

fn column_type(table: &TableSchema, column: &str) -> ColumnType {
    table
        .column(column)
        .map(|c| c.ty.clone())
        .unwrap_or_else(uuid_type)
}

fn check_mutable(table: &TableSchema, key: &RowKey, column: &str) -> Result<()> {
    let mutable = table.column(column).is_none_or(|c| c.mutable);
    if !mutable && matches!(key, Atom::Uuid(_)) {
        return Err(CtlError::msg(format!(
            "cannot modify read-only column {column} in table {}",
            table.name
        )));
    }
    Ok(())
}

/// `set_column`: `COLUMN=VALUE` replaces the column, `COLUMN:KEY=VALUE` sets one
/// pair of a map.
pub fn set_column(ctx: &mut Ctx, table: &TableSchema, key: &RowKey, arg: &str) -> Result<()> {
    let ckv = parse_column_key_value(arg, table, Some(&["="]))?;
    let value = ckv
        .value
        .ok_or_else(|| CtlError::msg(format!("{arg}: missing value")))?;
    check_mutable(table, key, &ckv.column)?;
    let ty = column_type(table, &ckv.column);
    let datum = match &ckv.key {
        Some(k) => {
            let Some(vt) = &ty.value else {
                return Err(CtlError::msg(format!(
                    "cannot specify key to set for non-map column {}",
                    ckv.column
                )));
            };
            let ka = parse_atom(k, &ty.key, &ctx.symbols)?;
            let va = parse_atom(&value, vt, &ctx.symbols)?;
            let mut m = ctx
                .txn
                .get(&table.name, key, &ckv.column)
                .as_map()
                .cloned()
                .unwrap_or_default();
            m.insert(ka, va);
            Datum::Map(m)
        }
        None => parse_datum(&value, &ty, &ctx.symbols)?,
    };
    ctx.txn.set(&table.name, key, &ckv.column, datum)
}

fn parse_columns(table: &TableSchema, spec: Option<&str>) -> Result<Vec<Option<String>>> {
    match spec {
        None => Ok(std::iter::once(None)
            .chain(table.columns.keys().map(|c| Some(c.clone())))
            .collect()),
        Some(s) => {
            let mut cols = Vec::new();
            for name in s.split([',', ' ']).filter(|n| !n.is_empty()) {
                if name.eq_ignore_ascii_case("_uuid") {
                    cols.push(None);
                } else {
                    cols.push(Some(find_column(table, name)?));
                }
            }
            if cols.is_empty() {
                return Err(CtlError::msg("must specify at least one column name"));
            }
            Ok(cols)
        }
    }
}

fn make_table(columns: &[Option<String>]) -> Table {
    Table {
        headings: columns
            .iter()
            .map(|c| c.clone().unwrap_or_else(|| "_uuid".into()))
            .collect(),
        rows: Vec::new(),
    }
}

fn list_record(ctx: &Ctx, table: &TableSchema, key: &RowKey, columns: &[Option<String>], out: &mut Table) {
    let row = columns
        .iter()
        .map(|c| match c {
            None => Cell::Datum(Datum::atom(key.clone()), Box::new(uuid_type())),
            Some(c) => Cell::Datum(ctx.txn.get(&table.name, key, c), Box::new(column_type(table, c))),
        })
        .collect();
    out.rows.push(row);
}

/// All rows of a table in a stable order (by UUID).
fn all_sorted(ctx: &mut Ctx, table: &str) -> Result<Vec<RowKey>> {
    let mut keys = ctx.txn.all(table)?;
    keys.sort_by_key(|k| k.to_string());
    Ok(keys)
}

fn cmd_list(ctx: &mut Ctx, cmd: &Command) -> Result<()> {
    let table = table_of(ctx, cmd.arg(0))?;
    let columns = parse_columns(&table, cmd.opt("--columns"))?;
    let must_exist = !cmd.has("--if-exists");
    let mut out = make_table(&columns);
    if cmd.args.len() > 1 {
        for id in &cmd.args[1..] {
            if let Some(k) = ctx.get_row(&table.name, id, must_exist)? {
                list_record(ctx, &table, &k, &columns, &mut out);
            }
        }
    } else {
        for k in all_sorted(ctx, &table.name)? {
            list_record(ctx, &table, &k, &columns, &mut out);
        }
    }
    ctx.out.push(Output::Table(out));
    Ok(())
}

const RELOPS: &[&str] = &[
    "=", "!=", "<", ">", "<=", ">=", "{=}", "{!=}", "{<}", "{>}", "{<=}", "{>=}", "{in}", "{not-in}",
];

fn compare_3way(a: &Datum, b: &Datum) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| match (a, b) {
        (Datum::Map(x), Datum::Map(y)) => x.keys().cmp(y.keys()).then_with(|| x.values().cmp(y.values())),
        _ => a.keys().cmp(&b.keys()),
    })
}

fn pairs(d: &Datum) -> Vec<(Atom, Option<Atom>)> {
    match d {
        Datum::Set(s) => s.iter().map(|a| (a.clone(), None)).collect(),
        Datum::Map(m) => m.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect(),
    }
}

/// Every element of `a` is in `b`.
fn includes_all(a: &Datum, b: &Datum) -> bool {
    let bp = pairs(b);
    pairs(a).iter().all(|p| bp.contains(p))
}

fn excludes_all(a: &Datum, b: &Datum) -> bool {
    let bp = pairs(b);
    pairs(a).iter().all(|p| !bp.contains(p))
}

fn evaluate_relop(a: &Datum, b: &Datum, op: &str) -> bool {
    match op {
        "=" | "{=}" => compare_3way(a, b) == Ordering::Equal,
        "!=" | "{!=}" => compare_3way(a, b) != Ordering::Equal,
        "<" => compare_3way(a, b) == Ordering::Less,
        ">" => compare_3way(a, b) == Ordering::Greater,
        "<=" => compare_3way(a, b) != Ordering::Greater,
        ">=" => compare_3way(a, b) != Ordering::Less,
        "{<}" => b.len() > a.len() && includes_all(a, b),
        "{>}" => a.len() > b.len() && includes_all(b, a),
        "{<=}" | "{in}" => includes_all(a, b),
        "{>=}" => includes_all(b, a),
        "{not-in}" => excludes_all(a, b),
        _ => false,
    }
}

/// `check_condition`: whether `row` satisfies `COLUMN[:KEY]OP VALUE`.
/// A `COLUMN[:KEY]OP VALUE` condition parsed against its table, to test rows with.
pub struct Condition {
    column: String,
    /// The map key to compare the value of, for `COLUMN:KEY`.
    key: Option<Atom>,
    op: String,
    want: Datum,
    is_map: bool,
}

impl Condition {
    pub fn parse(ctx: &Ctx, table: &TableSchema, arg: &str) -> Result<Condition> {
        let ckv = parse_column_key_value(arg, table, Some(RELOPS))?;
        let (op, value) = (ckv.op.unwrap_or("="), ckv.value.unwrap_or_default());
        let ty = column_type(table, &ckv.column);
        let (key, want) = match &ckv.key {
            Some(k) => {
                let Some(vt) = &ty.value else {
                    return Err(CtlError::msg(format!(
                        "cannot specify key to check for non-map column {}",
                        ckv.column
                    )));
                };
                let want_key = parse_atom(k, &ty.key, &ctx.symbols)?;
                let vty = ColumnType {
                    key: vt.clone(),
                    value: None,
                    min: 0,
                    max: None,
                };
                (Some(want_key), parse_datum(&value, &vty, &ctx.symbols)?)
            }
            None => (None, parse_datum(&value, &ty, &ctx.symbols)?),
        };
        Ok(Condition {
            column: ckv.column,
            key,
            op: op.to_string(),
            want,
            is_map: ty.is_map(),
        })
    }

    pub fn holds(&self, row: &Row) -> bool {
        let have = row.get(&self.column).cloned().unwrap_or_default();
        let is_set_op = self.op.starts_with('{');
        match &self.key {
            Some(k) => match have.as_map().and_then(|m| m.get(k)) {
                None if !is_set_op => false,
                None => evaluate_relop(&Datum::empty_set(), &self.want, &self.op),
                Some(v) => evaluate_relop(&Datum::atom(v.clone()), &self.want, &self.op),
            },
            None => {
                let have = match (&have, self.is_map) {
                    (Datum::Set(s), true) if s.is_empty() => Datum::empty_map(),
                    _ => have,
                };
                evaluate_relop(&have, &self.want, &self.op)
            }
        }
    }
}

pub fn condition_satisfied(ctx: &Ctx, table: &TableSchema, row: &Row, arg: &str) -> Result<bool> {
    Ok(Condition::parse(ctx, table, arg)?.holds(row))
}

/// `wait-until TABLE RECORD [COLUMN[:KEY]=VALUE]...`: blocks until the record exists and
/// meets every condition (the `--timeout` option bounds the wait).
fn cmd_wait_until(ctx: &mut Ctx, cmd: &Command) -> Result<()> {
    let table = table_of(ctx, cmd.arg(0))?;
    let conds = cmd.args[2..]
        .iter()
        .map(|a| Condition::parse(ctx, &table, a))
        .collect::<Result<Vec<_>>>()?;
    let record = cmd.arg(1).to_string();
    let names: Vec<(&str, Option<&str>)> = ctx
        .row_ids
        .iter()
        .filter(|r| r.table == table.name)
        .map(|r| (r.column, r.key))
        .collect();
    // A row is the record if its UUID is, or a column naming rows of this table holds it.
    let is_record = |uuid: &str, row: &Row| {
        uuid.eq_ignore_ascii_case(&record)
            || names.iter().any(|(col, key)| {
                let v = row.get(col);
                match key {
                    None => v.and_then(Datum::as_str) == Some(record.as_str()),
                    Some(k) => v.and_then(|d| d.map_get(k)).and_then(Atom::as_str) == Some(record.as_str()),
                }
            })
    };
    let columns: Vec<String> = table.columns.keys().cloned().collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let single = record == ".";
    ctx.txn.wait_for_rows(&table.name, &columns, |rows| {
        let mut candidates: Box<dyn Iterator<Item = &Row>> = if single {
            Box::new(rows.values().take(usize::from(rows.len() == 1)))
        } else {
            Box::new(rows.iter().filter(|(u, r)| is_record(u, r)).map(|(_, r)| r))
        };
        candidates.any(|r| conds.iter().all(|c| c.holds(r)))
    })
}

fn cmd_find(ctx: &mut Ctx, cmd: &Command) -> Result<()> {
    let table = table_of(ctx, cmd.arg(0))?;
    let columns = parse_columns(&table, cmd.opt("--columns"))?;
    let mut out = make_table(&columns);
    for arg in &cmd.args[1..] {
        parse_column_key_value(arg, &table, Some(RELOPS))?;
    }
    for k in all_sorted(ctx, &table.name)? {
        let Some(row) = ctx.txn.row(&table.name, &k).cloned() else {
            continue;
        };
        let mut ok = true;
        for arg in &cmd.args[1..] {
            if !condition_satisfied(ctx, &table, &row, arg)? {
                ok = false;
                break;
            }
        }
        if ok {
            list_record(ctx, &table, &k, &columns, &mut out);
        }
    }
    ctx.out.push(Output::Table(out));
    Ok(())
}

fn cmd_get(ctx: &mut Ctx, cmd: &Command) -> Result<()> {
    let table = table_of(ctx, cmd.arg(0))?;
    let must_exist = !cmd.has("--if-exists");
    let id = cmd.opt("--id");
    if id.is_some() && !must_exist {
        return Err(CtlError::msg(
            "--if-exists and --id may not be specified together",
        ));
    }
    for arg in &cmd.args[2..] {
        if !arg.eq_ignore_ascii_case("_uuid") && !arg.eq_ignore_ascii_case("-uuid") {
            parse_column_key_value(arg, &table, None)?;
        }
    }
    let record = cmd.arg(1);
    let Some(key) = ctx.get_row(&table.name, record, must_exist)? else {
        return Ok(());
    };
    if let Some(id) = id {
        if !id.starts_with('@') {
            return Err(CtlError::msg(format!(
                "row id \"{id}\" does not begin with \"@\""
            )));
        }
        if ctx.symbols.insert(id.to_string(), key.clone()).is_some() {
            return Err(CtlError::msg(format!(
                "row id \"{id}\" specified on \"get\" command was used before it was defined"
            )));
        }
    }
    let mut out = String::new();
    for arg in &cmd.args[2..] {
        if arg.eq_ignore_ascii_case("_uuid") || arg.eq_ignore_ascii_case("-uuid") {
            out += &format!("{key}\n");
            continue;
        }
        let ckv = parse_column_key_value(arg, &table, None)?;
        let ty = column_type(&table, &ckv.column);
        let datum = ctx.txn.get(&table.name, &key, &ckv.column);
        match &ckv.key {
            Some(k) => {
                if ty.value.is_none() {
                    return Err(CtlError::msg(format!(
                        "cannot specify key to get for non-map column {}",
                        ckv.column
                    )));
                }
                let ka = parse_atom(k, &ty.key, &ctx.symbols)?;
                match datum.as_map().and_then(|m| m.get(&ka)) {
                    Some(v) => out += &v.to_string(),
                    None if must_exist => {
                        return Err(CtlError::msg(format!(
                            "no key \"{k}\" in {} record \"{record}\" column {}",
                            table.name, ckv.column
                        )));
                    }
                    None => {}
                }
            }
            None => out += &crate::value_parse::datum_to_string(&datum, &ty),
        }
        out.push('\n');
    }
    ctx.print(out);
    Ok(())
}

fn cmd_set(ctx: &mut Ctx, cmd: &Command) -> Result<()> {
    let table = table_of(ctx, cmd.arg(0))?;
    for arg in &cmd.args[2..] {
        parse_column_key_value(arg, &table, Some(&["="]))?;
    }
    let Some(key) = ctx.get_row(&table.name, cmd.arg(1), !cmd.has("--if-exists"))? else {
        return Ok(());
    };
    for arg in &cmd.args[2..] {
        set_column(ctx, &table, &key, arg)?;
    }
    Ok(())
}

fn cmd_add(ctx: &mut Ctx, cmd: &Command) -> Result<()> {
    let table = table_of(ctx, cmd.arg(0))?;
    let column = find_column(&table, cmd.arg(2))?;
    let Some(key) = ctx.get_row(&table.name, cmd.arg(1), !cmd.has("--if-exists"))? else {
        return Ok(());
    };
    check_mutable(&table, &key, &column)?;
    let ty = column_type(&table, &column);
    let add_ty = ColumnType {
        min: 1,
        ..unbounded(&ty)
    };
    let mut cur = ctx.txn.get(&table.name, &key, &column);
    for v in &cmd.args[3..] {
        let add = parse_datum(v, &add_ty, &ctx.symbols)?;
        cur = match (cur, add) {
            (Datum::Map(mut m), Datum::Map(a)) => {
                for (k, v) in a {
                    if !m.contains_key(&k) {
                        m.insert(k, v);
                    }
                }
                Datum::Map(m)
            }
            (Datum::Set(s), Datum::Map(a)) if s.is_empty() => Datum::Map(a),
            (c, a) => Datum::set(c.keys().into_iter().chain(a.keys()).cloned()),
        };
    }
    if let Some(max) = ty.max
        && cur.len() as u64 > max
    {
        return Err(CtlError::msg(format!(
            "\"add\" operation would put {} {} in column {column} of table {} but the maximum number is {max}",
            cur.len(),
            if ty.is_map() { "pairs" } else { "values" },
            table.name
        )));
    }
    ctx.txn.set(&table.name, &key, &column, cur)
}

fn cmd_remove(ctx: &mut Ctx, cmd: &Command) -> Result<()> {
    let table = table_of(ctx, cmd.arg(0))?;
    let column = find_column(&table, cmd.arg(2))?;
    let Some(key) = ctx.get_row(&table.name, cmd.arg(1), !cmd.has("--if-exists"))? else {
        return Ok(());
    };
    check_mutable(&table, &key, &column)?;
    let ty = column_type(&table, &column);
    let rm_ty = ColumnType {
        min: 1,
        ..unbounded(&ty)
    };
    let mut cur = ctx.txn.get(&table.name, &key, &column);
    for v in &cmd.args[3..] {
        let rm = match parse_datum(v, &rm_ty, &ctx.symbols) {
            Ok(d) => d,
            Err(e) if ty.is_map() => {
                let keys_ty = ColumnType {
                    value: None,
                    ..rm_ty.clone()
                };
                parse_datum(v, &keys_ty, &ctx.symbols).map_err(|_| e)?
            }
            Err(e) => return Err(e),
        };
        cur = match (cur, &rm) {
            (Datum::Map(m), Datum::Map(r)) => {
                Datum::Map(m.into_iter().filter(|(k, v)| r.get(k) != Some(v)).collect())
            }
            (Datum::Map(m), Datum::Set(r)) => {
                Datum::Map(m.into_iter().filter(|(k, _)| !r.contains(k)).collect())
            }
            (c, r) => {
                let rk = r.keys();
                Datum::set(c.keys().into_iter().filter(|a| !rk.contains(a)).cloned())
            }
        };
    }
    if (cur.len() as u64) < ty.min {
        return Err(CtlError::msg(format!(
            "\"remove\" operation would put {} {} in column {column} of table {} but the minimum number is {}",
            cur.len(),
            if ty.is_map() { "pairs" } else { "values" },
            table.name,
            ty.min
        )));
    }
    ctx.txn.set(&table.name, &key, &column, cur)
}

fn cmd_clear(ctx: &mut Ctx, cmd: &Command) -> Result<()> {
    let table = table_of(ctx, cmd.arg(0))?;
    let columns: Vec<String> = cmd.args[2..]
        .iter()
        .map(|c| find_column(&table, c))
        .collect::<Result<_>>()?;
    let Some(key) = ctx.get_row(&table.name, cmd.arg(1), !cmd.has("--if-exists"))? else {
        return Ok(());
    };
    for column in columns {
        check_mutable(&table, &key, &column)?;
        let ty = column_type(&table, &column);
        if ty.min > 0 {
            return Err(CtlError::msg(format!(
                "\"clear\" operation cannot be applied to column {column} of table {}, which is not allowed to be empty",
                table.name
            )));
        }
        let empty = if ty.is_map() {
            Datum::empty_map()
        } else {
            Datum::empty_set()
        };
        ctx.txn.set(&table.name, &key, &column, empty)?;
    }
    Ok(())
}

fn cmd_create(ctx: &mut Ctx, cmd: &Command) -> Result<()> {
    let table = table_of(ctx, cmd.arg(0))?;
    for arg in &cmd.args[1..] {
        parse_column_key_value(arg, &table, Some(&["="]))?;
    }
    let name = match cmd.opt("--id") {
        Some(id) if !id.starts_with('@') => {
            return Err(CtlError::msg(format!(
                "row id \"{id}\" does not begin with \"@\""
            )));
        }
        Some(id) => match ctx.symbols.get(id) {
            Some(Atom::NamedUuid(n)) if !ctx.txn.is_inserted(n) => Some(n.clone()),
            Some(_) => {
                return Err(CtlError::msg(format!(
                    "row id \"{id}\" may only be specified on one --id option"
                )));
            }
            None => {
                let n = ctx.txn.new_name();
                ctx.symbols.insert(id.to_string(), Atom::NamedUuid(n.clone()));
                Some(n)
            }
        },
        None => None,
    };
    let key = ctx.txn.insert_named(&table.name, Row::new(), name)?;
    for arg in &cmd.args[1..] {
        set_column(ctx, &table, &key, arg)?;
    }
    ctx.out.push(Output::Inserted(key));
    Ok(())
}

fn cmd_destroy(ctx: &mut Ctx, cmd: &Command) -> Result<()> {
    let table = table_of(ctx, cmd.arg(0))?;
    let all = cmd.has("--all");
    let must_exist = !cmd.has("--if-exists");
    if all && cmd.args.len() > 1 {
        return Err(CtlError::msg(
            "--all and records argument should not be specified together",
        ));
    }
    if all && !must_exist {
        return Err(CtlError::msg(
            "--all and --if-exists should not be specified together",
        ));
    }
    if all {
        for k in ctx.txn.all(&table.name)? {
            ctx.txn.delete(&table.name, &k);
        }
        return Ok(());
    }
    for id in &cmd.args[1..] {
        if let Some(k) = ctx.get_row(&table.name, id, must_exist)? {
            ctx.txn.delete(&table.name, &k);
        }
    }
    Ok(())
}

/// Assigns named UUIDs to every `--id=@name` of a `create` up front, so that
/// earlier commands may refer to rows created later on the command line.
pub fn predeclare_ids(ctx: &mut Ctx, commands: &[Command]) {
    for c in commands.iter().filter(|c| c.name == "create") {
        if let Some(id) = c.opt("--id")
            && id.starts_with('@')
            && !ctx.symbols.contains_key(id)
        {
            let n = ctx.txn.new_name();
            ctx.symbols.insert(id.to_string(), Atom::NamedUuid(n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relops_follow_ovs_semantics() {
        let a = Datum::set([Atom::string("a")]);
        let ab = Datum::set([Atom::string("a"), Atom::string("b")]);
        assert!(evaluate_relop(&a, &ab, "{<}"));
        assert!(evaluate_relop(&a, &ab, "{in}"));
        assert!(!evaluate_relop(&ab, &a, "{in}"));
        assert!(evaluate_relop(&a, &Datum::string("c"), "{not-in}"));
        assert!(evaluate_relop(&a, &ab, "<"));
        assert!(evaluate_relop(&Datum::integer(5), &Datum::integer(7), "<="));
        assert!(evaluate_relop(&a, &a.clone(), "="));
    }
}
