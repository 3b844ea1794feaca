//! Change-driven updates: given the NB rows that changed, the engine re-resolves only
//! the affected datapaths (plus their immediate neighbours as read-only context),
//! splices the result into its topology and output, and reports the SB difference.
//!
//! Anything whose effect is not local to a few datapaths (NB_Global options, chassis,
//! new or deleted datapaths, tunnel-key conflicts, duplicate names, dangling peers)
//! falls back to a full update; the result is always equal to [`crate::translate`]'s.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::bindings;
use crate::diff::{SbDiff, SetDiff, TableDiff};
use crate::model::nb::{Northbound, Uuid};
use crate::model::sb::{LogicalFlow, Southbound};
use crate::topology::{PortOwner, Topology};
use crate::translate::FlowSource;
use crate::warning::Warning;

/// NB rows inserted, modified or deleted since the previous update, by table (row UUIDs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NbChanges {
    pub switches: BTreeSet<Uuid>,
    pub switch_ports: BTreeSet<Uuid>,
    pub routers: BTreeSet<Uuid>,
    pub router_ports: BTreeSet<Uuid>,
    pub static_routes: BTreeSet<Uuid>,
    pub router_policies: BTreeSet<Uuid>,
    pub qos: BTreeSet<Uuid>,
    pub nats: BTreeSet<Uuid>,
    pub dhcp_options: BTreeSet<Uuid>,
    pub load_balancers: BTreeSet<Uuid>,
    pub load_balancer_groups: BTreeSet<Uuid>,
    /// Some `Address_Set` or `Port_Group` row changed.
    pub named_sets: bool,
    /// `Port_Group` rows that changed (their ACLs apply to the switches they span).
    pub port_groups: BTreeSet<Uuid>,
    pub acls: BTreeSet<Uuid>,
    /// The SB context changed beyond tunnel keys (chassis, SB_Global options).
    pub context: bool,
    /// Some `Gateway_Chassis`, `HA_Chassis_Group` or `HA_Chassis` row changed: the routers
    /// with distributed gateway ports are re-resolved.
    pub gateway_chassis: bool,
}

impl NbChanges {
    pub fn is_empty(&self) -> bool {
        *self == NbChanges::default()
    }
}

/// What an update changed in the desired SB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    /// Everything was recomputed; compare the whole output with the SB.
    Full,
    /// Exactly these rows changed.
    Changes(Box<SbDiff>),
}

/// Reverse indexes over the last NB input, to find the datapaths a row belongs to.
#[derive(Debug, Default)]
pub(crate) struct Owners {
    /// Datapaths (switches and routers) present in the NB.
    pub dps: BTreeSet<Uuid>,
    /// Child row (LSP, LRP, static route) UUID → datapath UUID.
    pub child: HashMap<Uuid, Uuid>,
    /// Child rows of each datapath.
    pub children: HashMap<Uuid, Vec<Uuid>>,
    /// Load balancer → datapaths that reference it.
    pub lb_users: HashMap<Uuid, BTreeSet<Uuid>>,
    /// Load balancers each datapath applies (its own and its groups').
    pub dp_lbs: HashMap<Uuid, Vec<Uuid>>,
    /// Load balancer group → datapaths that list it.
    pub group_users: HashMap<Uuid, BTreeSet<Uuid>>,
    /// Load balancer groups each datapath lists.
    pub dp_groups: HashMap<Uuid, Vec<Uuid>>,
    /// LRP name → router.
    pub lrp_router: HashMap<String, Uuid>,
    /// ACL → switches listing it in their `acls`.
    pub acl_users: HashMap<Uuid, BTreeSet<Uuid>>,
    /// Port groups with ACLs → (their ACLs, the switches their ports are on).
    pub pg_acls: HashMap<Uuid, (Vec<Uuid>, BTreeSet<Uuid>)>,
    /// ACLs each switch lists (to forget them without scanning `acl_users`).
    pub dp_acls: HashMap<Uuid, Vec<Uuid>>,
    /// LRP names of each router (to forget them without scanning `lrp_router`).
    pub router_lrps: HashMap<Uuid, Vec<String>>,
    /// What routers see of each switch: its router-type ports (see [`router_links`]).
    pub switch_links: HashMap<Uuid, Vec<RouterLink>>,
    /// Switch ports that are router links (type `router` or `options:router-port`).
    pub link_ports: HashSet<Uuid>,
    /// LRP name → datapaths naming it (switches by `options:router-port`, routers by
    /// an LRP's `peer`), whether or not such an LRP exists: when it appears or goes,
    /// they are recomputed.
    pub peer_names: HashMap<String, BTreeSet<Uuid>>,
    /// The LRP names each datapath names (to forget them).
    pub dp_peer_names: HashMap<Uuid, Vec<String>>,
}

