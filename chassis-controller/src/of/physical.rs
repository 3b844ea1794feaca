//! Physical flows (ovn-controller's physical.c plus the port-security and
//! MAC-binding tables): tables 0, 37–41, 64, 65, 66/67 and 73–75.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use openflow::{Action, Field, Match, SubField};

use super::addresses::{ipv4_match, ipv6_lla, ipv6_match, parse_lport_addresses};
use super::flow_table::{Flow, FlowTable};
use super::local::Topology;
use super::state::PortBinding;
use super::tables::*;

/// Tunnel encapsulation toward a remote chassis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncapType {
    Geneve,
    Stt,
    Vxlan,
}

fn set(field: Field, value: u128) -> Action {
    Action::SetField {
        field,
        value,
        mask: None,
    }
}

fn set_masked(field: Field, value: u128, mask: u128) -> Action {
    Action::SetField {
        field,
        value,
        mask: Some(mask),
    }
}

fn mv(src: Field, src_lo: u16, dst: Field, dst_lo: u16, n_bits: u16) -> Action {
    Action::Move {
        src: SubField {
            field: src,
            ofs: src_lo,
            n_bits,
        },
        dst: SubField {
            field: dst,
            ofs: dst_lo,
            n_bits,
        },
    }
}

fn port_match(dp: u32, reg: Field, key: u32) -> Match {
    Match::new()
        .with(LOG_DATAPATH, u128::from(dp))
        .with(reg, u128::from(key))
}

/// Loads of the conntrack zone registers (only nonzero zones, as OVN).
fn put_zones(out: &mut Vec<Action>, zones: (u16, u16, u16)) {
    let (ct, dnat, snat) = zones;
    if ct != 0 {
        out.push(set(LOG_CT_ZONE, u128::from(ct)));
    }
    if dnat != 0 {
        out.push(set(LOG_DNAT_ZONE, u128::from(dnat)));
    }
    if snat != 0 {
        out.push(set(LOG_SNAT_ZONE, u128::from(snat)));
    }
}

/// Sets `in_port` to 0 (no port), so that output to the packet's original
/// input port is not suppressed. OVS rejects an OpenFlow 1.5 set-field on
/// `OXM_OF_IN_PORT` (ovs-ofctl encodes `load:...->in_port` as a Nicira
/// reg_load on the 16-bit `NXM_OF_IN_PORT`, which the codec does not
/// offer), so the value is copied from reg0, which is saved and restored.
fn clear_in_port() -> Vec<Action> {
    vec![
        Action::Push(SubField::full(Field::Reg(0))),
        set(Field::Reg(0), 0),
        Action::Move {
            src: SubField::full(Field::Reg(0)),
            dst: SubField::full(Field::InPort),
        },
        Action::Pop(SubField::full(Field::Reg(0))),
    ]
}

/// The physical flows for this chassis. `tun_index` is the `tun_metadataN`
/// the Geneve option is mapped to (see `ofctrl`).
pub fn physical_flows(topo: &Topology<'_>, tun_index: u8) -> FlowTable {
    let tunmd = tun_metadata(tun_index);
    let mut v = Vec::new();
    head_flows(topo, tunmd, &mut v);
    for pb in &topo.state.port_bindings {
        if topo.local_datapaths.contains(&pb.datapath) {
            local_port_flows(topo, pb, tunmd, &mut v);
        }
    }
    tail_flows(topo, tunmd, &mut v);
    v.into_iter().collect()
}

/// The flows that precede every port's (a later flow with the same key
/// loses): the defaults and tunnel ingress.
pub fn head_flows(topo: &Topology<'_>, tunmd: Field, t: &mut Vec<Flow>) {
    default_flows(t);
    tunnel_ingress_flows(topo, tunmd, t);
}

/// The flows of one port of a local datapath. They depend only on the
/// answers [`PortInputs`] collects.
pub fn local_port_flows(topo: &Topology<'_>, pb: &PortBinding, tunmd: Field, t: &mut Vec<Flow>) {
    port_flows(topo, pb, tunmd, t);
    port_security_flows(topo, pb, t);
}

/// The flows that follow every port's: multicast groups, MAC bindings, FDB
/// and load-balancer hairpin.
pub fn tail_flows(topo: &Topology<'_>, tunmd: Field, t: &mut Vec<Flow>) {
    multicast_flows(topo, tunmd, t);
    mac_binding_flows(topo, t);
    fdb_flows(topo, t);
    super::hairpin::hairpin_flows(topo, t);
}

/// Conntrack zones of a port: (port zone, DNAT zone, SNAT zone).
pub type Zones = (u16, u16, u16);

/// Everything [`local_port_flows`] reads besides the port's own row, so that
/// equal inputs mean equal flows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInputs {
    pub tunmd: Field,
    /// The local VIF's OpenFlow port (`None`: not a local VIF).
    pub local_vif: Option<Option<u32>>,
    pub zones: Zones,
    /// The patch peer, its zones and whether it is a resident l3gateway port.
    pub peer: Option<(Arc<PortBinding>, Zones, bool)>,
    /// The tunnel toward the chassis hosting the port, and its encapsulation.
    pub remote: Option<(u32, EncapType)>,
    /// The port's patch port if it is its datapath's plugged localnet port.
    pub localnet_ofport: Option<u32>,
    /// The localnet port output to this (remote) port is switched to.
    pub localnet_redirect: Option<u32>,
    /// A local chassisredirect port's distributed port: its key and zones.
    pub redirect: Option<Option<(u32, Zones)>>,
}

impl PortInputs {
    pub fn new(topo: &Topology<'_>, pb: &PortBinding, tunmd: Field) -> PortInputs {
        let peer = topo
            .patch_peer(pb)
            .map(|p| ((*p).clone(), topo.zones(p), topo.is_resident_l3gateway(p)));
        let remote = topo
            .remote_tunnel(pb)
            .map(|(chassis, ofport)| (ofport, encap_type(topo, chassis)));
        PortInputs {
            tunmd,
            local_vif: topo.is_local_vif(pb).then(|| topo.vif_ofport(pb)),
            zones: topo.zones(pb),
            peer,
            remote,
            localnet_ofport: topo.localnet_ofport(pb),
            localnet_redirect: topo.localnet_redirect(pb),
            redirect: topo
                .redirect_target(pb)
                .map(|d| d.map(|d| (d.tunnel_key, topo.zones(d)))),
        }
    }
}

