//! The `learn` action (NXAST_LEARN): adds or modifies a flow from the
//! packet being processed. OVN uses it for load-balancer affinity
//! (`commit_lb_aff`) and ECMP symmetric replies (`commit_ecmp_nh`).

use std::fmt;

use crate::error::{DecodeError, EncodeError, ParseError};
use crate::field::{Field, SubField};
use crate::oxm;
use crate::text::{self, parse_int, parse_num, split_top};
use crate::wire::{Reader, be_to_u128, put_u16, put_u64};

pub(crate) const NX_LEARN_F_SEND_FLOW_REM: u16 = 1;
pub(crate) const NX_LEARN_F_DELETE_LEARNED: u16 = 2;

const SRC_IMMEDIATE: u16 = 1 << 13;
const DST_MASK: u16 = 3 << 11;
const DST_MATCH: u16 = 0;
const DST_LOAD: u16 = 1 << 11;
const DST_OUTPUT: u16 = 2 << 11;
const N_BITS_MASK: u16 = 0x3ff;

/// Priority of learned flows when none is given (OFP_DEFAULT_PRIORITY).
pub const LEARN_DEFAULT_PRIORITY: u16 = 0x8000;

/// `learn(...)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Learn {
    /// Table the learned flow goes into.
    pub table: u8,
    /// Seconds; 0 = permanent.
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub fin_idle_timeout: u16,
    pub fin_hard_timeout: u16,
    pub priority: u16,
    pub cookie: u64,
    pub send_flow_rem: bool,
    /// Delete the learned flows when this learn action's flow is removed.
    pub delete_learned: bool,
    pub specs: Vec<LearnSpec>,
}

impl Default for Learn {
    /// ovs-ofctl's defaults: table 1, permanent, default priority.
    fn default() -> Self {
        Learn {
            table: 1,
            idle_timeout: 0,
            hard_timeout: 0,
            fin_idle_timeout: 0,
            fin_hard_timeout: 0,
            priority: LEARN_DEFAULT_PRIORITY,
            cookie: 0,
            send_flow_rem: false,
            delete_learned: false,
            specs: Vec::new(),
        }
    }
}

/// Where a spec's bits come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LearnSrc {
    /// Bits `ofs..ofs+n_bits` of a field of the packet being processed.
    Field { field: Field, ofs: u16 },
    /// A constant (right-aligned, `n_bits` wide).
    Imm(u128),
}

/// What a spec does with its bits in the learned flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LearnDst {
    /// Match `field[ofs..ofs+n_bits]` on them.
    Match { field: Field, ofs: u16 },
    /// Load them into `field[ofs..ofs+n_bits]`.
    Load { field: Field, ofs: u16 },
    /// Output to the port they name.
    Output,
}

/// One `flow_mod_spec`: `n_bits` bits from `src` to `dst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LearnSpec {
    pub n_bits: u16,
    pub src: LearnSrc,
    pub dst: LearnDst,
}

impl LearnSpec {
    /// Learned flow matches `sf` on the value it has now (`NXM_OF_IP_SRC[]`).
    pub fn match_field(sf: SubField) -> Self {
        LearnSpec {
            n_bits: sf.n_bits,
            src: LearnSrc::Field {
                field: sf.field,
                ofs: sf.ofs,
            },
            dst: LearnDst::Match {
                field: sf.field,
                ofs: sf.ofs,
            },
        }
    }

    /// Learned flow matches `dst` on the value `src` has now (same width).
    pub fn match_from(dst: SubField, src: SubField) -> Self {
        LearnSpec {
            n_bits: dst.n_bits,
            src: LearnSrc::Field {
                field: src.field,
                ofs: src.ofs,
            },
            dst: LearnDst::Match {
                field: dst.field,
                ofs: dst.ofs,
            },
        }
    }

    /// Learned flow matches all of `field` against `value` (`eth_type=0x800`).
    pub fn match_imm(field: Field, value: u128) -> Self {
        LearnSpec {
            n_bits: field.bits(),
            src: LearnSrc::Imm(value),
            dst: LearnDst::Match { field, ofs: 0 },
        }
    }

