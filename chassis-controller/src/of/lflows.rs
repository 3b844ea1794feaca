//! Compiling SB logical flows of local datapaths into OpenFlow flows and the
//! select groups `ct_lb_mark(backends=...)` needs.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use lflow::to_openflow;
use lflow::{Compiler, FxHashMap, Lookup};
use openflow::GroupMod;
use tracing::warn;

use super::flow_table::{Flow, FlowTable};
use super::local::Topology;
use super::state::{LogicalFlow, Pipeline};
use super::tables::uuid_cookie;

/// Stable allocation of OpenFlow group ids to load-balancer groups: the
/// same group keeps its id across recomputations, so unchanged groups are
/// never reinstalled.
///
/// A group counts as used in a round when a compilation asked for it, or
/// while a kept compilation holds it ([`GroupIds::hold`]).
#[derive(Debug, Default, Clone)]
pub struct GroupIds {
    ids: HashMap<lflow::of::Group, u32>,
    used_this_round: BTreeSet<u32>,
    /// Holders per group id.
    held: HashMap<u32, u32>,
}

impl GroupIds {
    pub fn new() -> GroupIds {
        GroupIds::default()
    }

    /// The id of group `g` (allocated if new), marked as used this round.
    pub fn get(&mut self, g: &lflow::of::Group) -> u32 {
        let id = match self.ids.get(g) {
            Some(&id) => id,
            None => {
                let taken: BTreeSet<u32> = self.ids.values().copied().collect();
                let id = (1..).find(|i| !taken.contains(i)).unwrap_or(1);
                self.ids.insert(g.clone(), id);
                id
            }
        };
        self.used_this_round.insert(id);
        id
    }

    /// Records a holder of each of `groups` (a compilation that is kept).
    pub fn hold(&mut self, groups: &[(u32, lflow::of::Group)]) {
        for (id, _) in groups {
            *self.held.entry(*id).or_default() += 1;
        }
    }

    /// Undoes [`GroupIds::hold`].
    pub fn release(&mut self, groups: &[(u32, lflow::of::Group)]) {
        for (id, _) in groups {
            if let Some(n) = self.held.get_mut(id) {
                *n -= 1;
                if *n == 0 {
                    self.held.remove(id);
                }
            }
        }
    }

    /// Forgets groups neither used since the previous call nor held.
    pub fn end_round(&mut self) {
        let used = std::mem::take(&mut self.used_this_round);
        let held = &self.held;
        self.ids
            .retain(|_, id| used.contains(id) || held.contains_key(id));
    }
}

/// Result of compiling the logical flows.
#[derive(Debug, Default)]
pub struct LflowOutput {
    pub flows: FlowTable,
    /// (logical flow, datapath) pairs compiled.
    pub compiled: usize,
    /// (logical flow, datapath) pairs skipped because they failed to compile.
    pub failed: usize,
}

/// One lookup the compiler made, with its answer: with the same answers, the
/// same (logical flow, datapath) compiles to the same flows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dep {
    PortKey(String, Option<u32>),
    AddressSet(String, Option<Arc<BTreeSet<String>>>),
    PortGroup(String, Option<Arc<BTreeSet<String>>>),
    Resident(String, bool),
    LocalPort(u32, bool),
}

/// Name resolution over a [`Topology`], shared by every datapath.
pub struct Names<'a, 'b> {
    topo: &'b Topology<'a>,
    keys: FxHashMap<(u32, &'a str), u32>,
    is_switch: FxHashMap<u32, bool>,
}

impl<'a, 'b> Names<'a, 'b> {
    pub fn new(topo: &'b Topology<'a>) -> Self {
        let state = topo.state;
        let mut keys = FxHashMap::default();
        keys.reserve(state.port_bindings.len() + state.multicast_groups.len());
        for pb in &state.port_bindings {
            keys.insert((pb.datapath, pb.logical_port.as_str()), pb.tunnel_key);
        }
        for mc in &state.multicast_groups {
            keys.entry((mc.datapath, mc.name.as_str()))
                .or_insert(mc.tunnel_key);
        }
        let is_switch = state
            .datapaths
            .iter()
            .map(|d| (d.tunnel_key, d.is_switch))
            .collect();
        Names {
            topo,
            keys,
            is_switch,
        }
    }