fn default_flows(t: &mut Vec<Flow>) {
    t.push(Flow::new(PHY_TO_LOG, 0, Match::new(), vec![]));
    t.push(Flow::new(
        OUTPUT_LARGE_PKT_DETECT,
        0,
        Match::new(),
        vec![Action::resubmit(REMOTE_OUTPUT)],
    ));
    t.push(Flow::new(
        OUTPUT_LARGE_PKT_PROCESS,
        10,
        Match::new().with_masked(
            LOG_FLAGS,
            u128::from(FLAG_ALLOW_LOOPBACK),
            u128::from(FLAG_ALLOW_LOOPBACK),
        ),
        vec![Action::resubmit(LOCAL_OUTPUT)],
    ));
    t.push(Flow::new(
        OUTPUT_LARGE_PKT_PROCESS,
        0,
        Match::new(),
        vec![Action::resubmit(REMOTE_OUTPUT)],
    ));
    // Local-only traffic, and traffic from a ramp switch unless loopback is
    // allowed, stays on this chassis.
    for (value, mask) in [
        (FLAG_LOCAL_ONLY, FLAG_LOCAL_ONLY),
        (FLAG_RCV_FROM_RAMP, FLAG_RCV_FROM_RAMP | FLAG_ALLOW_LOOPBACK),
    ] {
        t.push(Flow::new(
            REMOTE_OUTPUT,
            150,
            Match::new().with_masked(LOG_FLAGS, u128::from(value), u128::from(mask)),
            vec![Action::resubmit(LOCAL_OUTPUT)],
        ));
    }
    t.push(Flow::new(
        REMOTE_OUTPUT,
        0,
        Match::new(),
        vec![Action::resubmit(LOCAL_OUTPUT)],
    ));
    t.push(Flow::new(LOCAL_OUTPUT, 0, Match::new(), vec![]));
    let mut clear: Vec<Action> = (0..10).map(|r| set(Field::Reg(r), 0)).collect();
    clear.push(Action::resubmit(LOG_EGRESS));
    t.push(Flow::new(CHECK_LOOPBACK, 0, Match::new(), clear));
    t.push(Flow::new(
        SAVE_INPORT,
        0,
        Match::new(),
        vec![Action::resubmit(LOG_TO_PHY)],
    ));
    t.push(Flow::new(LOG_TO_PHY, 0, Match::new(), vec![]));
}

/// Best encapsulation toward `chassis` (geneve > stt > vxlan).
pub fn encap_type(topo: &Topology<'_>, chassis: &str) -> EncapType {
    let encaps = topo.state.chassis.get(chassis);
    let has = |t: &str| encaps.is_some_and(|e| e.iter().any(|e| e.encap_type == t));
    if has("geneve") || !(has("stt") || has("vxlan")) {
        EncapType::Geneve
    } else if has("stt") {
        EncapType::Stt
    } else {
        EncapType::Vxlan
    }
}

fn tunnel_ingress_flows(topo: &Topology<'_>, tunmd: Field, t: &mut Vec<Flow>) {
    for (chassis, &ofport) in &topo.state.tunnel_ofports {
        let actions = match encap_type(topo, chassis) {
            EncapType::Geneve => vec![
                mv(Field::TunId, 0, LOG_DATAPATH, 0, 24),
                mv(tunmd, 16, LOG_INPORT, 0, 15),
                mv(tunmd, 0, LOG_OUTPORT, 0, 16),
                Action::resubmit(LOCAL_OUTPUT),
            ],
            EncapType::Stt => vec![
                mv(Field::TunId, 40, LOG_INPORT, 0, 15),
                mv(Field::TunId, 24, LOG_OUTPORT, 0, 16),
                mv(Field::TunId, 0, LOG_DATAPATH, 0, 24),
                Action::resubmit(LOCAL_OUTPUT),
            ],
            EncapType::Vxlan => vec![
                mv(Field::TunId, 0, LOG_DATAPATH, 0, 12),
                mv(Field::TunId, 12, LOG_OUTPORT, 0, 12),
                set_masked(
                    LOG_FLAGS,
                    u128::from(FLAG_RCV_FROM_RAMP),
                    u128::from(FLAG_RCV_FROM_RAMP),
                ),
                Action::resubmit(LOCAL_OUTPUT),
            ],
        };
        t.push(Flow::new(
            PHY_TO_LOG,
            100,
            Match::new().with(Field::InPort, u128::from(ofport)),
            actions,
        ));
    }
}

/// Encapsulation actions for a packet to `outport` on datapath `dp`
/// (OVN's `put_encapsulation`), without the final output.
pub fn encapsulation(encap: EncapType, tunmd: Field, dp: u32, outport: u32) -> Vec<Action> {
    match encap {
        EncapType::Geneve => vec![
            set_masked(Field::TunId, u128::from(dp), 0xff_ffff),
            set(tunmd, u128::from(outport)),
            mv(LOG_INPORT, 0, tunmd, 16, 15),
        ],
        EncapType::Stt => vec![
            set(Field::TunId, u128::from(dp) | (u128::from(outport) << 24)),
            mv(LOG_INPORT, 0, Field::TunId, 40, 15),
        ],
        EncapType::Vxlan => vec![set(
            Field::TunId,
            u128::from(dp & 0xfff) | (u128::from(outport & 0xfff) << 12),
        )],
    }
}

