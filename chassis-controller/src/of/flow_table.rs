//! The desired (or installed) set of flows and groups, and the difference
//! between two such sets as OpenFlow flow_mods/group_mods.
//!
//! Flows are keyed like OpenFlow keys them: (table, priority, match). A change
//! of actions (or cookie) on the same key is a `MODIFY_STRICT`; nothing is
//! sent for flows that did not change, so recomputing an unchanged state
//! produces an empty update.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use openflow::{
    Action, DecodeError, EncodeError, FlowMod, FlowModCommand, GroupMod, GroupModCommand, Match, Message,
    PackedFlow, PackedFlowMod,
};

/// One OpenFlow flow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Flow {
    pub table: u8,
    pub priority: u16,
    pub match_: Match,
    pub cookie: u64,
    pub actions: Vec<Action>,
}

impl Flow {
    pub fn new(table: u8, priority: u16, match_: Match, actions: Vec<Action>) -> Flow {
        Flow {
            table,
            priority,
            match_,
            cookie: 0,
            actions,
        }
    }

    /// Builder: set the cookie.
    pub fn cookie(mut self, cookie: u64) -> Flow {
        self.cookie = cookie;
        self
    }

    /// The key OpenFlow identifies this flow by.
    pub fn key(&self) -> FlowKey {
        FlowKey {
            table: self.table,
            priority: self.priority,
            match_: self.match_.clone(),
        }
    }

    /// The compact form the flow engine keeps (fails where sending the flow
    /// would).
    pub fn pack(&self) -> Result<PackedFlow, EncodeError> {
        PackedFlow::new(
            self.table,
            self.priority,
            self.cookie,
            &self.match_,
            &self.actions,
        )
    }

    /// A packed flow, decoded.
    pub fn unpack(p: &PackedFlow) -> Result<Flow, DecodeError> {
        Ok(Flow {
            table: p.table_id(),
            priority: p.priority(),
            match_: p.decode_match()?,
            cookie: p.cookie(),
            actions: p.decode_actions()?,
        })
    }

    /// `add-flow` for this flow.
    pub fn to_add(&self) -> FlowMod {
        FlowMod::add(
            self.table,
            self.priority,
            self.match_.clone(),
            self.actions.clone(),
        )
        .with_cookie(self.cookie)
    }
}

/// `ovs-ofctl` syntax, e.g. `table=0,priority=100,in_port=1 actions=...`.
impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_add())
    }
}

/// What OpenFlow identifies a flow by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub table: u8,
    pub priority: u16,
    pub match_: Match,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FlowValue {
    cookie: u64,
    actions: Vec<Action>,
}

/// A set of flows and groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowTable {
    flows: HashMap<FlowKey, FlowValue>,
    /// Group id → the group (as an `Add` group mod).
    groups: BTreeMap<u32, GroupMod>,
    /// Flows dropped because another flow had the same key but different
    /// actions.
    conflicts: usize,
}

/// The messages that turn one [`FlowTable`] into another, in a safe order:
/// new/changed groups, new flows (`ADD`), modified flows (`MODIFY_STRICT`),
/// deleted flows (`DELETE_STRICT`, by key only), deleted groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub group_adds: Vec<GroupMod>,
    pub flow_adds: Vec<PackedFlow>,
    pub flow_mods: Vec<PackedFlow>,
    pub flow_dels: Vec<PackedFlow>,
    pub group_dels: Vec<GroupMod>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        self.group_adds.len()
            + self.flow_adds.len()
            + self.flow_mods.len()
            + self.flow_dels.len()
            + self.group_dels.len()
    }

    /// The messages, in the order they must be applied.
    pub fn into_messages(self) -> impl Iterator<Item = Message> {
        let flow_mod = |command| move |flow| Message::PackedFlowMod(PackedFlowMod { command, flow });
        let groups = self.group_adds.into_iter().map(Message::GroupMod);
        groups
            .chain(self.flow_adds.into_iter().map(flow_mod(FlowModCommand::Add)))
            .chain(
                self.flow_mods
                    .into_iter()
                    .map(flow_mod(FlowModCommand::ModifyStrict)),
            )
            .chain(
                self.flow_dels
                    .into_iter()
                    .map(flow_mod(FlowModCommand::DeleteStrict)),
            )
            .chain(self.group_dels.into_iter().map(Message::GroupMod))
    }
}

