//! A logical-level packet tracer (the counterpart of `ovn-trace`): follows
//! one packet, given as a microflow expression, through the logical
//! pipelines of the Southbound database — ingress, egress, across router
//! and switch datapaths through patch ports — and says which logical flow
//! matched in each table and where the packet ends up.
//!
//! Matching and actions are those of the compiler: every logical flow is
//! compiled to OpenFlow exactly as rovn-controller would, and the tracer
//! runs those flows on the packet's fields, so a trace shows what the
//! chassis would do. What happens outside the logical tables (port
//! security, MAC-binding and FDB lookups, hairpin, controller actions,
//! conntrack state beyond "new") is not simulated and is said so.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::actions::{Pipeline, table};
use crate::compile::{Context, LogicalFlow, compile_uncached};
use crate::error::Error;
use crate::expr::Lookup;
use crate::normalize::{AExpr, annotate};
use crate::of::{Action, Field, Flow, Group, Nat, SubField};
use crate::parser::parse_match;

/// One logical flow row, as the tracer needs it.
#[derive(Debug, Clone)]
pub struct TraceFlow {
    pub pipeline: Pipeline,
    pub table: u8,
    pub priority: u16,
    pub match_: String,
    pub actions: String,
    /// `external_ids:stage-name`.
    pub stage: String,
}

/// One logical port of a datapath.
#[derive(Debug, Clone, Default)]
pub struct TracePort {
    pub name: String,
    pub key: u32,
    /// Port_Binding type (`""`, `patch`, `l3gateway`, `localnet`, ...).
    pub port_type: String,
    /// `options:peer` of a patch / l3gateway port.
    pub peer: Option<String>,
}

/// One datapath with its flows, ports and multicast groups.
#[derive(Debug, Clone, Default)]
pub struct TraceDatapath {
    pub name: String,
    pub key: u32,
    pub is_switch: bool,
    pub flows: Vec<TraceFlow>,
    pub ports: Vec<TracePort>,
    /// Multicast groups: (name, key, member port names).
    pub mcast: Vec<(String, u32, Vec<String>)>,
}

/// The Southbound contents a trace reads.
#[derive(Debug, Clone, Default)]
pub struct TraceDb {
    pub datapaths: Vec<TraceDatapath>,
    /// Address_Set name → addresses.
    pub address_sets: BTreeMap<String, Vec<String>>,
    /// Port_Group name as in SB (`<dp key>_<name>`) → port names.
    pub port_groups: BTreeMap<String, Vec<String>>,
}

/// Why a trace could not start.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("unknown datapath \"{0}\"")]
    NoDatapath(String),
    #[error("microflow: {0}")]
    Microflow(Error),
    #[error("microflow: {0}; give field == value terms joined by &&")]
    NotAMicroflow(&'static str),
}

struct DpLookup<'a> {
    db: &'a TraceDb,
    dp: &'a TraceDatapath,
    groups: &'a mut Vec<Group>,
}

impl Lookup for DpLookup<'_> {
    fn port_key(&self, name: &str) -> Option<u32> {
        self.dp
            .ports
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.key)
            .or_else(|| {
                self.dp
                    .mcast
                    .iter()
                    .find(|(n, _, _)| n == name)
                    .map(|(_, k, _)| *k)
            })
    }
    fn address_set(&self, name: &str) -> Option<Vec<String>> {
        self.db.address_sets.get(name).cloned()
    }
    fn port_group(&self, name: &str) -> Option<Vec<String>> {
        self.db
            .port_groups
            .get(&format!("{}_{name}", self.dp.key))
            .cloned()
    }
    fn is_chassis_resident(&self, _port: &str) -> bool {
        // The trace follows the packet as if every port were on the chassis
        // it passes through.
        true
    }
    fn group_id(&mut self, group: &Group) -> Option<u32> {
        self.groups.push(group.clone());
        Some(self.groups.len() as u32)
    }
    fn meter_id(&mut self, _name: &str) -> Option<u32> {
        Some(1)
    }
}

/// The packet's fields, registers at 32-bit granularity.
#[derive(Debug, Clone, Default)]
struct Packet {
    fields: BTreeMap<Field, u128>,
    stack: Vec<u128>,
}

