//! Load balancers: parsing of the NB `vips` map and the per-VIP flows a load balancer
//! contributes to each switch (`ls_in_pre_stateful`, `ls_in_lb`) and gateway router
//! (`lr_in_defrag`, `lr_in_dnat`) it is applied to.

use std::net::IpAddr;

use crate::flows::{FlowBuilder, Stage};
use crate::model::nb::{LoadBalancer, Uuid};
use crate::model::sb::LogicalFlow;
use crate::topology::Globals;
use crate::warning::{RowRef, Warning};

/// Which router VIPs the router answers ARP/ND for (`options:neighbor_responder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NeighborMode {
    Reachable,
    All,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Backend {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

impl Backend {
    fn render(&self) -> String {
        match (self.ip, self.port) {
            (IpAddr::V4(a), Some(p)) => format!("{a}:{p}"),
            (IpAddr::V4(a), None) => a.to_string(),
            (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
            (IpAddr::V6(a), None) => a.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Vip {
    pub ip: IpAddr,
    pub port: Option<u16>,
    pub backends: Vec<Backend>,
}

impl Vip {
    fn ip_match(&self) -> &'static str {
        if self.ip.is_ipv4() { "ip4" } else { "ip6" }
    }

    /// The `backends=` argument, in NB order.
    fn backends_str(&self) -> String {
        let v: Vec<String> = self.backends.iter().map(Backend::render).collect();
        v.join(",")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedLb {
    pub uuid: Uuid,
    pub name: String,
    pub proto: &'static str,
    pub vips: Vec<Vip>,
    pub skip_snat: bool,
    pub reject_empty: bool,
    pub neighbor_mode: NeighborMode,
}

/// Splits "IP", "IP:port" or "[IPv6]:port".
fn parse_endpoint(s: &str) -> Option<(IpAddr, Option<u16>)> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, tail) = rest.split_once(']')?;
        let ip: IpAddr = ip.parse().ok().filter(IpAddr::is_ipv6)?;
        let port = match tail {
            "" => None,
            t => Some(t.strip_prefix(':')?.parse::<u16>().ok().filter(|p| *p != 0)?),
        };
        return Some((ip, port));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some((ip, None));
    }
    let (ip, port) = s.rsplit_once(':')?;
    let ip: IpAddr = ip.parse().ok().filter(IpAddr::is_ipv4)?;
    let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
    Some((ip, Some(port)))
}

pub(crate) fn parse_lb(uuid: &str, lb: &LoadBalancer, warnings: &mut Vec<Warning>) -> ParsedLb {
    let row = RowRef::new("Load_Balancer", lb.name.clone());
    let proto = match lb.protocol.as_deref() {
        Some("udp") => "udp",
        Some("sctp") => "sctp",
        _ => "tcp",
    };
    let mut vips = Vec::new();
    for (key, value) in &lb.vips {
        let Some((ip, port)) = parse_endpoint(key) else {
            warnings.push(Warning::BadLbVip {
                row: row.clone(),
                vip: key.clone(),
                reason: "not IP[:port]".into(),
            });
            continue;
        };
        let mut backends = Vec::new();
        for b in value.split(',').map(str::trim).filter(|b| !b.is_empty()) {
            match parse_endpoint(b) {
                Some((bip, bport)) if bip.is_ipv4() == ip.is_ipv4() && bport.is_some() == port.is_some() => {
                    backends.push(Backend { ip: bip, port: bport })
                }
                _ => warnings.push(Warning::BadLbBackend {
                    row: row.clone(),
                    vip: key.clone(),
                    backend: b.to_string(),
                }),
            }
        }
        vips.push(Vip { ip, port, backends });
    }
    let opt_true = |k: &str| lb.options.get(k).is_some_and(|v| v == "true");
    ParsedLb {
        uuid: uuid.to_string(),
        name: lb.name.clone(),
        proto,
        vips,
        skip_snat: opt_true("skip_snat"),
        reject_empty: opt_true("reject"),
        neighbor_mode: match lb.options.get("neighbor_responder").map(String::as_str) {
            Some("all") => NeighborMode::All,
            Some("none") => NeighborMode::None,
            _ => NeighborMode::Reachable,
        },
    }
}

/// Everything the flows of one load balancer on one datapath depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LbView {
    pub lb: ParsedLb,
    pub datapath: Uuid,
    pub on_router: bool,
    /// On a router whose `lb_force_snat_ip` SNATs load balanced traffic.
    pub router_force_snat: bool,
    pub globals: Globals,
}

/// `build_lb_vip_actions`: the ct_lb action for a VIP, or drop/reject when it has no
/// backends. Returns (action, is_lb_action).
fn vip_action(vip: &Vip, lb: &ParsedLb, g: &Globals, switch: bool) -> (String, bool) {
    let ct_lb = if g.ct_lb_mark { "ct_lb_mark" } else { "ct_lb" };
    if vip.backends.is_empty() {
        if lb.reject_empty {
            let table = if switch {
                Stage::LsOutQosMark.table()
            } else {
                Stage::LrOutSnat.table()
            };
            return (
                format!("reg0 = 0; reject {{ outport <-> inport; next(pipeline=egress,table={table});}};"),
                false,
            );
        }
        return ("drop;".into(), false);
    }
    (format!("{ct_lb}(backends={}", vip.backends_str()), true)
}

pub(crate) fn lb_flows(v: &LbView) -> Vec<LogicalFlow> {
    let mut f = FlowBuilder::new(&v.datapath);
    if v.on_router {
        router_lb_flows(v, &mut f);
    } else {
        switch_lb_flows(v, &mut f);
    }
    f.finish()
}

fn switch_lb_flows(v: &LbView, f: &mut FlowBuilder) {
    let g = &v.globals;
    let lb = &v.lb;
    for vip in &lb.vips {
        let ipm = vip.ip_match();
        // Pre-stateful: remember the original VIP (and port) for hairpin handling.
        let reg = if vip.ip.is_ipv4() { "reg1" } else { "xxreg1" };
        let mut action = format!("{reg} = {}; ", vip.ip);
        let mut m = format!("reg0[2] == 1 && {ipm}.dst == {}", vip.ip);
        if let Some(p) = vip.port {
            action.push_str(&format!("reg2[0..15] = {p}; "));
            m.push_str(&format!(" && {}.dst == {p}", lb.proto));
        }
        action.push_str(if g.ct_lb_mark { "ct_lb_mark;" } else { "ct_lb;" });
        f.add(Stage::LsInPreStateful, 120, m, action);

        let (act, is_lb) = vip_action(vip, lb, g, true);
        let action = if is_lb {
            format!("reg0[1] = 0; {act});")
        } else {
            act
        };
        let mut m = format!("ct.new && {ipm}.dst == {}", vip.ip);
        let mut prio = 110;
        if let Some(p) = vip.port {
            m.push_str(&format!(" && {}.dst == {p}", lb.proto));
            prio = 120;
        }
        f.add(Stage::LsInLb, prio, m, action);
    }
}

fn router_lb_flows(v: &LbView, f: &mut FlowBuilder) {
    let g = &v.globals;
    let lb = &v.lb;
    for vip in &lb.vips {
        let ipm = vip.ip_match();
        f.add(
            Stage::LrInDefrag,
            100,
            format!("ip && {ipm}.dst == {}", vip.ip),
            "ct_dnat;",
        );

        let (act, is_lb) = vip_action(vip, lb, g, false);
        let flag = if lb.skip_snat {
            Some("skip_snat")
        } else if v.router_force_snat {
            Some("force_snat")
        } else {
            None
        };
        let action = if let Some(flag) = flag {
            let tail = if is_lb && g.ct_lb_related {
                format!("; {flag});")
            } else if is_lb {
                ");".to_string()
            } else {
                String::new()
            };
            format!("flags.{flag}_for_lb = 1; {act}{tail}")
        } else if is_lb {
            format!("{act});")
        } else {
            act
        };
        let mut m = format!("ct.new && !ct.rel && {ipm} && {ipm}.dst == {}", vip.ip);
        let mut prio = 110;
        if let Some(p) = vip.port {
            m.push_str(&format!(" && {0} && {0}.dst == {p}", lb.proto));
            prio = 120;
        }
        f.add(Stage::LrInDnat, prio, m, action);
    }
    if lb.skip_snat {
        f.add(
            Stage::LrOutSnat,
            120,
            "flags.skip_snat_for_lb == 1 && ip",
            "next;",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            parse_endpoint("10.0.0.1:80"),
            Some(("10.0.0.1".parse().unwrap(), Some(80)))
        );
        assert_eq!(
            parse_endpoint("10.0.0.1"),
            Some(("10.0.0.1".parse().unwrap(), None))
        );
        assert_eq!(
            parse_endpoint("[fd00::1]:443"),
            Some(("fd00::1".parse().unwrap(), Some(443)))
        );
        assert_eq!(parse_endpoint("foo:80"), None);
        assert_eq!(parse_endpoint("10.0.0.1:0"), None);
        assert_eq!(parse_endpoint("10.0.0.1:99999"), None);
    }

    #[test]
    fn bad_backend_is_skipped_with_warning() {
        let mut lb = LoadBalancer {
            name: "lb".into(),
            ..Default::default()
        };
        lb.vips
            .insert("10.0.0.10:80".into(), "10.0.0.2:80,bogus,10.0.0.3:80".into());
        lb.vips.insert("nonsense".into(), "10.0.0.2:80".into());
        let mut w = Vec::new();
        let p = parse_lb("u", &lb, &mut w);
        assert_eq!(p.vips.len(), 1);
        assert_eq!(p.vips[0].backends_str(), "10.0.0.2:80,10.0.0.3:80");
        assert_eq!(w.len(), 2);
    }
}
