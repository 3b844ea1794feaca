//! `rovn-nbctl`: manage the OVN Northbound database with `ovn-nbctl`'s command
//! line. Every invocation is one transaction; nothing is committed if a command fails.

mod acl;
mod addr;
mod dhcp;
mod lb;
mod meter;
mod nat;
mod policy;
mod qos;
mod router;
mod show;
mod static_mac;
mod switch;

use dbctl::{Command, Committed, CtlError, Ctx, Program, Result, RowId, RowKey, WaitType};
use std::sync::atomic::{AtomicI64, Ordering};

use ovsdb::{Condition, Datum, Uuid};

const NB_ROW_IDS: &[RowId] = &[
    RowId {
        table: "Logical_Switch",
        column: "name",
        key: None,
    },
    RowId {
        table: "Logical_Switch",
        column: "external_ids",
        key: Some("neutron:network_name"),
    },
    RowId {
        table: "Logical_Switch_Port",
        column: "name",
        key: None,
    },
    RowId {
        table: "Logical_Switch_Port",
        column: "external_ids",
        key: Some("neutron:port_name"),
    },
    RowId {
        table: "Logical_Router",
        column: "name",
        key: None,
    },
    RowId {
        table: "Logical_Router",
        column: "external_ids",
        key: Some("neutron:router_name"),
    },
    RowId {
        table: "Logical_Router_Port",
        column: "name",
        key: None,
    },
    RowId {
        table: "Address_Set",
        column: "name",
        key: None,
    },
    RowId {
        table: "Port_Group",
        column: "name",
        key: None,
    },
    RowId {
        table: "ACL",
        column: "name",
        key: None,
    },
    RowId {
        table: "HA_Chassis",
        column: "chassis_name",
        key: None,
    },
    RowId {
        table: "HA_Chassis_Group",
        column: "name",
        key: None,
    },
    RowId {
        table: "Load_Balancer",
        column: "name",
        key: None,
    },
    RowId {
        table: "Load_Balancer_Group",
        column: "name",
        key: None,
    },
    RowId {
        table: "Load_Balancer_Health_Check",
        column: "vip",
        key: None,
    },
    RowId {
        table: "Forwarding_Group",
        column: "name",
        key: None,
    },
    RowId {
        table: "Meter",
        column: "name",
        key: None,
    },
    RowId {
        table: "NAT",
        column: "external_ip",
        key: None,
    },
    RowId {
        table: "Chassis_Template_Var",
        column: "chassis",
        key: None,
    },
    RowId {
        table: "Connection",
        column: "target",
        key: None,
    },
];

const USAGE: &str = "\
rovn-nbctl: OVN northbound DB management utility
usage: rovn-nbctl [OPTIONS] COMMAND [ARG...] [-- COMMAND [ARG...]]...

Options:
  --db=DATABASE               connect to DATABASE (default: $OVN_NB_DB or unix:$OVN_RUNDIR/ovnnb_db.sock)
  --no-wait, --wait=none      do not wait for OVN reconfiguration (default)
  --wait=sb                   wait for southbound database update
  --wait=hv                   wait for all chassis to catch up
  -t, --timeout=SECS          wait at most SECS seconds
  --dry-run                   do not commit changes to database
  --oneline                   print exactly one line of output per command
  -f, --format=FORMAT         list/find output: table, list, csv, json, html
  -d, --data=FORMAT           cell format: string, bare, json
  --no-headings, --pretty, --bare
";

pub(crate) use dbctl::cmd;

/// Finds a row of `table` by full UUID or by its `name` column, with
/// `ovn-nbctl`'s messages (`WHAT_SINGULAR`, `what plural`).
pub(crate) fn by_name_or_uuid(
    ctx: &mut Ctx,
    table: &str,
    id: &str,
    must_exist: bool,
    what: &str,
    plural: &str,
) -> Result<Option<RowKey>> {
    let uuid = Uuid::parse_str(id).ok().filter(|_| id.len() == 36);
    if let Some(u) = uuid
        && let Some(k) = ctx.txn.by_uuid(table, u)?
    {
        return Ok(Some(k));
    }
    let rows = ctx
        .txn
        .select(table, &[Condition::eq("name", Datum::string(id))])?;
    if rows.len() > 1 && !plural.is_empty() {
        return Err(CtlError::msg(format!(
            "Multiple {plural} named '{id}'.  Use a UUID."
        )));
    }
    if rows.is_empty() && must_exist {
        return Err(CtlError::msg(format!(
            "{id}: {what} {} not found",
            if uuid.is_some() { "UUID" } else { "name" }
        )));
    }
    Ok(rows.into_iter().next())
}

/// What `post_commit` waits for: 0 nothing, -1 the incremented `nb_cfg`, else that value.
static WAIT_FOR: AtomicI64 = AtomicI64::new(0);

/// `nbctl_pre_execute`: create `NB_Global` if missing; for `--wait`, bump `nb_cfg`.
fn pre_commit(ctx: &mut Ctx) -> Result<()> {
    let nb = match ctx.txn.all("NB_Global")?.into_iter().next() {
        Some(k) => k,
        None => ctx.txn.insert("NB_Global", Default::default())?,
    };
    if ctx.txn.get("NB_Global", &nb, "nb_cfg").as_integer() == Some(i64::MAX) {
        ctx.txn.set("NB_Global", &nb, "nb_cfg", Datum::integer(0))?;
    }
    if ctx.wait != WaitType::None && (ctx.txn.has_changes() || ctx.force_wait) {
        if let ovsdb::Atom::NamedUuid(_) = nb {
            ctx.txn.set("NB_Global", &nb, "nb_cfg", Datum::integer(1))?;
            WAIT_FOR.store(1, Ordering::Relaxed);
        } else {
            ctx.txn.increment("NB_Global", &nb, "nb_cfg");
            WAIT_FOR.store(-1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// `nbctl_post_execute`: wait until northd (and the chassis) caught up.
fn post_commit(ctx: &mut Ctx, done: &Committed) -> Result<()> {
    let next = match WAIT_FOR.load(Ordering::Relaxed) {
        0 => return Ok(()),
        -1 => match done.increments.first() {
            Some(n) => *n,
            None => return Ok(()),
        },
        n => n,
    };
    dbctl::wait::wait_for_cfg(ctx, "NB_Global", next)
}

fn sync(ctx: &mut Ctx, _: &Command) -> Result<()> {
    ctx.force_wait = true;
    Ok(())
}

fn init(_: &mut Ctx, _: &Command) -> Result<()> {
    Ok(())
}

fn program() -> Program {
    let mut commands = vec![
        cmd("init", 0, 0, "", "", init),
        cmd("sync", 0, 0, "", "", sync),
        cmd("show", 0, 1, "[SWITCH|ROUTER]", "", show::show),
    ];
    commands.extend(switch::commands());
    commands.extend(router::commands());
    commands.extend(policy::commands());
    commands.extend(qos::commands());
    commands.extend(meter::commands());
    commands.extend(static_mac::commands());
    commands.extend(lb::commands());
    commands.extend(acl::commands());
    commands.extend(nat::commands());
    commands.extend(dhcp::commands());
    commands.extend(dbctl::generic::commands());
    commands.extend(dbctl::connection::commands());
    Program {
        name: "rovn-nbctl",
        db: "OVN_Northbound",
        env_var: "OVN_NB_DB",
        default_sock: "ovnnb_db.sock",
        row_ids: NB_ROW_IDS,
        commands,
        usage: USAGE,
        pre_commit: Some(pre_commit),
        post_commit: Some(post_commit),
    }
}

fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let status = program().main(&argv);
    std::process::exit(status);
}
