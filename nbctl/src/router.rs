//! Logical router, router port and static route commands.

use std::cmp::Ordering;
use std::net::IpAddr;

use dbctl::{Command, CommandSpec, CtlError, Ctx, Result, RowKey};
use ovsdb::{Atom, Condition, Datum, Row};

use crate::addr::{normalize_prefix, parse_cidr, parse_mac};
use crate::switch::{add_named, del_with_ports, parse_enabled, parse_options, print_options};
use crate::{by_name_or_uuid, cmd};

const LR: &str = "Logical_Router";
const LRP: &str = "Logical_Router_Port";
const ROUTE: &str = "Logical_Router_Static_Route";
const MAX: usize = usize::MAX;

pub fn commands() -> Vec<CommandSpec> {
    vec![
        cmd("lr-add", 0, 1, "[ROUTER]", "--may-exist,--add-duplicate", lr_add),
        cmd("lr-del", 1, 1, "ROUTER", "--if-exists", lr_del),
        cmd("lr-list", 0, 0, "", "", lr_list),
        cmd(
            "lrp-add",
            4,
            MAX,
            "ROUTER PORT MAC NETWORK... [COLUMN[:KEY]=VALUE]...",
            "--may-exist",
            lrp_add,
        ),
        cmd("lrp-del", 1, 1, "PORT", "--if-exists", lrp_del),
        cmd("lrp-list", 1, 1, "ROUTER", "", lrp_list),
        cmd("lrp-set-enabled", 2, 2, "PORT STATE", "", lrp_set_enabled),
        cmd("lrp-get-enabled", 1, 1, "PORT", "", lrp_get_enabled),
        cmd(
            "lrp-set-options",
            1,
            MAX,
            "PORT KEY=VALUE [KEY=VALUE]...",
            "",
            lrp_set_options,
        ),
        cmd("lrp-get-options", 1, 1, "PORT", "", lrp_get_options),
        cmd(
            "lrp-set-gateway-chassis",
            2,
            3,
            "PORT CHASSIS [PRIORITY]",
            "",
            lrp_set_gateway_chassis,
        ),
        cmd(
            "lrp-del-gateway-chassis",
            2,
            2,
            "PORT CHASSIS",
            "",
            lrp_del_gateway_chassis,
        ),
        cmd(
            "lrp-get-gateway-chassis",
            1,
            1,
            "PORT",
            "",
            lrp_get_gateway_chassis,
        ),
        cmd(
            "lr-route-add",
            3,
            4,
            "ROUTER PREFIX NEXTHOP [PORT]",
            "--may-exist,--ecmp,--ecmp-symmetric-reply,--policy=,--route-table=,--bfd?",
            lr_route_add,
        ),
        cmd(
            "lr-route-del",
            1,
            4,
            "ROUTER [PREFIX [NEXTHOP [PORT]]]",
            "--if-exists,--policy=,--route-table=",
            lr_route_del,
        ),
        cmd("lr-route-list", 1, 1, "ROUTER", "--route-table=", lr_route_list),
    ]
}

pub fn lr_by_name_or_uuid(ctx: &mut Ctx, id: &str, must_exist: bool) -> Result<Option<RowKey>> {
    by_name_or_uuid(ctx, LR, id, must_exist, "router", "logical routers")
}

pub fn lr_must(ctx: &mut Ctx, id: &str) -> Result<RowKey> {
    Ok(lr_by_name_or_uuid(ctx, id, true)?.expect("must_exist"))
}

pub fn lrp_by_name_or_uuid(ctx: &mut Ctx, id: &str, must_exist: bool) -> Result<Option<RowKey>> {
    by_name_or_uuid(ctx, LRP, id, must_exist, "port", "")
}

fn lrp_to_lr(ctx: &mut Ctx, lrp: &RowKey) -> Result<RowKey> {
    let rows = ctx.txn.select(
        LR,
        &[Condition::new("ports", "includes", Datum::atom(lrp.clone()))],
    )?;
    rows.into_iter().next().ok_or_else(|| {
        CtlError::msg(format!(
            "logical port {} is not part of any logical router",
            ctx.txn.get_str(LRP, lrp, "name")
        ))
    })
}

fn lr_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    add_named(ctx, c, LR, "router")
}

