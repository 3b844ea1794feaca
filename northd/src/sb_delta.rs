//! The steady-state SB writer: turns the exact SB difference the engine reports
//! (`Delta::Changes`) into operations on only the affected rows, found through
//! indexes over the SB replica that follow its change tracking. Pure: indexes,
//! replica rows and the difference in, operations out.
//!
//! Anything it cannot decide locally (datapaths created or deleted, a flow content
//! on several datapaths, i.e. in a `Logical_DP_Group`, duplicate rows, tunnel keys
//! moving under learned rows) yields `None`, and the caller uses the full
//! natural-key diff, [`crate::sb_sync::plan`], which stays the reference.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::Hash;

use northd_core::{LogicalFlow, SbContext, SbDiff, Southbound};
use ovn_db::sb;
use ovsdb::idl::{Changes, RowChange};
use ovsdb::ops::OpResult;
use ovsdb::typed::Table;
use ovsdb::{Operation, Row, Uuid};

use crate::sb_sync::{
    Builder, FlowContent, LB_ID, Placement, Plan, Ref, SyncStats, Tables, datapath_nb_key, group_row,
    ha_groups_by_name, port_binding_row, set_ref, set_refs, sync_ha_group,
};
use crate::snapshot;

type Keyed<K> = HashMap<K, BTreeSet<Uuid>>;

fn track<K: Eq + Hash>(m: &mut Keyed<K>, u: Uuid, old: Option<K>, new: Option<K>) {
    if let Some(k) = old
        && let Some(s) = m.get_mut(&k)
    {
        s.remove(&u);
        if s.is_empty() {
            m.remove(&k);
        }
    }
    if let Some(k) = new {
        m.entry(k).or_default().insert(u);
    }
}

/// The one row under `k`: `None` when there are duplicates (let the full diff
/// repair them), `Some(None)` when there is none.
fn one<K: Eq + Hash + std::borrow::Borrow<Q>, Q: Eq + Hash + ?Sized>(
    m: &Keyed<K>,
    k: &Q,
) -> Option<Option<Uuid>> {
    match m.get(k) {
        None => Some(None),
        Some(s) if s.len() == 1 => Some(s.iter().next().copied()),
        Some(_) => None,
    }
}

/// Natural key → SB rows, for the tables northd owns and the learned ones it cleans.
#[derive(Debug, Default)]
pub struct SbIndex {
    dp: Keyed<String>,
    /// Datapath row → the NB switch/router it stands for.
    dp_nb: HashMap<Uuid, String>,
    pb: Keyed<String>,
    mg: Keyed<(Uuid, String)>,
    lf: Keyed<FlowContent>,
    lb: Keyed<String>,
    aset: Keyed<String>,
    pg: Keyed<String>,
    mb: Keyed<String>,
    /// Learned `MAC_Binding`s by datapath row (they go with a deleted datapath).
    mb_dp: Keyed<Uuid>,
    fdb: Keyed<(i64, i64)>,
    /// `Logical_DP_Group` row → its datapath rows, and the reverse.
    grp: HashMap<Uuid, BTreeSet<Uuid>>,
    grp_by_set: Keyed<BTreeSet<Uuid>>,
    /// How many `Logical_Flow` / `Load_Balancer` rows use each group.
    lf_grp: HashMap<Uuid, usize>,
    lb_grp: HashMap<Uuid, usize>,
}

/// Counts references: one less to `old`'s target, one more to `new`'s.
fn count(m: &mut HashMap<Uuid, usize>, old: Option<Uuid>, new: Option<Uuid>) {
    if let Some(o) = old
        && let Some(c) = m.get_mut(&o)
    {
        *c -= 1;
        if *c == 0 {
            m.remove(&o);
        }
    }
    if let Some(n) = new {
        *m.entry(n).or_default() += 1;
    }
}

impl SbIndex {
    pub fn build(t: &Tables) -> Self {
        let mut i = SbIndex::default();
        for (table, rows) in t {
            for (u, r) in rows {
                i.row(table, *u, None, Some(r));
            }
        }
        i
    }

    /// Follows the replica's changes.
    pub fn apply(&mut self, ch: &Changes) {
        for (table, rows) in &ch.tables {
            for (u, c) in rows {
                self.row(table, *u, c.old_row(), c.new_row());
            }
        }
    }