/// The order flow mods of one kind are sent in: deterministic (hash order is
/// not) and cheap (no text formatting per flow).
pub(crate) fn send_order(a: &PackedFlow, b: &PackedFlow) -> std::cmp::Ordering {
    (a.table_id(), a.priority(), a.match_wire()).cmp(&(b.table_id(), b.priority(), b.match_wire()))
}

impl FlowTable {
    pub fn new() -> FlowTable {
        FlowTable::default()
    }

    /// Adds `flow`. If a flow with the same key exists, the first one wins
    /// (as in ovn-controller) and, when the actions differ, the conflict is
    /// counted. Returns whether `flow` was inserted.
    pub fn add(&mut self, flow: Flow) -> bool {
        let Flow {
            table,
            priority,
            match_,
            cookie,
            actions,
        } = flow;
        let key = FlowKey {
            table,
            priority,
            match_,
        };
        match self.flows.get_mut(&key) {
            Some(v) if merges(&v.actions, &actions) => {
                merge_conjunctions(&mut v.actions, &actions);
                v.cookie = 0;
                true
            }
            Some(v) => {
                if v.actions != actions {
                    self.conflicts += 1;
                }
                false
            }
            None => {
                self.flows.insert(key, FlowValue { cookie, actions });
                true
            }
        }
    }

    /// Adds (or replaces) group `group.group_id`; stored as an `Add`.
    pub fn add_group(&mut self, mut group: GroupMod) {
        group.command = GroupModCommand::Add;
        self.groups.insert(group.group_id, group);
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty() && self.groups.is_empty()
    }

    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Flows dropped as duplicates with different actions.
    pub fn conflicts(&self) -> usize {
        self.conflicts
    }

    pub fn groups(&self) -> impl Iterator<Item = &GroupMod> {
        self.groups.values()
    }

    pub fn group(&self, id: u32) -> Option<&GroupMod> {
        self.groups.get(&id)
    }

    /// The flow with this key, if present.
    pub fn get(&self, key: &FlowKey) -> Option<Flow> {
        self.flows.get(key).map(|v| Flow {
            table: key.table,
            priority: key.priority,
            match_: key.match_.clone(),
            cookie: v.cookie,
            actions: v.actions.clone(),
        })
    }

    /// All flows, sorted by (table, priority descending, text) for stable
    /// output.
    pub fn flows(&self) -> Vec<Flow> {
        let mut v: Vec<Flow> = self
            .flows
            .iter()
            .map(|(k, v)| Flow {
                table: k.table,
                priority: k.priority,
                match_: k.match_.clone(),
                cookie: v.cookie,
                actions: v.actions.clone(),
            })
            .collect();
        v.sort_by_cached_key(|f| (f.table, std::cmp::Reverse(f.priority), f.match_.to_string()));
        v
    }

    /// The flows and groups, consumed.
    pub fn into_parts(self) -> (impl Iterator<Item = Flow>, impl Iterator<Item = GroupMod>) {
        let flows = self.flows.into_iter().map(|(k, v)| Flow {
            table: k.table,
            priority: k.priority,
            match_: k.match_,
            cookie: v.cookie,
            actions: v.actions,
        });
        (flows, self.groups.into_values())
    }

    /// Merges `other` into `self` (first flow wins on key collisions).
    pub fn extend(&mut self, other: FlowTable) {
        self.conflicts += other.conflicts;
        for (k, v) in other.flows {
            self.add(Flow {
                table: k.table,
                priority: k.priority,
                match_: k.match_,
                cookie: v.cookie,
                actions: v.actions,
            });
        }
        for g in other.groups.into_values() {
            self.add_group(g);
        }
    }

