//! The database's own listeners and TLS settings, as `ovn-nbctl`/`ovn-sbctl` manage them:
//! `get/set/del-connection` (the `Connection` rows the global row lists, which
//! `ovsdb-server --remote=db:...` serves) and `get/set/del-ssl`. The Southbound flavour
//! also prints and takes `read-only`/`read-write` and `role=ROLE` (RBAC).

use ovsdb::{Datum, Row};

use crate::{Command, CommandSpec, Ctx, Result, RowKey};

const CONNECTION: &str = "Connection";
const SSL: &str = "SSL";

pub fn commands() -> Vec<CommandSpec> {
    vec![
        CommandSpec::new("get-connection", 0, 0, "", "", get_connection),
        CommandSpec::new("del-connection", 0, 0, "", "", del_connection),
        CommandSpec::new(
            "set-connection",
            1,
            usize::MAX,
            "TARGET...",
            "--inactivity-probe=",
            set_connection,
        ),
        CommandSpec::new("get-ssl", 0, 0, "", "", get_ssl),
        CommandSpec::new("del-ssl", 0, 0, "", "", del_ssl),
        CommandSpec::new(
            "set-ssl",
            3,
            5,
            "PRIVATE-KEY CERTIFICATE CA-CERT [SSL-PROTOS [SSL-CIPHERS]]",
            "--bootstrap",
            set_ssl,
        ),
    ]
}

/// The database's global table and row (`NB_Global` or `SB_Global`), and whether it is
/// the Southbound (whose connections carry RBAC roles).
fn global(ctx: &mut Ctx) -> Result<(&'static str, RowKey, bool)> {
    let sb = ctx.txn.table_schema("SB_Global").is_ok();
    let table = if sb { "SB_Global" } else { "NB_Global" };
    // Like ovn-nbctl/ovn-sbctl, a database without its global row gets one.
    let row = match ctx.txn.all(table)?.into_iter().next() {
        Some(r) => r,
        None => ctx.txn.insert(table, Row::new())?,
    };
    Ok((table, row, sb))
}

fn get_connection(ctx: &mut Ctx, _c: &Command) -> Result<()> {
    let (_, _, sb) = global(ctx)?;
    let mut lines: Vec<String> = ctx
        .txn
        .all(CONNECTION)?
        .iter()
        .map(|r| {
            let target = ctx.txn.get_str(CONNECTION, r, "target");
            if sb {
                let ro = ctx.txn.get(CONNECTION, r, "read_only").as_bool() == Some(true);
                let role = ctx.txn.get_str(CONNECTION, r, "role");
                format!(
                    "{} role=\"{role}\" {target}",
                    if ro { "read-only" } else { "read-write" }
                )
            } else {
                target
            }
        })
        .collect();
    lines.sort();
    lines.dedup();
    ctx.print(lines.iter().map(|l| format!("{l}\n")).collect::<String>());
    Ok(())
}

fn delete_connections(ctx: &mut Ctx) -> Result<()> {
    let (table, g, _) = global(ctx)?;
    for r in ctx.txn.all(CONNECTION)? {
        ctx.txn.delete(CONNECTION, &r);
    }
    ctx.txn.set(table, &g, "connections", Datum::empty_set())
}

fn del_connection(ctx: &mut Ctx, _c: &Command) -> Result<()> {
    delete_connections(ctx)
}

/// What `atoll` makes of an option: its leading digits (with a sign), else 0.
fn leading_int(s: &str) -> i64 {
    let s = s.trim_start();
    let end = s
        .char_indices()
        .find(|&(i, ch)| !(ch.is_ascii_digit() || (i == 0 && (ch == '-' || ch == '+'))))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse().unwrap_or(0)
}

fn set_connection(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let (table, g, sb) = global(ctx)?;
    delete_connections(ctx)?;
    let probe = c.opt("--inactivity-probe").map(leading_int);
    let (mut read_only, mut role) = (false, String::new());
    let mut refs = Vec::new();
    for t in &c.args {
        if sb {
            match t.as_str() {
                "read-only" => {
                    read_only = true;
                    continue;
                }
                "read-write" => {
                    read_only = false;
                    continue;
                }
                _ => {
                    if let Some(r) = t.strip_prefix("role=") {
                        role = r.to_string();
                        continue;
                    }
                }
            }
        }
        let mut row = Row::new();
        row.insert("target".into(), Datum::string(t));
        if sb {
            row.insert("read_only".into(), Datum::boolean(read_only));
            row.insert("role".into(), Datum::string(&role));
        }
        if let Some(ms) = probe {
            row.insert("inactivity_probe".into(), Datum::integer(ms));
        }
        refs.push(ctx.txn.insert(CONNECTION, row)?);
    }
    ctx.txn.set(table, &g, "connections", Datum::set(refs))
}

fn get_ssl(ctx: &mut Ctx, _c: &Command) -> Result<()> {
    global(ctx)?;
    if let Some(s) = ctx.txn.all(SSL)?.first() {
        let boot = ctx.txn.get(SSL, s, "bootstrap_ca_cert").as_bool() == Some(true);
        let out = format!(
            "Private key: {}\nCertificate: {}\nCA Certificate: {}\nBootstrap: {boot}\n",
            ctx.txn.get_str(SSL, s, "private_key"),
            ctx.txn.get_str(SSL, s, "certificate"),
            ctx.txn.get_str(SSL, s, "ca_cert"),
        );
        ctx.print(out);
    }
    Ok(())
}

fn del_ssl(ctx: &mut Ctx, _c: &Command) -> Result<()> {
    let (table, g, _) = global(ctx)?;
    if let Some(s) = ctx.txn.all(SSL)?.first() {
        ctx.txn.delete(SSL, s);
        ctx.txn.set(table, &g, "ssl", Datum::empty_set())?;
    }
    Ok(())
}

fn set_ssl(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let (table, g, _) = global(ctx)?;
    if let Some(s) = ctx.txn.all(SSL)?.first() {
        ctx.txn.delete(SSL, s);
    }
    let mut row = Row::new();
    row.insert("private_key".into(), Datum::string(c.arg(0)));
    row.insert("certificate".into(), Datum::string(c.arg(1)));
    row.insert("ca_cert".into(), Datum::string(c.arg(2)));
    row.insert("bootstrap_ca_cert".into(), Datum::boolean(c.has("--bootstrap")));
    if let Some(p) = c.args.get(3) {
        row.insert("ssl_protocols".into(), Datum::string(p));
    }
    if let Some(ci) = c.args.get(4) {
        row.insert("ssl_ciphers".into(), Datum::string(ci));
    }
    let s = ctx.txn.insert(SSL, row)?;
    ctx.txn.set(table, &g, "ssl", Datum::atom(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_read_as_atoll_does() {
        assert_eq!(leading_int("5000"), 5000);
        assert_eq!(leading_int("-1"), -1);
        assert_eq!(leading_int("30s"), 30);
        assert_eq!(leading_int("abc"), 0);
        assert_eq!(leading_int(""), 0);
    }
}