    pub fn topo(&self) -> &'b Topology<'a> {
        self.topo
    }

    /// Whether datapath `dp` is a switch (unknown ones count as switches).
    pub fn is_switch(&self, dp: u32) -> bool {
        self.is_switch.get(&dp).copied().unwrap_or(true)
    }

    fn port_key(&self, dp: u32, name: &str) -> Option<u32> {
        self.keys.get(&(dp, name)).copied()
    }

    fn address_set(&self, name: &str) -> Option<&Arc<BTreeSet<String>>> {
        self.topo.state.address_sets.get(name)
    }

    fn port_group(&self, dp: u32, name: &str) -> Option<&Arc<BTreeSet<String>>> {
        let pgs = &self.topo.state.port_groups;
        pgs.get(&format!("{dp}_{name}")).or_else(|| pgs.get(name))
    }

    pub fn is_chassis_resident(&self, port: &str) -> bool {
        let Some(pb) = self.topo.ports.get(port) else {
            return false;
        };
        let me = self.topo.state.chassis_name.as_str();
        if pb.port_type == "l3gateway" {
            return pb.l3gateway_chassis() == Some(me);
        }
        self.topo.is_local_vif(pb) || pb.chassis.as_deref() == Some(me)
    }

    /// Whether `dep` still has the answer it had on datapath `dp`.
    pub fn holds(&self, dp: u32, dep: &Dep) -> bool {
        match dep {
            Dep::PortKey(n, a) => self.port_key(dp, n) == *a,
            Dep::AddressSet(n, a) => self.address_set(n) == a.as_ref(),
            Dep::PortGroup(n, a) => self.port_group(dp, n) == a.as_ref(),
            Dep::Resident(p, a) => self.is_chassis_resident(p) == *a,
            Dep::LocalPort(k, a) => self.topo.is_related_port(dp, *k) == *a,
        }
    }
}

/// Name resolution for one datapath, recording every answer.
struct DpLookup<'n, 'a, 'b> {
    names: &'n Names<'a, 'b>,
    dp: u32,
    groups: &'n mut GroupIds,
    deps: RefCell<Vec<Dep>>,
    /// Groups referenced by the flow being compiled.
    new_groups: Vec<(u32, lflow::of::Group)>,
}

impl DpLookup<'_, '_, '_> {
    fn note<T: Clone>(&self, answer: T, dep: impl FnOnce(T) -> Dep) -> T {
        self.deps.borrow_mut().push(dep(answer.clone()));
        answer
    }
}

impl Lookup for DpLookup<'_, '_, '_> {
    fn port_key(&self, name: &str) -> Option<u32> {
        self.note(self.names.port_key(self.dp, name), |a| {
            Dep::PortKey(name.into(), a)
        })
    }

    fn address_set(&self, name: &str) -> Option<Vec<String>> {
        let set = self.note(self.names.address_set(name).cloned(), |a| {
            Dep::AddressSet(name.into(), a)
        });
        set.map(|s| s.iter().cloned().collect())
    }

    fn port_group(&self, name: &str) -> Option<Vec<String>> {
        let set = self.note(self.names.port_group(self.dp, name).cloned(), |a| {
            Dep::PortGroup(name.into(), a)
        });
        set.map(|s| s.iter().cloned().collect())
    }

    fn is_chassis_resident(&self, port: &str) -> bool {
        self.note(self.names.is_chassis_resident(port), |a| {
            Dep::Resident(port.into(), a)
        })
    }

    fn is_local_port(&self, key: u32) -> bool {
        self.note(self.names.topo.is_related_port(self.dp, key), |a| {
            Dep::LocalPort(key, a)
        })
    }

    fn group_id(&mut self, group: &lflow::of::Group) -> Option<u32> {
        let id = self.groups.get(group);
        self.new_groups.push((id, group.clone()));
        Some(id)
    }
}