/// Tables 0/40/41/64/65 for a local port, table 39 for a remote one.
fn port_flows(topo: &Topology<'_>, pb: &PortBinding, tunmd: Field, t: &mut Vec<Flow>) {
    let cookie = uuid_cookie(&pb.uuid);
    let dp = pb.datapath;
    let key = pb.tunnel_key;
    let vif_ofport = topo.is_local_vif(pb).then(|| topo.vif_ofport(pb)).flatten();
    let peer = topo.patch_peer(pb);

    if let Some(ofport) = vif_ofport {
        // Table 0: VIF ingress.
        let mut acts = ingress_metadata(topo, pb);
        if pb.port_type == "localport" {
            acts.insert(
                acts.len() - 1,
                set_masked(LOG_FLAGS, u128::from(FLAG_LOCALPORT), u128::from(FLAG_LOCALPORT)),
            );
        }
        t.push(
            Flow::new(
                PHY_TO_LOG,
                100,
                Match::new().with(Field::InPort, u128::from(ofport)),
                acts,
            )
            .cookie(cookie),
        );
        // Table 65: deliver.
        t.push(
            Flow::new(
                LOG_TO_PHY,
                100,
                port_match(dp, LOG_OUTPORT, key),
                vec![Action::output(ofport)],
            )
            .cookie(cookie),
        );
    } else if let Some(ofport) = topo.localnet_ofport(pb) {
        localnet_flows(topo, pb, ofport, t);
    } else if let Some(ln_key) = topo.localnet_redirect(pb) {
        // Table 40: a port elsewhere on a provider network is reached
        // through the localnet port, not a tunnel.
        t.push(
            Flow::new(
                LOCAL_OUTPUT,
                100,
                port_match(dp, LOG_OUTPORT, key),
                vec![
                    set(LOG_OUTPORT, u128::from(ln_key)),
                    Action::resubmit(LOCAL_OUTPUT),
                ],
            )
            .cookie(cookie),
        );
        return;
    } else if let Some(target) = topo.redirect_target(pb) {
        // Table 40: this chassis is the gateway of a distributed gateway port, so
        // output to its chassisredirect port becomes output to the port itself
        // (dropped if that port is unknown), as ovn-controller does.
        let mut acts = Vec::new();
        if let Some(d) = target {
            acts.push(set(LOG_OUTPORT, u128::from(d.tunnel_key)));
            put_zones(&mut acts, topo.zones(d));
            acts.push(Action::resubmit(CHECK_LOOPBACK));
        }
        t.push(Flow::new(LOCAL_OUTPUT, 100, port_match(dp, LOG_OUTPORT, key), acts).cookie(cookie));
        return;
    } else if let Some(peer) = peer {
        // Table 65: hop into the peer datapath's ingress pipeline.
        let mut inner = vec![
            Action::CtClear,
            set(LOG_DNAT_ZONE, 0),
            set(LOG_SNAT_ZONE, 0),
            set(LOG_CT_ZONE, 0),
        ];
        let (pct, pdnat, psnat) = topo.zones(peer);
        let pct = if topo.is_resident_l3gateway(peer) { pct } else { 0 };
        put_zones(&mut inner, (pct, pdnat, psnat));
        inner.push(set(LOG_DATAPATH, u128::from(peer.datapath)));
        inner.push(set(LOG_INPORT, u128::from(peer.tunnel_key)));
        inner.push(set(LOG_FLAGS, 0));
        inner.push(set(LOG_OUTPORT, 0));
        inner.extend((0..10).map(|r| set(Field::Reg(r), 0)));
        inner.push(Action::resubmit(LOG_INGRESS));
        t.push(
            Flow::new(
                LOG_TO_PHY,
                100,
                port_match(dp, LOG_OUTPORT, key),
                vec![Action::Clone(inner)],
            )
            .cookie(cookie),
        );
    } else if let Some((chassis, ofport)) = topo.remote_tunnel(pb) {
        // Table 39: tunnel to the chassis hosting the port.
        let mut acts = encapsulation(encap_type(topo, chassis), tunmd, dp, key);
        acts.push(Action::output(ofport));
        acts.push(Action::resubmit(LOCAL_OUTPUT));
        t.push(Flow::new(REMOTE_OUTPUT, 100, port_match(dp, LOG_OUTPORT, key), acts).cookie(cookie));
        return;
    } else {
        return;
    }

    // Local port (VIF or patch): tables 40, 41, 64.
    let mut acts = Vec::new();
    put_zones(&mut acts, topo.zones(pb));
    acts.push(Action::resubmit(CHECK_LOOPBACK));
    t.push(Flow::new(LOCAL_OUTPUT, 100, port_match(dp, LOG_OUTPORT, key), acts).cookie(cookie));
    let loopback = u128::from(FLAG_ALLOW_LOOPBACK);
    t.push(
        Flow::new(
            CHECK_LOOPBACK,
            100,
            port_match(dp, LOG_OUTPORT, key)
                .with(LOG_INPORT, u128::from(key))
                .with_masked(LOG_FLAGS, 0, loopback),
            vec![],
        )
        .cookie(cookie),
    );
    t.push(
        Flow::new(
            SAVE_INPORT,
            100,
            port_match(dp, LOG_OUTPORT, key).with_masked(LOG_FLAGS, loopback, loopback),
            {
                let mut a = vec![Action::Push(SubField::full(Field::InPort))];
                a.extend(clear_in_port());
                a.push(Action::resubmit(LOG_TO_PHY));
                a.push(Action::Pop(SubField::full(Field::InPort)));
                a
            },
        )
        .cookie(cookie),
    );
}

/// Zone, datapath and inport loads of a port's table-0 ingress flow, then
/// the resubmit into the logical ingress pipeline.
fn ingress_metadata(topo: &Topology<'_>, pb: &PortBinding) -> Vec<Action> {
    let mut acts = Vec::new();
    put_zones(&mut acts, topo.zones(pb));
    acts.push(set(LOG_DATAPATH, u128::from(pb.datapath)));
    acts.push(set(LOG_INPORT, u128::from(pb.tunnel_key)));
    acts.push(Action::resubmit(LOG_INGRESS));
    acts
}

/// 802.1Q "present" bit of `vlan_tci` (the CFI position in OpenFlow).
const VLAN_PRESENT: u128 = 0x1000;

