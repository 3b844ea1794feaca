//! `rovn-sbctl`: inspect and edit the OVN Southbound database with `ovn-sbctl`'s
//! command line. Every invocation is one transaction.

mod trace;

use dbctl::{Command, CtlError, Ctx, Program, Result, RowId, RowKey};
use ovsdb::{Atom, Condition, Datum, Row};

const SB_ROW_IDS: &[RowId] = &[
    RowId {
        table: "Chassis",
        column: "name",
        key: None,
    },
    RowId {
        table: "Chassis_Private",
        column: "name",
        key: None,
    },
    RowId {
        table: "Datapath_Binding",
        column: "external_ids",
        key: Some("name"),
    },
    RowId {
        table: "Datapath_Binding",
        column: "external_ids",
        key: Some("name2"),
    },
    RowId {
        table: "Datapath_Binding",
        column: "external_ids",
        key: Some("logical-switch"),
    },
    RowId {
        table: "Datapath_Binding",
        column: "external_ids",
        key: Some("logical-router"),
    },
    RowId {
        table: "Port_Binding",
        column: "logical_port",
        key: None,
    },
    RowId {
        table: "Port_Binding",
        column: "external_ids",
        key: Some("name"),
    },
    RowId {
        table: "MAC_Binding",
        column: "logical_port",
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
        table: "HA_Chassis_Group",
        column: "name",
        key: None,
    },
    RowId {
        table: "Mirror",
        column: "name",
        key: None,
    },
    RowId {
        table: "Meter",
        column: "name",
        key: None,
    },
    RowId {
        table: "Service_Monitor",
        column: "logical_port",
        key: None,
    },
    RowId {
        table: "DHCP_Options",
        column: "name",
        key: None,
    },
    RowId {
        table: "DHCPv6_Options",
        column: "name",
        key: None,
    },
    RowId {
        table: "Connection",
        column: "target",
        key: None,
    },
    RowId {
        table: "RBAC_Role",
        column: "name",
        key: None,
    },
    RowId {
        table: "RBAC_Permission",
        column: "table",
        key: None,
    },
    RowId {
        table: "Gateway_Chassis",
        column: "name",
        key: None,
    },
    RowId {
        table: "Load_Balancer",
        column: "name",
        key: None,
    },
    RowId {
        table: "Chassis_Template_Var",
        column: "chassis",
        key: None,
    },
];

const USAGE: &str = "\
rovn-sbctl: OVN southbound DB management utility
usage: rovn-sbctl [OPTIONS] COMMAND [ARG...] [-- COMMAND [ARG...]]...

Options:
  --db=DATABASE               connect to DATABASE (default: $OVN_SB_DB or unix:$OVN_RUNDIR/ovnsb_db.sock)
  -t, --timeout=SECS          wait at most SECS seconds
  --dry-run                   do not commit changes to database
  -f, --format=FORMAT         list/find output: table, list, csv, json, html
  -d, --data=FORMAT           cell format: string, bare, json
  --no-headings, --pretty, --bare
";

pub(crate) use dbctl::cmd;

fn by_column(ctx: &mut Ctx, table: &str, column: &str, value: &str) -> Result<Option<RowKey>> {
    Ok(ctx
        .txn
        .select(table, &[Condition::eq(column, Datum::string(value))])?
        .into_iter()
        .next())
}

fn find_chassis(ctx: &mut Ctx, name: &str, must_exist: bool) -> Result<Option<RowKey>> {
    let ch = by_column(ctx, "Chassis", "name", name)?;
    if ch.is_none() && must_exist {
        return Err(CtlError::msg(format!("no chassis named {name}")));
    }
    Ok(ch)
}

fn find_port_binding(ctx: &mut Ctx, name: &str, must_exist: bool) -> Result<Option<RowKey>> {
    let pb = by_column(ctx, "Port_Binding", "logical_port", name)?;
    if pb.is_none() && must_exist {
        return Err(CtlError::msg(format!("no port named {name}")));
    }
    Ok(pb)
}

