//! Pure translation of an OVN Northbound snapshot into the Southbound contents a real
//! OVN 23.03 `ovn-controller` consumes: datapath/port bindings, multicast groups, SB load
//! balancers, address sets and the logical flows of the 23.03 pipelines. No I/O.
//!
//! Entry points:
//! - [`translate`]: full translation of a [`Northbound`] snapshot plus [`SbContext`].
//! - [`Engine`]: the same result, recomputing only the flows of objects that changed.
//! - [`diff`]: inserts/updates/deletes between two [`Southbound`] states.
//! - [`remember_keys`]: carry tunnel keys of a previous output into the next context.

mod acl;
pub mod addresses;
mod bindings;
mod dgp;
mod dhcp;
pub mod diff;
pub mod engine;
pub mod flows;
pub mod incremental;
pub mod keys;
mod lb;
pub mod model;
mod nat;
mod router;
mod switch;
mod topology;
pub mod translate;
pub mod warning;

pub use bindings::{NORTHD_INTERNAL_VERSION, READ_BACK, WRITTEN_BACK};
pub use diff::{SbDiff, diff};
pub use engine::{Engine, EngineStats};
pub use flows::{Pipeline, Stage};
pub use incremental::{Delta, NbChanges};
pub use model::Map;
pub use model::nb::{
    Acl, AddressSet, Chassis, DhcpOptions, GatewayChassis, HaChassis, HaChassisGroup, LoadBalancer,
    LoadBalancerGroup, LogicalRouter, LogicalRouterPort, LogicalSwitch, LogicalSwitchPort, Nat, NbGlobal,
    Northbound, PortGroup, Qos, RouterPolicy, SbContext, StaticRoute, Uuid,
};
pub use model::sb::{
    DatapathBinding, DatapathKind, LogicalFlow, MulticastGroup, PortBinding, SbHaChassisGroup,
    SbLoadBalancer, Southbound,
};
pub use translate::{FlowSource, Translation, remember_keys, translate};
pub use warning::{RowRef, Warning};