/// Tables 0, 65 and 41 of a localnet port plugged here (ovn-controller's
/// handling of localnet patch ports): frames from the provider network
/// enter the switch's pipeline, tagged with the port's VLAN if it has one
/// (stripped on the way in), and leave tagged the same way.
fn localnet_flows(topo: &Topology<'_>, pb: &PortBinding, ofport: u32, t: &mut Vec<Flow>) {
    let cookie = uuid_cookie(&pb.uuid);
    let (dp, key) = (pb.datapath, pb.tunnel_key);
    let tag = pb.tag.map_or(0, u128::from);
    let in_port = Match::new().with(Field::InPort, u128::from(ofport));
    let mut stripped = vec![Action::PopVlan];
    stripped.extend(ingress_metadata(topo, pb));
    // Tagged with the port's VLAN (VID 0, a priority tag, when it has none).
    t.push(
        Flow::new(
            PHY_TO_LOG,
            if tag != 0 { 150 } else { 100 },
            in_port
                .clone()
                .with_masked(Field::VlanTci, VLAN_PRESENT | tag, VLAN_PRESENT | 0xfff),
            stripped,
        )
        .cookie(cookie),
    );
    if tag == 0 {
        t.push(
            Flow::new(
                PHY_TO_LOG,
                100,
                in_port.with_masked(Field::VlanTci, 0, VLAN_PRESENT),
                ingress_metadata(topo, pb),
            )
            .cookie(cookie),
        );
    }
    let mut out = Vec::new();
    if tag != 0 {
        let ethertype = match pb.options.get("ethtype").map(String::as_str) {
            Some(e) if e.eq_ignore_ascii_case("802.11ad") => 0x88a8,
            _ => 0x8100,
        };
        out.push(Action::PushVlan(ethertype));
        out.push(set(Field::VlanTci, VLAN_PRESENT | tag));
    }
    out.push(Action::output(ofport));
    if tag != 0 {
        // A flood continues to its next member with this packet.
        out.push(Action::PopVlan);
    }
    t.push(Flow::new(LOG_TO_PHY, 100, port_match(dp, LOG_OUTPORT, key), out).cookie(cookie));
    // Traffic from a localport, and local-only traffic, never leaves for the
    // provider network.
    for flag in [FLAG_LOCALPORT, FLAG_LOCAL_ONLY] {
        t.push(
            Flow::new(
                CHECK_LOOPBACK,
                160,
                port_match(dp, LOG_OUTPORT, key).with_masked(LOG_FLAGS, u128::from(flag), u128::from(flag)),
                vec![],
            )
            .cookie(cookie),
        );
    }
}

/// Tables 39/40 for multicast groups on local datapaths.
fn multicast_flows(topo: &Topology<'_>, tunmd: Field, t: &mut Vec<Flow>) {
    for mc in &topo.state.multicast_groups {
        if !topo.local_datapaths.contains(&mc.datapath) {
            continue;
        }
        let dp = mc.datapath;
        let mut local = Vec::new();
        let mut remote = Vec::new();
        let mut remote_chassis: BTreeSet<(&str, u32)> = BTreeSet::new();
        for name in &mc.ports {
            let Some(pb) = topo.ports.get(name.as_str()) else {
                continue;
            };
            if pb.datapath != dp {
                continue;
            }
            if topo.patch_peer(pb).is_some() {
                remote.push(set(LOG_OUTPORT, u128::from(pb.tunnel_key)));
                remote.push(Action::resubmit(CHECK_LOOPBACK));
            } else if topo.is_local_vif(pb) || topo.localnet_ofport(pb).is_some() {
                put_zones(&mut local, (topo.state.zone(&pb.logical_port), 0, 0));
                local.push(set(LOG_OUTPORT, u128::from(pb.tunnel_key)));
                local.push(Action::resubmit(CHECK_LOOPBACK));
            } else if pb.port_type != "localport"
                // Over a provider network the localnet port reaches the
                // other chassis; a tunnel copy would duplicate the packet.
                && topo.localnet_port(dp).is_none()
                && let Some(rc) = topo.remote_tunnel(pb)
            {
                remote_chassis.insert(rc);
            }
        }
        let m = port_match(dp, LOG_OUTPORT, mc.tunnel_key);
        let has_local = !local.is_empty();
        if has_local {
            local.push(set(LOG_OUTPORT, u128::from(mc.tunnel_key)));
            t.push(Flow::new(LOCAL_OUTPUT, 100, m.clone(), local));
        }
        if !remote.is_empty() {
            remote.push(set(LOG_OUTPORT, u128::from(mc.tunnel_key)));
        }
        let mut prev: Option<EncapType> = None;
        for (chassis, ofport) in remote_chassis {
            let et = encap_type(topo, chassis);
            if prev != Some(et) {
                remote.extend(encapsulation(et, tunmd, dp, mc.tunnel_key));
                prev = Some(et);
            }
            remote.push(Action::output(ofport));
        }
        if !remote.is_empty() {
            if has_local {
                remote.push(Action::resubmit(LOCAL_OUTPUT));
            }
            t.push(Flow::new(REMOTE_OUTPUT, 100, m, remote));
        }
    }
}

