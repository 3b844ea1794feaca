//! The main loop's view of the OpenFlow side ([`crate::of::OpenFlow`]): it
//! hands over a [`LocalState`] tagged with a sequence number and later learns,
//! through [`Feedback`], the highest sequence number whose flows a barrier
//! confirmed, and the neighbours pinctrl learned.

use std::path::PathBuf;
use std::sync::Arc;

pub use crate::of::Feedback;
use crate::of::OpenFlow;
use crate::of::state::LocalState;

/// The OpenFlow side as the main loop drives it (a trait so the loop can be
/// exercised without a switch).
pub trait FlowSink: Send {
    /// Computes and installs the flows for `state`; once a barrier confirms them,
    /// `seqno` (or a later one) is sent on the acknowledgement channel.
    fn install(&mut self, state: Arc<LocalState>, seqno: u64);

    /// The next `install` computes every flow from scratch and reinstalls them
    /// whole (`ovs-appctl recompute`).
    fn recompute(&mut self);
}

impl FlowSink for OpenFlow {
    fn install(&mut self, state: Arc<LocalState>, seqno: u64) {
        tracing::debug!(
            "flow state #{seqno}: {} datapaths, {} port bindings, {} logical flows, {} local VIFs, {} tunnels",
            state.datapaths.len(),
            state.port_bindings.len(),
            state.logical_flows.len(),
            state.vif_ofports.len(),
            state.tunnel_ofports.len()
        );
        self.install_arc(state, seqno);
    }

    fn recompute(&mut self) {
        self.ofctrl.recompute();
    }
}

/// Starts ofctrl and pinctrl for the bridge whose management socket is `mgmt`
/// (inside the Tokio runtime).
pub fn start(mgmt: PathBuf) -> (Box<dyn FlowSink>, Feedback) {
    let (of, feedback) = OpenFlow::start(mgmt);
    (Box::new(of), feedback)
}