/// conj_id bases in use, so every (logical flow, datapath) gets its own
/// range; the base is derived from the flow's UUID so it is stable.
#[derive(Default)]
pub struct ConjIds {
    used: BTreeSet<u32>,
}

/// Attempts at a free conj_id range before taking the last one regardless.
const CONJ_ATTEMPTS: u32 = 16;

impl ConjIds {
    pub fn candidate(uuid: &str, dp: u32, attempt: u32) -> u32 {
        let base = (uuid_cookie(uuid) as u32) ^ dp.rotate_left(16);
        base.wrapping_add(attempt.wrapping_mul(0x9e37_79b9)).max(1)
    }

    fn is_free(&self, base: u32, n: u32) -> bool {
        n == 0 || (base.checked_add(n).is_some() && self.used.range(base..base + n).next().is_none())
    }

    /// The attempt whose candidate range of `n` ids compilation settles on.
    pub fn attempt_for(&self, uuid: &str, dp: u32, n: u32) -> u32 {
        (0..CONJ_ATTEMPTS)
            .find(|&a| self.is_free(Self::candidate(uuid, dp, a), n))
            .unwrap_or(CONJ_ATTEMPTS)
    }

    pub fn take(&mut self, base: u32, n: u32) {
        self.used.extend(base..base.saturating_add(n));
    }
}

/// One (logical flow, datapath) compiled: its flows and groups, or `None`
/// if it failed; everything needed to tell whether it would compile the same
/// again.
#[derive(Debug)]
pub struct Unit {
    pub output: Option<(Vec<Flow>, Vec<GroupMod>)>,
    pub deps: Vec<Dep>,
    /// Groups referenced, with their ids.
    pub groups: Vec<(u32, lflow::of::Group)>,
    pub attempt: u32,
    pub conj_ids_used: u32,
}

impl Unit {
    /// The conj_id base the unit's flows use.
    pub fn conj_base(&self, lf: &LogicalFlow, dp: u32) -> u32 {
        ConjIds::candidate(&lf.uuid, dp, self.attempt)
    }
}

/// Compiles `lf` on datapath `dp` with `compiler`'s cache; the caller takes
/// the unit's conj ids.
pub fn compile_unit(
    compiler: &mut Compiler,
    names: &Names<'_, '_>,
    lf: &LogicalFlow,
    dp: u32,
    groups: &mut GroupIds,
    conj: &ConjIds,
) -> Unit {
    let flow = lflow::LogicalFlow {
        pipeline: match lf.pipeline {
            Pipeline::Ingress => lflow::Pipeline::Ingress,
            Pipeline::Egress => lflow::Pipeline::Egress,
        },
        table_id: lf.table_id,
        priority: lf.priority,
        match_: &lf.match_,
        actions: &lf.actions,
    };
    let mut lookup = DpLookup {
        names,
        dp,
        groups,
        deps: RefCell::new(Vec::new()),
        new_groups: Vec::new(),
    };
    let mut ctx = lflow::Context::new(dp, names.is_switch(dp));
    let mut attempt = 0;
    let result = loop {
        ctx.conj_id_base = ConjIds::candidate(&lf.uuid, dp, attempt);
        lookup.new_groups.clear();
        lookup.deps.get_mut().clear();
        match compiler.compile(&flow, &ctx, &mut lookup) {
            Ok(c) if !conj.is_free(ctx.conj_id_base, c.conj_ids_used) && attempt < CONJ_ATTEMPTS => {
                attempt += 1
            }
            r => break r,
        }
    };
    let mut unit = Unit {
        output: None,
        deps: lookup.deps.into_inner(),
        groups: lookup.new_groups,
        attempt,
        conj_ids_used: 0,
    };
    let compiled = match result {
        Ok(c) => c,
        Err(e) => {
            warn!(lflow = %lf.uuid, datapath = dp, "skipping logical flow: {e} (match `{}`, actions `{}`)", lf.match_, lf.actions);
            return unit;
        }
    };
    let cookie = uuid_cookie(&lf.uuid);
    let flows: Result<Vec<Flow>, lflow::Error> = compiled
        .flows
        .iter()
        .map(|f| {
            Ok(Flow::new(
                f.table,
                f.priority,
                to_openflow::matches(&f.matches),
                to_openflow::actions(&f.actions)?,
            )
            .cookie(cookie))
        })
        .collect();
    let group_mods: Result<Vec<_>, lflow::Error> = unit
        .groups
        .iter()
        .map(|(id, g)| to_openflow::group_mod(g, *id))
        .collect();
    match (flows, group_mods) {
        (Ok(f), Ok(g)) => {
            unit.output = Some((f, g));
            unit.conj_ids_used = compiled.conj_ids_used;
        }
        (Err(e), _) | (_, Err(e)) => {
            warn!(lflow = %lf.uuid, datapath = dp, "skipping logical flow: {e} (actions `{}`)", lf.actions);
        }
    }
    unit
}