fn lr_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_by_name_or_uuid(ctx, c.arg(0), !c.has("--if-exists"))?;
    del_with_ports(ctx, LR, lr);
    Ok(())
}

fn lr_list(ctx: &mut Ctx, _: &Command) -> Result<()> {
    let all = ctx.txn.all(LR)?;
    let s = crate::switch::name_list(ctx, LR, &all);
    ctx.print(s);
    Ok(())
}

fn network_set(nets: &[String]) -> Option<Vec<(IpAddr, u32)>> {
    let mut v: Vec<(IpAddr, u32)> = nets.iter().map(|n| parse_cidr(n)).collect::<Option<_>>()?;
    v.sort();
    v.dedup();
    Some(v)
}

fn lrp_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let may_exist = c.has("--may-exist");
    let lr = lr_must(ctx, c.arg(0))?;
    let name = c.arg(1);
    let mac = c.arg(2);
    let rest = &c.args[3..];
    let n_networks = rest.iter().position(|a| a.contains('=')).unwrap_or(rest.len());
    let (networks, settings) = rest.split_at(n_networks);
    if networks.is_empty() {
        return Err(CtlError::msg(format!(
            "{name}: router port requires specifying a network"
        )));
    }
    if parse_mac(mac).is_none() {
        return Err(CtlError::msg(format!("{name}: invalid mac address {mac}")));
    }
    if let Some(lrp) = lrp_by_name_or_uuid(ctx, name, false)? {
        if !may_exist {
            return Err(CtlError::msg(format!(
                "{name}: a port with this name already exists"
            )));
        }
        let owner = lrp_to_lr(ctx, &lrp)?;
        if owner != lr {
            let n = ctx.txn.get_str(LR, &owner, "name");
            return Err(CtlError::msg(format!(
                "{name}: port already exists but in router {n}"
            )));
        }
        let cur_mac = ctx.txn.get_str(LRP, &lrp, "mac");
        if parse_mac(&cur_mac) != parse_mac(mac) {
            return Err(CtlError::msg(format!(
                "{name}: port already exists with mac {cur_mac}"
            )));
        }
        let new = network_set(networks)
            .ok_or_else(|| CtlError::msg(format!("{name}: Invalid networks configured")))?;
        let old = network_set(&ctx.txn.get(LRP, &lrp, "networks").strings())
            .ok_or_else(|| CtlError::msg(format!("{name}: Existing port has invalid networks configured")))?;
        if new != old {
            return Err(CtlError::msg(format!(
                "{name}: port already exists with different network"
            )));
        }
        let peer = settings.iter().find_map(|s| s.strip_prefix("peer="));
        let cur_peer = ctx.txn.get(LRP, &lrp, "peer").as_str().map(str::to_string);
        if peer != cur_peer.as_deref() {
            return Err(CtlError::msg(format!(
                "{name}: port already exists with mismatching peer"
            )));
        }
        return Ok(());
    }
    for n in networks {
        if parse_cidr(n).is_none() {
            return Err(CtlError::msg(format!("{name}: invalid network address: {n}")));
        }
    }
    let mut row = Row::new();
    row.insert("name".into(), Datum::string(name));
    row.insert("mac".into(), Datum::string(mac));
    row.insert(
        "networks".into(),
        Datum::set(networks.iter().map(|n| Atom::string(n.as_str()))),
    );
    let lrp = ctx.txn.insert(LRP, row)?;
    let ts = ctx.txn.table_schema(LRP)?.clone();
    for s in settings {
        dbctl::generic::set_column(ctx, &ts, &lrp, s)?;
    }
    ctx.txn.insert_into(LR, &lr, "ports", Datum::atom(lrp))
}

fn lrp_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let Some(lrp) = lrp_by_name_or_uuid(ctx, c.arg(0), !c.has("--if-exists"))? else {
        return Ok(());
    };
    let lr = lrp_to_lr(ctx, &lrp)?;
    ctx.txn.delete_from(LR, &lr, "ports", Datum::atom(lrp.clone()))?;
    ctx.txn.forget(&lrp);
    Ok(())
}

fn lrp_list(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    let ports = ctx.txn.get(LR, &lr, "ports").as_set().to_vec();
    ctx.txn.fetch(LRP, &ports)?;
    let s = crate::switch::name_list(ctx, LRP, &ports);
    ctx.print(s);
    Ok(())
}

