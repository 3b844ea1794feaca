//! The main loop's view of the OpenFlow side (`crate::of`): it hands over a
//! [`LocalState`] tagged with a sequence number and later learns, through a
//! channel, the highest sequence number whose flows a barrier confirmed. It
//! also receives the neighbours pinctrl learned.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::mac_binding::Learned;
use crate::of::ofctrl::Ofctrl;
use crate::of::state::LocalState;

/// The OpenFlow side as the main loop drives it.
pub trait FlowSink: Send {
    /// Computes and installs the flows for `state`; once a barrier confirms them,
    /// `seqno` (or a later one) is sent on the acknowledgement channel.
    fn install(&mut self, state: Arc<LocalState>, seqno: u64);
}

/// Channels from the OpenFlow side to the main loop.
pub struct Feedback {
    /// Sequence numbers whose flows are installed (non-decreasing).
    pub acks: mpsc::UnboundedReceiver<u64>,
    /// Neighbours learned by pinctrl (`put_arp`/`put_nd`).
    pub learned: mpsc::UnboundedReceiver<Learned>,
}

/// ofctrl, plus the (not yet used) pinctrl channel.
struct Wired {
    ofctrl: Ofctrl,
    /// Held for pinctrl, which will send `put_arp`/`put_nd` results here.
    _learned: mpsc::UnboundedSender<Learned>,
}

impl FlowSink for Wired {
    fn install(&mut self, state: Arc<LocalState>, seqno: u64) {
        tracing::debug!(
            "flow state #{seqno}: {} datapaths, {} port bindings, {} logical flows, {} local VIFs, {} tunnels",
            state.datapaths.len(),
            state.port_bindings.len(),
            state.logical_flows.len(),
            state.vif_ofports.len(),
            state.tunnel_ofports.len()
        );
        self.ofctrl.install_arc(state, seqno);
    }
}

/// Starts the OpenFlow side for the bridge whose management socket is `mgmt`
/// (inside the Tokio runtime).
pub fn start(mgmt: PathBuf) -> (Box<dyn FlowSink>, Feedback) {
    let (ofctrl, acks) = Ofctrl::start(mgmt);
    let (learned_tx, learned) = mpsc::unbounded_channel();
    (
        Box::new(Wired {
            ofctrl,
            _learned: learned_tx,
        }),
        Feedback { acks, learned },
    )
}
