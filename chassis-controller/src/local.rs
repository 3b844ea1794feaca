//! Builds the OpenFlow side's input, [`LocalState`], from the replicas, and the
//! set of names that need a conntrack zone. Pure.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use lflow::FxHashMap;
use ovn_db::sb;
use ovsdb::Uuid;

use crate::db::Replica;
use crate::of::state::{
    Datapath, Encap, LoadBalancer, LocalState, LogicalFlow, MacBinding, MulticastGroup, Pipeline, PortBinding,
};
use crate::sb::opt;

/// Lookups shared by the conversions.
struct Index<'a> {
    dp_keys: HashMap<Uuid, u32>,
    pb_names: HashMap<Uuid, &'a str>,
    chassis_names: HashMap<Uuid, &'a str>,
    dp_groups: HashMap<Uuid, Vec<u32>>,
}

/// A tunnel key; 0 (below every schema minimum: the column was missing or
/// mistyped) counts as none.
fn key(k: i64) -> Option<u32> {
    u32::try_from(k).ok().filter(|k| *k > 0)
}

impl<'a> Index<'a> {
    fn new(sb: &'a Replica) -> Self {
        let t = &sb.sb;
        let dp_keys: HashMap<Uuid, u32> = t
            .datapath_binding
            .iter()
            .filter_map(|(u, d)| Some((*u, key(d.tunnel_key)?)))
            .collect();
        let dp_groups = t
            .logical_dp_group
            .iter()
            .map(|(u, g)| {
                let mut keys: Vec<u32> = g
                    .datapaths
                    .iter()
                    .filter_map(|d| dp_keys.get(d).copied())
                    .collect();
                keys.sort_unstable();
                (*u, keys)
            })
            .collect();
        Index {
            pb_names: t
                .port_binding
                .iter()
                .map(|(u, pb)| (*u, pb.logical_port.as_str()))
                .collect(),
            chassis_names: t.chassis.iter().map(|(u, c)| (*u, c.name.as_str())).collect(),
            dp_keys,
            dp_groups,
        }
    }

    fn dp(&self, dp: Uuid) -> Option<u32> {
        self.dp_keys.get(&dp).copied()
    }