/// The datapaths of `lf` in ascending order, without duplicates.
pub fn lflow_datapaths(lf: &LogicalFlow) -> Vec<u32> {
    let mut dps = lf.datapaths.clone();
    dps.sort_unstable();
    dps.dedup();
    dps
}

/// Compiles every logical flow on a local datapath, from scratch.
pub fn logical_flows(topo: &Topology<'_>, groups: &mut GroupIds) -> LflowOutput {
    let names = Names::new(topo);
    // Deterministic order, whatever order the replica produced.
    let mut lflows: Vec<&LogicalFlow> = topo.state.logical_flows.iter().map(|l| &**l).collect();
    lflows.sort_by(|a, b| a.uuid.cmp(&b.uuid));

    let mut out = LflowOutput::default();
    let mut conj = ConjIds::default();
    let mut compiler = Compiler::new();
    for lf in lflows {
        for dp in lflow_datapaths(lf) {
            if !topo.local_datapaths.contains(&dp) {
                continue;
            }
            let unit = compile_unit(&mut compiler, &names, lf, dp, groups, &conj);
            let Some((flows, group_mods)) = unit.output else {
                out.failed += 1;
                continue;
            };
            conj.take(ConjIds::candidate(&lf.uuid, dp, unit.attempt), unit.conj_ids_used);
            for f in flows {
                out.flows.add(f);
            }
            for g in group_mods {
                out.flows.add_group(g);
            }
            out.compiled += 1;
        }
    }
    groups.end_round();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::of::local::tests::sample;
    use crate::of::state::LogicalFlow;

    fn lf(
        uuid: &str,
        dps: &[u32],
        pipeline: Pipeline,
        table: u8,
        prio: u16,
        m: &str,
        a: &str,
    ) -> Arc<LogicalFlow> {
        Arc::new(LogicalFlow {
            uuid: uuid.into(),
            datapaths: dps.to_vec(),
            pipeline,
            table_id: table,
            priority: prio,
            match_: m.into(),
            actions: a.into(),
        })
    }

    fn dump(t: &FlowTable) -> Vec<String> {
        t.flows().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn compiles_local_datapaths_only_with_cookie() {
        let mut s = sample();
        s.logical_flows = vec![
            lf(
                "aabbccdd-0000-0000-0000-000000000001",
                &[1, 9],
                Pipeline::Ingress,
                25,
                50,
                "eth.dst == 50:54:00:00:00:02",
                "outport = \"vm2\"; output;",
            ),
            lf(
                "11223344-0000-0000-0000-000000000002",
                &[2],
                Pipeline::Egress,
                6,
                0,
                "1",
                "drop;",
            ),
        ];
        let topo = Topology::new(&s);
        let out = logical_flows(&topo, &mut GroupIds::new());
        assert_eq!(out.failed, 0);
        assert_eq!(out.compiled, 2);
        let lines = dump(&out.flows);
        assert_eq!(
            lines,
            vec![
                "cookie=0xaabbccdd,table=33,priority=50,metadata=0x1,dl_dst=50:54:00:00:00:02 \
                 actions=set_field:0x2->reg15,resubmit(,37)",
                "cookie=0x11223344,table=48,priority=0,metadata=0x2 actions=drop",
            ]
        );
    }

    #[test]
    fn bad_flows_are_skipped_and_counted() {
        let mut s = sample();
        s.logical_flows = vec![
            lf(
                "00000001-0000-0000-0000-000000000000",
                &[1],
                Pipeline::Ingress,
                0,
                10,
                "ip4.src == $nosuch",
                "next;",
            ),
            lf(
                "00000002-0000-0000-0000-000000000000",
                &[1],
                Pipeline::Ingress,
                0,
                10,
                "((",
                "next;",
            ),
            lf(
                "00000003-0000-0000-0000-000000000000",
                &[1],
                Pipeline::Ingress,
                0,
                10,
                "1",
                "next;",
            ),
        ];
        let out = logical_flows(&Topology::new(&s), &mut GroupIds::new());
        assert_eq!(out.failed, 2);
        assert_eq!(out.compiled, 1);
        assert_eq!(out.flows.len(), 1);
    }

    #[test]
    fn remote_inport_flows_are_dropped_on_switches() {
        let mut s = sample();
        s.logical_flows = vec![
            lf(
                "00000001-0000-0000-0000-000000000000",
                &[1],
                Pipeline::Ingress,
                19,
                100,
                "inport == \"vm2\" && arp",
                "next;",
            ),
            lf(
                "00000002-0000-0000-0000-000000000000",
                &[1],
                Pipeline::Ingress,
                19,
                100,
                "inport == \"vm1\" && arp",
                "next;",
            ),
        ];
        let out = logical_flows(&Topology::new(&s), &mut GroupIds::new());
        assert_eq!(out.failed, 0);
        let lines = dump(&out.flows);
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(lines[0].contains("reg14=0x1"));
    }

    #[test]
    fn lb_groups_are_stable() {
        let mut s = sample();
        s.logical_flows = vec![lf(
            "00000001-0000-0000-0000-000000000000",
            &[1],
            Pipeline::Ingress,
            12,
            120,
            "ct.new && ip4.dst == 10.0.1.100 && tcp.dst == 80",
            "reg0[1] = 0; ct_lb_mark(backends=10.0.1.11:8080,10.0.2.14:8080);",
        )];
        let topo = Topology::new(&s);
        let mut ids = GroupIds::new();
        let a = logical_flows(&topo, &mut ids);
        assert_eq!(a.failed, 0);
        assert_eq!(a.flows.group_count(), 1);
        let g = a.flows.groups().next().unwrap().to_string();
        assert!(g.contains("type=select"), "{g}");
        assert!(g.contains("nat(dst=10.0.1.11:8080)"), "{g}");
        let lines = dump(&a.flows);
        assert!(lines[0].contains("group:1"), "{lines:?}");
        let b = logical_flows(&topo, &mut ids);
        assert!(a.flows.diff(&b.flows).is_empty());
    }

    #[test]
    fn conjunctions_get_distinct_ids() {
        let mut s = sample();
        s.address_sets.insert(
            "as1".into(),
            Arc::new(["10.0.0.1".into(), "10.0.0.2".into()].into()),
        );
        s.logical_flows = vec![
            lf(
                "00000001-0000-0000-0000-000000000000",
                &[1],
                Pipeline::Ingress,
                8,
                1001,
                "ip4.src == $as1 && tcp.dst == {80, 443}",
                "next;",
            ),
            lf(
                "00000002-0000-0000-0000-000000000000",
                &[1],
                Pipeline::Ingress,
                8,
                1002,
                "ip4.src == $as1 && tcp.dst == {22, 23}",
                "drop;",
            ),
        ];
        let out = logical_flows(&Topology::new(&s), &mut GroupIds::new());
        assert_eq!(out.failed, 0);
        let ids: BTreeSet<String> = dump(&out.flows)
            .iter()
            .filter_map(|l| {
                l.split("conj_id=")
                    .nth(1)
                    .map(|r| r.split([',', ' ']).next().unwrap().to_string())
            })
            .collect();
        assert_eq!(ids.len(), 2, "{:#?}", dump(&out.flows));
    }
}
