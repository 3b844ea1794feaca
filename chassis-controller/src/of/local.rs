//! Which datapaths and ports are "local" to this chassis.
//!
//! Local datapaths (ovn-controller's `local_datapaths`): every datapath with
//! a local VIF, every datapath with an `l3gateway` port resident here or a
//! `chassisredirect` port bound here (this chassis is the gateway of a distributed
//! gateway port), and everything reachable from those through `patch` ports
//! (`options:peer`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use lflow::FxHashMap;

use super::state::{LocalState, PortBinding};

/// Port-binding types that are bound to a chassis by plugging a VIF.
fn is_vif_type(t: &str) -> bool {
    matches!(t, "" | "virtual" | "external")
}

/// Indexes over a [`LocalState`] used by flow computation.
#[derive(Debug)]
pub struct Topology<'a> {
    pub state: &'a LocalState,
    /// Tunnel keys of the local datapaths.
    pub local_datapaths: BTreeSet<u32>,
    /// Port bindings by logical port name.
    pub ports: BTreeMap<&'a str, &'a Arc<PortBinding>>,
    /// Port bindings by (datapath key, port key).
    pub ports_by_key: BTreeMap<(u32, u32), &'a PortBinding>,
    /// (DNAT zone, SNAT zone) by datapath key.
    dp_zones: FxHashMap<u32, (u16, u16)>,
    /// The localnet port plugged here (it has a patch port to its provider
    /// bridge) of each local datapath that has one; the first by name wins.
    localnet: FxHashMap<u32, &'a PortBinding>,
}

impl<'a> Topology<'a> {
    pub fn new(state: &'a LocalState) -> Topology<'a> {
        let ports: BTreeMap<&str, &Arc<PortBinding>> = state
            .port_bindings
            .iter()
            .map(|p| (p.logical_port.as_str(), p))
            .collect();
        let ports_by_key = state
            .port_bindings
            .iter()
            .map(|p| ((p.datapath, p.tunnel_key), &**p))
            .collect();
        // Looked up for every port: computed once instead of formatting the
        // zone names each time.
        let mut dp_zones = FxHashMap::default();
        dp_zones.reserve(state.datapaths.len());
        for d in &state.datapaths {
            // The first datapath with a key wins, as `LocalState::datapath`.
            dp_zones.entry(d.tunnel_key).or_insert_with(|| {
                (
                    state.zone(&format!("{}_dnat", d.uuid)),
                    state.zone(&format!("{}_snat", d.uuid)),
                )
            });
        }
        let mut topo = Topology {
            state,
            local_datapaths: BTreeSet::new(),
            ports,
            ports_by_key,
            dp_zones,
            localnet: FxHashMap::default(),
        };
        topo.local_datapaths = topo.compute_local_datapaths();
        for pb in &state.port_bindings {
            if pb.port_type == "localnet"
                && topo.local_datapaths.contains(&pb.datapath)
                && state.localnet_ofports.contains_key(&pb.logical_port)
            {
                topo.localnet.entry(pb.datapath).or_insert(&**pb);
            }
        }
        topo
    }

    fn compute_local_datapaths(&self) -> BTreeSet<u32> {
        let mut queue: VecDeque<u32> = VecDeque::new();
        for pb in &self.state.port_bindings {
            if self.is_local_vif(pb) || self.is_resident_l3gateway(pb) || self.is_local_chassisredirect(pb) {
                queue.push_back(pb.datapath);
            }
        }
        let mut patches: BTreeMap<u32, Vec<&Arc<PortBinding>>> = BTreeMap::new();
        for pb in &self.state.port_bindings {
            if pb.port_type == "patch" || self.is_resident_l3gateway(pb) {
                patches.entry(pb.datapath).or_default().push(pb);
            }
        }
        let mut seen = BTreeSet::new();
        while let Some(dp) = queue.pop_front() {
            if !self.dp_zones.contains_key(&dp) || !seen.insert(dp) {
                continue;
            }
            for pb in patches.get(&dp).into_iter().flatten() {
                if let Some(peer) = pb.peer().and_then(|p| self.ports.get(p)) {
                    queue.push_back(peer.datapath);
                }
            }
        }
        seen
    }

    /// A VIF-type port with a local interface (listed in `vif_ofports`)
    /// that is not bound to another chassis (an interface whose port is
    /// bound elsewhere, e.g. by `requested-chassis`, is not local; one not
    /// bound yet is, while this chassis claims it). Localports are local
    /// wherever they have an interface.
    pub fn is_local_vif(&self, pb: &PortBinding) -> bool {
        let me = self.state.chassis_name.as_str();
        let vif = is_vif_type(&pb.port_type) && pb.chassis.as_deref().is_none_or(|c| c == me);
        (vif || pb.port_type == "localport") && self.vif_ofport(pb).is_some()
    }

    /// The local OpenFlow port of a VIF, if plugged here.
    pub fn vif_ofport(&self, pb: &PortBinding) -> Option<u32> {
        self.state
            .vif_ofports
            .get(&pb.logical_port)
            .copied()
            .filter(|&p| p > 0)
    }

    /// The localnet port plugged on this chassis for datapath `dp`, if any:
    /// the datapath then reaches other chassis over the provider network
    /// rather than tunnels.
    pub fn localnet_port(&self, dp: u32) -> Option<&'a PortBinding> {
        self.localnet.get(&dp).copied()
    }

