//! Shared helpers for the `ovs-ofctl` text syntax: value formatting and
//! parsing per field format, tokenising.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::ParseError;
use crate::field::{Field, Format, SubField, ct_state, port, tcp_flags};

/// Splits `s` at `sep` characters that are not inside (), [] or {}.
pub(crate) fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// `ip`, `tcp6`, ... → (eth_type, ip_proto).
pub(crate) fn protocol_shorthand(name: &str) -> Option<(u16, Option<u8>)> {
    Some(match name {
        "ip" => (0x0800, None),
        "icmp" => (0x0800, Some(1)),
        "tcp" => (0x0800, Some(6)),
        "udp" => (0x0800, Some(17)),
        "sctp" => (0x0800, Some(132)),
        "ipv6" => (0x86dd, None),
        "icmp6" => (0x86dd, Some(58)),
        "tcp6" => (0x86dd, Some(6)),
        "udp6" => (0x86dd, Some(17)),
        "sctp6" => (0x86dd, Some(132)),
        "arp" => (0x0806, None),
        "rarp" => (0x8035, None),
        _ => return None,
    })
}

/// Parses a decimal or `0x` hexadecimal integer.
pub(crate) fn parse_int(s: &str) -> Result<u128, ParseError> {
    let s = s.trim();
    let r = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u128::from_str_radix(h, 16)
    } else {
        s.parse::<u128>()
    };
    r.map_err(|_| ParseError::new(format!("bad number `{s}`")))
}

pub(crate) fn parse_num<T: TryFrom<u128>>(s: &str) -> Result<T, ParseError> {
    T::try_from(parse_int(s)?).map_err(|_| ParseError::new(format!("number out of range `{s}`")))
}

pub(crate) fn parse_port(s: &str) -> Result<u32, ParseError> {
    let s = s.trim();
    if let Some(&(_, p)) = port::NAMES.iter().find(|(n, _)| *n == s) {
        return Ok(p);
    }
    parse_num(s)
}

pub(crate) fn write_port(f: &mut dyn fmt::Write, p: u32) -> fmt::Result {
    match port::NAMES.iter().find(|&&(_, v)| v == p) {
        Some((n, _)) => f.write_str(n),
        None => write!(f, "{p}"),
    }
}

fn parse_mac(s: &str) -> Result<u128, ParseError> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(ParseError::new(format!("bad MAC `{s}`")));
    }
    let mut v = 0u128;
    for p in parts {
        let b = u8::from_str_radix(p, 16).map_err(|_| ParseError::new(format!("bad MAC `{s}`")))?;
        v = (v << 8) | u128::from(b);
    }
    Ok(v)
}

fn write_mac(f: &mut dyn fmt::Write, v: u128) -> fmt::Result {
    let b = v.to_be_bytes();
    write!(
        f,
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[10], b[11], b[12], b[13], b[14], b[15]
    )
}

/// If `mask` (of `bits` width) is a CIDR prefix, its length.
fn prefix_len(mask: u128, bits: u32) -> Option<u32> {
    let ones = mask.count_ones();
    let full = if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    let expect = if ones == 0 {
        0
    } else {
        (full >> (bits - ones)) << (bits - ones) & full
    };
    (mask == expect).then_some(ones)
}

fn prefix_mask(len: u32, bits: u32) -> Result<u128, ParseError> {
    if len > bits {
        return Err(ParseError::new(format!("prefix /{len} too long")));
    }
    let full = if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    Ok(if len == 0 {
        0
    } else {
        (full >> (bits - len)) << (bits - len) & full
    })
}

fn write_flags(
    f: &mut dyn fmt::Write,
    names: &[(&str, u32)],
    value: u128,
    mask: Option<u128>,
    width_mask: u128,
) -> fmt::Result {
    let mask = mask.unwrap_or(width_mask);
    let known: u128 = names.iter().map(|&(_, b)| u128::from(b)).sum();
    if mask & !known != 0 || mask == 0 {
        write!(f, "{value:#x}")?;
        if mask != width_mask {
            write!(f, "/{mask:#x}")?;
        }
        return Ok(());
    }
    for &(n, b) in names {
        let b = u128::from(b);
        if mask & b != 0 {
            f.write_str(if value & b != 0 { "+" } else { "-" })?;
            f.write_str(n)?;
        }
    }
    Ok(())
}

