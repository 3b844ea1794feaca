//! Port binding (ovn-controller's binding.c): which Port_Binding rows this
//! chassis claims or releases, decided purely from the replicas, and the
//! operations that write the decision.
//!
//! A VIF is an Interface on br-int with `external_ids:iface-id=<logical_port>`
//! and a valid ofport. `l3gateway` ports are claimed by the chassis named in
//! `options:l3gateway-chassis`. `Port_Binding.up` and the Interface's
//! `external_ids:ovn-installed` are set later, once the OpenFlow side
//! acknowledges the flows (see [`up_ops`], [`installed_ops`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ovn_db::sb::{self, PortBinding};
use ovsdb::{Atom, Condition, Datum, Mutation, Operation, Row, Uuid};

use crate::db::Replica;
use crate::row;
use crate::vswitch::{Bridge, Interface, Port};

/// A chassis postpones re-claiming a port it claimed this recently when
/// another chassis took it meanwhile (OVN's claim throttling): migration
/// thrash is rate-limited, not prevented.
pub const CLAIM_HOLDOFF: Duration = Duration::from_millis(500);

/// This chassis as binding sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub name: String,
    pub hostname: String,
    pub uuid: Uuid,
}

/// A local VIF: an Interface on br-int with `iface-id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalIface {
    pub iface: Uuid,
    pub name: String,
    pub ofport: Option<i64>,
    pub external_ids: BTreeMap<String, String>,
}

impl LocalIface {
    /// OVS assigns ofport -1 when the interface cannot be created.
    pub fn has_ofport(&self) -> bool {
        self.ofport.is_some_and(|p| p > 0)
    }

    pub fn is_installed(&self) -> bool {
        self.external_ids.get("ovn-installed").map(String::as_str) == Some("true")
    }
}

/// Interfaces on `bridge` that carry `external_ids:iface-id`, by iface-id
/// (the first one wins if several claim the same id).
pub fn local_ifaces(ovs: &Replica, bridge: &Row) -> BTreeMap<String, LocalIface> {
    let mut out = BTreeMap::new();
    for pu in row::uuids(bridge, Bridge::COL_PORTS) {
        let Some(port) = ovs.row(Port::TABLE, &pu) else {
            continue;
        };
        for iu in row::uuids(port, Port::COL_INTERFACES) {
            let Some(iface) = ovs.row(Interface::TABLE, &iu) else {
                continue;
            };
            let ids = row::smap(iface, Interface::COL_EXTERNAL_IDS);
            let Some(id) = ids.get("iface-id").filter(|s| !s.is_empty()).cloned() else {
                continue;
            };
            out.entry(id).or_insert_with(|| LocalIface {
                iface: iu,
                name: row::str(iface, Interface::COL_NAME).to_string(),
                ofport: row::int(iface, Interface::COL_OFPORT),
                external_ids: ids,
            });
        }
    }
    out
}

/// One key of a Port_Binding's `options`.
fn option<'a>(pb: &'a PortBinding, key: &str) -> Option<&'a str> {
    pb.options.get(key).map(String::as_str)
}

/// Whether a port may be bound here, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligibility {
    Main,
    Additional,
    No,
}

/// Eligibility of a VIF Port_Binding for this chassis (requested-chassis rules).
pub fn eligibility(pb: &PortBinding, me: &Me) -> Eligibility {
    let requested = pb.requested_chassis;
    if requested == Some(me.uuid) {
        return Eligibility::Main;
    }
    if pb.requested_additional_chassis.contains(&me.uuid) {
        return Eligibility::Additional;
    }
    let opt = option(pb, "requested-chassis").unwrap_or("");
    let list: Vec<&str> = opt.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if list.is_empty() {
        return if requested.is_some() {
            Eligibility::No
        } else {
            Eligibility::Main
        };
    }
    let is_me = |s: &&str| *s == me.name || (!me.hostname.is_empty() && *s == me.hostname);
    if is_me(&list[0]) {
        Eligibility::Main
    } else if list[1..].iter().any(is_me) {
        Eligibility::Additional
    } else {
        Eligibility::No
    }
}

/// One binding decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Claim {
        pb: Uuid,
        port: String,
        encap: Option<Uuid>,
    },
    Release {
        pb: Uuid,
        port: String,
    },
    ClaimAdditional {
        pb: Uuid,
        port: String,
    },
    ReleaseAdditional {
        pb: Uuid,
        port: String,
    },
}