/// Tables 73/74/75 from `port_security` of a local VIF.
fn port_security_flows(topo: &Topology<'_>, pb: &PortBinding, t: &mut Vec<Flow>) {
    if !topo.is_local_vif(pb) || pb.port_security.is_empty() {
        return;
    }
    let entries: Vec<_> = pb
        .port_security
        .iter()
        .filter_map(|s| parse_lport_addresses(s))
        .collect();
    if entries.is_empty() {
        return;
    }
    let cookie = uuid_cookie(&pb.uuid);
    let dp = pb.datapath;
    let key = pb.tunnel_key;
    let bit = u128::from(FLAG_CHECK_PORT_SEC);
    let fail = || vec![set_masked(LOG_FLAGS, bit, bit)];
    let pass = || vec![set_masked(LOG_FLAGS, 0, bit)];
    let inp = port_match(dp, LOG_INPORT, key);
    let outp = port_match(dp, LOG_OUTPORT, key);
    let mut add = |table: u8, prio: u16, m: Match, a: Vec<Action>| {
        t.push(Flow::new(table, prio, m, a).cookie(cookie));
    };

    // Defaults (23.03 `setup_in_port_sec_def_flows`): anything not
    // explicitly allowed fails; ARP is checked in table 74.
    add(CHK_IN_PORT_SEC, 80, inp.clone(), fail());
    add(
        CHK_IN_PORT_SEC,
        95,
        inp.clone().with(Field::EthType, 0x0806),
        vec![Action::resubmit(CHK_IN_PORT_SEC_ND)],
    );
    add(
        CHK_IN_PORT_SEC_ND,
        80,
        inp.clone().with(Field::EthType, 0x0806),
        fail(),
    );
    let nd_default = |ty: u128| {
        icmp6(inp.clone())
            .with(Field::IpTtl, 255)
            .with(Field::Icmpv6Type, ty)
    };
    add(CHK_IN_PORT_SEC_ND, 80, nd_default(135), pass());
    add(CHK_IN_PORT_SEC_ND, 80, nd_default(136), fail());
    add(CHK_OUT_PORT_SEC, 80, outp.clone(), fail());

    for e in &entries {
        let mac = u128::from(e.mac);
        let src = inp.clone().with(Field::EthSrc, mac);
        let dst = outp.clone().with(Field::EthDst, mac);
        let no_ip = e.ipv4.is_empty() && e.ipv6.is_empty();
        if no_ip {
            add(CHK_IN_PORT_SEC, 90, src.clone(), pass());
        }
        // Ingress IPv4.
        for &(a, p) in &e.ipv4 {
            let (v, m) = ipv4_match(a, p);
            add(
                CHK_IN_PORT_SEC,
                90,
                src.clone()
                    .with(Field::EthType, 0x0800)
                    .with_masked(Field::Ipv4Src, v, m),
                pass(),
            );
        }
        if !e.ipv4.is_empty() {
            add(
                CHK_IN_PORT_SEC,
                90,
                src.clone()
                    .with(Field::EthType, 0x0800)
                    .with(Field::IpProto, 17)
                    .with(Field::Ipv4Src, 0)
                    .with(Field::Ipv4Dst, 0xffff_ffff)
                    .with(Field::UdpSrc, 68)
                    .with(Field::UdpDst, 67),
                pass(),
            );
        }
        // Ingress IPv6 (link-local + configured), DAD/MLD from `::`.
        if !e.ipv6.is_empty() {
            let mut srcs = vec![(u128::from(ipv6_lla(e.mac)), u128::MAX)];
            srcs.extend(e.ipv6.iter().map(|&(a, p)| ipv6_match(a, p)));
            for (v, m) in srcs {
                add(
                    CHK_IN_PORT_SEC,
                    90,
                    src.clone()
                        .with(Field::EthType, 0x86dd)
                        .with_masked(Field::Ipv6Src, v, m),
                    pass(),
                );
            }
            for ty in [131u128, 135, 143] {
                add(
                    CHK_IN_PORT_SEC,
                    90,
                    icmp6(src.clone())
                        .with(Field::Ipv6Src, 0)
                        .with_masked(Field::Ipv6Dst, 0xff02 << 112, 0xffff << 112)
                        .with(Field::Icmpv6Type, ty)
                        .with(Field::Icmpv6Code, 0),
                    pass(),
                );
            }
        }
        // Table 74: ARP.
        let arp = src.clone().with(Field::EthType, 0x0806).with(Field::ArpSha, mac);
        if e.ipv4.is_empty() {
            if e.ipv6.is_empty() {
                add(CHK_IN_PORT_SEC_ND, 90, arp, pass());
            }
        } else {
            for &(a, p) in &e.ipv4 {
                let (v, m) = ipv4_match(a, p);
                add(
                    CHK_IN_PORT_SEC_ND,
                    90,
                    arp.clone().with_masked(Field::ArpSpa, v, m),
                    pass(),
                );
            }
        }
        // Table 74: ND. 23.03 matches `nw_ttl=225` here (a typo for 255 in
        // its source, reproduced for identical flows) and no eth.src.
        let nd = |ty: u128| {
            icmp6(inp.clone())
                .with(Field::IpTtl, 225)
                .with(Field::Icmpv6Type, ty)
                .with(Field::Icmpv6Code, 0)
        };
        for sll in [0, mac] {
            add(CHK_IN_PORT_SEC_ND, 90, nd(135).with(Field::NdSll, sll), pass());
        }
        if e.ipv6.is_empty() {
            for tll in [0, mac] {
                add(CHK_IN_PORT_SEC_ND, 90, nd(136).with(Field::NdTll, tll), pass());
            }
        } else {
            let mut targets = vec![(u128::from(ipv6_lla(e.mac)), u128::MAX)];
            targets.extend(e.ipv6.iter().map(|&(a, p)| ipv6_match(a, p)));
            for (v, m) in targets {
                for tll in [0, mac] {
                    add(
                        CHK_IN_PORT_SEC_ND,
                        90,
                        nd(136).with_masked(Field::NdTarget, v, m).with(Field::NdTll, tll),
                        pass(),
                    );
                }
            }
        }
        // Table 75: egress.
        add(CHK_OUT_PORT_SEC, 85, dst.clone(), pass());
        if !no_ip {
            add(
                CHK_OUT_PORT_SEC,
                90,
                dst.clone().with(Field::EthType, 0x0800),
                fail(),
            );
            add(
                CHK_OUT_PORT_SEC,
                90,
                dst.clone().with(Field::EthType, 0x86dd),
                fail(),
            );
            let ip4 = dst.clone().with(Field::EthType, 0x0800);
            let mut dsts: Vec<(u128, u128)> = e.ipv4.iter().map(|&(a, p)| ipv4_match(a, p)).collect();
            if !e.ipv4.is_empty() {
                dsts.push((0xffff_ffff, 0xffff_ffff));
                dsts.push((0xe000_0000, 0xf000_0000));
            }
            for (v, m) in dsts {
                add(
                    CHK_OUT_PORT_SEC,
                    95,
                    ip4.clone().with_masked(Field::Ipv4Dst, v, m),
                    pass(),
                );
            }
            if !e.ipv6.is_empty() {
                let ip6 = dst.clone().with(Field::EthType, 0x86dd);
                let mut dsts = vec![
                    (u128::from(ipv6_lla(e.mac)), u128::MAX),
                    (0xff << 120, 0xff << 120),
                ];
                dsts.extend(e.ipv6.iter().map(|&(a, p)| ipv6_match(a, p)));
                for (v, m) in dsts {
                    add(
                        CHK_OUT_PORT_SEC,
                        95,
                        ip6.clone().with_masked(Field::Ipv6Dst, v, m),
                        pass(),
                    );
                }
            }
        }
    }
}

fn icmp6(m: Match) -> Match {
    m.with(Field::EthType, 0x86dd).with(Field::IpProto, 58)
}