/// A switch port as routers see it: name, `type == "router"`, `options:router-port`.
pub(crate) type RouterLink = (String, bool, Option<String>);

fn is_router_link(lsp: &crate::model::nb::LogicalSwitchPort) -> bool {
    // Whether a switch has a localnet port changes what a distributed gateway port on it
    // answers, so localnet ports count as links too.
    lsp.port_type == "router" || lsp.port_type == "localnet" || lsp.options.contains_key("router-port")
}

/// The ports of switch `ls` that routers' output depends on (a router port's peer is
/// the first router-type port naming it); any other change to the switch or its
/// ports leaves the routers attached to it as they were.
fn router_links(nb: &Northbound, ls: &crate::model::nb::LogicalSwitch) -> Vec<RouterLink> {
    ls.ports
        .iter()
        .filter_map(|p| nb.switch_ports.get(p))
        .filter(|l| is_router_link(l))
        .map(|l| {
            (
                l.name.clone(),
                l.port_type == "router",
                l.options.get("router-port").cloned(),
            )
        })
        .collect()
}

impl Owners {
    pub(crate) fn build(nb: &Northbound) -> Owners {
        let mut o = Owners::default();
        for u in nb.switches.keys().chain(nb.routers.keys()) {
            o.add(nb, u);
        }
        let pgs: Vec<Uuid> = nb.port_groups.keys().cloned().collect();
        o.refresh_port_groups(nb, pgs.iter());
        o
    }

