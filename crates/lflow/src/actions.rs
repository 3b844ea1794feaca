//! Parsing OVN logical actions and encoding them as OpenFlow actions.

use std::net::IpAddr;

use crate::error::Error;
use crate::expr::{FieldRef, Lookup, Value};
use crate::lexer::{IntFormat, Tok};
use crate::normalize::prereqs_of;
use crate::of::{Action, Bucket, Ct, Field, Group, Learn, Nat, NatTarget, Selection, SubField, ones};
use crate::options::{
    GenOpt, OptSet, check_type, encode_dhcp4, encode_dhcp6, encode_event, encode_nd_ra, validate_nd_ra,
};
use crate::parser::Parser;
use crate::symbols::{Kind, Writable, symtab};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipeline {
    Ingress,
    Egress,
}

/// Controller action opcodes understood by the chassis controller.
pub mod opcode {
    pub const ARP: u32 = 0;
    pub const PUT_ARP: u32 = 1;
    pub const ND_NA: u32 = 3;
    pub const PUT_ND: u32 = 4;
    pub const ND_NS: u32 = 9;
    pub const ICMP: u32 = 10;
    pub const TCP_RESET: u32 = 11;
    pub const ND_NA_ROUTER: u32 = 12;
    pub const ICMP4_ERROR: u32 = 14;
    pub const IGMP: u32 = 16;
    pub const HANDLE_SVC_CHECK: u32 = 18;
    pub const DHCP6_SERVER: u32 = 19;
    pub const ICMP6_ERROR: u32 = 20;
    pub const REJECT: u32 = 22;
    pub const SCTP_ABORT: u32 = 24;
    pub const PUT_FDB: u32 = 25;
    pub const PUT_DHCP_OPTS: u32 = 2;
    pub const PUT_DHCPV6_OPTS: u32 = 5;
    pub const DNS_LOOKUP: u32 = 6;
    pub const LOG: u32 = 7;
    pub const PUT_ND_RA_OPTS: u32 = 8;
    pub const PUT_ICMP4_FRAG_MTU: u32 = 13;
    pub const EVENT: u32 = 15;
    pub const BIND_VPORT: u32 = 17;
    pub const BFD_MSG: u32 = 23;
    pub const PUT_ICMP6_FRAG_MTU: u32 = 21;
}

/// OpenFlow tables the actions jump to (ovn-controller 23.03 numbering).
pub mod table {
    pub const LOG_INGRESS: u8 = 8;
    pub const LOG_EGRESS: u8 = 42;
    pub const OUTPUT_INIT: u8 = 37;
    pub const SAVE_INPORT: u8 = 64;
    pub const MAC_BINDING: u8 = 66;
    pub const MAC_LOOKUP: u8 = 67;
    pub const CHK_LB_HAIRPIN: u8 = 68;
    pub const CHK_LB_HAIRPIN_REPLY: u8 = 69;
    pub const CT_SNAT_HAIRPIN: u8 = 70;
    pub const GET_FDB: u8 = 71;
    pub const LOOKUP_FDB: u8 = 72;
    pub const CHK_IN_PORT_SEC: u8 = 73;
    pub const CHK_OUT_PORT_SEC: u8 = 75;
    pub const ECMP_NH_MAC: u8 = 76;
    pub const ECMP_NH: u8 = 77;
    pub const CHK_LB_AFFINITY: u8 = 78;
}

/// OVN's limit on nested actions (`clone { clone { ... } }`).
pub const MAX_NESTED_ACTIONS: usize = 32;

