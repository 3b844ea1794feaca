//! Tokenizer for OVN's logical-flow match/action language.
//!
//! Every token carries the byte offset where it starts so that parse errors can
//! point at the offending input.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::Error;

/// How an integer constant was written; it decides the default width of a
/// constant and how masks combine with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntFormat {
    Decimal,
    Hex,
    Ipv4,
    Ipv6,
    Ethernet,
}

/// An integer constant, optionally masked (`value/mask` or CIDR prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constant {
    pub value: u128,
    pub mask: Option<u128>,
    pub format: IntFormat,
    /// Width of a hexadecimal literal in bits as written (used for width
    /// checks, `0x0001` is 16 bits wide).
    pub hex_width: u32,
}

impl Constant {
    /// Minimum number of bits needed to hold the constant as written.
    pub fn width(&self) -> u32 {
        if let Some(m) = self.mask {
            return 128 - m.leading_zeros();
        }
        match self.format {
            IntFormat::Ipv4 => 32,
            IntFormat::Ipv6 => 128,
            IntFormat::Ethernet => 48,
            IntFormat::Decimal | IntFormat::Hex => {
                let v = self.value | self.mask.unwrap_or(0);
                (128 - v.leading_zeros()).max(self.hex_width)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    End,
    Id(String),
    Str(String),
    Int(Constant),
    /// `$name`: address set or macro.
    Macro(String),
    /// `@name`: port group.
    PortGroup(String),
    /// `^name`: chassis template variable.
    Template(String),
    LParen,
    RParen,
    LCurly,
    RCurly,
    LSquare,
    RSquare,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Not,
    And,
    Or,
    Ellipsis,
    Comma,
    Semicolon,
    Equals,
    Exchange,
    Decrement,
    Colon,
    Hyphen,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::End => "end of input".into(),
            Tok::Id(s) => format!("`{s}'"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Int(_) => "integer".into(),
            Tok::Macro(s) => format!("`${s}'"),
            Tok::PortGroup(s) => format!("`@{s}'"),
            Tok::Template(s) => format!("`^{s}'"),
            other => format!("`{}'", punct_text(other)),
        }
    }
}

fn punct_text(t: &Tok) -> &'static str {
    match t {
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::LCurly => "{",
        Tok::RCurly => "}",
        Tok::LSquare => "[",
        Tok::RSquare => "]",
        Tok::Eq => "==",
        Tok::Ne => "!=",
        Tok::Lt => "<",
        Tok::Le => "<=",
        Tok::Gt => ">",
        Tok::Ge => ">=",
        Tok::Not => "!",
        Tok::And => "&&",
        Tok::Or => "||",
        Tok::Ellipsis => "..",
        Tok::Comma => ",",
        Tok::Semicolon => ";",
        Tok::Equals => "=",
        Tok::Exchange => "<->",
        Tok::Decrement => "--",
        Tok::Colon => ":",
        Tok::Hyphen => "-",
        _ => "?",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub pos: usize,
    /// Byte offset just past the token.
    pub end: usize,
}

fn is_id1(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'.'
}

fn is_idn(c: u8) -> bool {
    is_id1(c) || c.is_ascii_digit()
}

/// Splits `input` into tokens, ending with [`Tok::End`].
pub fn tokenize(input: &str) -> Result<Vec<Token>, Error> {
    let b = input.as_bytes();
    let mut out = Vec::new();
    let mut p = 0;
    loop {
        // Skip whitespace and comments.
        loop {
            while p < b.len() && b[p].is_ascii_whitespace() {
                p += 1;
            }
            if b[p..].starts_with(b"//") {
                while p < b.len() && b[p] != b'\n' {
                    p += 1;
                }
            } else if b[p..].starts_with(b"/*") {
                let start = p;
                p += 2;
                loop {
                    if p >= b.len() {
                        return Err(Error::syntax(start, "`/*' without matching `*/'."));
                    }
                    if b[p..].starts_with(b"*/") {
                        p += 2;
                        break;
                    }
                    p += 1;
                }
            } else {
                break;
            }
        }
        let start = p;
        if p >= b.len() {
            out.push(Token {
                tok: Tok::End,
                pos: p,
                end: p,
            });
            return Ok(out);
        }
        let c = b[p];
        let two = |x: u8| b.get(p + 1) == Some(&x);
        let (tok, len) = match c {
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b'{' => (Tok::LCurly, 1),
            b'}' => (Tok::RCurly, 1),
            b'[' => (Tok::LSquare, 1),
            b']' => (Tok::RSquare, 1),
            b',' => (Tok::Comma, 1),
            b';' => (Tok::Semicolon, 1),
            b'=' if two(b'=') => (Tok::Eq, 2),
            b'=' => (Tok::Equals, 1),
            b'!' if two(b'=') => (Tok::Ne, 2),
            b'!' => (Tok::Not, 1),
            b'&' if two(b'&') => (Tok::And, 2),
            b'|' if two(b'|') => (Tok::Or, 2),
            b'<' if b[p..].starts_with(b"<->") => (Tok::Exchange, 3),
            b'<' if two(b'=') => (Tok::Le, 2),
            b'<' => (Tok::Lt, 1),
            b'>' if two(b'=') => (Tok::Ge, 2),
            b'>' => (Tok::Gt, 1),
            b'.' if two(b'.') => (Tok::Ellipsis, 2),
            b'-' if two(b'-') => (Tok::Decrement, 2),
            b'-' => (Tok::Hyphen, 1),
            b':' if !two(b':') => (Tok::Colon, 1),
            b'&' | b'|' => {
                return Err(Error::syntax(
                    start,
                    format!(
                        "`{}' is only valid as part of `{}{}'.",
                        c as char, c as char, c as char
                    ),
                ));
            }
            b'.' => {
                return Err(Error::syntax(
                    start,
                    "`.' is only valid as part of `..' or a number.",
                ));
            }
            b'$' | b'@' | b'^' => {
                let mut q = p + 1;
                while q < b.len() && is_idn(b[q]) {
                    q += 1;
                }
                if q == p + 1 || !is_id1(b[p + 1]) {
                    return Err(Error::syntax(
                        start,
                        format!("`{}' must be followed by a valid identifier.", c as char),
                    ));
                }
                let name = input[p + 1..q].to_string();
                let tok = match c {
                    b'$' => Tok::Macro(name),
                    b'@' => Tok::PortGroup(name),
                    _ => Tok::Template(name),
                };
                (tok, q - p)
            }
            b'"' => {
                let (s, n) = lex_string(input, p)?;
                (Tok::Str(s), n)
            }
            b'0'..=b'9' | b':' => {
                let (k, n) = lex_integer(input, p)?;
                (Tok::Int(k), n)
            }
            _ if c.is_ascii_hexdigit() && hex_then_colon(&b[p..]) => {
                let (k, n) = lex_integer(input, p)?;
                (Tok::Int(k), n)
            }
            _ if is_id1(c) => {
                let mut q = p + 1;
                while q < b.len() && is_idn(b[q]) {
                    q += 1;
                }
                (Tok::Id(input[p..q].to_string()), q - p)
            }
            _ => {
                let ch = input[p..].chars().next().unwrap_or('?');
                let msg = if ch.is_ascii_graphic() {
                    format!("Invalid character `{ch}' in input.")
                } else {
                    format!("Invalid character U+{:04X} in input.", ch as u32)
                };
                return Err(Error::syntax(start, msg));
            }
        };
        p += len;
        out.push(Token {
            tok,
            pos: start,
            end: p,
        });
    }
}

fn hex_then_colon(b: &[u8]) -> bool {
    let n = b.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    b.get(n) == Some(&b':')
}

fn lex_string(input: &str, start: usize) -> Result<(String, usize), Error> {
    let mut s = String::new();
    let mut chars = input[start + 1..].char_indices();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '"' => return Ok((s, i + 2)),
            '\n' => break,
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    '"' | '\\' | '/' => s.push(e),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'n' => s.push('\n'),
                    'r' => s.push('\r'),
                    't' => s.push('\t'),
                    'u' => {
                        let mut v = 0u32;
                        for _ in 0..4 {
                            let d = chars.next().and_then(|(_, d)| d.to_digit(16));
                            let Some(d) = d else {
                                return Err(Error::syntax(start, "Malformed \\u escape in string."));
                            };
                            v = v * 16 + d;
                        }
                        match char::from_u32(v) {
                            Some(c) if v != 0 => s.push(c),
                            _ => return Err(Error::syntax(start, "Invalid \\u escape in string.")),
                        }
                    }
                    _ => return Err(Error::syntax(start, format!("Invalid escape `\\{e}' in string."))),
                }
            }
            c => s.push(c),
        }
    }
    Err(Error::syntax(start, "Input ends inside quoted string."))
}

