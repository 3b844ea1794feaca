//! Logical switch and logical switch port commands.

use std::collections::BTreeMap;

use dbctl::{Command, CommandSpec, CtlError, Ctx, Result, RowKey};
use ovsdb::{Atom, Condition, Datum, Row};

use crate::addr::{lsp_ips, valid_lsp_address, valid_port_security};
use crate::{by_name_or_uuid, cmd};

const LS: &str = "Logical_Switch";
const LSP: &str = "Logical_Switch_Port";
const MAX: usize = usize::MAX;

pub fn commands() -> Vec<CommandSpec> {
    vec![
        cmd("ls-add", 0, 1, "[SWITCH]", "--may-exist,--add-duplicate", ls_add),
        cmd("ls-del", 1, 1, "SWITCH", "--if-exists", ls_del),
        cmd("ls-list", 0, 0, "", "", ls_list),
        cmd(
            "lsp-add",
            2,
            4,
            "SWITCH PORT [PARENT] [TAG]",
            "--may-exist",
            lsp_add,
        ),
        cmd("lsp-del", 1, 1, "PORT", "--if-exists", lsp_del),
        cmd("lsp-list", 1, 1, "SWITCH", "", lsp_list),
        cmd("lsp-get-parent", 1, 1, "PORT", "", lsp_get_parent),
        cmd("lsp-get-tag", 1, 1, "PORT", "", lsp_get_tag),
        cmd(
            "lsp-set-addresses",
            1,
            MAX,
            "PORT [ADDRESS]...",
            "",
            lsp_set_addresses,
        ),
        cmd("lsp-get-addresses", 1, 1, "PORT", "", lsp_get_addresses),
        cmd(
            "lsp-set-port-security",
            0,
            MAX,
            "PORT [ADDRS]...",
            "",
            lsp_set_port_security,
        ),
        cmd("lsp-get-port-security", 1, 1, "PORT", "", lsp_get_port_security),
        cmd("lsp-get-up", 1, 1, "PORT", "", lsp_get_up),
        cmd("lsp-set-enabled", 2, 2, "PORT STATE", "", lsp_set_enabled),
        cmd("lsp-get-enabled", 1, 1, "PORT", "", lsp_get_enabled),
        cmd("lsp-set-type", 2, 2, "PORT TYPE", "", lsp_set_type),
        cmd("lsp-get-type", 1, 1, "PORT", "", lsp_get_type),
        cmd(
            "lsp-set-options",
            1,
            MAX,
            "PORT KEY=VALUE [KEY=VALUE]...",
            "",
            lsp_set_options,
        ),
        cmd("lsp-get-options", 1, 1, "PORT", "", lsp_get_options),
        cmd("lsp-get-ls", 1, 1, "PORT", "", lsp_get_ls),
    ]
}

pub fn ls_by_name_or_uuid(ctx: &mut Ctx, id: &str, must_exist: bool) -> Result<Option<RowKey>> {
    by_name_or_uuid(ctx, LS, id, must_exist, "switch", "logical switches")
}

pub(crate) fn ls_must(ctx: &mut Ctx, id: &str) -> Result<RowKey> {
    Ok(ls_by_name_or_uuid(ctx, id, true)?.expect("must_exist"))
}

pub fn lsp_by_name_or_uuid(ctx: &mut Ctx, id: &str, must_exist: bool) -> Result<Option<RowKey>> {
    by_name_or_uuid(ctx, LSP, id, must_exist, "port", "")
}

fn lsp_must(ctx: &mut Ctx, id: &str) -> Result<RowKey> {
    Ok(lsp_by_name_or_uuid(ctx, id, true)?.expect("must_exist"))
}

/// The switch whose `ports` contain `lsp`.
fn lsp_to_ls(ctx: &mut Ctx, lsp: &RowKey) -> Result<RowKey> {
    let rows = ctx.txn.select(
        LS,
        &[Condition::new("ports", "includes", Datum::atom(lsp.clone()))],
    )?;
    rows.into_iter().next().ok_or_else(|| {
        CtlError::msg(format!(
            "logical port {} is not part of any logical switch",
            ctx.txn.get_str(LSP, lsp, "name")
        ))
    })
}

