//! Recursive-descent parser for match expressions, plus the token cursor and
//! field/constant helpers that the action parser shares.

use crate::error::Error;
use crate::expr::{Expr, FieldRef, Lookup, Relop, Value};
use crate::lexer::{Constant, IntFormat, Tok, Token, tokenize};
use crate::symbols::{Kind, Level, Symbol, SymbolTable, symtab};

/// Nesting limit for parentheses and nested actions, so hostile input cannot
/// overflow the stack.
pub const MAX_DEPTH: usize = 128;

/// OVN's limit on nested parentheses in a match.
pub const MAX_PARENS: usize = 100;

pub struct Parser<'a> {
    input: String,
    toks: Vec<Token>,
    i: usize,
    pub lookup: &'a dyn Lookup,
    pub symtab: &'static SymbolTable,
    /// Parity of enclosing `!` operators (OVN's nominal-field rule).
    not: bool,
    depth: usize,
    parens: usize,
}

impl<'a> Parser<'a> {
    pub fn new(input: &str, lookup: &'a dyn Lookup) -> Result<Self, Error> {
        Ok(Parser {
            input: input.to_string(),
            toks: tokenize(input)?,
            i: 0,
            lookup,
            symtab: symtab(),
            not: false,
            depth: 0,
            parens: 0,
        })
    }

    pub fn peek(&self) -> &Tok {
        &self.toks[self.i].tok
    }

    pub fn peek_at(&self, n: usize) -> &Tok {
        let j = (self.i + n).min(self.toks.len() - 1);
        &self.toks[j].tok
    }

    pub fn pos(&self) -> usize {
        self.toks[self.i].pos
    }

    /// The identifier just consumed, if the previous token was one.
    pub fn prev_id(&self) -> Option<String> {
        match &self.toks[self.i.checked_sub(1)?].tok {
            Tok::Id(s) => Some(s.clone()),
            _ => None,
        }
    }

    pub fn advance(&mut self) -> Tok {
        let t = self.toks[self.i].tok.clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    pub fn err<T>(&self, msg: impl Into<String>) -> Result<T, Error> {
        Err(Error::syntax(self.pos(), msg))
    }

    /// The current token as OVN quotes it in messages.
    pub fn describe_current(&self) -> String {
        let t = &self.toks[self.i];
        match t.tok {
            Tok::End => "end of input".into(),
            _ => format!("`{}'", self.input.get(t.pos..t.end).unwrap_or("?")),
        }
    }

    pub fn syntax_err<T>(&self, expecting: &str) -> Result<T, Error> {
        self.err(format!(
            "Syntax error at {} {expecting}.",
            self.describe_current()
        ))
    }

    pub fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            self.advance();
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, t: &Tok, what: &str) -> Result<(), Error> {
        if self.eat(t) {
            Ok(())
        } else {
            self.syntax_err(&format!("expecting {what}"))
        }
    }

    pub fn eat_id(&mut self, id: &str) -> bool {
        if matches!(self.peek(), Tok::Id(s) if s == id) {
            self.advance();
            true
        } else {
            false
        }
    }

    pub fn at_end(&self) -> bool {
        matches!(self.peek(), Tok::End)
    }

