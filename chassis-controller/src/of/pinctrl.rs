//! pinctrl: the packet-in side of the controller, on its own OpenFlow
//! connection (packet-in format NXT_PACKET_IN2).
//!
//! Handled controller opcodes (userdata = 4-byte big-endian opcode, 4 pad
//! bytes, then nested OpenFlow 1.5 actions):
//! - `arp { ... }` (0): turns the IPv4 packet into an ARP request and
//!   packet-outs it with the pipeline registers restored, running the
//!   nested actions;
//! - `put_arp` (1) / `put_nd` (4): reports (datapath, logical port, IP, MAC)
//!   to the daemon, which writes SB MAC_Binding;
//! - `put_fdb` (25): reports (datapath, port, MAC) for SB FDB;
//! - `put_dhcp_opts` (2): answers a DHCPv4 request (see [`super::dhcp`]) and
//!   resumes the paused pipeline;
//! - `nd_na`/`nd_na_router` (3/12), `nd_ns` (9): packet-out a Neighbor
//!   Advertisement answering the solicitation, or a Neighbor Solicitation
//!   for the packet's destination (see [`super::nd`]), running the nested
//!   actions;
//! - `icmp4`/`icmp6` (10), `icmp4_error`/`icmp6_error` (14/20), `tcp_reset`
//!   (11) and `reject` (22): packet-out an ICMP unreachable or TCP RST built
//!   from the packet (see [`super::reject`]), running the nested actions.
//!
//! [`process`] is the pure part; [`Pinctrl`] runs it on a connection.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openflow::{Field, Match, Message, PacketIn2, PacketInFormat, PacketOut, decode_actions, port};
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::conn::{Backoff, Conn, ConnError};
use super::packet::{Arp, ETH_TYPE_IPV4, build_arp, ipv4_addrs, mac_to_string, parse_eth};
use super::state::LocalState;

/// Controller opcodes (OVN's `enum action_opcode`), as the compiler encodes them.
pub use lflow::actions::opcode;

/// Why a packet-in could not be handled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PinctrlError {
    #[error("packet-in without controller userdata")]
    NoUserdata,
    #[error("userdata too short ({0} bytes)")]
    ShortUserdata(usize),
    #[error("nested actions: {0}")]
    Actions(openflow::DecodeError),
    #[error("packet is not {0}")]
    BadPacket(&'static str),
}

/// What a packet-in asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Send this packet back into the pipeline.
    PacketOut(PacketOut),
    /// Resume a paused pipeline (NXT_RESUME).
    Resume(PacketIn2),
    /// A neighbour learned by `put_arp`/`put_nd`.
    MacBinding {
        datapath: u32,
        port_key: u32,
        ip: IpAddr,
        mac: [u8; 6],
    },
    /// A source MAC learned by `put_fdb` on a port.
    Fdb {
        datapath: u32,
        port_key: u32,
        mac: [u8; 6],
    },
    /// Nothing to send (e.g. `reject` of a TCP RST).
    Nothing,
    /// An opcode this controller does not implement.
    Unsupported(u32),
}

/// Packet-out of `data` into the pipeline with the packet-in's logical
/// state (datapath and registers: what ovn-controller restores too; tunnel
/// and conntrack fields belong to the old packet) and the logical action's
/// nested actions (`userdata` after the opcode). It enters from the
/// controller port: with the old packet's in_port (e.g. the tunnel it came
/// in on), the switch would refuse to send the new one back out there.
fn pipeline_packet_out(pin: &PacketIn2, nested: &[u8], data: Vec<u8>) -> Result<Outcome, PinctrlError> {
    let actions = decode_actions(nested).map_err(PinctrlError::Actions)?;
    let mut m = Match::new().with(Field::InPort, u128::from(port::CONTROLLER));
    for e in pin.metadata.iter() {
        if matches!(
            e.field,
            Field::Metadata | Field::Reg(_) | Field::Xreg(_) | Field::Xxreg(_)
        ) {
            m.set_masked(e.field, e.value, e.mask.unwrap_or(e.field.full_mask()));
        }
    }
    Ok(Outcome::PacketOut(PacketOut {
        buffer_id: openflow::NO_BUFFER,
        match_: m,
        actions,
        data,
    }))
}