/// `name` of a switch, or its UUID when unnamed.
fn ls_name(ctx: &Ctx, ls: &RowKey) -> String {
    let n = ctx.txn.get_str(LS, ls, "name");
    if n.is_empty() { ls.to_string() } else { n }
}

fn ls_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    add_named(ctx, c, LS, "switch")
}

fn ls_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let ls = ls_by_name_or_uuid(ctx, c.arg(0), !c.has("--if-exists"))?;
    del_with_ports(ctx, LS, ls);
    Ok(())
}

/// `ls-add`/`lr-add`: a new row of `table` (named if a name is given), with
/// ovn-nbctl's `--may-exist`/`--add-duplicate` rules; `what` is "switch"/"router".
pub(crate) fn add_named(ctx: &mut Ctx, c: &Command, table: &str, what: &str) -> Result<()> {
    let may_exist = c.has("--may-exist");
    let add_duplicate = c.has("--add-duplicate");
    if may_exist && add_duplicate {
        return Err(CtlError::msg(
            "--may-exist and --add-duplicate may not be used together",
        ));
    }
    let mut row = Row::new();
    match c.args.first() {
        Some(name) => {
            if !add_duplicate
                && !ctx
                    .txn
                    .select(table, &[Condition::eq("name", Datum::string(name))])?
                    .is_empty()
            {
                if may_exist {
                    return Ok(());
                }
                return Err(CtlError::msg(format!(
                    "{name}: a {what} with this name already exists"
                )));
            }
            row.insert("name".into(), Datum::string(name));
        }
        None if may_exist => return Err(CtlError::msg("--may-exist requires specifying a name")),
        None if add_duplicate => return Err(CtlError::msg("--add-duplicate requires specifying a name")),
        None => {}
    }
    ctx.txn.insert(table, row)?;
    Ok(())
}

/// `ls-del`/`lr-del`: the row, and (as the ports are only referenced by it) its ports.
pub(crate) fn del_with_ports(ctx: &mut Ctx, table: &str, row: Option<RowKey>) {
    if let Some(r) = row {
        for p in ctx.txn.get(table, &r, "ports").as_set().to_vec() {
            ctx.txn.forget(&p);
        }
        ctx.txn.delete(table, &r);
    }
}

/// `UUID (name)` lines sorted by name, as `ls-list`/`lsp-list`/... print them.
pub fn name_list(ctx: &Ctx, table: &str, keys: &[RowKey]) -> String {
    let mut v: Vec<(String, String)> = keys
        .iter()
        .map(|k| {
            let n = ctx.txn.get_str(table, k, "name");
            (n.clone(), format!("{k} ({n})\n"))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, l)| l).collect()
}

fn ls_list(ctx: &mut Ctx, _: &Command) -> Result<()> {
    let all = ctx.txn.all(LS)?;
    let s = name_list(ctx, LS, &all);
    ctx.print(s);
    Ok(())
}

fn lsp_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let may_exist = c.has("--may-exist");
    let ls = ls_must(ctx, c.arg(0))?;
    let (parent, tag) = match c.args.len() {
        2 => (None, None),
        4 => {
            let t = c.arg(3);
            match t.parse::<i64>() {
                Ok(v) if (0..=4095).contains(&v) => (Some(c.arg(2).to_string()), Some(v)),
                _ => {
                    return Err(CtlError::msg(format!(
                        "{t}: invalid tag (must be in range 0 to 4095)"
                    )));
                }
            }
        }
        _ => return Err(CtlError::msg("lsp-add with parent must also specify a tag")),
    };
    let name = c.arg(1);
    if let Some(lsp) = lsp_by_name_or_uuid(ctx, name, false)? {
        if !may_exist {
            return Err(CtlError::msg(format!(
                "{name}: a port with this name already exists"
            )));
        }
        let owner = lsp_to_ls(ctx, &lsp)?;
        if owner != ls {
            return Err(CtlError::msg(format!(
                "{name}: port already exists but in switch {}",
                ls_name(ctx, &owner)
            )));
        }
        let cur_parent = ctx.txn.get(LSP, &lsp, "parent_name").as_str().map(str::to_string);
        let cur_tag = ctx.txn.get(LSP, &lsp, "tag_request").as_integer();
        match (&parent, &cur_parent) {
            (Some(_), None) => {
                return Err(CtlError::msg(format!(
                    "{name}: port already exists but has no parent"
                )));
            }
            (Some(p), Some(cp)) if p != cp => {
                return Err(CtlError::msg(format!(
                    "{name}: port already exists with different parent {cp}"
                )));
            }
            (Some(_), Some(_)) => match cur_tag {
                None => {
                    return Err(CtlError::msg(format!(
                        "{name}: port already exists but has no tag_request"
                    )));
                }
                Some(t) if Some(t) != tag => {
                    return Err(CtlError::msg(format!(
                        "{name}: port already exists with different tag_request {t}"
                    )));
                }
                _ => {}
            },
            (None, Some(cp)) => {
                return Err(CtlError::msg(format!(
                    "{name}: port already exists but has parent {cp}"
                )));
            }
            (None, None) => {}
        }
        return Ok(());
    }
    let mut row = Row::new();
    row.insert("name".into(), Datum::string(name));
    if let (Some(p), Some(t)) = (parent, tag) {
        row.insert("parent_name".into(), Datum::string(p));
        row.insert("tag_request".into(), Datum::integer(t));
    }
    let lsp = ctx.txn.insert(LSP, row)?;
    ctx.txn.insert_into(LS, &ls, "ports", Datum::atom(lsp))
}