    /// The patch port on br-int of `pb` if it is the plugged localnet port
    /// of its datapath.
    pub fn localnet_ofport(&self, pb: &PortBinding) -> Option<u32> {
        let ln = self.localnet_port(pb.datapath)?;
        (ln.logical_port == pb.logical_port)
            .then(|| self.state.localnet_ofports.get(&pb.logical_port).copied())
            .flatten()
    }

    /// The key of the localnet port that output to `pb` is switched to: a
    /// VIF-type port not plugged here on a datapath with a plugged localnet
    /// port (bound elsewhere or not at all, as ovn-controller does).
    pub fn localnet_redirect(&self, pb: &PortBinding) -> Option<u32> {
        if !is_vif_type(&pb.port_type) || self.is_local_vif(pb) {
            return None;
        }
        self.localnet_port(pb.datapath).map(|ln| ln.tunnel_key)
    }

    /// An `l3gateway` port whose gateway chassis is this one.
    pub fn is_resident_l3gateway(&self, pb: &PortBinding) -> bool {
        pb.port_type == "l3gateway" && pb.l3gateway_chassis() == Some(self.state.chassis_name.as_str())
    }

    /// A `chassisredirect` port bound to this chassis (the active gateway of its
    /// distributed gateway port).
    pub fn is_local_chassisredirect(&self, pb: &PortBinding) -> bool {
        pb.port_type == "chassisredirect" && pb.chassis.as_deref() == Some(self.state.chassis_name.as_str())
    }