    /// Re-reads the ACLs and spans of port groups `pgs` (after the datapaths they touch
    /// were refreshed).
    pub(crate) fn refresh_port_groups<'a>(&mut self, nb: &Northbound, pgs: impl Iterator<Item = &'a Uuid>) {
        for pg in pgs {
            match nb.port_groups.get(pg).filter(|p| !p.acls.is_empty()) {
                Some(p) => {
                    let span = p
                        .ports
                        .iter()
                        .filter_map(|l| self.child.get(l).cloned())
                        .collect();
                    self.pg_acls.insert(pg.clone(), (p.acls.clone(), span));
                }
                None => {
                    self.pg_acls.remove(pg);
                }
            }
        }
    }

    fn remove(&mut self, dp: &Uuid) {
        self.dps.remove(dp);
        for c in self.children.remove(dp).unwrap_or_default() {
            if self.child.get(&c) == Some(dp) {
                self.child.remove(&c);
                self.link_ports.remove(&c);
            }
        }
        for lb in self.dp_lbs.remove(dp).unwrap_or_default() {
            if let Some(s) = self.lb_users.get_mut(&lb) {
                s.remove(dp);
                if s.is_empty() {
                    self.lb_users.remove(&lb);
                }
            }
        }
        for g in self.dp_groups.remove(dp).unwrap_or_default() {
            if let Some(s) = self.group_users.get_mut(&g) {
                s.remove(dp);
                if s.is_empty() {
                    self.group_users.remove(&g);
                }
            }
        }
        for a in self.dp_acls.remove(dp).unwrap_or_default() {
            if let Some(users) = self.acl_users.get_mut(&a) {
                users.remove(dp);
                if users.is_empty() {
                    self.acl_users.remove(&a);
                }
            }
        }
        for n in self.router_lrps.remove(dp).unwrap_or_default() {
            if self.lrp_router.get(&n) == Some(dp) {
                self.lrp_router.remove(&n);
            }
        }
        self.switch_links.remove(dp);
        for n in self.dp_peer_names.remove(dp).unwrap_or_default() {
            if let Some(s) = self.peer_names.get_mut(&n) {
                s.remove(dp);
                if s.is_empty() {
                    self.peer_names.remove(&n);
                }
            }
        }
    }

    fn add(&mut self, nb: &Northbound, dp: &Uuid) {
        type Parts = (Vec<Uuid>, Vec<Uuid>, Vec<Uuid>);
        let (children, lbs, groups): Parts = if let Some(ls) = nb.switches.get(dp) {
            for a in &ls.acls {
                self.acl_users.entry(a.clone()).or_default().insert(dp.clone());
            }
            self.dp_acls.insert(dp.clone(), ls.acls.clone());
            let links = router_links(nb, ls);
            let names: Vec<String> = links.iter().filter_map(|(_, _, rp)| rp.clone()).collect();
            self.name_peers(dp, names);
            self.switch_links.insert(dp.clone(), links);
            for p in &ls.ports {
                if nb.switch_ports.get(p).is_some_and(is_router_link) {
                    self.link_ports.insert(p.clone());
                }
            }
            let mut c = ls.ports.clone();
            c.extend(ls.qos_rules.iter().cloned());
            (
                c,
                nb.lbs_with_groups(&ls.load_balancers, &ls.load_balancer_groups),
                ls.load_balancer_groups.clone(),
            )
        } else if let Some(lr) = nb.routers.get(dp) {
            let mut names = Vec::new();
            for p in &lr.ports {
                if let Some(lrp) = nb.router_ports.get(p) {
                    self.lrp_router.insert(lrp.name.clone(), dp.clone());
                    names.push(lrp.name.clone());
                }
            }
            self.router_lrps.insert(dp.clone(), names);
            let peers: Vec<String> = lr
                .ports
                .iter()
                .filter_map(|p| nb.router_ports.get(p)?.peer.clone())
                .collect();
            self.name_peers(dp, peers);
            let mut c = lr.ports.clone();
            c.extend(lr.static_routes.iter().cloned());
            c.extend(lr.policies.iter().cloned());
            c.extend(lr.nat.iter().cloned());
            (
                c,
                nb.lbs_with_groups(&lr.load_balancers, &lr.load_balancer_groups),
                lr.load_balancer_groups.clone(),
            )
        } else {
            return;
        };
        self.dps.insert(dp.clone());
        for c in &children {
            self.child.insert(c.clone(), dp.clone());
        }
        for lb in &lbs {
            self.lb_users.entry(lb.clone()).or_default().insert(dp.clone());
        }
        for g in &groups {
            self.group_users.entry(g.clone()).or_default().insert(dp.clone());
        }
        self.children.insert(dp.clone(), children);
        self.dp_lbs.insert(dp.clone(), lbs);
        self.dp_groups.insert(dp.clone(), groups);
    }

    fn name_peers(&mut self, dp: &Uuid, names: Vec<String>) {
        for n in &names {
            self.peer_names.entry(n.clone()).or_default().insert(dp.clone());
        }
        self.dp_peer_names.insert(dp.clone(), names);
    }

    pub(crate) fn refresh_dps(&mut self, nb: &Northbound, dps: &BTreeSet<Uuid>) {
        for d in dps {
            self.remove(d);
        }
        for d in dps {
            self.add(nb, d);
        }
    }
}

/// Warnings after which a local update could differ from a full one. (A missing
/// peer is local: see [`false_missing_peer`].)
pub(crate) fn is_global_warning(w: &Warning) -> bool {
    matches!(
        w,
        Warning::DuplicateName { .. }
            // Port names are global: which router's port is refused depends on all of them.
            | Warning::ChassisRedirectNameTaken { .. }
            | Warning::SharedPort { .. }
            | Warning::Dangling { .. }
            | Warning::KeyConflict { .. }
            | Warning::KeysExhausted { .. }
    )
}

/// A sub-topology's missing peer that a full one would not report: the named LRP
/// exists, on a router outside the context.
pub(crate) fn false_missing_peer(w: &Warning, owners: &Owners, ctx: &BTreeSet<Uuid>) -> bool {
    match w {
        Warning::MissingPeer { peer, .. } => owners.lrp_router.get(peer).is_some_and(|r| !ctx.contains(r)),
        _ => false,
    }
}

