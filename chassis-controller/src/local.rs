//! Builds the OpenFlow side's input, [`LocalState`], from the replicas, and the
//! set of names that need a conntrack zone. Pure.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use lflow::FxHashMap;
use ovn_db::sb;
use ovsdb::Uuid;

use crate::db::Replica;
use crate::of::state::{
    Datapath, Encap, LoadBalancer, LocalState, LogicalFlow, MacBinding, MulticastGroup, Pipeline, PortBinding,
};
use crate::sb::{SbTables, opt};

/// A tunnel key; 0 (below every schema minimum: the column was missing or
/// mistyped) counts as none.
fn key(k: i64) -> Option<u32> {
    u32::try_from(k).ok().filter(|k| *k > 0)
}

/// The tunnel key of datapath `dp`.
fn dp_key(t: &SbTables, dp: Uuid) -> Option<u32> {
    key(t.datapath_binding.get(&dp)?.tunnel_key)
}

/// Builds [`LocalState`]s, sharing with the previous one every row that did
/// not change: unchanged rows are compared in place instead of copied, so a
/// pass costs no allocation per row, an unchanged database gives a state
/// whose comparison with the last one is pointer comparisons, and the
/// OpenFlow side recognises unchanged rows by pointer. Every part of the
/// state is kept with the stamps of the tables it was derived from, so a
/// build looks only at tables that changed, and at only the changed rows of
/// the large ones (Port_Binding, Logical_Flow, Multicast_Group). Holds only
/// the rows of the last build.
#[derive(Debug, Default)]
pub struct StateBuilder {
    ports: RowCache<PortBinding>,
    /// `ports` in `LocalState` order.
    port_rows: Vec<Arc<PortBinding>>,
    /// Datapath group → its datapaths' keys, sorted.
    dp_groups: Cached<FxHashMap<Uuid, Vec<u32>>>,
    lflows: RowCache<LogicalFlow>,
    /// `lflows` in `LocalState` order.
    lflow_rows: Vec<Arc<LogicalFlow>>,
    mcast: RowCache<MulticastGroup>,
    /// `mcast` in `LocalState` order.
    mcast_rows: Vec<MulticastGroup>,
    /// The Port_Binding names the groups in `mcast` were converted with, and
    /// the Port_Binding stamp they were checked at.
    mcast_names: FxHashMap<Uuid, String>,
    mcast_pb_stamp: u64,
    datapaths: Cached<Vec<Datapath>>,
    mac_bindings: Cached<Vec<MacBinding>>,
    load_balancers: Cached<Vec<LoadBalancer>>,
    address_sets: Cached<BTreeMap<String, Arc<BTreeSet<String>>>>,
    port_groups: Cached<BTreeMap<String, Arc<BTreeSet<String>>>>,
    chassis: Cached<BTreeMap<String, Vec<Encap>>>,
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
/// `last`.
fn shared_sets<'r>(
    last: &BTreeMap<String, Arc<BTreeSet<String>>>,
    rows: impl Iterator<Item = (&'r String, &'r Vec<String>)>,
) -> BTreeMap<String, Arc<BTreeSet<String>>> {
    rows.map(|(name, v)| (name.clone(), reuse_set(last.get(name), v)))
        .collect()
}

/// A value derived from whole tables, with the stamps of those tables.
#[derive(Debug, Default)]
struct Cached<T> {
    value: T,
    stamps: Vec<u64>,
}