/// Parses an integer (with optional `/mask`) starting at `start`; returns the
/// constant and the number of bytes consumed.
fn lex_integer(input: &str, start: usize) -> Result<(Constant, usize), Error> {
    let (mut k, mut end) = lex_integer_bare(input, start)?;
    if input.as_bytes().get(end) == Some(&b'/') {
        let (m, mend) = lex_integer_bare(input, end + 1)?;
        let mask = if k.format == m.format {
            m.value
        } else if k.format == IntFormat::Ipv4 && m.format == IntFormat::Decimal && m.value <= 32 {
            prefix_mask(m.value as u32, 32)
        } else if k.format == IntFormat::Ipv6 && m.format == IntFormat::Decimal && m.value <= 128 {
            prefix_mask(m.value as u32, 128)
        } else if k.format == IntFormat::Decimal && m.format == IntFormat::Hex && k.value == 0 {
            k.format = IntFormat::Hex;
            k.hex_width = m.hex_width;
            m.value
        } else {
            return Err(Error::syntax(start, "Value and mask have incompatible formats."));
        };
        k.value &= mask;
        k.mask = Some(mask);
        end = mend;
    }
    Ok((k, end - start))
}

fn prefix_mask(bits: u32, width: u32) -> u128 {
    if bits == 0 {
        return 0;
    }
    let ones = if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    ones << (width - bits)
}