fn lrp_must(ctx: &mut Ctx, id: &str) -> Result<RowKey> {
    Ok(lrp_by_name_or_uuid(ctx, id, true)?.expect("must_exist"))
}

fn lrp_set_enabled(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lrp = lrp_must(ctx, c.arg(0))?;
    let e = parse_enabled(c.arg(1))?;
    ctx.txn.set(LRP, &lrp, "enabled", Datum::boolean(e))
}

fn lrp_get_enabled(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lrp = lrp_must(ctx, c.arg(0))?;
    let e = ctx.txn.get(LRP, &lrp, "enabled").as_bool() != Some(false);
    ctx.print(if e { "enabled\n" } else { "disabled\n" });
    Ok(())
}

fn lrp_set_options(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lrp = lrp_must(ctx, c.arg(0))?;
    ctx.txn.set(LRP, &lrp, "options", parse_options(&c.args[1..]))
}

fn lrp_get_options(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lrp = lrp_must(ctx, c.arg(0))?;
    let o = ctx.txn.get(LRP, &lrp, "options");
    print_options(ctx, &o);
    Ok(())
}

const GC: &str = "Gateway_Chassis";

/// Makes PORT a distributed gateway port on CHASSIS: the `Gateway_Chassis` row is named
/// "PORT-CHASSIS" after PORT as given (a UUID too, as ovn-nbctl does) and reused when it
/// exists, with the priority (default 0) set again.
fn lrp_set_gateway_chassis(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lrp = lrp_must(ctx, c.arg(0))?;
    let chassis = c.arg(1);
    let priority = match c.args.get(2) {
        Some(p) => crate::acl::parse_priority(p)?,
        None => 0,
    };
    let name = format!("{}-{chassis}", c.arg(0));
    let gc = match by_name_or_uuid(ctx, GC, &name, false, "gateway chassis", "")? {
        Some(gc) => gc,
        None => {
            let mut row = Row::new();
            row.insert("name".into(), Datum::string(&name));
            row.insert("chassis_name".into(), Datum::string(chassis));
            ctx.txn.insert(GC, row)?
        }
    };
    ctx.txn.set(GC, &gc, "priority", Datum::integer(priority))?;
    ctx.txn.insert_into(LRP, &lrp, "gateway_chassis", Datum::atom(gc))
}

/// The port's `Gateway_Chassis` rows.
fn gateway_chassis_of(ctx: &mut Ctx, lrp: &RowKey) -> Result<Vec<RowKey>> {
    let gcs = ctx.txn.get(LRP, lrp, "gateway_chassis").as_set().to_vec();
    ctx.txn.fetch(GC, &gcs)?;
    Ok(gcs)
}

/// The port's gateway chassis as (name, chassis name, priority), in ovn-nbctl's order:
/// highest priority first, then by name, descending.
pub(crate) fn ordered_gateway_chassis(ctx: &mut Ctx, lrp: &RowKey) -> Result<Vec<(String, String, i64)>> {
    let mut v: Vec<(i64, String, String)> = gateway_chassis_of(ctx, lrp)?
        .iter()
        .map(|gc| {
            (
                ctx.txn.get(GC, gc, "priority").as_integer().unwrap_or(0),
                ctx.txn.get_str(GC, gc, "name"),
                ctx.txn.get_str(GC, gc, "chassis_name"),
            )
        })
        .collect();
    v.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    Ok(v.into_iter().map(|(p, n, c)| (n, c, p)).collect())
}

fn lrp_del_gateway_chassis(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lrp = lrp_must(ctx, c.arg(0))?;
    let chassis = c.arg(1);
    for gc in gateway_chassis_of(ctx, &lrp)? {
        // ovn-nbctl matches a row whose chassis name is a prefix of the argument.
        if chassis.starts_with(&ctx.txn.get_str(GC, &gc, "chassis_name")) {
            // Unreferenced, the row is garbage-collected.
            return ctx.txn.delete_from(LRP, &lrp, "gateway_chassis", Datum::atom(gc));
        }
    }
    Err(CtlError::msg(format!(
        "chassis {chassis} is not added to logical port {}",
        c.arg(0)
    )))
}

