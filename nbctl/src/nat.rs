//! NAT commands: `lr-nat-add`, `lr-nat-del`, `lr-nat-list`.

use std::net::IpAddr;

use dbctl::{Command, CommandSpec, CtlError, Ctx, Result, RowKey};
use ovsdb::{Datum, Row};

use crate::addr::{normalize_prefix, parse_cidr, parse_ipv4, parse_ipv6, parse_mac};
use crate::cmd;
use crate::router::{lr_must, lrp_by_name_or_uuid};
use crate::switch::lsp_by_name_or_uuid;

const NAT: &str = "NAT";
const LR: &str = "Logical_Router";
const LRP: &str = "Logical_Router_Port";
const TYPES: &[&str] = &["dnat", "snat", "dnat_and_snat"];

pub fn commands() -> Vec<CommandSpec> {
    vec![
        cmd(
            "lr-nat-add",
            4,
            7,
            "ROUTER TYPE EXTERNAL_IP LOGICAL_IP [LOGICAL_PORT EXTERNAL_MAC] [EXTERNAL_PORT_RANGE]",
            "--may-exist,--stateless,--portrange,--add-route,--gateway-port=",
            lr_nat_add,
        ),
        cmd(
            "lr-nat-del",
            1,
            4,
            "ROUTER [TYPE [IP] [GATEWAY_PORT]]",
            "--if-exists",
            lr_nat_del,
        ),
        cmd("lr-nat-list", 1, 1, "ROUTER", "", lr_nat_list),
    ]
}

fn check_type(t: &str) -> Result<()> {
    if TYPES.contains(&t) {
        Ok(())
    } else {
        Err(CtlError::msg(format!(
            "{t}: type must be one of \"dnat\", \"snat\" and \"dnat_and_snat\"."
        )))
    }
}

/// `N` or `N-M` with 0 < N < M <= 65535.
fn valid_port_range(s: &str) -> bool {
    let num = |p: &str| p.parse::<i64>().ok();
    match s.split_once('-') {
        None => num(s).is_some_and(|lo| lo > 0),
        Some((lo, hi)) => match (num(lo), num(hi)) {
            (Some(lo), Some(hi)) => lo > 0 && lo < hi && hi <= 65535,
            _ => false,
        },
    }
}

/// A bare host address of the given family, normalised.
fn host(s: &str, v6: bool) -> Option<String> {
    if v6 {
        parse_ipv6(s).map(|a| a.to_string())
    } else {
        parse_ipv4(s).map(|a| a.to_string())
    }
}

/// An address or network of the given family, normalised (`normalize_prefix_str`).
fn prefix(s: &str, v6: bool) -> Option<String> {
    let (ip, _) = parse_cidr(s)?;
    (matches!(ip, IpAddr::V6(_)) == v6)
        .then(|| normalize_prefix(s))
        .flatten()
}

fn nats_of(ctx: &mut Ctx, lr: &RowKey) -> Result<Vec<RowKey>> {
    let nats = ctx.txn.get(LR, lr, "nat").as_set().to_vec();
    ctx.txn.fetch(NAT, &nats)?;
    Ok(nats)
}