/// Register `n` from packet-in metadata, which OVS reports either as 32-bit
/// `regN` or as 64-bit `xregN/2` (reg 2N is the high half); absent = 0.
pub fn reg(m: &Match, n: u8) -> u32 {
    if let Some(e) = m.get(Field::Reg(n)) {
        return e.value as u32;
    }
    match m.get(Field::Xreg(n / 2)) {
        Some(e) if n.is_multiple_of(2) => (e.value >> 32) as u32,
        Some(e) => e.value as u32,
        None => 0,
    }
}

/// Decides what to do with one packet-in.
pub fn process(pin: &PacketIn2) -> Result<Outcome, PinctrlError> {
    let ud = pin.userdata.as_deref().ok_or(PinctrlError::NoUserdata)?;
    if ud.len() < 8 {
        return Err(PinctrlError::ShortUserdata(ud.len()));
    }
    let op = u32::from_be_bytes([ud[0], ud[1], ud[2], ud[3]]);
    let md = &pin.metadata;
    match op {
        opcode::ARP => {
            let eth = parse_eth(&pin.packet).ok_or(PinctrlError::BadPacket("Ethernet"))?;
            if eth.eth_type != ETH_TYPE_IPV4 {
                return Err(PinctrlError::BadPacket("IPv4"));
            }
            let (src, dst) = ipv4_addrs(&pin.packet, eth.payload).ok_or(PinctrlError::BadPacket("IPv4"))?;
            let arp = Arp {
                op: 1,
                sha: eth.src,
                spa: src,
                tha: [0; 6],
                tpa: dst,
            };
            let data = build_arp([0xff; 6], eth.src, eth.vlan_tci, &arp);
            pipeline_packet_out(pin, &ud[8..], data)
        }
        opcode::ICMP | opcode::ICMP4_ERROR | opcode::ICMP6_ERROR => {
            let data = super::reject::icmp_unreachable(&pin.packet, op == opcode::ICMP, false)
                .ok_or(PinctrlError::BadPacket("IP"))?;
            pipeline_packet_out(pin, &ud[8..], data)
        }
        opcode::ND_NA | opcode::ND_NA_ROUTER => {
            let data = super::nd::neighbor_advert(&pin.packet, op == opcode::ND_NA_ROUTER)
                .ok_or(PinctrlError::BadPacket("a neighbor solicitation"))?;
            pipeline_packet_out(pin, &ud[8..], data)
        }
        opcode::ND_NS => {
            let data = super::nd::neighbor_solicit(&pin.packet).ok_or(PinctrlError::BadPacket("IPv6"))?;
            pipeline_packet_out(pin, &ud[8..], data)
        }
        opcode::SCTP_ABORT => {
            let data =
                super::reject::sctp_abort(&pin.packet, false).ok_or(PinctrlError::BadPacket("SCTP"))?;
            pipeline_packet_out(pin, &ud[8..], data)
        }
        opcode::TCP_RESET => {
            let data = super::reject::tcp_reset(&pin.packet, false).ok_or(PinctrlError::BadPacket("TCP"))?;
            pipeline_packet_out(pin, &ud[8..], data)
        }
        opcode::REJECT => match super::reject::reject(&pin.packet) {
            Some(data) => pipeline_packet_out(pin, &ud[8..], data),
            None => Ok(Outcome::Nothing),
        },
        opcode::PUT_ARP | opcode::PUT_ND => {
            let eth = parse_eth(&pin.packet).ok_or(PinctrlError::BadPacket("Ethernet"))?;
            let ip = if op == opcode::PUT_ARP {
                IpAddr::V4(Ipv4Addr::from(reg(md, 0)))
            } else {
                let v = (0..4).fold(0u128, |acc, r| (acc << 32) | u128::from(reg(md, r)));
                IpAddr::V6(Ipv6Addr::from(v))
            };
            Ok(Outcome::MacBinding {
                datapath: md.get(Field::Metadata).map_or(0, |e| e.value as u32),
                port_key: reg(md, 14),
                ip,
                mac: eth.src,
            })
        }
        opcode::PUT_FDB => {
            let eth = parse_eth(&pin.packet).ok_or(PinctrlError::BadPacket("Ethernet"))?;
            Ok(Outcome::Fdb {
                datapath: md.get(Field::Metadata).map_or(0, |e| e.value as u32),
                port_key: reg(md, 14),
                mac: eth.src,
            })
        }
        opcode::PUT_DHCP_OPTS => Ok(Outcome::Resume(super::dhcp::put_dhcp_opts(pin))),
        opcode::PUT_ND_RA_OPTS => Ok(Outcome::Resume(super::ra::put_nd_ra_opts(pin))),
        other => Ok(Outcome::Unsupported(other)),
    }
}

