//! Load balancer commands: `lb-*`, `ls-lb-*`, `lr-lb-*`.

use dbctl::{Command, CommandSpec, CtlError, Ctx, Result, RowKey};
use ovsdb::{Datum, Row};

use crate::addr::{parse_lb_addr, parse_lb_vip};
use crate::router::lr_must;
use crate::switch::ls_by_name_or_uuid;
use crate::{by_name_or_uuid, cmd};

const LB: &str = "Load_Balancer";
const LBG: &str = "Load_Balancer_Group";

pub fn commands() -> Vec<CommandSpec> {
    vec![
        cmd(
            "lb-add",
            3,
            5,
            "LB VIP[:PORT] IP[:PORT]... [PROTOCOL] [ADDRESS_FAMILY]",
            "--may-exist,--add-duplicate,--reject,--event,--add-route,--template",
            lb_add,
        ),
        cmd("lb-del", 1, 2, "LB [VIP]", "--if-exists", lb_del),
        cmd("lb-list", 0, 1, "[LB]", "", lb_list),
        cmd("lr-lb-add", 2, 2, "ROUTER LB", "--may-exist", lr_lb_add),
        cmd("lr-lb-del", 1, 2, "ROUTER [LB]", "--if-exists", lr_lb_del),
        cmd("lr-lb-list", 1, 1, "ROUTER", "", lr_lb_list),
        cmd("ls-lb-add", 2, 2, "SWITCH LB", "--may-exist", ls_lb_add),
        cmd("ls-lb-del", 1, 2, "SWITCH [LB]", "--if-exists", ls_lb_del),
        cmd("ls-lb-list", 1, 1, "SWITCH", "", ls_lb_list),
    ]
}

fn lb_by_name_or_uuid(ctx: &mut Ctx, id: &str, must_exist: bool) -> Result<Option<RowKey>> {
    by_name_or_uuid(ctx, LB, id, must_exist, "load balancer", "load balancers")
}

fn lb_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let (name, vip, ips) = (c.arg(0), c.arg(1), c.arg(2));
    let may_exist = c.has("--may-exist");
    let add_duplicate = c.has("--add-duplicate");
    if c.has("--reject") && c.has("--event") {
        return Err(CtlError::msg(
            "--reject and --event can't specified at the same time",
        ));
    }
    if c.has("--template") {
        return Err(CtlError::msg("--template is not supported by rovn-nbctl"));
    }
    let proto = match c.args.get(3) {
        None => None,
        Some(p) if matches!(p.as_str(), "tcp" | "udp" | "sctp") => Some(p.clone()),
        Some(p) => {
            return Err(CtlError::msg(format!(
                "{p}: protocol must be one of \"tcp\", \"udp\",  or \"sctp\"."
            )));
        }
    };
    let (vip_n, ips_n) = parse_lb_vip(vip, ips).map_err(CtlError::msg)?;
    if proto.is_some() && parse_lb_addr(vip).and_then(|a| a.port).is_none() {
        return Err(CtlError::msg(
            "Protocol is unnecessary when no port of vip is given.",
        ));
    }
    if !add_duplicate && let Some(lb) = lb_by_name_or_uuid(ctx, name, false)? {
        let mut vips = ctx.txn.get(LB, &lb, "vips").string_pairs();
        if vips.contains_key(&vip_n) && !may_exist {
            return Err(CtlError::msg(format!(
                "{name}: a load balancer with this vip ({vip_n}) already exists"
            )));
        }
        vips.insert(vip_n, ips_n);
        if let Some(p) = proto {
            ctx.txn.set(LB, &lb, "protocol", Datum::string(p))?;
        }
        return ctx.txn.set(LB, &lb, "vips", Datum::string_map(vips));
    }
    let mut row = Row::new();
    row.insert("name".into(), Datum::string(name));
    row.insert(
        "protocol".into(),
        Datum::string(proto.as_deref().unwrap_or("tcp")),
    );
    row.insert("vips".into(), Datum::string_map([(vip_n, ips_n)]));
    let mut opts = Vec::new();
    if c.has("--reject") {
        opts.push(("reject", "true"));
    }
    if c.has("--event") {
        opts.push(("event", "true"));
    }
    if c.has("--add-route") {
        opts.push(("add_route", "true"));
    }
    row.insert("options".into(), Datum::string_map(opts));
    ctx.txn.insert(LB, row)?;
    Ok(())
}

fn lb_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let Some(lb) = lb_by_name_or_uuid(ctx, c.arg(0), false)? else {
        return Ok(());
    };
    if let Some(vip) = c.args.get(1) {
        let mut vips = ctx.txn.get(LB, &lb, "vips").string_pairs();
        if vips.remove(vip).is_some() {
            if vips.is_empty() {
                ctx.txn.delete(LB, &lb);
                return Ok(());
            }
            return ctx.txn.set(LB, &lb, "vips", Datum::string_map(vips));
        }
        if !c.has("--if-exists") {
            return Err(CtlError::msg(format!(
                "vip {vip} is not part of the load balancer."
            )));
        }
        return Ok(());
    }
    ctx.txn.delete(LB, &lb);
    Ok(())
}

