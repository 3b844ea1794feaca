//! ACL and port group commands: `acl-add`, `acl-del`, `acl-list`, `pg-add`,
//! `pg-set-ports`, `pg-del`.

use std::cmp::Ordering;

use dbctl::{Command, CommandSpec, CtlError, Ctx, Result, RowKey};
use ovsdb::{Datum, Row};

use crate::switch::{ls_by_name_or_uuid, lsp_by_name_or_uuid};
use crate::{by_name_or_uuid, cmd};

const ACL: &str = "ACL";
const LS: &str = "Logical_Switch";
const PG: &str = "Port_Group";
const ACTIONS: &[&str] = &["allow", "allow-related", "allow-stateless", "drop", "reject"];
const SEVERITIES: &[&str] = &["alert", "warning", "notice", "info", "debug"];

pub fn commands() -> Vec<CommandSpec> {
    vec![
        cmd(
            "acl-add",
            5,
            5,
            "{SWITCH | PORTGROUP} DIRECTION PRIORITY MATCH ACTION",
            "--log,--may-exist,--type=,--name=,--severity=,--meter=,--label=,--apply-after-lb",
            acl_add,
        ),
        cmd(
            "acl-del",
            1,
            4,
            "{SWITCH | PORTGROUP} [DIRECTION [PRIORITY MATCH]]",
            "--type=",
            acl_del,
        ),
        cmd("acl-list", 1, 1, "{SWITCH | PORTGROUP}", "--type=", acl_list),
        cmd("pg-add", 1, usize::MAX, "PG [PORTS]", "", pg_add),
        cmd("pg-set-ports", 2, usize::MAX, "PG PORTS", "", pg_set_ports),
        cmd("pg-del", 1, 1, "PG", "", pg_del),
    ]
}

fn pg_by_name_or_uuid(ctx: &mut Ctx, id: &str, must_exist: bool) -> Result<Option<RowKey>> {
    by_name_or_uuid(ctx, PG, id, must_exist, "port group", "")
}

/// The row whose `acls` the command works on: a port group or a switch, as
/// `--type` says or, without it, whichever one `id` names.
fn acl_owner(ctx: &mut Ctx, c: &Command) -> Result<(&'static str, RowKey)> {
    let id = c.arg(0);
    match c.opt("--type") {
        None => {
            let pg = pg_by_name_or_uuid(ctx, id, false)?;
            let ls = ls_by_name_or_uuid(ctx, id, false)?;
            match (pg, ls) {
                (Some(_), Some(_)) => Err(CtlError::msg(format!(
                    "Same name '{id}' exists in both port-groups and logical switches. Specify \
                     --type=port-group or switch, or use a UUID."
                ))),
                (Some(pg), None) => Ok((PG, pg)),
                (None, Some(ls)) => Ok((LS, ls)),
                (None, None) => Err(CtlError::msg(format!(
                    "'{id}' is not found for port-group or switch."
                ))),
            }
        }
        Some("port-group") => Ok((PG, pg_by_name_or_uuid(ctx, id, true)?.expect("must_exist"))),
        Some("switch") => Ok((LS, ls_by_name_or_uuid(ctx, id, true)?.expect("must_exist"))),
        Some(t) => Err(CtlError::msg(format!("Invalid value '{t}' for option --type"))),
    }
}

pub(crate) fn parse_direction(arg: &str) -> Result<&'static str> {
    // Only the first letter counts, as in ovn-nbctl.
    match arg.as_bytes().first() {
        Some(b't') => Ok("to-lport"),
        Some(b'f') => Ok("from-lport"),
        _ => Err(CtlError::msg(format!(
            "{arg}: direction must be \"to-lport\" or \"from-lport\""
        ))),
    }
}

pub(crate) fn parse_priority(arg: &str) -> Result<i64> {
    arg.parse::<i64>()
        .ok()
        .filter(|p| (0..=32767).contains(p))
        .ok_or_else(|| CtlError::msg(format!("{arg}: priority must in range 0...32767")))
}