/// "NAME PRIORITY" per gateway chassis.
fn lrp_get_gateway_chassis(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lrp = lrp_must(ctx, c.arg(0))?;
    for (name, _, prio) in ordered_gateway_chassis(ctx, &lrp)? {
        ctx.print(format!("{name} {prio:5}\n"));
    }
    Ok(())
}

fn parse_policy(c: &Command) -> Result<Option<bool>> {
    match c.opt("--policy") {
        None => Ok(None),
        Some("src-ip") => Ok(Some(true)),
        Some("dst-ip") => Ok(Some(false)),
        Some(p) => Err(CtlError::msg(format!("bad policy: {p}"))),
    }
}

fn is_src(ctx: &Ctx, r: &RowKey) -> bool {
    ctx.txn.get(ROUTE, r, "policy").as_str() == Some("src-ip")
}

fn routes(ctx: &mut Ctx, lr: &RowKey) -> Result<Vec<RowKey>> {
    let keys = ctx.txn.get(LR, lr, "static_routes").as_set().to_vec();
    ctx.txn.fetch(ROUTE, &keys)?;
    Ok(keys)
}

/// `nbctl_lr_get_route`.
fn find_route(
    ctx: &mut Ctx,
    lr: &RowKey,
    prefix: &str,
    nexthop: &str,
    src: bool,
    ecmp: bool,
    table: &str,
) -> Result<Option<RowKey>> {
    for r in routes(ctx, lr)? {
        if ctx.txn.get_str(ROUTE, &r, "route_table") != table || is_src(ctx, &r) != src {
            continue;
        }
        if normalize_prefix(&ctx.txn.get_str(ROUTE, &r, "ip_prefix")).as_deref() != Some(prefix) {
            continue;
        }
        if ecmp && ctx.txn.get_str(ROUTE, &r, "nexthop") != nexthop {
            continue;
        }
        return Ok(Some(r));
    }
    Ok(None)
}

fn lr_route_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    let policy = c.opt("--policy").map(str::to_string);
    let src = parse_policy(c)?.unwrap_or(false);
    let table = c.opt("--route-table").unwrap_or("").to_string();
    let prefix = normalize_prefix(c.arg(1))
        .ok_or_else(|| CtlError::msg(format!("bad prefix argument: {}", c.arg(1))))?;
    let v6 = matches!(parse_cidr(&prefix), Some((IpAddr::V6(_), _)));
    let discard = c.arg(2) == "discard";
    let mut out_port: Option<String> = None;
    let nexthop = if discard {
        "discard".to_string()
    } else {
        match parse_cidr(c.arg(2)) {
            Some((ip, plen))
                if ip.is_ipv6() == v6 && plen == if v6 { 128 } else { 32 } && !c.arg(2).contains('/') =>
            {
                ip.to_string()
            }
            _ => {
                if lrp_by_name_or_uuid(ctx, c.arg(2), false)?.is_none() {
                    return Err(CtlError::msg(format!(
                        "bad {} nexthop argument: {}",
                        if v6 { "IPv6" } else { "IPv4" },
                        c.arg(2)
                    )));
                }
                out_port = Some(c.arg(2).to_string());
                String::new()
            }
        }
    };
    if c.args.len() == 4 {
        let p = c.arg(3);
        lrp_by_name_or_uuid(ctx, p, true)?;
        out_port = Some(p.to_string());
    }
    if c.has("--bfd") {
        return Err(CtlError::msg("--bfd is not supported by rovn-nbctl"));
    }
    let may_exist = c.has("--may-exist");
    let sym = c.has("--ecmp-symmetric-reply");
    let ecmp = c.has("--ecmp") || sym;
    let existing = find_route(ctx, &lr, &prefix, &nexthop, src, ecmp, &table)?;
    if discard {
        if ecmp {
            return Err(CtlError::msg("ecmp is not valid for discard routes."));
        }
        if out_port.is_some() {
            return Err(CtlError::msg("outport is not valid for discard routes."));
        }
    }
    if !ecmp {
        if let Some(r) = existing
            && ctx
                .txn
                .get(ROUTE, &r, "external_ids")
                .map_get("ic-learned-route")
                .is_none()
        {
            if !may_exist {
                return Err(CtlError::msg(format!(
                    "duplicate prefix: {prefix} (policy: {}). Use option --ecmp to allow this for ECMP routing.",
                    if src { "src-ip" } else { "dst-ip" }
                )));
            }
            ctx.txn.set(ROUTE, &r, "ip_prefix", Datum::string(&prefix))?;
            ctx.txn.set(ROUTE, &r, "nexthop", Datum::string(&nexthop))?;
            if let Some(p) = &out_port {
                ctx.txn.set(ROUTE, &r, "output_port", Datum::string(p))?;
            }
            if let Some(p) = &policy {
                ctx.txn.set(ROUTE, &r, "policy", Datum::string(p))?;
            }
            return Ok(());
        }
    } else if existing.is_some() {
        if !may_exist {
            return Err(CtlError::msg("duplicate nexthop for the same ECMP route"));
        }
        return Ok(());
    }
    if find_route(ctx, &lr, &prefix, "discard", src, true, &table)?.is_some() {
        return Err(CtlError::msg("discard nexthop for the same ECMP route exists."));
    }
    let mut row = Row::new();
    row.insert("ip_prefix".into(), Datum::string(&prefix));
    row.insert("nexthop".into(), Datum::string(&nexthop));
    if let Some(p) = out_port {
        row.insert("output_port".into(), Datum::string(p));
    }
    if let Some(p) = policy {
        row.insert("policy".into(), Datum::string(p));
    }
    if !table.is_empty() {
        row.insert("route_table".into(), Datum::string(&table));
    }
    if sym {
        row.insert(
            "options".into(),
            Datum::string_map([("ecmp_symmetric_reply", "true")]),
        );
    }
    let r = ctx.txn.insert(ROUTE, row)?;
    ctx.txn.insert_into(LR, &lr, "static_routes", Datum::atom(r))
}