/// `lb_info_add_smap` + `lb_info_print`: the `lb-list` table.
fn lb_table(ctx: &Ctx, lbs: &[RowKey]) -> String {
    let width = lbs
        .iter()
        .flat_map(|lb| ctx.txn.get(LB, lb, "vips").string_pairs().into_keys())
        .map(|k| k.len())
        .max()
        .unwrap_or(0);
    let mut entries: Vec<(String, String, String)> = Vec::new();
    for lb in lbs {
        let name = ctx.txn.get_str(LB, lb, "name");
        let proto = ctx.txn.get(LB, lb, "protocol").as_str().map(str::to_string);
        let vips = ctx.txn.get(LB, lb, "vips").string_pairs();
        if vips.is_empty() {
            continue;
        }
        let mut val = String::new();
        for (i, (vip, backends)) in vips.iter().enumerate() {
            let Some(addr) = parse_lb_addr(vip) else { continue };
            let p = match addr.port {
                Some(_) => proto.clone().unwrap_or_else(|| "(null)".into()),
                None => String::new(),
            };
            if i == 0 {
                val += &format!(
                    "{lb}    {:<20}{:<11}{:<w$}{backends}",
                    trunc(&name, 16),
                    trunc(&p, 7),
                    vip,
                    w = width + 4
                );
            } else {
                val += &format!(
                    "\n{:60}{:<11}{:<w$}{backends}",
                    "",
                    trunc(&p, 7),
                    vip,
                    w = width + 4
                );
            }
        }
        entries.push((format!("{:<20}", trunc(&name, 16)), lb.to_string(), val));
    }
    if entries.is_empty() {
        return String::new();
    }
    entries.sort();
    let mut out = format!(
        "{:<40}{:<20}{:<11}{:<w$}IPs\n",
        "UUID",
        "LB",
        "PROTO",
        "VIP",
        w = width + 4
    );
    for (_, _, v) in entries {
        out += &v;
        out.push('\n');
    }
    out
}

fn trunc(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn lb_list(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let mut lbs = ctx.txn.all(LB)?;
    if let Some(name) = c.args.first() {
        lbs.retain(|lb| ctx.txn.get_str(LB, lb, "name") == *name);
    }
    let s = lb_table(ctx, &lbs);
    ctx.print(s);
    Ok(())
}

/// The load balancers of a switch or router, directly and through groups.
fn attached_lbs(ctx: &mut Ctx, table: &str, key: &RowKey) -> Result<Vec<RowKey>> {
    let mut lbs = ctx.txn.get(table, key, "load_balancer").as_set().to_vec();
    let groups = ctx.txn.get(table, key, "load_balancer_group").as_set().to_vec();
    ctx.txn.fetch(LBG, &groups)?;
    for g in &groups {
        lbs.extend(ctx.txn.get(LBG, g, "load_balancer").as_set().iter().cloned());
    }
    ctx.txn.fetch(LB, &lbs)?;
    Ok(lbs)
}

fn attach(ctx: &mut Ctx, c: &Command, table: &str, key: RowKey) -> Result<()> {
    let lb = lb_by_name_or_uuid(ctx, c.arg(1), true)?.expect("must_exist");
    if ctx.txn.get(table, &key, "load_balancer").as_set().contains(&lb) {
        if c.has("--may-exist") {
            return Ok(());
        }
        return Err(CtlError::msg(format!(
            "{lb} : a load balancer with this UUID already exists"
        )));
    }
    ctx.txn.insert_into(table, &key, "load_balancer", Datum::atom(lb))
}

fn detach(ctx: &mut Ctx, c: &Command, table: &str, key: RowKey, what: &str) -> Result<()> {
    if c.args.len() == 1 {
        return ctx.txn.set(table, &key, "load_balancer", Datum::empty_set());
    }
    let lb = lb_by_name_or_uuid(ctx, c.arg(1), true)?.expect("must_exist");
    if ctx.txn.get(table, &key, "load_balancer").as_set().contains(&lb) {
        return ctx.txn.delete_from(table, &key, "load_balancer", Datum::atom(lb));
    }
    if !c.has("--if-exists") {
        let n = ctx.txn.get_str(LB, &lb, "name");
        return Err(CtlError::msg(format!(
            "load balancer {n} is not part of any logical {what}."
        )));
    }
    Ok(())
}

fn list_attached(ctx: &mut Ctx, table: &str, key: RowKey) -> Result<()> {
    let lbs = attached_lbs(ctx, table, &key)?;
    let s = lb_table(ctx, &lbs);
    ctx.print(s);
    Ok(())
}

fn lr_lb_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    attach(ctx, c, "Logical_Router", lr)
}

fn lr_lb_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    detach(ctx, c, "Logical_Router", lr, "router")
}

fn lr_lb_list(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    list_attached(ctx, "Logical_Router", lr)
}

fn ls_must(ctx: &mut Ctx, id: &str) -> Result<RowKey> {
    Ok(ls_by_name_or_uuid(ctx, id, true)?.expect("must_exist"))
}

fn ls_lb_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let ls = ls_must(ctx, c.arg(0))?;
    attach(ctx, c, "Logical_Switch", ls)
}

fn ls_lb_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let ls = ls_must(ctx, c.arg(0))?;
    detach(ctx, c, "Logical_Switch", ls, "switch")
}

fn ls_lb_list(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let ls = ls_must(ctx, c.arg(0))?;
    list_attached(ctx, "Logical_Switch", ls)
}
