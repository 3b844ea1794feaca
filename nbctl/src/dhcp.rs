//! Native DHCP commands: `dhcp-options-*` and `lsp-set/get-dhcpv4-options`.

use dbctl::{Command, CommandSpec, CtlError, Ctx, Result, RowKey};
use ovsdb::{Datum, Row, Uuid};

use crate::addr::parse_cidr;
use crate::cmd;
use crate::switch::lsp_by_name_or_uuid;

const DHCP: &str = "DHCP_Options";
const LSP: &str = "Logical_Switch_Port";

pub fn commands() -> Vec<CommandSpec> {
    vec![
        cmd(
            "dhcp-options-create",
            1,
            usize::MAX,
            "CIDR [EXTERNAL:IDS]",
            "",
            create,
        ),
        cmd("dhcp-options-del", 1, 1, "DHCP_OPT_UUID", "", del),
        cmd("dhcp-options-list", 0, 0, "", "", list),
        cmd(
            "dhcp-options-set-options",
            1,
            usize::MAX,
            "DHCP_OPT_UUID KEY=VALUE [KEY=VALUE]...",
            "",
            set_options,
        ),
        cmd("dhcp-options-get-options", 1, 1, "DHCP_OPT_UUID", "", get_options),
        cmd(
            "lsp-set-dhcpv4-options",
            1,
            2,
            "PORT [DHCP_OPT_UUID]",
            "",
            lsp_set,
        ),
        cmd("lsp-get-dhcpv4-options", 1, 1, "PORT", "", lsp_get),
        cmd(
            "lsp-set-dhcpv6-options",
            1,
            2,
            "PORT [DHCP_OPT_UUID]",
            "",
            lsp_set6,
        ),
        cmd("lsp-get-dhcpv6-options", 1, 1, "PORT", "", lsp_get6),
    ]
}

/// A DHCP_Options row by UUID (the table has no name).
fn by_uuid(ctx: &mut Ctx, id: &str) -> Result<RowKey> {
    let found = match Uuid::parse_str(id).ok().filter(|_| id.len() == 36) {
        Some(u) => ctx.txn.by_uuid(DHCP, u)?,
        None => None,
    };
    found.ok_or_else(|| CtlError::msg(format!("{id}: dhcp options UUID not found")))
}

/// `KEY=VALUE` arguments as a map (an argument without `=` is skipped, as ovn-nbctl does).
fn pairs(args: &[String]) -> Datum {
    Datum::string_map(args.iter().filter_map(|a| a.split_once('=')))
}

fn create(ctx: &mut Ctx, c: &Command) -> Result<()> {
    if parse_cidr(c.arg(0)).is_none() {
        return Err(CtlError::msg(format!("Invalid cidr format '{}'", c.arg(0))));
    }
    let mut row = Row::new();
    row.insert("cidr".into(), Datum::string(c.arg(0)));
    row.insert("external_ids".into(), pairs(&c.args[1..]));
    ctx.txn.insert(DHCP, row)?;
    Ok(())
}

fn del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let row = by_uuid(ctx, c.arg(0))?;
    ctx.txn.delete(DHCP, &row);
    Ok(())
}

fn list(ctx: &mut Ctx, _c: &Command) -> Result<()> {
    let rows = ctx.txn.all(DHCP)?;
    let mut v: Vec<(String, String)> = rows
        .iter()
        .map(|r| (ctx.txn.get_str(DHCP, r, "cidr"), r.to_string()))
        .collect();
    v.sort();
    let out: String = v.into_iter().map(|(_, u)| format!("{u}\n")).collect();
    ctx.print(out);
    Ok(())
}

fn set_options(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let row = by_uuid(ctx, c.arg(0))?;
    ctx.txn.set(DHCP, &row, "options", pairs(&c.args[1..]))
}

fn get_options(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let row = by_uuid(ctx, c.arg(0))?;
    let out: String = ctx
        .txn
        .get(DHCP, &row, "options")
        .string_pairs()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    ctx.print(out);
    Ok(())
}

/// `lsp-set-dhcpv4-options` / `lsp-set-dhcpv6-options`: the port's options of one family.
fn lsp_set_family(ctx: &mut Ctx, c: &Command, v6: bool) -> Result<()> {
    let lsp = lsp_by_name_or_uuid(ctx, c.arg(0), true)?.expect("must_exist");
    let value = match c.args.get(1) {
        None => Datum::empty_set(),
        Some(id) => {
            let row = by_uuid(ctx, id)?;
            let cidr = ctx.txn.get_str(DHCP, &row, "cidr");
            if parse_cidr(&cidr).is_none_or(|(ip, _)| ip.is_ipv6() != v6) {
                let fam = if v6 { "IPv6" } else { "IPv4" };
                return Err(CtlError::msg(format!("DHCP options cidr '{cidr}' is not {fam}")));
            }
            Datum::atom(row)
        }
    };
    ctx.txn.set(LSP, &lsp, column(v6), value)
}

fn column(v6: bool) -> &'static str {
    if v6 { "dhcpv6_options" } else { "dhcpv4_options" }
}

fn lsp_get_family(ctx: &mut Ctx, c: &Command, v6: bool) -> Result<()> {
    let lsp = lsp_by_name_or_uuid(ctx, c.arg(0), true)?.expect("must_exist");
    let Some(row) = ctx.txn.get(LSP, &lsp, column(v6)).as_atom().cloned() else {
        return Ok(());
    };
    ctx.txn.fetch(DHCP, std::slice::from_ref(&row))?;
    let cidr = ctx.txn.get_str(DHCP, &row, "cidr");
    ctx.print(format!("{row} ({cidr})\n"));
    Ok(())
}

fn lsp_set(ctx: &mut Ctx, c: &Command) -> Result<()> {
    lsp_set_family(ctx, c, false)
}

fn lsp_get(ctx: &mut Ctx, c: &Command) -> Result<()> {
    lsp_get_family(ctx, c, false)
}

fn lsp_set6(ctx: &mut Ctx, c: &Command) -> Result<()> {
    lsp_set_family(ctx, c, true)
}

fn lsp_get6(ctx: &mut Ctx, c: &Command) -> Result<()> {
    lsp_get_family(ctx, c, true)
}
