//! QoS rule commands (`qos-add`, `qos-del`, `qos-list`): DSCP marking and rate limits
//! on a logical switch's traffic.

use std::cmp::Ordering;

use dbctl::{Command, CommandSpec, CtlError, Ctx, Result, RowKey};
use ovsdb::{Atom, Datum, Row, Uuid};

use crate::acl::{parse_direction, parse_priority};
use crate::cmd;
use crate::switch::ls_must;

const LS: &str = "Logical_Switch";
const QOS: &str = "QoS";

pub fn commands() -> Vec<CommandSpec> {
    vec![
        cmd(
            "qos-add",
            5,
            7,
            "SWITCH DIRECTION PRIORITY MATCH [rate=RATE [burst=BURST]] [dscp=DSCP]",
            "--may-exist",
            qos_add,
        ),
        cmd(
            "qos-del",
            1,
            4,
            "SWITCH [{DIRECTION | UUID} [PRIORITY MATCH]]",
            "",
            qos_del,
        ),
        cmd("qos-list", 1, 1, "SWITCH", "", qos_list),
    ]
}

/// What `qos-list` sorts by and `qos-add` compares for duplicates: direction (from-lport
/// first), priority (highest first), match.
fn key(ctx: &Ctx, q: &RowKey) -> (u8, i64, String) {
    let dir = u8::from(ctx.txn.get_str(QOS, q, "direction") != "from-lport");
    let prio = ctx.txn.get(QOS, q, "priority").as_integer().unwrap_or(0);
    (dir, prio, ctx.txn.get_str(QOS, q, "match"))
}

fn cmp_keys(a: &(u8, i64, String), b: &(u8, i64, String)) -> Ordering {
    a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2))
}

fn rules(ctx: &mut Ctx, ls: &RowKey) -> Result<Vec<RowKey>> {
    let keys = ctx.txn.get(LS, ls, "qos_rules").as_set().to_vec();
    ctx.txn.fetch(QOS, &keys)?;
    Ok(keys)
}

/// `NAME=N` with N in `lo..=hi`.
fn value(arg: &str, name: &str, lo: i64, hi: i64, range: &str) -> Result<i64> {
    arg.parse::<i64>()
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| CtlError::msg(format!("{arg}: {name} must be in the range {range}")))
}

fn qos_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let direction = parse_direction(c.arg(1))?;
    let priority = parse_priority(c.arg(2))?;
    let ls = ls_must(ctx, c.arg(0))?;
    let (mut dscp, mut rate, mut burst) = (None, None, None);
    for a in &c.args[4..] {
        if let Some(v) = a.strip_prefix("dscp=") {
            dscp = Some(value(v, "dscp", 0, 63, "0...63")?);
        } else if let Some(v) = a.strip_prefix("rate=") {
            rate = Some(value(v, "rate", 1, u32::MAX.into(), "1...4294967295")?);
        } else if let Some(v) = a.strip_prefix("burst=") {
            burst = Some(value(v, "burst", 1, u32::MAX.into(), "1...4294967295")?);
        } else {
            return Err(CtlError::msg(format!(
                "{a}: supported arguments are \"dscp=\", \"rate=\", and \"burst=\""
            )));
        }
    }
    if dscp.is_none() && rate.is_none() {
        return Err(CtlError::msg("Either \"rate\" and/or \"dscp\" must be specified"));
    }
    let new_key = (
        u8::from(direction != "from-lport"),
        priority,
        c.arg(3).to_string(),
    );
    for q in rules(ctx, &ls)? {
        if cmp_keys(&key(ctx, &q), &new_key) == Ordering::Equal {
            if c.has("--may-exist") {
                return Ok(());
            }
            return Err(CtlError::msg(format!(
                "Same qos already existed on the ls {}.",
                c.arg(0)
            )));
        }
    }
    let int_map = |pairs: Vec<(&str, i64)>| {
        Datum::map(
            pairs
                .into_iter()
                .map(|(k, v)| (Atom::string(k), Atom::Integer(v))),
        )
    };
    let mut row = Row::new();
    row.insert("priority".into(), Datum::integer(priority));
    row.insert("direction".into(), Datum::string(direction));
    row.insert("match".into(), Datum::string(c.arg(3)));
    if let Some(d) = dscp {
        row.insert("action".into(), int_map(vec![("dscp", d)]));
    }
    if let Some(r) = rate {
        let mut bw = vec![("rate", r)];
        bw.extend(burst.map(|b| ("burst", b)));
        row.insert("bandwidth".into(), int_map(bw));
    }
    let q = ctx.txn.insert(QOS, row)?;
    ctx.txn.insert_into(LS, &ls, "qos_rules", Datum::atom(q))
}

fn remove(ctx: &mut Ctx, ls: &RowKey, q: &RowKey) -> Result<()> {
    ctx.txn.delete_from(LS, ls, "qos_rules", Datum::atom(q.clone()))?;
    ctx.txn.forget(q);
    Ok(())
}

fn qos_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let ls = ls_must(ctx, c.arg(0))?;
    let all = rules(ctx, &ls)?;
    if c.args.len() == 1 {
        for q in &all {
            ctx.txn.forget(q);
        }
        return ctx.txn.set(LS, &ls, "qos_rules", Datum::empty_set());
    }
    let id = c.arg(1);
    let uuid = Uuid::parse_str(id).ok().filter(|_| id.len() == 36);
    let direction = match uuid {
        Some(_) => None,
        None => Some(parse_direction(id)?),
    };
    if c.args.len() == 2 {
        if let Some(u) = uuid {
            return match all.iter().find(|q| q.as_uuid() == Some(u)) {
                Some(q) => remove(ctx, &ls, q),
                None => Err(CtlError::msg("uuid is not found")),
            };
        }
        for q in &all {
            if Some(ctx.txn.get_str(QOS, q, "direction").as_str()) == direction {
                remove(ctx, &ls, q)?;
            }
        }
        return Ok(());
    }
    if uuid.is_some() {
        return Err(CtlError::msg("uuid must be the only argument"));
    }
    let priority = parse_priority(c.arg(2))?;
    let Some(match_) = c.args.get(3) else {
        return Err(CtlError::msg("cannot specify priority without match"));
    };
    for q in &all {
        let (_, p, m) = key(ctx, q);
        if p == priority && m == *match_ && Some(ctx.txn.get_str(QOS, q, "direction").as_str()) == direction {
            return remove(ctx, &ls, q);
        }
    }
    Ok(())
}

fn qos_list(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let ls = ls_must(ctx, c.arg(0))?;
    let mut list: Vec<((u8, i64, String), RowKey)> =
        rules(ctx, &ls)?.into_iter().map(|q| (key(ctx, &q), q)).collect();
    list.sort_by(|a, b| cmp_keys(&a.0, &b.0));
    let mut out = String::new();
    for (_, q) in &list {
        let direction = ctx.txn.get_str(QOS, q, "direction");
        let priority = ctx.txn.get(QOS, q, "priority").as_integer().unwrap_or(0);
        let match_ = ctx.txn.get_str(QOS, q, "match");
        out += &format!("{direction:>10} {priority:>5} ({match_})");
        let bw = ctx.txn.get(QOS, q, "bandwidth");
        let action = ctx.txn.get(QOS, q, "action");
        for (map, k) in [(&bw, "rate"), (&bw, "burst"), (&action, "dscp")] {
            if let Some(v) = map.map_get(k).and_then(Atom::as_integer) {
                out += &format!(" {k}={v}");
            }
        }
        out.push('\n');
    }
    ctx.print(out);
    Ok(())
}
