//! Incremental flow computation: keeps, across states, what every source
//! contributed and what it depended on, and recomputes only the sources whose
//! inputs changed. The result equals `compute::desired_flows` on the same
//! state (the tests check it over sequences of changes).
//!
//! Sources and what decides that one must be recomputed:
//! - head (defaults, tunnel ingress) and tail (multicast groups, MAC bindings,
//!   FDB, LB hairpin): recomputed every pass (a few hundred flows), replaced
//!   only if different;
//! - one port of a local datapath: its row (by pointer, then content) and the
//!   [`PortInputs`] answers, checked every pass (one cheap check per port);
//! - one (logical flow, datapath): looked at only when something it may depend
//!   on changed: its row, the datapath becoming local or not, the datapath's
//!   ports or multicast groups (a digest per datapath of everything the
//!   datapath-scoped lookups read), or a name it looked up globally (address
//!   set, port group, chassis residency; indexed by name). Looked at, it is
//!   kept if every lookup answer it recorded ([`Dep`]) still holds, and
//!   recompiled otherwise. conj_id ranges depend on the order of all flows
//!   using them: the few pairs with conjunctions are walked in order after
//!   each change among them and recompiled where a from-scratch pass would
//!   choose another range.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use lflow::{FxHashMap, FxHasher};
use openflow::{Field, GroupMod, PackedFlow};

use super::compute::Stats;
use super::flow_set::{Contribution, FlowSet, Source, pack};
use super::flow_table::{Diff, Flow};
use super::lflows::{ConjIds, Dep, GroupIds, Names, compile_unit, lflow_datapaths};
use super::local::Topology;
use super::physical::{PortInputs, head_flows, local_port_flows, tail_flows};
use super::state::{LocalState, LogicalFlow, PortBinding};
use super::tables::tun_metadata;

struct PortEntry {
    pb: Arc<PortBinding>,
    inputs: PortInputs,
    flows: Arc<Contribution>,
}

/// One (logical flow, local datapath) pair: tens of thousands are held, so
/// the row itself is not (its `LflowState` has it) and the lists are exact.
struct LflowEntry {
    dp: u32,
    is_switch: bool,
    deps: Box<[Dep]>,
    groups: Box<[(u32, lflow::of::Group)]>,
    attempt: u32,
    conj_ids_used: u32,
    /// `None`: the pair failed to compile.
    flows: Option<Arc<Contribution>>,
}

impl LflowEntry {
    /// Whether compiling again would give the same result (conj_id ranges
    /// aside, see [`Engine::settle_conj_ids`]).
    /// `same_row`: the logical flow is the one it was compiled from.
    fn still_valid(&self, same_row: bool, names: &Names<'_, '_>, groups: &mut GroupIds) -> bool {
        let dp = self.dp;
        same_row
            && self.is_switch == names.is_switch(dp)
            && self.deps.iter().all(|d| names.holds(dp, d))
            // Last: asking allocates (always the same id for a group that
            // is held, as this entry's are).
            && self.groups.iter().all(|(id, g)| groups.get(g) == *id)
    }

    /// Keys of `by_name` for the global lookups this entry made.
    fn global_names(&self) -> impl Iterator<Item = String> + '_ {
        self.deps.iter().filter_map(|d| match d {
            Dep::AddressSet(n, _) => Some(format!("as:{n}")),
            Dep::PortGroup(n, _) => Some(format!("pg:{n}")),
            Dep::Resident(n, _) => Some(format!("res:{n}")),
            Dep::PortKey(..) | Dep::LocalPort(..) => None,
        })
    }
}

/// What the logical-flow side saw in the last pass, to find what changed.
#[derive(Default)]
struct Seen {
    /// Sorted by UUID.
    lflows: Vec<Arc<LogicalFlow>>,
    local_dps: BTreeSet<u32>,
    /// Per local datapath, a digest of what datapath-scoped lookups read.
    dp_digest: FxHashMap<u32, u64>,
    /// Ports `is_chassis_resident` is true for.
    resident: BTreeSet<String>,
    address_sets: BTreeMap<String, Arc<BTreeSet<String>>>,
    port_groups: BTreeMap<String, Arc<BTreeSet<String>>>,
}

/// Per local datapath: its kind, and for its ports and multicast groups
/// everything `port_key` and `is_local_port` read.
fn dp_digests(topo: &Topology<'_>, names: &Names<'_, '_>) -> FxHashMap<u32, u64> {
    let mut hashers: FxHashMap<u32, FxHasher> = topo
        .local_datapaths
        .iter()
        .map(|dp| {
            let mut h = FxHasher::default();
            names.is_switch(*dp).hash(&mut h);
            (*dp, h)
        })
        .collect();
    for pb in &topo.state.port_bindings {
        if let Some(h) = hashers.get_mut(&pb.datapath) {
            (
                &pb.logical_port,
                pb.tunnel_key,
                &pb.port_type,
                topo.is_local_vif(pb),
            )
                .hash(h);
        }
    }
    for mc in &topo.state.multicast_groups {
        if let Some(h) = hashers.get_mut(&mc.datapath) {
            (&mc.name, mc.tunnel_key).hash(h);
        }
    }
    hashers.into_iter().map(|(dp, h)| (dp, h.finish())).collect()
}