fn lex_integer_bare(input: &str, start: usize) -> Result<(Constant, usize), Error> {
    let b = input.as_bytes();
    let mut end = start;
    let mut saw_dot = false;
    while end < b.len()
        && (b[end].is_ascii_alphanumeric()
            || (b[end] == b':' && !saw_dot)
            || (b[end] == b'.' && b.get(end + 1) != Some(&b'.')))
    {
        if b[end] == b'.' {
            saw_dot = true;
        }
        end += 1;
    }
    let text = &input[start..end];
    let mk = |value: u128, format: IntFormat| Constant {
        value,
        mask: None,
        format,
        hex_width: 0,
    };
    if text.is_empty() {
        return Err(Error::syntax(start, "Integer constant expected."));
    }
    if text.len() == 17
        && text.as_bytes()[2] == b':'
        && let Some(mac) = parse_mac(text)
    {
        return Ok((mk(mac, IntFormat::Ethernet), end));
    }
    if text.bytes().all(|c| c.is_ascii_digit()) {
        if text.len() > 1 && text.starts_with('0') {
            return Err(Error::syntax(
                start,
                "Decimal constants must not have leading zeros.",
            ));
        }
        return match text.parse::<u64>() {
            Ok(v) => Ok((mk(v as u128, IntFormat::Decimal), end)),
            Err(_) => Err(Error::syntax(start, "Decimal constants must be less than 2**64.")),
        };
    }
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        if hex.is_empty() {
            return Err(Error::syntax(start, "Hex digits expected following 0x."));
        }
        let digits = hex.trim_start_matches('0');
        if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::syntax(start, "Invalid syntax in hexadecimal constant."));
        }
        // Like OVN, accept wider literals but keep the low 128 bits; the
        // recorded width still makes them too wide for any field.
        let low = &digits[digits.len().saturating_sub(32)..];
        let v = if low.is_empty() {
            0
        } else {
            u128::from_str_radix(low, 16).unwrap_or(0)
        };
        let mut k = mk(v, IntFormat::Hex);
        k.hex_width = match digits.bytes().next().and_then(|c| (c as char).to_digit(16)) {
            Some(top) => 4 * (digits.len() as u32 - 1) + (32 - top.leading_zeros()),
            None => 0,
        };
        return Ok((k, end));
    }
    if let Ok(a) = text.parse::<Ipv4Addr>() {
        return Ok((mk(u32::from(a) as u128, IntFormat::Ipv4), end));
    }
    if let Ok(a) = text.parse::<Ipv6Addr>() {
        return Ok((mk(u128::from(a), IntFormat::Ipv6), end));
    }
    Err(Error::syntax(start, "Invalid numeric constant."))
}