fn parse_flags(names: &[(&str, u32)], s: &str, width_mask: u128) -> Result<(u128, u128), ParseError> {
    if !s.starts_with(['+', '-']) {
        return parse_plain(s, width_mask);
    }
    let (mut v, mut m) = (0u128, 0u128);
    let mut rest = s;
    while !rest.is_empty() {
        let plus = rest.starts_with('+');
        if !plus && !rest.starts_with('-') {
            return Err(ParseError::new(format!("bad flags `{s}`")));
        }
        rest = &rest[1..];
        let end = rest.find(['+', '-']).unwrap_or(rest.len());
        let name = &rest[..end];
        rest = &rest[end..];
        let &(_, b) = names
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| ParseError::new(format!("unknown flag `{name}`")))?;
        m |= u128::from(b);
        if plus {
            v |= u128::from(b);
        }
    }
    Ok((v, m))
}

/// Fragment names as ovs-ofctl prints them: (name, value, mask).
const FRAG_NAMES: &[(&str, u128, u128)] = &[
    ("no", 0, 3),
    ("first", 1, 3),
    ("later", 3, 3),
    ("no", 0, 1),
    ("yes", 1, 1),
    ("not_later", 0, 2),
    ("later", 2, 2),
];

fn parse_plain(s: &str, full: u128) -> Result<(u128, u128), ParseError> {
    match s.split_once('/') {
        Some((v, m)) => Ok((parse_int(v)?, parse_int(m)?)),
        None => Ok((parse_int(s)?, full)),
    }
}

/// Parses `value[/mask]` for `field`; returns (value, mask) with the mask
/// equal to the full width when absent.
pub(crate) fn parse_value(field: Field, s: &str) -> Result<(u128, u128), ParseError> {
    let full = field.full_mask();
    let s = s.trim();
    let (v, m) = match field.format() {
        Format::Hex | Format::Decimal => parse_plain(s, full)?,
        Format::Port => (u128::from(parse_port(s)?), full),
        Format::Mac => match s.split_once('/') {
            Some((v, m)) => (parse_mac(v)?, parse_mac(m)?),
            None => (parse_mac(s)?, full),
        },
        Format::Ipv4 => {
            let ip = |t: &str| {
                t.parse::<Ipv4Addr>()
                    .map(|a| u128::from(u32::from(a)))
                    .map_err(|_| ParseError::new(format!("bad IPv4 `{t}`")))
            };
            match s.split_once('/') {
                Some((v, m)) if m.contains('.') => (ip(v)?, ip(m)?),
                Some((v, m)) => (ip(v)?, prefix_mask(parse_num(m)?, 32)?),
                None => (ip(s)?, full),
            }
        }
        Format::Ipv6 => {
            let ip = |t: &str| {
                t.parse::<Ipv6Addr>()
                    .map(u128::from)
                    .map_err(|_| ParseError::new(format!("bad IPv6 `{t}`")))
            };
            match s.split_once('/') {
                Some((v, m)) if m.contains(':') => (ip(v)?, ip(m)?),
                Some((v, m)) => (ip(v)?, prefix_mask(parse_num(m)?, 128)?),
                None => (ip(s)?, full),
            }
        }
        Format::CtState => parse_flags(ct_state::NAMES, s, full)?,
        Format::TcpFlags => parse_flags(tcp_flags::NAMES, s, full)?,
        Format::Frag => match FRAG_NAMES.iter().find(|(n, _, _)| *n == s) {
            Some(&(_, v, m)) => (v, m),
            None => parse_plain(s, full)?,
        },
    };
    if v > full || m > full {
        return Err(ParseError::new(format!("value `{s}` too wide for {field}")));
    }
    Ok((v & m, m))
}