/// The result of one binding pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub actions: Vec<Action>,
    /// When a postponed claim should be reconsidered.
    pub wake_at: Option<Instant>,
}

/// Decides claims and releases. `last_claim` holds when this chassis last
/// claimed each port (for [`CLAIM_HOLDOFF`]).
pub fn plan(
    sb: &Replica,
    me: &Me,
    ifaces: &BTreeMap<String, LocalIface>,
    last_claim: &HashMap<String, Instant>,
    now: Instant,
) -> Plan {
    plan_ports(sb, me, ifaces, last_claim, now, sb.sb.port_binding.iter())
}

/// [`plan`] for the Port_Binding rows `rows` only.
fn plan_ports<'a>(
    sb: &Replica,
    me: &Me,
    ifaces: &BTreeMap<String, LocalIface>,
    last_claim: &HashMap<String, Instant>,
    now: Instant,
    rows: impl Iterator<Item = (&'a Uuid, &'a PortBinding)>,
) -> Plan {
    let mut plan = Plan::default();
    for (uuid, pb) in rows {
        let port = pb.logical_port.as_str();
        if port.is_empty() {
            continue;
        }
        let chassis = pb.chassis;
        let bound_here = chassis == Some(me.uuid);
        let additional_here = pb.additional_chassis.contains(&me.uuid);
        let (want_main, want_additional) = match pb.r#type.as_str() {
            "" => {
                let iface = ifaces.get(port).filter(|i| i.has_ofport());
                let ver_ok = |i: &LocalIface| match option(pb, "iface-id-ver") {
                    Some(v) => i.external_ids.get("iface-id-ver").map(String::as_str) == Some(v),
                    None => true,
                };
                match iface.filter(|i| ver_ok(i)).map(|_| eligibility(pb, me)) {
                    Some(Eligibility::Main) => (true, false),
                    Some(Eligibility::Additional) => (false, true),
                    _ => (false, false),
                }
            }
            "l3gateway" => (option(pb, "l3gateway-chassis") == Some(me.name.as_str()), false),
            "chassisredirect" => (ha_active(sb, pb) == Some(me.uuid), false),
            // patch, localnet, localport, vtep, ...: never bound.
            _ => continue,
        };
        let port = port.to_string();
        if want_main && !bound_here {
            if chassis.is_some()
                && let Some(t) = last_claim.get(&port)
                && now.duration_since(*t) < CLAIM_HOLDOFF
            {
                let at = *t + CLAIM_HOLDOFF;
                plan.wake_at = Some(plan.wake_at.map_or(at, |w| w.min(at)));
                tracing::debug!("postponing claim of {port}: claimed recently");
                continue;
            }
            let encap = ifaces
                .get(&port)
                .and_then(|i| i.external_ids.get("encap-ip"))
                .and_then(|ip| my_encap(sb, me, ip));
            plan.actions.push(Action::Claim {
                pb: *uuid,
                port,
                encap,
            });
        } else if !want_main && bound_here {
            plan.actions.push(Action::Release { pb: *uuid, port });
        } else if want_additional && !additional_here {
            plan.actions.push(Action::ClaimAdditional { pb: *uuid, port });
        } else if !want_additional && additional_here {
            plan.actions.push(Action::ReleaseAdditional { pb: *uuid, port });
        }
    }
    plan
}

/// Plans like [`plan`], looking only at the ports whose inputs changed since
/// the last plan: the Port_Binding rows changed since (from the table's
/// change log) and the rows named by interfaces that appeared, changed or
/// went. Everything is looked at again when this chassis, a table the
/// decisions also read (chassis, HA groups, gateway chassis, encaps) changed,
/// the log does not reach back, or after [`Planner::rescan`].
#[derive(Debug, Default)]
pub struct Planner {
    rescan: bool,
    pb_stamp: u64,
    others: Vec<u64>,
    me: Option<Me>,
    ifaces: Arc<BTreeMap<String, LocalIface>>,
}

/// Tables besides Port_Binding that binding decisions read.
const PLAN_INPUTS: &[&str] = &[
    sb::Chassis::TABLE,
    sb::HaChassisGroup::TABLE,
    sb::HaChassis::TABLE,
    sb::GatewayChassis::TABLE,
    sb::Encap::TABLE,
];