    /// What must be sent to a switch that has `self` installed so that it
    /// has `desired`.
    pub fn diff(&self, desired: &FlowTable) -> Diff {
        let mut d = Diff::default();
        for (id, g) in &desired.groups {
            match self.groups.get(id) {
                Some(old) if same_group(old, g) => {}
                Some(_) => {
                    let mut m = g.clone();
                    m.command = GroupModCommand::Modify;
                    d.group_adds.push(m);
                }
                None => d.group_adds.push(g.clone()),
            }
        }
        // A flow that cannot be encoded cannot be sent either.
        let pack = |k: &FlowKey, v: &FlowValue| {
            PackedFlow::new(k.table, k.priority, v.cookie, &k.match_, &v.actions).ok()
        };
        for (k, v) in &desired.flows {
            match self.flows.get(k) {
                None => d.flow_adds.extend(pack(k, v)),
                Some(old) if old == v => {}
                Some(_) => d.flow_mods.extend(pack(k, v)),
            }
        }
        for (k, v) in &self.flows {
            if !desired.flows.contains_key(k) {
                d.flow_dels.extend(pack(k, v).map(|p| p.key_only()));
            }
        }
        for id in self.groups.keys() {
            if !desired.groups.contains_key(id) {
                d.group_dels.push(GroupMod::delete(*id));
            }
        }
        d.flow_adds.sort_by(send_order);
        d.flow_mods.sort_by(send_order);
        d.flow_dels.sort_by(send_order);
        d
    }
}

/// Adds the flows in order (the first of a key wins, as [`FlowTable::add`]).
impl FromIterator<Flow> for FlowTable {
    fn from_iter<I: IntoIterator<Item = Flow>>(iter: I) -> FlowTable {
        let mut t = FlowTable::new();
        for f in iter {
            t.add(f);
        }
        t
    }
}

fn is_conjunctive(actions: &[Action]) -> bool {
    !actions.is_empty() && actions.iter().all(|a| matches!(a, Action::Conjunction { .. }))
}

/// Whether a flow with `actions` merges into the flow with the same key that
/// has `into` (rather than losing to it): conjunctive flows of different
/// logical flows that share a match are merged, as ovn-controller does.
pub(crate) fn merges(into: &[Action], actions: &[Action]) -> bool {
    is_conjunctive(into) && is_conjunctive(actions) && into != actions
}

/// Merges conjunctive `actions` into `into` (the cookie becomes 0).
pub(crate) fn merge_conjunctions(into: &mut Vec<Action>, actions: &[Action]) {
    for a in actions {
        if !into.contains(a) {
            into.push(a.clone());
        }
    }
    into.sort_by_key(|a| match a {
        Action::Conjunction { id, clause, .. } => (*id, *clause),
        _ => (0, 0),
    });
}

pub(crate) fn same_group(a: &GroupMod, b: &GroupMod) -> bool {
    a.group_type == b.group_type && a.buckets == b.buckets && a.selection_method == b.selection_method
}

#[cfg(test)]
mod tests {
    use super::*;
    use openflow::{Field, GroupType};

    fn flow(text: &str) -> Flow {
        let fm: FlowMod = text.parse().unwrap();
        Flow {
            table: fm.table_id,
            priority: fm.priority,
            match_: fm.match_,
            cookie: fm.cookie,
            actions: fm.actions,
        }
    }

    fn table(flows: &[&str]) -> FlowTable {
        let mut t = FlowTable::new();
        for f in flows {
            t.add(flow(f));
        }
        t
    }

    #[test]
    fn identical_tables_have_empty_diff() {
        let a = table(&[
            "table=0,priority=100,in_port=1 actions=resubmit(,8)",
            "table=65,priority=100,reg15=0x1,metadata=0x1 actions=output:1",
        ]);
        assert!(a.diff(&a.clone()).is_empty());
    }