/// Routers attached to switch `s` (through router-type ports) in topology `t`.
fn attached_routers(t: &Topology, s: &Uuid, out: &mut BTreeSet<Uuid>) {
    if let Some(dp) = t.datapaths.get(s) {
        for p in &dp.ports {
            if let Some(peer) = t.switch_ports.get(p).and_then(|v| v.peer.as_ref()) {
                out.insert(peer.router.clone());
            }
        }
    }
}

/// The datapaths whose output must be recomputed, and the read-only context around
/// them. `None` means "do a full update".
pub(crate) fn affected(
    nb: &Northbound,
    t: &Topology,
    owners: &Owners,
    ch: &NbChanges,
) -> Option<(BTreeSet<Uuid>, BTreeSet<Uuid>)> {
    let mut d: BTreeSet<Uuid> = BTreeSet::new();
    let mut link_changed: BTreeSet<Uuid> = BTreeSet::new();
    for s in &ch.switches {
        d.insert(s.clone());
        // Routers see only a switch's router-type ports: other changes stay local.
        let now = nb.switches.get(s).map(|ls| router_links(nb, ls));
        if now.as_ref() != owners.switch_links.get(s) {
            link_changed.insert(s.clone());
        }
    }
    for p in &ch.switch_ports {
        if let Some(o) = owners.child.get(p) {
            d.insert(o.clone());
            let now = nb.switch_ports.get(p).is_some_and(is_router_link);
            if now || owners.link_ports.contains(p) {
                link_changed.insert(o.clone());
            }
        }
    }
    for r in ch.routers.iter() {
        d.insert(r.clone());
    }
    for c in ch
        .router_ports
        .iter()
        .chain(&ch.static_routes)
        .chain(&ch.router_policies)
        .chain(&ch.qos)
        .chain(&ch.nats)
    {
        if let Some(o) = owners.child.get(c) {
            d.insert(o.clone());
        }
    }
    if ch.gateway_chassis {
        for (u, lrp) in &nb.router_ports {
            if (!lrp.gateway_chassis.is_empty() || lrp.ha_chassis_group.is_some())
                && let Some(o) = owners.child.get(u)
            {
                d.insert(o.clone());
            }
        }
    }
    for lb in &ch.load_balancers {
        if let Some(us) = owners.lb_users.get(lb) {
            d.extend(us.iter().cloned());
        }
    }
    for g in &ch.load_balancer_groups {
        if let Some(us) = owners.group_users.get(g) {
            d.extend(us.iter().cloned());
        }
    }
    // DHCP options: the switches of the ports that use them.
    if !ch.dhcp_options.is_empty() {
        for (u, lsp) in &nb.switch_ports {
            if lsp
                .dhcpv4_options
                .as_ref()
                .is_some_and(|d| ch.dhcp_options.contains(d))
                && let Some(o) = owners.child.get(u)
            {
                d.insert(o.clone());
            }
        }
    }
    // ACLs: an edited ACL re-resolves the switches it applies to; a port group with ACLs
    // the switches it spanned and spans now. (A switch whose `acls` column changed is
    // dirty already.)
    for a in &ch.acls {
        d.extend(owners.acl_users.get(a).into_iter().flatten().cloned());
        for (acls, span) in owners.pg_acls.values() {
            if acls.contains(a) {
                d.extend(span.iter().cloned());
            }
        }
    }
    for pg in &ch.port_groups {
        if let Some((_, span)) = owners.pg_acls.get(pg) {
            d.extend(span.iter().cloned());
        }
        if let Some(p) = nb.port_groups.get(pg).filter(|p| !p.acls.is_empty()) {
            d.extend(p.ports.iter().filter_map(|l| owners.child.get(l).cloned()));
        }
    }
    // An existing datapath left without a key (exhausted) stays with the full update;
    // created and deleted ones are local (the engine allocates their keys).
    for u in &d {
        let now = nb.switches.contains_key(u) || nb.routers.contains_key(u);
        if now && owners.dps.contains(u) && !t.dp_keys.contains_key(u) {
            return None;
        }
    }
    // Switches whose router links may have changed (deleted ones too) drag their
    // routers in.
    let mut routers = BTreeSet::new();
    for s in &link_changed {
        attached_routers(t, s, &mut routers);
        for p in nb.switches.get(s).into_iter().flat_map(|ls| &ls.ports) {
            if let Some(rp) = nb.switch_ports.get(p).and_then(|l| l.options.get("router-port"))
                && let Some(r) = owners.lrp_router.get(rp)
            {
                routers.insert(r.clone());
            }
        }
    }
    d.extend(routers);
    // A changed (or deleted) router changes what its switches see of it, and its
    // peers' views.
    let dirty_routers: Vec<Uuid> = d
        .iter()
        .filter(|u| nb.routers.contains_key(*u) || t.routers.contains_key(*u))
        .cloned()
        .collect();
    for r in &dirty_routers {
        d.extend(router_neighbours(nb, t, owners, r));
    }
    // Context: every neighbour of a dirty datapath, read but not spliced.
    let mut ctx = d.clone();
    for u in &d {
        if nb.routers.contains_key(u) {
            ctx.extend(router_neighbours(nb, t, owners, u));
        } else {
            attached_routers(t, u, &mut ctx);
            if let Some(ls) = nb.switches.get(u) {
                for p in &ls.ports {
                    if let Some(rp) = nb.switch_ports.get(p).and_then(|l| l.options.get("router-port"))
                        && let Some(r) = owners.lrp_router.get(rp)
                    {
                        ctx.insert(r.clone());
                    }
                }
            }
        }
    }
    Some((d, ctx))
}