    fn dps(&self, single: &[Uuid], group: Option<Uuid>) -> Vec<u32> {
        let mut v: Vec<u32> = single
            .iter()
            .filter_map(|u| self.dp_keys.get(u).copied())
            .collect();
        if let Some(g) = group.and_then(|g| self.dp_groups.get(&g)) {
            v.extend(g);
        }
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Builds [`LocalState`]s, sharing with the previous one every row that did
/// not change: unchanged rows are compared in place instead of copied, so a
/// pass costs no allocation per row, an unchanged database gives a state
/// whose comparison with the last one is pointer comparisons, and the
/// OpenFlow side recognises unchanged rows by pointer. Holds only the rows of
/// the last build.
#[derive(Debug, Default)]
pub struct StateBuilder {
    ports: RowCache<PortBinding>,
    /// `ports` in `LocalState` order.
    port_rows: Vec<Arc<PortBinding>>,
    lflows: RowCache<LogicalFlow>,
    address_sets: BTreeMap<String, Arc<BTreeSet<String>>>,
    port_groups: BTreeMap<String, Arc<BTreeSet<String>>>,
}

/// `cached` if it holds exactly the strings of `v`; a new set otherwise.
fn reuse_set(cached: Option<&Arc<BTreeSet<String>>>, v: &[String]) -> Arc<BTreeSet<String>> {
    if let Some(c) = cached
        && c.len() == v.len()
        && v.windows(2).all(|w| w[0] < w[1])
        && c.iter().eq(v.iter())
    {
        return c.clone();
    }
    Arc::new(v.iter().cloned().collect())
}

/// Named sets (address sets, port groups), sharing the unchanged ones with
/// `cache`, which then holds the new ones.
fn shared_sets<'r>(
    cache: &mut BTreeMap<String, Arc<BTreeSet<String>>>,
    rows: impl Iterator<Item = (&'r String, &'r Vec<String>)>,
) -> BTreeMap<String, Arc<BTreeSet<String>>> {
    let sets: BTreeMap<String, Arc<BTreeSet<String>>> = rows
        .map(|(name, v)| (name.clone(), reuse_set(cache.get(name), v)))
        .collect();
    cache.clone_from(&sets);
    sets
}

/// Converted rows of one table, by UUID, and the stamps of the tables they
/// were converted from (the table itself first).
#[derive(Debug)]
struct RowCache<T> {
    rows: BTreeMap<Uuid, Arc<T>>,
    stamps: Vec<u64>,
}

impl<T> Default for RowCache<T> {
    fn default() -> Self {
        RowCache {
            rows: BTreeMap::new(),
            stamps: Vec::new(),
        }
    }
}

impl<T> RowCache<T> {
    /// Brings the rows up to date with `rows`, read from `tables[0]` with the
    /// help of the other `tables`. `convert` gets the row converted last time
    /// from the same UUID, to return it again if unchanged. When only
    /// `tables[0]` changed, only its changed rows are converted. Returns
    /// whether anything may have changed.
    fn update<R>(
        &mut self,
        t: &crate::sb::SbTables,
        tables: &[&str],
        rows: &BTreeMap<Uuid, R>,
        mut convert: impl FnMut(&Uuid, &R, Option<&Arc<T>>) -> Option<Arc<T>>,
    ) -> bool {
        let stamps: Vec<u64> = tables.iter().map(|n| t.stamp(n)).collect();
        if stamps == self.stamps {
            return false;
        }
        let changed = match self.stamps.split_first() {
            Some((own, deps)) if deps == &stamps[1..] => t.changed_since(tables[0], *own),
            _ => None,
        };
        match changed {
            Some(uuids) => {
                for u in uuids {
                    match rows.get(&u).and_then(|r| convert(&u, r, self.rows.get(&u))) {
                        Some(row) => self.rows.insert(u, row),
                        None => self.rows.remove(&u),
                    };
                }
            }
            None => {
                let last = std::mem::take(&mut self.rows);
                self.rows = rows
                    .iter()
                    .filter_map(|(u, r)| Some((*u, convert(u, r, last.get(u))?)))
                    .collect();
            }
        }
        self.stamps = stamps;
        true
    }
}

/// The tables `LocalState::port_bindings` is built from.
const PORT_INPUTS: &[&str] = &[
    sb::PortBinding::TABLE,
    sb::DatapathBinding::TABLE,
    sb::Chassis::TABLE,
];
/// The tables `LocalState::logical_flows` is built from.
const LFLOW_INPUTS: &[&str] = &[
    sb::LogicalFlow::TABLE,
    sb::DatapathBinding::TABLE,
    sb::LogicalDpGroup::TABLE,
];

fn pipeline(p: &str) -> Pipeline {
    if p == "egress" {
        Pipeline::Egress
    } else {
        Pipeline::Ingress
    }
}

impl StateBuilder {
    /// SB Port_Binding rows, sorted by (`logical_port`, `uuid`), sharing the
    /// unchanged ones with the last build.
    fn port_bindings(&mut self, ix: &Index<'_>, t: &crate::sb::SbTables) -> Vec<Arc<PortBinding>> {
        let changed = self.ports.update(t, PORT_INPUTS, &t.port_binding, |u, pb, last| {
            let datapath = ix.dp(pb.datapath)?;
            let tunnel_key = key(pb.tunnel_key)?;
            let chassis = pb.chassis.and_then(|c| ix.chassis_names.get(&c)).copied();
            let tag = pb
                .tag
                .and_then(|t| u16::try_from(t).ok())
                .filter(|t| (1..4096).contains(t));
            if let Some(c) = last
                && c.logical_port == pb.logical_port
                && c.datapath == datapath
                && c.tunnel_key == tunnel_key
                && c.port_type == pb.r#type
                && c.chassis.as_deref() == chassis
                && c.options == pb.options
                && c.mac == pb.mac
                && c.port_security == pb.port_security
                && c.tag == tag
            {
                return Some(c.clone());
            }
            Some(Arc::new(PortBinding {
                uuid: u.to_string(),
                logical_port: pb.logical_port.clone(),
                datapath,
                tunnel_key,
                port_type: pb.r#type.clone(),
                chassis: chassis.map(str::to_string),
                options: pb.options.clone(),
                mac: pb.mac.clone(),
                port_security: pb.port_security.clone(),
                tag,
            }))
        });
        if changed {
            let mut rows: Vec<Arc<PortBinding>> = self.ports.rows.values().cloned().collect();
            rows.sort_by(|a, b| (&a.logical_port, &a.uuid).cmp(&(&b.logical_port, &b.uuid)));
            self.port_rows = rows;
        }
        self.port_rows.clone()
    }