/// A neighbour learned by `put_arp`/`put_nd`, for SB MAC_Binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacLearned {
    /// Datapath tunnel key.
    pub datapath: u32,
    pub logical_port: String,
    pub ip: IpAddr,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
}

/// A MAC learned by `put_fdb`, for SB FDB (`dp_key`, `port_key`, `mac`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdbLearned {
    pub datapath: u32,
    pub port_key: u32,
    /// The port's name, if known.
    pub logical_port: Option<String>,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
}

/// Bound of the FDB event channel; events beyond it are dropped (the
/// packet will be punted again).
pub const FDB_QUEUE: usize = 1024;

/// Observable state of the pinctrl task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinctrlStatus {
    pub connected: bool,
    pub sessions: u64,
    pub packet_ins: u64,
    pub packet_outs: u64,
    pub learned: u64,
    pub errors: u64,
}

/// Handle to the pinctrl task. Dropping it stops the task.
pub struct Pinctrl {
    states: watch::Sender<Option<Arc<LocalState>>>,
    status: watch::Receiver<PinctrlStatus>,
}

const OFPT_SET_CONFIG: u8 = 9;

/// Where the task's results go.
struct Outputs {
    learned: mpsc::UnboundedSender<MacLearned>,
    fdb: mpsc::Sender<FdbLearned>,
    status: watch::Sender<PinctrlStatus>,
}

/// The same (port, IP, MAC) is reported at most this often.
const REPORT_INTERVAL: Duration = Duration::from_secs(1);

impl Pinctrl {
    /// Starts the task on the bridge management socket `mgmt`; learned
    /// neighbours arrive on the returned channel.
    pub fn start(
        mgmt: PathBuf,
    ) -> (
        Pinctrl,
        mpsc::UnboundedReceiver<MacLearned>,
        mpsc::Receiver<FdbLearned>,
    ) {
        let (states, state_rx) = watch::channel(None);
        let (tx, rx) = mpsc::unbounded_channel();
        let (fdb_tx, fdb_rx) = mpsc::channel(FDB_QUEUE);
        let (status_tx, status) = watch::channel(PinctrlStatus::default());
        let out = Outputs {
            learned: tx,
            fdb: fdb_tx,
            status: status_tx,
        };
        tokio::spawn(run(mgmt, state_rx, out));
        (Pinctrl { states, status }, rx, fdb_rx)
    }

    /// The state used to name logical ports (latest wins).
    pub fn set_state(&self, state: Arc<LocalState>) {
        self.states.send_replace(Some(state));
    }

    pub fn status(&self) -> watch::Receiver<PinctrlStatus> {
        self.status.clone()
    }
}