/// A field as (32-bit-register-or-plain field, bit offset) pieces, low first.
fn pieces(f: Field) -> Vec<(Field, u32)> {
    match f {
        Field::Xreg(n) => vec![(Field::Reg(2 * n + 1), 0), (Field::Reg(2 * n), 32)],
        Field::Xxreg(n) => (0..4)
            .map(|i| (Field::Reg(4 * n + 3 - i), 32 * u32::from(i)))
            .collect(),
        f => vec![(f, 0)],
    }
}

fn ones(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

impl Packet {
    fn get(&self, f: Field) -> u128 {
        pieces(f).into_iter().fold(0, |acc, (p, ofs)| {
            acc | (self.fields.get(&p).copied().unwrap_or(0) << ofs)
        })
    }

    fn set(&mut self, f: Field, value: u128, mask: u128) {
        for (p, ofs) in pieces(f) {
            let w = p.width();
            let m = (mask >> ofs) & ones(w);
            if m == 0 {
                continue;
            }
            let v = (value >> ofs) & m;
            let cur = self.fields.entry(p).or_insert(0);
            *cur = (*cur & !m) | v;
        }
    }

    fn get_sub(&self, s: SubField) -> u128 {
        (self.get(s.field) >> s.ofs) & ones(s.n_bits)
    }

    fn set_sub(&mut self, s: SubField, v: u128) {
        let m = ones(s.n_bits) << s.ofs;
        self.set(s.field, (v << s.ofs) & m, m);
    }

    fn matches(&self, m: &crate::of::Match) -> bool {
        m.fields
            .iter()
            .all(|(&f, &(v, mask))| self.get(f) & mask == v & mask)
    }
}

/// The exact terms of a microflow (its `&&` spine); alternatives such as the
/// `ip4 || ip6` a prerequisite adds are checked afterwards by [`holds`].
fn collect_terms(e: &AExpr, out: &mut Vec<(Field, u128, u128)>) {
    match e {
        AExpr::Term(t) => out.push((t.field, t.value, t.mask)),
        AExpr::And(v) => v.iter().for_each(|x| collect_terms(x, out)),
        AExpr::Bool(_) | AExpr::Or(_) | AExpr::Not(_) => {}
    }
}

fn holds(e: &AExpr, pkt: &Packet) -> bool {
    match e {
        AExpr::Term(t) => pkt.get(t.field) & t.mask == t.value & t.mask,
        AExpr::And(v) => v.iter().all(|x| holds(x, pkt)),
        AExpr::Or(v) => v.iter().any(|x| holds(x, pkt)),
        AExpr::Not(x) => !holds(x, pkt),
        AExpr::Bool(b) => *b,
    }
}

/// Per logical table, the compiled OpenFlow flows with the index of the
/// logical flow each came from, highest priority first.
type Tables = Vec<Vec<(Flow, usize)>>;

const MAX_STEPS: usize = 400;
const CS_NEW: u128 = 0x01;
const CS_TRACKED: u128 = 0x20;

struct Tracer<'a> {
    db: &'a TraceDb,
    out: String,
    steps: usize,
    /// (dp key, ingress?) → its pipeline's compiled tables.
    compiled: HashMap<(u32, bool), Tables>,
    groups: Vec<Group>,
}