impl Planner {
    /// The next plan looks at every port (a postponed claim or a failed
    /// transaction is due again: nothing in the database says so).
    pub fn rescan(&mut self) {
        self.rescan = true;
    }

    pub fn plan(
        &mut self,
        sb: &Replica,
        me: &Me,
        ifaces: &Arc<BTreeMap<String, LocalIface>>,
        last_claim: &HashMap<String, Instant>,
        now: Instant,
    ) -> Plan {
        let t = &sb.sb;
        let others: Vec<u64> = PLAN_INPUTS.iter().map(|n| t.stamp(n)).collect();
        let rescan = std::mem::take(&mut self.rescan);
        let changed = if rescan || self.me.as_ref() != Some(me) || others != self.others {
            None
        } else {
            t.changed_since(PortBinding::TABLE, self.pb_stamp)
        };
        let plan = match changed {
            None => plan(sb, me, ifaces, last_claim, now),
            Some(mut uuids) => {
                if !Arc::ptr_eq(&self.ifaces, ifaces) {
                    for name in changed_names(&self.ifaces, ifaces) {
                        uuids.extend(t.ports.named(name));
                    }
                }
                let rows = uuids.iter().filter_map(|u| t.port_binding.get_key_value(u));
                plan_ports(sb, me, ifaces, last_claim, now, rows)
            }
        };
        self.pb_stamp = t.stamp(PortBinding::TABLE);
        self.others = others;
        self.me = Some(me.clone());
        self.ifaces = ifaces.clone();
        plan
    }
}

/// Names whose interface appeared, went or changed between `a` and `b`.
fn changed_names<'a>(
    a: &'a BTreeMap<String, LocalIface>,
    b: &'a BTreeMap<String, LocalIface>,
) -> impl Iterator<Item = &'a str> {
    let gone_or_changed = a
        .iter()
        .filter(|(n, i)| b.get(*n) != Some(i))
        .map(|(n, _)| n.as_str());
    let added = b.keys().filter(|n| !a.contains_key(*n)).map(String::as_str);
    gone_or_changed.chain(added)
}

/// The chassis that should hold a `chassisredirect` port: the highest-priority
/// member of its `ha_chassis_group` (else of its `gateway_chassis`), ties
/// broken by chassis name. BFD liveness is not considered yet, so a dead
/// active gateway does not fail over.
pub fn ha_active(sb: &Replica, pb: &PortBinding) -> Option<Uuid> {
    let t = &sb.sb;
    let members: Vec<(i64, Uuid)> = match pb.ha_chassis_group.and_then(|g| t.ha_chassis_group.get(&g)) {
        Some(g) => g
            .ha_chassis
            .iter()
            .filter_map(|h| t.ha_chassis.get(h))
            .filter_map(|h| Some((h.priority, h.chassis?)))
            .collect(),
        None => pb
            .gateway_chassis
            .iter()
            .filter_map(|g| t.gateway_chassis.get(g))
            .filter_map(|g| Some((g.priority, g.chassis?)))
            .collect(),
    };
    let name = |u: &Uuid| t.chassis.get(u).map(|c| c.name.clone());
    members
        .into_iter()
        .filter(|(_, c)| t.chassis.contains_key(c))
        .min_by(|(pa, ca), (pb_, cb)| pb_.cmp(pa).then_with(|| name(ca).cmp(&name(cb))))
        .map(|(_, c)| c)
}

/// This chassis's Encap row with `ip`.
fn my_encap(sb: &Replica, me: &Me, ip: &str) -> Option<Uuid> {
    sb.sb
        .encap
        .iter()
        .find(|(_, e)| e.chassis_name == me.name && e.ip == ip)
        .map(|(u, _)| *u)
}

fn pb_update(pb: Uuid, r: Row) -> Operation {
    Operation::Update {
        table: PortBinding::TABLE.into(),
        conditions: vec![Condition::uuid(pb)],
        row: r,
    }
}

/// The `chassis`/`encap`/`up` update of a claim (`Some` chassis) or release.
fn binding_row(chassis: Option<Uuid>, encap: Option<Uuid>) -> Row {
    let mut r = Row::new();
    PortBinding::set_chassis(&mut r, &chassis);
    PortBinding::set_encap(&mut r, &encap);
    PortBinding::set_up(&mut r, &Some(false));
    r
}

