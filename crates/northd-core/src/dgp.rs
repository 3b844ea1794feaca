//! Distributed gateway ports (OVN 23.03 layout): a router port with `gateway_chassis` or
//! an `ha_chassis_group` gets a `cr-<port>` chassisredirect twin that the highest-priority
//! live chassis claims. Traffic leaving through the port is redirected to that chassis
//! (`lr_in_gw_redirect`), everything answered or NATed in the port's name is guarded by
//! `is_chassis_resident`, and floating IPs with `logical_port` + `external_mac` are
//! applied on the chassis of their logical port instead.

use crate::addresses::Mac;
use crate::flows::{FlowBuilder, Stage, quoted};
use crate::nat::{NatKind, ParsedNat};

/// SB name of the chassisredirect port of distributed gateway port `lrp`.
pub(crate) fn cr_name(lrp: &str) -> String {
    format!("cr-{lrp}")
}

/// A router's distributed gateway port as its router-wide flows see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouterDgp {
    /// The LRP's name.
    pub port: String,
    pub mac: Mac,
}

impl RouterDgp {
    pub(crate) fn cr(&self) -> String {
        quoted(&cr_name(&self.port))
    }
}

/// Where a NAT rule on a distributed router runs: `is_chassis_resident(...)` of the
/// floating IP's logical port, or of the gateway port's `cr-` instance.
fn resident(n: &ParsedNat, dgp: &RouterDgp) -> String {
    match &n.distributed {
        Some((lp, _)) => format!("is_chassis_resident({})", quoted(lp)),
        None => format!("is_chassis_resident({})", dgp.cr()),
    }
}

fn range(n: &ParsedNat) -> String {
    if n.port_range.is_empty() {
        String::new()
    } else {
        format!(",{}", n.port_range)
    }
}

/// Everything a register reset in the egress loopback clears (MFF_N_LOG_REGS = 10).
fn egress_loop_action() -> String {
    let mut a = String::from(
        "clone { ct_clear; inport = outport; outport = \"\"; eth.dst <-> eth.src; flags = 0; \
         flags.loopback = 1; flags.use_snat_zone = reg9[4]; ",
    );
    for j in 0..10 {
        a.push_str(&format!("reg{j} = 0; "));
    }
    a.push_str("reg9[0] = 1; next(pipeline=ingress, table=0); };");
    a
}

/// The router-wide flows of a distributed router with gateway port `dgp`: the redirect
/// to the gateway chassis and every NAT rule's stages.
pub(crate) fn router_flows(dgp: &RouterDgp, nats: &[ParsedNat], f: &mut FlowBuilder) {
    let l3 = quoted(&dgp.port);
    f.add(
        Stage::LrInGwRedirect,
        50,
        format!("outport == {l3}"),
        format!("outport = {}; next;", dgp.cr()),
    );
    let mut arp_resolved = Vec::new();
    for n in nats {
        let ext = n.external;
        let lip = &n.logical;
        let dist = n.distributed.as_ref();
        let central = if dist.is_none() {
            format!(" && is_chassis_resident({})", dgp.cr())
        } else {
            String::new()
        };
        let set_mac = dist.map(|(_, m)| format!("eth.src = {m}; ")).unwrap_or_default();
        let (snats, dnats) = (n.snats(), n.dnats());
        if snats {
            let action = if n.stateless { "next;" } else { "ct_snat_in_czone;" };
            f.add(
                Stage::LrInUnsnat,
                100,
                format!("ip && ip4.dst == {ext} && inport == {l3} && flags.loopback == 0{central}"),
                action,
            );
            if !n.stateless {
                f.add(
                    Stage::LrInUnsnat,
                    100,
                    format!(
                        "ip && ip4.dst == {ext} && inport == {l3} && flags.loopback == 1 && \
                         flags.use_snat_zone == 1{central}"
                    ),
                    "ct_snat;",
                );
            }
        }
        if dnats {
            let action = if n.kind == NatKind::DnatAndSnat && n.stateless {
                format!("ip4.dst={lip}; next;")
            } else {
                format!("ct_dnat_in_czone({lip}{});", range(n))
            };
            f.add(
                Stage::LrInDnat,
                100,
                format!("ip && ip4.dst == {ext} && inport == {l3}{central}"),
                action,
            );
        }
        // The first rule for an external address decides how it resolves.
        if !arp_resolved.contains(&ext) {
            arp_resolved.push(ext);
            f.add(
                Stage::LrInArpResolve,
                150,
                format!("inport == {l3} && outport == {l3} && ip4.dst == {ext}"),
                "drop;",
            );
            let mac = dist.map_or(dgp.mac, |(_, m)| *m);
            f.add(
                Stage::LrInArpResolve,
                100,
                format!("outport == {l3} && reg0 == {ext}"),
                format!("eth.dst = {mac}; next;"),
            );
        }
        f.add(
            Stage::LrOutChkDnatLocal,
            50,
            format!("ip && ip4.dst == {ext} && {}", resident(n, dgp)),
            "reg9[4] = 1; next;",
        );
        if dnats {
            let action = if n.stateless { "next;" } else { "ct_dnat_in_czone;" };
            f.add(
                Stage::LrOutUndnat,
                100,
                format!("ip && ip4.src == {lip} && outport == {l3}{central}"),
                format!("{set_mac}{action}"),
            );
        }
        if snats {
            let prio = u16::from(n.logical_plen) + 1 + 128;
            let m = format!(
                "ip && ip4.src == {lip} && outport == {l3} && {}",
                resident(n, dgp)
            );
            if n.stateless {
                f.add(
                    Stage::LrOutSnat,
                    prio,
                    m,
                    format!("{set_mac}ip4.src={ext}; next;"),
                );
            } else {
                f.add(
                    Stage::LrOutSnat,
                    prio,
                    m.clone(),
                    format!("{set_mac}ct_snat_in_czone({ext}{});", range(n)),
                );
                f.add(
                    Stage::LrOutSnat,
                    prio + 1,
                    format!("{m} && reg9[4] == 1"),
                    format!("{set_mac}reg9[4] = 0; ct_snat({ext}{});", range(n)),
                );
            }
        }
        if n.kind == NatKind::Snat {
            f.add(
                Stage::LrInIpInput,
                120,
                format!("inport == {l3} && ip4.src == {ext}"),
                "next;",
            );
        }
        if let Some((lp, mac)) = dist {
            f.add(
                Stage::LrInAdmission,
                50,
                format!(
                    "eth.dst == {mac} && inport == {l3} && is_chassis_resident({})",
                    quoted(lp)
                ),
                format!("xreg0[0..47] = {}; next;", dgp.mac),
            );
            f.add(
                Stage::LrInGwRedirect,
                100,
                format!(
                    "ip4.src == {lip} && outport == {l3} && is_chassis_resident({})",
                    quoted(lp)
                ),
                format!("eth.src = {mac}; reg1 = {ext}; next;"),
            );
        }
        f.add(
            Stage::LrOutEgrLoop,
            100,
            format!("ip4.dst == {ext} && outport == {l3} && {}", resident(n, dgp)),
            egress_loop_action(),
        );
    }
}

