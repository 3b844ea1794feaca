//! Patch ports between br-int and the provider bridges named in
//! `ovn-bridge-mappings` (ovn-controller's patch.c), one pair per `localnet`
//! port of a local datapath: `patch-<br-int>-to-<lport>` on br-int and
//! `patch-<lport>-to-<br-int>` on the provider bridge, both with
//! `external_ids:ovn-localnet-port=<lport>`. Pure.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::{Atom, Condition, Datum, Mutation, Operation, Row, Uuid};

use crate::db::Replica;
use crate::row;
use crate::sb::opt;
use crate::vswitch::{Bridge, Interface, Port};

pub const LOCALNET_KEY: &str = "ovn-localnet-port";

/// `physnet1:br-phys,physnet2:br-eth1` → network → bridge. Malformed items are
/// skipped.
pub fn parse_mappings(s: &str) -> BTreeMap<String, String> {
    s.split(',')
        .filter_map(|item| {
            let (net, br) = item.trim().split_once(':')?;
            let (net, br) = (net.trim(), br.trim());
            (!net.is_empty() && !br.is_empty()).then(|| (net.to_string(), br.to_string()))
        })
        .collect()
}

pub fn port_name(src: &str, dst: &str) -> String {
    format!("patch-{src}-to-{dst}")
}

/// One wanted patch port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PatchSpec {
    /// Bridge the port goes on.
    pub bridge: String,
    pub name: String,
    pub peer: String,
    /// The localnet logical port.
    pub lport: String,
}

/// The patch ports wanted for the localnet ports of `local_dps`. Localnet
/// ports whose network has no (existing) mapped bridge are logged and skipped.
pub fn desired(
    sb: &Replica,
    ovs: &Replica,
    br_int: &str,
    mappings: &BTreeMap<String, String>,
    local_dps: &BTreeSet<Uuid>,
) -> BTreeSet<PatchSpec> {
    let mut out = BTreeSet::new();
    let t = &sb.sb;
    for pb in t.ports.of_type("localnet").filter_map(|u| t.port_binding.get(&u)) {
        if !opt(pb.datapath).is_some_and(|d| local_dps.contains(&d)) {
            continue;
        }
        let lport = pb.logical_port.as_str();
        let net = pb.options.get("network_name").map_or("", String::as_str);
        let Some(br) = mappings
            .get(net)
            .filter(|b| ovs.find(Bridge::TABLE, Bridge::COL_NAME, b).is_some())
        else {
            tracing::debug!("bridge not found for localnet port '{lport}' with network name '{net}'");
            continue;
        };
        let (a, b) = (port_name(br_int, lport), port_name(lport, br_int));
        out.insert(PatchSpec {
            bridge: br_int.to_string(),
            name: a.clone(),
            peer: b.clone(),
            lport: lport.to_string(),
        });
        out.insert(PatchSpec {
            bridge: br.clone(),
            name: b,
            peer: a,
            lport: lport.to_string(),
        });
    }
    out
}

/// Existing patch ports this controller manages: (bridge uuid, port uuid, spec).
fn existing(ovs: &Replica) -> Vec<(Uuid, Uuid, PatchSpec)> {
    let mut out = Vec::new();
    for (bu, br) in ovs.table(Bridge::TABLE) {
        for pu in row::uuids(br, Bridge::COL_PORTS) {
            let Some(port) = ovs.row(Port::TABLE, &pu) else {
                continue;
            };
            let Some(lport) = row::smap_get(port, Port::COL_EXTERNAL_IDS, LOCALNET_KEY) else {
                continue;
            };
            let iface = row::uuids(port, Port::COL_INTERFACES)
                .first()
                .and_then(|u| ovs.row(Interface::TABLE, u));
            let peer = iface
                .filter(|i| row::str(i, Interface::COL_TYPE) == "patch")
                .and_then(|i| row::smap_get(i, Interface::COL_OPTIONS, "peer"))
                .unwrap_or("");
            out.push((
                *bu,
                pu,
                PatchSpec {
                    bridge: row::str(br, Bridge::COL_NAME).to_string(),
                    name: row::str(port, Port::COL_NAME).to_string(),
                    peer: peer.to_string(),
                    lport: lport.to_string(),
                },
            ));
        }
    }
    out
}