fn lr_route_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    let table = c.opt("--route-table").unwrap_or("").to_string();
    let policy = parse_policy(c)?;
    if c.args.len() == 1 && policy.is_none() {
        let all = ctx.txn.get(LR, &lr, "static_routes");
        for r in all.as_set() {
            ctx.txn.forget(r);
        }
        return ctx.txn.set(LR, &lr, "static_routes", Datum::empty_set());
    }
    let prefix = match c.args.get(1) {
        Some(p) => {
            Some(normalize_prefix(p).ok_or_else(|| CtlError::msg(format!("bad prefix argument: {p}")))?)
        }
        None => None,
    };
    let nexthop = match c.args.get(2) {
        Some(n) if n == "discard" => Some("discard".to_string()),
        Some(n) => {
            Some(normalize_prefix(n).ok_or_else(|| CtlError::msg(format!("bad nexthop argument: {n}")))?)
        }
        None => None,
    };
    let port = c.args.get(3).cloned();
    let mut removed = 0;
    for r in routes(ctx, &lr)? {
        if let Some(src) = policy
            && is_src(ctx, &r) != src
        {
            continue;
        }
        if let Some(p) = &prefix
            && normalize_prefix(&ctx.txn.get_str(ROUTE, &r, "ip_prefix")).as_ref() != Some(p)
        {
            continue;
        }
        if let Some(n) = &nexthop {
            let rn = ctx.txn.get_str(ROUTE, &r, "nexthop");
            let rn = if rn == "discard" {
                Some(rn)
            } else {
                normalize_prefix(&rn)
            };
            if rn.as_ref() != Some(n) {
                continue;
            }
        }
        if ctx.txn.get_str(ROUTE, &r, "route_table") != table {
            continue;
        }
        if let Some(p) = &port
            && ctx.txn.get(ROUTE, &r, "output_port").as_str() != Some(p.as_str())
        {
            continue;
        }
        ctx.txn
            .delete_from(LR, &lr, "static_routes", Datum::atom(r.clone()))?;
        ctx.txn.forget(&r);
        removed += 1;
    }
    if removed == 0 && !c.has("--if-exists") {
        return Err(CtlError::msg(format!(
            "no matching route: policy '{}', prefix '{}', nexthop '{}', output_port '{}'.",
            c.opt("--policy").unwrap_or("any"),
            prefix.as_deref().unwrap_or("(null)"),
            nexthop.as_deref().unwrap_or("any"),
            port.as_deref().unwrap_or("any")
        )));
    }
    Ok(())
}