/// ARP for NAT addresses arriving on the gateway port: answered only where the rule is
/// applied (with the floating IP's own MAC for distributed ones), dropped elsewhere.
pub(crate) fn port_nat_arp_flows(dgp: &RouterDgp, nats: &[ParsedNat], f: &mut FlowBuilder) {
    let l3 = quoted(&dgp.port);
    for n in nats {
        let ext = n.external;
        let mac = match &n.distributed {
            Some((_, m)) => m.to_string(),
            None => "xreg0[0..47]".to_string(),
        };
        f.add(
            Stage::LrInIpInput,
            92,
            format!(
                "inport == {l3} && arp.op == 1 && arp.tpa == {ext} && {}",
                resident(n, dgp)
            ),
            format!(
                "eth.dst = eth.src; eth.src = {mac}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; \
                 arp.sha = {mac}; arp.tpa <-> arp.spa; outport = inport; flags.loopback = 1; output;"
            ),
        );
        f.add(
            Stage::LrInIpInput,
            91,
            format!("inport == {l3} && arp.op == 1 && arp.tpa == {ext}"),
            "drop;",
        );
    }
}

/// Iteration order of an OVS `sset` holding `items` inserted in this order (northd
/// prints some sets in hash order, e.g. the source MACs of self-originated ARPs).
pub(crate) fn sset_order(items: &[String]) -> Vec<String> {
    // An hmap: buckets of nodes, newest first; it doubles when n / 2 > mask.
    let mut mask: usize = 0;
    let mut buckets: Vec<Vec<(u32, String)>> = vec![Vec::new()];
    let mut n = 0usize;
    for it in items {
        if buckets.iter().flatten().any(|(_, s)| s == it) {
            continue;
        }
        let h = hash_string(it);
        buckets[h as usize & mask].insert(0, (h, it.clone()));
        n += 1;
        if n / 2 > mask {
            let new_mask = calc_mask(n);
            if new_mask > mask {
                let mut nb: Vec<Vec<(u32, String)>> = vec![Vec::new(); new_mask + 1];
                for b in &buckets {
                    for (h, s) in b {
                        nb[*h as usize & new_mask].insert(0, (*h, s.clone()));
                    }
                }
                buckets = nb;
                mask = new_mask;
            }
        }
    }
    buckets.into_iter().flatten().map(|(_, s)| s).collect()
}

fn calc_mask(capacity: usize) -> usize {
    let mut mask = capacity / 2;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= (mask & 1) << 1;
    mask
}

fn mhash_add(hash: u32, data: u32) -> u32 {
    let mut h = hash;
    if data != 0 {
        let d = data
            .wrapping_mul(0xcc9e_2d51)
            .rotate_left(15)
            .wrapping_mul(0x1b87_3593);
        h ^= d;
    }
    h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64)
}

fn mhash_finish(hash: u32) -> u32 {
    let mut h = hash;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// OVS `hash_string(s, 0)` (lib/hash.c `hash_bytes`, the portable murmur variant).
fn hash_string(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut h = 0u32;
    let mut chunks = b.chunks_exact(4);
    for c in &mut chunks {
        h = mhash_add(h, u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut t = [0u8; 4];
        t[..rest.len()].copy_from_slice(rest);
        h = mhash_add(h, u32::from_le_bytes(t));
    }
    mhash_finish(h ^ b.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sset_order_matches_ovn() {
        // Orders observed in real ovn-northd 23.03 output (golden seed 12).
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            sset_order(&s(&["02:ac:10:ff:05:01", "02:ac:10:ff:05:51"])),
            s(&["02:ac:10:ff:05:51", "02:ac:10:ff:05:01"])
        );
        assert_eq!(
            sset_order(&s(&["02:ac:10:ff:06:01", "02:ac:10:ff:05:51"])),
            s(&["02:ac:10:ff:05:51", "02:ac:10:ff:06:01"])
        );
        assert_eq!(sset_order(&s(&["a", "a"])), s(&["a"]));
    }
}