fn chassis_add(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let (name, types, ip) = (c.arg(0), c.arg(1), c.arg(2));
    if find_chassis(ctx, name, false)?.is_some() {
        if c.has("--may-exist") {
            return Ok(());
        }
        return Err(CtlError::msg(format!(
            "cannot create a chassis named {name} because a chassis named {name} already exists"
        )));
    }
    let mut types: Vec<&str> = types.split(',').filter(|t| !t.is_empty()).collect();
    types.sort();
    types.dedup();
    let mut encaps = Vec::new();
    for t in types {
        let mut row = Row::new();
        row.insert("type".into(), Datum::string(t));
        row.insert("ip".into(), Datum::string(ip));
        row.insert("options".into(), Datum::string_map([("csum", "true")]));
        row.insert("chassis_name".into(), Datum::string(name));
        encaps.push(ctx.txn.insert("Encap", row)?);
    }
    let mut row = Row::new();
    row.insert("name".into(), Datum::string(name));
    row.insert("encaps".into(), Datum::set(encaps));
    ctx.txn.insert("Chassis", row)?;
    Ok(())
}

fn chassis_del(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let Some(ch) = find_chassis(ctx, c.arg(0), !c.has("--if-exists"))? else {
        return Ok(());
    };
    for e in ctx.txn.get("Chassis", &ch, "encaps").as_set().to_vec() {
        ctx.txn.delete("Encap", &e);
    }
    if let Some(p) = by_column(ctx, "Chassis_Private", "name", c.arg(0))? {
        ctx.txn.delete("Chassis_Private", &p);
    }
    ctx.txn.delete("Chassis", &ch);
    Ok(())
}

fn lsp_bind(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let (port, chassis) = (c.arg(0), c.arg(1));
    let pb = find_port_binding(ctx, port, true)?.expect("must_exist");
    let ch = find_chassis(ctx, chassis, true)?.expect("must_exist");
    if let Some(cur) = ctx.txn.get("Port_Binding", &pb, "chassis").as_atom().cloned() {
        if !c.has("--may-exist") || cur != ch {
            ctx.txn.fetch("Chassis", std::slice::from_ref(&cur))?;
            let n = ctx.txn.get_str("Chassis", &cur, "name");
            return Err(CtlError::msg(format!(
                "lport ({port}) has already been binded to chassis ({n})"
            )));
        }
        return Ok(());
    }
    ctx.txn.set("Port_Binding", &pb, "chassis", Datum::atom(ch))?;
    ctx.txn.set("Port_Binding", &pb, "up", Datum::boolean(true))
}

fn lsp_unbind(ctx: &mut Ctx, c: &Command) -> Result<()> {
    if let Some(pb) = find_port_binding(ctx, c.arg(0), !c.has("--if-exists"))? {
        ctx.txn.set("Port_Binding", &pb, "chassis", Datum::empty_set())?;
        ctx.txn.set("Port_Binding", &pb, "up", Datum::empty_set())?;
    }
    Ok(())
}

/// A datum as `ovs-vsctl` prints it, for the `show` tree.
fn text(ctx: &Ctx, table: &str, key: &RowKey, column: &str) -> String {
    let ty = ctx
        .txn
        .schema
        .table(table)
        .and_then(|t| t.column(column))
        .map(|c| c.ty.clone());
    let d = ctx.txn.get(table, key, column);
    match ty {
        Some(ty) => dbctl::value_parse::datum_to_string(&d, &ty),
        None => d.to_string(),
    }
}

fn is_default(ctx: &Ctx, table: &str, key: &RowKey, column: &str) -> bool {
    let d = ctx.txn.get(table, key, column);
    let def = ctx
        .txn
        .schema
        .table(table)
        .and_then(|t| t.column(column))
        .map(|c| c.ty.default_datum());
    d.is_empty() || Some(&d) == def.as_ref()
}