fn lr_nat_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    let (kind, ext, logical) = (c.arg(1), c.arg(2), c.arg(3));
    check_type(kind)?;
    let (new_ext, v6) = match (host(ext, false), host(ext, true)) {
        (Some(e), _) => (e, false),
        (None, Some(e)) => (e, true),
        _ => {
            return Err(CtlError::msg(format!("{ext}: Not a valid IPv4 or IPv6 address.")));
        }
    };
    let family = if v6 { "IPv6" } else { "IPv4" };
    let is_snat = kind == "snat";
    let new_logical = if is_snat {
        prefix(logical, v6)
            .ok_or_else(|| CtlError::msg(format!("{logical}: should be an {family} address or network.")))?
    } else {
        host(logical, v6).ok_or_else(|| CtlError::msg(format!("{logical}: Not a valid {family} address.")))?
    };
    let mut logical_port = None;
    let mut external_mac = None;
    let mut port_range = None;
    let portrange = c.has("--portrange");
    match c.args.len() {
        5 => {
            if !portrange {
                return Err(CtlError::msg(
                    "lr-nat-add with logical_port must also specify external_mac.",
                ));
            }
            port_range = Some(c.arg(4));
        }
        6 | 7 => {
            if kind != "dnat_and_snat" {
                return Err(CtlError::msg(
                    "logical_port and external_mac are only valid when type is \"dnat_and_snat\".",
                ));
            }
            if c.args.len() == 6 && portrange {
                return Err(CtlError::msg(
                    "lr-nat-add with logical_port must also specify external_mac.",
                ));
            }
            lsp_by_name_or_uuid(ctx, c.arg(4), true)?;
            logical_port = Some(c.arg(4));
            if parse_mac(c.arg(5)).is_none() {
                return Err(CtlError::msg(format!("invalid mac address {}.", c.arg(5))));
            }
            external_mac = Some(c.arg(5));
            port_range = c.args.get(6).map(String::as_str);
        }
        _ => {}
    }
    if let Some(r) = port_range
        && !valid_port_range(r)
    {
        return Err(CtlError::msg(format!("invalid port range {r}.")));
    }
    let may_exist = c.has("--may-exist");
    let stateless = c.has("--stateless");
    if kind != "dnat_and_snat" && stateless {
        return Err(CtlError::msg("stateless is not applicable to dnat or snat types"));
    }
    if is_snat && c.has("--add-route") {
        return Err(CtlError::msg("routes cannot be added for snat types."));
    }
    let (dgw, n_dgw) = nat_gateway_port(ctx, &lr, c, &new_ext)?;
    for nat in nats_of(ctx, &lr)? {
        let (Some(old_ext), Some(old_logical)) = (
            normalize_prefix(&ctx.txn.get_str(NAT, &nat, "external_ip")),
            normalize_prefix(&ctx.txn.get_str(NAT, &nat, "logical_ip")),
        ) else {
            continue;
        };
        let old_type = ctx.txn.get_str(NAT, &nat, "type");
        // With several gateway ports a rule is only the same on the same port.
        let old_gw = ctx.txn.get(NAT, &nat, "gateway_port").as_set().first().cloned();
        let same_port = n_dgw <= 1
            || match (&old_gw, &dgw) {
                (Some(o), Some(d)) => o == d,
                (None, Some(d)) => lrp_has_ip(ctx, d, &old_ext),
                _ => false,
            };
        // snat rules are identified by their logical side, the others by the external.
        let (new_id, old_id, new_other, old_other) = if is_snat {
            (&new_logical, &old_logical, &new_ext, &old_ext)
        } else {
            (&new_ext, &old_ext, &new_logical, &old_logical)
        };
        if old_type == kind && same_port && new_id == old_id {
            if new_other != old_other {
                return Err(CtlError::msg(format!(
                    "a NAT with this type ({kind}), {} ({new_id}) already exists",
                    if is_snat { "logical_ip" } else { "external_ip" }
                )));
            }
            if !may_exist {
                return Err(CtlError::msg(format!(
                    "{new_ext}, {new_logical}: a NAT with this external_ip and logical_ip already exists"
                )));
            }
            let opt = |v: Option<&str>| Datum::set(v.map(ovsdb::Atom::string));
            ctx.txn.set(NAT, &nat, "logical_port", opt(logical_port))?;
            return ctx.txn.set(NAT, &nat, "external_mac", opt(external_mac));
        }
        if (kind == "dnat_and_snat" || old_type == "dnat_and_snat") && old_ext == new_ext {
            let old_stateless = ctx
                .txn
                .get(NAT, &nat, "options")
                .string_pairs()
                .get("stateless")
                .is_some_and(|v| v == "true");
            if old_stateless || stateless {
                if may_exist {
                    return Ok(());
                }
                return Err(CtlError::msg(format!(
                    "{new_ext}, {new_logical}: External ip cannot be shared across stateless and \
                     stateful NATs"
                )));
            }
        }
    }
    let mut row = Row::new();
    row.insert("type".into(), Datum::string(kind));
    row.insert("external_ip".into(), Datum::string(ext));
    row.insert("logical_ip".into(), Datum::string(new_logical));
    if let (Some(p), Some(m)) = (logical_port, external_mac) {
        row.insert("logical_port".into(), Datum::string(p));
        row.insert("external_mac".into(), Datum::string(m));
    }
    if let Some(r) = port_range {
        row.insert("external_port_range".into(), Datum::string(r));
    }
    let mut opts = vec![("stateless", if stateless { "true" } else { "false" })];
    if c.has("--add-route") {
        opts.push(("add_route", "true"));
    }
    row.insert("options".into(), Datum::string_map(opts));
    if c.opt("--gateway-port").is_some()
        && let Some(d) = dgw
    {
        row.insert("gateway_port".into(), Datum::atom(d));
    }
    let nat = ctx.txn.insert(NAT, row)?;
    ctx.txn.insert_into(LR, &lr, "nat", Datum::atom(nat))
}

