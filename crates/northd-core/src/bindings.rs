//! The non-flow SB rows: SB_Global, Datapath_Binding, Port_Binding, Multicast_Group,
//! Load_Balancer, Address_Set and Port_Group. These are cheap to build and are always
//! recomputed in full from the resolved topology.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::addresses::{Cidr, LrpNetworks, Mac, parse_lport_addresses};
use crate::keys;
use crate::model::Map;
use crate::model::nb::{LogicalRouterPort, Northbound, SbContext, Uuid};
use crate::model::sb::{
    DatapathBinding, DatapathKind, MulticastGroup, PortBinding, SbLoadBalancer, Southbound,
};
use crate::topology::{PortOwner, Topology};

/// Value northd 23.03.1 writes to `options:northd_internal_version`
/// (`<ovn version>-<SB schema version>-<internal flow version>`); ovn-controller compares
/// it when `ovn-match-northd-version` is set.
pub const NORTHD_INTERNAL_VERSION: &str = "23.03.1-20.27.0-70.6";

/// Fills every SB table except `Logical_Flow`.
pub(crate) fn build(nb: &Northbound, ctx: &SbContext, t: &Topology, sb: &mut Southbound) {
    sb.nb_cfg = nb.nb_global.nb_cfg;
    sb.ipsec = nb.nb_global.ipsec;
    sb.options = sb_global_options(nb, ctx, t);
    datapaths(t, sb);
    port_bindings(ctx, t, sb);
    multicast_groups(t, sb);
    load_balancers(nb, t, sb);
    address_sets(nb, t, sb);
}