/// `show`: chassis, their encapsulations and the ports bound to them (the generic
/// `ovs-vsctl`-style tree `ovn-sbctl show` prints).
fn show(ctx: &mut Ctx, _: &Command) -> Result<()> {
    for t in ["Encap", "Port_Binding"] {
        ctx.txn.all(t)?;
    }
    let mut chassis = ctx.txn.all("Chassis")?;
    chassis.sort_by_key(|k| (ctx.txn.get_str("Chassis", k, "name"), k.to_string()));
    let mut pbs = ctx.txn.all("Port_Binding")?;
    pbs.sort_by_key(|k| ctx.txn.get_str("Port_Binding", k, "logical_port"));
    let mut out = String::new();
    for ch in &chassis {
        out += &format!("Chassis {}\n", text(ctx, "Chassis", ch, "name"));
        if !is_default(ctx, "Chassis", ch, "hostname") {
            out += &format!("    hostname: {}\n", text(ctx, "Chassis", ch, "hostname"));
        }
        for e in ctx.txn.get("Chassis", ch, "encaps").as_set() {
            out += &format!("    Encap {}\n", text(ctx, "Encap", e, "type"));
            for col in ["ip", "options"] {
                if !is_default(ctx, "Encap", e, col) {
                    out += &format!("        {col}: {}\n", text(ctx, "Encap", e, col));
                }
            }
        }
        for pb in &pbs {
            if ctx.txn.get("Port_Binding", pb, "chassis").as_atom() == Some(ch) {
                out += &format!(
                    "    Port_Binding {}\n",
                    text(ctx, "Port_Binding", pb, "logical_port")
                );
            }
        }
    }
    ctx.print(out);
    Ok(())
}

struct Flow {
    dp_name: String,
    dp: RowKey,
    ingress: bool,
    table: i64,
    priority: i64,
    matches: String,
    actions: String,
    stage: String,
    uuid: RowKey,
}

fn dp_label(ctx: &Ctx, dp: &RowKey) -> String {
    let ids = ctx.txn.get("Datapath_Binding", dp, "external_ids");
    let get = |k: &str| ids.map_get(k).and_then(Atom::as_str).map(str::to_string);
    match (get("name"), get("name2")) {
        (Some(a), Some(b)) => format!("\"{a}\" aka \"{b}\""),
        (Some(a), None) | (None, Some(a)) => format!("\"{a}\""),
        (None, None) => String::new(),
    }
}

/// `lflow-list [DATAPATH] [LFLOW...]`, grouped by datapath and pipeline and sorted
/// by table, priority (highest first), match and actions, as `ovn-sbctl` prints them.
/// The datapaths a Logical_Flow row applies to: its `logical_datapath`, or
/// the members of its `logical_dp_group` (both tables already fetched).
pub(crate) fn lflow_datapaths(ctx: &Ctx, lf: &RowKey) -> Vec<RowKey> {
    let mut dps: Vec<RowKey> = ctx
        .txn
        .get("Logical_Flow", lf, "logical_datapath")
        .as_set()
        .to_vec();
    for g in ctx.txn.get("Logical_Flow", lf, "logical_dp_group").as_set() {
        dps.extend(
            ctx.txn
                .get("Logical_DP_Group", g, "datapaths")
                .as_set()
                .iter()
                .cloned(),
        );
    }
    dps
}

