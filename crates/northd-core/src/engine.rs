//! Incremental translation. The engine keeps the per-object views and flows of the last
//! run; for a new snapshot it re-resolves the topology (linear, cheap), then regenerates
//! flows only for sources whose view changed, and patches the flow set using per-flow
//! reference counts (two sources may emit the same flow).
//!
//! Non-flow tables are rebuilt in full each time; they are small next to the flow table.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::bindings;
use crate::diff::{SbDiff, SetDiff};
use crate::incremental::{self, Delta, NbChanges, Owners};
use crate::keys;
use crate::model::Map;
use crate::model::nb::{Northbound, SbContext, Uuid};
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
    refcount: HashMap<LogicalFlow, u32>,
    output: Translation,
    stats: EngineStats,
    owners: Owners,
    /// NB_Global options, ipsec and row UUID of the last update.
    global: Option<(Map, bool, String)>,
    /// The last full topology had warnings a local update cannot reproduce.
    fragile: bool,
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
        self.fragile = new.warnings.iter().any(incremental::is_global_warning);
        self.topology = Some(new);
        self.stats = stats;
        self.owners = Owners::build(nb);
        self.global = Some(global_sig(nb, &self.output.southbound.options));
        &self.output
    }

    /// Brings the output up to date after the NB rows in `changes` changed (and the SB
    /// context's keys, which only matter for the changed objects), and says what changed
    /// in the output. `nb` is the complete new snapshot. Equal to `update` (and to
    /// `translate`) in the resulting `output().southbound`; the warnings are those of
    /// the recomputed objects unless the update was full.
    pub fn update_changed(&mut self, nb: &Northbound, ctx: &SbContext, changes: &NbChanges) -> Delta {
        match self.try_local(nb, ctx, changes) {
            Some(d) => Delta::Changes(Box::new(d)),
            None => {
                self.update(nb, ctx);
                Delta::Full
            }
        }
    }

    fn try_local(&mut self, nb: &Northbound, ctx: &SbContext, ch: &NbChanges) -> Option<SbDiff> {
        if ch.context
            || self.fragile
            || self.global.as_ref() != Some(&global_sig(nb, &self.output.southbound.options))
        {
            return None;
        }
        let t = self.topology.as_ref()?;
        let (d, ctx_dps) = incremental::affected(nb, t, &self.owners, ch)?;
        let exists = |u: &Uuid| nb.switches.contains_key(u) || nb.routers.contains_key(u);
        let deleted: BTreeSet<&Uuid> = d.iter().filter(|u| !exists(u)).collect();
        // New datapaths get the keys a full allocation would give them: the next free
        // ones above the highest in use, switches first, each set in UUID order.
        let mut new_keys: BTreeMap<Uuid, u32> = BTreeMap::new();
        let created = d
            .iter()
            .filter(|u| nb.switches.contains_key(*u))
            .chain(d.iter().filter(|u| nb.routers.contains_key(*u)))
            .filter(|u| !t.dp_keys.contains_key(*u));
        let mut used: BTreeSet<u32> = t
            .dp_keys
            .iter()
            .filter(|(u, _)| !deleted.contains(u))
            .map(|(_, k)| *k)
            .collect();
        let mut hint = used.iter().next_back().copied().unwrap_or(0);
        let max = if t.vxlan {
            keys::MAX_DP_KEY_VXLAN
        } else {
            keys::MAX_DP_KEY
        };
        for u in created {
            let requested = match nb.switches.get(u) {
                Some(ls) => ls.other_config.contains_key("requested-tnl-key"),
                None => nb.routers[u].options.contains_key("requested-tnl-key"),
            };
            if requested || ctx.datapath_keys.contains_key(u) {
                return None;
            }
            let k = keys::next_free(&used, hint, max)?;
            used.insert(k);
            hint = k;
            new_keys.insert(u.clone(), k);
        }
        let with_keys;
        let ctx = if new_keys.is_empty() {
            ctx
        } else {
            let mut c = ctx.clone();
            c.datapath_keys
                .extend(new_keys.iter().map(|(u, k)| (u.clone(), *k)));
            with_keys = c;
            &with_keys
        };
        let sub_nb = incremental::sub_northbound(nb, &ctx_dps);
        let mut sub = Topology::build(&sub_nb, ctx);
        if sub.warnings.iter().any(|w| {
            incremental::is_global_warning(w) || incremental::false_missing_peer(w, &self.owners, &ctx_dps)
        }) {
            return None;
        }
        // Keys must match what a full allocation gives: existing datapaths keep theirs.
        for u in &d {
            let want = match new_keys.get(u) {
                Some(k) => Some(k),
                None if deleted.contains(u) => None,
                None => t.dp_keys.get(u),
            };
            if sub.dp_keys.get(u) != want {
                return None;
            }
        }
        // A port name taken outside the context would be a duplicate in a full run.
        for u in &d {
            if let Some(dp) = sub.datapaths.get(u) {
                for p in &dp.ports {
                    if let Some(o) = t.ports.get(p)
                        && !ctx_dps.contains(&o.datapath)
                    {
                        return None;
                    }
                }
            }
        }

        let mut diff = SbDiff::default();
        let mut stats = EngineStats::default();
        let t = self.topology.as_mut()?;
        // Sources of d before the change.
        let mut old_sources = BTreeSet::new();
        for u in &d {
            let lbs = self.owners.dp_lbs.get(u).cloned().unwrap_or_default();
            incremental::dp_sources(t, u, &lbs, &mut old_sources);
        }
        let mut lbs: BTreeSet<String> = BTreeSet::new();
        for u in &d {
            lbs.extend(self.owners.dp_lbs.get(u).into_iter().flatten().cloned());
        }
        for lb in &ch.load_balancers {
            lbs.insert(lb.clone());
            if !nb.load_balancers.contains_key(lb) {
                t.parsed_lbs.remove(lb);
            }
        }
        let old_ports: BTreeSet<String> = d
            .iter()
            .filter_map(|u| t.datapaths.get(u))
            .flat_map(|dp| dp.ports.iter().cloned())
            .collect();
        let mut fresh = Southbound::default();
        bindings::build(&sub_nb, ctx, &sub, &mut fresh);
        incremental::splice(t, &mut sub, &d, &self.owners.dp_lbs);
        for u in &deleted {
            t.dp_keys.remove(*u);
        }
        t.dp_keys.extend(new_keys);
        self.owners.refresh_dps(nb, &d);
        self.owners.refresh_port_groups(nb, ch.port_groups.iter());
        for u in &d {
            lbs.extend(self.owners.dp_lbs.get(u).into_iter().flatten().cloned());
        }
        let mut new_sources = BTreeSet::new();
        for u in &d {
            let l = self.owners.dp_lbs.get(u).cloned().unwrap_or_default();
            incremental::dp_sources(t, u, &l, &mut new_sources);
        }

        // Flows: drop sources that disappeared, recompute the changed ones.
        let flows = &mut self.output.southbound.logical_flows;
        let mut fd = SetDiff::default();
        for src in old_sources.difference(&new_sources) {
            stats.removed += 1;
            for f in self.flows_by_source.remove(src).unwrap_or_default() {
                incremental::remove_flow(&mut self.refcount, flows, f, &mut fd);
            }
        }
        for src in &new_sources {
            stats.recomputed += 1;
            let fresh = source_flows(t, src).unwrap_or_default();
            if self.flows_by_source.get(src) == Some(&fresh) {
                stats.recomputed -= 1;
                stats.reused += 1;
                continue;
            }
            for f in self.flows_by_source.remove(src).unwrap_or_default() {
                incremental::remove_flow(&mut self.refcount, flows, f, &mut fd);
            }
            for f in &fresh {
                incremental::add_flow(&mut self.refcount, flows, f, &mut fd);
            }
            self.flows_by_source.insert(src.clone(), fresh);
        }
        incremental::normalize(&mut fd);
        diff.logical_flows = fd;

        // Non-flow rows.
        let out = &mut self.output.southbound;
        let lb_users: BTreeMap<String, BTreeSet<String>> = lbs
            .iter()
            .map(|l| {
                (
                    l.clone(),
                    self.owners.lb_users.get(l).cloned().unwrap_or_default(),
                )
            })
            .collect();
        incremental::rebind(
            nb,
            t,
            fresh,
            &d,
            &lb_users,
            ch.named_sets,
            &old_ports,
            out,
            &mut diff,
        );
        if out.nb_cfg != nb.nb_global.nb_cfg {
            out.nb_cfg = nb.nb_global.nb_cfg;
            diff.sb_global = Some((out.nb_cfg, out.options.clone(), out.ipsec));
        }
        self.output.warnings = sub.warnings;
        self.stats = stats;
        Some(diff)
    }
}

/// The NB_Global settings every datapath depends on. The SB_Global options northd
/// copies back into NB_Global (as ovn-northd does) count only when they differ from
/// what the output already holds: the copy itself changes nothing.
fn global_sig(nb: &Northbound, sb_options: &Map) -> (Map, bool, String) {
    let mut options = nb.nb_global.options.clone();
    for k in bindings::WRITTEN_BACK {
        if options.get(*k).is_some_and(|v| sb_options.get(*k) == Some(v)) {
            options.remove(*k);
        }
    }
    (options, nb.nb_global.ipsec, nb.nb_global.uuid.clone())
}

fn release(
    refcount: &mut HashMap<LogicalFlow, u32>,
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