/// Number of logical tables per pipeline (a `next` past the last is an error).
pub const N_TABLES: u8 = 29;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatKind {
    Dnat,
    Snat,
    DnatInCzone,
    SnatInCzone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbFlag {
    None,
    SkipSnat,
    ForceSnat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    CheckInPortSec,
    CheckOutPortSec,
    ChkLbHairpin,
    ChkLbHairpinReply,
    ChkLbAff,
    ChkEcmpNhMac,
    ChkEcmpNh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NestKind {
    Clone,
    Controller(u32),
}

/// A parsed logical action.
#[derive(Debug, Clone)]
pub enum Act {
    Next {
        pipeline: Pipeline,
        table: u8,
    },
    Output,
    Load {
        dst: FieldRef,
        value: Value,
    },
    Move {
        dst: FieldRef,
        src: FieldRef,
    },
    Exchange {
        a: FieldRef,
        b: FieldRef,
    },
    Push(FieldRef),
    Pop(FieldRef),
    DecTtl,
    CtNext {
        table: u8,
    },
    CtCommit(Vec<Act>),
    CtNat {
        kind: NatKind,
        table: u8,
        target: Option<(IpAddr, Option<(u16, u16)>)>,
    },
    CtCommitNat {
        table: u8,
    },
    CtLb {
        mark: bool,
        table: u8,
        backends: Vec<(IpAddr, u16)>,
        hash_fields: Option<String>,
        flag: LbFlag,
    },
    CtClear,
    CtSnatToVip,
    Nested {
        kind: NestKind,
        inner: Vec<Act>,
    },
    Igmp,
    GetMac {
        nd: bool,
        port: FieldRef,
        ip: FieldRef,
    },
    PutMac {
        nd: bool,
        port: FieldRef,
        ip: FieldRef,
        mac: FieldRef,
    },
    LookupMac {
        nd: bool,
        dst: FieldRef,
        port: FieldRef,
        ip: FieldRef,
        mac: FieldRef,
    },
    GetFdb {
        dst: FieldRef,
        mac: FieldRef,
    },
    LookupFdb {
        dst: FieldRef,
        port: FieldRef,
        mac: FieldRef,
    },
    PutFdb {
        port: FieldRef,
        mac: FieldRef,
    },
    Result {
        dst: FieldRef,
        kind: ResultKind,
    },
    HandleSvcCheck {
        port: FieldRef,
    },
    Dhcp6Reply,
    SetQueue(u16),
    /// `R = put_dhcp_opts(...)`, `put_dhcpv6_opts`, `put_nd_ra_opts`.
    PutOpts {
        set: OptSet,
        dst: FieldRef,
        options: Vec<GenOpt>,
    },
    DnsLookup {
        dst: FieldRef,
    },
    Log {
        verdict: u8,
        severity: u8,
        name: Option<String>,
        meter: Option<String>,
    },
    CheckPktLarger {
        dst: FieldRef,
        len: u16,
    },
    TriggerEvent {
        event: u32,
        options: Vec<GenOpt>,
    },
    BindVport {
        vport: String,
        parent: FieldRef,
    },
    Select {
        dst: FieldRef,
        table: u8,
        members: Vec<(u16, u16)>,
    },
    /// `icmp4.frag_mtu = N` / `icmp6.frag_mtu = N` (inside icmp*_error).
    FragMtu {
        v6: bool,
        mtu: u32,
    },
    SetMeter {
        rate: u64,
        burst: Option<u64>,
    },
    BfdMsg,
    /// Deprecated `ct_commit(ct_mark=V[/M], ct_label=V[/M])`.
    CtCommitV1 {
        mark: Option<(u128, u128)>,
        label: Option<(u128, u128)>,
    },
    CommitEcmpNh {
        ipv6: bool,
        proto: u8,
    },
    FwdGroup {
        liveness: bool,
        ports: Vec<String>,
    },
    Sample {
        probability: u16,
        collector_set: u32,
        obs_domain: u8,
        obs_point: Option<u32>,
    },
    /// `R = lookup_arp_ip(P, A)` / `lookup_nd_ip`.
    LookupMacIp {
        nd: bool,
        dst: FieldRef,
        port: FieldRef,
        ip: FieldRef,
    },
    /// `commit_lb_aff(vip = "...", backend = "...", proto = P, timeout = T)`.
    CommitLbAff {
        vip: (IpAddr, u16),
        backend: (IpAddr, u16),
        proto: u8,
        timeout: u16,
    },
}

/// Parsed actions plus the prerequisites they add to the match.
#[derive(Debug, Clone, Default)]
pub struct ParsedActions {
    pub acts: Vec<Act>,
    pub prereqs: Vec<&'static str>,
}

pub struct ActionParser<'p, 'a> {
    p: &'p mut Parser<'a>,
    pipeline: Pipeline,
    table: u8,
    prereqs: Vec<&'static str>,
    scope: Writable,
    n_tables: u8,
    nesting: usize,
}

/// Parses a logical flow's action string.
pub fn parse_actions(
    input: &str,
    pipeline: Pipeline,
    table: u8,
    lookup: &dyn Lookup,
) -> Result<ParsedActions, Error> {
    parse_actions_n(input, pipeline, table, N_TABLES, lookup)
}

/// [`parse_actions`] for a pipeline of `n_tables` logical tables.
pub fn parse_actions_n(
    input: &str,
    pipeline: Pipeline,
    table: u8,
    n_tables: u8,
    lookup: &dyn Lookup,
) -> Result<ParsedActions, Error> {
    let mut p = Parser::new(input, lookup)?;
    let mut ap = ActionParser {
        p: &mut p,
        pipeline,
        table,
        prereqs: Vec::new(),
        scope: Writable::Yes,
        n_tables,
        nesting: 0,
    };
    let acts = ap.parse_list(&Tok::End)?;
    let prereqs = std::mem::take(&mut ap.prereqs);
    Ok(ParsedActions { acts, prereqs })
}

impl ActionParser<'_, '_> {
    fn parse_list(&mut self, sentinel: &Tok) -> Result<Vec<Act>, Error> {
        let mut acts = Vec::new();
        if self.p.eat(sentinel) {
            return Ok(acts);
        }
        if self.p.eat_id("drop") {
            self.p.expect(&Tok::Semicolon, "`;'")?;
            if !self.p.eat(sentinel) {
                return self.p.err("\"drop\" must be the only action.");
            }
            return Ok(acts);
        }
        loop {
            let pos = self.p.pos();
            if self.p.eat_id("drop") {
                return Err(Error::syntax(pos, "\"drop\" must be the only action."));
            }
            self.parse_action(&mut acts)?;
            if !self.p.eat(&Tok::Semicolon) {
                return self.p.syntax_err("expecting `;'");
            }
            if self.p.eat(sentinel) {
                return Ok(acts);
            }
            if self.p.at_end() {
                return self.p.syntax_err("expecting `}'");
            }
        }
    }

    fn add_field_prereqs(&mut self, f: &FieldRef) {
        self.prereqs.extend(prereqs_of(f.sym));
    }

    fn parse_field(&mut self) -> Result<FieldRef, Error> {
        let f = self.p.parse_field()?;
        if matches!(f.sym.kind, Kind::Predicate(_)) {
            return self.p.err(format!(
                "Predicate symbol {} used where lvalue required.",
                f.sym.name
            ));
        }
        self.add_field_prereqs(&f);
        Ok(f)
    }

    fn check_writable(&self, f: &FieldRef, pos: usize) -> Result<(), Error> {
        // Like OVN's write scopes: inside `ct_commit { }` only ct_mark and
        // ct_label may be assigned; elsewhere only ordinary fields.
        if f.sym.writable != Writable::No && f.sym.writable == self.scope {
            Ok(())
        } else {
            Err(Error::syntax(
                pos,
                format!("Field {} is not modifiable.", f.sym.name),
            ))
        }
    }

    fn next_table(&self, name: &str) -> Result<u8, Error> {
        if self.table.saturating_add(1) >= self.n_tables {
            return self
                .p
                .err(format!("\"{name}\" action not allowed in last table."));
        }
        Ok(self.table + 1)
    }

    fn paren_field_args(&mut self, n: usize) -> Result<Vec<FieldRef>, Error> {
        self.p.expect(&Tok::LParen, "`('")?;
        let mut v = Vec::new();
        for i in 0..n {
            if i > 0 {
                self.p.expect(&Tok::Comma, "`,'")?;
            }
            v.push(self.parse_field()?);
        }
        self.p.expect(&Tok::RParen, "`)'")?;
        Ok(v)
    }

    fn check_width(&self, f: &FieldRef, width: u32, pos: usize) -> Result<(), Error> {
        if f.n_bits != width {
            return Err(Error::syntax(
                pos,
                format!(
                    "{} must be a {width}-bit field, but it is {} bits wide.",
                    f, f.n_bits
                ),
            ));
        }
        Ok(())
    }

    fn parse_action(&mut self, acts: &mut Vec<Act>) -> Result<(), Error> {
        let pos = self.p.pos();
        let Tok::Id(name) = self.p.peek().clone() else {
            return self.p.syntax_err("expecting action");
        };
        let next_tok = self.p.peek_at(1).clone();
        // Assignments: `field = ...`, `field <-> field`, `field = func(...)`.
        if self.p.is_field_next() && matches!(next_tok, Tok::Equals | Tok::Exchange | Tok::LSquare) {
            return self.parse_assignment(acts);
        }
        if name == "ip.ttl" && next_tok == Tok::Decrement {
            self.p.advance();
            self.p.advance();
            self.prereqs.push("ip");
            acts.push(Act::DecTtl);
            return Ok(());
        }
        self.p.advance();
        match name.as_str() {
            "next" => {
                let (mut pipeline, mut table) = (self.pipeline, None);
                if self.p.eat(&Tok::LParen) {
                    if matches!(self.p.peek(), Tok::Int(_)) {
                        table = Some(self.p.expect_int()?);
                    } else {
                        loop {
                            if self.p.eat_id("pipeline") {
                                self.p.expect(&Tok::Equals, "`='")?;
                                pipeline = if self.p.eat_id("ingress") {
                                    Pipeline::Ingress
                                } else if self.p.eat_id("egress") {
                                    Pipeline::Egress
                                } else {
                                    return self.p.syntax_err("expecting `ingress' or `egress'");
                                };
                            } else if self.p.eat_id("table") {
                                self.p.expect(&Tok::Equals, "`='")?;
                                table = Some(self.p.expect_int()?);
                            } else {
                                return self.p.syntax_err("expecting `pipeline' or `table'");
                            }
                            if !self.p.eat(&Tok::Comma) {
                                break;
                            }
                        }
                    }
                    self.p.expect(&Tok::RParen, "`)'")?;
                }
                // As in OVN 23.03, an unspecified table is the next one even
                // when another pipeline is named, and any pipeline may be named.
                let table = table.unwrap_or(self.table as u64 + 1);
                if table >= self.n_tables as u64 {
                    return Err(Error::syntax(
                        pos,
                        format!(
                            "\"next\" action cannot advance beyond table {}.",
                            self.n_tables.saturating_sub(1)
                        ),
                    ));
                }
                let table = table as u8;
                acts.push(Act::Next { pipeline, table });
            }
            "output" => acts.push(Act::Output),
            "push" | "pop" => {
                let f = self.paren_field_args(1)?[0];
                if name == "pop" {
                    self.check_writable(&f, pos)?;
                }
                acts.push(if name == "push" { Act::Push(f) } else { Act::Pop(f) });
            }
            "ct_next" => {
                self.prereqs.push("ip");
                acts.push(Act::CtNext {
                    table: self.next_table("ct_next")?,
                });
            }
            "ct_commit" => {
                self.prereqs.push("ip");
                if self.p.eat(&Tok::LParen) {
                    acts.push(self.parse_ct_commit_v1()?);
                } else {
                    let inner = if self.p.peek() == &Tok::LCurly {
                        self.parse_nested(Writable::CtCommit, true)?
                    } else {
                        Vec::new()
                    };
                    acts.push(Act::CtCommit(inner));
                }
            }
            "ct_dnat" | "ct_snat" | "ct_dnat_in_czone" | "ct_snat_in_czone" => {
                self.prereqs.push("ip");
                let kind = match name.as_str() {
                    "ct_dnat" => NatKind::Dnat,
                    "ct_snat" => NatKind::Snat,
                    "ct_dnat_in_czone" => NatKind::DnatInCzone,
                    _ => NatKind::SnatInCzone,
                };
                let table = self.next_table(&name)?;
                let mut target = None;
                if self.p.eat(&Tok::LParen) {
                    let ip = self.parse_ip()?;
                    let mut range = None;
                    if self.p.eat(&Tok::Comma) {
                        let lo = self.p.expect_int()?;
                        if lo == 0 || lo > 65535 {
                            return self.p.err("range can't be 0");
                        }
                        let hi = if self.p.eat(&Tok::Hyphen) {
                            self.p.expect_int()?
                        } else {
                            0
                        };
                        if hi != 0 && (hi <= lo || hi > 65535) {
                            return self.p.err("range high should be greater than range low");
                        }
                        range = Some((lo as u16, hi as u16));
                    }
                    self.p.expect(&Tok::RParen, "`)'")?;
                    target = Some((ip, range));
                }
                acts.push(Act::CtNat { kind, table, target });
            }
            "ct_commit_nat" => {
                self.prereqs.push("ip");
                acts.push(Act::CtCommitNat {
                    table: self.next_table("ct_commit_nat")?,
                });
            }
            "ct_lb" | "ct_lb_mark" => self.parse_ct_lb(acts, name == "ct_lb_mark")?,
            "ct_clear" => acts.push(Act::CtClear),
            "ct_snat_to_vip" => acts.push(Act::CtSnatToVip),
            "clone" => {
                let inner = self.parse_nested(Writable::Yes, true)?;
                acts.push(Act::Nested {
                    kind: NestKind::Clone,
                    inner,
                });
            }
            "arp" | "icmp4" | "icmp4_error" | "icmp6" | "icmp6_error" | "tcp_reset" | "sctp_abort"
            | "nd_na" | "nd_na_router" | "nd_ns" | "reject" => {
                let (op, pre) = match name.as_str() {
                    "arp" => (opcode::ARP, Some("ip4")),
                    "icmp4" => (opcode::ICMP, Some("ip4")),
                    "icmp4_error" => (opcode::ICMP4_ERROR, Some("ip4")),
                    "icmp6" => (opcode::ICMP, Some("ip6")),
                    "icmp6_error" => (opcode::ICMP6_ERROR, Some("ip6")),
                    "tcp_reset" => (opcode::TCP_RESET, Some("tcp")),
                    "sctp_abort" => (opcode::SCTP_ABORT, Some("sctp")),
                    "nd_na" => (opcode::ND_NA, Some("nd_ns")),
                    "nd_na_router" => (opcode::ND_NA_ROUTER, Some("nd_ns")),
                    "nd_ns" => (opcode::ND_NS, Some("ip6")),
                    _ => (opcode::REJECT, None),
                };
                let scope = self.scope;
                let inner = self.parse_nested(scope, pre.is_none())?;
                if let Some(pre) = pre {
                    self.prereqs.push(pre);
                }
                acts.push(Act::Nested {
                    kind: NestKind::Controller(op),
                    inner,
                });
            }
            "igmp" => acts.push(Act::Igmp),
            "get_arp" | "get_nd" => {
                let nd = name == "get_nd";
                let a = self.paren_field_args(2)?;
                self.check_port_arg(&a[0], pos)?;
                self.check_width(&a[1], if nd { 128 } else { 32 }, pos)?;
                acts.push(Act::GetMac {
                    nd,
                    port: a[0],
                    ip: a[1],
                });
            }
            "put_arp" | "put_nd" => {
                let nd = name == "put_nd";
                let a = self.paren_field_args(3)?;
                self.check_port_arg(&a[0], pos)?;
                self.check_width(&a[1], if nd { 128 } else { 32 }, pos)?;
                self.check_width(&a[2], 48, pos)?;
                acts.push(Act::PutMac {
                    nd,
                    port: a[0],
                    ip: a[1],
                    mac: a[2],
                });
            }
            "put_fdb" => {
                let a = self.paren_field_args(2)?;
                self.check_port_arg(&a[0], pos)?;
                self.check_width(&a[1], 48, pos)?;
                acts.push(Act::PutFdb {
                    port: a[0],
                    mac: a[1],
                });
            }
            "handle_svc_check" => {
                let a = self.paren_field_args(1)?;
                self.check_port_arg(&a[0], pos)?;
                acts.push(Act::HandleSvcCheck { port: a[0] });
            }
            "handle_dhcpv6_reply" => acts.push(Act::Dhcp6Reply),
            "handle_bfd_msg" => {
                if self.p.eat(&Tok::LParen) {
                    self.p.expect(&Tok::RParen, "`)'")?;
                }
                acts.push(Act::BfdMsg);
            }
            "commit_lb_aff" => acts.push(self.parse_commit_lb_aff()?),
            "commit_ecmp_nh" => acts.push(self.parse_commit_ecmp_nh()?),
            "fwd_group" => acts.push(self.parse_fwd_group()?),
            "sample" => acts.push(self.parse_sample()?),
            "log" => acts.push(self.parse_log()?),
            "trigger_event" => acts.push(self.parse_trigger_event()?),
            "bind_vport" => {
                self.p.expect(&Tok::LParen, "`('")?;
                let Tok::Str(vport) = self.p.peek().clone() else {
                    return self.p.syntax_err("expecting port name string");
                };
                self.p.advance();
                self.p.expect(&Tok::Comma, "`,'")?;
                let parent = self.parse_field()?;
                self.check_port_arg(&parent, pos)?;
                self.p.expect(&Tok::RParen, "`)'")?;
                acts.push(Act::BindVport { vport, parent });
            }
            "set_meter" => {
                self.p.expect(&Tok::LParen, "`('")?;
                let rate = self.p.expect_u64()?;
                let burst = if self.p.eat(&Tok::Comma) {
                    Some(self.p.expect_u64()?)
                } else {
                    None
                };
                self.p.expect(&Tok::RParen, "`)'")?;
                if rate == 0 || burst == Some(0) {
                    return Err(Error::syntax(pos, "set_meter rate and burst must be positive."));
                }
                acts.push(Act::SetMeter { rate, burst });
            }
            "set_queue" => {
                self.p.expect(&Tok::LParen, "`('")?;
                let q = self.p.expect_int()?;
                if q > 61440 {
                    return self.p.err("Queue ID must be in range 0 to 61440.");
                }
                self.p.expect(&Tok::RParen, "`)'")?;
                acts.push(Act::SetQueue(q as u16));
            }
            _ => {
                return Err(Error::syntax(
                    pos,
                    format!("Syntax error at `{name}' expecting action."),
                ));
            }
        }
        Ok(())
    }

    fn check_port_arg(&self, f: &FieldRef, pos: usize) -> Result<(), Error> {
        if f.sym.width != 0 {
            return Err(Error::syntax(
                pos,
                format!("{} must be a string field (inport or outport).", f.sym.name),
            ));
        }
        Ok(())
    }

    fn parse_ip(&mut self) -> Result<IpAddr, Error> {
        match self.p.peek().clone() {
            Tok::Int(k) if k.mask.is_none() && k.format == IntFormat::Ipv4 => {
                self.p.advance();
                Ok(IpAddr::V4((k.value as u32).into()))
            }
            Tok::Int(k) if k.mask.is_none() && k.format == IntFormat::Ipv6 => {
                self.p.advance();
                Ok(IpAddr::V6(k.value.into()))
            }
            _ => self.p.syntax_err("expecting IPv4 or IPv6 address"),
        }
    }

    fn parse_nested(&mut self, scope: Writable, keep_prereqs: bool) -> Result<Vec<Act>, Error> {
        self.p.expect(&Tok::LCurly, "`{'")?;
        if self.nesting + 1 >= MAX_NESTED_ACTIONS {
            return self.p.err("maximum depth of nested actions reached");
        }
        self.nesting += 1;
        let saved_scope = std::mem::replace(&mut self.scope, scope);
        let saved_pre = std::mem::take(&mut self.prereqs);
        let r = self.parse_list(&Tok::RCurly);
        let inner_pre = std::mem::replace(&mut self.prereqs, saved_pre);
        if keep_prereqs {
            self.prereqs.extend(inner_pre);
        }
        self.scope = saved_scope;
        self.nesting -= 1;
        r
    }

    fn parse_ct_lb(&mut self, acts: &mut Vec<Act>, mark: bool) -> Result<(), Error> {
        self.prereqs.push("ip");
        let name = if mark { "ct_lb_mark" } else { "ct_lb" };
        let table = self.next_table(name)?;
        let mut backends = Vec::new();
        let mut hash_fields = None;
        let mut flag = LbFlag::None;
        if self.p.eat(&Tok::LParen) {
            // OVN 23.03 accepts only the `backends=` form (or nothing).
            if self.p.peek() != &Tok::RParen && !self.p.eat_id("backends") {
                return self.p.syntax_err("expecting backends");
            }
            let keyword = backends.is_empty() && self.p.peek() != &Tok::RParen;
            if keyword {
                self.p.expect(&Tok::Equals, "`='")?;
            }
            // A trailing comma before `;` or `)` is allowed.
            while !matches!(self.p.peek(), Tok::RParen | Tok::Semicolon) {
                let ip = match self.p.peek().clone() {
                    // IPv6 backends with a port are written `[addr]:port`.
                    Tok::LSquare => {
                        self.p.advance();
                        let ip = match self.p.peek() {
                            Tok::Int(k) if k.format == IntFormat::Ipv6 && k.mask.is_none() => {
                                self.parse_ip()?
                            }
                            _ => return self.p.syntax_err("expecting IPv6 address"),
                        };
                        self.p.expect(&Tok::RSquare, "`]'")?;
                        ip
                    }
                    _ => self.parse_ip()?,
                };
                let mut port = 0;
                if self.p.eat(&Tok::Colon) {
                    let v = self.p.expect_int()?;
                    if v == 0 || v > 65535 {
                        return self.p.err("Port must be in range 1 to 65535.");
                    }
                    port = v as u16;
                }
                if backends
                    .iter()
                    .any(|(b, _): &(IpAddr, u16)| b.is_ipv4() != ip.is_ipv4())
                {
                    return self.p.err("ct_lb: mixed IPv4 and IPv6 backends.");
                }
                backends.push((ip, port));
                if !self.p.eat(&Tok::Comma) {
                    break;
                }
            }
            while keyword && self.p.eat(&Tok::Semicolon) {
                if self.p.eat_id("hash_fields") {
                    self.p.expect(&Tok::Equals, "`='")?;
                    let Tok::Str(s) = self.p.peek().clone() else {
                        return self.p.syntax_err("expecting string");
                    };
                    self.p.advance();
                    hash_fields = Some(s);
                } else if self.p.eat_id("skip_snat") {
                    flag = LbFlag::SkipSnat;
                } else if self.p.eat_id("force_snat") {
                    flag = LbFlag::ForceSnat;
                } else {
                    return self
                        .p
                        .syntax_err("expecting hash_fields, skip_snat or force_snat");
                }
            }
            self.p.expect(&Tok::RParen, "`)'")?;
        }
        acts.push(Act::CtLb {
            mark,
            table,
            backends,
            hash_fields,
            flag,
        });
        Ok(())
    }

    fn parse_assignment(&mut self, acts: &mut Vec<Act>) -> Result<(), Error> {
        let pos = self.p.pos();
        let dst = self.parse_field()?;
        if self.p.eat(&Tok::Exchange) {
            let spos = self.p.pos();
            let src = self.parse_field()?;
            self.check_writable(&dst, pos)?;
            self.check_writable(&src, spos)?;
            if (dst.sym.width == 0) != (src.sym.width == 0) || dst.n_bits != src.n_bits {
                return Err(Error::syntax(
                    pos,
                    format!(
                        "Can't exchange {}-bit field with {}-bit field.",
                        dst.n_bits, src.n_bits
                    ),
                ));
            }
            acts.push(Act::Exchange { a: dst, b: src });
            return Ok(());
        }
        self.p.expect(&Tok::Equals, "`=' or `<->'")?;
        // Functions with a result destination.
        if let Tok::Id(func) = self.p.peek().clone()
            && self.p.peek_at(1) == &Tok::LParen
            && symtab().get(&func).is_none()
        {
            return self.parse_result_function(acts, dst, &func, pos);
        }
        self.check_writable(&dst, pos)?;
        if self.p.is_field_next() {
            let src = self.parse_field()?;
            if (dst.sym.width == 0) != (src.sym.width == 0) || dst.n_bits != src.n_bits {
                return Err(Error::syntax(
                    pos,
                    format!(
                        "Can't assign {}-bit value to {}-bit destination.",
                        src.n_bits, dst.n_bits
                    ),
                ));
            }
            acts.push(Act::Move { dst, src });
            return Ok(());
        }
        let cpos = self.p.pos();
        let (mut set, curly) = self.p.parse_constant_set()?;
        if curly || set.len() != 1 {
            return Err(Error::syntax(cpos, "Assignment requires a single constant."));
        }
        let value = set.pop().unwrap_or(Value::Str(String::new()));
        match (&value, dst.sym.width) {
            (Value::Str(_), 0) => {}
            (Value::Int(k), w) if w > 0 => {
                if k.width() > dst.n_bits {
                    return Err(Error::syntax(
                        cpos,
                        format!(
                            "{}-bit constant is not compatible with {}-bit field {}.",
                            k.width(),
                            dst.n_bits,
                            dst
                        ),
                    ));
                }
            }
            _ => {
                return Err(Error::syntax(
                    cpos,
                    format!("Type mismatch assigning to {}.", dst.sym.name),
                ));
            }
        }
        if let Kind::OvnField { id } = dst.sym.kind {
            let Value::Int(k) = &value else {
                return Err(Error::syntax(cpos, "Type mismatch."));
            };
            acts.push(Act::FragMtu {
                v6: id == 1,
                mtu: k.value as u32,
            });
            return Ok(());
        }
        acts.push(Act::Load { dst, value });
        Ok(())
    }

    fn parse_result_function(
        &mut self,
        acts: &mut Vec<Act>,
        dst: FieldRef,
        func: &str,
        pos: usize,
    ) -> Result<(), Error> {
        self.check_writable(&dst, pos)?;
        let one_bit = |s: &Self| -> Result<(), Error> {
            if dst.n_bits != 1 || dst.sym.width == 0 {
                return Err(Error::syntax(
                    pos,
                    format!(
                        "Cannot use {}-bit field {} where 1-bit field is required.",
                        dst.n_bits, dst
                    ),
                ));
            }
            let _ = s;
            Ok(())
        };
        self.p.advance();
        match func {
            "check_in_port_sec" | "check_out_port_sec" | "chk_lb_hairpin" | "chk_lb_hairpin_reply" => {
                one_bit(self)?;
                self.p.expect(&Tok::LParen, "`('")?;
                self.p.expect(&Tok::RParen, "`)'")?;
                let kind = match func {
                    "check_in_port_sec" => ResultKind::CheckInPortSec,
                    "check_out_port_sec" => ResultKind::CheckOutPortSec,
                    "chk_lb_hairpin" => ResultKind::ChkLbHairpin,
                    _ => ResultKind::ChkLbHairpinReply,
                };
                acts.push(Act::Result { dst, kind });
            }
            "lookup_arp" | "lookup_nd" => {
                one_bit(self)?;
                let nd = func == "lookup_nd";
                let a = self.paren_field_args(3)?;
                self.check_port_arg(&a[0], pos)?;
                self.check_width(&a[1], if nd { 128 } else { 32 }, pos)?;
                self.check_width(&a[2], 48, pos)?;
                acts.push(Act::LookupMac {
                    nd,
                    dst,
                    port: a[0],
                    ip: a[1],
                    mac: a[2],
                });
            }
            "get_fdb" => {
                if dst.sym.width != 0 && dst.n_bits != 32 {
                    return Err(Error::syntax(
                        pos,
                        format!(
                            "Cannot use {}-bit field {dst} where 32-bit field is required.",
                            dst.n_bits
                        ),
                    ));
                }
                let a = self.paren_field_args(1)?;
                self.check_width(&a[0], 48, pos)?;
                acts.push(Act::GetFdb { dst, mac: a[0] });
            }
            "lookup_fdb" => {
                one_bit(self)?;
                let a = self.paren_field_args(2)?;
                self.check_port_arg(&a[0], pos)?;
                self.check_width(&a[1], 48, pos)?;
                acts.push(Act::LookupFdb {
                    dst,
                    port: a[0],
                    mac: a[1],
                });
            }
            "chk_lb_aff" | "chk_ecmp_nh_mac" | "chk_ecmp_nh" => {
                one_bit(self)?;
                self.p.expect(&Tok::LParen, "`('")?;
                self.p.expect(&Tok::RParen, "`)'")?;
                let kind = match func {
                    "chk_lb_aff" => ResultKind::ChkLbAff,
                    "chk_ecmp_nh_mac" => ResultKind::ChkEcmpNhMac,
                    _ => ResultKind::ChkEcmpNh,
                };
                acts.push(Act::Result { dst, kind });
            }
            "lookup_arp_ip" | "lookup_nd_ip" => {
                one_bit(self)?;
                let nd = func == "lookup_nd_ip";
                let a = self.paren_field_args(2)?;
                self.check_port_arg(&a[0], pos)?;
                self.check_width(&a[1], if nd { 128 } else { 32 }, pos)?;
                acts.push(Act::LookupMacIp {
                    nd,
                    dst,
                    port: a[0],
                    ip: a[1],
                });
            }
            "dns_lookup" => {
                one_bit(self)?;
                self.p.expect(&Tok::LParen, "`('")?;
                self.p.expect(&Tok::RParen, "`)'")?;
                self.prereqs.push("udp");
                acts.push(Act::DnsLookup { dst });
            }
            "put_dhcp_opts" | "put_dhcpv6_opts" | "put_nd_ra_opts" => {
                one_bit(self)?;
                let set = match func {
                    "put_dhcp_opts" => OptSet::Dhcp4,
                    "put_dhcpv6_opts" => OptSet::Dhcp6,
                    _ => OptSet::NdRa,
                };
                self.p.expect(&Tok::LParen, "`('")?;
                let options = self.parse_gen_opts(set)?;
                match set {
                    OptSet::Dhcp4 if !options.iter().any(|o| o.code == 0) => {
                        return self.p.err("put_dhcp_opts requires offerip to be specified.");
                    }
                    OptSet::NdRa => {
                        validate_nd_ra(&options).map_err(|m| Error::syntax(pos, m))?;
                        self.prereqs.push("ip6");
                    }
                    _ => {}
                }
                acts.push(Act::PutOpts { set, dst, options });
            }
            "check_pkt_larger" => {
                one_bit(self)?;
                self.p.expect(&Tok::LParen, "`('")?;
                let len = self.p.expect_int()?;
                self.p.expect(&Tok::RParen, "`)'")?;
                acts.push(Act::CheckPktLarger {
                    dst,
                    len: len.min(u16::MAX as u64) as u16,
                });
            }
            "select" => {
                if dst.n_bits < 16 {
                    return Err(Error::syntax(
                        pos,
                        format!(
                            "cannot use {}-bit field {dst} for \"select\", which requires at least 16 bits.",
                            dst.n_bits
                        ),
                    ));
                }
                let table = self.next_table("select")?;
                self.p.expect(&Tok::LParen, "`('")?;
                let mut members = Vec::new();
                while !self.p.eat(&Tok::RParen) {
                    let id = self.p.expect_int()?;
                    let mut weight = 100;
                    if self.p.eat(&Tok::Equals) {
                        weight = self.p.expect_int()?;
                        if weight == 0 {
                            return self.p.err("weight can't be 0");
                        }
                    }
                    if id > u16::MAX as u64 || weight > u16::MAX as u64 {
                        return self.p.err("select member id and weight must fit in 16 bits.");
                    }
                    members.push((id as u16, weight as u16));
                    self.p.eat(&Tok::Comma);
                }
                if members.len() <= 1 {
                    return self.p.err("expecting at least 2 group members");
                }
                acts.push(Act::Select { dst, table, members });
            }
            other => {
                return Err(Error::syntax(
                    pos,
                    format!("Unsupported action function `{other}'."),
                ));
            }
        }
        Ok(())
    }

    /// `name = value, ...)` for controller actions with option lists.
    fn parse_gen_opts(&mut self, set: OptSet) -> Result<Vec<GenOpt>, Error> {
        let mut out = Vec::new();
        while !self.p.eat(&Tok::RParen) {
            let pos = self.p.pos();
            let Tok::Id(name) = self.p.peek().clone() else {
                return self
                    .p
                    .syntax_err(&format!("expecting {} option name", set.label()));
            };
            let Some((code, ty)) = set.find(&name) else {
                return self
                    .p
                    .syntax_err(&format!("expecting {} option name", set.label()));
            };
            self.p.advance();
            self.p.expect(&Tok::Equals, "`='")?;
            let (values, _) = self.p.parse_constant_set()?;
            let o = GenOpt {
                name,
                code,
                ty,
                values,
            };
            check_type(set, &o).map_err(|m| Error::syntax(pos, m))?;
            out.push(o);
            self.p.eat(&Tok::Comma);
        }
        Ok(out)
    }

    fn parse_log(&mut self) -> Result<Act, Error> {
        let (mut verdict, mut severity, mut name, mut meter) = (u8::MAX, 6u8, None, None);
        if self.p.eat(&Tok::LParen) {
            while !self.p.eat(&Tok::RParen) {
                if self.p.eat_id("verdict") {
                    self.p.expect(&Tok::Equals, "`='")?;
                    verdict = if self.p.eat_id("allow") {
                        0
                    } else if self.p.eat_id("drop") {
                        1
                    } else if self.p.eat_id("reject") {
                        2
                    } else {
                        return self.p.syntax_err("unknown verdict");
                    };
                } else if self.p.eat_id("severity") {
                    self.p.expect(&Tok::Equals, "`='")?;
                    let Tok::Id(s) = self.p.peek().clone() else {
                        return self.p.syntax_err("expecting severity");
                    };
                    severity = match s.as_str() {
                        "alert" => 1,
                        "warning" => 4,
                        "notice" => 5,
                        "info" => 6,
                        "debug" => 7,
                        _ => return self.p.syntax_err("unknown severity"),
                    };
                    self.p.advance();
                } else if self.p.eat_id("name") || self.p.eat_id("meter") {
                    let is_name = matches!(&self.toks_prev_id(), Some(s) if s == "name");
                    self.p.expect(&Tok::Equals, "`='")?;
                    let Tok::Str(v) = self.p.peek().clone() else {
                        return self.p.syntax_err("expecting string");
                    };
                    if is_name && v.len() >= 64 {
                        return self.p.syntax_err("name must be shorter than 64 characters");
                    }
                    self.p.advance();
                    if is_name {
                        name = Some(v);
                    } else {
                        meter = Some(v);
                    }
                } else {
                    return self.p.syntax_err("expecting log argument");
                }
                self.p.eat(&Tok::Comma);
            }
        }
        if verdict == u8::MAX {
            return self.p.syntax_err("expecting verdict");
        }
        Ok(Act::Log {
            verdict,
            severity,
            name,
            meter,
        })
    }

    fn lb_key_arg(&mut self, name: &str) -> Result<(IpAddr, u16), Error> {
        if !self.p.eat_id(name) {
            return self.p.syntax_err("invalid parameter");
        }
        self.p.expect(&Tok::Equals, "`='")?;
        let Tok::Str(s) = self.p.peek().clone() else {
            return self.p.syntax_err("invalid parameter");
        };
        let parsed = parse_lb_key(&s);
        let Some(v) = parsed else {
            return self.p.syntax_err("invalid parameter");
        };
        self.p.advance();
        self.p.eat(&Tok::Comma);
        Ok(v)
    }

    fn parse_commit_lb_aff(&mut self) -> Result<Act, Error> {
        self.p.expect(&Tok::LParen, "`('")?;
        let vip = self.lb_key_arg("vip")?;
        let backend = self.lb_key_arg("backend")?;
        if vip.0.is_ipv4() != backend.0.is_ipv4() {
            return self.p.syntax_err("invalid protocol family");
        }
        let mut proto = 0;
        if vip.1 != 0 {
            if !self.p.eat_id("proto") {
                return self.p.syntax_err("invalid parameter");
            }
            self.p.expect(&Tok::Equals, "`='")?;
            proto = if self.p.eat_id("tcp") {
                6
            } else if self.p.eat_id("udp") {
                17
            } else if self.p.eat_id("sctp") {
                132
            } else {
                return self.p.syntax_err("invalid protocol");
            };
            self.p.expect(&Tok::Comma, "`,'")?;
        }
        if !self.p.eat_id("timeout") {
            return self.p.syntax_err("invalid parameter");
        }
        self.p.expect(&Tok::Equals, "`='")?;
        let timeout = self.p.expect_int()?;
        if timeout > u16::MAX as u64 {
            return self.p.err("affinity timeout must fit in 16 bits.");
        }
        self.p.expect(&Tok::RParen, "`)'")?;
        Ok(Act::CommitLbAff {
            vip,
            backend,
            proto,
            timeout: timeout as u16,
        })
    }

    fn parse_ct_commit_v1(&mut self) -> Result<Act, Error> {
        let (mut mark, mut label) = (None, None);
        while !self.p.eat(&Tok::RParen) {
            let is_mark = if self.p.eat_id("ct_mark") {
                true
            } else if self.p.eat_id("ct_label") {
                false
            } else {
                return self.p.syntax_err("expecting ct_mark or ct_label");
            };
            self.p.expect(&Tok::Equals, "`='")?;
            let Tok::Int(k) = self.p.peek().clone() else {
                return self.p.syntax_err("expecting integer");
            };
            self.p.advance();
            let full = if is_mark { u32::MAX as u128 } else { u128::MAX };
            let v = (k.value & full, k.mask.unwrap_or(full) & full);
            if is_mark {
                mark = Some(v);
            } else {
                label = Some(v);
            }
            self.p.eat(&Tok::Comma);
        }
        self.prereqs.push("ip");
        Ok(Act::CtCommitV1 { mark, label })
    }

    fn parse_bool_arg(&mut self) -> Result<bool, Error> {
        let v = match self.p.peek() {
            Tok::Id(s) | Tok::Str(s) if s == "true" => true,
            Tok::Id(s) | Tok::Str(s) if s == "false" => false,
            _ => return self.p.syntax_err("expecting true or false"),
        };
        self.p.advance();
        Ok(v)
    }

    fn parse_commit_ecmp_nh(&mut self) -> Result<Act, Error> {
        self.p.expect(&Tok::LParen, "`('")?;
        if !self.p.eat_id("ipv6") {
            return self.p.syntax_err("invalid parameter");
        }
        self.p.expect(&Tok::Equals, "`='")?;
        let ipv6 = self.parse_bool_arg()?;
        self.p.expect(&Tok::Comma, "`,'")?;
        if !self.p.eat_id("proto") {
            return self.p.syntax_err("invalid parameter");
        }
        self.p.expect(&Tok::Equals, "`='")?;
        let proto = if self.p.eat_id("tcp") {
            6
        } else if self.p.eat_id("udp") {
            17
        } else if self.p.eat_id("sctp") {
            132
        } else {
            return self.p.syntax_err("invalid protocol");
        };
        self.p.expect(&Tok::RParen, "`)'")?;
        Ok(Act::CommitEcmpNh { ipv6, proto })
    }

    fn parse_fwd_group(&mut self) -> Result<Act, Error> {
        let (mut liveness, mut ports) = (false, Vec::new());
        if self.p.eat(&Tok::LParen) {
            if self.p.eat_id("liveness") {
                self.p.expect(&Tok::Equals, "`='")?;
                liveness = self.parse_bool_arg()?;
                self.p.expect(&Tok::Comma, "`,'")?;
            }
            if self.p.eat_id("childports") {
                self.p.expect(&Tok::Equals, "`='")?;
                while !self.p.eat(&Tok::RParen) {
                    let Tok::Str(port) = self.p.peek().clone() else {
                        return self.p.syntax_err("expecting logical switch port");
                    };
                    self.p.advance();
                    ports.push(port);
                    self.p.eat(&Tok::Comma);
                }
            }
        }
        Ok(Act::FwdGroup { liveness, ports })
    }

    fn parse_sample(&mut self) -> Result<Act, Error> {
        let (mut probability, mut collector_set, mut obs_domain, mut obs_point) =
            (0u16, 0u32, 0u8, Some(0u32));
        let dec = |t: &Tok| match t {
            Tok::Int(k) if k.format == IntFormat::Decimal && k.mask.is_none() => Some(k.value),
            _ => None,
        };
        if self.p.eat(&Tok::LParen) {
            while !self.p.eat(&Tok::RParen) {
                if self.p.eat_id("probability") {
                    self.p.expect(&Tok::Equals, "`='")?;
                    if let Some(v) = dec(self.p.peek()) {
                        if v > u16::MAX as u128 {
                            return self.p.syntax_err("expecting probability in range 0 to 65535");
                        }
                        probability = v as u16;
                        self.p.advance();
                    }
                } else if self.p.eat_id("obs_point") {
                    self.p.expect(&Tok::Equals, "`='")?;
                    match self.p.peek().clone() {
                        Tok::Macro(m) if m == "cookie" => obs_point = None,
                        t => match dec(&t) {
                            Some(v) => obs_point = Some(v as u32),
                            None => return self.p.syntax_err("malformed sample observation_point_id"),
                        },
                    }
                    self.p.advance();
                } else if self.p.eat_id("obs_domain") {
                    self.p.expect(&Tok::Equals, "`='")?;
                    if let Some(v) = dec(self.p.peek()) {
                        if v > u8::MAX as u128 {
                            return self.p.syntax_err("obs_domain must be 8-bit long");
                        }
                        obs_domain = v as u8;
                    }
                    self.p.advance();
                } else if self.p.eat_id("collector_set") {
                    self.p.expect(&Tok::Equals, "`='")?;
                    if let Some(v) = dec(self.p.peek()) {
                        collector_set = v as u32;
                    }
                    self.p.advance();
                } else {
                    return self.p.syntax_err("unknown argument");
                }
                self.p.eat(&Tok::Comma);
            }
        }
        if probability == 0 {
            return self.p.err("probability must be greater than zero");
        }
        Ok(Act::Sample {
            probability,
            collector_set,
            obs_domain,
            obs_point,
        })
    }

    fn toks_prev_id(&self) -> Option<String> {
        self.p.prev_id()
    }

    fn parse_trigger_event(&mut self) -> Result<Act, Error> {
        self.p.expect(&Tok::LParen, "`('")?;
        if !self.p.eat_id("event") {
            return self.p.syntax_err("Expecting 'event' option");
        }
        self.p.expect(&Tok::Equals, "`='")?;
        let Tok::Str(ev) = self.p.peek().clone() else {
            return self.p.syntax_err("Expecting string");
        };
        if ev != "empty_lb_backends" {
            return self.p.err(format!("Unknown event `{ev}'."));
        }
        self.p.advance();
        self.p.eat(&Tok::Comma);
        let options = self.parse_gen_opts(OptSet::EmptyLbBackends)?;
        for o in &options {
            let v = match o.values.as_slice() {
                [Value::Str(v)] => v.as_str(),
                _ => return self.p.err(format!("Invalid value for \"{}\" option", o.name)),
            };
            match o.name.as_str() {
                "vip" if parse_lb_key(v).is_none() => {
                    return self.p.err(format!("Invalid load balancer VIP '{v}'"));
                }
                "protocol" if !["tcp", "udp", "sctp"].contains(&v) => {
                    return self.p.err(format!(
                        "Load balancer protocol '{v}' is not 'tcp', 'udp', or 'sctp'"
                    ));
                }
                "load_balancer" if !is_uuid(v) => {
                    return self.p.err(format!("Load balancer '{v}' is not a UUID"));
                }
                _ => {}
            }
        }
        for need in ["vip", "protocol", "load_balancer"] {
            if !options.iter().any(|o| o.name == need) {
                return self.p.err(format!("Load balancer {need} not specified."));
            }
        }
        Ok(Act::TriggerEvent { event: 0, options })
    }
}

/// What the encoder needs to know about where the actions run.
pub struct EncodeParams<'l> {
    pub pipeline: Pipeline,
    pub is_switch: bool,
    /// Whether OVS supports all-zero SNAT (`nat(src)` in `ct_commit`).
    pub ct_zero_snat: bool,
    /// Zone register for `*_in_czone` actions.
    pub common_nat_zone: Field,
    /// OVS supports symmetric L4 dp_hash (`select()` groups set
    /// `selection_method_param`).
    pub dp_hash_l4_sym: bool,
    /// Meter for controller actions (Logical_Flow `controller_meter`).
    pub controller_meter: Option<u32>,
    /// Table `output` resubmits to, when not the pipeline's default.
    pub output_table: Option<u8>,
    /// The datapath supports meters; without, controller actions carry none.
    pub dp_meters: bool,
    /// Datapath tunnel key and logical flow cookie (`sample()` ids).
    pub dp_key: u32,
    pub lflow_cookie: u32,
    pub lookup: &'l mut dyn Lookup,
}

fn first_ptable(p: Pipeline) -> u8 {
    match p {
        Pipeline::Ingress => table::LOG_INGRESS,
        Pipeline::Egress => table::LOG_EGRESS,
    }
}

/// OpenFlow location of a logical field reference.
pub fn resolve_field(f: &FieldRef) -> Result<SubField, Error> {
    if f.sym.width == 0
        && let Kind::Str(field) = f.sym.kind
    {
        return Ok(SubField::whole(field));
    }
    match symtab().resolve(f.sym, f.ofs) {
        Some((field, ofs)) => Ok(SubField {
            field,
            ofs,
            n_bits: f.n_bits,
        }),
        None => Err(Error::semantic(format!(
            "Field {} has no OpenFlow equivalent.",
            f.sym.name
        ))),
    }
}

/// `(source, destination OF field)` pairs for controller/lookup arguments.
fn setup_args(args: &[(SubField, Field)], out: &mut Vec<Action>) {
    for (src, dst) in args {
        if src.field != *dst {
            out.push(Action::Push(SubField::whole(*dst)));
        }
    }
    for (src, dst) in args.iter().rev() {
        if src.field != *dst {
            out.push(Action::Push(*src));
        }
    }
    for (src, dst) in args {
        if src.field != *dst {
            out.push(Action::Pop(SubField::whole(*dst)));
        }
    }
}

fn restore_args(args: &[(SubField, Field)], out: &mut Vec<Action>) {
    for (src, dst) in args.iter().rev() {
        if src.field != *dst {
            out.push(Action::Pop(SubField::whole(*dst)));
        }
    }
}

fn load_bit(field: Field, bit: u32, value: bool) -> Action {
    Action::SetField {
        field,
        value: (value as u128) << bit,
        mask: Some(1u128 << bit),
    }
}

fn controller(op: u32, nested: &[Action], meter_id: Option<u32>) -> Result<Action, Error> {
    let mut userdata = op.to_be_bytes().to_vec();
    userdata.extend_from_slice(&[0; 4]);
    // Nested actions are encoded as Open vSwitch encodes them in OpenFlow
    // 1.5 (ovn-controller's pinctrl decodes them that way).
    let nested = crate::to_openflow::actions(nested)?;
    openflow::encode_actions(&nested, &mut userdata)
        .map_err(|e| Error::semantic(format!("cannot encode inside a controller action: {e}")))?;
    Ok(Action::Controller {
        userdata,
        pause: false,
        meter_id,
    })
}

/// Controller action whose userdata is the opcode, padding and `payload`.
fn controller_raw(op: u32, payload: &[u8], pause: bool, meter_id: Option<u32>) -> Action {
    let mut userdata = op.to_be_bytes().to_vec();
    userdata.extend_from_slice(&[0; 4]);
    userdata.extend_from_slice(payload);
    Action::Controller {
        userdata,
        pause,
        meter_id,
    }
}

/// Result field as OVN passes it to pinctrl: its OXM/NXM header and the
/// bit offset.
fn result_header(dst: &FieldRef) -> Result<Vec<u8>, Error> {
    let d = resolve_field(dst)?;
    let mut v = crate::to_openflow::field(d.field).oxm_header();
    v.extend_from_slice(&d.ofs.to_be_bytes());
    Ok(v)
}

const FLAGS: Field = Field::Reg(10);
const INPORT: Field = Field::Reg(14);
const OUTPORT: Field = Field::Reg(15);

/// Encodes parsed actions into OpenFlow actions.
pub fn encode(acts: &[Act], ep: &mut EncodeParams<'_>, out: &mut Vec<Action>) -> Result<(), Error> {
    for a in acts {
        encode_one(a, ep, out)?;
    }
    Ok(())
}

fn ct_zone(ep: &EncodeParams<'_>) -> SubField {
    let f = if ep.is_switch {
        Field::Reg(13)
    } else {
        Field::Reg(11)
    };
    SubField {
        field: f,
        ofs: 0,
        n_bits: 16,
    }
}

fn encode_one(a: &Act, ep: &mut EncodeParams<'_>, out: &mut Vec<Action>) -> Result<(), Error> {
    let next = |t: u8| first_ptable(ep.pipeline) + t;
    match a {
        Act::Next { pipeline, table } => out.push(Action::Resubmit(first_ptable(*pipeline) + table)),
        Act::Output => out.push(Action::Resubmit(ep.output_table.unwrap_or(match ep.pipeline {
            Pipeline::Ingress => table::OUTPUT_INIT,
            Pipeline::Egress => table::SAVE_INPORT,
        }))),
        Act::Load { dst, value } => {
            let d = resolve_field(dst)?;
            match value {
                Value::Int(k) => {
                    let m = k.mask.unwrap_or(ones(d.n_bits)) & ones(d.n_bits);
                    out.push(Action::SetField {
                        field: d.field,
                        value: (k.value & m) << d.ofs,
                        mask: Some(m << d.ofs),
                    });
                }
                Value::Str(name) => {
                    let key = if name == "none" {
                        0
                    } else {
                        ep.lookup.port_key(name).unwrap_or(0)
                    };
                    out.push(Action::SetField {
                        field: d.field,
                        value: key as u128,
                        mask: None,
                    });
                }
            }
        }
        Act::Move { dst, src } => out.push(Action::Move {
            src: resolve_field(src)?,
            dst: resolve_field(dst)?,
        }),
        Act::Exchange { a, b } => {
            let (a, b) = (resolve_field(a)?, resolve_field(b)?);
            out.extend([Action::Push(b), Action::Push(a), Action::Pop(b), Action::Pop(a)]);
        }
        Act::Push(f) => out.push(Action::Push(resolve_field(f)?)),
        Act::Pop(f) => out.push(Action::Pop(resolve_field(f)?)),
        Act::DecTtl => out.push(Action::DecTtl),
        Act::CtNext { table } => out.push(Action::Ct(Ct {
            commit: false,
            table: Some(next(*table)),
            zone: ct_zone(ep),
            nat: None,
            exec: vec![],
        })),
        Act::CtCommit(inner) => {
            let mut exec = Vec::new();
            encode(inner, ep, &mut exec)?;
            out.push(Action::Ct(Ct {
                commit: true,
                table: None,
                zone: ct_zone(ep),
                nat: ep.ct_zero_snat.then_some(Nat::Src(None)),
                exec,
            }));
        }
        Act::CtNat { kind, table, target } => {
            let zone_field = match kind {
                NatKind::Dnat => Field::Reg(11),
                NatKind::Snat => Field::Reg(12),
                NatKind::DnatInCzone | NatKind::SnatInCzone => ep.common_nat_zone,
            };
            let nat = match target {
                None => Nat::Existing,
                Some((ip, range)) => {
                    let t = NatTarget {
                        ip: *ip,
                        ip_max: None,
                        port: range.map(|(lo, hi)| (lo, if hi == 0 { lo } else { hi })),
                        flags: vec![],
                    };
                    match kind {
                        NatKind::Dnat | NatKind::DnatInCzone => Nat::Dst(Some(t)),
                        _ => Nat::Src(Some(t)),
                    }
                }
            };
            out.push(Action::Ct(Ct {
                commit: target.is_some(),
                table: Some(next(*table)),
                zone: SubField {
                    field: zone_field,
                    ofs: 0,
                    n_bits: 16,
                },
                nat: Some(nat),
                exec: vec![],
            }));
        }
        Act::CtCommitNat { table } => out.push(Action::Ct(Ct {
            commit: true,
            table: Some(next(*table)),
            zone: ct_zone(ep),
            nat: Some(Nat::Existing),
            exec: vec![],
        })),
        Act::CtLb {
            mark,
            table,
            backends,
            hash_fields,
            flag,
        } => {
            let recirc = next(*table);
            if backends.is_empty() {
                out.push(Action::Ct(Ct {
                    commit: false,
                    table: Some(recirc),
                    zone: ct_zone(ep),
                    nat: Some(Nat::Existing),
                    exec: vec![],
                }));
                return Ok(());
            }
            let group = lb_group(
                *mark,
                recirc,
                ep.is_switch,
                backends,
                hash_fields.as_deref(),
                *flag,
            );
            match ep.lookup.group_id(&group) {
                Some(id) => out.push(Action::Group(id)),
                None => return Err(Error::semantic("no group id available for ct_lb backends")),
            }
        }
        Act::CtClear => out.push(Action::CtClear),
        Act::CtSnatToVip => out.push(Action::Resubmit(table::CT_SNAT_HAIRPIN)),
        Act::Nested {
            kind: NestKind::Clone,
            inner,
        } => {
            let mut v = Vec::new();
            encode(inner, ep, &mut v)?;
            out.push(Action::Clone(v));
        }
        Act::Nested {
            kind: NestKind::Controller(op),
            inner,
        } => {
            let mut v = Vec::new();
            encode(inner, ep, &mut v)?;
            out.push(controller(*op, &v, ep.controller_meter)?);
        }
        Act::Igmp => out.push(controller(opcode::IGMP, &[], ep.controller_meter)?),
        Act::GetMac { nd, port, ip } => {
            let args = [
                (resolve_field(port)?, OUTPORT),
                (
                    resolve_field(ip)?,
                    if *nd { Field::Xxreg(0) } else { Field::Reg(0) },
                ),
            ];
            setup_args(&args, out);
            out.push(Action::SetField {
                field: Field::EthDst,
                value: 0,
                mask: None,
            });
            out.push(Action::Resubmit(table::MAC_BINDING));
            restore_args(&args, out);
        }
        Act::PutMac { nd, port, ip, mac } => {
            let args = [
                (resolve_field(port)?, INPORT),
                (
                    resolve_field(ip)?,
                    if *nd { Field::Xxreg(0) } else { Field::Reg(0) },
                ),
                (resolve_field(mac)?, Field::EthSrc),
            ];
            setup_args(&args, out);
            out.push(controller(
                if *nd { opcode::PUT_ND } else { opcode::PUT_ARP },
                &[],
                ep.controller_meter,
            )?);
            restore_args(&args, out);
        }
        Act::LookupMac {
            nd,
            dst,
            port,
            ip,
            mac,
        } => {
            let args = [
                (resolve_field(port)?, INPORT),
                (
                    resolve_field(ip)?,
                    if *nd { Field::Xxreg(0) } else { Field::Reg(0) },
                ),
                (resolve_field(mac)?, Field::EthSrc),
            ];
            setup_args(&args, out);
            out.push(load_bit(FLAGS, 6, false));
            out.push(Action::Resubmit(table::MAC_LOOKUP));
            out.push(Action::Move {
                src: SubField {
                    field: FLAGS,
                    ofs: 6,
                    n_bits: 1,
                },
                dst: resolve_field(dst)?,
            });
            restore_args(&args, out);
        }
        Act::GetFdb { dst, mac } => {
            let args = [(resolve_field(mac)?, Field::EthDst)];
            setup_args(&args, out);
            out.push(Action::SetField {
                field: OUTPORT,
                value: 0,
                mask: None,
            });
            out.push(Action::Resubmit(table::GET_FDB));
            restore_args(&args, out);
            let d = resolve_field(dst)?;
            if d.field != OUTPORT {
                out.push(Action::Move {
                    src: SubField::whole(OUTPORT),
                    dst: d,
                });
            }
        }
        Act::LookupFdb { dst, port, mac } => {
            let args = [
                (resolve_field(port)?, INPORT),
                (resolve_field(mac)?, Field::EthSrc),
            ];
            setup_args(&args, out);
            out.push(load_bit(FLAGS, 8, false));
            out.push(Action::Resubmit(table::LOOKUP_FDB));
            restore_args(&args, out);
            out.push(Action::Move {
                src: SubField {
                    field: FLAGS,
                    ofs: 8,
                    n_bits: 1,
                },
                dst: resolve_field(dst)?,
            });
        }
        Act::PutFdb { port, mac } => {
            let args = [
                (resolve_field(port)?, INPORT),
                (resolve_field(mac)?, Field::EthSrc),
            ];
            setup_args(&args, out);
            out.push(controller(opcode::PUT_FDB, &[], ep.controller_meter)?);
            restore_args(&args, out);
        }
        Act::Result { dst, kind } => {
            let (tbl, bit) = match kind {
                ResultKind::CheckInPortSec => (table::CHK_IN_PORT_SEC, 12),
                ResultKind::CheckOutPortSec => (table::CHK_OUT_PORT_SEC, 12),
                ResultKind::ChkLbHairpin => (table::CHK_LB_HAIRPIN, 7),
                ResultKind::ChkLbHairpinReply => (table::CHK_LB_HAIRPIN_REPLY, 7),
                ResultKind::ChkLbAff => (table::CHK_LB_AFFINITY, 14),
                ResultKind::ChkEcmpNhMac => (table::ECMP_NH_MAC, 13),
                ResultKind::ChkEcmpNh => (table::ECMP_NH, 13),
            };
            out.push(load_bit(FLAGS, bit, false));
            out.push(Action::Resubmit(tbl));
            out.push(Action::Move {
                src: SubField {
                    field: FLAGS,
                    ofs: bit,
                    n_bits: 1,
                },
                dst: resolve_field(dst)?,
            });
        }
        Act::HandleSvcCheck { port } => {
            let args = [(resolve_field(port)?, INPORT)];
            setup_args(&args, out);
            out.push(controller(opcode::HANDLE_SVC_CHECK, &[], ep.controller_meter)?);
            restore_args(&args, out);
        }
        Act::Dhcp6Reply => out.push(controller(opcode::DHCP6_SERVER, &[], ep.controller_meter)?),
        Act::PutOpts { set, dst, options } => {
            let mut payload = result_header(dst)?;
            let op = match set {
                OptSet::Dhcp4 => {
                    encode_dhcp4(options, &mut payload)?;
                    opcode::PUT_DHCP_OPTS
                }
                OptSet::Dhcp6 => {
                    encode_dhcp6(options, &mut payload)?;
                    opcode::PUT_DHCPV6_OPTS
                }
                _ => {
                    encode_nd_ra(options, &mut payload)?;
                    opcode::PUT_ND_RA_OPTS
                }
            };
            out.push(controller_raw(op, &payload, true, ep.controller_meter));
        }
        Act::DnsLookup { dst } => {
            out.push(controller_raw(
                opcode::DNS_LOOKUP,
                &result_header(dst)?,
                true,
                ep.controller_meter,
            ));
        }
        Act::Log {
            verdict,
            severity,
            name,
            meter,
        } => {
            let mut payload = vec![*verdict, *severity];
            payload.extend_from_slice(name.as_deref().unwrap_or("").as_bytes());
            // Without a meter id (or datapath meter support) the packets are
            // still logged, just not rate-limited.
            let meter_id = meter
                .as_ref()
                .and_then(|m| ep.lookup.meter_id(m))
                .filter(|_| ep.dp_meters);
            out.push(controller_raw(opcode::LOG, &payload, false, meter_id));
        }
        Act::CheckPktLarger { dst, len } => {
            out.push(Action::CheckPktLarger {
                len: *len,
                dst: resolve_field(dst)?,
            });
        }
        Act::TriggerEvent { event, options } => {
            let mut payload = event.to_be_bytes().to_vec();
            encode_event(options, &mut payload);
            out.push(controller_raw(
                opcode::EVENT,
                &payload,
                false,
                ep.controller_meter,
            ));
        }
        Act::BindVport { vport, parent } => {
            // An unknown virtual port binds nothing, as in ovn-controller.
            let Some(key) = ep.lookup.port_key(vport) else {
                return Ok(());
            };
            let args = [(resolve_field(parent)?, INPORT)];
            setup_args(&args, out);
            out.push(controller_raw(
                opcode::BIND_VPORT,
                &key.to_be_bytes(),
                false,
                ep.controller_meter,
            ));
            restore_args(&args, out);
        }
        Act::Select { dst, table, members } => {
            let d = resolve_field(dst)?;
            let resubmit = next(*table);
            let buckets = members
                .iter()
                .map(|(id, weight)| Bucket {
                    weight: *weight,
                    watch_port: None,
                    actions: vec![
                        Action::SetField {
                            field: d.field,
                            value: (*id as u128 & ones(d.n_bits)) << d.ofs,
                            mask: Some(ones(d.n_bits) << d.ofs),
                        },
                        Action::Resubmit(resubmit),
                    ],
                })
                .collect();
            let group = Group {
                selection: Selection::DpHash,
                selection_param: if ep.dp_hash_l4_sym { 1 << 32 } else { 0 },
                buckets,
            };
            match ep.lookup.group_id(&group) {
                Some(id) => out.push(Action::Group(id)),
                None => return Err(Error::semantic("no group id available for select()")),
            }
        }
        Act::FragMtu { v6, mtu } => {
            let (op, payload) = if *v6 {
                (opcode::PUT_ICMP6_FRAG_MTU, mtu.to_be_bytes().to_vec())
            } else {
                (opcode::PUT_ICMP4_FRAG_MTU, (*mtu as u16).to_be_bytes().to_vec())
            };
            out.push(controller_raw(op, &payload, true, ep.controller_meter));
        }
        Act::SetMeter { rate, burst } => {
            let desc = match burst {
                Some(b) => format!("__string: kbps burst stats bands=type=drop rate={rate} burst_size={b}"),
                None => format!("__string: kbps stats bands=type=drop rate={rate}"),
            };
            if let Some(id) = ep.lookup.meter_id(&desc) {
                out.push(Action::Meter(id));
            }
        }
        Act::CtCommitV1 { mark, label } => {
            let mut exec = Vec::new();
            if let Some((v, m)) = mark {
                exec.push(Action::SetField {
                    field: Field::CtMark,
                    value: *v,
                    mask: Some(*m),
                });
            }
            if let Some((v, m)) = label {
                exec.push(Action::SetField {
                    field: Field::CtLabel,
                    value: *v,
                    mask: Some(*m),
                });
            }
            out.push(Action::Ct(Ct {
                commit: true,
                table: None,
                // The old syntax always used the switch's zone register.
                zone: SubField {
                    field: Field::Reg(13),
                    ofs: 0,
                    n_bits: 16,
                },
                nat: ep.ct_zero_snat.then_some(Nat::Src(None)),
                exec,
            }));
        }
        Act::CommitEcmpNh { ipv6, proto } => {
            out.push(Action::Learn(ecmp_learn(true, *ipv6, *proto)));
            out.push(Action::Learn(ecmp_learn(false, *ipv6, *proto)));
        }
        Act::FwdGroup { liveness, ports } => {
            if ports.is_empty() {
                return Ok(());
            }
            let output = ep.output_table.unwrap_or(match ep.pipeline {
                Pipeline::Ingress => table::OUTPUT_INIT,
                Pipeline::Egress => table::SAVE_INPORT,
            });
            let mut buckets = Vec::new();
            for p in ports {
                // As in ovn-controller, one unresolvable child port disables the group.
                let Some(key) = ep.lookup.port_key(p) else {
                    return Ok(());
                };
                let watch_port = if *liveness {
                    match ep.lookup.tunnel_ofport(p) {
                        Some(ofport) => Some(ofport),
                        None => return Ok(()),
                    }
                } else {
                    None
                };
                buckets.push(Bucket {
                    weight: 100,
                    watch_port,
                    actions: vec![
                        Action::SetField {
                            field: OUTPORT,
                            value: (key & 0xffff) as u128,
                            mask: Some(0xffff),
                        },
                        Action::Resubmit(output),
                    ],
                });
            }
            let group = Group {
                selection: Selection::DpHash,
                selection_param: 0,
                buckets,
            };
            match ep.lookup.group_id(&group) {
                Some(id) => out.push(Action::Group(id)),
                None => return Err(Error::semantic("no group id available for fwd_group")),
            }
        }
        Act::Sample {
            probability,
            collector_set,
            obs_domain,
            obs_point,
        } => {
            if ep.lookup.has_collector_set(*collector_set) {
                out.push(Action::Sample {
                    probability: *probability,
                    collector_set_id: *collector_set,
                    obs_domain_id: ((*obs_domain as u32) << 24) | (ep.dp_key & 0xff_ffff),
                    obs_point_id: obs_point.unwrap_or(ep.lflow_cookie),
                });
            }
        }
        Act::LookupMacIp { nd, dst, port, ip } => {
            let args = [
                (resolve_field(port)?, OUTPORT),
                (
                    resolve_field(ip)?,
                    if *nd { Field::Xxreg(0) } else { Field::Reg(0) },
                ),
            ];
            setup_args(&args, out);
            out.push(Action::Push(SubField::whole(Field::EthDst)));
            out.push(load_bit(FLAGS, 6, false));
            out.push(Action::Resubmit(table::MAC_BINDING));
            out.push(Action::Move {
                src: SubField {
                    field: FLAGS,
                    ofs: 6,
                    n_bits: 1,
                },
                dst: resolve_field(dst)?,
            });
            out.push(Action::Pop(SubField::whole(Field::EthDst)));
            restore_args(&args, out);
        }
        Act::CommitLbAff {
            vip,
            backend,
            proto,
            timeout,
        } => {
            out.push(Action::Learn(lb_aff_learn(
                *vip,
                *backend,
                *proto,
                *timeout,
                ep.is_switch,
            )));
        }
        Act::BfdMsg => out.push(controller_raw(opcode::BFD_MSG, &[], false, ep.controller_meter)),
        Act::SetQueue(q) => out.push(Action::SetQueue(*q as u32)),
    }
    Ok(())
}

/// The OpenFlow group ovn-controller installs for `ct_lb[_mark](backends=...)`.
pub fn lb_group(
    mark: bool,
    recirc_table: u8,
    is_switch: bool,
    backends: &[(IpAddr, u16)],
    hash_fields: Option<&str>,
    flag: LbFlag,
) -> Group {
    let zone = SubField {
        field: Field::Reg(if is_switch { 13 } else { 11 }),
        ofs: 0,
        n_bits: 16,
    };
    let flag_field = if mark { Field::CtMark } else { Field::CtLabel };
    let set_bit = |bit: u32| Action::SetField {
        field: flag_field,
        value: 1 << bit,
        mask: Some(1 << bit),
    };
    let buckets = backends
        .iter()
        .map(|(ip, port)| {
            let mut exec = vec![set_bit(1)];
            match flag {
                LbFlag::SkipSnat => exec.push(set_bit(2)),
                LbFlag::ForceSnat => exec.push(set_bit(3)),
                LbFlag::None => {}
            }
            let target = NatTarget {
                ip: *ip,
                ip_max: None,
                port: (*port != 0).then_some((*port, *port)),
                flags: vec![],
            };
            Bucket {
                weight: 100,
                watch_port: None,
                actions: vec![Action::Ct(Ct {
                    commit: true,
                    table: Some(recirc_table),
                    zone,
                    nat: Some(Nat::Dst(Some(target))),
                    exec,
                })],
            }
        })
        .collect();
    let selection = match hash_fields {
        Some(h) => Selection::Hash(h.to_string()),
        None => Selection::DpHash,
    };
    Group {
        selection,
        selection_param: 0,
        buckets,
    }
}

/// `IP[:port]` or `[IPv6]:port`, as load balancer keys are written.
fn parse_lb_key(s: &str) -> Option<(IpAddr, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, port) = rest.split_once(']')?;
        let port = match port.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if port.is_empty() => 0,
            None => return None,
        };
        return Some((IpAddr::V6(ip.parse().ok()?), port));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some((ip, 0));
    }
    let (ip, port) = s.rsplit_once(':')?;
    Some((IpAddr::V4(ip.parse().ok()?), port.parse().ok()?))
}