async fn run(mgmt: PathBuf, mut states: watch::Receiver<Option<Arc<LocalState>>>, out: Outputs) {
    let mut backoff = Backoff::default();
    let mut reported: HashMap<(String, IpAddr), (String, Instant)> = HashMap::new();
    loop {
        let sessions = out.status.borrow().sessions;
        match session(&mgmt, &mut states, &out, &mut reported).await {
            Ok(()) => return,
            Err(e) => {
                out.status.send_modify(|s| s.connected = false);
                if out.status.borrow().sessions != sessions {
                    backoff.reset();
                }
                if backoff.is_first() {
                    warn!("pinctrl: {}: {e}; reconnecting", mgmt.display());
                } else {
                    debug!("pinctrl: {}: {e}", mgmt.display());
                }
            }
        }
        if states.has_changed().is_err() || out.learned.is_closed() {
            return;
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Runs one connection; `Ok` means the handle was dropped.
async fn session(
    mgmt: &std::path::Path,
    states: &mut watch::Receiver<Option<Arc<LocalState>>>,
    out: &Outputs,
    reported: &mut HashMap<(String, IpAddr), (String, Instant)>,
) -> Result<(), ConnError> {
    let (learned, status) = (&out.learned, &out.status);
    let mut conn = Conn::connect(mgmt).await?;
    conn.send(&Message::SetPacketInFormat(PacketInFormat::Nxt2))
        .await?;
    // A service connection (br-int.mgmt) gets no asynchronous messages until
    // it sets a nonzero miss_send_len: OFPT_SET_CONFIG, which the codec has
    // no message for (flags 0 = normal fragment handling).
    conn.send(&Message::Unknown {
        msg_type: OFPT_SET_CONFIG,
        body: vec![0, 0, 0xff, 0xff],
    })
    .await?;
    conn.request(
        &Message::BarrierRequest,
        "barrier reply",
        |m| matches!(m, Message::BarrierReply).then_some(()),
        |_| {},
    )
    .await?;
    info!("pinctrl: connected to {}", mgmt.display());
    status.send_modify(|s| {
        s.connected = true;
        s.sessions += 1;
    });
    loop {
        let (_, msg) = tokio::select! {
            r = conn.recv() => r?,
            r = states.changed() => {
                if r.is_err() {
                    return Ok(());
                }
                continue;
            }
        };
        let pin = match msg {
            Message::PacketIn2(pin) => pin,
            Message::Error(e) => {
                warn!("pinctrl: switch error: {e}");
                status.send_modify(|s| s.errors += 1);
                continue;
            }
            _ => continue,
        };
        status.send_modify(|s| s.packet_ins += 1);
        match process(&pin) {
            Ok(Outcome::PacketOut(po)) => {
                conn.send(&Message::PacketOut(po)).await?;
                status.send_modify(|s| s.packet_outs += 1);
            }
            Ok(Outcome::Resume(p)) => {
                conn.send(&Message::Resume(p)).await?;
                status.send_modify(|s| s.packet_outs += 1);
            }
            Ok(Outcome::MacBinding {
                datapath,
                port_key,
                ip,
                mac,
            }) => {
                let state = states.borrow().clone();
                let Some(pb) = state.as_ref().and_then(|s| {
                    s.port_bindings
                        .iter()
                        .find(|p| p.datapath == datapath && p.tunnel_key == port_key)
                }) else {
                    debug!("pinctrl: put_arp on unknown port {port_key} of datapath {datapath}");
                    continue;
                };
                let mac = mac_to_string(&mac);
                let key = (pb.logical_port.clone(), ip);
                let now = Instant::now();
                if let Some((m, at)) = reported.get(&key)
                    && *m == mac
                    && now.duration_since(*at) < REPORT_INTERVAL
                {
                    continue;
                }
                reported.insert(key, (mac.clone(), now));
                if reported.len() > 10_000 {
                    reported.retain(|_, (_, at)| now.duration_since(*at) < REPORT_INTERVAL);
                }
                debug!("pinctrl: learned {ip} is at {mac} on {}", pb.logical_port);
                status.send_modify(|s| s.learned += 1);
                let _ = learned.send(MacLearned {
                    datapath,
                    logical_port: pb.logical_port.clone(),
                    ip,
                    mac,
                });
            }
            Ok(Outcome::Fdb {
                datapath,
                port_key,
                mac,
            }) => {
                let state = states.borrow().clone();
                let logical_port = state.as_ref().and_then(|s| {
                    s.port_bindings
                        .iter()
                        .find(|p| p.datapath == datapath && p.tunnel_key == port_key)
                        .map(|p| p.logical_port.clone())
                });
                let ev = FdbLearned {
                    datapath,
                    port_key,
                    logical_port,
                    mac: mac_to_string(&mac),
                };
                if out.fdb.try_send(ev).is_err() {
                    debug!("pinctrl: FDB event dropped (queue full or no reader)");
                } else {
                    status.send_modify(|s| s.learned += 1);
                }
            }
            Ok(Outcome::Nothing) => {}
            Ok(Outcome::Unsupported(op)) => debug!("pinctrl: ignoring controller opcode {op}"),
            Err(e) => {
                debug!("pinctrl: bad packet-in: {e}");
                status.send_modify(|s| s.errors += 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::of::packet::tests::udp4;
    use crate::of::packet::{ETH_TYPE_ARP, parse_arp};

    fn userdata(op: u32, actions: &[openflow::Action]) -> Vec<u8> {
        let mut u = op.to_be_bytes().to_vec();
        u.extend_from_slice(&[0; 4]);
        openflow::encode_actions(actions, &mut u).unwrap();
        u
    }

    #[test]
    fn arp_action_builds_request_and_restores_metadata() {
        let nested = vec![
            openflow::Action::set_field(Field::EthDst, 0xffff_ffff_ffff),
            openflow::Action::resubmit(37),
        ];
        let mut md = Match::new()
            .with(Field::InPort, 1)
            .with(Field::Metadata, 2)
            .with(Field::Xreg(0), (0x0a00_0263u128 << 32) | 0x0a00_0201)
            .with(Field::CtState, 0x21)
            .with(Field::TunId, 5);
        md.set(Field::Reg(15), 2);
        let pin = PacketIn2 {
            packet: udp4(
                [0, 0, 0, 0, 0xff, 2],
                [0; 6],
                Ipv4Addr::new(10, 0, 2, 1),
                Ipv4Addr::new(10, 0, 2, 99),
            ),
            userdata: Some(userdata(opcode::ARP, &nested)),
            metadata: md.clone(),
            ..Default::default()
        };
        let Outcome::PacketOut(po) = process(&pin).unwrap() else {
            panic!("expected packet-out");
        };
        assert_eq!(po.actions, nested);
        // The logical state comes back; the old packet's port, conntrack and
        // tunnel fields do not.
        let mut want = Match::new()
            .with(Field::InPort, u128::from(port::CONTROLLER))
            .with(Field::Metadata, 2)
            .with(Field::Xreg(0), (0x0a00_0263u128 << 32) | 0x0a00_0201);
        want.set(Field::Reg(15), 2);
        assert_eq!(po.match_, want);
        let eth = parse_eth(&po.data).unwrap();
        assert_eq!((eth.dst, eth.eth_type), ([0xff; 6], ETH_TYPE_ARP));
        let arp = parse_arp(&po.data, eth.payload).unwrap();
        assert_eq!(arp.op, 1);
        assert_eq!(arp.spa, Ipv4Addr::new(10, 0, 2, 1));
        assert_eq!(arp.tpa, Ipv4Addr::new(10, 0, 2, 99));
        assert_eq!(arp.sha, [0, 0, 0, 0, 0xff, 2]);
        assert_eq!(reg(&md, 0), 0x0a00_0263);
        assert_eq!(reg(&md, 1), 0x0a00_0201);
    }

    #[test]
    fn put_arp_reports_binding() {
        let md = Match::new()
            .with(Field::Metadata, 3)
            .with(Field::Reg(14), 2)
            .with(Field::Reg(0), 0x0a00_0232);
        let pin = PacketIn2 {
            packet: udp4(
                [0x50, 0x54, 0, 0, 0, 0x50],
                [0; 6],
                Ipv4Addr::new(1, 1, 1, 1),
                Ipv4Addr::new(2, 2, 2, 2),
            ),
            userdata: Some(userdata(opcode::PUT_ARP, &[])),
            metadata: md,
            ..Default::default()
        };
        assert_eq!(
            process(&pin).unwrap(),
            Outcome::MacBinding {
                datapath: 3,
                port_key: 2,
                ip: "10.0.2.50".parse().unwrap(),
                mac: [0x50, 0x54, 0, 0, 0, 0x50],
            }
        );
    }

    #[test]
    fn put_fdb_reports_source_mac() {
        let md = Match::new().with(Field::Metadata, 1).with(Field::Reg(14), 3);
        let pin = PacketIn2 {
            packet: udp4(
                [0x50, 0x54, 0, 0, 0, 0x77],
                [0; 6],
                Ipv4Addr::new(1, 1, 1, 1),
                Ipv4Addr::new(2, 2, 2, 2),
            ),
            userdata: Some(userdata(opcode::PUT_FDB, &[])),
            metadata: md,
            ..Default::default()
        };
        assert_eq!(
            process(&pin).unwrap(),
            Outcome::Fdb {
                datapath: 1,
                port_key: 3,
                mac: [0x50, 0x54, 0, 0, 0, 0x77],
            }
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut pin = PacketIn2::default();
        assert_eq!(process(&pin), Err(PinctrlError::NoUserdata));
        pin.userdata = Some(vec![0, 0, 0]);
        assert!(process(&pin).is_err());
        pin.userdata = Some(vec![0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 3]);
        assert!(process(&pin).is_err());
        pin.userdata = Some(userdata(opcode::ARP, &[]));
        pin.packet = vec![1, 2, 3];
        assert!(process(&pin).is_err());
        pin.userdata = Some(userdata(99, &[]));
        assert_eq!(process(&pin), Ok(Outcome::Unsupported(99)));
    }
}
