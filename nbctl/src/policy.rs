//! Logical router policy commands (`lr-policy-add`, `lr-policy-del`, `lr-policy-list`).

use std::cmp::Ordering;
use std::net::IpAddr;

use dbctl::{Command, CommandSpec, CtlError, Ctx, Result, RowKey};
use ovsdb::{Atom, Datum, Row, Uuid};

use crate::acl::parse_priority;
use crate::addr::normalize_prefix;
use crate::cmd;
use crate::router::lr_must;

const LR: &str = "Logical_Router";
const POLICY: &str = "Logical_Router_Policy";

pub fn commands() -> Vec<CommandSpec> {
    vec![
        cmd(
            "lr-policy-add",
            4,
            usize::MAX,
            "ROUTER PRIORITY MATCH ACTION [NEXTHOP] [OPTIONS - KEY=VALUE ...]",
            "--may-exist",
            lr_policy_add,
        ),
        cmd(
            "lr-policy-del",
            1,
            3,
            "ROUTER [{PRIORITY | UUID} [MATCH]]",
            "--if-exists",
            lr_policy_del,
        ),
        cmd("lr-policy-list", 1, 1, "ROUTER", "", lr_policy_list),
    ]
}

fn policies(ctx: &mut Ctx, lr: &RowKey) -> Result<Vec<RowKey>> {
    let keys = ctx.txn.get(LR, lr, "policies").as_set().to_vec();
    ctx.txn.fetch(POLICY, &keys)?;
    Ok(keys)
}

fn priority_of(ctx: &Ctx, p: &RowKey) -> i64 {
    ctx.txn.get(POLICY, p, "priority").as_integer().unwrap_or(0)
}

/// Next hops "A[,B...]", each an address of one family, in canonical form.
fn parse_nexthops(arg: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut v4 = None;
    for token in arg.split(',').filter(|t| !t.is_empty()) {
        let ip: IpAddr = token
            .parse()
            .map_err(|_| CtlError::msg(format!("bad next hop argument: {arg}")))?;
        if *v4.get_or_insert(ip.is_ipv4()) != ip.is_ipv4() {
            return Err(CtlError::msg(format!(
                "bad next hops argument, not in the same addr family : {arg}"
            )));
        }
        out.push(ip.to_string());
    }
    if out.is_empty() {
        return Err(CtlError::msg(format!("bad next hop argument: {arg}")));
    }
    Ok(out)
}

fn lr_policy_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    let priority = parse_priority(c.arg(1))?;
    let match_ = c.arg(2);
    let action = c.arg(3);
    if !matches!(action, "allow" | "drop" | "reroute") {
        return Err(CtlError::msg(format!(
            "{action}: action must be one of \"allow\", \"drop\", and \"reroute\""
        )));
    }
    let reroute = action == "reroute";
    if reroute && c.args.len() < 5 {
        return Err(CtlError::msg("Nexthop is required when action is reroute."));
    }
    for p in policies(ctx, &lr)? {
        if priority_of(ctx, &p) == priority && ctx.txn.get_str(POLICY, &p, "match") == match_ {
            if c.has("--may-exist") {
                return Ok(());
            }
            return Err(CtlError::msg(format!(
                "Same routing policy already existed on the logical router {}.",
                c.arg(0)
            )));
        }
    }
    let nexthops = if reroute {
        parse_nexthops(c.arg(4))?
    } else {
        Vec::new()
    };
    let first_option = if reroute { 5 } else { 4 };
    let mut options = Vec::new();
    for a in &c.args[first_option..] {
        match a.split_once('=') {
            Some((k, v)) if !v.is_empty() => options.push((k.to_string(), v.to_string())),
            _ => {
                let key = a.split_once('=').map_or(a.as_str(), |(k, _)| k);
                return Err(CtlError::msg(format!(
                    "No value specified for the option : {key}"
                )));
            }
        }
    }
    let mut row = Row::new();
    row.insert("priority".into(), Datum::integer(priority));
    row.insert("match".into(), Datum::string(match_));
    row.insert("action".into(), Datum::string(action));
    if reroute {
        row.insert(
            "nexthops".into(),
            Datum::set(nexthops.into_iter().map(Atom::string)),
        );
    }
    row.insert("options".into(), Datum::string_map(options));
    let p = ctx.txn.insert(POLICY, row)?;
    ctx.txn.insert_into(LR, &lr, "policies", Datum::atom(p))
}

fn remove(ctx: &mut Ctx, lr: &RowKey, p: &RowKey) -> Result<()> {
    ctx.txn.delete_from(LR, lr, "policies", Datum::atom(p.clone()))?;
    ctx.txn.forget(p);
    Ok(())
}

fn lr_policy_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    let all = policies(ctx, &lr)?;
    if c.args.len() == 1 {
        for p in &all {
            ctx.txn.forget(p);
        }
        return ctx.txn.set(LR, &lr, "policies", Datum::empty_set());
    }
    let id = c.arg(1);
    if let Some(u) = Uuid::parse_str(id).ok().filter(|_| id.len() == 36) {
        match all.iter().find(|p| p.as_uuid() == Some(u)) {
            Some(p) => return remove(ctx, &lr, p),
            None if c.has("--if-exists") => return Ok(()),
            None => return Err(CtlError::msg("Logical router policy uuid is not found.")),
        }
    }
    let priority = parse_priority(id)?;
    let match_ = c.args.get(2);
    for p in all {
        if priority_of(ctx, &p) != priority {
            continue;
        }
        if let Some(m) = match_ {
            if ctx.txn.get_str(POLICY, &p, "match") == *m {
                return remove(ctx, &lr, &p);
            }
            continue;
        }
        remove(ctx, &lr, &p)?;
    }
    Ok(())
}

fn lr_policy_list(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    let mut list: Vec<(i64, String, RowKey)> = policies(ctx, &lr)?
        .into_iter()
        .map(|p| (priority_of(ctx, &p), ctx.txn.get_str(POLICY, &p, "match"), p))
        .collect();
    // Highest priority first, then by match text.
    list.sort_by(|a, b| match b.0.cmp(&a.0) {
        Ordering::Equal => a.1.cmp(&b.1),
        o => o,
    });
    let mut out = String::new();
    if !list.is_empty() {
        out.push_str("Routing Policies\n");
    }
    for (priority, match_, p) in &list {
        let action = ctx.txn.get_str(POLICY, p, "action");
        out += &format!("{priority:>10} {match_:>50} {action:>15}");
        let hops = ctx.txn.get(POLICY, p, "nexthops").strings();
        for (i, h) in hops.iter().enumerate() {
            let h = normalize_prefix(h).unwrap_or_default();
            if i == 0 {
                out += &format!(" {h:>25}");
            } else {
                out += &format!(", {h}");
            }
        }
        let options = ctx.txn.get(POLICY, p, "options").string_pairs();
        if !options.is_empty() {
            let kv: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out += &format!("{:15}{}", "", kv.join(","));
        }
        out.push('\n');
    }
    ctx.print(out);
    Ok(())
}
