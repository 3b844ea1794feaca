//! ofctrl: keeps br-int's flows and groups equal to what the latest
//! [`LocalState`] requires.
//!
//! The daemon hands over states tagged with a sequence number
//! ([`Ofctrl::install`]); the task computes the desired flow table, sends the
//! difference from what is installed as ONE ordered+atomic bundle followed by
//! a barrier, and reports the sequence number on the acknowledgement channel
//! when the barrier reply arrives. States that arrive while the task is busy
//! are coalesced (only the latest is computed; acknowledging it covers the
//! earlier ones).
//!
//! Connection life cycle:
//! - first connection of this process: the Geneve TLV mapping is set up,
//!   then the switch's flows and groups are dumped and diffed against, so a
//!   restarted controller does not disturb traffic while it resyncs;
//! - any later connection (ovs-vswitchd restarted or the socket dropped):
//!   the first bundle deletes all flows and groups and adds everything, so
//!   nothing stale survives; being atomic it never leaves a gap.
//! - reconnects immediately, then with a short capped backoff.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use openflow::{
    Action, BundleAdd, BundleControl, BundleCtrlType, Field, FlowMod, FlowStatsRequest, GROUP_ALL, GroupMod,
    Message, PackedFlow, SubField, TABLE_ALL, TlvMap, TlvTableCommand, TlvTableMod, TlvTableReply,
    bundle_flags,
};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::compute::Stats;
use super::conn::{Backoff, Conn, ConnError, REPLY_TIMEOUT};
use super::engine::Engine;
use super::flow_table::{Diff, Flow};
use super::state::LocalState;
use super::tables::{GENEVE_OPT_CLASS, GENEVE_OPT_LEN, GENEVE_OPT_TYPE};

#[derive(Clone)]
struct Update {
    state: Arc<LocalState>,
    seq: u64,
}

/// What one bundle contained (for logs, status and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BundleSummary {
    pub seq: u64,
    /// The bundle started by deleting every flow and group.
    pub full_reinstall: bool,
    pub group_adds: usize,
    pub flow_adds: usize,
    pub flow_mods: usize,
    pub flow_dels: usize,
    pub group_dels: usize,
}

impl BundleSummary {
    /// Number of flow/group mods in the bundle.
    pub fn len(&self) -> usize {
        self.group_adds + self.flow_adds + self.flow_mods + self.flow_dels + self.group_dels
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0 && !self.full_reinstall
    }
}

/// Observable state of the ofctrl task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfctrlStatus {
    pub connected: bool,
    /// Connections established so far.
    pub sessions: u64,
    /// `tun_metadataN` carrying OVN's Geneve option on this connection.
    pub tun_index: Option<u8>,
    /// Bundles sent so far (empty updates send only a barrier, no bundle).
    pub bundles: u64,
    pub last_bundle: Option<BundleSummary>,
    /// Counters of the latest flow computation.
    pub last_stats: Option<Stats>,
    /// Highest sequence number acknowledged by a barrier.
    pub acked: Option<u64>,
    /// Bundles the switch rejected.
    pub failed_bundles: u64,
}

/// Handle to the ofctrl task. Dropping it stops the task.
pub struct Ofctrl {
    updates: watch::Sender<Option<Update>>,
    status: watch::Receiver<OfctrlStatus>,
    recompute: Arc<AtomicBool>,
}

impl Ofctrl {
    /// Starts the task for the bridge management socket `mgmt`
    /// (`$OVS_RUNDIR/br-int.mgmt`). Returns the handle and the channel of
    /// acknowledged sequence numbers (non-decreasing).
    pub fn start(mgmt: PathBuf) -> (Ofctrl, mpsc::UnboundedReceiver<u64>) {
        let (updates, rx) = watch::channel(None);
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(OfctrlStatus::default());
        let recompute = Arc::new(AtomicBool::new(false));
        let task = Task {
            recompute: recompute.clone(),
            mgmt,
            updates: rx,
            acks: ack_tx,
            status: status_tx,
            engine: Engine::new(),
            reinstall: false,
            first_session: true,
        };
        tokio::spawn(task.run());
        (
            Ofctrl {
                updates,
                status,
                recompute,
            },
            ack_rx,
        )
    }