    /// Learned flow loads `value` into `dst` (`load:0x1->NXM_NX_REG10[14]`).
    pub fn load_imm(value: u128, dst: SubField) -> Self {
        LearnSpec {
            n_bits: dst.n_bits,
            src: LearnSrc::Imm(value),
            dst: LearnDst::Load {
                field: dst.field,
                ofs: dst.ofs,
            },
        }
    }

    fn src_subfield(&self) -> Option<SubField> {
        match self.src {
            LearnSrc::Field { field, ofs } => Some(SubField {
                field,
                ofs,
                n_bits: self.n_bits,
            }),
            LearnSrc::Imm(_) => None,
        }
    }

    fn dst_subfield(&self) -> Option<SubField> {
        match self.dst {
            LearnDst::Match { field, ofs } | LearnDst::Load { field, ofs } => Some(SubField {
                field,
                ofs,
                n_bits: self.n_bits,
            }),
            LearnDst::Output => None,
        }
    }

    fn check(&self) -> Result<(), EncodeError> {
        let bad = |why: &str| Err(EncodeError::invalid("learn spec", why.to_string()));
        if self.n_bits == 0 || self.n_bits > N_BITS_MASK {
            return bad("bad width");
        }
        for sf in [self.src_subfield(), self.dst_subfield()].into_iter().flatten() {
            if !sf.is_valid() {
                return bad("subfield out of range");
            }
        }
        if let LearnSrc::Imm(v) = self.src
            && self.n_bits < 128
            && v >> self.n_bits != 0
        {
            return bad("immediate wider than the spec");
        }
        if self.dst == LearnDst::Output && matches!(self.src, LearnSrc::Imm(_)) {
            return bad("output needs a field source");
        }
        Ok(())
    }
}

/// Bytes an immediate of `n_bits` occupies on the wire (whole 16-bit words).
fn imm_len(n_bits: u16) -> usize {
    2 * usize::from(n_bits.div_ceil(16))
}

pub(crate) fn encode(l: &Learn, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    put_u16(out, l.idle_timeout);
    put_u16(out, l.hard_timeout);
    put_u16(out, l.priority);
    put_u64(out, l.cookie);
    let mut flags = 0;
    if l.send_flow_rem {
        flags |= NX_LEARN_F_SEND_FLOW_REM;
    }
    if l.delete_learned {
        flags |= NX_LEARN_F_DELETE_LEARNED;
    }
    put_u16(out, flags);
    out.push(l.table);
    out.push(0);
    put_u16(out, l.fin_idle_timeout);
    put_u16(out, l.fin_hard_timeout);
    for s in &l.specs {
        s.check()?;
        let (src_bit, dst_bits) = (
            if matches!(s.src, LearnSrc::Imm(_)) {
                SRC_IMMEDIATE
            } else {
                0
            },
            match s.dst {
                LearnDst::Match { .. } => DST_MATCH,
                LearnDst::Load { .. } => DST_LOAD,
                LearnDst::Output => DST_OUTPUT,
            },
        );
        put_u16(out, s.n_bits | src_bit | dst_bits);
        match s.src {
            LearnSrc::Field { field, ofs } => {
                oxm::put_nxm_header(out, field);
                put_u16(out, ofs);
            }
            LearnSrc::Imm(v) => {
                let n = imm_len(s.n_bits);
                out.extend_from_slice(&v.to_be_bytes()[16 - n..]);
            }
        }
        if let LearnDst::Match { field, ofs } | LearnDst::Load { field, ofs } = s.dst {
            oxm::put_nxm_header(out, field);
            put_u16(out, ofs);
        }
    }
    Ok(())
}

fn pull_field(r: &mut Reader<'_>) -> Result<(Field, u16), DecodeError> {
    let field = oxm::header_field(&oxm::pull_header(r)?)?.0;
    Ok((field, r.u16()?))
}