impl<T> Cached<T> {
    /// Derives the value again by `derive` (which gets the last value) when
    /// one of `tables` changed since. Returns whether it did.
    fn update(&mut self, t: &SbTables, tables: &[&str], derive: impl FnOnce(&T) -> T) -> bool {
        let stamps: Vec<u64> = tables.iter().map(|n| t.stamp(n)).collect();
        if stamps == self.stamps {
            return false;
        }
        self.value = derive(&self.value);
        self.stamps = stamps;
        true
    }
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

/// A row before and after a change (`None`: absent).
type RowChange<T> = (Option<Arc<T>>, Option<Arc<T>>);

/// What [`RowCache::update`] changed.
enum Changed<T> {
    Nothing,
    /// These rows: (before, after).
    Rows(Vec<RowChange<T>>),
    /// Everything may have.
    All,
}

impl<T> RowCache<T> {
    /// Brings the rows up to date with `rows`, read from `tables[0]` with the
    /// help of the other `tables`. `convert` gets the row converted last time
    /// from the same UUID, to return it again if unchanged. When only
    /// `tables[0]` changed, only its changed rows are converted.
    fn update<R>(
        &mut self,
        t: &SbTables,
        tables: &[&str],
        rows: &BTreeMap<Uuid, R>,
        mut convert: impl FnMut(&Uuid, &R, Option<&Arc<T>>) -> Option<Arc<T>>,
    ) -> Changed<T> {
        let stamps: Vec<u64> = tables.iter().map(|n| t.stamp(n)).collect();
        if stamps == self.stamps {
            return Changed::Nothing;
        }
        let changed = match self.stamps.split_first() {
            Some((own, deps)) if deps == &stamps[1..] => t.changed_since(tables[0], *own),
            _ => None,
        };
        self.stamps = stamps;
        let Some(uuids) = changed else {
            let last = std::mem::take(&mut self.rows);
            self.rows = rows
                .iter()
                .filter_map(|(u, r)| Some((*u, convert(u, r, last.get(u))?)))
                .collect();
            return Changed::All;
        };
        let mut out = Vec::new();
        for u in uuids {
            let old = self.rows.get(&u).cloned();
            let new = rows.get(&u).and_then(|r| convert(&u, r, old.as_ref()));
            let same = match (&old, &new) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            };
            match &new {
                Some(row) => self.rows.insert(u, row.clone()),
                None => self.rows.remove(&u),
            };
            if !same {
                out.push((old, new));
            }
        }
        Changed::Rows(out)
    }
}