/// Tables 66/67 from MAC_Binding rows on local datapaths.
fn mac_binding_flows(topo: &Topology<'_>, t: &mut Vec<Flow>) {
    for mb in &topo.state.mac_bindings {
        if !topo.local_datapaths.contains(&mb.datapath) {
            continue;
        }
        let Some(pb) = topo.ports.get(mb.logical_port.as_str()) else {
            continue;
        };
        if pb.datapath != mb.datapath {
            continue;
        }
        let (Some(mac), Ok(ip)) = (super::addresses::parse_mac(&mb.mac), mb.ip.parse::<IpAddr>()) else {
            continue;
        };
        let mac = u128::from(mac);
        let flag = u128::from(FLAG_LOOKUP_MAC);
        let (ipf, ipv, l3) = match ip {
            IpAddr::V4(a) => (Field::Reg(0), u128::from(u32::from(a)), None),
            IpAddr::V6(a) => (Field::Xxreg(0), u128::from(a), Some(())),
        };
        t.push(Flow::new(
            MAC_BINDING,
            mb.priority,
            port_match(mb.datapath, LOG_OUTPORT, pb.tunnel_key).with(ipf, ipv),
            vec![set(Field::EthDst, mac), set_masked(LOG_FLAGS, flag, flag)],
        ));
        let m = port_match(mb.datapath, LOG_INPORT, pb.tunnel_key)
            .with(ipf, ipv)
            .with(Field::EthSrc, mac);
        let m = match l3 {
            None => m.with(Field::EthType, 0x0806),
            Some(()) => icmp6(m).with(Field::Icmpv6Code, 0),
        };
        t.push(Flow::new(
            MAC_LOOKUP,
            mb.priority,
            m,
            vec![set_masked(LOG_FLAGS, flag, flag)],
        ));
    }
}