/// Decodes the body after the Nicira subtype.
pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Learn, DecodeError> {
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    let priority = r.u16()?;
    let cookie = r.u64()?;
    let flags = r.u16()?;
    let table = r.u8()?;
    r.skip(1)?;
    let fin_idle_timeout = r.u16()?;
    let fin_hard_timeout = r.u16()?;
    if flags & !(NX_LEARN_F_SEND_FLOW_REM | NX_LEARN_F_DELETE_LEARNED) != 0 {
        return Err(DecodeError::invalid("learn", "unknown flags"));
    }
    let mut specs = Vec::new();
    // Specs run to the end of the action; a zero header starts the padding.
    while r.remaining() >= 2 {
        let h = r.u16()?;
        if h == 0 {
            break;
        }
        let n_bits = h & N_BITS_MASK;
        if h & 0xc000 != 0 || h & DST_MASK == 3 << 11 || n_bits == 0 {
            return Err(DecodeError::invalid("learn", "bad spec header"));
        }
        let src = if h & SRC_IMMEDIATE != 0 {
            let n = imm_len(n_bits);
            if n > 16 {
                return Err(DecodeError::invalid("learn", "immediate too wide"));
            }
            LearnSrc::Imm(be_to_u128(r.bytes(n)?))
        } else {
            let (field, ofs) = pull_field(r)?;
            LearnSrc::Field { field, ofs }
        };
        let dst = match h & DST_MASK {
            DST_MATCH => {
                let (field, ofs) = pull_field(r)?;
                LearnDst::Match { field, ofs }
            }
            DST_LOAD => {
                let (field, ofs) = pull_field(r)?;
                LearnDst::Load { field, ofs }
            }
            _ => LearnDst::Output,
        };
        let spec = LearnSpec { n_bits, src, dst };
        if spec.check().is_err() {
            return Err(DecodeError::invalid("learn", "bad spec"));
        }
        specs.push(spec);
    }
    Ok(Learn {
        table,
        idle_timeout,
        hard_timeout,
        fin_idle_timeout,
        fin_hard_timeout,
        priority,
        cookie,
        send_flow_rem: flags & NX_LEARN_F_SEND_FLOW_REM != 0,
        delete_learned: flags & NX_LEARN_F_DELETE_LEARNED != 0,
        specs,
    })
}

impl fmt::Display for Learn {
    /// As ovs-ofctl prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "learn(table={}", self.table)?;
        for (name, v) in [
            ("idle_timeout", self.idle_timeout),
            ("hard_timeout", self.hard_timeout),
            ("fin_idle_timeout", self.fin_idle_timeout),
            ("fin_hard_timeout", self.fin_hard_timeout),
        ] {
            if v != 0 {
                write!(f, ",{name}={v}")?;
            }
        }
        if self.priority != LEARN_DEFAULT_PRIORITY {
            write!(f, ",priority={}", self.priority)?;
        }
        if self.send_flow_rem {
            f.write_str(",send_flow_rem")?;
        }
        if self.delete_learned {
            f.write_str(",delete_learned")?;
        }
        if self.cookie != 0 {
            write!(f, ",cookie={:#x}", self.cookie)?;
        }
        for s in &self.specs {
            f.write_str(",")?;
            match (s.src, s.dst) {
                (LearnSrc::Imm(v), LearnDst::Match { field, ofs }) => {
                    if ofs == 0 && s.n_bits == field.bits() {
                        write!(f, "{}=", field.name())?;
                        text::write_value(f, field, v, None)?;
                    } else {
                        write!(f, "{}={v:#x}", s.dst_subfield().expect("match dst"))?;
                    }
                }
                (LearnSrc::Field { .. }, LearnDst::Match { .. }) => {
                    let (src, dst) = (s.src_subfield().expect("src"), s.dst_subfield().expect("dst"));
                    write!(f, "{dst}")?;
                    if (src.field, src.ofs) != (dst.field, dst.ofs) {
                        write!(f, "={src}")?;
                    }
                }
                (LearnSrc::Imm(v), LearnDst::Load { .. }) => {
                    write!(f, "load:{v:#x}->{}", s.dst_subfield().expect("dst"))?
                }
                (LearnSrc::Field { .. }, LearnDst::Load { .. }) => write!(
                    f,
                    "load:{}->{}",
                    s.src_subfield().expect("src"),
                    s.dst_subfield().expect("dst")
                )?,
                (_, LearnDst::Output) => match s.src_subfield() {
                    Some(src) => write!(f, "output:{src}")?,
                    None => f.write_str("output:?")?,
                },
            }
        }
        f.write_str(")")
    }
}