/// What `acl-list` sorts by and `acl-add` compares for duplicates.
struct AclKey {
    direction: String,
    after_lb: bool,
    priority: i64,
    match_: String,
}

impl AclKey {
    fn of(ctx: &Ctx, acl: &RowKey) -> AclKey {
        let opts = ctx.txn.get(ACL, acl, "options").string_pairs();
        AclKey {
            direction: ctx.txn.get_str(ACL, acl, "direction"),
            after_lb: opts.get("apply-after-lb").is_some_and(|v| v == "true"),
            priority: ctx.txn.get(ACL, acl, "priority").as_integer().unwrap_or(0),
            match_: ctx.txn.get_str(ACL, acl, "match"),
        }
    }

    /// from-lport first, after-lb ones last, then higher priority, then match.
    fn cmp(&self, o: &AclKey) -> Ordering {
        let dir = |d: &str| u8::from(d != "from-lport");
        dir(&self.direction)
            .cmp(&dir(&o.direction))
            .then(self.after_lb.cmp(&o.after_lb))
            .then(o.priority.cmp(&self.priority))
            .then(self.match_.cmp(&o.match_))
    }
}

fn acls_of(ctx: &mut Ctx, table: &str, owner: &RowKey) -> Result<Vec<RowKey>> {
    let acls = ctx.txn.get(table, owner, "acls").as_set().to_vec();
    ctx.txn.fetch(ACL, &acls)?;
    Ok(acls)
}

fn acl_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let (table, owner) = acl_owner(ctx, c)?;
    let direction = parse_direction(c.arg(1))?;
    let priority = parse_priority(c.arg(2))?;
    let action = c.arg(4);
    if !ACTIONS.contains(&action) {
        return Err(CtlError::msg(format!(
            "{action}: action must be one of \"allow\", \"allow-related\", \"allow-stateless\", \
             \"drop\", and \"reject\""
        )));
    }
    let mut row = Row::new();
    row.insert("priority".into(), Datum::integer(priority));
    row.insert("direction".into(), Datum::string(direction));
    row.insert("match".into(), Datum::string(c.arg(3)));
    row.insert("action".into(), Datum::string(action));
    let (name, severity, meter) = (c.opt("--name"), c.opt("--severity"), c.opt("--meter"));
    if c.has("--log") || name.is_some() || severity.is_some() || meter.is_some() {
        row.insert("log".into(), Datum::boolean(true));
    }
    if let Some(s) = severity {
        if !SEVERITIES.contains(&s) {
            return Err(CtlError::msg(format!("bad severity: {s}")));
        }
        row.insert("severity".into(), Datum::string(s));
    }
    if let Some(n) = name {
        row.insert("name".into(), Datum::string(n));
    }
    if let Some(m) = meter {
        row.insert("meter".into(), Datum::string(m));
    }
    if let Some(l) = c.opt("--label") {
        if action != "allow" && action != "allow-related" {
            return Err(CtlError::msg(
                "label can only be set with actions \"allow\" or \"allow-related\"",
            ));
        }
        let label = l
            .parse::<i64>()
            .ok()
            .filter(|v| (0..=i64::from(u32::MAX)).contains(v))
            .ok_or_else(|| CtlError::msg(format!("{l}: label must in range 0...4294967295")))?;
        row.insert("label".into(), Datum::integer(label));
    }
    let after_lb = direction == "from-lport" && c.has("--apply-after-lb");
    if after_lb {
        row.insert("options".into(), Datum::string_map([("apply-after-lb", "true")]));
    }
    let new = AclKey {
        direction: direction.into(),
        after_lb,
        priority,
        match_: c.arg(3).into(),
    };
    for acl in acls_of(ctx, table, &owner)? {
        if AclKey::of(ctx, &acl).cmp(&new) == Ordering::Equal {
            if c.has("--may-exist") {
                return Ok(());
            }
            return Err(CtlError::msg(format!(
                "Same ACL already existed on the ls {}.",
                c.arg(0)
            )));
        }
    }
    let acl = ctx.txn.insert(ACL, row)?;
    ctx.txn.insert_into(table, &owner, "acls", Datum::atom(acl))
}