fn pb_mutate(pb: Uuid, mutator: &str, me: Uuid) -> Operation {
    Operation::Mutate {
        table: PortBinding::TABLE.into(),
        conditions: vec![Condition::uuid(pb)],
        mutations: vec![Mutation::new(
            PortBinding::COL_ADDITIONAL_CHASSIS,
            mutator,
            Datum::uuid(me),
        )],
    }
}

/// The SB operations for a plan. A claim holds `up` false until the flows are in.
pub fn action_ops(me: &Me, actions: &[Action]) -> Vec<Operation> {
    actions
        .iter()
        .map(|a| match a {
            Action::Claim { pb, port, encap } => {
                tracing::info!("Claiming lport {port} for this chassis.");
                pb_update(*pb, binding_row(Some(me.uuid), *encap))
            }
            Action::Release { pb, port } => {
                tracing::info!("Releasing lport {port} from this chassis.");
                pb_update(*pb, binding_row(None, None))
            }
            Action::ClaimAdditional { pb, port } => {
                tracing::info!("Claiming lport {port} for this additional chassis.");
                pb_mutate(*pb, "insert", me.uuid)
            }
            Action::ReleaseAdditional { pb, port } => {
                tracing::info!("Releasing lport {port} from this additional chassis.");
                pb_mutate(*pb, "delete", me.uuid)
            }
        })
        .collect()
}

/// Sets `Port_Binding.up=true` for a port whose flows are installed.
pub fn up_ops(uuid: Uuid, pb: &PortBinding) -> Option<Operation> {
    (pb.up != Some(true)).then(|| {
        let mut r = Row::new();
        PortBinding::set_up(&mut r, &Some(true));
        pb_update(uuid, r)
    })
}