/// Applies row changes to `sorted` (ordered by `cmp`, which tells every two
/// rows apart) instead of sorting everything again.
fn patch_sorted<T>(sorted: &mut Vec<Arc<T>>, changes: &[RowChange<T>], cmp: impl Fn(&T, &T) -> Ordering) {
    for (old, _) in changes {
        if let Some(o) = old
            && let Ok(i) = sorted.binary_search_by(|r| cmp(r, o))
        {
            sorted.remove(i);
        }
    }
    for (_, new) in changes {
        if let Some(n) = new {
            let i = sorted.partition_point(|r| cmp(r, n) == Ordering::Less);
            sorted.insert(i, n.clone());
        }
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
/// The tables `LocalState::multicast_groups` is built from, but for the
/// names of their ports (see [`StateBuilder::multicast_groups`]).
const MCAST_INPUTS: &[&str] = &[sb::MulticastGroup::TABLE, sb::DatapathBinding::TABLE];

/// Keys of `single` and of the datapath group `group` (from `groups`), sorted.
fn dps(t: &SbTables, groups: &FxHashMap<Uuid, Vec<u32>>, single: &[Uuid], group: Option<Uuid>) -> Vec<u32> {
    let mut v: Vec<u32> = single.iter().filter_map(|u| dp_key(t, *u)).collect();
    if let Some(g) = group.and_then(|g| groups.get(&g)) {
        v.extend(g);
    }
    v.sort_unstable();
    v.dedup();
    v
}

impl StateBuilder {
    /// SB Port_Binding rows, sorted by (`logical_port`, `uuid`), sharing the
    /// unchanged ones with the last build.
    fn port_bindings(&mut self, t: &SbTables) -> bool {
        let changed = self.ports.update(t, PORT_INPUTS, &t.port_binding, |u, pb, last| {
            let datapath = dp_key(t, pb.datapath)?;
            let tunnel_key = key(pb.tunnel_key)?;
            let chassis = pb
                .chassis
                .and_then(|c| t.chassis.get(&c))
                .map(|c| c.name.as_str());
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
        let order =
            |a: &PortBinding, b: &PortBinding| (&a.logical_port, &a.uuid).cmp(&(&b.logical_port, &b.uuid));
        match changed {
            Changed::Nothing => false,
            Changed::Rows(rows) => {
                patch_sorted(&mut self.port_rows, &rows, order);
                !rows.is_empty()
            }
            Changed::All => {
                let mut rows: Vec<Arc<PortBinding>> = self.ports.rows.values().cloned().collect();
                rows.sort_by(|a, b| order(a, b));
                self.port_rows = rows;
                true
            }
        }
    }

    /// SB Logical_Flow rows, sorted by `uuid`, sharing the unchanged ones
    /// with the last build.
    fn logical_flows(&mut self, t: &SbTables) -> bool {
        self.dp_groups.update(
            t,
            &[sb::LogicalDpGroup::TABLE, sb::DatapathBinding::TABLE],
            |_| {
                t.logical_dp_group
                    .iter()
                    .map(|(u, g)| (*u, dps(t, &FxHashMap::default(), &g.datapaths, None)))
                    .collect()
            },
        );
        let groups = &self.dp_groups.value;
        let changed = self
            .lflows
            .update(t, LFLOW_INPUTS, &t.logical_flow, |u, f, last| {
                let datapaths = dps(t, groups, f.logical_datapath.as_slice(), f.logical_dp_group);
                if datapaths.is_empty() {
                    return None;
                }
                let table_id = u8::try_from(f.table_id).ok()?;
                let priority = u16::try_from(f.priority).ok()?;
                let pipeline = if f.egress {
                    Pipeline::Egress
                } else {
                    Pipeline::Ingress
                };
                if let Some(c) = last
                    && c.datapaths == datapaths
                    && c.pipeline == pipeline
                    && c.table_id == table_id
                    && c.priority == priority
                    && c.match_ == f.match_
                    && c.actions == f.actions
                {
                    return Some(c.clone());
                }
                Some(Arc::new(LogicalFlow {
                    uuid: u.to_string().into(),
                    datapaths,
                    pipeline,
                    table_id,
                    priority,
                    match_: f.match_.clone(),
                    actions: f.actions.clone(),
                }))
            });
        match changed {
            Changed::Nothing => false,
            Changed::Rows(rows) => {
                patch_sorted(&mut self.lflow_rows, &rows, |a, b| a.uuid.cmp(&b.uuid));
                !rows.is_empty()
            }
            Changed::All => {
                // UUID order is the text order.
                self.lflow_rows = self.lflows.rows.values().cloned().collect();
                true
            }
        }
    }

    /// SB Multicast_Group rows, sorted by (datapath, tunnel key). A group
    /// also depends on the names of its ports: a Port_Binding change that
    /// renames a member (never seen from northd, which deletes and adds) makes
    /// every group convert again; other Port_Binding changes are ignored.
    fn multicast_groups(&mut self, t: &SbTables) -> bool {
        let pb_stamp = t.stamp(sb::PortBinding::TABLE);
        if pb_stamp != self.mcast_pb_stamp {
            let renamed = match t.changed_since(sb::PortBinding::TABLE, self.mcast_pb_stamp) {
                Some(uuids) => uuids.iter().any(|u| {
                    self.mcast_names.get(u).is_some_and(|name| {
                        t.port_binding.get(u).map(|pb| pb.logical_port.as_str()) != Some(name)
                    })
                }),
                None => true,
            };
            if renamed {
                self.mcast.stamps.clear();
            }
            self.mcast_pb_stamp = pb_stamp;
        }
        let names = &mut self.mcast_names;
        let changed = self.mcast.update(t, MCAST_INPUTS, &t.multicast_group, |_, m, _| {
            let ports = m
                .ports
                .iter()
                .filter_map(|p| {
                    let name = &t.port_binding.get(p)?.logical_port;
                    names.insert(*p, name.clone());
                    Some(name.clone())
                })
                .collect();
            Some(Arc::new(MulticastGroup {
                datapath: dp_key(t, m.datapath)?,
                name: m.name.clone(),
                tunnel_key: key(m.tunnel_key)?,
                ports,
            }))
        });
        match changed {
            Changed::Nothing => false,
            Changed::Rows(rows) if rows.is_empty() => false,
            _ => {
                // Names of ports no group lists any more are not dropped
                // here: a stale entry can only cause a needless reconversion.
                let mut rows: Vec<MulticastGroup> = self.mcast.rows.values().map(|m| (**m).clone()).collect();
                rows.sort_by_key(|m| (m.datapath, m.tunnel_key));
                self.mcast_rows = rows;
                true
            }
        }
    }

    /// Brings the Southbound parts of the state up to date with `sb`.
    /// Returns false when none of them changed since the last update (the
    /// state would be the last one but for the local parts).
    pub fn update(&mut self, sb: &Replica) -> bool {
        let t = &sb.sb;
        let mut changed = self.port_bindings(t);
        changed |= self.logical_flows(t);
        changed |= self.multicast_groups(t);
        changed |= self.datapaths.update(t, &[sb::DatapathBinding::TABLE], |_| {
            let mut v: Vec<Datapath> = t
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
            // Deterministic order, so that an unchanged database gives an
            // equal state (and the OpenFlow side ranks ports in this order).
            v.sort_by_key(|d| d.tunnel_key);
            v
        });
        changed |= self.mac_bindings.update(
            t,
            &[
                sb::MacBinding::TABLE,
                sb::StaticMacBinding::TABLE,
                sb::DatapathBinding::TABLE,
            ],
            |_| {
                let learned = t.mac_binding.values().filter_map(|m| {
                    Some(MacBinding {
                        logical_port: m.logical_port.clone(),
                        ip: m.ip.clone(),
                        mac: m.mac.clone(),
                        datapath: dp_key(t, m.datapath)?,
                        priority: MacBinding::LEARNED,
                    })
                });
                // Static ones win over learned ones only with override_dynamic_mac.
                let configured = t.static_mac_binding.values().filter_map(|m| {
                    Some(MacBinding {
                        logical_port: m.logical_port.clone(),
                        ip: m.ip.clone(),
                        mac: m.mac.clone(),
                        datapath: dp_key(t, m.datapath)?,
                        priority: if m.override_dynamic_mac {
                            MacBinding::STATIC_OVERRIDE
                        } else {
                            MacBinding::STATIC
                        },
                    })
                });
                let mut v: Vec<MacBinding> = learned.chain(configured).collect();
                v.sort_by(|a, b| {
                    (&a.logical_port, &a.ip, a.priority).cmp(&(&b.logical_port, &b.ip, b.priority))
                });
                v
            },
        );
        let groups = &self.dp_groups.value;
        changed |= self.load_balancers.update(
            t,
            &[
                sb::LoadBalancer::TABLE,
                sb::DatapathBinding::TABLE,
                sb::LogicalDpGroup::TABLE,
            ],
            |_| {
                t.load_balancer
                    .values()
                    .map(|lb| LoadBalancer {
                        vips: lb.vips.clone(),
                        protocol: lb.protocol.clone(),
                        datapaths: dps(t, groups, &lb.datapaths, lb.datapath_group),
                    })
                    .collect()
            },
        );
        changed |= self.address_sets.update(t, &[sb::AddressSet::TABLE], |last| {
            shared_sets(last, t.address_set.values().map(|a| (&a.name, &a.addresses)))
        });
        changed |= self.port_groups.update(t, &[sb::PortGroup::TABLE], |last| {
            shared_sets(last, t.port_group.values().map(|p| (&p.name, &p.ports)))
        });
        changed |= self
            .chassis
            .update(t, &[sb::Chassis::TABLE, sb::Encap::TABLE], |_| {
                t.chassis
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
                    .collect()
            });
        changed
    }

    /// The state from the Southbound parts as of the last [`update`] and
    /// the given local parts.
    ///
    /// [`update`]: StateBuilder::update
    pub fn assemble(
        &self,
        chassis_name: &str,
        vif_ofports: BTreeMap<String, u32>,
        tunnel_ofports: BTreeMap<String, u32>,
        ct_zones: BTreeMap<String, u16>,
    ) -> LocalState {
        LocalState {
            chassis_name: chassis_name.to_string(),
            datapaths: self.datapaths.value.clone(),
            port_bindings: self.port_rows.clone(),
            multicast_groups: self.mcast_rows.clone(),
            logical_flows: self.lflow_rows.clone(),
            mac_bindings: self.mac_bindings.value.clone(),
            load_balancers: self.load_balancers.value.clone(),
            address_sets: self.address_sets.value.clone(),
            port_groups: self.port_groups.value.clone(),
            chassis: self.chassis.value.clone(),
            vif_ofports,
            tunnel_ofports,
            ct_zones,
            ..Default::default()
        }
    }

    /// Everything from SB/OVS the OpenFlow side needs ([`update`], then
    /// [`assemble`]).
    ///
    /// [`update`]: StateBuilder::update
    /// [`assemble`]: StateBuilder::assemble
    #[cfg(test)]
    pub fn build(
        &mut self,
        sb: &Replica,
        chassis_name: &str,
        vif_ofports: BTreeMap<String, u32>,
        tunnel_ofports: BTreeMap<String, u32>,
        ct_zones: BTreeMap<String, u16>,
    ) -> LocalState {
        self.update(sb);
        self.assemble(chassis_name, vif_ofports, tunnel_ofports, ct_zones)
    }
}

/// `options:l3gateway-chassis` of a Port_Binding.
fn l3gateway_chassis(pb: &sb::PortBinding) -> Option<&str> {
    pb.options.get("l3gateway-chassis").map(String::as_str)
}

/// Port_Binding rows of `uuids`.
fn port_rows<'a>(
    t: &'a SbTables,
    uuids: impl Iterator<Item = Uuid> + 'a,
) -> impl Iterator<Item = &'a sb::PortBinding> + 'a {
    uuids.filter_map(|u| t.port_binding.get(&u))
}

/// Datapaths (by UUID) with a port resident on this chassis, plus everything
/// reachable from them through patch ports. Reads only the ports bound here,
/// the patch and the `l3gateway` ports (through `SbTables::ports`), not every
/// port.
pub fn local_datapaths(sb: &Replica, me_uuid: Uuid, me_name: &str) -> BTreeSet<Uuid> {
    let t = &sb.sb;
    let my_gateway = |pb: &&sb::PortBinding| l3gateway_chassis(pb) == Some(me_name);
    let gateways = || port_rows(t, t.ports.of_type("l3gateway")).filter(my_gateway);
    // Only ports that lead to another datapath are followed.
    let mut by_dp: FxHashMap<Uuid, Vec<&sb::PortBinding>> = FxHashMap::default();
    for pb in port_rows(t, t.ports.of_type("patch")).chain(gateways()) {
        if let Some(dp) = opt(pb.datapath) {
            by_dp.entry(dp).or_default().push(pb);
        }
    }
    let mut todo: VecDeque<Uuid> = port_rows(t, t.ports.on_chassis(me_uuid))
        .chain(gateways())
        .filter_map(|pb| opt(pb.datapath))
        .collect();
    let mut local = BTreeSet::new();
    while let Some(dp) = todo.pop_front() {
        if !local.insert(dp) {
            continue;
        }
        for pb in by_dp.get(&dp).into_iter().flatten() {
            // The last row of a duplicated name, as a name → row map would keep.
            if let Some(peer) = pb.options.get("peer")
                && let Some(pdp) = port_rows(t, t.ports.named(peer))
                    .last()
                    .and_then(|p| opt(p.datapath))
            {
                todo.push_back(pdp);
            }
        }
    }
    local
}

/// The ports (not VIFs) of [`zone_names`]: `localnet` ports of local
/// datapaths and `l3gateway` ports resident here. Reads only those ports.
pub fn zone_ports(sb: &Replica, local_dps: &BTreeSet<Uuid>, me_name: &str) -> BTreeSet<String> {
    let t = &sb.sb;
    let localnet = port_rows(t, t.ports.of_type("localnet")).filter(|pb| local_dps.contains(&pb.datapath));
    let gateways =
        port_rows(t, t.ports.of_type("l3gateway")).filter(|pb| l3gateway_chassis(pb) == Some(me_name));
    localnet
        .chain(gateways)
        .filter(|pb| !pb.logical_port.is_empty())
        .map(|pb| pb.logical_port.clone())
        .collect()
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
    names.extend(zone_ports(sb, local_dps, me_name));
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
pub(crate) mod tests {
    use super::*;
    use crate::sb::LflowRow;

    /// A small deterministic generator for randomized tests (xorshift64*).
    pub(crate) struct Rng(pub u64);

    impl Rng {
        pub fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as usize % n.max(1)
        }

        pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
            v[self.below(v.len())]
        }

        pub fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
    }

    /// `local_datapaths` and `zone_ports` read only indexed ports: after
    /// random port changes they find what a scan of every port finds.
    #[test]
    fn indexed_local_datapaths_equal_full_scan() {
        let scan = |sb: &Replica, me: Uuid, me_name: &str| {
            let t = &sb.sb;
            let gw =
                |pb: &sb::PortBinding| pb.r#type == "l3gateway" && l3gateway_chassis(pb) == Some(me_name);
            let mut by_name: BTreeMap<&str, &sb::PortBinding> = BTreeMap::new();
            let mut todo = VecDeque::new();
            for pb in t.port_binding.values() {
                by_name.insert(&pb.logical_port, pb);
                if (pb.chassis == Some(me) || pb.additional_chassis.contains(&me) || gw(pb))
                    && let Some(dp) = opt(pb.datapath)
                {
                    todo.push_back(dp);
                }
            }
            let mut local = BTreeSet::new();
            while let Some(dp) = todo.pop_front() {
                if !local.insert(dp) {
                    continue;
                }
                for pb in t.port_binding.values() {
                    if opt(pb.datapath) == Some(dp)
                        && (pb.r#type == "patch" || gw(pb))
                        && let Some(peer) = pb.options.get("peer").and_then(|p| by_name.get(p.as_str()))
                        && let Some(pdp) = opt(peer.datapath)
                    {
                        todo.push_back(pdp);
                    }
                }
            }
            let ports: BTreeSet<String> = t
                .port_binding
                .values()
                .filter(|pb| (pb.r#type == "localnet" && local.contains(&pb.datapath)) || gw(pb))
                .filter(|pb| !pb.logical_port.is_empty())
                .map(|pb| pb.logical_port.clone())
                .collect();
            (local, ports)
        };
        let mut rng = Rng(0x51_7cc1_b727_220a);
        let me = Uuid::new_v4();
        let other = Uuid::new_v4();
        let dps: Vec<Uuid> = (0..6).map(|_| Uuid::new_v4()).collect();
        let pbs: Vec<Uuid> = (0..16).map(|_| Uuid::new_v4()).collect();
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let mut sb = Replica::default();
        for step in 0..3000 {
            let u = rng.pick(&pbs);
            if rng.chance(15) {
                sb.sb.apply(sb::PortBinding::TABLE, u, None);
            } else {
                let mut options = BTreeMap::new();
                options.insert("peer".to_string(), rng.pick(&names).to_string());
                if rng.chance(50) {
                    options.insert(
                        "l3gateway-chassis".to_string(),
                        rng.pick(&["hv1", "hv2"]).to_string(),
                    );
                }
                sb.sb.insert(sb::PortBinding {
                    uuid: u,
                    logical_port: rng.pick(&names).to_string(),
                    datapath: if rng.chance(5) {
                        Uuid::nil()
                    } else {
                        rng.pick(&dps)
                    },
                    r#type: rng
                        .pick(&["", "", "patch", "patch", "l3gateway", "localnet"])
                        .to_string(),
                    chassis: rng.pick(&[None, Some(me), Some(other)]),
                    additional_chassis: if rng.chance(10) { vec![me] } else { Vec::new() },
                    options,
                    ..Default::default()
                });
            }
            let local = local_datapaths(&sb, me, "hv1");
            let got = (local.clone(), zone_ports(&sb, &local, "hv1"));
            assert_eq!(got, scan(&sb, me, "hv1"), "step {step}");
        }
    }

    /// Random changes to every table the builder reads, applied as a server
    /// would (a deleted Port_Binding also leaves the groups listing it): after
    /// each batch, the builder that saw every earlier state builds what a
    /// fresh one does.
    #[test]
    fn incremental_build_equals_fresh_build() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let pool = |n: usize| -> Vec<Uuid> { (0..n).map(|_| Uuid::new_v4()).collect() };
        let (dps, pbs, lfs, groups, mcs) = (pool(5), pool(12), pool(14), pool(3), pool(6));
        let (macs, lbs, sets, chassis, encaps) = (pool(3), pool(3), pool(3), pool(3), pool(3));
        let names = ["a", "b", "c", "d", "e", "f", "g"];
        let smap = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let mut sb = Replica::default();
        let mut b = StateBuilder::default();
        let (mut last, mut unchanged) = (None, 0);
        for step in 0..3000 {
            for _ in 0..1 + rng.below(3) {
                let del = rng.chance(15);
                let t = &mut sb.sb;
                match rng.below(11) {
                    0 => {
                        let u = rng.pick(&dps);
                        if del {
                            t.apply(sb::DatapathBinding::TABLE, u, None);
                        } else {
                            let ids = if rng.chance(50) {
                                smap(&[("logical-switch", "x")])
                            } else {
                                smap(&[("logical-router", "y")])
                            };
                            t.insert(sb::DatapathBinding {
                                uuid: u,
                                tunnel_key: rng.below(7) as i64,
                                external_ids: ids,
                                ..Default::default()
                            });
                        }
                    }
                    1 | 2 => {
                        let u = rng.pick(&pbs);
                        if del {
                            t.apply(sb::PortBinding::TABLE, u, None);
                            // Multicast_Group.ports is a weak reference.
                            let listing: Vec<sb::MulticastGroup> = t
                                .multicast_group
                                .values()
                                .filter(|m| m.ports.contains(&u))
                                .cloned()
                                .collect();
                            for mut m in listing {
                                m.ports.retain(|p| *p != u);
                                t.insert(m);
                            }
                        } else {
                            t.insert(sb::PortBinding {
                                uuid: u,
                                logical_port: rng.pick(&names).to_string(),
                                datapath: rng.pick(&dps),
                                tunnel_key: rng.below(4) as i64,
                                chassis: rng.chance(50).then(|| rng.pick(&chassis)),
                                r#type: rng.pick(&["", "patch", "l3gateway"]).to_string(),
                                options: smap(&[("peer", rng.pick(&names))]),
                                mac: vec![rng.pick(&names).to_string()],
                                ..Default::default()
                            });
                        }
                    }
                    3 | 4 => {
                        let u = rng.pick(&lfs);
                        if del {
                            t.apply(sb::LogicalFlow::TABLE, u, None);
                        } else {
                            let (single, group) = if rng.chance(50) {
                                (Some(rng.pick(&dps)), None)
                            } else {
                                (None, Some(rng.pick(&groups)))
                            };
                            t.insert(LflowRow::from(sb::LogicalFlow {
                                uuid: u,
                                logical_datapath: single,
                                logical_dp_group: group,
                                pipeline: rng.pick(&["ingress", "egress"]).to_string(),
                                table_id: rng.below(3) as i64,
                                priority: rng.below(3) as i64,
                                r#match: rng.pick(&names).to_string(),
                                actions: "next;".into(),
                                ..Default::default()
                            }));
                        }
                    }
                    5 => {
                        let u = rng.pick(&groups);
                        let datapaths = (0..rng.below(4)).map(|_| rng.pick(&dps)).collect();
                        t.insert(sb::LogicalDpGroup { uuid: u, datapaths });
                    }
                    6 | 7 => {
                        let u = rng.pick(&mcs);
                        if del {
                            t.apply(sb::MulticastGroup::TABLE, u, None);
                        } else {
                            // Only existing rows can be referenced.
                            let existing: Vec<Uuid> = t.port_binding.keys().copied().collect();
                            let ports = if existing.is_empty() {
                                Vec::new()
                            } else {
                                (0..rng.below(4)).map(|_| rng.pick(&existing)).collect()
                            };
                            t.insert(sb::MulticastGroup {
                                uuid: u,
                                datapath: rng.pick(&dps),
                                name: rng.pick(&["_MC_flood", "_MC_unknown"]).to_string(),
                                tunnel_key: 32768 + rng.below(3) as i64,
                                ports,
                            });
                        }
                    }
                    8 => {
                        t.insert(sb::MacBinding {
                            uuid: rng.pick(&macs),
                            logical_port: rng.pick(&names).to_string(),
                            ip: "10.0.0.1".into(),
                            mac: "00:00:00:00:00:01".into(),
                            datapath: rng.pick(&dps),
                            ..Default::default()
                        });
                        t.insert(sb::LoadBalancer {
                            uuid: rng.pick(&lbs),
                            vips: smap(&[("10.0.0.9:80", rng.pick(&names))]),
                            datapaths: vec![rng.pick(&dps)],
                            datapath_group: rng.chance(50).then(|| rng.pick(&groups)),
                            ..Default::default()
                        });
                    }
                    9 => {
                        let addresses: Vec<String> = names[..rng.below(names.len())]
                            .iter()
                            .map(|n| n.to_string())
                            .collect();
                        t.insert(sb::AddressSet {
                            uuid: rng.pick(&sets),
                            name: rng.pick(&names).to_string(),
                            addresses: addresses.clone(),
                        });
                        t.insert(sb::PortGroup {
                            uuid: rng.pick(&sets),
                            name: rng.pick(&names).to_string(),
                            ports: addresses,
                        });
                    }
                    _ => {
                        let e = rng.pick(&encaps);
                        t.insert(sb::Encap {
                            uuid: e,
                            r#type: "geneve".into(),
                            ip: format!("10.1.0.{}", rng.below(3)),
                            ..Default::default()
                        });
                        t.insert(sb::Chassis {
                            uuid: rng.pick(&chassis),
                            name: rng.pick(&names).to_string(),
                            encaps: vec![e],
                            ..Default::default()
                        });
                    }
                }
            }
            let changed = b.update(&sb);
            let got = b.assemble("hv1", BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
            let fresh =
                StateBuilder::default().build(&sb, "hv1", BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
            assert_eq!(got, fresh, "step {step}");
            if !changed {
                assert_eq!(
                    Some(&got),
                    last.as_ref(),
                    "step {step}: unchanged, says the builder"
                );
                unchanged += 1;
            }
            last = Some(got);
        }
        assert!(
            unchanged > 100,
            "some batches change nothing the state holds ({unchanged})"
        );
    }
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
        let f1 = sb.sb.insert(LflowRow::from(flow("1")));
        sb.sb.insert(LflowRow::from(flow("ip4")));
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
        sb.sb.insert(LflowRow::from(sb::LogicalFlow {
            uuid: f1,
            ..flow("ip6")
        }));
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
        assert!(s3.logical_flows.iter().any(|f| &*f.match_ == "ip6"));
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