    /// Installs the flows for `state`; `seq` is acknowledged once they are.
    pub fn install(&self, state: &LocalState, seq: u64) {
        self.install_arc(Arc::new(state.clone()), seq);
    }

    /// Like [`Ofctrl::install`] without copying the state.
    pub fn install_arc(&self, state: Arc<LocalState>, seq: u64) {
        self.updates.send_replace(Some(Update { state, seq }));
    }

    /// Makes the next installed state be computed from scratch (the engine's
    /// caches dropped) and reinstalled whole in one atomic bundle
    /// (`ovs-appctl recompute`).
    pub fn recompute(&self) {
        self.recompute.store(true, Ordering::Relaxed);
    }

    /// A receiver of the task's status.
    pub fn status(&self) -> watch::Receiver<OfctrlStatus> {
        self.status.clone()
    }
}

/// The lowest free `tun_metadata` index for OVN's option, or the index it
/// is already mapped to. `Err` if the table is full.
pub fn plan_tlv(reply: &TlvTableReply) -> Result<(u8, bool), ()> {
    if let Some(m) = reply.maps.iter().find(|m| {
        m.option_class == GENEVE_OPT_CLASS
            && m.option_type == GENEVE_OPT_TYPE
            && m.option_len == GENEVE_OPT_LEN
    }) {
        return u8::try_from(m.index).map(|i| (i, true)).map_err(|_| ());
    }
    let max = reply.max_fields.clamp(1, 64);
    (0..max)
        .find(|i| !reply.maps.iter().any(|m| m.index == *i))
        .and_then(|i| u8::try_from(i).ok())
        .map(|i| (i, false))
        .ok_or(())
}

/// The messages of one update: bundle open, one add per flow/group mod,
/// commit. `full` prepends deletion of every flow and group. Made one at a
/// time as they are encoded: a full reinstall is tens of thousands.
pub fn bundle_messages(bundle_id: u32, diff: Diff, full: bool) -> impl Iterator<Item = Message> {
    let flags = bundle_flags::ATOMIC | bundle_flags::ORDERED;
    let control = move |ctrl_type| {
        Message::BundleControl(BundleControl {
            bundle_id,
            ctrl_type,
            flags,
        })
    };
    let clear = full.then(|| {
        [
            Message::FlowMod(FlowMod::delete_table(TABLE_ALL)),
            Message::GroupMod(GroupMod::delete(GROUP_ALL)),
        ]
    });
    let mods = clear.into_iter().flatten().chain(diff.into_messages());
    std::iter::once(control(BundleCtrlType::OpenRequest))
        .chain(mods.map(move |m| {
            Message::BundleAdd(BundleAdd {
                bundle_id,
                flags,
                message: Box::new(m),
            })
        }))
        .chain(std::iter::once(control(BundleCtrlType::CommitRequest)))
}

/// Encoded bytes of a bundle held before they are written: a full reinstall
/// is megabytes, sent in pieces of this size rather than whole. Small enough
/// not to show in the peak memory of the first install.
const SEND_CHUNK: usize = 256 << 10;

/// An OpenFlow message's length is 16 bits: a buffer this much larger than
/// [`SEND_CHUNK`] never grows.
const SEND_BUF: usize = SEND_CHUNK + (1 << 16);

fn summarize(seq: u64, d: &Diff, full: bool) -> BundleSummary {
    BundleSummary {
        seq,
        full_reinstall: full,
        group_adds: d.group_adds.len(),
        flow_adds: d.flow_adds.len(),
        flow_mods: d.flow_mods.len(),
        flow_dels: d.flow_dels.len(),
        group_dels: d.group_dels.len(),
    }
}

/// Updates sent and not yet confirmed by their barrier reply: which
/// sequence number a barrier acknowledges and whether the switch rejected
/// part of its bundle. Pure bookkeeping, no I/O.
#[derive(Debug, Default)]
pub struct Pending {
    entries: Vec<PendingUpdate>,
}

