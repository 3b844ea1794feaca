//! Full NB → SB translation, built from the per-object flow generators.

use crate::bindings;
use crate::model::nb::{Northbound, SbContext, Uuid};
use crate::model::sb::{LogicalFlow, Southbound};
use crate::topology::Topology;
use crate::warning::Warning;
use crate::{lb, router, switch};

/// The NB object a group of logical flows is derived from. Each source's flows are a
/// pure function of that source's view (see `topology`), which is what lets the
/// `Engine` recompute only changed sources.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlowSource {
    Switch(Uuid),
    SwitchPort(String),
    Router(Uuid),
    RouterPort(String),
    LoadBalancer { lb: Uuid, datapath: Uuid },
}

/// Result of a translation: the desired SB contents plus the NB problems that were
/// skipped over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Translation {
    pub southbound: Southbound,
    pub warnings: Vec<Warning>,
}

/// Flows of one source, or `None` if the source does not exist in `t`.
pub(crate) fn source_flows(t: &Topology, src: &FlowSource) -> Option<Vec<LogicalFlow>> {
    Some(match src {
        FlowSource::Switch(u) => switch::switch_flows(t.switches.get(u)?),
        FlowSource::SwitchPort(n) => switch::switch_port_flows(t.switch_ports.get(n)?),
        FlowSource::Router(u) => router::router_flows(t.routers.get(u)?),
        FlowSource::RouterPort(n) => router::router_port_flows(t.router_ports.get(n)?),
        FlowSource::LoadBalancer { lb, datapath } => {
            lb::lb_flows(t.lbs.get(&(lb.clone(), datapath.clone()))?)
        }
    })
}

pub(crate) fn sources(t: &Topology) -> Vec<FlowSource> {
    let mut v: Vec<FlowSource> = Vec::new();
    v.extend(t.switches.keys().cloned().map(FlowSource::Switch));
    v.extend(t.switch_ports.keys().cloned().map(FlowSource::SwitchPort));
    v.extend(t.routers.keys().cloned().map(FlowSource::Router));
    v.extend(t.router_ports.keys().cloned().map(FlowSource::RouterPort));
    v.extend(t.lbs.keys().map(|(lb, dp)| FlowSource::LoadBalancer {
        lb: lb.clone(),
        datapath: dp.clone(),
    }));
    v
}

/// Translates a complete NB snapshot. Never panics on bad NB content: offending rows are
/// reported in `Translation::warnings` and skipped.
pub fn translate(nb: &Northbound, ctx: &SbContext) -> Translation {
    let t = Topology::build(nb, ctx);
    let mut sb = Southbound::default();
    bindings::build(nb, ctx, &t, &mut sb);
    for src in sources(&t) {
        if let Some(flows) = source_flows(&t, &src) {
            sb.logical_flows.extend(flows);
        }
    }
    Translation {
        southbound: sb,
        warnings: t.warnings,
    }
}

/// Records the keys of a previous output in `ctx`, so the next translation keeps them.
/// The daemon normally fills these from the live SB instead.
pub fn remember_keys(ctx: &mut SbContext, sb: &Southbound) {
    ctx.datapath_keys = sb
        .datapaths
        .iter()
        .map(|(u, d)| (u.clone(), d.tunnel_key))
        .collect();
    ctx.port_keys = sb
        .port_bindings
        .iter()
        .map(|(n, p)| (n.clone(), (p.datapath.clone(), p.tunnel_key)))
        .collect();
}