fn parse_mac(s: &str) -> Option<u128> {
    let mut v: u128 = 0;
    let mut n = 0;
    for part in s.split(':') {
        if part.len() != 2 {
            return None;
        }
        v = (v << 8) | u8::from_str_radix(part, 16).ok()? as u128;
        n += 1;
    }
    (n == 6).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn punctuation_and_ids() {
        assert_eq!(
            toks("ip4.dst <-> ip4.src; ip.ttl--; reg0[0..15] != 1"),
            vec![
                Tok::Id("ip4.dst".into()),
                Tok::Exchange,
                Tok::Id("ip4.src".into()),
                Tok::Semicolon,
                Tok::Id("ip.ttl".into()),
                Tok::Decrement,
                Tok::Semicolon,
                Tok::Id("reg0".into()),
                Tok::LSquare,
                Tok::Int(Constant {
                    value: 0,
                    mask: None,
                    format: IntFormat::Decimal,
                    hex_width: 0
                }),
                Tok::Ellipsis,
                Tok::Int(Constant {
                    value: 15,
                    mask: None,
                    format: IntFormat::Decimal,
                    hex_width: 0
                }),
                Tok::RSquare,
                Tok::Ne,
                Tok::Int(Constant {
                    value: 1,
                    mask: None,
                    format: IntFormat::Decimal,
                    hex_width: 0
                }),
                Tok::End
            ]
        );
    }

    #[test]
    fn addresses() {
        let t = toks("10.0.1.0/24 fe80::/64 00:00:00:00:ff:01 ::1 0/0x1234 $as @pg ^tmpl \"vm1\"");
        let Tok::Int(k) = &t[0] else { panic!() };
        assert_eq!(
            (k.value, k.mask, k.format),
            (0x0a000100, Some(0xffffff00), IntFormat::Ipv4)
        );
        let Tok::Int(k) = &t[1] else { panic!() };
        assert_eq!(k.mask, Some(u128::MAX << 64));
        let Tok::Int(k) = &t[2] else { panic!() };
        assert_eq!((k.value, k.format), (0xff01, IntFormat::Ethernet));
        let Tok::Int(k) = &t[3] else { panic!() };
        assert_eq!((k.value, k.format), (1, IntFormat::Ipv6));
        let Tok::Int(k) = &t[4] else { panic!() };
        assert_eq!((k.value, k.mask, k.format), (0, Some(0x1234), IntFormat::Hex));
        assert_eq!(t[5], Tok::Macro("as".into()));
        assert_eq!(t[6], Tok::PortGroup("pg".into()));
        assert_eq!(t[7], Tok::Template("tmpl".into()));
        assert_eq!(t[8], Tok::Str("vm1".into()));
    }

    #[test]
    fn comments_and_errors() {
        assert_eq!(
            toks("next; /* x */ // y"),
            vec![Tok::Id("next".into()), Tok::Semicolon, Tok::End]
        );
        let e = tokenize("a == 012").unwrap_err();
        assert_eq!(e.position(), Some(5));
        assert!(tokenize("\"abc").is_err());
        assert!(tokenize("a & b").is_err());
        assert!(tokenize("1.2.3.4/0x5").is_err());
    }
}