fn lsp_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let Some(lsp) = lsp_by_name_or_uuid(ctx, c.arg(0), !c.has("--if-exists"))? else {
        return Ok(());
    };
    let ls = lsp_to_ls(ctx, &lsp)?;
    ctx.txn.delete_from(LS, &ls, "ports", Datum::atom(lsp.clone()))?;
    ctx.txn.forget(&lsp);
    Ok(())
}

fn lsp_list(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let ls = ls_must(ctx, c.arg(0))?;
    let ports = ctx.txn.get(LS, &ls, "ports").as_set().to_vec();
    ctx.txn.fetch(LSP, &ports)?;
    let s = name_list(ctx, LSP, &ports);
    ctx.print(s);
    Ok(())
}

fn lsp_get_parent(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    if let Some(p) = ctx.txn.get(LSP, &lsp, "parent_name").as_str() {
        let s = format!("{p}\n");
        ctx.print(s);
    }
    Ok(())
}

fn lsp_get_tag(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    if let Some(t) = ctx.txn.get(LSP, &lsp, "tag").as_integer() {
        ctx.print(format!("{t}\n"));
    }
    Ok(())
}

fn lsp_set_addresses(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    let ls = lsp_to_ls(ctx, &lsp)?;
    for a in &c.args[1..] {
        if !valid_lsp_address(a) {
            return Err(CtlError::msg(format!(
                "{a}: Invalid address format. See ovn-nb(5). Hint: An Ethernet address must be listed before an IP address, together as a single argument."
            )));
        }
    }
    // Duplicate IPs on the same switch are refused, as ovn-nbctl does.
    let new_ips: Vec<_> = c.args[1..].iter().flat_map(|a| lsp_ips(a)).collect();
    if !new_ips.is_empty() {
        let ports = ctx.txn.get(LS, &ls, "ports").as_set().to_vec();
        ctx.txn.fetch(LSP, &ports)?;
        for p in ports.iter().filter(|p| **p != lsp) {
            let mut addrs = ctx.txn.get(LSP, p, "addresses").strings();
            if let Some(d) = ctx.txn.get(LSP, p, "dynamic_addresses").as_str() {
                addrs.push(d.to_string());
            }
            for ip in addrs.iter().flat_map(|a| lsp_ips(a)) {
                if new_ips.contains(&ip) {
                    let fam = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
                    return Err(CtlError::msg(format!(
                        "Error on switch {}: duplicate {fam} address '{ip}' found on logical switch port '{}'",
                        ctx.txn.get_str(LS, &ls, "name"),
                        ctx.txn.get_str(LSP, p, "name")
                    )));
                }
            }
        }
    }
    let addrs = Datum::set(c.args[1..].iter().map(|a| Atom::string(a.as_str())));
    ctx.txn.set(LSP, &lsp, "addresses", addrs)
}

fn print_sorted(ctx: &mut Ctx, mut v: Vec<String>) {
    v.sort();
    let s: String = v.into_iter().map(|l| l + "\n").collect();
    ctx.print(s);
}

