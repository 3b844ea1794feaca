//! OVN-native DHCPv4 (seed 003: no DHCP agent): for each port with `dhcpv4_options`,
//! the `put_dhcp_opts` flows that let the chassis controller answer DISCOVER/REQUEST
//! locally, the flow that sends the answer back out of the port, and the ACL exception
//! that lets the answer through the port's egress ACLs.

use std::net::Ipv4Addr;

use crate::addresses::Cidr;
use crate::flows::{FlowBuilder, Stage};
use crate::model::nb::DhcpOptions;
use crate::topology::SwitchPortView;

/// What a port's DHCP options must say for OVN to serve DHCP from them.
struct Server<'a> {
    id: &'a str,
    mac: &'a str,
}

fn server(o: &DhcpOptions) -> Option<Server<'_>> {
    let get = |k: &str| o.options.get(k).map(String::as_str);
    let (id, mac) = (get("server_id")?, get("server_mac")?);
    get("lease_time")?;
    Some(Server { id, mac })
}

/// The `put_dhcp_opts(...)` argument list for `offer`: the row's options without
/// `server_mac`, plus the subnet's netmask and the port's `options:hostname`, by name.
fn options_action(v: &SwitchPortView, o: &DhcpOptions, offer: Ipv4Addr, netmask: Ipv4Addr) -> String {
    let mut opts = o.options.clone();
    opts.remove("server_mac");
    opts.insert("netmask".into(), netmask.to_string());
    if let Some(h) = &v.hostname {
        opts.insert("hostname".into(), h.clone());
    }
    let list: Vec<String> = opts.iter().map(|(k, val)| format!("{k} = {val}")).collect();
    format!(
        "reg0[3] = put_dhcp_opts(offerip = {offer}, {}); next;",
        list.join(", ")
    )
}

pub(crate) fn port_dhcp_flows(v: &SwitchPortView, key: &str, f: &mut FlowBuilder) {
    let Some(o) = &v.dhcp4 else { return };
    let Some(srv) = server(o) else { return };
    let Ok(subnet) = o.cidr.parse::<Cidr>() else {
        return;
    };
    if !subnet.is_ipv4() {
        return;
    }
    let netmask = Ipv4Addr::from(crate::addresses::mask32(subnet.plen));

    // Replies from the server address pass the port's egress ACLs (committed when the
    // switch tracks connections).
    let through = if v.switch_has_stateful_acl || v.switch_has_lb_vip {
        "ct_commit; next;"
    } else {
        "next;"
    };
    f.add_port(
        Stage::LsOutAcl,
        34000,
        format!(
            "outport == {key} && eth.src == {} && ip4.src == {} && udp && udp.src == 67 && udp.dst == 68",
            srv.mac, srv.id
        ),
        through,
        &v.name,
    );

    if !v.enabled || v.port_type == "router" {
        return;
    }
    for a in &v.addrs {
        for &offer in &a.ipv4 {
            if !subnet.contains(&offer.into()) {
                continue;
            }
            let action = options_action(v, o, offer, netmask);
            let from = format!("inport == {key} && eth.src == {}", a.mac);
            f.add_port(
                Stage::LsInDhcpOptions,
                100,
                format!(
                    "{from} && ip4.src == 0.0.0.0 && ip4.dst == 255.255.255.255 && udp.src == 68 && udp.dst == 67"
                ),
                action.clone(),
                &v.name,
            );
            // Renewals: unicast to the server or broadcast, from the offered address.
            f.add_port(
                Stage::LsInDhcpOptions,
                100,
                format!(
                    "{from} && ip4.src == {offer} && ip4.dst == {{{}, 255.255.255.255}} && udp.src == 68 && udp.dst == 67",
                    srv.id
                ),
                action,
                &v.name,
            );
            f.add_port(
                Stage::LsInDhcpResponse,
                100,
                format!("{from} && ip4 && udp.src == 68 && udp.dst == 67 && reg0[3]"),
                format!(
                    "eth.dst = eth.src; eth.src = {}; ip4.src = {}; udp.src = 67; udp.dst = 68; \
                     outport = inport; flags.loopback = 1; output;",
                    srv.mac, srv.id
                ),
                &v.name,
            );
        }
    }
}