/// FNV-1a; only used to derive stable per-deployment defaults, not for security.
fn fnv(data: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Locally administered unicast bytes derived from `seed`. Real northd picks these at
/// random once and persists them in NB_Global; a pure function cannot, so the value is
/// derived from the NB_Global row UUID to stay stable until the daemon persists it.
fn derived_mac(seed: &str) -> Mac {
    let b = fnv(seed).to_be_bytes();
    Mac([(b[0] & 0xfe) | 0x02, b[1], b[2], b[3], b[4], b[5]])
}

/// SB_Global options northd also writes back into NB_Global's.
pub const WRITTEN_BACK: &[&str] = &[
    "mac_prefix",
    "svc_monitor_mac",
    "max_tunid",
    "northd_internal_version",
];

/// SB_Global options read back from the SB (when NB_Global has none).
pub const READ_BACK: &[&str] = &["mac_prefix", "svc_monitor_mac"];

fn sb_global_options(nb: &Northbound, ctx: &SbContext, t: &Topology) -> Map {
    let mut o = nb.nb_global.options.clone();
    let existing = |k: &str| {
        nb.nb_global
            .options
            .get(k)
            .or_else(|| ctx.sb_global_options.get(k))
            .cloned()
    };
    let prefix = existing("mac_prefix").unwrap_or_else(|| {
        let m = derived_mac(&format!("{}-mac_prefix", nb.nb_global.uuid));
        format!("{:02x}:{:02x}:{:02x}", m.0[0], m.0[1], m.0[2])
    });
    o.insert("mac_prefix".into(), prefix);
    let svc = existing("svc_monitor_mac")
        .filter(|m| m.parse::<Mac>().is_ok())
        .unwrap_or_else(|| derived_mac(&format!("{}-svc", nb.nb_global.uuid)).to_string());
    o.insert("svc_monitor_mac".into(), svc);
    let max = if t.vxlan {
        keys::MAX_DP_KEY_VXLAN
    } else {
        keys::MAX_DP_KEY
    };
    o.insert("max_tunid".into(), max.to_string());
    o.insert("northd_internal_version".into(), NORTHD_INTERNAL_VERSION.into());
    if t.globals.is_some_and(|g| !g.ct_lb_mark) {
        o.insert("lb_hairpin_use_ct_mark".into(), "false".into());
    } else {
        o.remove("lb_hairpin_use_ct_mark");
    }
    o
}

fn datapaths(t: &Topology, sb: &mut Southbound) {
    for (uuid, dp) in &t.datapaths {
        let Some(&key) = t.dp_keys.get(uuid) else { continue };
        sb.datapaths.insert(
            uuid.clone(),
            DatapathBinding {
                kind: if dp.is_router {
                    DatapathKind::Router
                } else {
                    DatapathKind::Switch
                },
                name: dp.name.clone(),
                tunnel_key: key,
                external_ids: dp.external_ids.clone(),
            },
        );
    }
}

/// `options:requested-chassis` holds chassis names or hostnames; the first is the main
/// one.
fn resolve_chassis(ctx: &SbContext, spec: Option<&String>) -> Option<String> {
    let first = spec?.split(',').map(str::trim).find(|s| !s.is_empty())?;
    ctx.chassis
        .iter()
        .find(|c| c.name == first)
        .or_else(|| ctx.chassis.iter().find(|c| c.hostname == first))
        .map(|c| c.name.clone())
}

/// `Port_Binding.mac` of a router port: "MAC NETWORK...".
fn lrp_mac(lrp: &crate::model::nb::LogicalRouterPort) -> String {
    let mut mac = lrp.mac.clone();
    for n in &lrp.networks {
        mac.push(' ');
        mac.push_str(n);
    }
    mac
}

fn port_bindings(ctx: &SbContext, t: &Topology, sb: &mut Southbound) {
    for (name, p) in &t.ports {
        let Some(&key) = t.port_keys.get(name) else {
            continue;
        };
        if !t.dp_keys.contains_key(&p.datapath) {
            continue;
        }
        let mut pb = PortBinding {
            logical_port: name.clone(),
            datapath: p.datapath.clone(),
            tunnel_key: key,
            ..Default::default()
        };
        match &p.owner {
            PortOwner::Switch {
                lsp,
                gateway_chassis,
                nat_addresses,
                vlan_passthru,
            } => {
                if lsp.port_type == "router" {
                    pb.port_type = if gateway_chassis.is_some() {
                        "l3gateway".into()
                    } else {
                        "patch".into()
                    };
                    if let Some(rp) = lsp.options.get("router-port") {
                        pb.options.insert("peer".into(), rp.clone());
                    }
                    if let Some(ch) = gateway_chassis {
                        pb.options.insert("l3gateway-chassis".into(), ch.clone());
                    }
                    pb.nat_addresses = nat_addresses.clone();
                } else {
                    pb.port_type = lsp.port_type.clone();
                    pb.options = lsp.options.clone();
                    if *vlan_passthru {
                        pb.options.insert("vlan-passthru".into(), "true".into());
                    }
                    pb.requested_chassis = resolve_chassis(ctx, lsp.options.get("requested-chassis"));
                }
                pb.mac = lsp.addresses.clone();
                pb.port_security = lsp.port_security.clone();
                pb.external_ids = lsp.external_ids.clone();
                if let Some(n) = lsp.external_ids.get("neutron:port_name") {
                    pb.external_ids.insert("name".into(), n.clone());
                }
                pb.parent_port = lsp.parent_name.clone();
                pb.tag = lsp.tag;
            }
            PortOwner::Router {
                lrp,
                networks,
                peer,
                gateway_chassis,
                cr_port,
            } => {
                if lrp.peer.is_none() && peer.is_some() {
                    periodic_ra_options(lrp, networks, &mut pb.options);
                }
                pb.port_type = if gateway_chassis.is_some() {
                    "l3gateway".into()
                } else {
                    "patch".into()
                };
                if let Some(peer) = peer {
                    pb.options.insert("peer".into(), peer.clone());
                    if let Some(cr) = cr_port {
                        pb.options.insert("chassis-redirect-port".into(), cr.clone());
                    }
                }
                if let Some(ch) = gateway_chassis {
                    pb.options.insert("l3gateway-chassis".into(), ch.clone());
                }
                pb.mac = vec![lrp_mac(lrp)];
                pb.external_ids = lrp.external_ids.clone();
            }
            PortOwner::ChassisRedirect {
                lrp,
                always_redirect,
                ha_group,
            } => {
                pb.port_type = "chassisredirect".into();
                pb.options.insert("distributed-port".into(), lrp.name.clone());
                if let Some(rt) = lrp.options.get("redirect-type") {
                    pb.options.insert("redirect-type".into(), rt.clone());
                }
                if *always_redirect {
                    pb.options.insert("always-redirect".into(), "true".into());
                }
                pb.mac = vec![lrp_mac(lrp)];
                pb.external_ids = lrp.external_ids.clone();
                pb.ha_chassis_group = Some(ha_group.name.clone());
                sb.ha_chassis_groups
                    .insert(ha_group.name.clone(), ha_group.clone());
            }
        }
        pb.mac.sort();
        pb.port_security.sort();
        sb.port_bindings.insert(name.clone(), pb);
    }
}

/// `copy_ra_to_sb`: with `ipv6_ra_configs:send_periodic=true` a router port's binding
/// carries what a chassis needs to advertise the port's prefixes unsolicited.
fn periodic_ra_options(lrp: &LogicalRouterPort, n: &LrpNetworks, options: &mut Map) {
    let ra = &lrp.ipv6_ra_configs;
    let Some(mode) = ra.get("address_mode") else {
        return;
    };
    if !matches!(mode.as_str(), "slaac" | "dhcpv6_stateful" | "dhcpv6_stateless")
        || ra.get("send_periodic").is_none_or(|v| v != "true")
    {
        return;
    }
    let int = |k: &str, default: i64| ra.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(default);
    let max = int("max_interval", 600).clamp(4, 1800);
    let min_default = if max >= 9 { max / 3 } else { max * 3 / 4 };
    let min = int("min_interval", min_default).min(max * 3 / 4).max(3);
    let mut put = |k: &str, v: String| {
        options.insert(k.to_string(), v);
    };
    put("ipv6_ra_send_periodic", "true".into());
    put("ipv6_ra_address_mode", mode.clone());
    put("ipv6_ra_max_interval", max.to_string());
    put("ipv6_ra_min_interval", min.to_string());
    let mtu = int("mtu", 0);
    if mtu >= 1280 {
        put("ipv6_ra_mtu", mtu.to_string());
    }
    let is_lla = |c: &&Cidr| matches!(c.addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80);
    if let Some(lla) = n.ipv6.iter().find(is_lla) {
        put("ipv6_ra_src_addr", lla.addr.to_string());
    }
    let prefixes: Vec<String> = n
        .ipv6
        .iter()
        .filter(|c| !is_lla(c))
        .map(|c| c.network_string())
        .collect();
    put("ipv6_ra_prefixes", prefixes.join(" "));
    for (k, key) in [("rdnss", "ipv6_ra_rdnss"), ("dnssl", "ipv6_ra_dnssl")] {
        if let Some(v) = ra.get(k) {
            put(key, v.clone());
        }
    }
    put("ipv6_ra_src_eth", n.mac.to_string());
    let prf = ra.get("router_preference").map(String::as_str);
    put(
        "ipv6_ra_prf",
        match prf {
            Some(p @ ("HIGH" | "LOW")) => p.to_string(),
            _ => "MEDIUM".into(),
        },
    );
    if let Some(r) = ra.get("route_info") {
        put("ipv6_ra_route_info", r.clone());
    }
}

fn multicast_groups(t: &Topology, sb: &mut Southbound) {
    for uuid in t.switches.keys() {
        if !sb.datapaths.contains_key(uuid) {
            continue;
        }
        let mut flood = Vec::new();
        let mut flood_l2 = Vec::new();
        let mut unknown = Vec::new();
        for name in &t.datapaths[uuid].ports {
            let Some(p) = t.switch_ports.get(name) else {
                continue;
            };
            if !p.enabled || !sb.port_bindings.contains_key(name) {
                continue;
            }
            flood.push(name.clone());
            if p.port_type != "router" {
                flood_l2.push(name.clone());
            }
            if p.has_unknown {
                unknown.push(name.clone());
            }
        }
        for (mc, key, mut ports) in [
            ("_MC_flood", keys::MC_FLOOD_KEY, flood),
            ("_MC_unknown", keys::MC_UNKNOWN_KEY, unknown),
            ("_MC_flood_l2", keys::MC_FLOOD_L2_KEY, flood_l2),
        ] {
            if ports.is_empty() {
                continue;
            }
            ports.sort();
            sb.multicast_groups.insert(
                (uuid.clone(), mc.to_string()),
                MulticastGroup {
                    datapath: uuid.clone(),
                    name: mc.to_string(),
                    tunnel_key: key,
                    ports,
                },
            );
        }
    }
}

fn load_balancers(nb: &Northbound, t: &Topology, sb: &mut Southbound) {
    let mut users: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
    for (ls_uuid, ls) in &nb.switches {
        for lb in nb.lbs_with_groups(&ls.load_balancers, &ls.load_balancer_groups) {
            users.entry(lb).or_default().insert(ls_uuid.clone());
        }
    }
    for (lb_uuid, dps) in users {
        if let Some(lb) = load_balancer(nb, t, sb, &lb_uuid, &dps) {
            sb.load_balancers.insert(lb_uuid, lb);
        }
    }
}

/// The SB row of one load balancer; `users` are the datapaths referencing it (routers
/// among them are ignored).
pub(crate) fn load_balancer(
    nb: &Northbound,
    t: &Topology,
    sb: &Southbound,
    lb_uuid: &str,
    users: &BTreeSet<Uuid>,
) -> Option<SbLoadBalancer> {
    if !t.parsed_lbs.contains_key(lb_uuid) {
        return None;
    }
    let lb = nb.load_balancers.get(lb_uuid)?;
    let dps: Vec<Uuid> = users
        .iter()
        .filter(|u| nb.switches.contains_key(*u) && sb.datapaths.contains_key(*u))
        .cloned()
        .collect();
    if dps.is_empty() {
        return None;
    }
    let mut options = lb.options.clone();
    options.insert("hairpin_orig_tuple".into(), "true".into());
    let mut ext = Map::new();
    ext.insert("lb_id".into(), lb_uuid.to_string());
    Some(SbLoadBalancer {
        name: lb.name.clone(),
        vips: lb.vips.clone(),
        protocol: lb.protocol.clone(),
        options,
        external_ids: ext,
        datapaths: dps,
    })
}

pub(crate) fn address_sets(nb: &Northbound, t: &Topology, sb: &mut Southbound) {
    for a in nb.address_sets.values() {
        let mut v = a.addresses.clone();
        v.sort();
        v.dedup();
        sb.address_sets.insert(a.name.clone(), v);
    }
    if let Some(m) = sb.options.get("svc_monitor_mac") {
        sb.address_sets.insert("svc_monitor_mac".into(), vec![m.clone()]);
    }
    for (lr, ips) in &t.router_lb_ips {
        let Some(dp) = sb.datapaths.get(lr) else { continue };
        let v4: Vec<String> = ips
            .iter()
            .filter(|i| i.is_ipv4())
            .map(|i| i.to_string())
            .collect();
        let v6: Vec<String> = ips
            .iter()
            .filter(|i| i.is_ipv6())
            .map(|i| i.to_string())
            .collect();
        for (suffix, list) in [("ip4", v4), ("ip6", v6)] {
            if !list.is_empty() {
                sb.address_sets
                    .insert(format!("_rtr_lb_{}_{suffix}", dp.tunnel_key), list);
            }
        }
    }

    // Port groups: one SB group per (group, switch) plus the group's IP address sets.
    let lsp_switch: BTreeMap<&str, &str> = nb
        .switches
        .iter()
        .flat_map(|(u, ls)| ls.ports.iter().map(move |p| (p.as_str(), u.as_str())))
        .collect();
    for pg in nb.port_groups.values() {
        let mut per_dp: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
        let mut v4 = BTreeSet::new();
        let mut v6 = BTreeSet::new();
        for pu in &pg.ports {
            let Some(lsp) = nb.switch_ports.get(pu) else {
                continue;
            };
            let Some(dp) = lsp_switch.get(pu.as_str()) else {
                continue;
            };
            let Some(d) = sb.datapaths.get(*dp) else { continue };
            per_dp.entry(d.tunnel_key).or_default().insert(lsp.name.clone());
            for a in &lsp.addresses {
                if let Ok(p) = parse_lport_addresses(a) {
                    v4.extend(p.ipv4.iter().map(|i| IpAddr::V4(*i)));
                    v6.extend(p.ipv6.iter().map(|i| IpAddr::V6(*i)));
                }
            }
        }
        for (key, ports) in per_dp {
            sb.port_groups
                .insert(format!("{key}_{}", pg.name), ports.into_iter().collect());
        }
        sb.address_sets.insert(
            format!("{}_ip4", pg.name),
            v4.iter().map(|i| i.to_string()).collect(),
        );
        sb.address_sets.insert(
            format!("{}_ip6", pg.name),
            v6.iter().map(|i| i.to_string()).collect(),
        );
    }
}
