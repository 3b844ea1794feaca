//! The desired flows as the contributions of their sources, next to what the
//! switch has, so that a change costs work proportional to what changed.
//!
//! A source (the default flows, one port, one (logical flow, datapath), ...)
//! contributes an immutable, shared [`Contribution`]. Replacing a source's
//! contribution touches only the keys of its old and new flows; [`FlowSet::diff`]
//! then looks only at those keys. Where several contributions have a flow with
//! the same key, the result is what [`FlowTable::add`] gives when the flows are
//! added in the order of their sources ([`Source`]'s order, then position within
//! the contribution): the first wins, conjunctive flows merge. So the desired
//! table always equals a from-scratch computation's ([`FlowSet::desired`], which
//! the tests compare with `compute::desired_flows`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use openflow::{Action, GroupMod, GroupModCommand, PackedFlow};
use tracing::warn;

use super::flow_table::{Diff, Flow, FlowTable, merge_conjunctions, merges, same_group, send_order};

/// Who contributes flows; the derived order is the order a from-scratch
/// computation adds them in (physical flows first, ports by name, logical
/// flows by UUID and datapath).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// Default and tunnel-ingress flows.
    Head,
    /// One port of a local datapath: (logical port, UUID).
    Port(String, String),
    /// Multicast, MAC binding, FDB and hairpin flows.
    Tail,
    /// One logical flow (UUID) on one datapath.
    Lflow(String, u32),
    /// Flows read back from the switch (never desired).
    Switch,
}

/// The flows and groups one source wants, immutable once built. Flows are
/// kept packed (wire form): this is the only copy of a flow the controller
/// holds, shared by the desired set and the switch's installed state.
#[derive(Debug)]
pub struct Contribution {
    pub source: Source,
    pub flows: Box<[PackedFlow]>,
    pub groups: Box<[GroupMod]>,
    /// Key hash of each flow, computed once.
    hashes: Box<[u64]>,
}

impl Contribution {
    /// Packs `flows`; one that cannot be encoded (it could not be sent
    /// either) is left out with a warning.
    pub fn new(source: Source, flows: Vec<Flow>, groups: Vec<GroupMod>) -> Arc<Contribution> {
        let packed = pack(&source, &flows);
        Contribution::packed(source, packed, groups)
    }

    pub fn packed(source: Source, flows: Vec<PackedFlow>, groups: Vec<GroupMod>) -> Arc<Contribution> {
        let hashes = flows.iter().map(key_hash).collect();
        Arc::new(Contribution {
            source,
            flows: flows.into_boxed_slice(),
            groups: groups.into_boxed_slice(),
            hashes,
        })
    }
}

/// `flows`, packed, without those that cannot be encoded.
pub fn pack(source: &Source, flows: &[Flow]) -> Vec<PackedFlow> {
    flows
        .iter()
        .filter_map(|f| match f.pack() {
            Ok(p) => Some(p),
            Err(e) => {
                warn!("dropping flow of {source:?} that cannot be encoded: {e} ({f})");
                None
            }
        })
        .collect()
}

