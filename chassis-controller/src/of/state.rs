//! `LocalState`: the pure input to OpenFlow flow computation.
//!
//! The OVSDB side of the controller builds one of these from its replicas of
//! the Southbound database and the local Open_vSwitch database, and hands it
//! to the OpenFlow side (`physical`, `lflows`, `flow_table`, `ofctrl`).
//! Everything here is plain owned data with no references into the replicas,
//! so flow computation is a pure function of this value.
//!
//! Conventions:
//! - UUIDs are the canonical lowercase 36-character strings
//!   (`"0d7e0f49-..."`), exactly as OVSDB prints them.
//! - Datapaths are referred to by their tunnel key (`u32`, 1..2^24-1), which
//!   is also what ends up in OpenFlow `metadata`.
//! - Port bindings are referred to by `logical_port` name.
//! - Rows are shared (`Arc`): the builder reuses the rows of the previous
//!   state that did not change, so comparing two states and finding what
//!   changed between them is mostly pointer comparisons.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Everything flow computation needs, for one chassis.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalState {
    /// This chassis's name (Open_vSwitch `external_ids:system-id`).
    pub chassis_name: String,
    /// All SB Datapath_Binding rows (not only local ones: local-datapath
    /// discovery walks patch ports).
    pub datapaths: Vec<Datapath>,
    /// All SB Port_Binding rows, sorted by (`logical_port`, `uuid`).
    pub port_bindings: Vec<Arc<PortBinding>>,
    /// All SB Multicast_Group rows.
    pub multicast_groups: Vec<MulticastGroup>,
    /// All SB Logical_Flow rows (datapath groups already expanded into
    /// `datapaths`), sorted by `uuid`.
    pub logical_flows: Vec<Arc<LogicalFlow>>,
    /// All SB MAC_Binding rows.
    pub mac_bindings: Vec<MacBinding>,
    /// All SB FDB rows (MAC learning for ports with `unknown` addresses).
    pub fdb: Vec<FdbEntry>,
    /// All SB Load_Balancer rows (only used for the hairpin tables 68–70).
    pub load_balancers: Vec<LoadBalancer>,
    /// SB Address_Set: name → addresses (strings as stored, e.g.
    /// `"10.0.0.1"`, `"10.0.0.0/24"`, `"50:54:00:00:00:01"`).
    pub address_sets: BTreeMap<String, Arc<BTreeSet<String>>>,
    /// SB Port_Group: name (e.g. `"1_pg1"`) → logical port names.
    pub port_groups: BTreeMap<String, Arc<BTreeSet<String>>>,
    /// SB Chassis (other than and including this one): name → encaps.
    pub chassis: BTreeMap<String, Vec<Encap>>,
    /// Local VIFs: logical port name (Interface `external_ids:iface-id`)
    /// → OpenFlow port number on br-int. Only ports with a valid ofport
    /// (> 0) belong here.
    pub vif_ofports: BTreeMap<String, u32>,
    /// Tunnel ports on br-int: remote chassis name → OpenFlow port number.
    pub tunnel_ofports: BTreeMap<String, u32>,
    /// Localnet logical port → OpenFlow port of its patch port to the
    /// provider bridge (`ovn-bridge-mappings`) on br-int. A localnet port
    /// without one is not plugged on this chassis.
    pub localnet_ofports: BTreeMap<String, u32>,
    /// Conntrack zones, as persisted in br-int `external_ids:ct-zone-<name>`:
    /// keys are logical port names and `<datapath-uuid>_dnat` /
    /// `<datapath-uuid>_snat`.
    pub ct_zones: BTreeMap<String, u16>,
}

/// One SB Datapath_Binding row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Datapath {
    pub uuid: String,
    pub tunnel_key: u32,
    /// True iff `external_ids:logical-switch` is present (OVN decides switch
    /// vs router solely by that key).
    pub is_switch: bool,
    pub external_ids: BTreeMap<String, String>,
}