    /// For a `chassisredirect` port bound here: its distributed port
    /// (`options:distributed-port`, on the same datapath), which output to it
    /// becomes; `Some(None)` when that port is missing (output is dropped).
    pub fn redirect_target(&self, pb: &PortBinding) -> Option<Option<&'a Arc<PortBinding>>> {
        if !self.is_local_chassisredirect(pb) {
            return None;
        }
        let d = pb
            .options
            .get("distributed-port")
            .and_then(|n| self.ports.get(n.as_str()));
        Some(d.filter(|d| d.datapath == pb.datapath).copied())
    }

    /// A patch port (or resident l3gateway port) on a local datapath whose
    /// peer is known: output to it hops into the peer datapath.
    pub fn patch_peer(&self, pb: &PortBinding) -> Option<&'a Arc<PortBinding>> {
        if !(pb.port_type == "patch" || self.is_resident_l3gateway(pb)) {
            return None;
        }
        let peer = self.ports.get(pb.peer()?)?;
        self.local_datapaths.contains(&peer.datapath).then_some(*peer)
    }

    /// The remote chassis hosting `pb` and the tunnel port toward it, if
    /// the port is a VIF bound elsewhere.
    pub fn remote_tunnel(&self, pb: &PortBinding) -> Option<(&'a str, u32)> {
        if !(is_vif_type(&pb.port_type) || pb.port_type == "chassisredirect" || pb.port_type == "l3gateway") {
            return None;
        }
        if self.is_local_vif(pb) {
            return None;
        }
        let ch = if pb.port_type == "l3gateway" {
            pb.l3gateway_chassis()?
        } else {
            pb.chassis.as_deref()?
        };
        if ch == self.state.chassis_name {
            return None;
        }
        let (name, ofport) = self.state.tunnel_ofports.get_key_value(ch)?;
        Some((name.as_str(), *ofport))
    }

    /// Whether the port with `key` on datapath `dp` counts as local for
    /// logical-flow filtering (ovn-controller's "related" ports): everything
    /// except VIF-type ports that are not plugged here.
    pub fn is_related_port(&self, dp: u32, key: u32) -> bool {
        match self.ports_by_key.get(&(dp, key)) {
            Some(pb) => !is_vif_type(&pb.port_type) || self.is_local_vif(pb),
            // Multicast groups and unknown keys: keep.
            None => true,
        }
    }

    /// Conntrack zones (port zone, DNAT zone, SNAT zone) for a port.
    pub fn zones(&self, pb: &PortBinding) -> (u16, u16, u16) {
        let ct = self.state.zone(&pb.logical_port);
        let (dnat, snat) = self.dp_zones(pb.datapath);
        (ct, dnat, snat)
    }

    /// (DNAT zone, SNAT zone) of a datapath.
    pub fn dp_zones(&self, dp: u32) -> (u16, u16) {
        self.dp_zones.get(&dp).copied().unwrap_or((0, 0))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::of::state::{Datapath, Encap, MulticastGroup};

    pub(crate) fn dp(uuid: &str, key: u32, switch: bool) -> Datapath {
        let mut d = Datapath {
            uuid: uuid.into(),
            tunnel_key: key,
            is_switch: switch,
            ..Default::default()
        };
        d.external_ids.insert(
            if switch {
                "logical-switch"
            } else {
                "logical-router"
            }
            .into(),
            format!("nb-{uuid}"),
        );
        d
    }

    pub(crate) fn port(name: &str, dp: u32, key: u32, ty: &str) -> PortBinding {
        PortBinding {
            uuid: format!("{key:08x}-0000-0000-0000-{dp:012x}"),
            logical_port: name.into(),
            datapath: dp,
            tunnel_key: key,
            port_type: ty.into(),
            ..Default::default()
        }
    }

    /// ls1 (key 1) {vm1 local on ofport 1, vm2 on hv2, ls1-lr1 patch},
    /// lr1 (key 2) {lr1-ls1, lr1-ls2}, ls2 (key 3) {ls2-lr1, vm3 on hv2};
    /// ls9 (key 9) unrelated. Tunnel to hv2 on ofport 5.
    pub(crate) fn sample() -> LocalState {
        let mut s = LocalState {
            chassis_name: "hv1".into(),
            ..Default::default()
        };
        s.datapaths = vec![
            dp("d1000000-0000-0000-0000-000000000001", 1, true),
            dp("d2000000-0000-0000-0000-000000000002", 2, false),
            dp("d3000000-0000-0000-0000-000000000003", 3, true),
            dp("d9000000-0000-0000-0000-000000000009", 9, true),
        ];
        let mut vm1 = port("vm1", 1, 1, "");
        vm1.chassis = Some("hv1".into());
        vm1.mac = vec!["50:54:00:00:00:01 10.0.1.11".into()];
        vm1.port_security = vec!["50:54:00:00:00:01 10.0.1.11".into()];
        let mut vm2 = port("vm2", 1, 2, "");
        vm2.chassis = Some("hv2".into());
        vm2.mac = vec!["50:54:00:00:00:02 10.0.1.12".into()];
        let mut ls1_lr1 = port("ls1-lr1", 1, 3, "patch");
        ls1_lr1.options.insert("peer".into(), "lr1-ls1".into());
        ls1_lr1.mac = vec!["router".into()];
        let mut lr1_ls1 = port("lr1-ls1", 2, 1, "patch");
        lr1_ls1.options.insert("peer".into(), "ls1-lr1".into());
        lr1_ls1.mac = vec!["00:00:00:00:ff:01 10.0.1.1/24".into()];
        let mut lr1_ls2 = port("lr1-ls2", 2, 2, "patch");
        lr1_ls2.options.insert("peer".into(), "ls2-lr1".into());
        let mut ls2_lr1 = port("ls2-lr1", 3, 1, "patch");
        ls2_lr1.options.insert("peer".into(), "lr1-ls2".into());
        let mut vm3 = port("vm3", 3, 2, "");
        vm3.chassis = Some("hv2".into());
        let mut vm9 = port("vm9", 9, 1, "");
        vm9.chassis = Some("hv2".into());
        s.port_bindings = [vm1, vm2, ls1_lr1, lr1_ls1, lr1_ls2, ls2_lr1, vm3, vm9]
            .into_iter()
            .map(Arc::new)
            .collect();
        s.multicast_groups = vec![MulticastGroup {
            datapath: 1,
            name: "_MC_flood".into(),
            tunnel_key: 32768,
            ports: vec!["vm1".into(), "vm2".into(), "ls1-lr1".into()],
        }];
        s.chassis.insert(
            "hv2".into(),
            vec![Encap {
                encap_type: "geneve".into(),
                ip: "192.168.0.2".into(),
                csum: true,
            }],
        );
        s.vif_ofports.insert("vm1".into(), 1);
        s.tunnel_ofports.insert("hv2".into(), 5);
        s.ct_zones.insert("vm1".into(), 1);
        s.ct_zones
            .insert("d1000000-0000-0000-0000-000000000001_dnat".into(), 2);
        s.ct_zones
            .insert("d1000000-0000-0000-0000-000000000001_snat".into(), 3);
        s.ct_zones
            .insert("d2000000-0000-0000-0000-000000000002_dnat".into(), 4);
        s.ct_zones
            .insert("d2000000-0000-0000-0000-000000000002_snat".into(), 5);
        s
    }

    #[test]
    fn local_datapaths_follow_patch_ports() {
        let s = sample();
        let t = Topology::new(&s);
        assert_eq!(t.local_datapaths, BTreeSet::from([1, 2, 3]));
    }

    #[test]
    fn nothing_local_without_vifs() {
        let mut s = sample();
        s.vif_ofports.clear();
        assert!(Topology::new(&s).local_datapaths.is_empty());
    }

    #[test]
    fn l3gateway_resident_here_is_local() {
        let mut s = sample();
        s.vif_ofports.clear();
        let mut gw = port("gw-ext", 9, 5, "l3gateway");
        gw.options.insert("l3gateway-chassis".into(), "hv1".into());
        s.port_bindings.push(Arc::new(gw));
        assert_eq!(Topology::new(&s).local_datapaths, BTreeSet::from([9]));
    }

    #[test]
    fn interface_of_a_port_bound_elsewhere_is_not_local() {
        let mut s = sample();
        s.vif_ofports.insert("vm2".into(), 7);
        let t = Topology::new(&s);
        let vm2 = s.port("vm2").unwrap();
        assert!(!t.is_local_vif(vm2));
        assert_eq!(t.remote_tunnel(vm2), Some(("hv2", 5)));
        let mut s2 = s.clone();
        Arc::make_mut(
            s2.port_bindings
                .iter_mut()
                .find(|p| p.logical_port == "vm2")
                .unwrap(),
        )
        .chassis = None;
        let t2 = Topology::new(&s2);
        assert!(t2.is_local_vif(s2.port("vm2").unwrap()));
    }

    #[test]
    fn related_ports() {
        let s = sample();
        let t = Topology::new(&s);
        assert!(t.is_related_port(1, 1)); // vm1, local
        assert!(!t.is_related_port(1, 2)); // vm2, remote
        assert!(t.is_related_port(1, 3)); // patch
        assert!(t.is_related_port(1, 32768)); // multicast group
        assert_eq!(t.remote_tunnel(s.port("vm2").unwrap()), Some(("hv2", 5)));
        assert_eq!(t.remote_tunnel(s.port("vm1").unwrap()), None);
    }
}