#[derive(Debug)]
struct PendingUpdate {
    seq: u64,
    /// xids of the bundle's messages (None: no bundle, only a barrier).
    bundle_xids: Option<(u32, u32)>,
    barrier_xid: u32,
    failed: bool,
}

impl Pending {
    /// Records an update: its bundle's xid range (if any) and its barrier.
    pub fn sent(&mut self, seq: u64, bundle_xids: Option<(u32, u32)>, barrier_xid: u32) {
        self.entries.push(PendingUpdate {
            seq,
            bundle_xids,
            barrier_xid,
            failed: false,
        });
    }

    /// An error for `xid`: marks its update failed and returns its seq, or
    /// `None` if the xid is not part of a pending bundle.
    pub fn on_error(&mut self, xid: u32) -> Option<u64> {
        let e = self
            .entries
            .iter_mut()
            .find(|e| e.bundle_xids.is_some_and(|(a, b)| (a..=b).contains(&xid)))?;
        e.failed = true;
        Some(e.seq)
    }

    /// A barrier reply for `xid`: returns (seq, failed) of the update it
    /// confirms; that update and any earlier ones are done.
    pub fn on_barrier(&mut self, xid: u32) -> Option<(u64, bool)> {
        let i = self.entries.iter().position(|e| e.barrier_xid == xid)?;
        let failed = self.entries[..=i].iter().any(|e| e.failed);
        let seq = self.entries[i].seq;
        self.entries.drain(..=i);
        Some((seq, failed))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

struct Task {
    mgmt: PathBuf,
    updates: watch::Receiver<Option<Update>>,
    acks: mpsc::UnboundedSender<u64>,
    status: watch::Sender<OfctrlStatus>,
    /// The desired flows, computed incrementally, and what the switch has.
    engine: Engine,
    /// What the switch has is unknown: the next bundle deletes everything first.
    reinstall: bool,
    first_session: bool,
    /// Set by [`Ofctrl::recompute`].
    recompute: Arc<AtomicBool>,
}

enum SessionEnd {
    /// The daemon dropped the handle.
    Shutdown,
}

impl Task {
    async fn run(mut self) {
        let mut backoff = Backoff::default();
        loop {
            let sessions = self.status.borrow().sessions;
            match self.session().await {
                Ok(SessionEnd::Shutdown) => return,
                Err(e) => {
                    // Whatever was acknowledged lived in the switch we lost (a
                    // restarted vswitchd starts empty): nothing counts as installed
                    // until the next barrier, so --wait=hv cannot be answered early.
                    let _ = self.acks.send(0);
                    self.status.send_modify(|s| {
                        s.connected = false;
                        s.tun_index = None;
                        s.acked = None;
                    });
                    if self.status.borrow().sessions != sessions {
                        backoff.reset();
                    }
                    if backoff.is_first() {
                        warn!("ofctrl: {}: {e}; reconnecting", self.mgmt.display());
                    } else {
                        debug!("ofctrl: {}: {e}", self.mgmt.display());
                    }
                }
            }
            if self.updates.has_changed().is_err() {
                return;
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }

    async fn session(&mut self) -> Result<SessionEnd, ConnError> {
        let mut conn = Conn::connect(&self.mgmt).await?;
        conn.request(
            &Message::FeaturesRequest,
            "features reply",
            |m| matches!(m, Message::FeaturesReply(_)).then_some(()),
            |_| {},
        )
        .await?;
        let tun_index = setup_tlv(&mut conn).await?;
        if self.first_session {
            let (flows, groups) = dump(&mut conn).await?;
            info!(
                "ofctrl: connected to {}; switch has {} flows, {} groups; resyncing by difference",
                self.mgmt.display(),
                flows.len(),
                groups.len()
            );
            self.engine.set_installed(flows, groups);
            self.reinstall = false;
            self.first_session = false;
        } else {
            info!(
                "ofctrl: reconnected to {}; reinstalling everything",
                self.mgmt.display()
            );
            self.engine.forget_installed();
            self.reinstall = true;
        }
        self.status.send_modify(|s| {
            s.connected = true;
            s.sessions += 1;
            s.tun_index = Some(tun_index);
        });

        let mut pending_acks = Pending::default();
        let mut need_dump = false;
        let mut bundle_id: u32 = 0;
        // Install the latest state right away, if there is one.
        let mut pending = self.updates.borrow_and_update().is_some();
        loop {
            if pending {
                pending = false;
                let update = self.updates.borrow_and_update().clone();
                if let Some(update) = update {
                    bundle_id = bundle_id.wrapping_add(1);
                    let (xids, barrier) = self.push(&mut conn, &update, tun_index, bundle_id).await?;
                    pending_acks.sent(update.seq, xids, barrier);
                }
            }
            tokio::select! {
                r = conn.recv() => {
                    let (h, msg) = r?;
                    match msg {
                        Message::BarrierReply => {
                            if let Some((seq, failed)) = pending_acks.on_barrier(h.xid) {
                                if failed {
                                    warn!("ofctrl: bundle for #{seq} failed; re-reading the switch's flows");
                                    self.status.send_modify(|s| s.failed_bundles += 1);
                                    need_dump = true;
                                }
                                let _ = self.acks.send(seq);
                                self.status.send_modify(|s| s.acked = Some(seq));
                            }
                            // What the switch has is unknown after a failure:
                            // read it back once nothing else is in flight (the
                            // dump would swallow other barrier replies).
                            if need_dump && pending_acks.is_empty() {
                                need_dump = false;
                                let (flows, groups) = dump(&mut conn).await?;
                                self.engine.set_installed(flows, groups);
                            }
                        }
                        Message::Error(e) => match pending_acks.on_error(h.xid) {
                            Some(seq) => warn!("ofctrl: switch rejected part of bundle #{seq}: {e}"),
                            None => warn!("ofctrl: switch error: {e}"),
                        },
                        other => debug!("ofctrl: ignoring {}", super::conn::msg_name(&other)),
                    }
                }
                r = self.updates.changed() => {
                    if r.is_err() {
                        return Ok(SessionEnd::Shutdown);
                    }
                    pending = true;
                }
            }
        }
    }

    /// Computes the desired table for `update`, sends the difference as a
    /// bundle and a barrier. Returns the bundle's xid range and the
    /// barrier's xid.
    async fn push(
        &mut self,
        conn: &mut Conn,
        update: &Update,
        tun_index: u8,
        bundle_id: u32,
    ) -> Result<(Option<(u32, u32)>, u32), ConnError> {
        if self.recompute.swap(false, Ordering::Relaxed) {
            info!(
                "ofctrl: #{}: recomputing every flow and reinstalling them",
                update.seq
            );
            self.engine = Engine::new();
            self.reinstall = true;
        }
        let stats = self.engine.update(&update.state, tun_index);
        if stats.logical_flows_failed > 0 || stats.conflicts > 0 {
            warn!(
                "ofctrl: #{}: {} logical flows failed to compile, {} conflicting flows dropped",
                update.seq, stats.logical_flows_failed, stats.conflicts
            );
        }
        let full = std::mem::take(&mut self.reinstall);
        let diff = self.engine.diff();
        let summary = summarize(update.seq, &diff, full);
        let mut bytes = Vec::with_capacity(if summary.is_empty() { 64 } else { SEND_BUF });
        let (mut first_xid, mut last_xid) = (0, 0);
        if !summary.is_empty() {
            for (i, m) in bundle_messages(bundle_id, diff, full).enumerate() {
                match conn.encode_into(&m, &mut bytes) {
                    Ok(xid) => {
                        if i == 0 {
                            first_xid = xid;
                        }
                        last_xid = xid;
                    }
                    Err(e) => warn!("ofctrl: #{}: dropping unencodable message: {e}", update.seq),
                }
                if bytes.len() >= SEND_CHUNK {
                    conn.send_bytes(&bytes).await?;
                    bytes.clear();
                }
            }
        }
        let barrier = conn.encode_into(&Message::BarrierRequest, &mut bytes)?;
        conn.send_bytes(&bytes).await?;
        debug!(
            "ofctrl: #{}: {} flows, {} groups desired; bundle {summary:?}",
            update.seq, stats.flows, stats.groups
        );
        self.status.send_modify(|s| {
            s.last_stats = Some(stats);
            if !summary.is_empty() {
                s.bundles += 1;
                s.last_bundle = Some(summary);
            }
        });
        let xids = (!summary.is_empty() && first_xid != 0).then_some((first_xid, last_xid));
        Ok((xids, barrier))
    }
}

/// Makes sure OVN's Geneve option is mapped; returns its `tun_metadata`
/// index.
async fn setup_tlv(conn: &mut Conn) -> Result<u8, ConnError> {
    for _ in 0..3 {
        let reply = conn
            .request(
                &Message::TlvTableRequest,
                "tlv table reply",
                |m| match m {
                    Message::TlvTableReply(r) => Some(r.clone()),
                    _ => None,
                },
                |_| {},
            )
            .await?;
        let (index, mapped) =
            plan_tlv(&reply).map_err(|()| ConnError::Timeout("a free tun_metadata field"))?;
        if mapped {
            return Ok(index);
        }
        let add = Message::TlvTableMod(TlvTableMod {
            command: TlvTableCommand::Add,
            maps: vec![TlvMap::ovn(u16::from(index))],
        });
        conn.send(&add).await?;
        match conn
            .request(
                &Message::BarrierRequest,
                "barrier reply",
                |m| matches!(m, Message::BarrierReply).then_some(()),
                |m| {
                    if let Message::Error(e) = m {
                        warn!("ofctrl: mapping the Geneve option failed: {e}; retrying");
                    }
                },
            )
            .await
        {
            Ok(()) => {}
            Err(ConnError::Switch(e)) => warn!("ofctrl: {e}"),
            Err(e) => return Err(e),
        }
        // Re-read the table: confirms the mapping (or sees a concurrent one).
    }
    Err(ConnError::Timeout("a Geneve TLV mapping"))
}

/// Reads every flow and group from the switch; each flow is packed as its
/// reply part is read, so the decoded form of all flows never exists at once.
async fn dump(conn: &mut Conn) -> Result<(Vec<PackedFlow>, Vec<GroupMod>), ConnError> {
    let mut flows = Vec::new();
    let mut groups = Vec::new();
    let xid = conn
        .send(&Message::FlowStatsRequest(FlowStatsRequest::default()))
        .await?;
    let read_flows = async {
        loop {
            let (h, msg) = conn.recv().await?;
            match msg {
                Message::FlowStatsReply(r) if h.xid == xid => {
                    for f in r.flows {
                        let f = Flow {
                            table: f.table_id,
                            priority: f.priority,
                            match_: f.match_,
                            cookie: f.cookie,
                            actions: normalize_tun_metadata(f.actions),
                        };
                        // Actions this codec cannot encode again: kept by
                        // key without actions, so the diff replaces or
                        // deletes the flow.
                        let packed = f.pack().or_else(|e| {
                            debug!("ofctrl: switch flow {f}: {e}");
                            Flow {
                                actions: Vec::new(),
                                ..f
                            }
                            .pack()
                        });
                        match packed {
                            Ok(p) => flows.push(p),
                            Err(e) => {
                                warn!("ofctrl: ignoring a switch flow whose match cannot be encoded: {e}")
                            }
                        }
                    }
                    if !r.more {
                        return Ok(());
                    }
                }
                Message::Error(e) if h.xid == xid => return Err(ConnError::Switch(e)),
                _ => {}
            }
        }
    };
    tokio::time::timeout(REPLY_TIMEOUT, read_flows)
        .await
        .map_err(|_| ConnError::Timeout("flow stats"))??;
    let xid = conn
        .send(&Message::GroupDescRequest { group_id: GROUP_ALL })
        .await?;
    let read_groups = async {
        loop {
            let (h, msg) = conn.recv().await?;
            match msg {
                Message::GroupDescReply(r) if h.xid == xid => {
                    for g in r.groups {
                        let mut gm = GroupMod::add(g.group_id, g.group_type, g.buckets);
                        gm.selection_method = g.selection_method;
                        groups.push(gm);
                    }
                    if !r.more {
                        return Ok(());
                    }
                }
                Message::Error(e) if h.xid == xid => return Err(ConnError::Switch(e)),
                _ => {}
            }
        }
    };
    tokio::time::timeout(REPLY_TIMEOUT, read_groups)
        .await
        .map_err(|_| ConnError::Timeout("group desc"))??;
    Ok((flows, groups))
}

/// OVS reports a `set_field` to `tun_metadataN` with the value trimmed to
/// the bytes it needs (e.g. 1 byte for 0x2), and the codec takes the field
/// length from that header; OVN's option is always 4 bytes long, so
/// restore that, or every tunnel flow would look changed after a dump.
fn normalize_tun_metadata(actions: Vec<Action>) -> Vec<Action> {
    fn field(f: Field) -> Field {
        match f {
            Field::TunMetadata { index, .. } => Field::TunMetadata {
                index,
                len: GENEVE_OPT_LEN,
            },
            f => f,
        }
    }
    fn sub(s: SubField) -> SubField {
        SubField {
            field: field(s.field),
            ..s
        }
    }
    actions
        .into_iter()
        .map(|a| match a {
            Action::SetField {
                field: f,
                value,
                mask,
            } => Action::SetField {
                field: field(f),
                value,
                mask,
            },
            Action::Move { src, dst } => Action::Move {
                src: sub(src),
                dst: sub(dst),
            },
            Action::Push(s) => Action::Push(sub(s)),
            Action::Pop(s) => Action::Pop(sub(s)),
            Action::Clone(inner) => Action::Clone(normalize_tun_metadata(inner)),
            Action::Ct(mut ct) => {
                ct.exec = normalize_tun_metadata(ct.exec);
                Action::Ct(ct)
            }
            a => a,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_acks() {
        let mut p = Pending::default();
        p.sent(1, Some((10, 14)), 15);
        p.sent(2, None, 16);
        p.sent(3, Some((17, 20)), 21);
        assert_eq!(p.on_error(12), Some(1));
        assert_eq!(p.on_error(99), None);
        assert_eq!(p.on_barrier(99), None);
        // Barrier 16 confirms #2 and, implicitly, #1 (whose bundle failed).
        assert_eq!(p.on_barrier(16), Some((2, true)));
        assert_eq!(p.on_barrier(15), None);
        assert_eq!(p.on_barrier(21), Some((3, false)));
        assert!(p.is_empty());
    }

    #[test]
    fn tlv_plan() {
        let mut r = TlvTableReply {
            max_option_space: 256,
            max_fields: 64,
            maps: vec![],
        };
        assert_eq!(plan_tlv(&r), Ok((0, false)));
        r.maps.push(TlvMap {
            option_class: 0xffff,
            option_type: 1,
            option_len: 8,
            index: 0,
        });
        assert_eq!(plan_tlv(&r), Ok((1, false)));
        r.maps.push(TlvMap::ovn(3));
        assert_eq!(plan_tlv(&r), Ok((3, true)));
        let full = TlvTableReply {
            max_option_space: 256,
            max_fields: 1,
            maps: vec![TlvMap {
                option_class: 1,
                option_type: 1,
                option_len: 4,
                index: 0,
            }],
        };
        assert!(plan_tlv(&full).is_err());
    }

    #[test]
    fn bundle_shape() {
        let msgs: Vec<Message> = bundle_messages(7, Diff::default(), true).collect();
        assert_eq!(msgs.len(), 4);
        assert!(
            matches!(&msgs[0], Message::BundleControl(b) if b.ctrl_type == BundleCtrlType::OpenRequest
            && b.flags == bundle_flags::ATOMIC | bundle_flags::ORDERED && b.bundle_id == 7)
        );
        assert!(matches!(&msgs[1], Message::BundleAdd(a) if matches!(*a.message, Message::FlowMod(_))));
        assert!(
            matches!(&msgs[3], Message::BundleControl(b) if b.ctrl_type == BundleCtrlType::CommitRequest)
        );
        for m in &msgs {
            let mut out = Vec::new();
            openflow::encode(m, 1, &mut out).unwrap();
        }
    }
}