struct RouteEntry {
    key: RowKey,
    table: String,
    priority: u32,
    addr: IpAddr,
    nexthop: String,
    output_port: Option<String>,
}

/// `__ipv4_route_cmp`: route table, then priority (longer prefixes, dst-ip first), then address.
fn route_cmp(a: &RouteEntry, b: &RouteEntry) -> Ordering {
    a.table
        .cmp(&b.table)
        .then(b.priority.cmp(&a.priority))
        .then(a.addr.cmp(&b.addr))
}

fn lr_route_list(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    let only_table = c.opt("--route-table").map(str::to_string);
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for r in routes(ctx, &lr)? {
        let table = ctx.txn.get_str(ROUTE, &r, "route_table");
        if only_table.as_ref().is_some_and(|t| *t != table) {
            continue;
        }
        let Some((addr, plen)) = parse_cidr(&ctx.txn.get_str(ROUTE, &r, "ip_prefix")) else {
            continue;
        };
        let dst = !is_src(ctx, &r);
        let e = RouteEntry {
            key: r.clone(),
            table,
            priority: 2 * plen + u32::from(dst),
            addr,
            nexthop: ctx.txn.get_str(ROUTE, &r, "nexthop"),
            output_port: ctx.txn.get(ROUTE, &r, "output_port").as_str().map(str::to_string),
        };
        if addr.is_ipv4() { v4.push(e) } else { v6.push(e) }
    }
    let sort = |v: &mut Vec<RouteEntry>| {
        v.sort_by(|a, b| {
            route_cmp(a, b)
                .then_with(|| a.nexthop.cmp(&b.nexthop))
                .then_with(|| match (&a.output_port, &b.output_port) {
                    (Some(x), Some(y)) => x.cmp(y),
                    (None, None) => Ordering::Equal,
                    (Some(_), None) => Ordering::Greater,
                    (None, Some(_)) => Ordering::Less,
                })
        })
    };
    sort(&mut v4);
    sort(&mut v6);
    let mut out = String::new();
    for (label, list, first) in [("IPv4 Routes", &v4, true), ("IPv6 Routes", &v6, false)] {
        if list.is_empty() {
            continue;
        }
        if !first && !v4.is_empty() {
            out.push('\n');
        }
        out += label;
        out.push('\n');
        for (i, e) in list.iter().enumerate() {
            let ecmp = (i + 1 < list.len() && route_cmp(e, &list[i + 1]) == Ordering::Equal)
                || (i > 0 && route_cmp(e, &list[i - 1]) == Ordering::Equal);
            if i == 0 || e.table != list[i - 1].table {
                out += &format!(
                    "{}Route Table {}:\n",
                    if i > 0 { "\n" } else { "" },
                    if e.table.is_empty() { "<main>" } else { &e.table }
                );
            }
            out += &print_route(ctx, &e.key, ecmp);
        }
    }
    ctx.print(out);
    Ok(())
}

fn print_route(ctx: &Ctx, r: &RowKey, ecmp: bool) -> String {
    let prefix = normalize_prefix(&ctx.txn.get_str(ROUTE, r, "ip_prefix")).unwrap_or_default();
    let nh = ctx.txn.get_str(ROUTE, r, "nexthop");
    let next_hop = if nh == "discard" {
        nh
    } else if nh.is_empty() {
        String::new()
    } else {
        normalize_prefix(&nh).unwrap_or_default()
    };
    let mut s = format!("{prefix:>25} {next_hop:>25}");
    s += &format!(
        " {}",
        ctx.txn.get(ROUTE, r, "policy").as_str().unwrap_or("dst-ip")
    );
    if let Some(p) = ctx.txn.get(ROUTE, r, "output_port").as_str() {
        s += &format!(" {p}");
    }
    if ctx
        .txn
        .get(ROUTE, r, "external_ids")
        .map_get("ic-learned-route")
        .is_some()
    {
        s += " (learned)";
    }
    if ecmp {
        s += " ecmp";
    }
    if ctx
        .txn
        .get(ROUTE, r, "options")
        .map_get("ecmp_symmetric_reply")
        .and_then(Atom::as_str)
        == Some("true")
    {
        s += " ecmp-symmetric-reply";
    }
    if !ctx.txn.get(ROUTE, r, "bfd").is_empty() {
        s += " bfd";
    }
    s + "\n"
}