/// A subfield as learn specs write it; `[OFS..OFS-1]` (a width OVN leaves
/// unset, printed so by its own tests) takes the spec's width `n_bits`.
fn learn_subfield(s: &str, n_bits: u16) -> Result<SubField, ParseError> {
    let s = s.trim();
    if let Some((name, inner)) = s.strip_suffix(']').and_then(|x| x.split_once('['))
        && let Some((lo, hi)) = inner.split_once("..")
        && let (Ok(lo), Ok(hi)) = (lo.trim().parse::<i64>(), hi.trim().parse::<i64>())
        && hi == lo - 1
    {
        let field =
            Field::from_name(name).ok_or_else(|| ParseError::new(format!("unknown field `{name}`")))?;
        let ofs = u16::try_from(lo).map_err(|_| ParseError::new(format!("bad subfield `{s}`")))?;
        return Ok(SubField { field, ofs, n_bits });
    }
    text::parse_subfield(s)
}

/// Parses the inside of `learn(...)`.
pub(crate) fn parse(args: &str) -> Result<Learn, ParseError> {
    let mut l = Learn::default();
    for tok in split_top(args, ',') {
        let tok = tok.trim();
        if tok.is_empty() {
            continue;
        }
        match tok {
            "send_flow_rem" => l.send_flow_rem = true,
            "delete_learned" => l.delete_learned = true,
            _ if tok.starts_with("load:") => {
                let (src, dst) = tok["load:".len()..]
                    .split_once("->")
                    .ok_or_else(|| ParseError::new(format!("bad learn load `{tok}`")))?;
                let dst = text::parse_subfield(dst)?;
                l.specs.push(if src.contains('[') {
                    LearnSpec {
                        n_bits: dst.n_bits,
                        src: {
                            let s = learn_subfield(src, dst.n_bits)?;
                            LearnSrc::Field {
                                field: s.field,
                                ofs: s.ofs,
                            }
                        },
                        dst: LearnDst::Load {
                            field: dst.field,
                            ofs: dst.ofs,
                        },
                    }
                } else {
                    LearnSpec::load_imm(parse_int(src)?, dst)
                });
            }
            _ if tok.starts_with("output:") => {
                let src = text::parse_subfield(&tok["output:".len()..])?;
                l.specs.push(LearnSpec {
                    n_bits: src.n_bits,
                    src: LearnSrc::Field {
                        field: src.field,
                        ofs: src.ofs,
                    },
                    dst: LearnDst::Output,
                });
            }
            _ => match tok.split_once('=') {
                Some(("table", v)) => l.table = parse_num(v)?,
                Some(("idle_timeout", v)) => l.idle_timeout = parse_num(v)?,
                Some(("hard_timeout", v)) => l.hard_timeout = parse_num(v)?,
                Some(("fin_idle_timeout", v)) => l.fin_idle_timeout = parse_num(v)?,
                Some(("fin_hard_timeout", v)) => l.fin_hard_timeout = parse_num(v)?,
                Some(("priority", v)) => l.priority = parse_num(v)?,
                Some(("cookie", v)) => l.cookie = parse_num(v)?,
                Some((d, v)) if d.contains('[') => {
                    let dst = text::parse_subfield(d)?;
                    l.specs.push(if v.contains('[') {
                        LearnSpec::match_from(dst, learn_subfield(v, dst.n_bits)?)
                    } else {
                        LearnSpec {
                            n_bits: dst.n_bits,
                            src: LearnSrc::Imm(parse_int(v)?),
                            dst: LearnDst::Match {
                                field: dst.field,
                                ofs: dst.ofs,
                            },
                        }
                    });
                }
                Some((d, v)) => {
                    let field = Field::from_name(d.trim())
                        .ok_or_else(|| ParseError::new(format!("unknown learn field `{d}`")))?;
                    l.specs.push(if v.contains('[') {
                        LearnSpec::match_from(SubField::full(field), learn_subfield(v, field.bits())?)
                    } else {
                        let (value, mask) = text::parse_value(field, v)?;
                        if mask != field.full_mask() {
                            return Err(ParseError::new(format!("masked learn match `{tok}`")));
                        }
                        LearnSpec::match_imm(field, value)
                    });
                }
                None if tok.contains('[') => l.specs.push(LearnSpec::match_field(text::parse_subfield(tok)?)),
                None => return Err(ParseError::new(format!("unknown learn option `{tok}`"))),
            },
        }
    }
    Ok(l)
}