    fn row(&mut self, table: &str, u: Uuid, old: Option<&Row>, new: Option<&Row>) {
        type Pb = sb::PortBinding;
        type Mg = sb::MulticastGroup;
        type Lb = sb::LoadBalancer;
        type Mb = sb::MacBinding;
        type Fdb = sb::Fdb;
        if table == sb::DatapathBinding::TABLE {
            let (o, n) = (old.and_then(datapath_nb_key), new.and_then(datapath_nb_key));
            match &n {
                Some(k) => self.dp_nb.insert(u, k.clone()),
                None => self.dp_nb.remove(&u),
            };
            track(&mut self.dp, u, o, n);
        } else if table == Pb::TABLE {
            let k = |r: &Row| col!(r, Pb, COL_LOGICAL_PORT => logical_port);
            track(&mut self.pb, u, old.map(k), new.map(k));
        } else if table == Mg::TABLE {
            let k = |r: &Row| {
                Some((
                    col_opt!(r, Mg, COL_DATAPATH => datapath)?,
                    col!(r, Mg, COL_NAME => name),
                ))
            };
            track(&mut self.mg, u, old.and_then(k), new.and_then(k));
        } else if table == sb::LogicalFlow::TABLE {
            track(
                &mut self.lf,
                u,
                old.map(FlowContent::from_row),
                new.map(FlowContent::from_row),
            );
            let g =
                |r: &Row| col_opt!(r, sb::LogicalFlow, COL_LOGICAL_DP_GROUP => logical_dp_group).flatten();
            count(&mut self.lf_grp, old.and_then(g), new.and_then(g));
        } else if table == sb::LogicalDpGroup::TABLE {
            let set = |r: &Row| -> BTreeSet<Uuid> {
                col!(r, sb::LogicalDpGroup, COL_DATAPATHS => datapaths)
                    .into_iter()
                    .collect()
            };
            let (o, n) = (old.map(set), new.map(set));
            match &n {
                Some(s) => self.grp.insert(u, s.clone()),
                None => self.grp.remove(&u),
            };
            track(&mut self.grp_by_set, u, o, n);
        } else if table == Lb::TABLE {
            let k = |r: &Row| col!(r, Lb, COL_EXTERNAL_IDS => external_ids).remove(LB_ID);
            track(&mut self.lb, u, old.and_then(k), new.and_then(k));
            let g = |r: &Row| col_opt!(r, Lb, COL_DATAPATH_GROUP => datapath_group).flatten();
            count(&mut self.lb_grp, old.and_then(g), new.and_then(g));
        } else if table == sb::AddressSet::TABLE {
            let k = |r: &Row| col!(r, sb::AddressSet, COL_NAME => name);
            track(&mut self.aset, u, old.map(k), new.map(k));
        } else if table == sb::PortGroup::TABLE {
            let k = |r: &Row| col!(r, sb::PortGroup, COL_NAME => name);
            track(&mut self.pg, u, old.map(k), new.map(k));
        } else if table == Mb::TABLE {
            let k = |r: &Row| col!(r, Mb, COL_LOGICAL_PORT => logical_port);
            track(&mut self.mb, u, old.map(k), new.map(k));
            let dp = |r: &Row| col_opt!(r, Mb, COL_DATAPATH => datapath);
            track(&mut self.mb_dp, u, old.and_then(dp), new.and_then(dp));
        } else if table == Fdb::TABLE {
            let k = |r: &Row| {
                (
                    col!(r, Fdb, COL_DP_KEY => dp_key),
                    col!(r, Fdb, COL_PORT_KEY => port_key),
                )
            };
            track(&mut self.fdb, u, old.map(k), new.map(k));
        }
    }
}

/// The desired datapaths (NB UUIDs) of every flow content.
#[derive(Debug, Default)]
pub struct FlowSets(HashMap<FlowContent, BTreeSet<std::sync::Arc<str>>>);

impl FlowSets {
    pub fn build(flows: &BTreeSet<LogicalFlow>) -> Self {
        let mut s = FlowSets::default();
        for f in flows {
            s.0.entry(FlowContent::of(f))
                .or_default()
                .insert(f.datapath.clone());
        }
        s
    }