fn ip_value(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The `learn` action ovn-controller emits for `commit_lb_aff`: a flow in
/// the LB affinity table that recognises the client and VIP and restores
/// the chosen backend.
fn lb_aff_learn(
    vip: (IpAddr, u16),
    backend: (IpAddr, u16),
    proto: u8,
    timeout: u16,
    is_switch: bool,
) -> Learn {
    use crate::of::LearnSpec::*;
    let v6 = vip.0.is_ipv6();
    let mut specs = vec![
        MatchField(SubField::whole(Field::Metadata)),
        MatchImm {
            field: Field::EthType,
            value: if v6 { 0x86dd } else { 0x800 },
        },
        MatchField(SubField::whole(if v6 { Field::Ipv6Src } else { Field::Ipv4Src })),
        MatchImm {
            field: if v6 { Field::Ipv6Dst } else { Field::Ipv4Dst },
            value: ip_value(vip.0),
        },
    ];
    if proto != 0 {
        specs.push(MatchImm {
            field: Field::IpProto,
            value: proto as u128,
        });
        let port_field = match proto {
            6 => Field::TcpDst,
            17 => Field::UdpDst,
            _ => Field::SctpDst,
        };
        specs.push(MatchImm {
            field: port_field,
            value: vip.1 as u128,
        });
    }
    specs.push(LoadImm {
        value: 1,
        dst: SubField {
            field: FLAGS,
            ofs: 14,
            n_bits: 1,
        },
    });
    let backend_dst = match (v6, is_switch) {
        (false, _) => Field::Reg(4),
        (true, true) => Field::Xxreg(0),
        (true, false) => Field::Xxreg(1),
    };
    specs.push(LoadImm {
        value: ip_value(backend.0),
        dst: SubField::whole(backend_dst),
    });
    if backend.1 != 0 {
        specs.push(LoadImm {
            value: backend.1 as u128,
            dst: SubField {
                field: Field::Reg(8),
                ofs: 0,
                n_bits: 16,
            },
        });
    }
    Learn {
        hard_timeout: 0,
        table: table::CHK_LB_AFFINITY,
        idle_timeout: timeout,
        delete_learned: true,
        specs,
    }
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// One of the two `learn` actions of `commit_ecmp_nh`: the MAC table entry
/// (`nw_conn`, keyed like the original packet) or the next-hop entry (keyed
/// like the reply).
fn ecmp_learn(nw_conn: bool, ipv6: bool, proto: u8) -> Learn {
    use crate::of::LearnSpec::*;
    let (src, dst) = if ipv6 {
        (Field::Ipv6Src, Field::Ipv6Dst)
    } else {
        (Field::Ipv4Src, Field::Ipv4Dst)
    };
    let (tsrc, tdst) = match proto {
        6 => (Field::TcpSrc, Field::TcpDst),
        17 => (Field::UdpSrc, Field::UdpDst),
        _ => (Field::SctpSrc, Field::SctpDst),
    };
    // ovn-controller leaves the source subfield width zero for swapped
    // matches; kept for identical flows.
    let from = |d: Field, s: Field| MatchFrom {
        dst: SubField::whole(d),
        src: SubField {
            field: s,
            ofs: 0,
            n_bits: 0,
        },
    };
    let mut specs = vec![MatchField(SubField::whole(Field::Metadata))];
    if nw_conn {
        specs.push(MatchField(SubField::whole(Field::EthSrc)));
    }
    specs.push(MatchImm {
        field: Field::EthType,
        value: if ipv6 { 0x86dd } else { 0x800 },
    });
    if nw_conn {
        specs.push(MatchField(SubField::whole(src)));
        specs.push(MatchField(SubField::whole(dst)));
    } else {
        specs.push(from(src, dst));
        specs.push(from(dst, src));
    }
    specs.push(MatchImm {
        field: Field::IpProto,
        value: proto as u128,
    });
    if nw_conn {
        specs.push(MatchField(SubField::whole(tsrc)));
        specs.push(MatchField(SubField::whole(tdst)));
    } else {
        specs.push(from(tsrc, tdst));
        specs.push(from(tdst, tsrc));
    }
    specs.push(LoadImm {
        value: 1,
        dst: SubField {
            field: FLAGS,
            ofs: 13,
            n_bits: 1,
        },
    });
    Learn {
        table: if nw_conn {
            table::ECMP_NH_MAC
        } else {
            table::ECMP_NH
        },
        idle_timeout: 20,
        hard_timeout: 30,
        delete_learned: true,
        specs,
    }
}