impl<'a> Tracer<'a> {
    fn dp(&self, key: u32) -> Option<&'a TraceDatapath> {
        self.db.datapaths.iter().find(|d| d.key == key)
    }

    fn tables(&mut self, dp: &'a TraceDatapath, ingress: bool) -> &Tables {
        let db = self.db;
        let groups = &mut self.groups;
        self.compiled.entry((dp.key, ingress)).or_insert_with(|| {
            let mut tables: Tables = vec![Vec::new(); 64];
            let mut conj_base = 1;
            for (i, lf) in dp.flows.iter().enumerate() {
                if (lf.pipeline == Pipeline::Ingress) != ingress {
                    continue;
                }
                let mut ctx = Context::new(dp.key, dp.is_switch);
                ctx.conj_id_base = conj_base;
                let row = LogicalFlow {
                    pipeline: lf.pipeline,
                    table_id: lf.table,
                    priority: lf.priority,
                    match_: &lf.match_,
                    actions: &lf.actions,
                };
                let mut lookup = DpLookup { db, dp, groups };
                if let Ok(c) = compile_uncached(&row, &ctx, &mut lookup) {
                    conj_base += c.conj_ids_used;
                    for f in c.flows {
                        if let Some(t) = tables.get_mut(usize::from(lf.table)) {
                            t.push((f, i));
                        }
                    }
                }
            }
            for t in &mut tables {
                t.sort_by_key(|f| std::cmp::Reverse(f.0.priority));
            }
            tables
        })
    }

    fn port_name(dp: &TraceDatapath, key: u32) -> String {
        dp.ports
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.name.clone())
            .or_else(|| dp.mcast.iter().find(|m| m.1 == key).map(|m| m.0.clone()))
            .unwrap_or_else(|| format!("{key:#x}"))
    }

    fn line(&mut self, depth: usize, text: &str) {
        let _ = writeln!(self.out, "{:indent$}{text}", "", indent = depth * 4);
    }

    fn pipeline(&mut self, dp: &'a TraceDatapath, ingress: bool, mut pkt: Packet, depth: usize) {
        let inport = Self::port_name(dp, pkt.get(Field::Reg(14)) as u32);
        let title = if ingress {
            format!("ingress(dp=\"{}\", inport=\"{inport}\")", dp.name)
        } else {
            let outport = Self::port_name(dp, pkt.get(Field::Reg(15)) as u32);
            format!(
                "egress(dp=\"{}\", inport=\"{inport}\", outport=\"{outport}\")",
                dp.name
            )
        };
        self.line(depth, "");
        self.line(depth, &title);
        self.line(depth, &"-".repeat(title.len()));
        let base = if ingress {
            table::LOG_INGRESS
        } else {
            table::LOG_EGRESS
        };
        pkt.set(Field::Metadata, u128::from(dp.key), u128::MAX);
        self.table(dp, ingress, base, &mut pkt, depth);
    }

    /// Runs OpenFlow table `t` (a logical table of `dp`, or an output stage).
    fn table(&mut self, dp: &'a TraceDatapath, ingress: bool, t: u8, pkt: &mut Packet, depth: usize) {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            self.line(depth, "*** too many steps: stopping (a loop?)");
            return;
        }
        let base = if ingress {
            table::LOG_INGRESS
        } else {
            table::LOG_EGRESS
        };
        let n_tables = crate::actions::N_TABLES;
        if t == table::OUTPUT_INIT && ingress {
            self.output_ingress(dp, pkt.clone(), depth);
            return;
        }
        if !ingress && (t == table::SAVE_INPORT || t == table::SAVE_INPORT + 1) {
            self.deliver(dp, pkt.clone(), depth);
            return;
        }
        if t < base || t >= base + n_tables {
            self.line(
                depth + 1,
                &format!("/* table {t} is not simulated: its lookup finds nothing */"),
            );
            return;
        }
        let logical = t - base;
        let tables = self.tables(dp, ingress);
        let flows = &tables[usize::from(logical)];
        // Conjunctive matches: which clauses of which ids match.
        let mut conj: BTreeMap<u32, (u8, u8)> = BTreeMap::new();
        for (f, _) in flows {
            if f.matches.conj_id.is_none() && pkt.matches(&f.matches) {
                for a in &f.actions {
                    if let Action::Conjunction {
                        id,
                        clause,
                        n_clauses,
                    } = a
                    {
                        let e = conj.entry(*id).or_insert((0, *n_clauses));
                        e.0 |= 1 << clause;
                    }
                }
            }
        }
        let hit = flows.iter().find(|(f, _)| {
            let conj_ok = match f.matches.conj_id {
                Some(id) => conj
                    .get(&id)
                    .is_some_and(|(bits, n)| u32::from(*bits).count_ones() == u32::from(*n)),
                None => !f.actions.iter().any(|a| matches!(a, Action::Conjunction { .. })),
            };
            conj_ok && pkt.matches(&f.matches)
        });
        let Some((flow, idx)) = hit.cloned() else {
            self.line(depth, &format!("{logical:2}. no match: drop"));
            return;
        };
        let lf = &dp.flows[idx];
        self.line(
            depth,
            &format!(
                "{logical:2}. {} (priority {}): {}",
                lf.stage, lf.priority, lf.match_
            ),
        );
        self.line(depth + 1, &lf.actions);
        if flow.actions.is_empty() {
            self.line(depth + 1, "/* drop */");
        }
        self.actions(dp, ingress, &flow.actions, pkt, depth);
    }

    fn actions(
        &mut self,
        dp: &'a TraceDatapath,
        ingress: bool,
        acts: &[Action],
        pkt: &mut Packet,
        depth: usize,
    ) {
        for a in acts {
            match a {
                Action::SetField { field, value, mask } => {
                    pkt.set(*field, *value, mask.unwrap_or(u128::MAX));
                }
                Action::Move { src, dst } => {
                    let v = pkt.get_sub(*src);
                    pkt.set_sub(*dst, v);
                }
                Action::Push(s) => pkt.stack.push(pkt.get_sub(*s)),
                Action::Pop(s) => {
                    let v = pkt.stack.pop().unwrap_or(0);
                    pkt.set_sub(*s, v);
                }
                Action::DecTtl => {
                    let ttl = pkt.get(Field::IpTtl);
                    if ttl <= 1 {
                        self.line(depth + 1, "/* TTL expires: the packet is dropped */");
                        return;
                    }
                    pkt.set(Field::IpTtl, ttl - 1, u128::MAX);
                }
                Action::Resubmit(t) => self.table(dp, ingress, *t, pkt, depth),
                Action::Ct(ct) => {
                    pkt.set(Field::CtState, CS_TRACKED | CS_NEW, u128::MAX);
                    if let Some(Nat::Dst(Some(target))) = &ct.nat {
                        self.line(depth + 1, &format!("/* conntrack: DNAT to {target} */"));
                        self.apply_dnat(target, pkt);
                    }
                    if let Some(t) = ct.table {
                        self.table(dp, ingress, t, pkt, depth);
                    }
                }
                Action::Group(id) => {
                    let Some(g) = self.groups.get(*id as usize - 1).cloned() else {
                        continue;
                    };
                    // Load balancer backends and ECMP members alike: one is chosen by a
                    // hash of the packet, which a trace cannot know.
                    self.line(
                        depth + 1,
                        &format!("/* select: {} choices, following the first */", g.buckets.len()),
                    );
                    if let Some(b) = g.buckets.first() {
                        self.actions(dp, ingress, &b.actions, pkt, depth);
                    }
                }
                Action::Clone(inner) => {
                    let mut copy = pkt.clone();
                    self.actions(dp, ingress, inner, &mut copy, depth);
                }
                Action::Controller { userdata, .. } => {
                    let op = userdata
                        .get(..4)
                        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                    self.line(
                        depth + 1,
                        &format!("/* sent to the chassis controller (opcode {op}): not simulated */"),
                    );
                    return;
                }
                Action::CheckPktLarger { dst, .. } => pkt.set_sub(*dst, 0),
                Action::CtClear => pkt.set(Field::CtState, 0, u128::MAX),
                Action::Conjunction { .. }
                | Action::SetQueue(_)
                | Action::Meter(_)
                | Action::Learn(_)
                | Action::Sample { .. } => {}
            }
        }
    }

    fn apply_dnat(&self, target: &crate::of::NatTarget, pkt: &mut Packet) {
        match target.ip {
            std::net::IpAddr::V4(a) => pkt.set(Field::Ipv4Dst, u128::from(u32::from(a)), u128::MAX),
            std::net::IpAddr::V6(a) => pkt.set(Field::Ipv6Dst, u128::from(a), u128::MAX),
        }
        if let Some((lo, _)) = target.port {
            for f in [Field::TcpDst, Field::UdpDst, Field::SctpDst] {
                if pkt.fields.contains_key(&f) {
                    pkt.set(f, u128::from(lo), u128::MAX);
                }
            }
        }
    }

    /// The ingress pipeline's `output`: the egress pipeline for the outport,
    /// or for each member of a multicast group.
    fn output_ingress(&mut self, dp: &'a TraceDatapath, pkt: Packet, depth: usize) {
        let out = pkt.get(Field::Reg(15)) as u32;
        if let Some((name, _, members)) = dp.mcast.iter().find(|m| m.1 == out) {
            self.line(
                depth + 1,
                &format!("/* multicast group \"{name}\": {} member(s) */", members.len()),
            );
            let inport = pkt.get(Field::Reg(14)) as u32;
            let loopback = pkt.get(Field::Reg(10)) & 1 == 1;
            for m in members {
                let Some(p) = dp.ports.iter().find(|p| &p.name == m) else {
                    continue;
                };
                if p.key == inport && !loopback {
                    continue;
                }
                let mut copy = pkt.clone();
                copy.set(Field::Reg(15), u128::from(p.key), u128::MAX);
                self.egress(dp, copy, depth + 1);
            }
            return;
        }
        if out == 0 {
            self.line(depth + 1, "/* no output port: drop */");
            return;
        }
        self.egress(dp, pkt, depth);
    }

    fn egress(&mut self, dp: &'a TraceDatapath, mut pkt: Packet, depth: usize) {
        // Between the pipelines (table 41) the logical registers reg0..reg9
        // are cleared.
        for r in 0..10 {
            pkt.set(Field::Reg(r), 0, u128::MAX);
        }
        self.pipeline(dp, false, pkt, depth);
    }

    /// The egress pipeline's `output`: a VIF or localnet port is the end of
    /// the trace; a patch (or gateway-router) port enters its peer.
    fn deliver(&mut self, dp: &'a TraceDatapath, pkt: Packet, depth: usize) {
        let out = pkt.get(Field::Reg(15)) as u32;
        let Some(port) = dp.ports.iter().find(|p| p.key == out) else {
            self.line(depth + 1, &format!("/* output to unknown port {out:#x}: drop */"));
            return;
        };
        let peer = port
            .peer
            .as_deref()
            .filter(|_| matches!(port.port_type.as_str(), "patch" | "l3gateway"))
            .and_then(|peer| {
                self.db
                    .datapaths
                    .iter()
                    .find_map(|d| d.ports.iter().find(|p| p.name == peer).map(|p| (d, p)))
            });
        match peer {
            Some((pdp, pp)) => {
                self.line(
                    depth + 1,
                    &format!(
                        "/* output to \"{}\", peer \"{}\" on \"{}\" */",
                        port.name, pp.name, pdp.name
                    ),
                );
                let mut next = Packet {
                    fields: pkt.fields.clone(),
                    stack: Vec::new(),
                };
                for r in 0..16 {
                    next.set(Field::Reg(r), 0, u128::MAX);
                }
                next.set(Field::CtState, 0, u128::MAX);
                next.set(Field::Reg(14), u128::from(pp.key), u128::MAX);
                if let Some(d) = self.dp(pdp.key) {
                    self.pipeline(d, true, next, depth);
                }
            }
            None => {
                let what = match port.port_type.as_str() {
                    "" => "a VM (VIF)".to_string(),
                    t => format!("type \"{t}\""),
                };
                let mac = pkt.get(Field::EthDst).to_be_bytes();
                let ttl = match pkt.get(Field::EthType) {
                    0x0800 | 0x86dd => format!(", ip.ttl {}", pkt.get(Field::IpTtl)),
                    _ => String::new(),
                };
                self.line(
                    depth + 1,
                    &format!(
                        "/* output to \"{}\", {what}; eth.dst {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}{ttl} */",
                        port.name, mac[10], mac[11], mac[12], mac[13], mac[14], mac[15]
                    ),
                );
            }
        }
    }
}