    pub fn apply(&mut self, d: &northd_core::SbDiff) {
        for f in &d.logical_flows.delete {
            let c = FlowContent::of(f);
            if let Some(s) = self.0.get_mut(&c) {
                s.remove(&f.datapath);
                if s.is_empty() {
                    self.0.remove(&c);
                }
            }
        }
        for f in &d.logical_flows.insert {
            self.0
                .entry(FlowContent::of(f))
                .or_default()
                .insert(f.datapath.clone());
        }
    }
}

/// `Port_Binding` columns northd writes (the chassis owns the others).
const PB_OWNED: &[&str] = &[
    sb::PortBinding::COL_LOGICAL_PORT,
    sb::PortBinding::COL_DATAPATH,
    sb::PortBinding::COL_TUNNEL_KEY,
    sb::PortBinding::COL_TYPE,
    sb::PortBinding::COL_OPTIONS,
    sb::PortBinding::COL_MAC,
    sb::PortBinding::COL_PORT_SECURITY,
    sb::PortBinding::COL_EXTERNAL_IDS,
    sb::PortBinding::COL_PARENT_PORT,
    sb::PortBinding::COL_TAG,
    sb::PortBinding::COL_REQUESTED_CHASSIS,
    sb::PortBinding::COL_NAT_ADDRESSES,
    sb::PortBinding::COL_HA_CHASSIS_GROUP,
];

/// What a batch of SB changes means for northd.
#[derive(Debug, Default)]
pub struct SbEvents {
    /// Someone else changed rows northd owns (or learned rows that may be stale):
    /// the next write must be a full diff.
    pub foreign: bool,
    /// Port bindings whose row changed (for NB `Logical_Switch_Port.up`).
    pub port_names: BTreeSet<String>,
}

/// Sorts the replica's changes into northd's own writes coming back (`expected`,
/// emptied as they arrive), the chassis' writes, and anything else.
pub fn classify(
    ch: &Changes,
    expected: &mut HashSet<(String, Uuid)>,
    want: &Southbound,
    idx: &SbIndex,
) -> SbEvents {
    type Pb = sb::PortBinding;
    type Mb = sb::MacBinding;
    let mut ev = SbEvents::default();
    for (table, rows) in &ch.tables {
        let t = table.as_str();
        for (u, c) in rows {
            let ours = expected.remove(&(table.clone(), *u));
            if t == Pb::TABLE {
                for r in [c.old_row(), c.new_row()].into_iter().flatten() {
                    ev.port_names
                        .insert(col!(r, Pb, COL_LOGICAL_PORT => logical_port));
                }
                let chassis_only = matches!(c, RowChange::Modified { .. })
                    && c.changed_columns().iter().all(|k| !PB_OWNED.contains(k));
                ev.foreign |= !ours && !chassis_only;
            } else if t == sb::Chassis::TABLE || t == sb::ChassisPrivate::TABLE || t == sb::Encap::TABLE {
            } else if t == Mb::TABLE {
                // Learned by a chassis: fine as long as its port and datapath exist.
                if let Some(r) = c.new_row()
                    && !ours
                {
                    let port_ok = want
                        .port_bindings
                        .contains_key(&col!(r, Mb, COL_LOGICAL_PORT => logical_port));
                    let dp_ok = col_opt!(r, Mb, COL_DATAPATH => datapath)
                        .and_then(|d| idx.dp_nb.get(&d))
                        .is_some_and(|nb| want.datapaths.contains_key(nb));
                    ev.foreign |= !(port_ok && dp_ok);
                }
            } else if t == sb::Fdb::TABLE {
                ev.foreign |= c.new_row().is_some() && !ours;
            } else if t == sb::LogicalDpGroup::TABLE {
                // Unreferenced groups are garbage-collected by the server.
                ev.foreign |= c.new_row().is_some() && !ours;
            } else {
                ev.foreign |= !ours;
            }
        }
    }
    ev
}

/// What each operation of a transaction will echo: its table, and the row when the
/// operation names it (updates and deletes by UUID; inserts learn theirs from the
/// result). Taken before the operations are handed over, so that they can be freed
/// while the transaction is in flight.
pub type EchoKeys = Vec<Option<(String, Option<Uuid>)>>;

