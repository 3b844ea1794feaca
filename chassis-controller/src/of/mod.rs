//! OpenFlow side of the chassis controller: physical and logical flow
//! computation from a [`state::LocalState`], the desired/installed flow table
//! diff, and the OpenFlow connections to br-int (ofctrl, pinctrl).
//!
//! The daemon's entry point is [`OpenFlow`]: [`OpenFlow::start`] with the
//! bridge's management socket, then [`OpenFlow::install`] for every new
//! state; installed sequence numbers come back on the ack channel (after
//! the switch's barrier reply), learned neighbours on the other.

// The daemon (main loop) may not use every item of this API yet.
#![allow(dead_code)]

pub mod addresses;
pub mod compute;
pub mod conn;
pub mod dhcp;
pub mod engine;
pub mod flow_set;
pub mod flow_table;
pub mod hairpin;
pub mod lflows;
pub mod local;
pub mod nd;
pub mod ofctrl;
pub mod packet;
pub mod physical;
pub mod pinctrl;
pub mod ra;
pub mod reject;
pub mod state;
pub mod tables;

#[cfg(test)]
mod switch_tests;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use ofctrl::Ofctrl;
use pinctrl::{FdbLearned, MacLearned, Pinctrl};
use state::LocalState;

/// Both OpenFlow connections to one bridge. Dropping it stops them.
pub struct OpenFlow {
    pub ofctrl: Ofctrl,
    pub pinctrl: Pinctrl,
}

/// What the OpenFlow side reports back to the daemon.
pub struct Feedback {
    /// Sequence numbers whose flows a barrier confirmed (non-decreasing
    /// within one connection to the switch; a number acknowledges every earlier
    /// one). `0` when the connection is lost: the switch's flows are unknown.
    pub acks: mpsc::UnboundedReceiver<u64>,
    /// Neighbours learned by `put_arp`/`put_nd` (write SB MAC_Binding).
    pub learned: mpsc::UnboundedReceiver<MacLearned>,
    /// MACs learned by `put_fdb` (write SB FDB). Bounded: events are
    /// dropped while it is full.
    pub fdb_learned: mpsc::Receiver<FdbLearned>,
}

impl OpenFlow {
    /// Starts ofctrl and pinctrl on `mgmt` (`$OVS_RUNDIR/br-int.mgmt`).
    /// Must be called inside a tokio runtime.
    pub fn start(mgmt: PathBuf) -> (OpenFlow, Feedback) {
        let (ofctrl, acks) = Ofctrl::start(mgmt.clone());
        let (pinctrl, learned, fdb_learned) = Pinctrl::start(mgmt);
        (
            OpenFlow { ofctrl, pinctrl },
            Feedback {
                acks,
                learned,
                fdb_learned,
            },
        )
    }

    /// Installs the flows for `state`; `seq` is acknowledged once the
    /// switch confirmed them. Cheap: the computation runs in the ofctrl
    /// task, and states arriving faster than they install are coalesced.
    pub fn install(&self, state: &LocalState, seq: u64) {
        self.install_arc(Arc::new(state.clone()), seq);
    }

    /// Like [`OpenFlow::install`] without copying the state.
    pub fn install_arc(&self, state: Arc<LocalState>, seq: u64) {
        self.pinctrl.set_state(state.clone());
        self.ofctrl.install_arc(state, seq);
    }
}