    #[test]
    fn diff_adds_modifies_and_deletes() {
        let old = table(&[
            "table=0,priority=100,in_port=1 actions=resubmit(,8)",
            "table=0,priority=100,in_port=2 actions=resubmit(,8)",
            "table=65,priority=100,reg15=0x1,metadata=0x1 actions=output:1",
        ]);
        let new = table(&[
            "table=0,priority=100,in_port=1 actions=resubmit(,8)",
            "table=0,priority=100,in_port=3 actions=resubmit(,8)",
            "table=65,priority=100,reg15=0x1,metadata=0x1 actions=output:7",
        ]);
        let d = old.diff(&new);
        assert_eq!(d.flow_adds.len(), 1);
        let added = d.flow_adds[0].decode_match().unwrap();
        assert_eq!(added.get(Field::InPort).unwrap().value, 3);
        assert_eq!(d.flow_mods.len(), 1);
        assert_eq!(
            Flow::unpack(&d.flow_mods[0]).unwrap().to_string(),
            new.flows()[2].to_string()
        );
        assert_eq!(d.flow_dels.len(), 1);
        assert!(d.flow_dels[0].instructions_wire().is_empty());
        assert_eq!(d.len(), 3);
        let msgs: Vec<Message> = d.into_messages().collect();
        assert!(matches!(&msgs[2], Message::PackedFlowMod(m) if m.command == FlowModCommand::DeleteStrict));
        // Applying the diff to `old` gives `new` back.
        assert!(new.diff(&new).is_empty());
    }

    #[test]
    fn cookie_change_is_a_modify() {
        let old = table(&["cookie=0x1,table=8,priority=50,metadata=0x1 actions=resubmit(,9)"]);
        let new = table(&["cookie=0x2,table=8,priority=50,metadata=0x1 actions=resubmit(,9)"]);
        let d = old.diff(&new);
        assert_eq!(d.flow_mods.len(), 1);
        assert_eq!(d.flow_mods[0].cookie(), 2);
    }

    #[test]
    fn first_duplicate_wins_and_conflict_counted() {
        let mut t = FlowTable::new();
        assert!(t.add(flow("table=0,priority=0 actions=drop")));
        assert!(!t.add(flow("table=0,priority=0 actions=drop")));
        assert_eq!(t.conflicts(), 0);
        assert!(!t.add(flow("table=0,priority=0 actions=resubmit(,8)")));
        assert_eq!(t.conflicts(), 1);
        assert_eq!(t.len(), 1);
        assert!(t.flows()[0].actions.is_empty());
    }

    #[test]
    fn conjunctions_with_the_same_match_merge() {
        let mut t = FlowTable::new();
        t.add(flow(
            "cookie=0x5,table=16,priority=1001,ip,metadata=0x1,nw_src=10.0.0.1 actions=conjunction(9,1/2)",
        ));
        t.add(flow(
            "cookie=0x6,table=16,priority=1001,ip,metadata=0x1,nw_src=10.0.0.1 actions=conjunction(3,1/2)",
        ));
        assert_eq!(t.conflicts(), 0);
        let f = &t.flows()[0];
        assert_eq!(
            openflow::actions_to_string(&f.actions),
            "conjunction(3,1/2),conjunction(9,1/2)"
        );
        assert_eq!(f.cookie, 0);
    }

    #[test]
    fn groups_diff() {
        let g1: GroupMod = "group_id=1,type=select,bucket=actions=resubmit(,9)"
            .parse()
            .unwrap();
        let g2: GroupMod = "group_id=2,type=select,bucket=actions=resubmit(,10)"
            .parse()
            .unwrap();
        let mut g1b = g1.clone();
        g1b.group_type = GroupType::All;
        let mut old = FlowTable::new();
        old.add_group(g1.clone());
        old.add_group(g2.clone());
        let mut new = FlowTable::new();
        new.add_group(g1b);
        let d = old.diff(&new);
        assert_eq!(d.group_adds.len(), 1);
        assert_eq!(d.group_adds[0].command, GroupModCommand::Modify);
        assert_eq!(d.group_dels.len(), 1);
        assert_eq!(d.group_dels[0].group_id, 2);
        let msgs: Vec<Message> = d.into_messages().collect();
        assert!(matches!(msgs.last(), Some(Message::GroupMod(g)) if g.command == GroupModCommand::Delete));
    }
}