fn lr_nat_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    if c.args.len() == 1 {
        return ctx.txn.set(LR, &lr, "nat", Datum::empty_set());
    }
    let kind = c.arg(1);
    check_type(kind)?;
    let nats = nats_of(ctx, &lr)?;
    if c.args.len() == 2 {
        for nat in nats {
            if ctx.txn.get_str(NAT, &nat, "type") == kind {
                ctx.txn.delete_from(LR, &lr, "nat", Datum::atom(nat))?;
            }
        }
        return Ok(());
    }
    let gateway_port =
        |ctx: &Ctx, nat: &RowKey| ctx.txn.get(NAT, nat, "gateway_port").as_set().first().cloned();
    let Some(ip) = normalize_prefix(c.arg(2)) else {
        if c.args.len() == 4 {
            return Err(CtlError::msg(format!("{}: Invalid IP address or CIDR", c.arg(2))));
        }
        // Not an address: the rules of this type on gateway port GATEWAY_PORT.
        let dgw = lrp_by_name_or_uuid(ctx, c.arg(2), true)?;
        for nat in nats {
            if ctx.txn.get_str(NAT, &nat, "type") == kind && gateway_port(ctx, &nat) == dgw {
                ctx.txn.delete_from(LR, &lr, "nat", Datum::atom(nat))?;
            }
        }
        return Ok(());
    };
    let col = if kind == "snat" {
        "logical_ip"
    } else {
        "external_ip"
    };
    let matches = |ctx: &Ctx, nat: &RowKey| {
        ctx.txn.get_str(NAT, nat, "type") == kind
            && normalize_prefix(&ctx.txn.get_str(NAT, nat, col)).as_deref() == Some(ip.as_str())
    };
    if c.args.len() == 3 {
        for nat in nats {
            if matches(ctx, &nat) {
                ctx.txn.delete_from(LR, &lr, "nat", Datum::atom(nat))?;
            }
        }
        return Ok(());
    }
    let dgw = lrp_by_name_or_uuid(ctx, c.arg(3), true)?;
    for nat in nats {
        if matches(ctx, &nat) && gateway_port(ctx, &nat) == dgw {
            return ctx.txn.delete_from(LR, &lr, "nat", Datum::atom(nat));
        }
    }
    if c.has("--if-exists") {
        return Ok(());
    }
    Err(CtlError::msg(format!(
        "no matching NAT with the type ({kind}), {col} ({ip}) and gateway_port ({})",
        c.arg(3)
    )))
}

/// Whether `ip` is one of the router port's own addresses (ovn-nbctl's
/// `ip_in_lrp_networks`: an exact match, not subnet membership).
fn lrp_has_ip(ctx: &Ctx, lrp: &RowKey, ip: &str) -> bool {
    ctx.txn
        .get(LRP, lrp, "networks")
        .strings()
        .iter()
        .any(|n| n.split('/').next().and_then(normalize_prefix).as_deref() == Some(ip))
}