/// One SB Port_Binding row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortBinding {
    pub uuid: String,
    pub logical_port: String,
    /// Tunnel key of the row's datapath.
    pub datapath: u32,
    /// The port's own tunnel key within its datapath (1..32767).
    pub tunnel_key: u32,
    /// `""` (VIF), `"patch"`, `"l3gateway"`, `"localnet"`, `"localport"`,
    /// `"chassisredirect"`, ...
    pub port_type: String,
    /// Name of the chassis the port is bound to (`Port_Binding.chassis`
    /// resolved to `Chassis.name`), if any.
    pub chassis: Option<String>,
    /// `options` (`peer`, `l3gateway-chassis`, ...).
    pub options: BTreeMap<String, String>,
    /// `mac` column, verbatim (e.g. `"50:54:00:00:00:01 10.0.1.11"`,
    /// `"router"`, `"unknown"`).
    pub mac: Vec<String>,
    /// `port_security` column, verbatim (e.g. `"50:54:00:00:00:01 10.0.1.11"`).
    pub port_security: Vec<String>,
    /// `tag`: the VLAN of a localnet port's provider network (1..4095).
    pub tag: Option<u16>,
}

impl PortBinding {
    /// `options:peer`, if set.
    pub fn peer(&self) -> Option<&str> {
        self.options.get("peer").map(String::as_str)
    }

    /// `options:l3gateway-chassis`, if set.
    pub fn l3gateway_chassis(&self) -> Option<&str> {
        self.options.get("l3gateway-chassis").map(String::as_str)
    }
}

/// One SB Multicast_Group row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MulticastGroup {
    /// Tunnel key of the group's datapath.
    pub datapath: u32,
    /// e.g. `"_MC_flood"`.
    pub name: String,
    /// 32768..65535.
    pub tunnel_key: u32,
    /// Logical port names of the members.
    pub ports: Vec<String>,
}

/// Logical flow pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Pipeline {
    #[default]
    Ingress,
    Egress,
}

/// One SB Logical_Flow row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogicalFlow {
    /// Shared with the OpenFlow engine's indexes and flow sources.
    pub uuid: Arc<str>,
    /// Datapath tunnel keys the flow applies to: the single
    /// `logical_datapath`, or every member of `logical_dp_group`.
    pub datapaths: Vec<u32>,
    pub pipeline: Pipeline,
    /// Logical table (0..32).
    pub table_id: u8,
    pub priority: u16,
    /// `match` column (shared with the Southbound row it comes from).
    pub match_: Arc<str>,
    pub actions: Arc<str>,
}

/// One SB MAC_Binding row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MacBinding {
    pub logical_port: String,
    /// IPv4 or IPv6 address as text.
    pub ip: String,
    /// MAC as text (`"50:54:00:00:00:50"`).
    pub mac: String,
    /// Tunnel key of the row's datapath.
    pub datapath: u32,
    /// Flow priority in the MAC binding tables: learned rows, static ones
    /// (`Static_MAC_Binding`) below or above them.
    pub priority: u16,
}

impl MacBinding {
    pub const LEARNED: u16 = 100;
    pub const STATIC: u16 = 50;
    pub const STATIC_OVERRIDE: u16 = 150;
}

/// One SB FDB row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FdbEntry {
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// `dp_key`: tunnel key of the datapath.
    pub datapath: u32,
    /// `port_key`: tunnel key of the port the MAC was learned on.
    pub port_key: u32,
}

/// One SB Load_Balancer row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadBalancer {
    /// `"VIP[:port]"` → `"backend[:port],..."`.
    pub vips: BTreeMap<String, String>,
    /// `"tcp"`, `"udp"`, `"sctp"` or None (tcp).
    pub protocol: Option<String>,
    /// Tunnel keys of the datapaths the LB applies to (from `datapaths` and
    /// `datapath_group`).
    pub datapaths: Vec<u32>,
}

/// One SB Encap row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encap {
    /// `"geneve"`, `"stt"` or `"vxlan"`.
    pub encap_type: String,
    pub ip: String,
    /// `options:csum` == "true".
    pub csum: bool,
}

impl LocalState {
    /// The datapath with tunnel key `key`.
    pub fn datapath(&self, key: u32) -> Option<&Datapath> {
        self.datapaths.iter().find(|d| d.tunnel_key == key)
    }

    /// The port binding named `name`.
    pub fn port(&self, name: &str) -> Option<&PortBinding> {
        self.port_bindings
            .iter()
            .find(|p| p.logical_port == name)
            .map(|p| &**p)
    }

    /// Conntrack zone for `name` (port name or `<dp-uuid>_dnat`/`_snat`),
    /// 0 if none was allocated.
    pub fn zone(&self, name: &str) -> u16 {
        self.ct_zones.get(name).copied().unwrap_or(0)
    }
}