/// Switches attached to router `r` and routers peered with it (old and new).
fn router_neighbours(nb: &Northbound, t: &Topology, owners: &Owners, r: &Uuid) -> BTreeSet<Uuid> {
    let mut out = BTreeSet::new();
    let mut lrp_names: Vec<String> = Vec::new();
    if let Some(dp) = t.datapaths.get(r) {
        lrp_names.extend(dp.ports.iter().cloned());
        for p in &dp.ports {
            if let Some((peer, _)) = t.router_ports.get(p).and_then(|v| v.lrp_peer.as_ref())
                && let Some(o) = owners.lrp_router.get(peer)
            {
                out.insert(o.clone());
            }
        }
    }
    if let Some(lr) = nb.routers.get(r) {
        for p in &lr.ports {
            if let Some(lrp) = nb.router_ports.get(p) {
                lrp_names.push(lrp.name.clone());
                if let Some(o) = lrp.peer.as_ref().and_then(|peer| owners.lrp_router.get(peer)) {
                    out.insert(o.clone());
                }
            }
        }
    }
    // Switches: through the router ports' peers in the old topology...
    for n in &lrp_names {
        if let Some(PortOwner::Router { peer: Some(lsp), .. }) = t.ports.get(n).map(|p| &p.owner)
            && let Some(sp) = t.switch_ports.get(lsp)
        {
            out.insert(sp.datapath.clone());
        }
    }
    // ... and datapaths naming any of its ports, resolved or not (a port that appears
    // resolves them, one that goes leaves them dangling).
    for n in &lrp_names {
        out.extend(owners.peer_names.get(n).into_iter().flatten().cloned());
    }
    out.remove(r);
    out
}

/// Copies the load balancers a datapath applies, and its groups, into a sub-input.
fn copy_lbs(nb: &Northbound, s: &mut Northbound, own: &[Uuid], groups: &[Uuid]) {
    for g in groups {
        if let Some(r) = nb.load_balancer_groups.get(g) {
            s.load_balancer_groups.insert(g.clone(), r.clone());
        }
    }
    for lb in nb.lbs_with_groups(own, groups) {
        if let Some(r) = nb.load_balancers.get(&lb) {
            s.load_balancers.insert(lb, r.clone());
        }
    }
}

