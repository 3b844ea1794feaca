//! Static MAC binding commands (`static-mac-binding-add`, `-del`, `-list`): a router
//! port's neighbour whose MAC is configured rather than learned by ARP/ND.

use std::net::IpAddr;

use dbctl::{Command, CommandSpec, CtlError, Ctx, Result, RowKey};
use ovsdb::{Condition, Datum, Row};

use crate::addr::parse_mac;
use crate::cmd;
use crate::router::lrp_by_name_or_uuid;

const SMB: &str = "Static_MAC_Binding";

pub fn commands() -> Vec<CommandSpec> {
    vec![
        cmd(
            "static-mac-binding-add",
            3,
            3,
            "LOGICAL_PORT IP MAC",
            "--may-exist",
            static_mac_binding_add,
        ),
        cmd(
            "static-mac-binding-del",
            2,
            2,
            "LOGICAL_PORT IP",
            "--if-exists",
            static_mac_binding_del,
        ),
        cmd("static-mac-binding-list", 0, 0, "", "", static_mac_binding_list),
    ]
}

/// An IPv4 or IPv6 address in canonical form.
fn normalize_ip(s: &str) -> Result<String> {
    s.parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| CtlError::msg(format!("{s}: Not a valid IPv4 or IPv6 address.")))
}

/// The binding of `port` and `ip`, compared as stored (ovn-nbctl does not normalize the
/// address it looks up).
fn find(ctx: &mut Ctx, port: &str, ip: &str) -> Result<Option<RowKey>> {
    let rows = ctx.txn.select(
        SMB,
        &[
            Condition::eq("logical_port", Datum::string(port)),
            Condition::eq("ip", Datum::string(ip)),
        ],
    )?;
    Ok(rows.into_iter().next())
}

fn static_mac_binding_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let (port, ip, mac) = (c.arg(0), c.arg(1), c.arg(2));
    lrp_by_name_or_uuid(ctx, port, true)?;
    let normalized = normalize_ip(ip)?;
    if parse_mac(mac).is_none() {
        return Err(CtlError::msg(format!("invalid mac address {mac}.")));
    }
    if let Some(row) = find(ctx, port, ip)? {
        if !c.has("--may-exist") {
            return Err(CtlError::msg(format!(
                "{port}, {normalized}: a Static_MAC_Binding with this logical_port and ip already exists"
            )));
        }
        if ctx.txn.get_str(SMB, &row, "mac") != mac {
            ctx.txn.set(SMB, &row, "mac", Datum::string(mac))?;
        }
        return Ok(());
    }
    let mut row = Row::new();
    row.insert("logical_port".into(), Datum::string(port));
    row.insert("ip".into(), Datum::string(normalized));
    row.insert("mac".into(), Datum::string(mac));
    ctx.txn.insert(SMB, row)?;
    Ok(())
}

fn static_mac_binding_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let port = c.arg(0);
    lrp_by_name_or_uuid(ctx, port, true)?;
    let ip = normalize_ip(c.arg(1))?;
    match find(ctx, port, &ip)? {
        Some(row) => {
            ctx.txn.delete(SMB, &row);
            Ok(())
        }
        None if c.has("--if-exists") => Ok(()),
        None => Err(CtlError::msg(format!(
            "no matching Static_MAC_Binding with port {port} and ip {ip}"
        ))),
    }
}

fn static_mac_binding_list(ctx: &mut Ctx, _c: &Command) -> Result<()> {
    let rows = ctx.txn.all(SMB)?;
    let mut lines: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            let key = format!(
                "{:<25}{:<25}",
                ctx.txn.get_str(SMB, r, "logical_port"),
                ctx.txn.get_str(SMB, r, "ip")
            );
            (key, ctx.txn.get_str(SMB, r, "mac"))
        })
        .collect();
    lines.sort();
    let mut out = String::new();
    if !lines.is_empty() {
        out += &format!("{:<25}{:<25}MAC\n", "LOGICAL_PORT", "IP");
    }
    for (k, mac) in lines {
        out += &format!("{k}{mac}\n");
    }
    ctx.print(out);
    Ok(())
}