/// Fx hash of a flow key, finished with a 64-bit mixer: the map below uses it
/// as is, and Fx alone leaves the low bits weak.
fn key_hash(f: &PackedFlow) -> u64 {
    let mut h = lflow::FxHasher::default();
    (f.table_id(), f.priority(), f.match_wire()).hash(&mut h);
    let mut x = h.finish();
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Passes a precomputed `u64` through.
#[derive(Default)]
struct PassHasher(u64);

impl Hasher for PassHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `Key`; fold anything else in anyway.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A flow key: its hash, and a contribution's flow that has it (the key is
/// not copied; after each diff the owner is the slot's first contributor, so
/// a replaced contribution is not kept alive by its keys).
#[derive(Debug, Clone)]
struct Key {
    hash: u64,
    owner: Entry,
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        let (a, b) = (self.owner.flow(), other.owner.flow());
        self.hash == other.hash
            && a.table_id() == b.table_id()
            && a.priority() == b.priority()
            && a.match_wire() == b.match_wire()
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl Key {
    fn of(c: &Arc<Contribution>, i: usize) -> Key {
        Key {
            hash: c.hashes[i],
            owner: Entry {
                c: c.clone(),
                i: i as u32,
            },
        }
    }

    fn flow(&self) -> &PackedFlow {
        self.owner.flow()
    }
}

/// One flow of one contribution.
#[derive(Debug, Clone)]
struct Entry {
    c: Arc<Contribution>,
    i: u32,
}

impl Entry {
    fn flow(&self) -> &PackedFlow {
        &self.c.flows[self.i as usize]
    }

    fn rank(&self) -> (&Source, u32) {
        (&self.c.source, self.i)
    }

    fn is(&self, c: &Arc<Contribution>, i: u32) -> bool {
        self.i == i && Arc::ptr_eq(&self.c, c)
    }
}

/// What the switch has for a key.
#[derive(Debug)]
enum Installed {
    /// Exactly one contribution's flow (shared, not copied).
    Shared(Entry),
    /// Merged conjunctions (rare: boxed to keep every slot small).
    Owned(Box<PackedFlow>),
}

impl Installed {
    fn flow(&self) -> &PackedFlow {
        match self {
            Installed::Shared(e) => e.flow(),
            Installed::Owned(f) => f,
        }
    }
}

#[derive(Debug, Default)]
struct Slot {
    /// Contributors, in source order.
    entries: Vec<Entry>,
    installed: Option<Installed>,
    /// Listed in `FlowSet::dirty`.
    dirty: bool,
    /// Flows of `entries` dropped by the last fold (same key, other actions).
    conflicts: u32,
}

/// The value the contributors of a key give.
enum Folded<'a> {
    One(&'a Entry),
    Merged(PackedFlow),
}

/// `FlowTable::add` over `entries` in order: the first wins, conjunctions
/// merge. Returns the value and the number of flows that lost. Actions are
/// decoded only where two contributors' differ (conjunctions or conflicts).
fn fold(entries: &[Entry]) -> Option<(Folded<'_>, u32)> {
    let (first, rest) = entries.split_first()?;
    let decode = |f: &PackedFlow| f.decode_actions().unwrap_or_default();
    // The value so far, decoded once a contributor's actions differ.
    let mut cur: Option<Vec<Action>> = None;
    let mut merged = false;
    let mut conflicts = 0;
    for e in rest {
        let flow = e.flow();
        if !merged && flow.instructions_wire() == first.flow().instructions_wire() {
            // Same as the value: neither merges nor conflicts.
            continue;
        }
        let c = cur.get_or_insert_with(|| decode(first.flow()));
        let actions = decode(flow);
        if merges(c, &actions) {
            merge_conjunctions(c, &actions);
            merged = true;
        } else if *c != actions {
            conflicts += 1;
        }
    }
    let (true, Some(actions)) = (merged, cur) else {
        return Some((Folded::One(first), conflicts));
    };
    match first.flow().with_actions(0, &actions) {
        Ok(f) => Some((Folded::Merged(f), conflicts)),
        Err(e) => {
            warn!("merged conjunctions cannot be encoded ({e}); keeping the first flow");
            Some((Folded::One(first), conflicts))
        }
    }
}

/// The desired flows (by contribution) and the installed ones.
#[derive(Debug, Default)]
pub struct FlowSet {
    slots: HashMap<Key, Slot, BuildHasherDefault<PassHasher>>,
    /// Keys whose contributions or installed value changed since the last diff.
    dirty: Vec<Key>,
    /// Slots with at least one contributor.
    desired_flows: usize,
    conflicts: usize,
    /// Desired groups, with the number of contributions that want each.
    groups: BTreeMap<u32, (GroupMod, u32)>,
    installed_groups: BTreeMap<u32, GroupMod>,
    dirty_groups: BTreeSet<u32>,
}

impl FlowSet {
    pub fn new() -> FlowSet {
        FlowSet::default()
    }

    /// Number of distinct desired flows.
    pub fn len(&self) -> usize {
        self.desired_flows
    }

    pub fn is_empty(&self) -> bool {
        self.desired_flows == 0 && self.groups.is_empty()
    }

    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Desired flows dropped as duplicates with different actions.
    pub fn conflicts(&self) -> usize {
        self.conflicts
    }

    /// The slot of `key`, created (and listed as dirty) if missing.
    fn slot(&mut self, key: Key) -> &mut Slot {
        let dirty = &mut self.dirty;
        self.slots.entry(key).or_insert_with_key(|k| {
            dirty.push(k.clone());
            Slot {
                // Most keys have one contributor: room for exactly one (a
                // first push would reserve four).
                entries: Vec::with_capacity(1),
                dirty: true,
                ..Default::default()
            }
        })
    }

    /// Lists an existing slot as dirty.
    fn mark(&mut self, key: &Key) {
        if let Some(slot) = self.slots.get_mut(key)
            && !slot.dirty
        {
            slot.dirty = true;
            self.dirty.push(key.clone());
        }
    }

    /// Adds `c`'s flows and groups.
    pub fn add(&mut self, c: &Arc<Contribution>) {
        for i in 0..c.flows.len() {
            let key = Key::of(c, i);
            self.mark(&key);
            let slot = self.slot(key);
            let e = Entry {
                c: c.clone(),
                i: i as u32,
            };
            let at = slot.entries.partition_point(|x| x.rank() < e.rank());
            let first = slot.entries.is_empty();
            slot.entries.insert(at, e);
            self.desired_flows += usize::from(first);
        }
        for g in &c.groups {
            let (_, n) = self.groups.entry(g.group_id).or_insert_with(|| {
                let mut g = g.clone();
                g.command = GroupModCommand::Add;
                (g, 0)
            });
            *n += 1;
            self.dirty_groups.insert(g.group_id);
        }
    }

    /// Removes `c`'s flows and groups (added earlier by [`FlowSet::add`]).
    pub fn remove(&mut self, c: &Arc<Contribution>) {
        for i in 0..c.flows.len() {
            let key = Key::of(c, i);
            self.mark(&key);
            if let Some(slot) = self.slots.get_mut(&key)
                && let Some(at) = slot.entries.iter().position(|e| e.is(c, i as u32))
            {
                slot.entries.remove(at);
                self.desired_flows -= usize::from(slot.entries.is_empty());
            }
        }
        for g in &c.groups {
            if let Some((_, n)) = self.groups.get_mut(&g.group_id) {
                *n -= 1;
                if *n == 0 {
                    self.groups.remove(&g.group_id);
                }
            }
            self.dirty_groups.insert(g.group_id);
        }
    }

    /// Replaces `old` by `new` (either may be absent); nothing happens when
    /// they are the same contribution.
    pub fn replace(&mut self, old: Option<&Arc<Contribution>>, new: Option<&Arc<Contribution>>) {
        if let (Some(a), Some(b)) = (old, new)
            && Arc::ptr_eq(a, b)
        {
            return;
        }
        if let Some(a) = old {
            self.remove(a);
        }
        if let Some(b) = new {
            self.add(b);
        }
    }

    /// What the switch has is unknown (it will be emptied first): everything
    /// desired must be added.
    pub fn forget_installed(&mut self) {
        self.slots.retain(|_, s| !s.entries.is_empty());
        self.dirty.clear();
        for (k, s) in &mut self.slots {
            s.installed = None;
            s.dirty = true;
            self.dirty.push(k.clone());
        }
        self.installed_groups.clear();
        self.dirty_groups = self.groups.keys().copied().collect();
    }

    /// The switch has `flows` and `groups` (read back from it).
    pub fn set_installed(&mut self, flows: Vec<PackedFlow>, groups: Vec<GroupMod>) {
        self.forget_installed();
        let dumped = Contribution::packed(Source::Switch, flows, Vec::new());
        for i in 0..dumped.flows.len() {
            let key = Key::of(&dumped, i);
            let installed = Installed::Shared(key.owner.clone());
            self.mark(&key);
            self.slot(key).installed = Some(installed);
        }
        for g in groups {
            self.dirty_groups.insert(g.group_id);
            self.installed_groups.insert(g.group_id, g);
        }
    }

    /// The messages that bring the switch from what it has to what is desired,
    /// for the keys touched since the last call; afterwards the switch counts
    /// as having the desired flows.
    pub fn diff(&mut self) -> Diff {
        let mut d = Diff::default();
        for id in std::mem::take(&mut self.dirty_groups) {
            let want = self.groups.get(&id).map(|(g, _)| g);
            match (self.installed_groups.get(&id), want) {
                (None, Some(g)) => d.group_adds.push(g.clone()),
                (Some(old), Some(g)) if !same_group(old, g) => {
                    let mut m = g.clone();
                    m.command = GroupModCommand::Modify;
                    d.group_adds.push(m);
                }
                (Some(_), None) => d.group_dels.push(GroupMod::delete(id)),
                _ => continue,
            }
            match want {
                Some(g) => self.installed_groups.insert(id, g.clone()),
                None => self.installed_groups.remove(&id),
            };
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_by(|a, b| send_order(a.flow(), b.flow()));
        for key in dirty {
            let Some(slot) = self.slots.get_mut(&key) else {
                continue;
            };
            slot.dirty = false;
            let had = slot.installed.is_some();
            let folded = fold(&slot.entries);
            let new_conflicts = folded.as_ref().map_or(0, |(_, n)| *n);
            self.conflicts = self.conflicts + new_conflicts as usize - slot.conflicts as usize;
            slot.conflicts = new_conflicts;
            match folded {
                None => {
                    if had {
                        d.flow_dels.push(key.flow().key_only());
                    }
                    self.slots.remove(&key);
                    continue;
                }
                Some((Folded::One(e), _)) => {
                    let same = match &slot.installed {
                        Some(Installed::Shared(i)) if i.is(&e.c, e.i) => true,
                        Some(i) => i.flow() == e.flow(),
                        None => false,
                    };
                    if !same {
                        push_mod(&mut d, had, e.flow().clone());
                    }
                    slot.installed = Some(Installed::Shared(e.clone()));
                }
                Some((Folded::Merged(f), _)) => {
                    let same = slot.installed.as_ref().is_some_and(|i| *i.flow() == f);
                    if !same {
                        push_mod(&mut d, had, f.clone());
                    }
                    slot.installed = Some(Installed::Owned(Box::new(f)));
                }
            }
            if let Some(first) = slot.entries.first()
                && !Arc::ptr_eq(&first.c, &key.owner.c)
            {
                let owner = first.clone();
                if let Some(slot) = self.slots.remove(&key) {
                    self.slots.insert(
                        Key {
                            hash: key.hash,
                            owner,
                        },
                        slot,
                    );
                }
            }
        }
        d
    }

    /// The desired flows, in send order, and groups (for tests and checks).
    pub fn desired(&self) -> (Vec<PackedFlow>, Vec<GroupMod>) {
        let mut flows: Vec<PackedFlow> = self
            .slots
            .values()
            .filter_map(|s| match fold(&s.entries)? {
                (Folded::One(e), _) => Some(e.flow().clone()),
                (Folded::Merged(f), _) => Some(f),
            })
            .collect();
        flows.sort_by(send_order);
        (flows, self.groups.values().map(|(g, _)| g.clone()).collect())
    }
}

fn push_mod(d: &mut Diff, had: bool, flow: PackedFlow) {
    if had {
        d.flow_mods.push(flow);
    } else {
        d.flow_adds.push(flow);
    }
}

/// A table's flows, packed, in send order (those that cannot be encoded
/// left out), and its groups: what [`FlowSet::desired`] gives for the same
/// flows.
pub fn packed_table(t: &FlowTable) -> (Vec<PackedFlow>, Vec<GroupMod>) {
    let mut flows = pack(&Source::Switch, &t.flows());
    flows.sort_by(send_order);
    (flows, t.groups().cloned().collect())
}