/// A copy of the NB restricted to `ctx` datapaths and the rows they reference.
pub(crate) fn sub_northbound(nb: &Northbound, ctx: &BTreeSet<Uuid>) -> Northbound {
    let mut s = Northbound {
        nb_global: nb.nb_global.clone(),
        ..Default::default()
    };
    // Port groups with ACLs decide which ACLs apply to the switches in `ctx`.
    for (u, pg) in nb.port_groups.iter().filter(|(_, p)| !p.acls.is_empty()) {
        s.port_groups.insert(u.clone(), pg.clone());
        for a in &pg.acls {
            if let Some(r) = nb.acls.get(a) {
                s.acls.insert(a.clone(), r.clone());
            }
        }
    }
    for u in ctx {
        if let Some(ls) = nb.switches.get(u) {
            for p in &ls.ports {
                if let Some(r) = nb.switch_ports.get(p) {
                    if let Some(d) = &r.dhcpv4_options
                        && let Some(o) = nb.dhcp_options.get(d)
                    {
                        s.dhcp_options.insert(d.clone(), o.clone());
                    }
                    s.switch_ports.insert(p.clone(), r.clone());
                }
            }
            copy_lbs(nb, &mut s, &ls.load_balancers, &ls.load_balancer_groups);
            for q in &ls.qos_rules {
                if let Some(r) = nb.qos.get(q) {
                    s.qos.insert(q.clone(), r.clone());
                }
            }
            for a in &ls.acls {
                if let Some(r) = nb.acls.get(a) {
                    s.acls.insert(a.clone(), r.clone());
                }
            }
            s.switches.insert(u.clone(), ls.clone());
        } else if let Some(lr) = nb.routers.get(u) {
            for p in &lr.ports {
                if let Some(r) = nb.router_ports.get(p) {
                    for g in &r.gateway_chassis {
                        if let Some(row) = nb.gateway_chassis.get(g) {
                            s.gateway_chassis.insert(g.clone(), row.clone());
                        }
                    }
                    if let Some(g) = &r.ha_chassis_group
                        && let Some(grp) = nb.ha_chassis_groups.get(g)
                    {
                        for h in &grp.ha_chassis {
                            if let Some(row) = nb.ha_chassis.get(h) {
                                s.ha_chassis.insert(h.clone(), row.clone());
                            }
                        }
                        s.ha_chassis_groups.insert(g.clone(), grp.clone());
                    }
                    s.router_ports.insert(p.clone(), r.clone());
                }
            }
            for p in &lr.static_routes {
                if let Some(r) = nb.static_routes.get(p) {
                    s.static_routes.insert(p.clone(), r.clone());
                }
            }
            for p in &lr.policies {
                if let Some(r) = nb.router_policies.get(p) {
                    s.router_policies.insert(p.clone(), r.clone());
                }
            }
            for n in &lr.nat {
                if let Some(r) = nb.nats.get(n) {
                    s.nats.insert(n.clone(), r.clone());
                }
            }
            copy_lbs(nb, &mut s, &lr.load_balancers, &lr.load_balancer_groups);
            s.routers.insert(u.clone(), lr.clone());
        }
    }
    s
}

/// Flow sources a datapath owns in `t`.
pub(crate) fn dp_sources(t: &Topology, dp: &Uuid, lbs: &[Uuid], out: &mut BTreeSet<FlowSource>) {
    if t.switches.contains_key(dp) {
        out.insert(FlowSource::Switch(dp.clone()));
    }
    if t.routers.contains_key(dp) {
        out.insert(FlowSource::Router(dp.clone()));
    }
    if let Some(d) = t.datapaths.get(dp) {
        for p in &d.ports {
            if t.switch_ports.contains_key(p) {
                out.insert(FlowSource::SwitchPort(p.clone()));
            }
            if t.router_ports.contains_key(p) {
                out.insert(FlowSource::RouterPort(p.clone()));
            }
        }
    }
    for lb in lbs {
        if t.lbs.contains_key(&(lb.clone(), dp.clone())) {
            out.insert(FlowSource::LoadBalancer {
                lb: lb.clone(),
                datapath: dp.clone(),
            });
        }
    }
}