fn acl_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let (table, owner) = acl_owner(ctx, c)?;
    if c.args.len() == 1 {
        return ctx.txn.set(table, &owner, "acls", Datum::empty_set());
    }
    let direction = parse_direction(c.arg(1))?;
    let acls = acls_of(ctx, table, &owner)?;
    if c.args.len() == 2 {
        for acl in acls {
            if ctx.txn.get_str(ACL, &acl, "direction") == direction {
                ctx.txn.delete_from(table, &owner, "acls", Datum::atom(acl))?;
            }
        }
        return Ok(());
    }
    let priority = parse_priority(c.arg(2))?;
    if c.args.len() == 3 {
        return Err(CtlError::msg("cannot specify priority without match"));
    }
    let found = acls.into_iter().find(|acl| {
        let k = AclKey::of(ctx, acl);
        k.priority == priority && k.match_ == c.arg(3) && k.direction == direction
    });
    match found {
        Some(acl) => ctx.txn.delete_from(table, &owner, "acls", Datum::atom(acl)),
        None => Ok(()),
    }
}

fn acl_list(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let (table, owner) = acl_owner(ctx, c)?;
    let mut acls: Vec<(AclKey, RowKey)> = acls_of(ctx, table, &owner)?
        .into_iter()
        .map(|a| (AclKey::of(ctx, &a), a))
        .collect();
    acls.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (k, acl) in &acls {
        let action = ctx.txn.get_str(ACL, acl, "action");
        out.push_str(&format!(
            "{:>10} {:>5} ({}) {action}",
            k.direction, k.priority, k.match_
        ));
        if ctx.txn.get(ACL, acl, "log").as_bool() == Some(true) {
            let mut parts = Vec::new();
            let opt = |col: &str| ctx.txn.get(ACL, acl, col).as_str().map(str::to_string);
            if let Some(n) = opt("name") {
                parts.push(format!("name={n}"));
            }
            if let Some(s) = opt("severity") {
                parts.push(format!("severity={s}"));
            }
            if let Some(m) = opt("meter") {
                parts.push(format!("meter=\"{m}\""));
            }
            out.push_str(&format!(" log({})", parts.join(",")));
        }
        let label = ctx.txn.get(ACL, acl, "label").as_integer().unwrap_or(0);
        if label != 0 {
            out.push_str(&format!(" label={label}"));
        }
        if k.after_lb {
            out.push_str(" [after-lb]");
        }
        out.push('\n');
    }
    ctx.print(out);
    Ok(())
}

fn port_set(ctx: &mut Ctx, names: &[String]) -> Result<Datum> {
    let mut ports = Vec::new();
    for n in names {
        ports.push(lsp_by_name_or_uuid(ctx, n, true)?.expect("must_exist"));
    }
    Ok(Datum::set(ports))
}

fn pg_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let mut row = Row::new();
    row.insert("name".into(), Datum::string(c.arg(0)));
    row.insert("ports".into(), port_set(ctx, &c.args[1..])?);
    ctx.txn.insert(PG, row)?;
    Ok(())
}

fn pg_set_ports(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let pg = pg_by_name_or_uuid(ctx, c.arg(0), true)?.expect("must_exist");
    let ports = port_set(ctx, &c.args[1..])?;
    ctx.txn.set(PG, &pg, "ports", ports)
}

fn pg_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let pg = pg_by_name_or_uuid(ctx, c.arg(0), true)?.expect("must_exist");
    ctx.txn.delete(PG, &pg);
    Ok(())
}