/// Names whose entry differs between `a` and `b` (added, removed or changed).
fn changed_keys<'m, V: PartialEq>(a: &'m BTreeMap<String, V>, b: &'m BTreeMap<String, V>) -> Vec<&'m str> {
    let mut out: Vec<&str> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k.as_str())
        .collect();
    out.extend(b.keys().filter(|k| !a.contains_key(*k)).map(String::as_str));
    out
}

/// The datapaths of a logical flow to look at: all (`None`) or some.
type Which = Option<BTreeSet<u32>>;

/// The logical flows to look at in a pass, with their rows (`None`: gone).
type Dirty<'s> = BTreeMap<&'s str, (Option<&'s Arc<LogicalFlow>>, Which)>;

/// One logical flow's entries (one per local datapath, ascending).
struct LflowState {
    lf: Arc<LogicalFlow>,
    entries: Vec<LflowEntry>,
}

/// The incremental computation's memory, and the desired/installed flows.
#[derive(Default)]
pub struct Engine {
    set: FlowSet,
    head: Option<Arc<Contribution>>,
    tail: Option<Arc<Contribution>>,
    /// By port binding UUID.
    ports: FxHashMap<String, PortEntry>,
    /// By logical flow UUID. The key is the one copy of that UUID the engine
    /// holds: the indexes below and the flows' sources share it (a copy per
    /// datapath and index cost ~5 MB with 500 local ports).
    lflows: FxHashMap<Arc<str>, LflowState>,
    /// Datapath → the logical flows that list it.
    by_dp: FxHashMap<u32, BTreeSet<Arc<str>>>,
    /// `as:`/`pg:`/`res:` name → the logical flows that looked it up.
    by_name: FxHashMap<String, BTreeSet<Arc<str>>>,
    /// (logical flow, datapath) pairs that use conj_ids, in from-scratch order.
    conj: BTreeSet<(Arc<str>, u32)>,
    /// A pair in `conj` was added, removed or recompiled.
    conj_changed: bool,
    compiled: usize,
    failed: usize,
    seen: Seen,
    groups: GroupIds,
    compiler: Cache,
}

/// Entries per generation of the engine's compile cache.
const CACHE_CAPACITY: usize = 1024;

/// The engine's compile cache, small: the engine keeps each pair's flows
/// itself and recompiles a pair only when a lookup answer changed (where the
/// cache would miss anyway), so what the cache saves is compiling a row again
/// for each of its datapaths, which come one after the other. Medium
/// topology, 500 local ports: the same 17 564 hits as with lflow's default
/// 32 768 entries, which held one entry per Logical_Flow row (~35 MB).
struct Cache(lflow::Compiler);

impl Default for Cache {
    fn default() -> Cache {
        Cache(lflow::Compiler::with_capacity(CACHE_CAPACITY))
    }
}

impl Engine {
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Brings the desired flows up to `state`. Returns the counters of the
    /// result.
    pub fn update(&mut self, state: &LocalState, tun_index: u8) -> Stats {
        let topo = Topology::new(state);
        let tunmd = tun_metadata(tun_index);
        let mut physical = 0;

        let mut v = Vec::new();
        head_flows(&topo, tunmd, &mut v);
        physical += v.len();
        self.head = self.whole(self.head.clone(), Source::Head, v);
        physical += self.update_ports(&topo, tunmd);
        let mut v = Vec::new();
        tail_flows(&topo, tunmd, &mut v);
        physical += v.len();
        self.tail = self.whole(self.tail.clone(), Source::Tail, v);

        let (compiled, failed) = self.update_lflows(&topo);
        Stats {
            local_datapaths: topo.local_datapaths.len(),
            physical_flows: physical,
            logical_flows_compiled: compiled,
            logical_flows_failed: failed,
            flows: self.set.len(),
            groups: self.set.group_count(),
            conflicts: self.set.conflicts(),
        }
    }

    /// A source recomputed whole: replaced only when its flows differ.
    fn whole(
        &mut self,
        old: Option<Arc<Contribution>>,
        source: Source,
        flows: Vec<Flow>,
    ) -> Option<Arc<Contribution>> {
        let flows = pack(&source, &flows);
        if let Some(o) = &old
            && *o.flows == *flows
        {
            return old;
        }
        let new = Contribution::packed(source, flows, Vec::new());
        self.set.replace(old.as_ref(), Some(&new));
        Some(new)
    }

    fn update_ports(&mut self, topo: &Topology<'_>, tunmd: Field) -> usize {
        let mut flows = 0;
        let mut next = FxHashMap::default();
        next.reserve(self.ports.len());
        for pb in &topo.state.port_bindings {
            if !topo.local_datapaths.contains(&pb.datapath) {
                continue;
            }
            let inputs = PortInputs::new(topo, pb, tunmd);
            let (key, old) = match self.ports.remove_entry(&pb.uuid) {
                Some((k, e)) => (k, Some(e)),
                None => (pb.uuid.clone(), None),
            };
            let entry = match old {
                Some(e) if (Arc::ptr_eq(&e.pb, pb) || e.pb == *pb) && e.inputs == inputs => e,
                old => {
                    let mut v = Vec::new();
                    local_port_flows(topo, pb, tunmd, &mut v);
                    let c = Contribution::new(
                        Source::Port(Box::new((pb.logical_port.clone(), pb.uuid.clone()))),
                        v,
                        Vec::new(),
                    );
                    self.set.replace(old.as_ref().map(|e| &e.flows), Some(&c));
                    PortEntry {
                        pb: pb.clone(),
                        inputs,
                        flows: c,
                    }
                }
            };
            flows += entry.flows.flows.len();
            if let Some(dup) = next.insert(key, entry) {
                self.set.remove(&dup.flows);
            }
        }
        for (_, gone) in self.ports.drain() {
            self.set.remove(&gone.flows);
        }
        self.ports = next;
        flows
    }

    /// Returns the (logical flow, datapath) pairs compiled and failed.
    fn update_lflows(&mut self, topo: &Topology<'_>) -> (usize, usize) {
        let names = Names::new(topo);
        let state = topo.state;
        let mut list: Vec<&Arc<LogicalFlow>> = state.logical_flows.iter().collect();
        if !list.is_sorted_by(|a, b| a.uuid <= b.uuid) {
            list.sort_by(|a, b| a.uuid.cmp(&b.uuid));
        }
        let seen = std::mem::take(&mut self.seen);
        let mut dirty: Dirty<'_> = BTreeMap::new();

        // Rows added, changed or removed (both lists sorted by UUID).
        let (mut i, mut j) = (0, 0);
        while i < seen.lflows.len() || j < list.len() {
            let old = seen.lflows.get(i);
            let new = list.get(j).copied();
            match (old, new) {
                (Some(o), Some(n)) if o.uuid == n.uuid => {
                    if !(Arc::ptr_eq(o, n) || o == n) {
                        dirty.insert(&n.uuid, (Some(n), None));
                    }
                    i += 1;
                    j += 1;
                }
                (Some(o), Some(n)) if o.uuid < n.uuid => {
                    dirty.insert(&o.uuid, (None, None));
                    i += 1;
                }
                (Some(o), None) => {
                    dirty.insert(&o.uuid, (None, None));
                    i += 1;
                }
                (_, Some(n)) => {
                    // A duplicate UUID keeps the first row, as `lflows` does.
                    dirty.entry(&n.uuid).or_insert((Some(n), None));
                    j += 1;
                }
                (None, None) => break,
            }
        }

        // Datapaths that became local or not, or whose ports changed.
        let digests = dp_digests(topo, &names);
        let mut dps: BTreeSet<u32> = seen
            .local_dps
            .symmetric_difference(&topo.local_datapaths)
            .copied()
            .collect();
        dps.extend(
            digests
                .iter()
                .filter(|(dp, d)| seen.dp_digest.get(dp) != Some(d))
                .map(|(dp, _)| *dp),
        );
        for dp in &dps {
            for uuid in self.by_dp.get(dp).into_iter().flatten() {
                if let Some(st) = self.lflows.get(uuid) {
                    let (_, which) = dirty
                        .entry(&st.lf.uuid)
                        .or_insert((Some(&st.lf), Some(BTreeSet::new())));
                    if let Some(set) = which {
                        set.insert(*dp);
                    }
                }
            }
        }

        // Global names whose answers changed.
        let resident: BTreeSet<String> = state
            .port_bindings
            .iter()
            .filter(|pb| names.is_chassis_resident(&pb.logical_port))
            .map(|pb| pb.logical_port.clone())
            .collect();
        let mut global: Vec<String> = seen
            .resident
            .symmetric_difference(&resident)
            .map(|n| format!("res:{n}"))
            .collect();
        global.extend(
            changed_keys(&seen.address_sets, &state.address_sets)
                .into_iter()
                .map(|n| format!("as:{n}")),
        );
        for k in changed_keys(&seen.port_groups, &state.port_groups) {
            // Looked up as `<datapath key>_<name>`, then `<name>`.
            if let Some((dp, name)) = k.split_once('_')
                && dp.parse::<u32>().is_ok()
            {
                global.push(format!("pg:{name}"));
            }
            global.push(format!("pg:{k}"));
        }
        for name in &global {
            for uuid in self.by_name.get(name).into_iter().flatten() {
                if let Some(st) = self.lflows.get(uuid) {
                    // Never replaces a changed or removed row.
                    dirty
                        .entry(&st.lf.uuid)
                        .and_modify(|(_, which)| *which = None)
                        .or_insert((Some(&st.lf), None));
                }
            }
        }

        // The pass proper, in from-scratch order. The dirty map borrows rows
        // from the state or from entries about to be replaced: own them first.
        let work: Vec<(Arc<str>, Option<Arc<LogicalFlow>>, Which)> = dirty
            .into_iter()
            .map(|(u, (lf, which))| {
                // The row's own UUID when there is a row; else the key it was
                // held under.
                let id = match (lf, self.lflows.get_key_value(u)) {
                    (Some(lf), _) => lf.uuid.clone(),
                    (None, Some((k, _))) => k.clone(),
                    (None, None) => Arc::from(u),
                };
                (id, lf.cloned(), which)
            })
            .collect();
        for (id, lf, which) in work {
            self.update_lflow(id, lf, which, topo, &names);
        }
        if std::mem::take(&mut self.conj_changed) {
            self.settle_conj_ids(&names);
        }
        self.groups.end_round();
        self.seen = Seen {
            lflows: list.into_iter().cloned().collect(),
            local_dps: topo.local_datapaths.clone(),
            dp_digest: digests,
            resident,
            address_sets: state.address_sets.clone(),
            port_groups: state.port_groups.clone(),
        };
        (self.compiled, self.failed)
    }

    /// Brings one logical flow's entries up to date: on every local datapath
    /// it lists (`which`: `None`), or on some (its row unchanged).
    fn update_lflow(
        &mut self,
        uuid: Arc<str>,
        lf: Option<Arc<LogicalFlow>>,
        which: Which,
        topo: &Topology<'_>,
        names: &Names<'_, '_>,
    ) {
        let old = self.lflows.remove(&uuid);
        if let Some(st) = &old {
            self.unindex(&uuid, st, which.is_none());
        }
        let Some(lf) = lf else {
            for e in old.into_iter().flat_map(|st| st.entries) {
                self.forget(&uuid, e);
            }
            return;
        };
        let same = old
            .as_ref()
            .is_some_and(|st| Arc::ptr_eq(&st.lf, &lf) || st.lf == lf);
        let mut old_entries = old.map(|st| st.entries).unwrap_or_default();
        let mut entries = Vec::new();
        match &which {
            None => {
                let mut prev = old_entries.into_iter().peekable();
                for dp in lflow_datapaths(&lf) {
                    if !topo.local_datapaths.contains(&dp) {
                        continue;
                    }
                    while let Some(e) = prev.next_if(|e| e.dp < dp) {
                        self.forget(&uuid, e);
                    }
                    let e = prev.next_if(|e| e.dp == dp);
                    entries.push(self.entry(&uuid, &lf, dp, e, same, names));
                }
                for e in prev {
                    self.forget(&uuid, e);
                }
            }
            Some(dps) => {
                for &dp in dps {
                    let at = old_entries.binary_search_by_key(&dp, |e| e.dp);
                    let listed = lf.datapaths.contains(&dp) && topo.local_datapaths.contains(&dp);
                    match (at, listed) {
                        (Ok(i), true) => {
                            let e = old_entries.remove(i);
                            let e = self.entry(&uuid, &lf, dp, Some(e), same, names);
                            old_entries.insert(i, e);
                        }
                        (Ok(i), false) => {
                            let e = old_entries.remove(i);
                            self.forget(&uuid, e);
                        }
                        (Err(i), true) => {
                            let e = self.entry(&uuid, &lf, dp, None, same, names);
                            old_entries.insert(i, e);
                        }
                        (Err(_), false) => {}
                    }
                }
                entries = old_entries;
            }
        }
        // Kept until the row changes: no growth slack (one entry per local
        // datapath of every logical flow).
        entries.shrink_to_fit();
        let st = LflowState { lf, entries };
        self.index(&uuid, &st, which.is_none());
        self.lflows.insert(uuid, st);
    }

    /// `prev` if still valid, else a fresh compilation (conj_id range chosen
    /// as if first: [`Engine::settle_conj_ids`] corrects it).
    fn entry(
        &mut self,
        uuid: &Arc<str>,
        lf: &Arc<LogicalFlow>,
        dp: u32,
        prev: Option<LflowEntry>,
        same_row: bool,
        names: &Names<'_, '_>,
    ) -> LflowEntry {
        if let Some(e) = prev {
            if e.still_valid(same_row, names, &mut self.groups) {
                return e;
            }
            self.forget(uuid, e);
        }
        self.compile(uuid, lf, dp, names, &ConjIds::default())
    }

    /// Compiles `lf` on `dp` into a new entry, added.
    fn compile(
        &mut self,
        uuid: &Arc<str>,
        lf: &Arc<LogicalFlow>,
        dp: u32,
        names: &Names<'_, '_>,
        conj: &ConjIds,
    ) -> LflowEntry {
        let unit = compile_unit(&mut self.compiler.0, names, lf, dp, &mut self.groups, conj);
        let flows = unit
            .output
            .map(|(flows, groups)| Contribution::new(Source::Lflow(uuid.clone(), dp), flows, groups));
        let e = LflowEntry {
            dp,
            is_switch: names.is_switch(dp),
            deps: unit.deps.into_boxed_slice(),
            groups: unit.groups.into_boxed_slice(),
            attempt: unit.attempt,
            conj_ids_used: unit.conj_ids_used,
            flows,
        };
        self.add(uuid, &e);
        e
    }

    /// Counts, installs and holds what a new entry brings.
    fn add(&mut self, uuid: &Arc<str>, e: &LflowEntry) {
        match &e.flows {
            Some(c) => {
                self.set.add(c);
                self.compiled += 1;
            }
            None => self.failed += 1,
        }
        self.groups.hold(&e.groups);
        if e.conj_ids_used > 0 {
            self.conj.insert((uuid.clone(), e.dp));
            self.conj_changed = true;
        }
    }

    /// Undoes [`Engine::add`].
    fn forget(&mut self, uuid: &Arc<str>, e: LflowEntry) {
        match &e.flows {
            Some(c) => {
                self.set.remove(c);
                self.compiled -= 1;
            }
            None => self.failed -= 1,
        }
        self.groups.release(&e.groups);
        if e.conj_ids_used > 0 {
            self.conj.remove(&(uuid.clone(), e.dp));
            self.conj_changed = true;
        }
    }

    /// Indexes a logical flow by the datapaths it lists (`dps`) and the
    /// global names its entries looked up.
    fn index(&mut self, uuid: &Arc<str>, st: &LflowState, dps: bool) {
        if dps {
            for dp in &st.lf.datapaths {
                self.by_dp.entry(*dp).or_default().insert(uuid.clone());
            }
        }
        for name in st.entries.iter().flat_map(LflowEntry::global_names) {
            self.by_name.entry(name).or_default().insert(uuid.clone());
        }
    }

    /// Undoes [`Engine::index`].
    fn unindex(&mut self, uuid: &str, st: &LflowState, dps: bool) {
        if dps {
            for dp in &st.lf.datapaths {
                if let Some(set) = self.by_dp.get_mut(dp) {
                    set.remove(uuid);
                    if set.is_empty() {
                        self.by_dp.remove(dp);
                    }
                }
            }
        }
        for name in st.entries.iter().flat_map(LflowEntry::global_names) {
            if let Some(set) = self.by_name.get_mut(&name) {
                set.remove(uuid);
                if set.is_empty() {
                    self.by_name.remove(&name);
                }
            }
        }
    }

    /// Gives every pair that uses conj_ids the range a from-scratch pass
    /// would: walks them in order, recompiling those whose range moved.
    fn settle_conj_ids(&mut self, names: &Names<'_, '_>) {
        let mut conj = ConjIds::default();
        let pairs: Vec<(Arc<str>, u32)> = self.conj.iter().cloned().collect();
        for (uuid, dp) in pairs {
            let Some(st) = self.lflows.get_mut(&uuid) else {
                continue;
            };
            let Ok(i) = st.entries.binary_search_by_key(&dp, |e| e.dp) else {
                continue;
            };
            let e = &st.entries[i];
            if conj.attempt_for(&uuid, dp, e.conj_ids_used) != e.attempt {
                let lf = st.lf.clone();
                let old = st.entries.remove(i);
                self.forget(&uuid, old);
                let e = self.compile(&uuid, &lf, dp, names, &conj);
                if let Some(st) = self.lflows.get_mut(&uuid) {
                    st.entries.insert(i, e);
                }
            }
            if let Some(e) = self.lflows.get(&uuid).and_then(|st| st.entries.get(i))
                && e.flows.is_some()
            {
                conj.take(ConjIds::candidate(&uuid, dp, e.attempt), e.conj_ids_used);
            }
        }
        self.conj_changed = false;
    }

    /// The messages that bring the switch to the desired flows (only keys
    /// changed since the last call are looked at); the switch then counts as
    /// having them.
    pub fn diff(&mut self) -> Diff {
        self.set.diff()
    }

    /// The switch's flows are unknown (it is emptied first): the next diff
    /// adds everything.
    pub fn forget_installed(&mut self) {
        self.set.forget_installed();
    }

    /// The switch has `flows` and `groups` (read back from it).
    pub fn set_installed(&mut self, flows: Vec<PackedFlow>, groups: Vec<GroupMod>) {
        self.set.set_installed(flows, groups);
    }

    /// The desired flows, in send order, and groups (tests and checks).
    pub fn desired(&self) -> (Vec<PackedFlow>, Vec<GroupMod>) {
        self.set.desired()
    }

    /// A copy of the group id allocator (so a from-scratch computation can be
    /// compared with the next pass).
    pub fn group_ids(&self) -> GroupIds {
        self.groups.clone()
    }

    /// Number of desired flows.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    pub fn group_count(&self) -> usize {
        self.set.group_count()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    use openflow::{GroupModCommand, Match};

    use super::*;
    use crate::of::compute::desired_flows;
    use crate::of::flow_set::packed_table;
    use crate::of::local::tests::{port, sample};
    use crate::of::state::{MacBinding, Pipeline};

    /// A small deterministic generator (no dependency, same sequence every run).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn lflow(n: u32, dps: &[u32], table: u8, prio: u16, m: &str, a: &str) -> Arc<LogicalFlow> {
        Arc::new(LogicalFlow {
            uuid: format!("{n:08x}-0000-4000-8000-000000000000").into(),
            datapaths: dps.to_vec(),
            pipeline: if table.is_multiple_of(2) {
                Pipeline::Ingress
            } else {
                Pipeline::Egress
            },
            table_id: table,
            priority: prio,
            match_: m.into(),
            actions: a.into(),
        })
    }

    /// Logical flows exercising every kind of lookup: ports, multicast groups,
    /// address sets (conjunctions), port groups, residency, local-port
    /// filtering, LB groups, and flows shared by several datapaths.
    const LFLOWS: &[(&[u32], u8, u16, &str, &str)] = &[
        (&[1, 3], 0, 50, "1", "next;"),
        (&[1], 2, 50, "inport == \"vm1\"", "next;"),
        (&[1], 2, 50, "inport == \"vm2\" && arp", "next;"),
        (&[1, 3], 4, 60, "inport == @pg1 && ip4", "drop;"),
        (&[1], 6, 1001, "ip4.src == $as1 && tcp.dst == {80, 443}", "next;"),
        (&[1], 6, 1002, "ip4.src == $as1 && tcp.dst == {22, 23}", "drop;"),
        (
            &[1, 3],
            8,
            50,
            "eth.dst == 50:54:00:00:00:02",
            "outport = \"vm2\"; output;",
        ),
        (&[1], 8, 70, "eth.mcast", "outport = \"_MC_flood\"; output;"),
        (&[2], 10, 50, "is_chassis_resident(\"vm1\")", "next;"),
        (&[2], 10, 40, "is_chassis_resident(\"vm3\")", "drop;"),
        (
            &[1],
            12,
            120,
            "ct.new && ip4.dst == 10.0.1.100 && tcp.dst == 80",
            "reg0[1] = 0; ct_lb_mark(backends=10.0.1.11:8080,10.0.2.14:8080);",
        ),
        (&[1], 14, 10, "((", "next;"),
        (&[3], 16, 30, "outport == \"vm3\"", "output;"),
        (&[1, 2, 3, 9], 18, 0, "1", "drop;"),
    ];

    fn base() -> LocalState {
        let mut s = sample();
        s.logical_flows = LFLOWS
            .iter()
            .enumerate()
            .map(|(i, (dps, t, p, m, a))| lflow(i as u32 + 1, dps, *t, *p, m, a))
            .collect();
        s.address_sets.insert(
            "as1".into(),
            Arc::new(["10.0.0.1".into(), "10.0.0.2".into()].into()),
        );
        s.port_groups
            .insert("1_pg1".into(), Arc::new(["vm1".into(), "vm2".into()].into()));
        s.mac_bindings.push(MacBinding {
            logical_port: "lr1-ls1".into(),
            ip: "10.0.1.50".into(),
            mac: "50:54:00:00:00:50".into(),
            datapath: 2,
            priority: MacBinding::LEARNED,
        });
        s.tunnel_ofports.insert("hv3".into(), 6);
        s.chassis.insert("hv3".into(), s.chassis["hv2"].clone());
        sort(&mut s);
        s
    }

    /// The order `local::StateBuilder::build` produces.
    fn sort(s: &mut LocalState) {
        s.port_bindings
            .sort_by(|a, b| (&a.logical_port, &a.uuid).cmp(&(&b.logical_port, &b.uuid)));
        s.logical_flows.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    }

    /// One random change of the kind a controller sees.
    fn mutate(s: &mut LocalState, rng: &mut Rng, n: &mut u32) {
        let pick = |s: &LocalState, rng: &mut Rng| rng.below(s.port_bindings.len().max(1));
        match rng.below(14) {
            // A new VIF on a local or remote datapath, plugged here or bound elsewhere.
            0 | 1 => {
                *n += 1;
                let dp = [1, 3, 9][rng.below(3)];
                let name = format!("new{n}");
                let mut p = port(&name, dp, 100 + *n, "");
                p.mac = vec![format!("50:54:00:00:01:{:02x} 10.0.{dp}.{}", *n % 256, *n % 250)];
                p.port_security = p.mac.clone();
                if rng.below(2) == 0 {
                    p.chassis = Some("hv1".into());
                    s.vif_ofports.insert(name.clone(), 10 + *n);
                    s.ct_zones.insert(name, 10 + *n as u16);
                } else {
                    p.chassis = Some(["hv2", "hv3"][rng.below(2)].into());
                }
                s.port_bindings.push(Arc::new(p));
                if let Some(mc) = s.multicast_groups.iter_mut().find(|m| m.datapath == dp) {
                    mc.ports.push(format!("new{n}"));
                }
            }
            // A port goes away.
            2 => {
                if s.port_bindings.len() > 4 {
                    let i = pick(s, rng);
                    let gone = s.port_bindings.remove(i);
                    s.vif_ofports.remove(&gone.logical_port);
                }
            }
            // Migration: bound to another chassis (or back here).
            3 | 4 => {
                let i = pick(s, rng);
                let ch = ["hv1", "hv2", "hv3"][rng.below(3)];
                Arc::make_mut(&mut s.port_bindings[i]).chassis = Some(ch.into());
            }
            // Plugged or unplugged here.
            5 => {
                let i = pick(s, rng);
                let name = s.port_bindings[i].logical_port.clone();
                if s.vif_ofports.remove(&name).is_none() {
                    s.vif_ofports.insert(name, 40 + rng.below(20) as u32);
                }
            }
            // A logical flow added, removed, or moved to other datapaths.
            6 => {
                *n += 1;
                let (dps, t, p, m, a) = LFLOWS[rng.below(LFLOWS.len())];
                let mut f = lflow(1000 + *n, dps, t, p, m, a);
                if rng.below(2) == 0 {
                    // Same cookie (UUID prefix) as the conjunctive flows 5 and
                    // 6: the conj_id ranges collide, and which flow gets which
                    // depends on the UUID order.
                    let f = Arc::make_mut(&mut f);
                    f.uuid = format!("0000000{}-0000-4000-8000-{:012x}", 5 + rng.below(2), *n).into();
                    f.match_ = format!("ip4.src == $as1 && tcp.dst == {{{}, 8080}}", 1 + rng.below(3)).into();
                    f.datapaths = vec![1];
                }
                s.logical_flows.push(f);
            }
            7 => {
                if !s.logical_flows.is_empty() {
                    let i = rng.below(s.logical_flows.len());
                    if rng.below(2) == 0 {
                        s.logical_flows.remove(i);
                    } else {
                        let dps = [vec![1], vec![3], vec![1, 3], vec![2, 9]][rng.below(4)].clone();
                        Arc::make_mut(&mut s.logical_flows[i]).datapaths = dps;
                    }
                }
            }
            // Address set and port group membership.
            8 => {
                let mut set: BTreeSet<String> = (*s.address_sets["as1"]).clone();
                let a = format!("10.0.0.{}", rng.below(6));
                if !set.remove(&a) {
                    set.insert(a);
                }
                s.address_sets.insert("as1".into(), Arc::new(set));
            }
            9 => {
                let mut set: BTreeSet<String> = s
                    .port_groups
                    .get("1_pg1")
                    .map(|p| (**p).clone())
                    .unwrap_or_default();
                let i = pick(s, rng);
                let p = s.port_bindings[i].logical_port.clone();
                if !set.remove(&p) {
                    set.insert(p);
                }
                s.port_groups.insert("1_pg1".into(), Arc::new(set));
            }
            // Tunnels, zones, MAC bindings.
            10 => {
                let ch = ["hv2", "hv3"][rng.below(2)];
                if s.tunnel_ofports.remove(ch).is_none() {
                    s.tunnel_ofports.insert(ch.into(), 5 + rng.below(3) as u32);
                }
            }
            11 => {
                let i = pick(s, rng);
                let name = s.port_bindings[i].logical_port.clone();
                s.ct_zones.insert(name, rng.below(30) as u16);
            }
            12 => {
                if s.mac_bindings.len() < 3 {
                    s.mac_bindings.push(MacBinding {
                        logical_port: "lr1-ls2".into(),
                        ip: format!("10.0.2.{}", rng.below(200)),
                        mac: "50:54:00:00:00:51".into(),
                        datapath: 2,
                        priority: MacBinding::LEARNED,
                    });
                } else {
                    s.mac_bindings.clear();
                }
            }
            // The same rows rebuilt (equal content, new pointers).
            _ => {
                s.port_bindings = s.port_bindings.iter().map(|p| Arc::new((**p).clone())).collect();
                s.logical_flows = s.logical_flows.iter().map(|l| Arc::new((**l).clone())).collect();
            }
        }
        sort(s);
    }

    /// What OpenFlow identifies a flow by: table, priority, match bytes.
    type Key = (u8, u16, Vec<u8>);

    fn key(f: &PackedFlow) -> Key {
        (f.table_id(), f.priority(), f.match_wire().to_vec())
    }

    /// A switch: applies diffs.
    #[derive(Default)]
    struct Switch {
        flows: HashMap<Key, PackedFlow>,
        groups: BTreeMap<u32, String>,
    }

    impl Switch {
        fn apply(&mut self, d: Diff) {
            for g in d.group_adds.iter().chain(&d.group_dels) {
                match g.command {
                    GroupModCommand::Delete => assert!(self.groups.remove(&g.group_id).is_some()),
                    GroupModCommand::Add => assert!(self.groups.insert(g.group_id, g.to_string()).is_none()),
                    _ => assert!(self.groups.insert(g.group_id, add_text(g)).is_some()),
                }
            }
            for f in d.flow_adds {
                assert!(self.flows.insert(key(&f), f).is_none());
            }
            for f in d.flow_mods {
                assert!(self.flows.insert(key(&f), f).is_some());
            }
            for f in d.flow_dels {
                assert!(f.instructions_wire().is_empty() && f.cookie() == 0);
                assert!(self.flows.remove(&key(&f)).is_some());
            }
        }

        fn matches(&self, (flows, groups): &(Vec<PackedFlow>, Vec<GroupMod>)) -> bool {
            let flows: HashMap<Key, PackedFlow> = flows.iter().map(|f| (key(f), f.clone())).collect();
            let groups: BTreeMap<u32, String> = groups.iter().map(|g| (g.group_id, g.to_string())).collect();
            flows == self.flows && groups == self.groups
        }
    }

    fn add_text(g: &openflow::GroupMod) -> String {
        let mut g = g.clone();
        g.command = GroupModCommand::Add;
        g.to_string()
    }

    /// After every change, the incrementally maintained table equals a
    /// from-scratch computation of the same state, the diffs applied to a
    /// switch give exactly that table, and an unchanged state sends nothing.
    #[test]
    fn incremental_equals_from_scratch() {
        let mut rng = Rng(7);
        let mut s = base();
        let mut e = Engine::new();
        let mut sw = Switch::default();
        let mut n = 0;
        let mut changed = 0;
        for step in 0..400 {
            let tun = if step % 97 == 96 { 2 } else { 1 };
            let mut ids = e.group_ids();
            let stats = e.update(&s, tun);
            let (scratch, scratch_stats) = desired_flows(&s, tun, &mut ids);
            let mine = e.desired();
            let want = packed_table(&scratch);
            assert!(mine == want, "step {step}: tables differ");
            assert_eq!(stats.flows, scratch.len(), "step {step}");
            assert_eq!(stats.groups, scratch.group_count(), "step {step}");
            assert_eq!(
                (stats.logical_flows_compiled, stats.logical_flows_failed),
                (
                    scratch_stats.logical_flows_compiled,
                    scratch_stats.logical_flows_failed
                ),
                "step {step}"
            );
            let d = e.diff();
            changed += usize::from(!d.is_empty());
            sw.apply(d);
            assert!(sw.matches(&want), "step {step}: switch differs");
            // Nothing changed: no pass recompiles, no message.
            e.update(&s, tun);
            assert!(e.diff().is_empty(), "step {step}: churn without a change");
            mutate(&mut s, &mut rng, &mut n);
        }
        assert!(changed > 150, "the changes must change flows ({changed})");
    }

    /// The bundles ofctrl sends for a fixed sequence of states (random
    /// changes, one full reinstall), byte for byte as recorded in
    /// `testdata/bundles.golden` before flows were stored packed. Flow mods
    /// with the same command, table and priority may come in any order (the
    /// switch applies them independently), so each such run is sorted.
    #[test]
    fn sends_the_recorded_bytes() {
        let mut rng = Rng(11);
        let mut s = base();
        let mut e = Engine::new();
        let mut n = 0;
        let mut out = String::new();
        for step in 0..24 {
            e.update(&s, 1);
            let full = step == 12;
            if full {
                e.forget_installed();
            }
            let mut wire: Vec<Vec<u8>> = Vec::new();
            for m in crate::of::ofctrl::bundle_messages(1, e.diff(), full) {
                let mut b = Vec::new();
                openflow::encode(&m, 0, &mut b).unwrap();
                wire.push(b);
            }
            // A run: same inner message type and, for flow mods, the same
            // table, command and priority.
            let run = |b: &[u8]| -> Vec<u8> {
                if b.len() > 48 && b[1] == 34 && b[17] == 14 {
                    vec![b[40], b[41], b[46], b[47]]
                } else {
                    b.to_vec()
                }
            };
            let mut lines = Vec::new();
            for chunk in wire.chunk_by(|a, b| run(a) == run(b)) {
                let mut hex: Vec<String> = chunk
                    .iter()
                    .map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
                    .collect();
                hex.sort();
                lines.extend(hex);
            }
            out.push_str(&format!("step {step}: {} messages\n", lines.len()));
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
            mutate(&mut s, &mut rng, &mut n);
        }
        let want = include_str!("testdata/bundles.golden");
        let diverges = want.lines().zip(out.lines()).position(|(a, b)| a != b);
        assert!(
            want == out,
            "bundles differ from the recording (first at line {diverges:?})"
        );
    }

    /// Reading the switch back, and losing it, lead to the same table.
    #[test]
    fn resync_after_dump_and_reconnect() {
        let s = base();
        let mut e = Engine::new();
        e.update(&s, 1);
        let d = e.diff();
        assert!(d.flow_adds.len() > 20 && !d.group_adds.is_empty());
        // A restarted controller finds the flows installed: nothing to send.
        let mut e2 = Engine::new();
        let (flows, groups) = e.desired();
        e2.set_installed(flows.clone(), groups.clone());
        e2.update(&s, 1);
        assert!(e2.diff().is_empty());
        // A stale flow on the switch is deleted, a missing one added.
        let mut stale = flows;
        stale.push(Flow::new(99, 1, Match::new(), vec![]).pack().unwrap());
        e2.set_installed(stale, groups);
        let d = e2.diff();
        assert_eq!((d.flow_dels.len(), d.flow_adds.len()), (1, 0));
        // A reconnect: everything is added again.
        e2.forget_installed();
        let d = e2.diff();
        assert_eq!(d.flow_adds.len(), e.len());
        assert_eq!(d.group_adds.len(), e.group_count());
    }
}
