//! Northbound topologies of a given size, built as ONE OVSDB transaction: every row
//! is inserted with a `uuid-name` and referenced from its parent switch or router
//! with `["named-uuid", ..]` in the same transaction (see bench-notes: sending it as
//! one JSON-RPC request over the unix socket, not through `ovsdb-client transact`,
//! whose single argument would hit the kernel's 128 KiB limit).
//!
//! Shape (mirrors the topologies OVN's reference figures were measured on):
//! - `ls{i}`: a switch with `ports_per_switch` VM ports `ls{i}-p{j}`, each with
//!   `addresses` and `port_security` set to `"MAC IP"`, on subnet `10.(i/256).(i%256).0/24`;
//! - `lr{r}`: a router with `ports_per_router` ports `lr{r}-p{k}`; router port `k` of
//!   router `r` is the gateway `.1` of switch `r * ports_per_router + k`, which gets a
//!   `router`-type port `ls{i}-lr` with `options:router-port=lr{r}-p{k}`;
//! - `lb{n}`: a TCP load balancer with one VIP `172.16.x.y:80` and `backends_per_lb`
//!   backends (VM ports of its switch), attached to switch `n % switches`.

use std::collections::BTreeMap;

use ovsdb::{Atom, Datum, Operation, Row};

/// The sizes of one topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Scale {
    pub name: &'static str,
    pub switches: usize,
    pub ports_per_switch: usize,
    pub routers: usize,
    pub ports_per_router: usize,
    pub lbs: usize,
    pub backends_per_lb: usize,
}

impl Scale {
    pub const SMALL: Scale = Scale {
        name: "small",
        switches: 10,
        ports_per_switch: 10,
        routers: 1,
        ports_per_router: 10,
        lbs: 10,
        backends_per_lb: 3,
    };
    pub const MEDIUM: Scale = Scale {
        name: "medium",
        switches: 200,
        ports_per_switch: 20,
        routers: 20,
        ports_per_router: 10,
        lbs: 100,
        backends_per_lb: 3,
    };
    pub const LARGE: Scale = Scale {
        name: "large",
        switches: 1000,
        ports_per_switch: 20,
        routers: 100,
        ports_per_router: 10,
        lbs: 1000,
        backends_per_lb: 3,
    };

    pub fn by_name(name: &str) -> Option<Scale> {
        [Scale::SMALL, Scale::MEDIUM, Scale::LARGE]
            .into_iter()
            .find(|s| s.name == name)
    }

    /// Router ports actually wired: at most one per switch.
    pub fn router_links(&self) -> usize {
        (self.routers * self.ports_per_router).min(self.switches)
    }

    /// Rows per NB table the topology inserts (with `NB_Global`).
    pub fn expected_rows(&self) -> BTreeMap<&'static str, usize> {
        BTreeMap::from([
            ("NB_Global", 1),
            ("Logical_Switch", self.switches),
            (
                "Logical_Switch_Port",
                self.switches * self.ports_per_switch + self.router_links(),
            ),
            ("Logical_Router", self.routers),
            ("Logical_Router_Port", self.router_links()),
            ("Load_Balancer", self.lbs),
        ])
    }

    pub fn describe(&self) -> String {
        format!(
            "{} switches x {} ports, {} routers x {} ports, {} LBs (1 VIP, {} backends)",
            self.switches,
            self.ports_per_switch,
            self.routers,
            self.ports_per_router,
            self.lbs,
            self.backends_per_lb
        )
    }
}

/// Switch `i`'s /24 as its first three octets.
fn subnet(i: usize) -> String {
    format!("10.{}.{}", (i / 256) % 256, i % 256)
}

fn vm_mac(i: usize, j: usize) -> String {
    format!(
        "0a:00:{:02x}:{:02x}:{:02x}:{:02x}",
        (i >> 8) & 0xff,
        i & 0xff,
        (j >> 8) & 0xff,
        j & 0xff
    )
}

/// The logical port name of VM port `j` on switch `i`.
pub fn port_name(i: usize, j: usize) -> String {
    format!("ls{i}-p{j}")
}

fn router_mac(r: usize, k: usize) -> String {
    format!(
        "0a:01:{:02x}:{:02x}:{:02x}:{:02x}",
        (r >> 8) & 0xff,
        r & 0xff,
        (k >> 8) & 0xff,
        k & 0xff
    )
}

/// VM port `j` of switch `i`'s IP address (`.1` is the router's).
fn vm_ip(i: usize, j: usize) -> String {
    format!("{}.{}", subnet(i), j + 2)
}