/// The gateway port a new rule of router `lr` applies on: `--gateway-port` (which
/// must be one of the router's distributed gateway ports), else the one owning the
/// external address; and how many distributed gateway ports the router has.
fn nat_gateway_port(ctx: &mut Ctx, lr: &RowKey, c: &Command, ext: &str) -> Result<(Option<RowKey>, usize)> {
    let ports = ctx.txn.get(LR, lr, "ports").as_set().to_vec();
    ctx.txn.fetch(LRP, &ports)?;
    let is_dgw = |ctx: &Ctx, p: &RowKey| {
        !ctx.txn.get(LRP, p, "gateway_chassis").as_set().is_empty()
            || !ctx.txn.get(LRP, p, "ha_chassis_group").as_set().is_empty()
    };
    let dgws: Vec<RowKey> = ports.iter().filter(|p| is_dgw(ctx, p)).cloned().collect();
    if let Some(name) = c.opt("--gateway-port") {
        let d = lrp_by_name_or_uuid(ctx, name, true)?.expect("must_exist");
        if !ports.contains(&d) {
            return Err(CtlError::msg(format!(
                "{name} is not a router port of logical router: {}.",
                c.arg(0)
            )));
        }
        if !dgws.contains(&d) {
            return Err(CtlError::msg(format!(
                "{name} is not a distributed gateway router port."
            )));
        }
        return Ok((Some(d), dgws.len()));
    }
    let found = dgws.iter().rev().find(|d| lrp_has_ip(ctx, d, ext)).cloned();
    if dgws.len() > 1 && found.is_none() {
        return Err(CtlError::msg(format!(
            "logical router: {} has multiple distributed gateway ports and gateway_port can not be \
             determined from external IP of NAT rule.",
            c.arg(0)
        )));
    }
    Ok((found, dgws.len()))
}

/// `%-W.Ps`: at most `p` characters, left-aligned in `w` columns.
fn col(s: &str, p: usize, w: usize) -> String {
    let t: String = s.chars().take(p).collect();
    format!("{t:<w$}")
}

fn lr_nat_list(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lr = lr_must(ctx, c.arg(0))?;
    let mut rows: Vec<(String, String)> = Vec::new();
    let nats = nats_of(ctx, &lr)?;
    let gws: Vec<RowKey> = nats
        .iter()
        .filter_map(|n| ctx.txn.get(NAT, n, "gateway_port").as_set().first().cloned())
        .collect();
    ctx.txn.fetch(LRP, &gws)?;
    for nat in nats {
        let get = |c: &str| ctx.txn.get_str(NAT, &nat, c);
        let opt = |c: &str| ctx.txn.get(NAT, &nat, c).as_str().map(str::to_string);
        let gw = match ctx.txn.get(NAT, &nat, "gateway_port").as_set().first() {
            Some(p) => ctx.txn.get_str(LRP, p, "name"),
            None => String::new(),
        };
        let key = format!(
            "{}{}{}",
            col(&get("type"), 13, 17),
            col(&gw, 18, 22),
            get("external_ip")
        );
        let range = col(&get("external_port_range"), 13, 17);
        let value = match (opt("external_mac"), opt("logical_port")) {
            (Some(mac), Some(port)) => format!(
                "{range}{}{}{port}",
                col(&get("logical_ip"), 16, 20),
                col(&mac, 17, 21)
            ),
            _ => format!("{range}{}", get("logical_ip")),
        };
        rows.push((key, value));
    }
    if rows.is_empty() {
        return Ok(());
    }
    rows.sort();
    let mut out = format!(
        "{}{}{}{}{}{}LOGICAL_PORT\n",
        col("TYPE", 13, 17),
        col("GATEWAY_PORT", 18, 22),
        col("EXTERNAL_IP", 15, 19),
        col("EXTERNAL_PORT", 13, 17),
        col("LOGICAL_IP", 16, 20),
        col("EXTERNAL_MAC", 17, 21)
    );
    for (k, v) in rows {
        out.push_str(&format!("{}{v}\n", col(&k, 54, 58)));
    }
    ctx.print(out);
    Ok(())
}
