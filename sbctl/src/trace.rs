//! `rovn-sbctl trace`: loads what `lflow::trace` needs from the Southbound
//! database (datapaths, port bindings, multicast groups, logical flows with
//! their datapath groups expanded, address sets, port groups) and runs it.

use std::collections::HashMap;

use dbctl::{Command, CtlError, Ctx, Result};
use lflow::trace::{TraceDatapath, TraceDb, TraceFlow, TracePort};
use ovsdb::{Atom, Datum};

/// `trace DATAPATH MICROFLOW`: rovn's `ovn-trace`, a packet followed through
/// the logical pipelines (see `lflow::trace`).
pub fn trace(ctx: &mut Ctx, c: &Command) -> Result<()> {
    for t in [
        "Datapath_Binding",
        "Port_Binding",
        "Multicast_Group",
        "Logical_DP_Group",
        "Address_Set",
        "Port_Group",
    ] {
        ctx.txn.all(t)?;
    }
    let lflows = ctx.txn.all("Logical_Flow")?;
    let str_set = |d: Datum| -> Vec<String> {
        d.as_set()
            .iter()
            .filter_map(|a| a.as_str().map(String::from))
            .collect()
    };
    let mut db = TraceDb::default();
    let mut index: HashMap<String, usize> = Default::default();
    for dp in ctx.txn.all("Datapath_Binding")? {
        let ids = ctx.txn.get("Datapath_Binding", &dp, "external_ids");
        index.insert(dp.to_string(), db.datapaths.len());
        db.datapaths.push(TraceDatapath {
            name: ids
                .map_get("name")
                .and_then(Atom::as_str)
                .unwrap_or_default()
                .to_string(),
            key: ctx
                .txn
                .get("Datapath_Binding", &dp, "tunnel_key")
                .as_integer()
                .unwrap_or(0) as u32,
            is_switch: ids.map_get("logical-switch").is_some(),
            ..Default::default()
        });
    }
    let dp_of = |d: Datum| {
        d.as_set()
            .first()
            .and_then(|a| index.get(&a.to_string()).copied())
    };
    for pb in ctx.txn.all("Port_Binding")? {
        let Some(i) = dp_of(ctx.txn.get("Port_Binding", &pb, "datapath")) else {
            continue;
        };
        db.datapaths[i].ports.push(TracePort {
            name: ctx.txn.get_str("Port_Binding", &pb, "logical_port"),
            key: ctx
                .txn
                .get("Port_Binding", &pb, "tunnel_key")
                .as_integer()
                .unwrap_or(0) as u32,
            port_type: ctx.txn.get_str("Port_Binding", &pb, "type"),
            peer: ctx
                .txn
                .get("Port_Binding", &pb, "options")
                .map_get("peer")
                .and_then(Atom::as_str)
                .map(String::from),
        });
    }
    let pb_names: HashMap<String, String> = ctx
        .txn
        .all("Port_Binding")?
        .into_iter()
        .map(|pb| {
            (
                pb.to_string(),
                ctx.txn.get_str("Port_Binding", &pb, "logical_port"),
            )
        })
        .collect();
    for mc in ctx.txn.all("Multicast_Group")? {
        let Some(i) = dp_of(ctx.txn.get("Multicast_Group", &mc, "datapath")) else {
            continue;
        };
        let members = ctx
            .txn
            .get("Multicast_Group", &mc, "ports")
            .as_set()
            .iter()
            .filter_map(|a| pb_names.get(&a.to_string()).cloned())
            .collect();
        db.datapaths[i].mcast.push((
            ctx.txn.get_str("Multicast_Group", &mc, "name"),
            ctx.txn
                .get("Multicast_Group", &mc, "tunnel_key")
                .as_integer()
                .unwrap_or(0) as u32,
            members,
        ));
    }
    for lf in &lflows {
        let dps = crate::lflow_datapaths(ctx, lf);
        let flow = TraceFlow {
            pipeline: if ctx.txn.get_str("Logical_Flow", lf, "pipeline") == "ingress" {
                lflow::Pipeline::Ingress
            } else {
                lflow::Pipeline::Egress
            },
            table: ctx
                .txn
                .get("Logical_Flow", lf, "table_id")
                .as_integer()
                .unwrap_or(0) as u8,
            priority: ctx
                .txn
                .get("Logical_Flow", lf, "priority")
                .as_integer()
                .unwrap_or(0) as u16,
            match_: ctx.txn.get_str("Logical_Flow", lf, "match"),
            actions: ctx.txn.get_str("Logical_Flow", lf, "actions"),
            stage: crate::lflow_stage(ctx, lf),
        };
        for d in dps {
            if let Some(&i) = index.get(&d.to_string()) {
                db.datapaths[i].flows.push(flow.clone());
            }
        }
    }
    for a in ctx.txn.all("Address_Set")? {
        db.address_sets.insert(
            ctx.txn.get_str("Address_Set", &a, "name"),
            str_set(ctx.txn.get("Address_Set", &a, "addresses")),
        );
    }
    for g in ctx.txn.all("Port_Group")? {
        db.port_groups.insert(
            ctx.txn.get_str("Port_Group", &g, "name"),
            str_set(ctx.txn.get("Port_Group", &g, "ports")),
        );
    }
    let out = lflow::trace::trace(&db, &c.args[0], &c.args[1]).map_err(|e| CtlError::msg(e.to_string()))?;
    ctx.print(out);
    Ok(())
}
