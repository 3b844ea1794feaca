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

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use hashbrown::HashTable;
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
    /// One port of a local datapath: (logical port, UUID). Boxed: a source is
    /// held by every contribution, nearly all of them logical flows'.
    Port(Box<(String, String)>),
    /// Multicast, MAC binding, FDB and hairpin flows.
    Tail,
    /// One logical flow (UUID, shared by all its datapaths' sources and the
    /// engine's indexes) on one datapath.
    Lflow(Arc<str>, u32),
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
}

impl Contribution {
    /// Packs `flows`; one that cannot be encoded (it could not be sent
    /// either) is left out with a warning.
    pub fn new(source: Source, flows: Vec<Flow>, groups: Vec<GroupMod>) -> Arc<Contribution> {
        let packed = pack(&source, &flows);
        Contribution::packed(source, packed, groups)
    }

    pub fn packed(source: Source, flows: Vec<PackedFlow>, groups: Vec<GroupMod>) -> Arc<Contribution> {
        // Key hashes are not kept: recomputing one on add and remove is
        // cheaper than an allocation per contribution for them.
        Arc::new(Contribution {
            source,
            flows: flows.into_boxed_slice(),
            groups: groups.into_boxed_slice(),
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

/// Whether two flows have the same key (table, priority, match).
fn same_key(a: &PackedFlow, b: &PackedFlow) -> bool {
    a.table_id() == b.table_id() && a.priority() == b.priority() && a.match_wire() == b.match_wire()
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

/// The contributors of a key, in source order. Nearly every key has exactly
/// one: it is kept inline rather than in a vector of its own.
#[derive(Debug, Default)]
enum Contributors {
    #[default]
    None,
    One(Entry),
    Many(Vec<Entry>),
}

impl Contributors {
    fn as_slice(&self) -> &[Entry] {
        match self {
            Contributors::None => &[],
            Contributors::One(e) => std::slice::from_ref(e),
            Contributors::Many(v) => v,
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Contributors::None)
    }

    /// Inserts `e` at its rank.
    fn insert(&mut self, e: Entry) {
        *self = match std::mem::take(self) {
            Contributors::None => Contributors::One(e),
            Contributors::One(a) if a.rank() < e.rank() => Contributors::Many(vec![a, e]),
            Contributors::One(a) => Contributors::Many(vec![e, a]),
            Contributors::Many(mut v) => {
                let at = v.partition_point(|x| x.rank() < e.rank());
                v.insert(at, e);
                Contributors::Many(v)
            }
        };
    }

    /// Removes flow `i` of `c`; false if it was not a contributor.
    fn remove(&mut self, c: &Arc<Contribution>, i: u32) -> bool {
        match self {
            Contributors::None => false,
            Contributors::One(a) => {
                let found = a.is(c, i);
                if found {
                    *self = Contributors::None;
                }
                found
            }
            Contributors::Many(v) => {
                let Some(at) = v.iter().position(|e| e.is(c, i)) else {
                    return false;
                };
                v.remove(at);
                if v.len() == 1 {
                    *self = Contributors::One(v.remove(0));
                }
                true
            }
        }
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

/// Everything known about one flow key. The key itself is the first
/// contributor's flow or, when none is left, the installed one: a slot with
/// neither is free.
#[derive(Debug, Default)]
struct Slot {
    hash: u64,
    entries: Contributors,
    installed: Option<Installed>,
    /// Listed in `FlowSet::dirty`.
    dirty: bool,
    /// Flows of `entries` dropped by the last fold (same key, other actions).
    conflicts: u32,
}

impl Slot {
    fn key(&self) -> Option<&PackedFlow> {
        match self.entries.as_slice().first() {
            Some(e) => Some(e.flow()),
            None => self.installed.as_ref().map(Installed::flow),
        }
    }
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
///
/// Slots live in a vector and the hash index holds only their numbers: at
/// 65 k flows a map of whole slots took 10 MB, and 16 MB while it doubled.
#[derive(Debug, Default)]
pub struct FlowSet {
    /// Slot numbers by their key's hash.
    index: HashTable<u32>,
    slots: Vec<Slot>,
    /// Free slot numbers, reused before the vector grows.
    free: Vec<u32>,
    /// Slots whose contributions or installed value changed since the last
    /// diff (a freed and reused slot may be listed twice: `Slot::dirty` says
    /// whether it still is).
    dirty: Vec<u32>,
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

    /// The slot whose key is `flow`'s.
    fn find(&self, hash: u64, flow: &PackedFlow) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash, |&n| {
                slots[n as usize].key().is_some_and(|k| same_key(k, flow))
            })
            .copied()
    }

    /// The slot whose key is `flow`'s, created empty (the caller gives it its
    /// key at once) if missing.
    fn find_or_create(&mut self, hash: u64, flow: &PackedFlow) -> u32 {
        if let Some(n) = self.find(hash, flow) {
            return n;
        }
        let slot = Slot {
            hash,
            ..Slot::default()
        };
        let n = match self.free.pop() {
            Some(n) => {
                self.slots[n as usize] = slot;
                n
            }
            None => {
                self.slots.push(slot);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 flows")
            }
        };
        let slots = &self.slots;
        self.index.insert_unique(hash, n, |&m| slots[m as usize].hash);
        n
    }

    /// Frees slot `n` (it has no key any more, so it must leave the index).
    fn free_slot(&mut self, n: u32) {
        let Slot { hash, conflicts, .. } = self.slots[n as usize];
        self.conflicts -= conflicts as usize;
        if let Ok(e) = self.index.find_entry(hash, |&m| m == n) {
            e.remove();
        }
        self.slots[n as usize] = Slot::default();
        self.free.push(n);
    }

    /// Lists slot `n` as dirty.
    fn mark(&mut self, n: u32) {
        let slot = &mut self.slots[n as usize];
        if !slot.dirty {
            slot.dirty = true;
            self.dirty.push(n);
        }
    }

    /// Adds `c`'s flows and groups.
    pub fn add(&mut self, c: &Arc<Contribution>) {
        for (i, flow) in c.flows.iter().enumerate() {
            let n = self.find_or_create(key_hash(flow), flow);
            self.mark(n);
            let slot = &mut self.slots[n as usize];
            self.desired_flows += usize::from(slot.entries.is_empty());
            slot.entries.insert(Entry {
                c: c.clone(),
                i: i as u32,
            });
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
        for (i, flow) in c.flows.iter().enumerate() {
            let Some(n) = self.find(key_hash(flow), flow) else {
                continue;
            };
            self.mark(n);
            let slot = &mut self.slots[n as usize];
            if slot.entries.remove(c, i as u32) && slot.entries.is_empty() {
                self.desired_flows -= 1;
                if slot.installed.is_none() {
                    self.free_slot(n);
                }
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
        self.dirty.clear();
        for n in 0..self.slots.len() as u32 {
            let slot = &mut self.slots[n as usize];
            if slot.key().is_none() {
                continue;
            }
            if slot.entries.is_empty() {
                self.free_slot(n);
                continue;
            }
            slot.installed = None;
            slot.dirty = true;
            self.dirty.push(n);
        }
        self.installed_groups.clear();
        self.dirty_groups = self.groups.keys().copied().collect();
    }

    /// The switch has `flows` and `groups` (read back from it).
    pub fn set_installed(&mut self, flows: Vec<PackedFlow>, groups: Vec<GroupMod>) {
        self.forget_installed();
        let dumped = Contribution::packed(Source::Switch, flows, Vec::new());
        for (i, flow) in dumped.flows.iter().enumerate() {
            let n = self.find_or_create(key_hash(flow), flow);
            self.mark(n);
            self.slots[n as usize].installed = Some(Installed::Shared(Entry {
                c: dumped.clone(),
                i: i as u32,
            }));
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
        dirty.retain(|&n| self.slots[n as usize].dirty);
        dirty.sort_by(|&a, &b| {
            let key = |n: u32| self.slots[n as usize].key().expect("a dirty slot has a key");
            send_order(key(a), key(b))
        });
        for n in dirty {
            let slot = &mut self.slots[n as usize];
            if !slot.dirty {
                continue;
            }
            slot.dirty = false;
            let had = slot.installed.is_some();
            let folded = fold(slot.entries.as_slice());
            let new_conflicts = folded.as_ref().map_or(0, |(_, n)| *n);
            self.conflicts = self.conflicts + new_conflicts as usize - slot.conflicts as usize;
            slot.conflicts = new_conflicts;
            match folded {
                None => {
                    if let Some(i) = &slot.installed {
                        d.flow_dels.push(i.flow().key_only());
                    }
                    self.free_slot(n);
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
        }
        d
    }

    /// The desired flows, in send order, and groups (for tests and checks).
    pub fn desired(&self) -> (Vec<PackedFlow>, Vec<GroupMod>) {
        let mut flows: Vec<PackedFlow> = self
            .slots
            .iter()
            .filter_map(|s| match fold(s.entries.as_slice())? {
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use openflow::FlowMod;

    use super::*;

    fn flow(text: &str) -> Flow {
        let fm: FlowMod = text.parse().unwrap();
        Flow::new(fm.table_id, fm.priority, fm.match_, fm.actions).cookie(fm.cookie)
    }

    /// Few keys and several actions per key, so that contributions collide,
    /// conflict and merge conjunctions.
    fn pool() -> Vec<Flow> {
        let mut v = Vec::new();
        for key in [
            "table=0,priority=1,metadata=0x1",
            "table=0,priority=2,metadata=0x1",
            "table=8,priority=1,reg14=0x3",
        ] {
            for actions in [
                "output:1",
                "output:2",
                "conjunction(1,1/2)",
                "conjunction(2,2/2)",
                "drop",
            ] {
                v.push(flow(&format!("{key} actions={actions}")));
            }
        }
        v
    }

    /// A switch applying diffs, checking each message is possible.
    #[derive(Default)]
    struct Switch(HashMap<(u8, u16, Vec<u8>), PackedFlow>);

    impl Switch {
        fn apply(&mut self, d: Diff) {
            let key = |f: &PackedFlow| (f.table_id(), f.priority(), f.match_wire().to_vec());
            for f in d.flow_dels {
                assert!(self.0.remove(&key(&f)).is_some(), "delete of a missing flow");
            }
            for f in d.flow_adds {
                assert!(self.0.insert(key(&f), f).is_none(), "add of a present flow");
            }
            for f in d.flow_mods {
                assert!(self.0.insert(key(&f), f).is_some(), "modify of a missing flow");
            }
        }

        fn flows(&self) -> Vec<PackedFlow> {
            let mut v: Vec<PackedFlow> = self.0.values().cloned().collect();
            v.sort_by(send_order);
            v
        }
    }

    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) as usize % n
        }
    }

    /// Random replacements, with diffs, read-backs and reconnects at random
    /// points (so slots are freed and reused between diffs): the set always
    /// equals a table built from scratch in source order, and the diffs bring
    /// a switch to exactly that.
    #[test]
    fn random_changes_match_a_table_built_from_scratch() {
        let pool = pool();
        let mut rng = Rng(3);
        let mut set = FlowSet::new();
        let mut sw = Switch::default();
        let mut current: BTreeMap<Source, Arc<Contribution>> = BTreeMap::new();
        let mut diffs = 0;
        for step in 0..3000 {
            let source = Source::Port(Box::new((format!("p{}", rng.below(8)), String::new())));
            let new = (rng.below(5) > 0).then(|| {
                let flows = (0..rng.below(4))
                    .map(|_| pool[rng.below(pool.len())].clone())
                    .collect();
                Contribution::new(source.clone(), flows, Vec::new())
            });
            let old = match &new {
                Some(c) => current.insert(source, c.clone()),
                None => current.remove(&source),
            };
            set.replace(old.as_ref(), new.as_ref());
            match rng.below(10) {
                0..=3 => {
                    sw.apply(set.diff());
                    diffs += 1;
                    let mut scratch = FlowTable::new();
                    for c in current.values() {
                        for f in c.flows.iter() {
                            scratch.add(Flow::unpack(f).unwrap());
                        }
                    }
                    let want = packed_table(&scratch).0;
                    assert!(set.desired().0 == want, "step {step}: set differs from scratch");
                    assert!(sw.flows() == want, "step {step}: switch differs");
                    assert_eq!(set.len(), scratch.len(), "step {step}");
                    assert_eq!(set.conflicts(), scratch.conflicts(), "step {step}");
                }
                4 => set.set_installed(sw.flows(), Vec::new()),
                5 => {
                    set.forget_installed();
                    sw = Switch::default();
                }
                _ => {}
            }
        }
        assert!(diffs > 1000);
        assert!(
            set.slots.len() <= 3,
            "one slot per key, freed ones reused ({})",
            set.slots.len()
        );
    }
}