    /// SB Logical_Flow rows, sorted by `uuid`, sharing the unchanged ones
    /// with the last build.
    fn logical_flows(&mut self, ix: &Index<'_>, t: &crate::sb::SbTables) -> Vec<Arc<LogicalFlow>> {
        self.lflows
            .update(t, LFLOW_INPUTS, &t.logical_flow, |u, f, last| {
                let datapaths = ix.dps(f.logical_datapath.as_slice(), f.logical_dp_group);
                if datapaths.is_empty() {
                    return None;
                }
                let table_id = u8::try_from(f.table_id).ok()?;
                let priority = u16::try_from(f.priority).ok()?;
                let pipeline = pipeline(&f.pipeline);
                if let Some(c) = last
                    && c.datapaths == datapaths
                    && c.pipeline == pipeline
                    && c.table_id == table_id
                    && c.priority == priority
                    && c.match_ == f.r#match
                    && c.actions == f.actions
                {
                    return Some(c.clone());
                }
                Some(Arc::new(LogicalFlow {
                    uuid: u.to_string(),
                    datapaths,
                    pipeline,
                    table_id,
                    priority,
                    match_: f.r#match.clone(),
                    actions: f.actions.clone(),
                }))
            });
        // UUID order is the text order.
        self.lflows.rows.values().cloned().collect()
    }

