//! `show [SWITCH|ROUTER]`: the `ovn-nbctl show` overview. Switches and routers are
//! printed sorted by name (then UUID); ovn-nbctl prints them in hash order.

use dbctl::{Command, Ctx, Result, RowKey};
use ovsdb::Atom;

use crate::router::lr_by_name_or_uuid;
use crate::switch::ls_by_name_or_uuid;

const LS: &str = "Logical_Switch";
const LSP: &str = "Logical_Switch_Port";
const LR: &str = "Logical_Router";
const LRP: &str = "Logical_Router_Port";

fn alias(ctx: &Ctx, table: &str, key: &RowKey, ext_key: &str) -> String {
    match ctx
        .txn
        .get(table, key, "external_ids")
        .map_get(ext_key)
        .and_then(Atom::as_str)
    {
        Some(a) if !a.is_empty() => format!(" (aka {a})"),
        _ => String::new(),
    }
}

fn quoted_list(v: &[String]) -> String {
    let q: Vec<String> = v.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", q.join(", "))
}

fn print_ls(ctx: &mut Ctx, ls: &RowKey) -> Result<String> {
    let mut s = format!(
        "switch {ls} ({}){}\n",
        ctx.txn.get_str(LS, ls, "name"),
        alias(ctx, LS, ls, "neutron:network_name")
    );
    let ports = ctx.txn.get(LS, ls, "ports").as_set().to_vec();
    ctx.txn.fetch(LSP, &ports)?;
    for p in &ports {
        s += &format!(
            "    port {}{}\n",
            ctx.txn.get_str(LSP, p, "name"),
            alias(ctx, LSP, p, "neutron:port_name")
        );
        let ty = ctx.txn.get_str(LSP, p, "type");
        if !ty.is_empty() {
            s += &format!("        type: {ty}\n");
        }
        if let Some(parent) = ctx.txn.get(LSP, p, "parent_name").as_str() {
            s += &format!("        parent: {parent}\n");
        }
        if let Some(tag) = ctx.txn.get(LSP, p, "tag").as_integer() {
            s += &format!("        tag: {tag}\n");
        }
        let addrs = ctx.txn.get(LSP, p, "addresses").strings();
        if !addrs.is_empty() && addrs != ["router"] {
            s += &format!("        addresses: {}\n", quoted_list(&addrs));
        }
        if let Some(rp) = ctx
            .txn
            .get(LSP, p, "options")
            .map_get("router-port")
            .and_then(Atom::as_str)
        {
            s += &format!("        router-port: {rp}\n");
        }
    }
    Ok(s)
}

fn print_lr(ctx: &mut Ctx, lr: &RowKey) -> Result<String> {
    let mut s = format!(
        "router {lr} ({}){}\n",
        ctx.txn.get_str(LR, lr, "name"),
        alias(ctx, LR, lr, "neutron:router_name")
    );
    let ports = ctx.txn.get(LR, lr, "ports").as_set().to_vec();
    ctx.txn.fetch(LRP, &ports)?;
    for p in &ports {
        s += &format!("    port {}\n", ctx.txn.get_str(LRP, p, "name"));
        s += &format!("        mac: \"{}\"\n", ctx.txn.get_str(LRP, p, "mac"));
        let nets = ctx.txn.get(LRP, p, "networks").strings();
        if !nets.is_empty() {
            s += &format!("        networks: {}\n", quoted_list(&nets));
        }
        if let Some(rt) = ctx
            .txn
            .get(LRP, p, "options")
            .map_get("route_table")
            .and_then(Atom::as_str)
        {
            s += &format!("        route-table: {rt}\n");
        }
        let gcs = crate::router::ordered_gateway_chassis(ctx, p)?;
        if !gcs.is_empty() {
            let names: Vec<String> = gcs.into_iter().map(|(_, chassis, _)| chassis).collect();
            s += &format!("        gateway chassis: [{}]\n", names.join(" "));
        }
    }
    let nats = ctx.txn.get(LR, lr, "nat").as_set().to_vec();
    ctx.txn.fetch("NAT", &nats)?;
    for n in &nats {
        s += &format!("    nat {n}\n");
        s += &format!(
            "        external ip: \"{}\"\n",
            ctx.txn.get_str("NAT", n, "external_ip")
        );
        let range = ctx.txn.get_str("NAT", n, "external_port_range");
        if !range.is_empty() {
            s += &format!("        external port(s): \"{range}\"\n");
        }
        s += &format!(
            "        logical ip: \"{}\"\n",
            ctx.txn.get_str("NAT", n, "logical_ip")
        );
        s += &format!("        type: \"{}\"\n", ctx.txn.get_str("NAT", n, "type"));
    }
    Ok(s)
}

fn sorted_by_name(ctx: &Ctx, table: &str, mut keys: Vec<RowKey>) -> Vec<RowKey> {
    keys.sort_by_key(|k| (ctx.txn.get_str(table, k, "name"), k.to_string()));
    keys
}

pub fn show(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let mut out = String::new();
    if let Some(id) = c.args.first() {
        if let Some(ls) = ls_by_name_or_uuid(ctx, id, false)? {
            out += &print_ls(ctx, &ls)?;
        }
        if let Some(lr) = lr_by_name_or_uuid(ctx, id, false)? {
            out += &print_lr(ctx, &lr)?;
        }
    } else {
        for t in [LSP, LRP, "NAT", "Gateway_Chassis"] {
            ctx.txn.all(t)?;
        }
        let all = ctx.txn.all(LS)?;
        for ls in sorted_by_name(ctx, LS, all) {
            out += &print_ls(ctx, &ls)?;
        }
        let all = ctx.txn.all(LR)?;
        for lr in sorted_by_name(ctx, LR, all) {
            out += &print_lr(ctx, &lr)?;
        }
    }
    ctx.print(out);
    Ok(())
}
