//! Forgetting learned neighbours whose MAC the CMS changed.
//!
//! A router learns IP → MAC bindings by ARP/ND into SB `MAC_Binding`. When the CMS
//! changes a port's MAC (`lsp-set-addresses`) and the port's addresses carry no IP,
//! the router has no static entry to override the learned one, and OVN 23.03 keeps
//! routing to the old MAC until the binding ages out (seed 004's stale-flow bug).
//! rovn-northd deletes the learned bindings that carry a MAC the CMS just took off a
//! switch port, on the router ports attached to that switch; the router then ARPs
//! again and learns the new MAC.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use northd_core::Northbound;
use ovn_db::sb::MacBinding;
use ovsdb::Uuid;

use crate::sb_sync::Tables;

/// For every logical switch port: its switch and the MACs its `addresses` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortMacs {
    /// Switch NB uuid → port name → MACs in lower case (by switch, so that a change
    /// replaces only its switches' entries).
    ports: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// Switch NB uuid → names of the router ports attached to it.
    router_ports: BTreeMap<String, BTreeSet<String>>,
}

fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

impl PortMacs {
    pub fn of(nb: &Northbound) -> Self {
        Self::of_switches(nb, nb.switches.keys())
    }

    /// The entries of switches `sws` only.
    pub fn of_switches<'a>(nb: &Northbound, sws: impl IntoIterator<Item = &'a String>) -> Self {
        let mut out = PortMacs::default();
        for (ls_uuid, ls) in sws.into_iter().filter_map(|u| Some((u, nb.switches.get(u)?))) {
            for p in &ls.ports {
                let Some(lsp) = nb.switch_ports.get(p) else {
                    continue;
                };
                if lsp.port_type == "router" {
                    if let Some(rp) = lsp.options.get("router-port") {
                        out.router_ports
                            .entry(ls_uuid.clone())
                            .or_default()
                            .insert(rp.clone());
                    }
                    continue;
                }
                let macs = lsp
                    .addresses
                    .iter()
                    .filter_map(|a| a.split_whitespace().next())
                    .filter(|m| is_mac(m))
                    .map(str::to_ascii_lowercase)
                    .collect();
                out.ports
                    .entry(ls_uuid.clone())
                    .or_default()
                    .insert(lsp.name.clone(), macs);
            }
        }
        out
    }

    /// This map restricted to switches `sws`.
    pub fn restrict(&self, sws: &BTreeSet<String>) -> Self {
        fn pick<V: Clone>(m: &BTreeMap<String, V>, sws: &BTreeSet<String>) -> BTreeMap<String, V> {
            sws.iter()
                .filter_map(|ls| Some((ls.clone(), m.get(ls)?.clone())))
                .collect()
        }
        PortMacs {
            ports: pick(&self.ports, sws),
            router_ports: pick(&self.router_ports, sws),
        }
    }

    /// Replaces the entries of switches `sws` by `now`'s (`PortMacs::of_switches`).
    pub fn replace(&mut self, sws: &BTreeSet<String>, now: PortMacs) {
        for ls in sws {
            self.ports.remove(ls);
            self.router_ports.remove(ls);
        }
        self.ports.extend(now.ports);
        self.router_ports.extend(now.router_ports);
    }

    /// `MAC_Binding` rows to delete: learned on a router port attached to a switch
    /// from one of whose ports `now` no longer lists a MAC that `self` did.
    pub fn stale_bindings(&self, now: &PortMacs, sb: &Tables) -> Vec<Uuid> {
        // (router port name, MAC) pairs that must not survive.
        let mut gone: BTreeSet<(String, String)> = BTreeSet::new();
        let still_of: HashMap<&String, &BTreeSet<String>> = now.ports.values().flatten().collect();
        let none = BTreeSet::new();
        for (ls, port, macs) in self
            .ports
            .iter()
            .flat_map(|(ls, ps)| ps.iter().map(move |(p, m)| (ls, p, m)))
        {
            let still = still_of.get(port).copied().unwrap_or(&none);
            for mac in macs.difference(still) {
                for rp in self.router_ports.get(ls).into_iter().flatten() {
                    gone.insert((rp.clone(), mac.clone()));
                }
            }
        }
        if gone.is_empty() {
            return Vec::new();
        }
        sb.get(MacBinding::TABLE)
            .into_iter()
            .flatten()
            .filter(|(_, r)| {
                let port = col!(r, MacBinding, COL_LOGICAL_PORT => logical_port);
                let mac = col!(r, MacBinding, COL_MAC => mac).to_ascii_lowercase();
                gone.contains(&(port, mac))
            })
            .map(|(u, _)| *u)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use northd_core::{LogicalSwitch, LogicalSwitchPort};
    use ovn_db::Table;

    fn nb(d_mac: &str) -> Northbound {
        let mut nb = Northbound::default();
        let port = |name: &str, ty: &str, addr: &str, rp: Option<&str>| LogicalSwitchPort {
            name: name.into(),
            port_type: ty.into(),
            addresses: vec![addr.into()],
            options: rp
                .map(|r| [("router-port".to_string(), r.to_string())].into())
                .unwrap_or_default(),
            ..Default::default()
        };
        nb.switch_ports.insert("u-d".into(), port("d", "", d_mac, None));
        nb.switch_ports
            .insert("u-r".into(), port("ls1-lr1", "router", "router", Some("lr1-ls1")));
        nb.switches.insert(
            "u-ls1".into(),
            LogicalSwitch {
                name: "ls1".into(),
                ports: vec!["u-d".into(), "u-r".into()],
                ..Default::default()
            },
        );
        nb
    }

    fn binding(port: &str, ip: &str, mac: &str) -> ovsdb::Row {
        MacBinding {
            logical_port: port.into(),
            ip: ip.into(),
            mac: mac.into(),
            ..Default::default()
        }
        .to_row()
    }

    #[test]
    fn a_changed_mac_drops_the_routers_learned_binding_only() {
        let before = PortMacs::of(&nb("02:ac:10:ff:00:44"));
        let after = PortMacs::of(&nb("02:ac:10:ff:00:54"));
        let (stale, other, elsewhere) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut sb = Tables::new();
        sb.insert(
            MacBinding::TABLE.into(),
            [
                (stale, binding("lr1-ls1", "172.16.255.44", "02:AC:10:FF:00:44")),
                (other, binding("lr1-ls1", "172.16.255.45", "02:ac:10:ff:00:45")),
                (elsewhere, binding("lr9-x", "10.0.0.4", "02:ac:10:ff:00:44")),
            ]
            .into(),
        );
        assert_eq!(before.stale_bindings(&after, &sb), vec![stale]);
        assert!(
            after.stale_bindings(&after, &sb).is_empty(),
            "nothing changed, nothing goes"
        );
        // A deleted port's MAC goes too.
        let mut gone = nb("02:ac:10:ff:00:44");
        gone.switch_ports.remove("u-d");
        assert_eq!(before.stale_bindings(&PortMacs::of(&gone), &sb), vec![stale]);
    }
}
