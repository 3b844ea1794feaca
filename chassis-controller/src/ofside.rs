//! The main loop's view of the OpenFlow side (`crate::of`): it hands over a
//! [`LocalState`] tagged with a sequence number and later learns, through a
//! channel, the highest sequence number whose flows a barrier confirmed. It
//! also receives the neighbours pinctrl learned.
//!
//! Until `of::Ofctrl` is wired in, [`Unwired`] acknowledges every state at
//! once without installing anything, so that the OVSDB side (claims, `up`,
//! `ovn-installed`, `nb_cfg`) can run end to end.

use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::mac_binding::Learned;
use crate::of::state::LocalState;

/// The OpenFlow side as the main loop drives it.
pub trait FlowSink: Send {
    /// Computes and installs the flows for `state`; once a barrier confirms them,
    /// `seqno` (or a later one) is sent on the acknowledgement channel.
    fn install(&mut self, state: &LocalState, seqno: u64);
}

/// Channels from the OpenFlow side to the main loop.
pub struct Feedback {
    /// Sequence numbers whose flows are installed (non-decreasing).
    pub acks: mpsc::UnboundedReceiver<u64>,
    /// Neighbours learned by pinctrl (`put_arp`/`put_nd`).
    pub learned: mpsc::UnboundedReceiver<Learned>,
}

/// Acknowledges immediately; installs nothing.
pub struct Unwired {
    acks: mpsc::UnboundedSender<u64>,
    _learned: mpsc::UnboundedSender<Learned>,
}

impl FlowSink for Unwired {
    fn install(&mut self, state: &LocalState, seqno: u64) {
        tracing::debug!(
            "flow state #{seqno}: {} datapaths, {} port bindings, {} logical flows, {} local VIFs, {} tunnels",
            state.datapaths.len(),
            state.port_bindings.len(),
            state.logical_flows.len(),
            state.vif_ofports.len(),
            state.tunnel_ofports.len()
        );
        let _ = self.acks.send(seqno);
    }
}

/// Starts the OpenFlow side for the bridge whose management socket is `mgmt`.
pub fn start(mgmt: PathBuf) -> (Box<dyn FlowSink>, Feedback) {
    let (ack_tx, acks) = mpsc::unbounded_channel();
    let (learned_tx, learned) = mpsc::unbounded_channel();
    tracing::info!("OpenFlow side not wired yet; {} unused", mgmt.display());
    (
        Box::new(Unwired {
            acks: ack_tx,
            _learned: learned_tx,
        }),
        Feedback { acks, learned },
    )
}