    /// Everything from SB/OVS the OpenFlow side needs.
    pub fn build(
        &mut self,
        sb: &Replica,
        chassis_name: &str,
        vif_ofports: BTreeMap<String, u32>,
        tunnel_ofports: BTreeMap<String, u32>,
        ct_zones: BTreeMap<String, u16>,
    ) -> LocalState {
        let ix = Index::new(sb);
        let t = &sb.sb;
        let mut s = LocalState {
            chassis_name: chassis_name.to_string(),
            vif_ofports,
            tunnel_ofports,
            ct_zones,
            ..Default::default()
        };
        s.port_bindings = self.port_bindings(&ix, t);
        s.logical_flows = self.logical_flows(&ix, t);
        s.datapaths = t
            .datapath_binding
            .iter()
            .filter_map(|(u, d)| {
                Some(Datapath {
                    uuid: u.to_string(),
                    tunnel_key: key(d.tunnel_key)?,
                    is_switch: d.external_ids.contains_key("logical-switch"),
                    external_ids: d.external_ids.clone(),
                })
            })
            .collect();
        s.multicast_groups = t
            .multicast_group
            .values()
            .filter_map(|m| {
                Some(MulticastGroup {
                    datapath: ix.dp(m.datapath)?,
                    name: m.name.clone(),
                    tunnel_key: key(m.tunnel_key)?,
                    ports: m
                        .ports
                        .iter()
                        .filter_map(|p| ix.pb_names.get(p).map(|n| n.to_string()))
                        .collect(),
                })
            })
            .collect();
        s.mac_bindings = t
            .mac_binding
            .values()
            .filter_map(|m| {
                Some(MacBinding {
                    logical_port: m.logical_port.clone(),
                    ip: m.ip.clone(),
                    mac: m.mac.clone(),
                    datapath: ix.dp(m.datapath)?,
                })
            })
            .collect();
        s.load_balancers = t
            .load_balancer
            .values()
            .map(|lb| LoadBalancer {
                vips: lb.vips.clone(),
                protocol: lb.protocol.clone(),
                datapaths: ix.dps(&lb.datapaths, lb.datapath_group),
            })
            .collect();
        s.address_sets = shared_sets(
            &mut self.address_sets,
            t.address_set.values().map(|a| (&a.name, &a.addresses)),
        );
        s.port_groups = shared_sets(
            &mut self.port_groups,
            t.port_group.values().map(|p| (&p.name, &p.ports)),
        );
        s.chassis = t
            .chassis
            .values()
            .map(|c| {
                let encaps = c
                    .encaps
                    .iter()
                    .filter_map(|e| t.encap.get(e))
                    .map(|e| Encap {
                        encap_type: e.r#type.clone(),
                        ip: e.ip.clone(),
                        csum: e.options.get("csum").map(String::as_str) == Some("true"),
                    })
                    .collect();
                (c.name.clone(), encaps)
            })
            .collect();
        // Deterministic order, so that an unchanged database gives an equal
        // state (and the OpenFlow side ranks ports in this order).
        s.datapaths.sort_by_key(|d| d.tunnel_key);
        s.multicast_groups.sort_by_key(|m| (m.datapath, m.tunnel_key));
        s.mac_bindings
            .sort_by(|a, b| (&a.logical_port, &a.ip).cmp(&(&b.logical_port, &b.ip)));
        s
    }
}

/// `options:l3gateway-chassis` of a Port_Binding.
fn l3gateway_chassis(pb: &sb::PortBinding) -> Option<&str> {
    pb.options.get("l3gateway-chassis").map(String::as_str)
}

/// Datapaths (by UUID) with a port resident on this chassis, plus everything
/// reachable from them through patch ports.
pub fn local_datapaths(sb: &Replica, me_uuid: Uuid, me_name: &str) -> BTreeSet<Uuid> {
    let crosses = |pb: &sb::PortBinding| {
        let ty = pb.r#type.as_str();
        ty == "patch" || (ty == "l3gateway" && l3gateway_chassis(pb) == Some(me_name))
    };
    let n = sb.sb.port_binding.len();
    let mut by_name: FxHashMap<&str, &sb::PortBinding> = FxHashMap::default();
    by_name.reserve(n);
    // Only ports that lead to another datapath are followed.
    let mut by_dp: FxHashMap<Uuid, Vec<&sb::PortBinding>> = FxHashMap::default();
    let mut todo = VecDeque::new();
    for pb in sb.sb.port_binding.values() {
        by_name.insert(&pb.logical_port, pb);
        let Some(dp) = opt(pb.datapath) else {
            continue;
        };
        if crosses(pb) {
            by_dp.entry(dp).or_default().push(pb);
        }
        let resident = pb.chassis == Some(me_uuid)
            || pb.additional_chassis.contains(&me_uuid)
            || (pb.r#type == "l3gateway" && l3gateway_chassis(pb) == Some(me_name));
        if resident {
            todo.push_back(dp);
        }
    }
    let mut local = BTreeSet::new();
    while let Some(dp) = todo.pop_front() {
        if !local.insert(dp) {
            continue;
        }
        for pb in by_dp.get(&dp).into_iter().flatten() {
            if let Some(peer) = pb.options.get("peer").and_then(|p| by_name.get(p.as_str()))
                && let Some(pdp) = opt(peer.datapath)
            {
                todo.push_back(pdp);
            }
        }
    }
    local
}

/// Names that need a conntrack zone, as ovn-controller 23.03 allocates them
/// (checked against it): every local interface's `iface-id`, the `localnet`
/// ports of local datapaths, `l3gateway` ports resident here, and
/// `<dp-uuid>_dnat`/`_snat` for every local datapath (switches included);
/// patch ports get none. Also returns the zones routers request with
/// `external_ids:snat-ct-zone`.
pub fn zone_names(
    sb: &Replica,
    local_dps: &BTreeSet<Uuid>,
    vifs: &BTreeSet<String>,
    me_name: &str,
) -> (BTreeSet<String>, BTreeMap<String, u16>) {
    let mut names: BTreeSet<String> = vifs.clone();
    let mut requested = BTreeMap::new();
    for pb in sb.sb.port_binding.values() {
        let port = pb.logical_port.as_str();
        if port.is_empty() {
            continue;
        }
        let on_local_dp = local_dps.contains(&pb.datapath);
        let wanted = match pb.r#type.as_str() {
            "localnet" => on_local_dp,
            "l3gateway" => l3gateway_chassis(pb) == Some(me_name),
            _ => false,
        };
        if wanted {
            names.insert(port.to_string());
        }
    }
    for dp in local_dps {
        let Some(d) = sb.sb.datapath_binding.get(dp) else {
            continue;
        };
        names.insert(format!("{dp}_dnat"));
        names.insert(format!("{dp}_snat"));
        if let Some(z) = d.external_ids.get("snat-ct-zone").and_then(|z| z.parse().ok()) {
            requested.insert(format!("{dp}_snat"), z);
        }
    }
    (names, requested)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row;
    use ovsdb::{Datum, Row};

    #[test]
    fn builds_state_and_local_datapaths() {
        let me = Uuid::new_v4();
        let mut sb = Replica::default();
        let (ls1, lr1, ls2) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let smap = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        for (u, k, sw) in [(ls1, 1, true), (lr1, 2, false), (ls2, 3, true)] {
            let ids = if sw {
                smap(&[("logical-switch", "x")])
            } else {
                smap(&[("logical-router", "y"), ("snat-ct-zone", "77")])
            };
            sb.sb.insert(sb::DatapathBinding {
                uuid: u,
                tunnel_key: k,
                external_ids: ids,
                ..Default::default()
            });
        }
        let ch = Uuid::new_v4();
        sb.sb.insert(sb::Chassis {
            uuid: me,
            name: "hv1".into(),
            ..Default::default()
        });
        let pb =
            |sb: &mut Replica, name: &str, dp: Uuid, k: i64, ty: &str, peer: &str, chassis: Option<Uuid>| {
                sb.sb.insert(sb::PortBinding {
                    logical_port: name.into(),
                    datapath: dp,
                    tunnel_key: k,
                    r#type: ty.into(),
                    options: smap(&[("peer", peer)]),
                    chassis,
                    ..Default::default()
                })
            };
        pb(&mut sb, "vm1", ls1, 1, "", "", Some(me));
        pb(&mut sb, "vm2", ls2, 1, "", "", Some(ch));
        pb(&mut sb, "ls1-lr1", ls1, 2, "patch", "lr1-ls1", None);
        pb(&mut sb, "lr1-ls1", lr1, 1, "patch", "ls1-lr1", None);
        pb(&mut sb, "lr1-ls2", lr1, 2, "patch", "ls2-lr1", None);
        pb(&mut sb, "ls2-lr1", ls2, 2, "patch", "lr1-ls2", None);
        let local = local_datapaths(&sb, me, "hv1");
        assert_eq!(local, [ls1, lr1, ls2].into());
        let vifs: BTreeSet<String> = ["vm1".to_string()].into();
        let (names, req) = zone_names(&sb, &local, &vifs, "hv1");
        assert!(names.contains("vm1") && !names.contains("vm2"));
        assert!(!names.contains("lr1-ls2"), "patch ports get no zone");
        assert!(names.contains(&format!("{lr1}_snat")) && names.contains(&format!("{ls1}_dnat")));
        assert_eq!(req[&format!("{lr1}_snat")], 77);
        let s = StateBuilder::default().build(&sb, "hv1", BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        assert_eq!(s.datapaths.len(), 3);
        assert_eq!(s.port("vm1").and_then(|p| p.chassis.as_deref()), Some("hv1"));
        assert!(s.datapath(2).is_some_and(|d| !d.is_switch));
    }

    /// A builder reuses the rows that did not change (same pointers) and
    /// builds what a fresh builder would.
    #[test]
    fn builder_shares_unchanged_rows() {
        let mut sb = Replica::default();
        let dp = sb.sb.insert(sb::DatapathBinding {
            tunnel_key: 1,
            ..Default::default()
        });
        let flow = |m: &str| sb::LogicalFlow {
            logical_datapath: Some(dp),
            pipeline: "ingress".into(),
            table_id: 3,
            priority: 10,
            r#match: m.into(),
            actions: "next;".into(),
            ..Default::default()
        };
        let f1 = sb.sb.insert(flow("1"));
        sb.sb.insert(flow("ip4"));
        sb.sb.insert(sb::PortBinding {
            logical_port: "vm1".into(),
            datapath: dp,
            tunnel_key: 1,
            ..Default::default()
        });
        let build = |b: &mut StateBuilder, sb: &Replica| {
            b.build(sb, "hv1", BTreeMap::new(), BTreeMap::new(), BTreeMap::new())
        };
        let mut b = StateBuilder::default();
        let s1 = build(&mut b, &sb);
        let s2 = build(&mut b, &sb);
        assert_eq!(s1.logical_flows.len(), 2);
        assert!(
            s1.logical_flows
                .iter()
                .zip(&s2.logical_flows)
                .all(|(a, b)| Arc::ptr_eq(a, b))
        );
        assert!(Arc::ptr_eq(&s1.port_bindings[0], &s2.port_bindings[0]));
        // One flow changes: only its row is new.
        sb.sb.insert(sb::LogicalFlow {
            uuid: f1,
            ..flow("ip6")
        });
        let s3 = build(&mut b, &sb);
        let changed: Vec<bool> = s2
            .logical_flows
            .iter()
            .zip(&s3.logical_flows)
            .map(|(a, b)| !Arc::ptr_eq(a, b))
            .collect();
        assert_eq!(changed.iter().filter(|c| **c).count(), 1);
        assert!(Arc::ptr_eq(&s2.port_bindings[0], &s3.port_bindings[0]));
        assert_eq!(s3, build(&mut StateBuilder::default(), &sb));
        assert!(s3.logical_flows.iter().any(|f| f.match_ == "ip6"));
        // Deleted rows go, also when only their table changed.
        assert!(sb.sb.apply(sb::LogicalFlow::TABLE, f1, None));
        let s4 = build(&mut b, &sb);
        assert_eq!(s4.logical_flows.len(), 1);
        assert_eq!(s4, build(&mut StateBuilder::default(), &sb));
        // A datapath change reconverts everything that refers to datapaths.
        sb.sb.insert(sb::DatapathBinding {
            uuid: dp,
            tunnel_key: 7,
            ..Default::default()
        });
        let s5 = build(&mut b, &sb);
        assert_eq!(s5.port_bindings[0].datapath, 7);
        assert_eq!(s5.logical_flows[0].datapaths, [7]);
        assert_eq!(s5, build(&mut StateBuilder::default(), &sb));
    }

    /// Rows with missing or mistyped columns (as a newer or broken server might
    /// send) are skipped or read as empty by every planner: no panic.
    #[test]
    fn garbage_rows_do_not_panic() {
        use crate::binding::{self, Me};
        use crate::config::ChassisConfig;
        use crate::{chassis, mac_binding, patch, tunnels};
        use ovsdb::Atom;
        let mut sb = Replica::default();
        let me = Uuid::new_v4();
        let junk = || {
            row::build([
                ("name", Datum::integer(7)),
                ("logical_port", Datum::set([Atom::string("a"), Atom::string("b")])),
                ("tunnel_key", Datum::integer(-5)),
                ("datapath", Datum::string("not-a-uuid")),
                ("logical_datapath", Datum::uuid(Uuid::new_v4())),
                ("table_id", Datum::integer(100_000)),
                ("priority", Datum::integer(-1)),
                ("options", Datum::string("x")),
                ("encaps", Datum::uuid(Uuid::new_v4())),
                ("chassis", Datum::uuid(me)),
                ("type", Datum::string("l3gateway")),
            ])
        };
        // Raw rows as a server might send them, through the lenient conversion.
        for t in crate::sb::SbTables::TABLES {
            sb.insert(t, Uuid::new_v4(), junk());
            sb.insert(t, Uuid::new_v4(), Row::new());
        }
        let cfg = ChassisConfig {
            system_id: "hv1".into(),
            encap_types: vec!["geneve".into()],
            encap_ips: vec!["1.1.1.1".into()],
            ..Default::default()
        };
        let _ = StateBuilder::default().build(&sb, "hv1", BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let dps = local_datapaths(&sb, me, "hv1");
        let _ = zone_names(&sb, &dps, &BTreeSet::new(), "hv1");
        let m = Me {
            name: "hv1".into(),
            hostname: String::new(),
            uuid: me,
        };
        let _ = binding::plan(
            &sb,
            &m,
            &BTreeMap::new(),
            &Default::default(),
            std::time::Instant::now(),
        );
        let _ = tunnels::desired(&sb, &cfg);
        let _ = chassis::sync_ops(&sb, &chassis::spec(&cfg, &Default::default()));
        let _ = patch::desired(&sb, &Replica::default(), "br-int", &BTreeMap::new(), &dps);
        let l = mac_binding::Learned {
            datapath: 1,
            logical_port: "a".into(),
            ip: "10.0.0.1".parse().unwrap(),
            mac: "00:00:00:00:00:01".into(),
        };
        let _ = mac_binding::ops(&sb, &l, 0);
    }
}
