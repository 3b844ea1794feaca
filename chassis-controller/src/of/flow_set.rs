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

use openflow::{Action, FlowMod, GroupMod, GroupModCommand, Match};

use super::flow_table::{Diff, Flow, FlowTable, merge_conjunctions, merges, same_group};

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

/// The flows and groups one source wants, immutable once built.
#[derive(Debug)]
pub struct Contribution {
    pub source: Source,
    pub flows: Vec<Flow>,
    pub groups: Vec<GroupMod>,
    /// Key hash of each flow, computed once.
    hashes: Vec<u64>,
}

impl Contribution {
    pub fn new(source: Source, flows: Vec<Flow>, groups: Vec<GroupMod>) -> Arc<Contribution> {
        let hashes = flows
            .iter()
            .map(|f| key_hash(f.table, f.priority, &f.match_))
            .collect();
        Arc::new(Contribution {
            source,
            flows,
            groups,
            hashes,
        })
    }
}

/// Fx hash of a flow key, finished with a 64-bit mixer: the map below uses it
/// as is, and Fx alone leaves the low bits weak.
fn key_hash(table: u8, priority: u16, m: &Match) -> u64 {
    let mut h = lflow::FxHasher::default();
    (table, priority, m).hash(&mut h);
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
        self.hash == other.hash && a.table == b.table && a.priority == b.priority && a.match_ == b.match_
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

    fn flow(&self) -> &Flow {
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
    fn flow(&self) -> &Flow {
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
    /// Merged conjunctions, or read back from the switch.
    Owned { cookie: u64, actions: Vec<Action> },
}

impl Installed {
    fn value(&self) -> (u64, &[Action]) {
        match self {
            Installed::Shared(e) => (e.flow().cookie, &e.flow().actions),
            Installed::Owned { cookie, actions } => (*cookie, actions),
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
    Merged(u64, Vec<Action>),
}

/// `FlowTable::add` over `entries` in order: the first wins, conjunctions
/// merge. Returns the value and the number of flows that lost.
fn fold(entries: &[Entry]) -> Option<(Folded<'_>, u32)> {
    let (first, rest) = entries.split_first()?;
    let mut merged: Option<Vec<Action>> = None;
    let mut conflicts = 0;
    for e in rest {
        let cur = merged.as_deref().unwrap_or(&first.flow().actions);
        let actions = &e.flow().actions;
        if merges(cur, actions) {
            merge_conjunctions(
                merged.get_or_insert_with(|| first.flow().actions.clone()),
                actions,
            );
        } else if cur != actions.as_slice() {
            conflicts += 1;
        }
    }
    Some(match merged {
        None => (Folded::One(first), conflicts),
        Some(actions) => (Folded::Merged(0, actions), conflicts),
    })
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

    /// The switch has `table` (read back from it).
    pub fn set_installed(&mut self, table: FlowTable) {
        self.forget_installed();
        let (flows, groups) = table.into_parts();
        let dumped = Contribution::new(Source::Switch, flows.collect(), Vec::new());
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
        // Deterministic order (hash order is not), cheap enough for a full
        // reinstall of every flow (no text formatting per flow).
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_by_key(|k| (k.flow().table, k.flow().priority, k.hash));
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
            let (k_table, k_prio, k_match) = (key.flow().table, key.flow().priority, &key.flow().match_);
            match folded {
                None => {
                    if had {
                        d.flow_dels
                            .push(FlowMod::delete_strict(k_table, k_prio, k_match.clone()));
                    }
                    self.slots.remove(&key);
                    continue;
                }
                Some((Folded::One(e), _)) => {
                    let same = match &slot.installed {
                        Some(Installed::Shared(i)) if i.is(&e.c, e.i) => true,
                        Some(i) => i.value() == (e.flow().cookie, e.flow().actions.as_slice()),
                        None => false,
                    };
                    if !same {
                        let f = e.flow();
                        push_mod(&mut d, had, k_table, k_prio, k_match, f.cookie, f.actions.clone());
                    }
                    slot.installed = Some(Installed::Shared(e.clone()));
                }
                Some((Folded::Merged(cookie, actions), _)) => {
                    let same = slot
                        .installed
                        .as_ref()
                        .is_some_and(|i| i.value() == (cookie, actions.as_slice()));
                    if !same {
                        push_mod(&mut d, had, k_table, k_prio, k_match, cookie, actions.clone());
                    }
                    slot.installed = Some(Installed::Owned { cookie, actions });
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

    /// The desired flows and groups as a table (for tests and checks).
    pub fn desired(&self) -> FlowTable {
        let mut t = FlowTable::new();
        for (k, s) in &self.slots {
            let (cookie, actions) = match fold(&s.entries) {
                Some((Folded::One(e), _)) => (e.flow().cookie, e.flow().actions.clone()),
                Some((Folded::Merged(c, a), _)) => (c, a),
                None => continue,
            };
            let f = k.flow();
            t.add(Flow::new(f.table, f.priority, f.match_.clone(), actions).cookie(cookie));
        }
        for (g, _) in self.groups.values() {
            t.add_group(g.clone());
        }
        t
    }
}

fn push_mod(d: &mut Diff, had: bool, table: u8, prio: u16, m: &Match, cookie: u64, actions: Vec<Action>) {
    if had {
        d.flow_mods
            .push(FlowMod::modify_strict(table, prio, m.clone(), actions).with_cookie(cookie));
    } else {
        d.flow_adds
            .push(FlowMod::add(table, prio, m.clone(), actions).with_cookie(cookie));
    }
}