/// Traces `microflow` (e.g. `inport == "vm1" && eth.src == ... && ip4.dst
/// == ... && ip.ttl == 64`) entering datapath `dp_name`'s ingress pipeline.
pub fn trace(db: &TraceDb, dp_name: &str, microflow: &str) -> Result<String, TraceError> {
    let dp = db
        .datapaths
        .iter()
        .find(|d| d.name == dp_name)
        .ok_or_else(|| TraceError::NoDatapath(dp_name.to_string()))?;
    let mut groups = Vec::new();
    let lookup = DpLookup {
        db,
        dp,
        groups: &mut groups,
    };
    let parsed = parse_match(microflow, &lookup).map_err(TraceError::Microflow)?;
    let annotated = annotate(&parsed, &lookup).map_err(TraceError::Microflow)?;
    let mut terms = Vec::new();
    collect_terms(&annotated, &mut terms);
    let mut pkt = Packet::default();
    for (f, v, m) in terms {
        pkt.set(f, v, m);
    }
    if !holds(&annotated, &pkt) {
        return Err(TraceError::NotAMicroflow(
            "it does not pin down one packet (e.g. \"||\", \"!=\" or contradictory values)",
        ));
    }
    let mut t = Tracer {
        db,
        out: String::new(),
        steps: 0,
        compiled: HashMap::new(),
        groups,
    };
    let _ = writeln!(t.out, "{microflow}");
    t.pipeline(dp, true, pkt, 0);
    Ok(t.out)
}