/// A Logical_Flow row's `external_ids:stage-name`.
pub(crate) fn lflow_stage(ctx: &Ctx, lf: &RowKey) -> String {
    let ids = ctx.txn.get("Logical_Flow", lf, "external_ids");
    ids.map_get("stage-name")
        .and_then(Atom::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Every (logical flow, datapath) pair, or those of `only_dp`, in `lflow-list` order:
/// by datapath, pipeline (ingress first), table, priority (highest first), match, actions.
fn sorted_flows(ctx: &mut Ctx, only_dp: Option<&RowKey>) -> Result<Vec<Flow>> {
    let lflows = ctx.txn.all("Logical_Flow")?;
    ctx.txn.all("Datapath_Binding")?;
    ctx.txn.all("Logical_DP_Group")?;
    let mut flows = Vec::new();
    for lf in &lflows {
        let mut dps = lflow_datapaths(ctx, lf);
        if let Some(d) = only_dp {
            if !dps.contains(d) {
                continue;
            }
            dps = vec![d.clone()];
        }
        for dp in dps {
            flows.push(Flow {
                dp_name: ctx
                    .txn
                    .get("Datapath_Binding", &dp, "external_ids")
                    .map_get("name")
                    .and_then(Atom::as_str)
                    .unwrap_or("")
                    .to_string(),
                dp,
                ingress: ctx.txn.get_str("Logical_Flow", lf, "pipeline") == "ingress",
                table: ctx
                    .txn
                    .get("Logical_Flow", lf, "table_id")
                    .as_integer()
                    .unwrap_or(0),
                priority: ctx
                    .txn
                    .get("Logical_Flow", lf, "priority")
                    .as_integer()
                    .unwrap_or(0),
                matches: ctx.txn.get_str("Logical_Flow", lf, "match"),
                actions: ctx.txn.get_str("Logical_Flow", lf, "actions"),
                stage: lflow_stage(ctx, lf),
                uuid: lf.clone(),
            });
        }
    }
    flows.sort_by(|a, b| {
        a.dp_name
            .cmp(&b.dp_name)
            .then_with(|| a.dp.to_string().cmp(&b.dp.to_string()))
            .then(b.ingress.cmp(&a.ingress))
            .then(a.table.cmp(&b.table))
            .then(b.priority.cmp(&a.priority))
            .then_with(|| a.matches.cmp(&b.matches))
            .then_with(|| a.actions.cmp(&b.actions))
    });
    Ok(flows)
}

/// `count-flows [DATAPATH]`: logical flows per table, per datapath and pipeline, and in
/// all, as `ovn-sbctl` counts them (a datapath that does not exist counts nothing).
fn count_flows(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let only_dp = match c.args.first() {
        Some(first) => match ctx.get_row("Datapath_Binding", first, false)? {
            Some(dp) => Some(dp),
            None => {
                ctx.print("Total number of logical flows = 0\n");
                return Ok(());
            }
        },
        None => None,
    };
    let flows = sorted_flows(ctx, only_dp.as_ref())?;
    let mut out = String::new();
    let pipeline = |f: &Flow| if f.ingress { "ingress" } else { "egress" };
    let mut i = 0;
    while i < flows.len() {
        let first = &flows[i];
        out += &format!(
            "Datapath: {} ({})  Pipeline: {}\n",
            dp_label(ctx, &first.dp),
            first.dp,
            pipeline(first)
        );
        let same_dp = |f: &Flow| f.dp == first.dp && f.ingress == first.ingress;
        let end = i + flows[i..].iter().take_while(|f| same_dp(f)).count();
        let mut j = i;
        while j < end {
            let n = flows[j..end]
                .iter()
                .take_while(|f| f.table == flows[j].table)
                .count();
            out += &format!(
                "  table={:<2}({:<19}) lflows={n}\n",
                flows[j].table,
                flows[j + n - 1].stage
            );
            j += n;
        }
        out += &format!(
            "Total number of logical flows in the datapath {} ({}) Pipeline: {} = {}\n\n",
            dp_label(ctx, &first.dp),
            first.dp,
            pipeline(first),
            end - i
        );
        i = end;
    }
    out += &format!("Total number of logical flows = {}\n", flows.len());
    ctx.print(out);
    Ok(())
}

fn lflow_list(ctx: &mut Ctx, c: &Command) -> Result<()> {
    let mut args: &[String] = &c.args;
    let mut only_dp = None;
    if let Some(first) = args.first()
        && let Some(dp) = ctx.get_row("Datapath_Binding", first, false)?
    {
        only_dp = Some(dp);
        args = &args[1..];
    }
    for a in args {
        let hex = a.strip_prefix("0x").or_else(|| a.strip_prefix("0X")).unwrap_or(a);
        if dbctl::record::uuid_partial_len(hex) == 0 {
            return Err(CtlError::msg(format!(
                "{a} is not a UUID or the beginning of a UUID"
            )));
        }
    }
    let flows = sorted_flows(ctx, only_dp.as_ref())?;
    let print_uuid = c.has("--uuid");
    let mut out = String::new();
    let mut prev: Option<&Flow> = None;
    for f in &flows {
        if !args.is_empty() {
            let u = f.uuid.to_string();
            let hit = args.iter().any(|a| {
                let a = a.strip_prefix("0x").or_else(|| a.strip_prefix("0X")).unwrap_or(a);
                u.starts_with(&a.to_ascii_lowercase())
            });
            if !hit {
                continue;
            }
        }
        if prev.is_none_or(|p| p.dp != f.dp || p.ingress != f.ingress) {
            out += &format!(
                "Datapath: {} ({})  Pipeline: {}\n",
                dp_label(ctx, &f.dp),
                f.dp,
                if f.ingress { "ingress" } else { "egress" }
            );
        }
        out += "  ";
        if print_uuid {
            out += &format!("uuid=0x{}, ", &f.uuid.to_string()[..8]);
        }
        out += &format!(
            "table={:<2}({:<19}), priority={:<5}, match=({}), action=({})\n",
            f.table, f.stage, f.priority, f.matches, f.actions
        );
        prev = Some(f);
    }
    ctx.print(out);
    Ok(())
}

fn init(_: &mut Ctx, _: &Command) -> Result<()> {
    Ok(())
}

/// As ovn-sbctl does on every invocation: a database without `SB_Global` gets one.
fn pre_commit(ctx: &mut Ctx) -> Result<()> {
    if ctx.txn.all("SB_Global")?.is_empty() {
        ctx.txn.insert("SB_Global", Default::default())?;
    }
    Ok(())
}

fn program() -> Program {
    let mut commands = vec![
        cmd("init", 0, 0, "", "", init),
        cmd("show", 0, 0, "", "", show),
        cmd("count-flows", 0, 1, "[DATAPATH]", "", count_flows),
        cmd(
            "chassis-add",
            3,
            3,
            "CHASSIS ENCAP-TYPE ENCAP-IP",
            "--may-exist",
            chassis_add,
        ),
        cmd("chassis-del", 1, 1, "CHASSIS", "--if-exists", chassis_del),
        cmd("lsp-bind", 2, 2, "PORT CHASSIS", "--may-exist", lsp_bind),
        cmd("lsp-unbind", 1, 1, "PORT", "--if-exists", lsp_unbind),
        cmd(
            "lflow-list",
            0,
            usize::MAX,
            "[DATAPATH] [LFLOW...]",
            "--uuid,--ovs?,--stats,--vflows",
            lflow_list,
        ),
        cmd(
            "dump-flows",
            0,
            usize::MAX,
            "[DATAPATH] [LFLOW...]",
            "--uuid,--ovs?,--stats,--vflows",
            lflow_list,
        ),
        cmd("trace", 2, 2, "DATAPATH MICROFLOW", "", trace::trace),
    ];
    commands.extend(dbctl::generic::commands());
    commands.extend(dbctl::connection::commands());
    Program {
        name: "rovn-sbctl",
        db: "OVN_Southbound",
        env_var: "OVN_SB_DB",
        default_sock: "ovnsb_db.sock",
        row_ids: SB_ROW_IDS,
        commands,
        usage: USAGE,
        pre_commit: Some(pre_commit),
        post_commit: None,
    }
}

fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(program().main(&argv));
}