pub fn echo_keys(ops: &[Operation]) -> EchoKeys {
    ops.iter()
        .map(|op| match op {
            Operation::Insert { table, .. } => Some((table.clone(), None)),
            Operation::Deferred(w) => w.inserts_into().map(|t| (t.to_string(), None)),
            Operation::Update {
                table, conditions, ..
            }
            | Operation::Delete { table, conditions } => match conditions.as_slice() {
                [c] if c.column == "_uuid" => c.value.as_uuid().map(|u| (table.clone(), Some(u))),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The rows the server will echo back for a committed transaction.
pub fn echoes(keys: EchoKeys, results: &[OpResult]) -> Vec<(String, Uuid)> {
    keys.into_iter()
        .zip(results)
        .filter_map(|(k, r)| match k? {
            (table, None) => Some((table, r.uuid?)),
            (table, Some(u)) => (r.count.unwrap_or(0) > 0).then_some((table, u)),
        })
        .collect()
}

/// Keeps `ctx` (chassis, SB_Global options, existing keys) in step with the replica's
/// changes; `cur` is the replica after them.
pub fn update_context(ctx: &mut SbContext, ch: &Changes, idx: &SbIndex, cur: &Tables) {
    type Dp = sb::DatapathBinding;
    type Pb = sb::PortBinding;
    if ch.table(sb::Chassis::TABLE).next().is_some() || ch.table(sb::Encap::TABLE).next().is_some() {
        ctx.chassis = snapshot::sb_chassis(cur);
    }
    if ch.table(sb::SbGlobal::TABLE).next().is_some() {
        ctx.sb_global_options = snapshot::sb_global_options(cur);
    }
    for (_, c) in ch.table(Dp::TABLE) {
        if let Some(nb) = c.old_row().and_then(datapath_nb_key) {
            ctx.datapath_keys.remove(&nb);
        }
        if let Some(r) = c.new_row()
            && let (Some(nb), Some(k)) = (datapath_nb_key(r), col_opt!(r, Dp, COL_TUNNEL_KEY => tunnel_key))
        {
            ctx.datapath_keys.insert(nb, k as u32);
        }
    }
    for (_, c) in ch.table(Pb::TABLE) {
        if let Some(r) = c.old_row() {
            ctx.port_keys
                .remove(&col!(r, Pb, COL_LOGICAL_PORT => logical_port));
        }
        if let Some(r) = c.new_row() {
            let nb = col_opt!(r, Pb, COL_DATAPATH => datapath).and_then(|d| idx.dp_nb.get(&d));
            if let (Some(nb), Some(k)) = (nb, col_opt!(r, Pb, COL_TUNNEL_KEY => tunnel_key)) {
                ctx.port_keys.insert(
                    col!(r, Pb, COL_LOGICAL_PORT => logical_port),
                    (nb.clone(), k as u32),
                );
            }
        }
    }
}

/// Where a `Logical_Flow` row applies (`None`: nowhere, a stale row).
fn placement(r: &Row) -> Option<Placement> {
    type Lf = sb::LogicalFlow;
    if let Some(g) = col_opt!(r, Lf, COL_LOGICAL_DP_GROUP => logical_dp_group).flatten() {
        Some(Placement::Group(Ref::Row(g)))
    } else {
        col_opt!(r, Lf, COL_LOGICAL_DATAPATH => logical_datapath)
            .flatten()
            .map(|d| Placement::Single(Ref::Row(d)))
    }
}

/// The transaction that applies the engine's difference `d` (whose result is `want`,
/// with `flows` already updated) to the SB rows `cur`, indexed by `idx`; `None` when
/// only the full diff can.
pub fn plan(d: &SbDiff, want: &Southbound, flows: &FlowSets, idx: &SbIndex, cur: &Tables) -> Option<Plan> {
    type G = sb::SbGlobal;
    type Dp = sb::DatapathBinding;
    type Pb = sb::PortBinding;
    type Mg = sb::MulticastGroup;
    type Lf = sb::LogicalFlow;
    type Lb = sb::LoadBalancer;
    type Grp = sb::LogicalDpGroup;
    type Mb = sb::MacBinding;
    type Fdb = sb::Fdb;
    let mut b = Builder {
        cur,
        ops: Vec::new(),
        stats: SyncStats::default(),
        next_name: 0,
    };
    let row_of = |t: &str, u: &Uuid| cur.get(t).and_then(|rows| rows.get(u));

    if let Some((nb_cfg, options, ipsec)) = &d.sb_global {
        let rows = b.table::<G>();
        if rows.len() != 1 {
            return None;
        }
        let (u, r) = rows.iter().next()?;
        let mut desired = Row::new();
        G::set_nb_cfg(&mut desired, nb_cfg);
        G::set_options(&mut desired, options);
        G::set_ipsec(&mut desired, ipsec);
        b.update::<G>(*u, r, desired);
    }

    // Datapaths: new ones are inserted under a name the rest of the transaction uses.
    let mut new_dps: HashMap<&str, Ref> = HashMap::new();
    for (nb, dp) in &d.datapaths.insert {
        if one(&idx.dp, nb)?.is_some() {
            return None;
        }
        let mut desired = Row::new();
        Dp::set_tunnel_key(&mut desired, &(dp.tunnel_key as i64));
        Dp::set_external_ids(&mut desired, &dp.external_ids);
        let n = b.fresh("dp");
        b.insert::<Dp>(desired, Some(n.clone()));
        new_dps.insert(nb, Ref::New(n));
    }
    for nb in &d.datapaths.delete {
        for u in idx.dp.get(nb).into_iter().flatten() {
            // What chassis learned on it goes with it.
            for m in idx.mb_dp.get(u).into_iter().flatten() {
                b.delete::<Mb>(*m);
            }
            if let Some(k) = row_of(Dp::TABLE, u).and_then(|r| col_opt!(r, Dp, COL_TUNNEL_KEY => tunnel_key))
            {
                for f in idx
                    .fdb
                    .iter()
                    .filter(|((dk, _), _)| *dk == k)
                    .flat_map(|(_, f)| f)
                {
                    b.delete::<Fdb>(*f);
                }
            }
            b.delete::<Dp>(*u);
        }
    }
    let dp_ref = |nb: &str| -> Option<Ref> {
        match new_dps.get(nb) {
            Some(r) => Some(r.clone()),
            None => one(&idx.dp, nb)?.map(Ref::Row),
        }
    };
    for (nb, dp) in &d.datapaths.update {
        let u = one(&idx.dp, nb)??;
        let r = row_of(Dp::TABLE, &u)?;
        if col_opt!(r, Dp, COL_TUNNEL_KEY => tunnel_key) != Some(dp.tunnel_key as i64) {
            return None;
        }
        let mut desired = Row::new();
        Dp::set_tunnel_key(&mut desired, &(dp.tunnel_key as i64));
        Dp::set_external_ids(&mut desired, &dp.external_ids);
        b.update::<Dp>(u, r, desired);
    }

    // Port bindings.
    let pbs = &d.port_bindings;
    let hags = &d.ha_chassis_groups;
    let chassis: HashMap<String, Uuid> =
        if pbs.insert.is_empty() && pbs.update.is_empty() && hags.insert.is_empty() && hags.update.is_empty()
        {
            HashMap::new()
        } else {
            b.table::<sb::Chassis>()
                .iter()
                .map(|(u, r)| (col!(r, sb::Chassis, COL_NAME => name), *u))
                .collect()
        };
    // HA chassis groups (by name: the table is small) before the ports naming them.
    let mut groups = ha_groups_by_name(&b);
    let mut group_refs: HashMap<String, Ref> = HashMap::new();
    for (name, g) in hags.insert.iter().chain(&hags.update) {
        let r = sync_ha_group(&mut b, groups.remove(name), g, &chassis);
        group_refs.insert(name.clone(), r);
    }
    for name in &hags.delete {
        if let Some((u, _)) = groups.remove(name) {
            b.delete::<sb::HaChassisGroup>(u);
        }
    }
    let mut pb_refs: HashMap<&String, Ref> = HashMap::new();
    for (name, pb) in pbs.insert.iter().chain(&pbs.update) {
        let dp = dp_ref(&pb.datapath)?;
        let group = match &pb.ha_chassis_group {
            Some(g) => Some(match group_refs.get(g) {
                Some(r) => r.clone(),
                None => Ref::Row(groups.get(g)?.0),
            }),
            None => None,
        };
        let mut desired = port_binding_row(pb, &dp, &chassis, group.as_ref());
        match one(&idx.pb, name)? {
            Some(u) => {
                let r = row_of(Pb::TABLE, &u)?;
                // Learned rows hang off (datapath, key): leave moves to the full diff.
                if col_opt!(r, Pb, COL_DATAPATH => datapath).map(Ref::Row) != Some(dp)
                    || col_opt!(r, Pb, COL_TUNNEL_KEY => tunnel_key) != Some(pb.tunnel_key as i64)
                {
                    return None;
                }
                b.update::<Pb>(u, r, desired);
                pb_refs.insert(name, Ref::Row(u));
            }
            None => {
                let n = b.fresh("pb");
                Pb::set_up(&mut desired, &Some(false));
                b.insert::<Pb>(desired, Some(n.clone()));
                pb_refs.insert(name, Ref::New(n));
            }
        }
    }
    for name in &pbs.delete {
        for u in idx.pb.get(name).into_iter().flatten() {
            let r = row_of(Pb::TABLE, u)?;
            let dp_key = col_opt!(r, Pb, COL_DATAPATH => datapath)
                .and_then(|d| row_of(Dp::TABLE, &d))
                .and_then(|d| col_opt!(d, Dp, COL_TUNNEL_KEY => tunnel_key));
            if let (Some(dk), Some(pk)) = (dp_key, col_opt!(r, Pb, COL_TUNNEL_KEY => tunnel_key)) {
                for f in idx.fdb.get(&(dk, pk)).into_iter().flatten() {
                    b.delete::<Fdb>(*f);
                }
            }
            b.delete::<Pb>(*u);
        }
        for m in idx.mb.get(name).into_iter().flatten() {
            b.delete::<Mb>(*m);
        }
    }

    // Multicast groups.
    let mgs = &d.multicast_groups;
    for ((dp_nb, name), mg) in mgs.insert.iter().chain(&mgs.update) {
        let dp = dp_ref(dp_nb)?;
        let existing = match &dp {
            Ref::Row(dp_u) => one(&idx.mg, &(*dp_u, name.clone()))?,
            Ref::New(_) => None,
        };
        let mut ports = Vec::new();
        for p in &mg.ports {
            if let Some(r) = pb_refs.get(p) {
                ports.push(r.clone());
            } else if let Some(u) = one(&idx.pb, p)? {
                ports.push(Ref::Row(u));
            } else if want.port_bindings.contains_key(p) {
                return None;
            }
        }
        let mut desired = Row::new();
        set_ref(&mut desired, Mg::COL_DATAPATH, &dp);
        Mg::set_name(&mut desired, &mg.name);
        Mg::set_tunnel_key(&mut desired, &(mg.tunnel_key as i64));
        set_refs(&mut desired, Mg::COL_PORTS, &ports);
        match existing {
            Some(u) => b.update::<Mg>(u, row_of(Mg::TABLE, &u)?, desired),
            None => b.insert::<Mg>(desired, None),
        }
    }
    for (dp_nb, name) in &mgs.delete {
        for dp in idx.dp.get(dp_nb).into_iter().flatten() {
            for u in idx.mg.get(&(*dp, name.clone())).into_iter().flatten() {
                b.delete::<Mg>(*u);
            }
        }
    }

    // Logical flows: each touched content goes to its one datapath, or to the one group
    // listing exactly its datapaths, chosen as `sb_sync::plan` would keep it: the group
    // flows already use for that set, else the group these flows leave if nothing else
    // uses it (updated in place), else a new one.
    let lfs = &d.logical_flows;
    let touched: BTreeSet<FlowContent> = lfs
        .insert
        .iter()
        .chain(&lfs.delete)
        .map(FlowContent::of)
        .collect();
    let mut items = Vec::new();
    // Touched rows in each group they are in now.
    let mut leaving: HashMap<Uuid, usize> = HashMap::new();
    for c in &touched {
        let mut want = BTreeSet::new();
        for nb in flows.0.get(c).into_iter().flatten() {
            want.insert(dp_ref(nb)?);
        }
        let row = one(&idx.lf, c)?;
        let place = match row {
            Some(u) => Some(placement(row_of(Lf::TABLE, &u)?)?),
            None => None,
        };
        if let Some(Placement::Group(Ref::Row(g))) = &place {
            *leaving.entry(*g).or_default() += 1;
        }
        items.push((c, row, place, want));
    }
    let mut group_for: HashMap<&BTreeSet<Ref>, Ref> = HashMap::new();
    let mut adopted: HashSet<Uuid> = HashSet::new();
    for (_, _, _, want) in &items {
        if want.len() < 2 || group_for.contains_key(want) {
            continue;
        }
        let rows: Option<BTreeSet<Uuid>> = want
            .iter()
            .map(|r| match r {
                Ref::Row(u) => Some(*u),
                Ref::New(_) => None,
            })
            .collect();
        let used: Vec<Uuid> = rows
            .as_ref()
            .and_then(|s| idx.grp_by_set.get(s))
            .into_iter()
            .flatten()
            .filter(|g| idx.lf_grp.contains_key(*g))
            .copied()
            .collect();
        match used.as_slice() {
            [g] if !adopted.contains(g) => {
                group_for.insert(want, Ref::Row(*g));
                continue;
            }
            [] => {}
            _ => return None,
        }
        let in_g =
            |g: &Uuid, p: &Option<Placement>| matches!(p, Some(Placement::Group(Ref::Row(x))) if x == g);
        let adopt = items
            .iter()
            .filter(|(_, _, _, w)| w == want)
            .find_map(|(_, _, p, _)| match p {
                Some(Placement::Group(Ref::Row(g))) => Some(*g),
                _ => None,
            })
            .filter(|g| {
                !adopted.contains(g)
                    && !group_for.values().any(|r| *r == Ref::Row(*g))
                    && leaving.get(g) == idx.lf_grp.get(g)
                    && !idx.lb_grp.contains_key(g)
                    && items.iter().all(|(_, _, p, w)| !in_g(g, p) || w == want)
            });
        let r = match adopt {
            Some(g) => {
                adopted.insert(g);
                b.update::<Grp>(g, row_of(Grp::TABLE, &g)?, group_row(want));
                Ref::Row(g)
            }
            None => {
                let n = b.fresh("grp");
                b.insert::<Grp>(group_row(want), Some(n.clone()));
                Ref::New(n)
            }
        };
        group_for.insert(want, r);
    }
    for (c, row, place, want) in &items {
        let target = match want.len() {
            0 => None,
            1 => want.iter().next().cloned().map(Placement::Single),
            _ => Some(Placement::Group(group_for.get(want)?.clone())),
        };
        match (target, row) {
            (None, None) => {}
            (None, Some(u)) => b.delete::<Lf>(*u),
            (Some(t), Some(_)) if place.as_ref() == Some(&t) => {}
            (Some(t), Some(u)) => {
                b.stats.updated += 1;
                b.ops.push(Operation::Update {
                    table: Lf::TABLE.into(),
                    conditions: vec![ovsdb::Condition::uuid(*u)],
                    row: t.columns(),
                });
            }
            (Some(t), None) => b.insert_flow((*c).clone(), t),
        }
    }

    // Load balancers (each with its own datapath group).
    let lbs = &d.load_balancers;
    for (id, lb) in lbs.insert.iter().chain(&lbs.update) {
        let mut set = BTreeSet::new();
        for dp in &lb.datapaths {
            set.insert(dp_ref(dp)?);
        }
        let mut desired = Row::new();
        Lb::set_name(&mut desired, &lb.name);
        Lb::set_vips(&mut desired, &lb.vips);
        Lb::set_protocol(&mut desired, &lb.protocol);
        Lb::set_options(&mut desired, &lb.options);
        Lb::set_external_ids(&mut desired, &lb.external_ids);
        let existing = one(&idx.lb, id)?;
        let existing = match existing {
            Some(u) => Some((u, row_of(Lb::TABLE, &u)?)),
            None => None,
        };
        let group_ok = existing
            .and_then(|(_, r)| col_opt!(r, Lb, COL_DATAPATH_GROUP => datapath_group).flatten())
            .is_some_and(|g| {
                row_of(Grp::TABLE, &g)
                    .and_then(|gr| col_opt!(gr, Grp, COL_DATAPATHS => datapaths))
                    .map(|d| d.into_iter().map(Ref::Row).collect::<BTreeSet<_>>())
                    .as_ref()
                    == Some(&set)
            });
        if !group_ok {
            let name = b.fresh("lbg");
            b.insert::<Grp>(group_row(&set), Some(name.clone()));
            set_ref(&mut desired, Lb::COL_DATAPATH_GROUP, &Ref::New(name));
        }
        match existing {
            Some((u, r)) => b.update::<Lb>(u, r, desired),
            None => b.insert::<Lb>(desired, None),
        }
    }
    for id in &lbs.delete {
        for u in idx.lb.get(id).into_iter().flatten() {
            b.delete::<Lb>(*u);
        }
    }

    // Address sets and port groups, by name.
    named::<sb::AddressSet>(&mut b, &d.address_sets, &idx.aset, |name, items| {
        let mut r = Row::new();
        sb::AddressSet::set_name(&mut r, name);
        sb::AddressSet::set_addresses(&mut r, items);
        r
    })?;
    named::<sb::PortGroup>(&mut b, &d.port_groups, &idx.pg, |name, items| {
        let mut r = Row::new();
        sb::PortGroup::set_name(&mut r, name);
        sb::PortGroup::set_ports(&mut r, items);
        r
    })?;
    Some(Plan {
        ops: b.ops,
        stats: b.stats,
    })
}

fn named<T: Table>(
    b: &mut Builder,
    d: &northd_core::diff::TableDiff<String, Vec<String>>,
    idx: &Keyed<String>,
    build: fn(&String, &Vec<String>) -> Row,
) -> Option<()> {
    for (name, items) in d.insert.iter().chain(&d.update) {
        let desired = build(name, items);
        match one(idx, name)? {
            Some(u) => {
                let r = b.table::<T>().get(&u)?;
                b.update::<T>(u, r, desired);
            }
            None => b.insert::<T>(desired, None),
        }
    }
    for name in &d.delete {
        for u in idx.get(name).into_iter().flatten() {
            b.delete::<T>(*u);
        }
    }
    Some(())
}

impl SbIndex {
    /// The `Port_Binding` row of a logical port, if exactly one.
    pub fn port_row(&self, name: &str) -> Option<Uuid> {
        match self.pb.get(name) {
            Some(s) if s.len() == 1 => s.iter().next().copied(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::{Condition, Datum};

    /// Inserts echo the UUID the server chose; updates and deletes by UUID echo that row
    /// when they matched it; anything else echoes nothing.
    #[test]
    fn echoes_follow_the_results() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let by_uuid = |u| vec![Condition::uuid(u)];
        let ops = vec![
            Operation::Assert { lock: "l".into() },
            Operation::Insert {
                table: "T".into(),
                row: Row::new(),
                uuid_name: None,
            },
            Operation::Update {
                table: "U".into(),
                conditions: by_uuid(a),
                row: Row::new(),
            },
            Operation::Delete {
                table: "D".into(),
                conditions: by_uuid(b),
            },
            Operation::Delete {
                table: "N".into(),
                conditions: vec![Condition::eq("name", Datum::string("x"))],
            },
            Operation::Deferred(std::sync::Arc::new(LateInsert)),
        ];
        let (new, late) = (Uuid::new_v4(), Uuid::new_v4());
        let res = [
            OpResult::default(),
            OpResult {
                uuid: Some(new),
                ..Default::default()
            },
            OpResult {
                count: Some(1),
                ..Default::default()
            },
            OpResult {
                count: Some(0),
                ..Default::default()
            },
            OpResult {
                count: Some(1),
                ..Default::default()
            },
            OpResult {
                uuid: Some(late),
                ..Default::default()
            },
        ];
        assert_eq!(
            echoes(echo_keys(&ops), &res),
            vec![
                ("T".to_string(), new),
                ("U".to_string(), a),
                ("W".to_string(), late)
            ]
        );
    }

    /// An insert written at send time (as `sb_sync::FlowInsert`): its echo is ours too.
    #[derive(Debug)]
    struct LateInsert;

    impl ovsdb::ops::WriteOp for LateInsert {
        fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
            out.extend_from_slice(br#"{"op":"insert","table":"W","row":{}}"#);
            Ok(())
        }

        fn inserts_into(&self) -> Option<&str> {
            Some("W")
        }
    }
}