/// Writes `value[/mask]` for `field` in ovs-ofctl style.
pub(crate) fn write_value(
    f: &mut dyn fmt::Write,
    field: Field,
    value: u128,
    mask: Option<u128>,
) -> fmt::Result {
    let full = field.full_mask();
    match field.format() {
        Format::Hex => {
            write!(f, "{value:#x}")?;
            if let Some(m) = mask {
                write!(f, "/{m:#x}")?;
            }
        }
        Format::Decimal => match mask {
            None => write!(f, "{value}")?,
            Some(m) => write!(f, "{value:#x}/{m:#x}")?,
        },
        Format::Port => write_port(f, value as u32)?,
        Format::Mac => {
            write_mac(f, value)?;
            if let Some(m) = mask {
                f.write_str("/")?;
                write_mac(f, m)?;
            }
        }
        Format::Ipv4 => {
            write!(f, "{}", Ipv4Addr::from(value as u32))?;
            if let Some(m) = mask {
                match prefix_len(m, 32) {
                    Some(n) => write!(f, "/{n}")?,
                    None => write!(f, "/{}", Ipv4Addr::from(m as u32))?,
                }
            }
        }
        Format::Ipv6 => {
            write!(f, "{}", Ipv6Addr::from(value))?;
            if let Some(m) = mask {
                match prefix_len(m, 128) {
                    Some(n) => write!(f, "/{n}")?,
                    None => write!(f, "/{}", Ipv6Addr::from(m))?,
                }
            }
        }
        Format::CtState => write_flags(f, ct_state::NAMES, value, mask, full)?,
        Format::TcpFlags => write_flags(f, tcp_flags::NAMES, value, mask, full)?,
        Format::Frag => {
            let m = mask.unwrap_or(full);
            match FRAG_NAMES.iter().find(|&&(_, v, mm)| v == value && mm == m) {
                Some((n, _, _)) => f.write_str(n)?,
                None => write!(f, "{value:#x}/{m:#x}")?,
            }
        }
    }
    Ok(())
}

/// Parses `NAME[]`, `NAME[n]`, `NAME[lo..hi]` (NAME any field name).
pub(crate) fn parse_subfield(s: &str) -> Result<SubField, ParseError> {
    let s = s.trim();
    let (name, rest) = s
        .split_once('[')
        .ok_or_else(|| ParseError::new(format!("bad subfield `{s}`")))?;
    let inner = rest
        .strip_suffix(']')
        .ok_or_else(|| ParseError::new(format!("bad subfield `{s}`")))?;
    let field = Field::from_name(name).ok_or_else(|| ParseError::new(format!("unknown field `{name}`")))?;
    let sf = if inner.is_empty() {
        SubField::full(field)
    } else if let Some((lo, hi)) = inner.split_once("..") {
        let (lo, hi): (u16, u16) = (parse_num(lo)?, parse_num(hi)?);
        if hi < lo {
            return Err(ParseError::new(format!("bad subfield range `{s}`")));
        }
        SubField::range(field, lo, hi)
    } else {
        let b: u16 = parse_num(inner)?;
        SubField {
            field,
            ofs: b,
            n_bits: 1,
        }
    };
    if !sf.is_valid() {
        return Err(ParseError::new(format!("subfield out of range `{s}`")));
    }
    Ok(sf)
}

/// Hex bytes separated by `.` (ovs-ofctl's userdata / note syntax).
pub(crate) fn write_hex_dotted(f: &mut dyn fmt::Write, b: &[u8]) -> fmt::Result {
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            f.write_str(".")?;
        }
        write!(f, "{x:02x}")?;
    }
    Ok(())
}

pub(crate) fn parse_hex_dotted(s: &str) -> Result<Vec<u8>, ParseError> {
    let digits: String = s.chars().filter(|c| !matches!(c, '.' | ':' | ' ')).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(ParseError::new(format!("odd number of hex digits `{s}`")));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| ParseError::new(format!("bad hex `{s}`")))
        })
        .collect()
}
