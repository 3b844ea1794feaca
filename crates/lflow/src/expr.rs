//! Match expressions as parsed (before symbol expansion), and the caller's
//! lookup interface for names that appear in them.

use crate::lexer::Constant;
use crate::symbols::Symbol;

/// A reference to all or part of a symbol: `sym[ofs..ofs+n_bits-1]`.
#[derive(Debug, Clone, Copy)]
pub struct FieldRef {
    pub sym: &'static Symbol,
    pub ofs: u32,
    pub n_bits: u32,
}

impl FieldRef {
    pub fn whole(sym: &'static Symbol) -> Self {
        FieldRef {
            sym,
            ofs: 0,
            n_bits: sym.width,
        }
    }

    pub fn is_whole(&self) -> bool {
        self.ofs == 0 && self.n_bits == self.sym.width
    }
}

impl std::fmt::Display for FieldRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_whole() {
            write!(f, "{}", self.sym.name)
        } else if self.n_bits == 1 {
            write!(f, "{}[{}]", self.sym.name, self.ofs)
        } else {
            write!(
                f,
                "{}[{}..{}]",
                self.sym.name,
                self.ofs,
                self.ofs + self.n_bits - 1
            )
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relop {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Relop {
    pub fn reverse(self) -> Relop {
        match self {
            Relop::Lt => Relop::Gt,
            Relop::Le => Relop::Ge,
            Relop::Gt => Relop::Lt,
            Relop::Ge => Relop::Le,
            r => r,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(Constant),
    Str(String),
}

/// A parsed match expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// `field relop value`, with sets already expanded into And/Or.
    Cmp {
        field: FieldRef,
        op: Relop,
        value: Value,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Bool(bool),
    /// `is_chassis_resident("port")`.
    ChassisResident(String),
}

/// Names the compiler needs resolved by its caller.  Every method has a
/// conservative default so simple callers implement only what they use.
pub trait Lookup {
    /// Tunnel key of a logical port or multicast group on the datapath being
    /// compiled (`"none"` is handled by the compiler as key 0).
    fn port_key(&self, _name: &str) -> Option<u32> {
        None
    }
    /// Members of address set `$name`, as text (`10.0.0.1`, `10.0.0.0/24`,
    /// MACs, IPv6...).
    fn address_set(&self, _name: &str) -> Option<Vec<String>> {
        None
    }
    /// Port names in port group `@name`, already narrowed to this datapath.
    fn port_group(&self, _name: &str) -> Option<Vec<String>> {
        None
    }
    /// Value of chassis template variable `^name`.
    fn template(&self, _name: &str) -> Option<String> {
        None
    }
    /// `is_chassis_resident(port)` on this chassis.
    fn is_chassis_resident(&self, _port: &str) -> bool {
        false
    }
    /// Whether the port with this key (on this datapath) is local; only
    /// consulted for switch datapaths.
    fn is_local_port(&self, _key: u32) -> bool {
        true
    }
    /// Id for an OpenFlow select group (load-balancer backends); the caller
    /// allocates the id, remembers the mapping and installs the group.
    fn group_id(&mut self, _group: &crate::of::Group) -> Option<u32> {
        None
    }
    /// Id for a meter: a named NB meter (`log(meter="...")`) or, for
    /// `set_meter`, a description starting with `__string:` holding the
    /// band (`kbps burst stats bands=type=drop rate=R burst_size=B`).
    fn meter_id(&mut self, _name: &str) -> Option<u32> {
        None
    }
    /// OpenFlow port of the tunnel toward the chassis hosting `port`
    /// (`fwd_group(liveness=true)` watches it).
    fn tunnel_ofport(&self, _port: &str) -> Option<u32> {
        None
    }
    /// Whether IPFIX collector set `id` is configured on this chassis
    /// (`sample()` to an unknown set is dropped).
    fn has_collector_set(&self, _id: u32) -> bool {
        true
    }
}