/// Moves the entries of datapaths `d` from `sub` into `t` (removing `t`'s old ones).
pub(crate) fn splice(
    t: &mut Topology,
    sub: &mut Topology,
    d: &BTreeSet<Uuid>,
    old_lbs: &HashMap<Uuid, Vec<Uuid>>,
) {
    for u in d {
        if let Some(old) = t.datapaths.remove(u) {
            for p in &old.ports {
                t.switch_ports.remove(p);
                t.router_ports.remove(p);
                t.ports.remove(p);
                t.port_keys.remove(p);
            }
        }
        t.switches.remove(u);
        t.routers.remove(u);
        t.router_lb_ips.remove(u);
        t.router_nat_ips.remove(u);
        for lb in old_lbs.get(u).into_iter().flatten() {
            t.lbs.remove(&(lb.clone(), u.clone()));
        }
    }
    for u in d {
        let Some(dp) = sub.datapaths.remove(u) else {
            continue;
        };
        for p in &dp.ports {
            if let Some(v) = sub.switch_ports.remove(p) {
                t.switch_ports.insert(p.clone(), v);
            }
            if let Some(v) = sub.router_ports.remove(p) {
                t.router_ports.insert(p.clone(), v);
            }
            if let Some(v) = sub.ports.remove(p) {
                t.ports.insert(p.clone(), v);
            }
            if let Some(k) = sub.port_keys.remove(p) {
                t.port_keys.insert(p.clone(), k);
            }
        }
        t.datapaths.insert(u.clone(), dp);
        if let Some(v) = sub.switches.remove(u) {
            t.switches.insert(u.clone(), v);
        }
        if let Some(v) = sub.routers.remove(u) {
            t.routers.insert(u.clone(), v);
        }
        if let Some(v) = sub.router_lb_ips.remove(u) {
            t.router_lb_ips.insert(u.clone(), v);
        }
        if let Some(v) = sub.router_nat_ips.remove(u) {
            t.router_nat_ips.insert(u.clone(), v);
        }
    }
    let keys: Vec<(Uuid, Uuid)> = sub.lbs.keys().filter(|(_, dp)| d.contains(dp)).cloned().collect();
    for k in keys {
        if let Some(v) = sub.lbs.remove(&k) {
            t.lbs.insert(k, v);
        }
    }
    for (u, p) in std::mem::take(&mut sub.parsed_lbs) {
        t.parsed_lbs.insert(u, p);
    }
}

/// Replaces `out`'s rows of datapaths `d` (and everything derived from them) with
/// those built from `t`, recording the difference in `diff`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rebind(
    nb: &Northbound,
    t: &Topology,
    mut fresh: Southbound,
    d: &BTreeSet<Uuid>,
    lbs: &BTreeMap<Uuid, BTreeSet<Uuid>>,
    named_sets: bool,
    old_ports: &BTreeSet<String>,
    out: &mut Southbound,
    diff: &mut SbDiff,
) {
    // Router LB address sets are named after the datapath key: old and new names.
    let mut lb_sets: BTreeSet<String> = BTreeSet::new();
    let mut lb_set_names = |out: &Southbound| {
        for u in d {
            if let Some(dp) = out.datapaths.get(u) {
                for suffix in ["ip4", "ip6"] {
                    lb_sets.insert(format!("_rtr_lb_{}_{suffix}", dp.tunnel_key));
                }
            }
        }
    };
    lb_set_names(out);
    // Datapaths.
    for u in d {
        patch(
            &mut out.datapaths,
            u.clone(),
            fresh.datapaths.remove(u),
            &mut diff.datapaths,
        );
    }
    // Port bindings: old ports of d, new ports of d.
    let mut names: BTreeSet<String> = old_ports.clone();
    for u in d {
        if let Some(dp) = t.datapaths.get(u) {
            names.extend(dp.ports.iter().cloned());
        }
    }
    // HA chassis groups named by those ports before or after (one NB group may serve
    // ports of datapaths outside d: it stays while any port names it).
    let ha_group =
        |out: &Southbound, n: &String| out.port_bindings.get(n).and_then(|p| p.ha_chassis_group.clone());
    let mut groups: BTreeSet<String> = names.iter().filter_map(|n| ha_group(out, n)).collect();
    for n in &names {
        let new = fresh.port_bindings.remove(n).filter(|p| d.contains(&p.datapath));
        patch(&mut out.port_bindings, n.clone(), new, &mut diff.port_bindings);
    }
    groups.extend(names.iter().filter_map(|n| ha_group(out, n)));
    for g in groups {
        let named = || {
            out.port_bindings
                .values()
                .any(|p| p.ha_chassis_group.as_ref() == Some(&g))
        };
        let new = match fresh.ha_chassis_groups.remove(&g) {
            Some(v) => Some(v),
            None if named() => out.ha_chassis_groups.get(&g).cloned(),
            None => None,
        };
        patch(&mut out.ha_chassis_groups, g, new, &mut diff.ha_chassis_groups);
    }
    // Multicast groups.
    for u in d {
        for mc in ["_MC_flood", "_MC_unknown", "_MC_flood_l2"] {
            let k = (u.clone(), mc.to_string());
            let new = fresh.multicast_groups.remove(&k);
            patch(&mut out.multicast_groups, k, new, &mut diff.multicast_groups);
        }
    }
    // Load balancers used by d (their datapath lists span the whole NB).
    for (lb, users) in lbs {
        let new = bindings::load_balancer(nb, t, out, lb, users);
        patch(&mut out.load_balancers, lb.clone(), new, &mut diff.load_balancers);
    }
    // Router LB address sets.
    lb_set_names(out);
    for name in lb_sets {
        let new = fresh.address_sets.remove(&name);
        patch(&mut out.address_sets, name, new, &mut diff.address_sets);
    }
    if named_sets || !nb.port_groups.is_empty() {
        let mut sets = Southbound {
            options: out.options.clone(),
            datapaths: std::mem::take(&mut out.datapaths),
            ..Default::default()
        };
        bindings::address_sets(nb, t, &mut sets);
        out.datapaths = std::mem::take(&mut sets.datapaths);
        sync_map(&mut out.address_sets, sets.address_sets, &mut diff.address_sets);
        sync_map(&mut out.port_groups, sets.port_groups, &mut diff.port_groups);
    }
}