/// Tables 71/72 from FDB rows on local datapaths.
fn fdb_flows(topo: &Topology<'_>, t: &mut Vec<Flow>) {
    for e in &topo.state.fdb {
        if !topo.local_datapaths.contains(&e.datapath) {
            continue;
        }
        let Some(mac) = super::addresses::parse_mac(&e.mac) else {
            continue;
        };
        let mac = u128::from(mac);
        let dp = u128::from(e.datapath);
        t.push(Flow::new(
            GET_FDB,
            100,
            Match::new().with(LOG_DATAPATH, dp).with(Field::EthDst, mac),
            vec![set(LOG_OUTPORT, u128::from(e.port_key))],
        ));
        let flag = u128::from(FLAG_LOOKUP_FDB);
        t.push(Flow::new(
            LOOKUP_FDB,
            100,
            port_match(e.datapath, LOG_INPORT, e.port_key).with(Field::EthSrc, mac),
            vec![set_masked(LOG_FLAGS, flag, flag)],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::of::local::tests::sample;
    use crate::of::state::MacBinding;

    fn dump(t: &FlowTable) -> Vec<String> {
        t.flows().iter().map(ToString::to_string).collect()
    }

    fn find<'a>(lines: &'a [String], needle: &str) -> Vec<&'a String> {
        lines.iter().filter(|l| l.contains(needle)).collect()
    }

    #[test]
    fn vif_and_tunnel_flows() {
        let s = sample();
        let topo = Topology::new(&s);
        let t = physical_flows(&topo, 0);
        let lines = dump(&t);
        // VIF ingress.
        let t0 = find(&lines, ",priority=100,in_port=1 ");
        assert_eq!(t0.len(), 1, "{lines:#?}");
        assert!(
            t0[0].ends_with(
                "actions=set_field:0x1->reg13,set_field:0x2->reg11,set_field:0x3->reg12,\
                 set_field:0x1->metadata,set_field:0x1->reg14,resubmit(,8)"
            ),
            "{}",
            t0[0]
        );
        // Tunnel ingress.
        let tun = find(&lines, "priority=100,in_port=5 ");
        assert_eq!(tun.len(), 1);
        assert!(tun[0].contains(
            "move:NXM_NX_TUN_ID[0..23]->OXM_OF_METADATA[0..23],\
             move:NXM_NX_TUN_METADATA0[16..30]->NXM_NX_REG14[0..14],\
             move:NXM_NX_TUN_METADATA0[0..15]->NXM_NX_REG15[0..15],resubmit(,40)"
        ));
        // vm2 remote unicast.
        let t39 = find(&lines, "table=39,priority=100,metadata=0x1,reg15=0x2 ");
        assert_eq!(t39.len(), 1, "{lines:#?}");
        assert!(t39[0].contains(
            "set_field:0x1/0xffffff->tun_id,set_field:0x2->tun_metadata0,\
             move:NXM_NX_REG14[0..14]->NXM_NX_TUN_METADATA0[16..30],output:5"
        ));
        // vm1 local delivery.
        assert_eq!(
            find(
                &lines,
                "table=65,priority=100,metadata=0x1,reg15=0x1 actions=output:1"
            )
            .len(),
            1
        );
        // Patch port ls1-lr1 hops into lr1 (dp 2) as port 1.
        let patch = find(&lines, "table=65,priority=100,metadata=0x1,reg15=0x3 ");
        assert_eq!(patch.len(), 1);
        assert!(
            patch[0].contains("set_field:0x2->metadata,set_field:0x1->reg14"),
            "{}",
            patch[0]
        );
        assert!(patch[0].contains("resubmit(,8))"));
        // vm3 (remote, on ls2, local via patch) is tunnelled; vm9 (unrelated) is not.
        assert_eq!(
            find(&lines, "table=39,priority=100,metadata=0x3,reg15=0x2 ").len(),
            1
        );
        assert!(find(&lines, "metadata=0x9").is_empty());
        // Multicast: local copy to vm1 in table 40, patch + tunnel copy in 39.
        let mc40 = find(&lines, "table=40,priority=100,metadata=0x1,reg15=0x8000 ");
        assert_eq!(mc40.len(), 1);
        assert!(mc40[0].contains("set_field:0x1->reg15,resubmit(,41),set_field:0x8000->reg15"));
        let mc39 = find(&lines, "table=39,priority=100,metadata=0x1,reg15=0x8000 ");
        assert_eq!(mc39.len(), 1);
        assert!(mc39[0].contains(
            "set_field:0x3->reg15,resubmit(,41),set_field:0x8000->reg15,set_field:0x1/0xffffff->tun_id,\
             set_field:0x8000->tun_metadata0"
        ));
        assert!(mc39[0].ends_with("output:5,resubmit(,40)"));
        // Loopback check + register clearing.
        // vm1, ls1-lr1, lr1-ls1, lr1-ls2, ls2-lr1.
        assert_eq!(find(&lines, "table=41,priority=100,").len(), 5);
        assert!(lines.iter().any(
            |l| l.starts_with("table=41,priority=0 ") && l.contains("set_field:0x0->reg9,resubmit(,42)")
        ));
    }

    /// lr9 (key 9) with distributed gateway port lr9-ext (key 1) and its
    /// chassisredirect twin cr-lr9-ext (key 2) bound to `chassis`; no VIF here.
    fn with_gateway_port(chassis: &str) -> crate::of::state::LocalState {
        let mut s = sample();
        s.datapaths.push(crate::of::local::tests::dp(
            "d9900000-0000-0000-0000-000000000099",
            99,
            false,
        ));
        let ext = crate::of::local::tests::port("lr9-ext", 99, 1, "patch");
        let mut cr = crate::of::local::tests::port("cr-lr9-ext", 99, 2, "chassisredirect");
        cr.options.insert("distributed-port".into(), "lr9-ext".into());
        cr.chassis = Some(chassis.into());
        s.port_bindings.extend([ext, cr].map(Arc::new));
        s.ct_zones
            .insert("d9900000-0000-0000-0000-000000000099_dnat".into(), 7);
        s.ct_zones
            .insert("d9900000-0000-0000-0000-000000000099_snat".into(), 8);
        s
    }

    #[test]
    fn gateway_chassis_outputs_its_chassisredirect_port_as_the_distributed_port() {
        let s = with_gateway_port("hv1");
        let topo = Topology::new(&s);
        assert!(
            topo.local_datapaths.contains(&99),
            "a bound cr- port makes its router local"
        );
        let lines = dump(&physical_flows(&topo, 0));
        assert_eq!(
            find(
                &lines,
                "table=40,priority=100,metadata=0x63,reg15=0x2 actions=set_field:0x1->reg15,\
                 set_field:0x7->reg11,set_field:0x8->reg12,resubmit(,41)"
            )
            .len(),
            1,
            "{lines:#?}"
        );
        // Elsewhere the cr- port is a remote port, tunnelled to its chassis.
        let mut s = with_gateway_port("hv2");
        // A VIF of lr9's makes the router local on hv1.
        let mut vm = crate::of::local::tests::port("vm99", 99, 3, "");
        vm.chassis = Some("hv1".into());
        s.port_bindings.push(Arc::new(vm));
        s.vif_ofports.insert("vm99".into(), 9);
        let lines = dump(&physical_flows(&Topology::new(&s), 0));
        assert!(find(&lines, "table=40,priority=100,metadata=0x63,reg15=0x2 ").is_empty());
        let t39 = find(&lines, "table=39,priority=100,metadata=0x63,reg15=0x2 ");
        assert_eq!(t39.len(), 1, "{lines:#?}");
        assert!(t39[0].ends_with("output:5,resubmit(,40)"), "{}", t39[0]);
    }

    /// ls1 with localnet port ln1 (key 9) plugged on patch ofport 7, with
    /// `tag` as its VLAN.
    fn with_localnet(tag: Option<u16>) -> crate::of::state::LocalState {
        let mut s = sample();
        let mut ln = crate::of::local::tests::port("ln1", 1, 9, "localnet");
        ln.tag = tag;
        ln.mac = vec!["unknown".into()];
        s.port_bindings.push(Arc::new(ln));
        s.multicast_groups[0].ports.push("ln1".into());
        s.localnet_ofports.insert("ln1".into(), 7);
        s.ct_zones.insert("ln1".into(), 6);
        s
    }

    #[test]
    fn localnet_port_carries_the_switch_to_other_chassis() {
        let s = with_localnet(None);
        let lines = dump(&physical_flows(&Topology::new(&s), 0));
        // Untagged and priority-tagged frames from the provider network enter ls1 as ln1.
        let t0 = find(&lines, ",priority=100,in_port=7,");
        assert_eq!(t0.len(), 2, "{lines:#?}");
        assert!(t0.iter().any(|l| l.contains("vlan_tci=0x0/0x1000 ")
            && l.ends_with(
                "set_field:0x6->reg13,set_field:0x2->reg11,set_field:0x3->reg12,\
                 set_field:0x1->metadata,set_field:0x9->reg14,resubmit(,8)"
            )));
        assert!(
            t0.iter().any(|l| l.contains("vlan_tci=0x1000/0x1fff ")
                && l.contains("actions=pop_vlan,set_field:0x6->reg13"))
        );
        assert_eq!(
            find(
                &lines,
                "table=65,priority=100,metadata=0x1,reg15=0x9 actions=output:7"
            )
            .len(),
            1
        );
        // vm2 (on hv2) is reached through ln1, not the tunnel; vm3 on ls2 (no localnet) still tunnels.
        assert_eq!(
            find(
                &lines,
                "table=40,priority=100,metadata=0x1,reg15=0x2 actions=set_field:0x9->reg15,resubmit(,40)"
            )
            .len(),
            1,
            "{lines:#?}"
        );
        assert!(find(&lines, "table=39,priority=100,metadata=0x1,reg15=0x2 ").is_empty());
        assert_eq!(
            find(&lines, "table=39,priority=100,metadata=0x3,reg15=0x2 ").len(),
            1
        );
        // Flooding: ln1 is a local member, and no tunnel copy goes to hv2.
        let mc40 = find(&lines, "table=40,priority=100,metadata=0x1,reg15=0x8000 ");
        assert!(
            mc40[0].contains("set_field:0x6->reg13,set_field:0x9->reg15,resubmit(,41)"),
            "{}",
            mc40[0]
        );
        let mc39 = find(&lines, "table=39,priority=100,metadata=0x1,reg15=0x8000 ");
        assert!(!mc39[0].contains("output:5"), "{}", mc39[0]);
        // Localport and local-only traffic never leaves for the provider network.
        let t41 = find(&lines, "table=41,priority=160,metadata=0x1,");
        assert_eq!(
            t41.iter()
                .filter(|l| l.contains(",reg15=0x9 actions=drop"))
                .count(),
            2
        );
    }

    #[test]
    fn tagged_localnet_pushes_and_pops_its_vlan() {
        let s = with_localnet(Some(100));
        let lines = dump(&physical_flows(&Topology::new(&s), 0));
        let t0 = find(&lines, ",priority=150,in_port=7,vlan_tci=0x1064/0x1fff ");
        assert_eq!(t0.len(), 1, "{lines:#?}");
        assert!(t0[0].contains("actions=pop_vlan,"));
        assert!(find(&lines, "in_port=7,vlan_tci=0x0/0x1000").is_empty());
        assert_eq!(
            find(
                &lines,
                "table=65,priority=100,metadata=0x1,reg15=0x9 actions=push_vlan:0x8100,set_field:0x1064->vlan_tci,output:7,pop_vlan"
            )
            .len(),
            1,
            "{lines:#?}"
        );
    }

    #[test]
    fn unplugged_localnet_changes_nothing() {
        let mut s = with_localnet(None);
        s.localnet_ofports.clear();
        let lines = dump(&physical_flows(&Topology::new(&s), 0));
        assert!(find(&lines, "reg15=0x9").is_empty());
        assert_eq!(
            find(&lines, "table=39,priority=100,metadata=0x1,reg15=0x2 ").len(),
            1
        );
    }

    #[test]
    fn port_security_flows_for_vm1() {
        let s = sample();
        let topo = Topology::new(&s);
        let lines = dump(&physical_flows(&topo, 0));
        let has = |s: &str| lines.iter().any(|l| l.contains(s));
        assert!(has(
            "table=73,priority=95,arp,metadata=0x1,reg14=0x1 actions=resubmit(,74)"
        ));
        assert!(has(
            "table=73,priority=90,ip,metadata=0x1,reg14=0x1,dl_src=50:54:00:00:00:01,nw_src=10.0.1.11 \
             actions=set_field:0x0/0x1000->reg10"
        ));
        assert!(has(
            "table=73,priority=80,metadata=0x1,reg14=0x1 actions=set_field:0x1000/0x1000->reg10"
        ));
        assert!(has(
            "table=74,priority=90,arp,metadata=0x1,reg14=0x1,dl_src=50:54:00:00:00:01,arp_spa=10.0.1.11,\
             arp_sha=50:54:00:00:00:01 actions=set_field:0x0/0x1000->reg10"
        ));
        assert!(has(
            "table=75,priority=95,ip,metadata=0x1,reg15=0x1,dl_dst=50:54:00:00:00:01,nw_dst=10.0.1.11 "
        ));
        assert!(has(
            "table=75,priority=95,ip,metadata=0x1,reg15=0x1,dl_dst=50:54:00:00:00:01,nw_dst=224.0.0.0/4 "
        ));
        // No port security on remote vm2.
        assert!(!has("reg14=0x2 actions=set_field:0x1000/0x1000->reg10"));
    }

    #[test]
    fn mac_binding_flows_on_local_datapath() {
        let mut s = sample();
        s.mac_bindings.push(MacBinding {
            logical_port: "lr1-ls2".into(),
            ip: "10.0.2.50".into(),
            mac: "50:54:00:00:00:50".into(),
            datapath: 2,
            priority: MacBinding::LEARNED,
        });
        s.mac_bindings.push(MacBinding {
            logical_port: "vm9".into(),
            ip: "10.9.0.1".into(),
            mac: "50:54:00:00:00:99".into(),
            datapath: 9,
            priority: MacBinding::LEARNED,
        });
        let lines = dump(&physical_flows(&Topology::new(&s), 0));
        let t66: Vec<_> = lines.iter().filter(|l| l.starts_with("table=66,")).collect();
        assert_eq!(t66.len(), 1);
        assert_eq!(
            t66[0],
            "table=66,priority=100,metadata=0x2,reg0=0xa000232,reg15=0x2 \
             actions=set_field:50:54:00:00:00:50->eth_dst,set_field:0x40/0x40->reg10"
        );
        let t67: Vec<_> = lines.iter().filter(|l| l.starts_with("table=67,")).collect();
        assert_eq!(t67.len(), 1);
        assert!(t67[0].contains("arp,metadata=0x2,reg0=0xa000232,reg14=0x2,dl_src=50:54:00:00:00:50"));
    }

    #[test]
    fn static_mac_bindings_rank_below_or_above_learned_ones() {
        let mut s = sample();
        for (ip, mac, priority) in [
            ("10.0.2.50", "50:54:00:00:00:50", MacBinding::LEARNED),
            ("10.0.2.50", "50:54:00:00:00:51", MacBinding::STATIC),
            ("10.0.2.60", "50:54:00:00:00:60", MacBinding::STATIC_OVERRIDE),
        ] {
            s.mac_bindings.push(MacBinding {
                logical_port: "lr1-ls2".into(),
                ip: ip.into(),
                mac: mac.into(),
                datapath: 2,
                priority,
            });
        }
        let lines = dump(&physical_flows(&Topology::new(&s), 0));
        let t66: Vec<_> = lines.iter().filter(|l| l.starts_with("table=66,")).collect();
        assert_eq!(t66.len(), 3, "{t66:#?}");
        for (prio, mac) in [
            (100, "50:54:00:00:00:50"),
            (50, "50:54:00:00:00:51"),
            (150, "50:54:00:00:00:60"),
        ] {
            assert!(
                t66.iter()
                    .any(|l| l.starts_with(&format!("table=66,priority={prio},")) && l.contains(mac)),
                "no priority {prio} flow for {mac}: {t66:#?}"
            );
        }
    }

    #[test]
    fn fdb_flows_on_local_datapaths() {
        let mut s = sample();
        for dp in [1, 9] {
            s.fdb.push(crate::of::state::FdbEntry {
                mac: "50:54:00:00:00:77".into(),
                datapath: dp,
                port_key: 2,
            });
        }
        let lines = dump(&physical_flows(&Topology::new(&s), 0));
        let fdb: Vec<_> = lines
            .iter()
            .filter(|l| l.contains("table=71,") || l.contains("table=72,"))
            .collect();
        assert_eq!(
            fdb,
            vec![
                "table=71,priority=100,metadata=0x1,dl_dst=50:54:00:00:00:77 actions=set_field:0x2->reg15",
                "table=72,priority=100,metadata=0x1,reg14=0x2,dl_src=50:54:00:00:00:77 \
                 actions=set_field:0x100/0x100->reg10",
            ]
        );
    }

    #[test]
    fn empty_state_has_only_defaults() {
        let s = crate::of::state::LocalState::default();
        let t = physical_flows(&Topology::new(&s), 0);
        assert!(
            t.flows()
                .iter()
                .all(|f| f.priority <= 150 && f.match_.get(Field::InPort).is_none())
        );
        assert_eq!(t.len(), 11);
    }
}