    pub fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.err("Nesting too deep.")
        } else {
            Ok(())
        }
    }

    pub fn leave(&mut self) {
        self.depth -= 1;
    }

    pub fn expect_int(&mut self) -> Result<u64, Error> {
        match self.peek().clone() {
            Tok::Int(k)
                if k.mask.is_none() && k.format == IntFormat::Decimal && k.value <= i32::MAX as u128 =>
            {
                self.advance();
                Ok(k.value as u64)
            }
            _ => self.syntax_err("expecting small integer"),
        }
    }

    /// A decimal integer up to 2**64-1.
    pub fn expect_u64(&mut self) -> Result<u64, Error> {
        match self.peek().clone() {
            Tok::Int(k)
                if k.mask.is_none() && k.format == IntFormat::Decimal && k.value <= u64::MAX as u128 =>
            {
                self.advance();
                Ok(k.value as u64)
            }
            _ => self.syntax_err("expecting integer"),
        }
    }

    pub fn is_field_next(&self) -> bool {
        matches!(self.peek(), Tok::Id(s) if self.symtab.get(s).is_some())
    }

    /// `name` or `name[n]` or `name[lo..hi]`.
    pub fn parse_field(&mut self) -> Result<FieldRef, Error> {
        let pos = self.pos();
        let sym: &'static Symbol = match self.peek() {
            Tok::Id(s) => match self.symtab.get(s) {
                Some(sym) => sym,
                None => return self.syntax_err("expecting field name"),
            },
            _ => return self.syntax_err("expecting field name"),
        };
        self.advance();
        if !self.eat(&Tok::LSquare) {
            return Ok(FieldRef::whole(sym));
        }
        if sym.width == 0 {
            return Err(Error::syntax(
                pos,
                format!("Cannot select subfield of string field {}.", sym.name),
            ));
        }
        let lo = self.expect_int()?;
        let hi = if self.eat(&Tok::Ellipsis) {
            self.expect_int()?
        } else {
            lo
        };
        self.expect(&Tok::RSquare, "`]'")?;
        if lo > hi {
            return Err(Error::syntax(pos, format!("Invalid bit range {lo} to {hi}.")));
        }
        if hi >= sym.width as u64 {
            return Err(Error::syntax(
                pos,
                format!(
                    "Cannot select bits {lo} to {hi} of {}-bit field {}.",
                    sym.width, sym.name
                ),
            ));
        }
        if sym.level == Level::Nominal && (lo != 0 || hi != sym.width as u64 - 1) {
            return Err(Error::syntax(
                pos,
                format!("Cannot select subfield of nominal field {}.", sym.name),
            ));
        }
        Ok(FieldRef {
            sym,
            ofs: lo as u32,
            n_bits: (hi - lo + 1) as u32,
        })
    }

    /// One constant or `{...}` set, expanding `$as`, `@pg` and `^tmpl`.
    /// Returns the values and whether curly braces were used.
    pub fn parse_constant_set(&mut self) -> Result<(Vec<Value>, bool), Error> {
        let mut out = Vec::new();
        if self.eat(&Tok::LCurly) {
            // `{}` is not a constant set, though `{$empty_set}` is.
            loop {
                self.parse_constant_into(&mut out)?;
                self.eat(&Tok::Comma);
                if self.eat(&Tok::RCurly) {
                    break;
                }
            }
            Ok((out, true))
        } else {
            self.parse_constant_into(&mut out)?;
            Ok((out, false))
        }
    }

    fn parse_constant_into(&mut self, out: &mut Vec<Value>) -> Result<(), Error> {
        let pos = self.pos();
        // All members of a set have the same type as the first one.
        let want_str = out.first().map(|v| matches!(v, Value::Str(_)));
        match (self.peek(), want_str) {
            (Tok::Int(_) | Tok::Macro(_), Some(true)) => return self.syntax_err("expecting string"),
            (Tok::Str(_) | Tok::PortGroup(_), Some(false)) => return self.syntax_err("expecting integer"),
            _ => {}
        }
        let here = self.describe_current();
        match self.advance() {
            Tok::Int(k) => out.push(Value::Int(k)),
            Tok::Str(s) => out.push(Value::Str(s)),
            Tok::Macro(name) => {
                let Some(items) = self.lookup.address_set(&name) else {
                    return Err(Error::syntax(
                        pos,
                        format!("Syntax error at {here} expecting address set name."),
                    ));
                };
                for item in items {
                    out.push(Value::Int(parse_address_constant(&item).ok_or_else(|| {
                        Error::syntax(pos, format!("Invalid address `{item}' in address set {name}."))
                    })?));
                }
            }
            Tok::PortGroup(name) => {
                let Some(items) = self.lookup.port_group(&name) else {
                    return Err(Error::syntax(
                        pos,
                        format!("Syntax error at {here} expecting port group name."),
                    ));
                };
                out.extend(items.into_iter().map(Value::Str));
            }
            Tok::Template(name) => {
                let Some(text) = self.lookup.template(&name) else {
                    return Err(Error::syntax(pos, format!("No template variable named {name}.")));
                };
                match tokenize(&text)?.first().map(|t| t.tok.clone()) {
                    Some(Tok::Int(k)) => out.push(Value::Int(k)),
                    Some(Tok::Str(s)) => out.push(Value::Str(s)),
                    _ => out.push(Value::Str(text)),
                }
            }
            _ => {
                self.i = self.i.saturating_sub(1);
                return self.syntax_err("expecting constant");
            }
        }
        Ok(())
    }

    // ---- match expressions ----

    pub fn parse_match(mut self) -> Result<Expr, Error> {
        if self.at_end() {
            return self.err("Empty match expression.");
        }
        let e = self.parse_expr()?;
        if !self.at_end() {
            return self.syntax_err("expecting end of input");
        }
        Ok(e)
    }

    fn parse_expr(&mut self) -> Result<Expr, Error> {
        self.enter()?;
        let first = self.parse_not()?;
        let (op, is_and) = match self.peek() {
            Tok::And => (Tok::And, true),
            Tok::Or => (Tok::Or, false),
            _ => {
                self.leave();
                return Ok(first);
            }
        };
        let mut v = vec![first];
        while self.eat(&op) {
            v.push(self.parse_not()?);
        }
        if matches!(self.peek(), Tok::And | Tok::Or) {
            return self.err("&& and || must be parenthesized when used together.");
        }
        self.leave();
        Ok(if is_and { Expr::And(v) } else { Expr::Or(v) })
    }

    fn parse_not(&mut self) -> Result<Expr, Error> {
        if self.eat(&Tok::Not) {
            self.enter()?;
            self.not = !self.not;
            let r = self.parse_primary();
            self.not = !self.not;
            self.leave();
            let (e, atomic) = r?;
            if !atomic {
                return self.err("Missing parentheses around operand of !.");
            }
            Ok(Expr::Not(Box::new(e)))
        } else {
            Ok(self.parse_primary()?.0)
        }
    }

    /// Returns the expression and whether it is "atomic" (may follow `!`
    /// without parentheses).
    fn parse_primary(&mut self) -> Result<(Expr, bool), Error> {
        if self.eat(&Tok::LParen) {
            if self.parens >= MAX_PARENS {
                return self.err("Parentheses nested too deeply.");
            }
            self.parens += 1;
            let e = self.parse_expr();
            self.parens -= 1;
            let e = e?;
            self.expect(&Tok::RParen, "`)'")?;
            return Ok((e, true));
        }
        if let Tok::Template(_) = self.peek() {
            return self.err("Unexpanded template.");
        }
        if let Tok::Id(name) = self.peek() {
            if self.peek_at(1) == &Tok::LParen {
                if name != "is_chassis_resident" {
                    return self.err("parsing function name");
                }
                self.advance();
                self.advance();
                let Tok::Str(port) = self.peek().clone() else {
                    return self.syntax_err("expecting string");
                };
                self.advance();
                self.expect(&Tok::RParen, "`)'")?;
                return Ok((Expr::ChassisResident(port), true));
            }
            let pos = self.pos();
            let f = self.parse_field()?;
            let Some(r) = self.parse_relop() else {
                if f.n_bits == 0 || self.peek() == &Tok::Equals {
                    return self.syntax_err("expecting relational operator");
                }
                if f.n_bits > 1 && !self.not {
                    return self
                        .err("Explicit `!= 0' is required for inequality test of multibit field against 0.");
                }
                let zero = Value::Int(Constant {
                    value: 0,
                    mask: None,
                    format: IntFormat::Hex,
                    hex_width: 0,
                });
                return Ok((self.make_cmp(pos, f, Relop::Ne, vec![zero], false)?, true));
            };
            let (set, curly) = self.parse_constant_set()?;
            return Ok((self.make_cmp(pos, f, r, set, curly)?, false));
        }
        let pos = self.pos();
        let (c1, curly1) = self.parse_constant_set()?;
        if self.parse_relop_peek().is_none()
            && !curly1
            && c1.len() == 1
            && let Value::Int(k) = &c1[0]
            && k.format == IntFormat::Decimal
            && k.mask.is_none()
            && k.value <= 1
        {
            return Ok((Expr::Bool(k.value == 1), true));
        }
        let Some(r1) = self.parse_relop() else {
            return self.syntax_err("expecting relational operator");
        };
        let fpos = self.pos();
        let f = self.parse_field()?;
        if let Some(r2) = self.parse_relop() {
            let (c2, curly2) = self.parse_constant_set()?;
            let ok = matches!(
                (r1, r2),
                (Relop::Lt | Relop::Le, Relop::Lt | Relop::Le)
                    | (Relop::Gt | Relop::Ge, Relop::Gt | Relop::Ge)
            );
            if !ok {
                return Err(Error::syntax(
                    fpos,
                    "Range expressions must have the form `x < field < y' or `x > field > y', with each `<' optionally replaced by `<=' or `>' by `>=').",
                ));
            }
            let a = self.make_cmp(pos, f, r1.reverse(), c1, curly1)?;
            let b = self.make_cmp(fpos, f, r2, c2, curly2)?;
            return Ok((Expr::And(vec![a, b]), false));
        }
        Ok((self.make_cmp(pos, f, r1.reverse(), c1, curly1)?, false))
    }

    fn parse_relop_peek(&self) -> Option<Relop> {
        Some(match self.peek() {
            Tok::Eq => Relop::Eq,
            Tok::Ne => Relop::Ne,
            Tok::Lt => Relop::Lt,
            Tok::Le => Relop::Le,
            Tok::Gt => Relop::Gt,
            Tok::Ge => Relop::Ge,
            _ => return None,
        })
    }

    fn parse_relop(&mut self) -> Option<Relop> {
        let r = self.parse_relop_peek()?;
        self.advance();
        Some(r)
    }

    fn make_cmp(
        &self,
        pos: usize,
        f: FieldRef,
        r: Relop,
        set: Vec<Value>,
        curly: bool,
    ) -> Result<Expr, Error> {
        let sym = f.sym;
        let e = |m: String| Err(Error::syntax(pos, m));
        for v in &set {
            match (v, sym.width) {
                (Value::Str(_), w) if w > 0 => {
                    return e(format!(
                        "Integer field {} is not compatible with string constant.",
                        sym.name
                    ));
                }
                (Value::Int(_), 0) => {
                    return e(format!(
                        "String field {} is not compatible with integer constant.",
                        sym.name
                    ));
                }
                (Value::Int(k), _) if k.width() > f.n_bits => {
                    return e(format!(
                        "{}-bit constant is not compatible with {}-bit field {}.",
                        k.width(),
                        f.n_bits,
                        f
                    ));
                }
                _ => {}
            }
        }
        if !matches!(r, Relop::Eq | Relop::Ne) {
            if curly {
                return e("Only == and != operators may be used with value sets.".into());
            }
            if matches!(sym.level, Level::Nominal | Level::Boolean) {
                let lvl = if sym.level == Level::Nominal {
                    "nominal"
                } else {
                    "Boolean"
                };
                return e(format!(
                    "Only == and != operators may be used with {lvl} field {}.",
                    sym.name
                ));
            }
            if matches!(set.first(), Some(Value::Int(k)) if k.mask.is_some()) {
                return e("Only == and != operators may be used with masked constants.  Consider using subfields instead (e.g. eth.src[0..15] > 0x1111 in place of eth.src > 00:00:00:00:11:11/00:00:00:00:ff:ff).".into());
            }
            if set.is_empty() {
                return e(
                    "Only == and != operators may be used to compare a field against an empty value set."
                        .into(),
                );
            }
        }
        if sym.level == Level::Nominal {
            if sym.is_predicate() {
                for v in &set {
                    let positive =
                        matches!(v, Value::Int(k) if k.value & 1 == 1) ^ (r == Relop::Ne) ^ self.not;
                    if !positive {
                        let n = sym.name;
                        return e(format!(
                            "Nominal predicate {n} may only be tested positively, e.g. `{n}' or `{n} == 1' but not `!{n}' or `{n} == 0'."
                        ));
                    }
                }
            } else if r != (if self.not { Relop::Ne } else { Relop::Eq }) {
                return e(format!(
                    "Nominal field {} may only be tested for equality (taking enclosing `!' operators into account).",
                    sym.name
                ));
            }
        }
        if matches!(sym.kind, Kind::OvnField { .. }) {
            return e(format!("Field {} cannot be used in a match.", sym.name));
        }
        if set.is_empty() {
            return Ok(Expr::Bool(r == Relop::Ne));
        }
        let mut v: Vec<Expr> = set
            .into_iter()
            .map(|value| Expr::Cmp {
                field: f,
                op: r,
                value,
            })
            .collect();
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Expr::Bool(false))
        } else if r == Relop::Eq {
            Expr::Or(v)
        } else {
            Expr::And(v)
        })
    }
}

/// Parses one address-set member (`10.0.0.1`, `10.0.0.0/8`, MAC, IPv6,
/// integers) into a constant.
pub fn parse_address_constant(s: &str) -> Option<Constant> {
    let toks = tokenize(s).ok()?;
    match toks.as_slice() {
        [Token { tok: Tok::Int(k), .. }, Token { tok: Tok::End, .. }] => Some(*k),
        _ => None,
    }
}

/// Parses a match expression.
pub fn parse_match(input: &str, lookup: &dyn Lookup) -> Result<Expr, Error> {
    Parser::new(input, lookup)?.parse_match()
}