fn lsp_get_addresses(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    let addrs = ctx.txn.get(LSP, &lsp, "addresses").strings();
    let opts = ctx.txn.get(LSP, &lsp, "options");
    if addrs == ["router"]
        && let Some(rp) = opts
            .map_get("router-port")
            .and_then(Atom::as_str)
            .map(str::to_string)
        && let Some(lrp) = crate::router::lrp_by_name_or_uuid(ctx, &rp, false)?
    {
        let mut s = ctx.txn.get_str("Logical_Router_Port", &lrp, "mac");
        for n in ctx.txn.get("Logical_Router_Port", &lrp, "networks").strings() {
            s += &format!(" {n}");
        }
        ctx.print(s + "\n");
        return Ok(());
    }
    print_sorted(ctx, addrs);
    Ok(())
}

fn lsp_set_port_security(ctx: &mut Ctx, c: &Command) -> Result<()> {
    if c.args.is_empty() {
        return Err(CtlError::msg(
            "'lsp-set-port-security' command requires at least 1 arguments",
        ));
    }
    let lsp = lsp_must(ctx, c.arg(0))?;
    for a in &c.args[1..] {
        if !valid_port_security(a) {
            return Err(CtlError::msg(format!(
                "{a}: Invalid port security format. See ovn-nb(5): an Ethernet address followed by optional IP addresses or networks"
            )));
        }
    }
    let v = Datum::set(c.args[1..].iter().map(|a| Atom::string(a.as_str())));
    ctx.txn.set(LSP, &lsp, "port_security", v)
}

fn lsp_get_port_security(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    let v = ctx.txn.get(LSP, &lsp, "port_security").strings();
    print_sorted(ctx, v);
    Ok(())
}

fn lsp_get_up(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    let up = ctx.txn.get(LSP, &lsp, "up").as_bool() == Some(true);
    ctx.print(if up { "up\n" } else { "down\n" });
    Ok(())
}

pub fn parse_enabled(state: &str) -> Result<bool> {
    if state.eq_ignore_ascii_case("enabled") {
        Ok(true)
    } else if state.eq_ignore_ascii_case("disabled") {
        Ok(false)
    } else {
        Err(CtlError::msg(format!(
            "{state}: state must be \"enabled\" or \"disabled\""
        )))
    }
}

fn lsp_set_enabled(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    let e = parse_enabled(c.arg(1))?;
    ctx.txn.set(LSP, &lsp, "enabled", Datum::boolean(e))
}

fn lsp_get_enabled(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    let e = ctx.txn.get(LSP, &lsp, "enabled").as_bool() != Some(false);
    ctx.print(if e { "enabled\n" } else { "disabled\n" });
    Ok(())
}

/// `ovn_is_known_nb_lsp_type`.
const LSP_TYPES: &[&str] = &[
    "",
    "l2gateway",
    "localnet",
    "localport",
    "router",
    "vtep",
    "external",
    "virtual",
    "remote",
];

fn lsp_set_type(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    let ty = c.arg(1);
    if !LSP_TYPES.contains(&ty) {
        return Err(CtlError::msg(format!(
            "Logical switch port type '{ty}' is unrecognized. Not setting type."
        )));
    }
    ctx.txn.set(LSP, &lsp, "type", Datum::string(ty))
}

fn lsp_get_type(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    let t = ctx.txn.get_str(LSP, &lsp, "type");
    ctx.print(t + "\n");
    Ok(())
}

/// `KEY=VALUE` arguments as a map; arguments without `=` are ignored, as in ovn-nbctl.
pub fn parse_options(args: &[String]) -> Datum {
    let m: BTreeMap<String, String> = args
        .iter()
        .filter_map(|a| a.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Datum::string_map(m)
}

fn lsp_set_options(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    ctx.txn.set(LSP, &lsp, "options", parse_options(&c.args[1..]))
}

pub fn print_options(ctx: &mut Ctx, opts: &Datum) {
    let s: String = opts
        .string_pairs()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    ctx.print(s);
}

fn lsp_get_options(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    let o = ctx.txn.get(LSP, &lsp, "options");
    print_options(ctx, &o);
    Ok(())
}

fn lsp_get_ls(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let lsp = lsp_must(ctx, c.arg(0))?;
    let ls = lsp_to_ls(ctx, &lsp)?;
    let n = ctx.txn.get_str(LS, &ls, "name");
    ctx.print(format!("{ls} ({n})\n"));
    Ok(())
}