fn patch<K: Ord + Clone, V: PartialEq + Clone>(
    map: &mut BTreeMap<K, V>,
    k: K,
    new: Option<V>,
    d: &mut TableDiff<K, V>,
) {
    match (map.get(&k), new) {
        (None, None) => {}
        (Some(_), None) => {
            map.remove(&k);
            d.delete.push(k);
        }
        (None, Some(v)) => {
            d.insert.push((k.clone(), v.clone()));
            map.insert(k, v);
        }
        (Some(o), Some(v)) => {
            if *o != v {
                d.update.push((k.clone(), v.clone()));
                map.insert(k, v);
            }
        }
    }
}

/// Makes `map` equal to `want`, recording the difference.
fn sync_map<K: Ord + Clone, V: PartialEq + Clone>(
    map: &mut BTreeMap<K, V>,
    want: BTreeMap<K, V>,
    d: &mut TableDiff<K, V>,
) {
    let gone: Vec<K> = map.keys().filter(|k| !want.contains_key(*k)).cloned().collect();
    for k in gone {
        patch(map, k, None, d);
    }
    for (k, v) in want {
        patch(map, k, Some(v), d);
    }
}

/// Adds and removes flows with reference counts, recording 0↔1 transitions.
pub(crate) fn add_flow(
    refcount: &mut HashMap<LogicalFlow, u32>,
    flows: &mut std::collections::BTreeSet<LogicalFlow>,
    f: &LogicalFlow,
    d: &mut SetDiff<LogicalFlow>,
) {
    let c = refcount.entry(f.clone()).or_insert(0);
    *c += 1;
    if *c == 1 {
        flows.insert(f.clone());
        d.insert.push(f.clone());
    }
}

pub(crate) fn remove_flow(
    refcount: &mut HashMap<LogicalFlow, u32>,
    flows: &mut std::collections::BTreeSet<LogicalFlow>,
    f: LogicalFlow,
    d: &mut SetDiff<LogicalFlow>,
) {
    if let Some(c) = refcount.get_mut(&f) {
        *c -= 1;
        if *c == 0 {
            refcount.remove(&f);
            flows.remove(&f);
            d.delete.push(f);
        }
    }
}

/// Cancels flows both inserted and deleted in one update (a source's flows recomputed
/// to the same content).
pub(crate) fn normalize(d: &mut SetDiff<LogicalFlow>) {
    if d.insert.is_empty() || d.delete.is_empty() {
        return;
    }
    let ins: BTreeSet<LogicalFlow> = d.insert.drain(..).collect();
    let del: BTreeSet<LogicalFlow> = d.delete.drain(..).collect();
    d.insert = ins.difference(&del).cloned().collect();
    d.delete = del.difference(&ins).cloned().collect();
}