fn row<const N: usize>(cols: [(&str, Datum); N]) -> Row {
    cols.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn named(n: &str) -> Atom {
    Atom::NamedUuid(n.to_string())
}

fn insert(table: &str, uuid_name: String, row: Row) -> Operation {
    Operation::Insert {
        table: table.to_string(),
        row,
        uuid_name: Some(uuid_name),
    }
}

/// The operations of the one load transaction, children before their parents.
pub fn operations(s: &Scale) -> Vec<Operation> {
    let mut ops = vec![insert("NB_Global", "nbg".into(), Row::new())];
    // Which router port serves switch i.
    let links: BTreeMap<usize, (usize, usize)> = (0..s.router_links())
        .map(|i| (i, (i / s.ports_per_router, i % s.ports_per_router)))
        .collect();
    let mut lbs_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for n in 0..s.lbs {
        lbs_of.entry(n % s.switches).or_default().push(n);
    }

    for n in 0..s.lbs {
        let i = n % s.switches;
        let backends: Vec<String> = (0..s.backends_per_lb.min(s.ports_per_switch))
            .map(|j| format!("{}:8080", vm_ip(i, j)))
            .collect();
        let vip = format!("172.16.{}.{}:80", (n / 250) % 256, n % 250 + 1);
        ops.push(insert(
            "Load_Balancer",
            format!("lb_{n}"),
            row([
                ("name", Datum::string(format!("lb{n}"))),
                ("protocol", Datum::string("tcp")),
                ("vips", Datum::string_map([(vip, backends.join(","))])),
            ]),
        ));
    }

    for r in 0..s.routers {
        let mut ports = Vec::new();
        for k in 0..s.ports_per_router {
            let i = r * s.ports_per_router + k;
            if i >= s.switches {
                break;
            }
            let name = format!("lrp_{r}_{k}");
            ops.push(insert(
                "Logical_Router_Port",
                name.clone(),
                row([
                    ("name", Datum::string(format!("lr{r}-p{k}"))),
                    ("mac", Datum::string(router_mac(r, k))),
                    (
                        "networks",
                        Datum::set([Atom::string(format!("{}.1/24", subnet(i)))]),
                    ),
                ]),
            ));
            ports.push(named(&name));
        }
        ops.push(insert(
            "Logical_Router",
            format!("lr_{r}"),
            row([
                ("name", Datum::string(format!("lr{r}"))),
                ("ports", Datum::set(ports)),
            ]),
        ));
    }

    for i in 0..s.switches {
        let mut ports = Vec::new();
        for j in 0..s.ports_per_switch {
            let name = format!("lsp_{i}_{j}");
            let addr = format!("{} {}", vm_mac(i, j), vm_ip(i, j));
            ops.push(insert(
                "Logical_Switch_Port",
                name.clone(),
                row([
                    ("name", Datum::string(format!("ls{i}-p{j}"))),
                    ("addresses", Datum::set([Atom::string(addr.clone())])),
                    ("port_security", Datum::set([Atom::string(addr)])),
                ]),
            ));
            ports.push(named(&name));
        }
        if let Some((r, k)) = links.get(&i) {
            let name = format!("lsp_{i}_lr");
            ops.push(insert(
                "Logical_Switch_Port",
                name.clone(),
                row([
                    ("name", Datum::string(format!("ls{i}-lr"))),
                    ("type", Datum::string("router")),
                    ("addresses", Datum::set([Atom::string("router")])),
                    (
                        "options",
                        Datum::string_map([("router-port", format!("lr{r}-p{k}"))]),
                    ),
                ]),
            ));
            ports.push(named(&name));
        }
        let lbs: Vec<Atom> = lbs_of
            .get(&i)
            .into_iter()
            .flatten()
            .map(|n| named(&format!("lb_{n}")))
            .collect();
        ops.push(insert(
            "Logical_Switch",
            format!("ls_{i}"),
            row([
                ("name", Datum::string(format!("ls{i}"))),
                ("ports", Datum::set(ports)),
                ("load_balancer", Datum::set(lbs)),
            ]),
        ));
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_operations() {
        for s in [Scale::SMALL, Scale::MEDIUM, Scale::LARGE] {
            let ops = operations(&s);
            let mut got: BTreeMap<&str, usize> = BTreeMap::new();
            for op in &ops {
                if let Operation::Insert { table, .. } = op {
                    *got.entry(table.as_str()).or_default() += 1;
                }
            }
            let want = s.expected_rows();
            assert_eq!(got.len(), want.len());
            for (t, n) in want {
                assert_eq!(got.get(t), Some(&n), "{} {t}", s.name);
            }
        }
    }

    #[test]
    fn addresses_are_unique() {
        let s = Scale::LARGE;
        let mut macs = std::collections::BTreeSet::new();
        for i in 0..s.switches {
            for j in 0..s.ports_per_switch {
                assert!(macs.insert(vm_mac(i, j)));
            }
        }
        assert_eq!(vm_ip(999, 19), "10.3.231.21");
    }
}