/// Operations creating missing patch ports and removing stale ones.
pub fn sync_ops(ovs: &Replica, want: &BTreeSet<PatchSpec>) -> Vec<Operation> {
    let have = existing(ovs);
    let have_specs: BTreeSet<&PatchSpec> = have.iter().map(|(_, _, s)| s).collect();
    let mut per_bridge: BTreeMap<Uuid, (Vec<Atom>, Vec<Atom>)> = BTreeMap::new();
    for (bu, pu, spec) in &have {
        if !want.contains(spec) {
            tracing::info!("removing patch port {} from {}", spec.name, spec.bridge);
            per_bridge.entry(*bu).or_default().1.push(Atom::Uuid(*pu));
        }
    }
    let mut ops = Vec::new();
    for (n, spec) in want.iter().filter(|s| !have_specs.contains(s)).enumerate() {
        let Some((bu, _)) = ovs.find(Bridge::TABLE, Bridge::COL_NAME, &spec.bridge) else {
            continue;
        };
        tracing::info!("adding patch port {} to {}", spec.name, spec.bridge);
        ops.push(Operation::Insert {
            table: Interface::TABLE.into(),
            row: row::build([
                (Interface::COL_NAME, Datum::string(spec.name.clone())),
                (Interface::COL_TYPE, Datum::string("patch")),
                (
                    Interface::COL_OPTIONS,
                    Datum::string_map([("peer", spec.peer.as_str())]),
                ),
            ]),
            uuid_name: Some(format!("pif{n}")),
        });
        ops.push(Operation::Insert {
            table: Port::TABLE.into(),
            row: row::build([
                (Port::COL_NAME, Datum::string(spec.name.clone())),
                (
                    Port::COL_INTERFACES,
                    Datum::atom(Atom::NamedUuid(format!("pif{n}"))),
                ),
                (
                    Port::COL_EXTERNAL_IDS,
                    Datum::string_map([(LOCALNET_KEY, spec.lport.as_str())]),
                ),
            ]),
            uuid_name: Some(format!("pport{n}")),
        });
        per_bridge
            .entry(*bu)
            .or_default()
            .0
            .push(Atom::NamedUuid(format!("pport{n}")));
    }
    for (bu, (add, remove)) in per_bridge {
        let mut mutations = Vec::new();
        if !remove.is_empty() {
            mutations.push(Mutation::new(Bridge::COL_PORTS, "delete", Datum::set(remove)));
        }
        if !add.is_empty() {
            mutations.push(Mutation::new(Bridge::COL_PORTS, "insert", Datum::set(add)));
        }
        ops.push(Operation::Mutate {
            table: Bridge::TABLE.into(),
            conditions: vec![Condition::uuid(bu)],
            mutations,
        });
    }
    ops
}

/// Localnet logical port → OpenFlow port of its patch port on br-int: the
/// physical flows for localnet ports need it.
pub fn localnet_ofports(ovs: &Replica, br_int: &Row) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for pu in row::uuids(br_int, Bridge::COL_PORTS) {
        let Some(port) = ovs.row(Port::TABLE, &pu) else {
            continue;
        };
        let Some(lport) = row::smap_get(port, Port::COL_EXTERNAL_IDS, LOCALNET_KEY) else {
            continue;
        };
        let ofport = row::uuids(port, Port::COL_INTERFACES)
            .first()
            .and_then(|u| ovs.row(Interface::TABLE, u))
            .and_then(|i| row::int(i, Interface::COL_OFPORT))
            .and_then(|p| u32::try_from(p).ok())
            .filter(|p| *p > 0 && *p < 0xff00);
        if let Some(p) = ofport {
            out.insert(lport.to_string(), p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mappings() {
        let m = parse_mappings("physnet1:br-phys, physnet2:br-eth1,bad,:x");
        assert_eq!(m.len(), 2);
        assert_eq!(m["physnet2"], "br-eth1");
    }

    #[test]
    fn creates_pairs_for_local_localnet_ports_only() {
        let (dp, other_dp) = (Uuid::new_v4(), Uuid::new_v4());
        let mut sb = Replica::default();
        for (name, d) in [("ln1", dp), ("ln2", other_dp)] {
            sb.sb.insert(ovn_db::sb::PortBinding {
                logical_port: name.into(),
                r#type: "localnet".into(),
                datapath: d,
                options: [("network_name".to_string(), "physnet1".to_string())].into(),
                ..Default::default()
            });
        }
        let mut ovs = Replica::default();
        for b in ["br-int", "br-phys"] {
            ovs.insert(
                Bridge::TABLE,
                Uuid::new_v4(),
                row::build([(Bridge::COL_NAME, Datum::string(b))]),
            );
        }
        let want = desired(
            &sb,
            &ovs,
            "br-int",
            &parse_mappings("physnet1:br-phys"),
            &[dp].into(),
        );
        let names: Vec<&str> = want.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["patch-br-int-to-ln1", "patch-ln1-to-br-int"]);
        let ops = sync_ops(&ovs, &want);
        assert_eq!(ops.len(), 6, "2 × (interface, port) + 2 bridge mutations");
        assert!(
            desired(
                &sb,
                &ovs,
                "br-int",
                &parse_mappings("physnet9:br-phys"),
                &[dp].into()
            )
            .is_empty()
        );
        assert!(localnet_ofports(&ovs, &Row::new()).is_empty());
    }
}
