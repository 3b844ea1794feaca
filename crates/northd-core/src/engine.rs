//! Incremental translation. The engine keeps the per-object views and flows of the last
//! run; for a new snapshot it re-resolves the topology (linear, cheap), then regenerates
//! flows only for sources whose view changed, and patches the flow set using per-flow
//! reference counts (two sources may emit the same flow).
//!
//! Non-flow tables are rebuilt in full each time; they are small next to the flow table.

use std::collections::BTreeMap;

use crate::bindings;
use crate::model::nb::{Northbound, SbContext};
use crate::model::sb::{LogicalFlow, Southbound};
use crate::topology::Topology;
use crate::translate::{FlowSource, Translation, source_flows, sources};

/// Counters of the last `update`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Sources whose flows were regenerated.
    pub recomputed: usize,
    /// Sources whose previous flows were kept.
    pub reused: usize,
    /// Sources that disappeared.
    pub removed: usize,
}

#[derive(Default)]
pub struct Engine {
    topology: Option<Topology>,
    flows_by_source: BTreeMap<FlowSource, Vec<LogicalFlow>>,
    refcount: BTreeMap<LogicalFlow, u32>,
    output: Translation,
    stats: EngineStats,
}

/// True if `src` has the same view in both topologies.
fn unchanged(old: &Topology, new: &Topology, src: &FlowSource) -> bool {
    match src {
        FlowSource::Switch(u) => old.switches.get(u) == new.switches.get(u),
        FlowSource::SwitchPort(n) => old.switch_ports.get(n) == new.switch_ports.get(n),
        FlowSource::Router(u) => old.routers.get(u) == new.routers.get(u),
        FlowSource::RouterPort(n) => old.router_ports.get(n) == new.router_ports.get(n),
        FlowSource::LoadBalancer { lb, datapath } => {
            let k = (lb.clone(), datapath.clone());
            old.lbs.get(&k) == new.lbs.get(&k)
        }
    }
}

impl Engine {
    pub fn new() -> Self {
        Engine::default()
    }

    /// Output of the last `update` (empty before the first).
    pub fn output(&self) -> &Translation {
        &self.output
    }

    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Brings the output up to date with a new snapshot and returns it. Equal to
    /// `translate(nb, ctx)`.
    pub fn update(&mut self, nb: &Northbound, ctx: &SbContext) -> &Translation {
        let new = Topology::build(nb, ctx);
        let mut stats = EngineStats::default();
        let new_sources = sources(&new);
        let flows = &mut self.output.southbound.logical_flows;

        let mut next: BTreeMap<FlowSource, Vec<LogicalFlow>> = BTreeMap::new();
        let mut old_flows = std::mem::take(&mut self.flows_by_source);
        for src in new_sources {
            let old = old_flows.remove(&src);
            let keep = match (&self.topology, &old) {
                (Some(t), Some(_)) => unchanged(t, &new, &src),
                _ => false,
            };
            if keep {
                stats.reused += 1;
                next.insert(src, old.unwrap_or_default());
                continue;
            }
            stats.recomputed += 1;
            if let Some(old) = old {
                for f in old {
                    release(&mut self.refcount, flows, f);
                }
            }
            let fresh = source_flows(&new, &src).unwrap_or_default();
            for f in &fresh {
                let c = self.refcount.entry(f.clone()).or_insert(0);
                *c += 1;
                if *c == 1 {
                    flows.insert(f.clone());
                }
            }
            next.insert(src, fresh);
        }
        for (_, gone) in old_flows {
            stats.removed += 1;
            for f in gone {
                release(&mut self.refcount, flows, f);
            }
        }

        let flows = std::mem::take(&mut self.output.southbound.logical_flows);
        let mut sb = Southbound {
            logical_flows: flows,
            ..Default::default()
        };
        bindings::build(nb, ctx, &new, &mut sb);
        self.output = Translation {
            southbound: sb,
            warnings: new.warnings.clone(),
        };
        self.flows_by_source = next;
        self.topology = Some(new);
        self.stats = stats;
        &self.output
    }
}

fn release(
    refcount: &mut BTreeMap<LogicalFlow, u32>,
    flows: &mut std::collections::BTreeSet<LogicalFlow>,
    f: LogicalFlow,
) {
    if let Some(c) = refcount.get_mut(&f) {
        *c -= 1;
        if *c == 0 {
            refcount.remove(&f);
            flows.remove(&f);
        }
    }
}