/// Marks (or unmarks) an Interface `external_ids:ovn-installed`.
pub fn installed_ops(iface: &LocalIface, installed: bool, now_ms: i64) -> Option<Operation> {
    if iface.is_installed() == installed {
        return None;
    }
    let keys = ["ovn-installed", "ovn-installed-ts"];
    let mut mutations = vec![Mutation::new(
        Interface::COL_EXTERNAL_IDS,
        "delete",
        Datum::set(keys.iter().map(|k| Atom::string(*k))),
    )];
    if installed {
        mutations.push(Mutation::new(
            Interface::COL_EXTERNAL_IDS,
            "insert",
            Datum::string_map([
                ("ovn-installed", "true".to_string()),
                ("ovn-installed-ts", now_ms.to_string()),
            ]),
        ));
    }
    Some(Operation::Mutate {
        table: Interface::TABLE.into(),
        conditions: vec![Condition::uuid(iface.iface)],
        mutations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovn_db::sb;

    fn smap(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn me() -> Me {
        Me {
            name: "hv1".into(),
            hostname: "host1".into(),
            uuid: Uuid::new_v4(),
        }
    }

    /// This chassis (hv1) and another (hv2), both registered in SB.
    fn two_chassis() -> (Me, Uuid, Replica) {
        let me = me();
        let other = Uuid::new_v4();
        let mut sb = Replica::default();
        for (uuid, name) in [(me.uuid, "hv1"), (other, "hv2")] {
            sb.sb.insert(sb::Chassis {
                uuid,
                name: name.into(),
                ..Default::default()
            });
        }
        (me, other, sb)
    }

    fn pb(sb: &mut Replica, name: &str, chassis: Option<Uuid>, opts: &[(&str, &str)]) -> Uuid {
        sb.sb.insert(PortBinding {
            logical_port: name.into(),
            chassis,
            options: smap(opts),
            ..Default::default()
        })
    }

    fn iface(ofport: i64) -> LocalIface {
        LocalIface {
            iface: Uuid::new_v4(),
            name: "tap".into(),
            ofport: Some(ofport),
            external_ids: BTreeMap::new(),
        }
    }

    #[test]
    fn requested_chassis_rules() {
        let me = me();
        let r = |opts: &[(&str, &str)]| PortBinding {
            options: smap(opts),
            ..Default::default()
        };
        assert_eq!(eligibility(&r(&[]), &me), Eligibility::Main);
        assert_eq!(
            eligibility(&r(&[("requested-chassis", "hv1")]), &me),
            Eligibility::Main
        );
        assert_eq!(
            eligibility(&r(&[("requested-chassis", "host1")]), &me),
            Eligibility::Main
        );
        assert_eq!(
            eligibility(&r(&[("requested-chassis", "hv2,hv1")]), &me),
            Eligibility::Additional
        );
        assert_eq!(
            eligibility(&r(&[("requested-chassis", "hv2")]), &me),
            Eligibility::No
        );
        let other = PortBinding {
            requested_chassis: Some(Uuid::new_v4()),
            ..Default::default()
        };
        assert_eq!(eligibility(&other, &me), Eligibility::No);
        let mine = PortBinding {
            requested_chassis: Some(me.uuid),
            ..Default::default()
        };
        assert_eq!(eligibility(&mine, &me), Eligibility::Main);
    }

    #[test]
    fn claims_releases_and_throttles() {
        let me = me();
        let other = Uuid::new_v4();
        let mut sb = Replica::default();
        let p1 = pb(&mut sb, "vm1", None, &[]);
        let p2 = pb(&mut sb, "vm2", Some(me.uuid), &[]);
        let _p3 = pb(&mut sb, "vm3", None, &[("requested-chassis", "hv2")]);
        let p4 = pb(&mut sb, "vm4", Some(other), &[]);
        let p5 = pb(&mut sb, "vm5", Some(me.uuid), &[("requested-chassis", "hv2")]);
        let ifaces: BTreeMap<String, LocalIface> = [
            ("vm1".to_string(), iface(1)),
            ("vm3".to_string(), iface(3)),
            ("vm4".to_string(), iface(4)),
            ("vm5".to_string(), iface(5)),
        ]
        .into();
        let now = Instant::now();
        let mut p = plan(&sb, &me, &ifaces, &HashMap::new(), now);
        p.actions.sort_by_key(|a| format!("{a:?}"));
        let mut want = vec![
            Action::Claim {
                pb: p1,
                port: "vm1".into(),
                encap: None,
            },
            Action::Release {
                pb: p2,
                port: "vm2".into(),
            },
            Action::Claim {
                pb: p4,
                port: "vm4".into(),
                encap: None,
            },
            Action::Release {
                pb: p5,
                port: "vm5".into(),
            },
        ];
        want.sort_by_key(|a| format!("{a:?}"));
        assert_eq!(p.actions, want);
        // vm4 was claimed 100 ms ago and another chassis took it: postpone.
        let last: HashMap<String, Instant> = [("vm4".to_string(), now - Duration::from_millis(100))].into();
        let p = plan(&sb, &me, &ifaces, &last, now);
        assert!(
            !p.actions
                .iter()
                .any(|a| matches!(a, Action::Claim { port, .. } if port == "vm4"))
        );
        assert!(p.wake_at.is_some());
        // No ofport yet: not claimed.
        let ifaces: BTreeMap<String, LocalIface> = [("vm1".to_string(), iface(-1))].into();
        let p = plan(&sb, &me, &ifaces, &HashMap::new(), now);
        assert!(!p.actions.iter().any(|a| matches!(a, Action::Claim { .. })));
    }

    /// Random interface and binding changes, including other chassis taking
    /// ports: the incremental planner decides exactly what a full plan
    /// decides, and its decisions are applied as the server would echo them.
    #[test]
    fn incremental_plan_equals_full_plan() {
        let mut rng = crate::local::tests::Rng(0x2545_f491);
        let (me, other, mut sb) = two_chassis();
        let names = ["vm0", "vm1", "vm2", "vm3", "vm4", "vm5"];
        let pbs: Vec<Uuid> = (0..8).map(|_| Uuid::new_v4()).collect();
        let mut ifaces: BTreeMap<String, LocalIface> = BTreeMap::new();
        let mut planner = Planner::default();
        let now = Instant::now();
        let mut claims = 0;
        for step in 0..3000 {
            match rng.below(6) {
                0 | 1 => {
                    let name = rng.pick(&names).to_string();
                    if rng.chance(30) {
                        ifaces.remove(&name);
                    } else {
                        let mut i = iface(rng.pick(&[-1, 1, 2]));
                        if rng.chance(30) {
                            i.external_ids
                                .insert("iface-id-ver".into(), rng.pick(&["1", "2"]).into());
                        }
                        ifaces.insert(name, i);
                    }
                }
                2 => {
                    sb.sb.apply(PortBinding::TABLE, rng.pick(&pbs), None);
                }
                3 | 4 => {
                    let opts: &[(&str, &str)] = match rng.below(4) {
                        0 => &[("requested-chassis", "hv1")],
                        1 => &[("requested-chassis", "hv2,hv1")],
                        2 => &[("iface-id-ver", "1")],
                        _ => &[],
                    };
                    sb.sb.insert(PortBinding {
                        uuid: rng.pick(&pbs),
                        logical_port: rng.pick(&names).into(),
                        chassis: rng.pick(&[None, Some(me.uuid), Some(other)]),
                        additional_chassis: if rng.chance(20) { vec![me.uuid] } else { Vec::new() },
                        options: smap(opts),
                        ..Default::default()
                    });
                }
                _ => {
                    // Another chassis takes a port.
                    if let Some(mut pb) = sb.sb.port_binding.get(&rng.pick(&pbs)).cloned() {
                        pb.chassis = Some(other);
                        sb.sb.insert(pb);
                    }
                }
            }
            if rng.chance(40) {
                continue;
            }
            let shared = Arc::new(ifaces.clone());
            let got = planner.plan(&sb, &me, &shared, &HashMap::new(), now);
            assert_eq!(got, plan(&sb, &me, &ifaces, &HashMap::new(), now), "step {step}");
            for a in &got.actions {
                let (Action::Claim { pb, .. }
                | Action::Release { pb, .. }
                | Action::ClaimAdditional { pb, .. }
                | Action::ReleaseAdditional { pb, .. }) = a;
                let mut row = sb.sb.port_binding[pb].clone();
                match a {
                    Action::Claim { .. } => {
                        claims += 1;
                        row.chassis = Some(me.uuid);
                    }
                    Action::Release { .. } => row.chassis = None,
                    Action::ClaimAdditional { .. } => row.additional_chassis.push(me.uuid),
                    Action::ReleaseAdditional { .. } => row.additional_chassis.retain(|c| *c != me.uuid),
                }
                sb.sb.insert(row);
            }
        }
        assert!(claims > 100, "the sequence exercises claims ({claims})");
    }

    #[test]
    fn l3gateway_follows_option() {
        let me = me();
        let mut sb = Replica::default();
        sb.sb.insert(PortBinding {
            logical_port: "gw".into(),
            r#type: "l3gateway".into(),
            options: smap(&[("l3gateway-chassis", "hv1")]),
            ..Default::default()
        });
        let p = plan(&sb, &me, &BTreeMap::new(), &HashMap::new(), Instant::now());
        assert_eq!(p.actions.len(), 1);
        assert!(matches!(p.actions[0], Action::Claim { .. }));
    }

    #[test]
    fn installed_marks() {
        let mut i = iface(1);
        assert!(installed_ops(&i, false, 0).is_none());
        assert!(installed_ops(&i, true, 0).is_some());
        i.external_ids.insert("ovn-installed".into(), "true".into());
        assert!(installed_ops(&i, true, 0).is_none());
        assert!(installed_ops(&i, false, 0).is_some());
    }

    #[test]
    fn chassisredirect_follows_ha_priority() {
        let (me, other, mut sb) = two_chassis();
        let (h1, h2, g) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let set_prio = |sb: &mut Replica, mine: i64, theirs: i64| {
            for (uuid, chassis, priority) in [(h1, me.uuid, mine), (h2, other, theirs)] {
                sb.sb.insert(sb::HaChassis {
                    uuid,
                    chassis: Some(chassis),
                    priority,
                    ..Default::default()
                });
            }
        };
        set_prio(&mut sb, 20, 10);
        sb.sb.insert(sb::HaChassisGroup {
            uuid: g,
            ha_chassis: vec![h1, h2],
            ..Default::default()
        });
        let cr = sb.sb.insert(PortBinding {
            logical_port: "cr-lrp".into(),
            r#type: "chassisredirect".into(),
            ha_chassis_group: Some(g),
            ..Default::default()
        });
        let p = plan(&sb, &me, &BTreeMap::new(), &HashMap::new(), Instant::now());
        assert!(matches!(&p.actions[..], [Action::Claim { pb, .. }] if *pb == cr));
        set_prio(&mut sb, 5, 10);
        assert!(
            plan(&sb, &me, &BTreeMap::new(), &HashMap::new(), Instant::now())
                .actions
                .is_empty()
        );
        assert_eq!(ha_active(&sb, &sb.sb.port_binding[&cr]), Some(other));
    }
}
