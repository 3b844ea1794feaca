//! End-to-end tests of ofctrl against a real `ovs-vswitchd` (dummy
//! datapath, private OVS_RUNDIR).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use testbed::vswitch::{Dummy, Vswitch};
use tokio::sync::mpsc;

use super::local::tests::sample;
use super::ofctrl::{Ofctrl, OfctrlStatus};
use super::state::{LocalState, LogicalFlow, Pipeline};

const MAC1: &str = "50:54:00:00:00:01";
const MAC2: &str = "50:54:00:00:00:02";

fn lflow(n: u32, dp: u32, pipeline: Pipeline, table: u8, prio: u16, m: &str, a: &str) -> Arc<LogicalFlow> {
    Arc::new(LogicalFlow {
        uuid: format!("{n:08x}-0000-4000-8000-{dp:012x}").into(),
        datapaths: vec![dp],
        pipeline,
        table_id: table,
        priority: prio,
        match_: m.into(),
        actions: a.into(),
    })
}

/// A minimal northd-like switch pipeline for ls1 and a trivial router.
fn state() -> LocalState {
    let mut s = sample();
    let mut n = 0;
    let mut add = |dp, p, t, prio, m: &str, a: &str| {
        n += 1;
        s.logical_flows.push(lflow(n, dp, p, t, prio, m, a));
    };
    use Pipeline::{Egress, Ingress};
    add(1, Ingress, 0, 100, "eth.src[40]", "drop;");
    add(1, Ingress, 0, 50, "1", "reg0[15] = check_in_port_sec(); next;");
    add(1, Ingress, 1, 50, "reg0[15] == 1", "drop;");
    for t in 1..25 {
        add(1, Ingress, t, 0, "1", "next;");
    }
    add(
        1,
        Ingress,
        19,
        50,
        "arp.tpa == 10.0.1.1 && arp.op == 1",
        "eth.dst = eth.src; eth.src = 00:00:00:00:ff:01; arp.op = 2; arp.tha = arp.sha; \
         arp.sha = 00:00:00:00:ff:01; arp.tpa = arp.spa; arp.spa = 10.0.1.1; outport = inport; \
         flags.loopback = 1; output;",
    );
    add(
        1,
        Ingress,
        25,
        70,
        "eth.mcast",
        "outport = \"_MC_flood\"; output;",
    );
    add(
        1,
        Ingress,
        25,
        50,
        &format!("eth.dst == {MAC1}"),
        "outport = \"vm1\"; output;",
    );
    add(
        1,
        Ingress,
        25,
        50,
        &format!("eth.dst == {MAC2}"),
        "outport = \"vm2\"; output;",
    );
    add(
        1,
        Ingress,
        25,
        50,
        "eth.dst == 00:00:00:00:ff:01",
        "outport = \"ls1-lr1\"; output;",
    );
    add(1, Ingress, 25, 0, "1", "drop;");
    for t in 0..8 {
        add(1, Egress, t, 0, "1", "next;");
    }
    add(1, Egress, 8, 100, "eth.mcast", "reg0[15] = 0; next;");
    add(1, Egress, 8, 0, "1", "reg0[15] = check_out_port_sec(); next;");
    add(1, Egress, 9, 50, "reg0[15] == 1", "drop;");
    add(1, Egress, 9, 0, "1", "output;");
    add(
        2,
        Ingress,
        0,
        50,
        "eth.dst == 00:00:00:00:ff:01 && inport == \"lr1-ls1\"",
        "xreg0[0..47] = 00:00:00:00:ff:01; next;",
    );
    add(2, Ingress, 0, 0, "1", "drop;");
    add(2, Egress, 6, 100, "outport == \"lr1-ls1\"", "output;");
    add(2, Egress, 6, 0, "1", "drop;");
    // Tunnel to a third chassis, used when vm2 moves.
    s.tunnel_ofports.insert("hv3".into(), 6);
    s.chassis.insert("hv3".into(), s.chassis["hv2"].clone());
    s
}

fn switch() -> Vswitch {
    let v = Vswitch::start(Dummy::System);
    v.vsctl(&[
        "--",
        "add-br",
        "br-int",
        "--",
        "set",
        "bridge",
        "br-int",
        "datapath_type=dummy",
        "fail-mode=secure",
        "other-config:disable-in-band=true",
    ]);
    v.add_vif("vm1", 1);
    for (name, ip, ofport) in [("ovn-hv2-0", "192.168.0.2", 5), ("ovn-hv3-0", "192.168.0.3", 6)] {
        v.vsctl(&[
            "--",
            "add-port",
            "br-int",
            name,
            "--",
            "set",
            "interface",
            name,
            "type=geneve",
            &format!("options:remote_ip={ip}"),
            "options:key=flow",
            &format!("ofport_request={ofport}"),
        ]);
    }
    v.vsctl(&[
        "add-br",
        "br-phys",
        "--",
        "set",
        "bridge",
        "br-phys",
        "datapath_type=dummy",
    ]);
    v.vsctl(&["add-port", "br-phys", "p0"]);
    underlay(&v);
    v
}

/// Route and neighbour entries so native Geneve tunnelling can encapsulate
/// (in memory only: redo after an ovs-vswitchd restart).
fn underlay(v: &Vswitch) {
    v.appctl(&["netdev-dummy/ip4addr", "br-phys", "192.168.0.1/24"]);
    v.appctl(&["ovs/route/add", "192.168.0.0/24", "br-phys"]);
    v.appctl(&["tnl/neigh/set", "br-phys", "192.168.0.2", "aa:55:aa:55:00:02"]);
    v.appctl(&["tnl/neigh/set", "br-phys", "192.168.0.3", "aa:55:aa:55:00:03"]);
}

fn mgmt(v: &Vswitch) -> PathBuf {
    v.dir.join("br-int.mgmt")
}

async fn wait_ack(acks: &mut mpsc::UnboundedReceiver<u64>, seq: u64) {
    let fut = async {
        while let Some(a) = acks.recv().await {
            if a >= seq {
                return;
            }
        }
        panic!("ack channel closed");
    };
    tokio::time::timeout(Duration::from_secs(15), fut)
        .await
        .unwrap_or_else(|_| panic!("no ack for #{seq}"));
}

async fn wait_status(of: &Ofctrl, what: &str, mut cond: impl FnMut(&OfctrlStatus) -> bool) -> OfctrlStatus {
    let mut rx = of.status();
    let fut = async {
        loop {
            {
                let s = rx.borrow_and_update();
                if cond(&s) {
                    return s.clone();
                }
            }
            rx.changed().await.expect("ofctrl task gone");
        }
    };
    tokio::time::timeout(Duration::from_secs(15), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}: {:?}", *of.status().borrow()))
}

fn dump_flows(v: &Vswitch) -> Vec<String> {
    v.ofctl("dump-flows", "br-int", &["--no-stats"])
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("OFPST_FLOW") && !l.starts_with("NXST_FLOW"))
        .map(String::from)
        .collect()
}

fn trace(v: &Vswitch, flow: &str) -> String {
    v.appctl(&["ofproto/trace", "br-int", flow])
}

fn vm1_to(dst: &str, src: &str) -> String {
    format!("udp,in_port=1,dl_src={src},dl_dst={dst},nw_src=10.0.1.11,nw_dst=10.0.1.12,udp_src=1,udp_dst=2")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installs_traces_updates_and_resyncs_on_a_real_switch() {
    if !testbed::require(&[
        "ovs-vswitchd",
        "ovsdb-server",
        "ovs-vsctl",
        "ovs-ofctl",
        "ovs-appctl",
    ]) {
        return;
    }
    let mut v = switch();
    let mut st = state();
    let (of, mut acks) = Ofctrl::start(mgmt(&v));
    of.install(&st, 1);
    wait_ack(&mut acks, 1).await;
    let status = of.status().borrow().clone();
    let stats = status.last_stats.expect("stats");
    assert_eq!(stats.logical_flows_failed, 0, "{stats:?}");
    assert_eq!(status.tun_index, Some(0));

    // The switch has exactly the desired flows.
    let flows = dump_flows(&v);
    if flows.len() != stats.flows {
        let (d, _) = super::compute::desired_flows(&st, 0, &mut super::lflows::GroupIds::new());
        for f in d.flows() {
            eprintln!("DESIRED {f}");
        }
    }
    assert_eq!(flows.len(), stats.flows, "{flows:#?}");
    assert!(
        flows
            .iter()
            .any(|f| f.contains("priority=100,in_port=1 ") && f.contains("resubmit(,8)"))
    );
    let tlv = v.ofctl("dump-tlv-map", "br-int", &[]);
    assert!(
        tlv.contains("0x102") && tlv.contains("0x80") && tlv.contains("tun_metadata0"),
        "{tlv}"
    );

    // vm1 → vm2 leaves on the tunnel to hv2 with VNI = 1 and option
    // (ingress 1, egress 2) = 0x10002.
    let t = trace(&v, &vm1_to(MAC2, MAC1));
    assert!(t.contains("output:5"), "{t}");
    let push = t
        .lines()
        .find(|l| l.starts_with("Datapath actions:"))
        .unwrap_or_default();
    assert!(push.contains("tnl_push("), "{t}");
    assert!(push.contains("dst=192.168.0.2"), "{t}");
    assert!(push.contains("vni=0x1"), "{t}");
    assert!(push.contains("{class=0x102,type=0x80,len=4,0x10002}"), "{t}");
    // A spoofed source MAC is dropped by port security.
    let t = trace(&v, &vm1_to(MAC2, "50:54:00:00:00:66"));
    assert!(!t.contains("output:5"), "{t}");
    assert!(t.contains("Datapath actions: drop"), "{t}");

    // The ARP responder answers out of the input port (flags.loopback:
    // table 64 clears in_port so OVS does not suppress the output).
    let t = trace(
        &v,
        &format!(
            "arp,in_port=1,dl_src={MAC1},dl_dst=ff:ff:ff:ff:ff:ff,arp_op=1,arp_spa=10.0.1.11,\
             arp_tpa=10.0.1.1,arp_sha={MAC1}"
        ),
    );
    assert!(t.contains("output:1"), "{t}");
    let dp = t
        .lines()
        .find(|l| l.starts_with("Datapath actions:"))
        .unwrap_or_default();
    assert!(dp != "Datapath actions: drop" && !dp.is_empty(), "{t}");

    // Recomputing an unchanged state sends no bundle.
    let bundles = of.status().borrow().bundles;
    of.install(&st, 2);
    wait_ack(&mut acks, 2).await;
    assert_eq!(of.status().borrow().bundles, bundles);

    // vm2 moves to hv3: its unicast flow and the _MC_flood fan-out change,
    // nothing else.
    Arc::make_mut(
        st.port_bindings
            .iter_mut()
            .find(|p| p.logical_port == "vm2")
            .unwrap(),
    )
    .chassis = Some("hv3".into());
    of.install(&st, 3);
    wait_ack(&mut acks, 3).await;
    let last = of.status().borrow().last_bundle.expect("bundle");
    assert_eq!((last.seq, last.len(), last.flow_mods), (3, 2, 2), "{last:?}");
    let t = trace(&v, &vm1_to(MAC2, MAC1));
    assert!(t.contains("output:6") && !t.contains("output:5"), "{t}");
    assert!(t.contains("dst=192.168.0.3"), "{t}");

    // `recompute`: computed from scratch and reinstalled in one bundle; the switch
    // ends up with the same flows.
    let sorted = |mut f: Vec<String>| {
        f.sort();
        f
    };
    let before = sorted(dump_flows(&v));
    of.recompute();
    of.install(&st, 4);
    wait_ack(&mut acks, 4).await;
    let last = of.status().borrow().last_bundle.expect("bundle");
    assert!(last.seq == 4 && last.full_reinstall, "{last:?}");
    assert_eq!(sorted(dump_flows(&v)), before);

    // ovs-vswitchd restarts: ofctrl reconnects and reinstalls everything.
    v.restart_vswitchd();
    let s = wait_status(&of, "reinstall after restart", |s| {
        s.sessions == 2 && s.acked == Some(4) && s.last_bundle.is_some_and(|b| b.full_reinstall)
    })
    .await;
    let flows = dump_flows(&v);
    assert_eq!(flows.len(), s.last_stats.unwrap().flows);
    underlay(&v);
    let t = trace(&v, &vm1_to(MAC2, MAC1));
    assert!(
        t.contains("output:6") && t.contains("{class=0x102,type=0x80,len=4,0x10002}"),
        "{t}"
    );

    // The controller itself restarts: it diffs against the switch and
    // finds nothing to change.
    drop(of);
    drop(acks);
    let (of, mut acks) = Ofctrl::start(mgmt(&v));
    of.install(&st, 5);
    wait_ack(&mut acks, 5).await;
    let s = of.status().borrow().clone();
    assert_eq!(s.sessions, 1);
    assert_eq!(
        s.bundles, 0,
        "resync after controller restart was not empty: {:?}",
        s.last_bundle
    );
    assert_eq!(dump_flows(&v).len(), s.last_stats.unwrap().flows);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Frames in a pcap file (as written by the dummy netdev's `tx_pcap`).
fn pcap_frames(path: &std::path::Path) -> Vec<Vec<u8>> {
    let Ok(b) = std::fs::read(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let len = u32::from_le_bytes([b[at + 8], b[at + 9], b[at + 10], b[at + 11]]) as usize;
        at += 16;
        let Some(f) = b.get(at..at + len) else { break };
        out.push(f.to_vec());
        at += len;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinctrl_learns_neighbours_and_sends_arp_requests() {
    use super::packet::{Arp, build_arp, parse_arp, parse_eth};
    use std::net::Ipv4Addr;

    if !testbed::require(&[
        "ovs-vswitchd",
        "ovsdb-server",
        "ovs-vsctl",
        "ovs-ofctl",
        "ovs-appctl",
    ]) {
        return;
    }
    let v = switch();
    let pcap = v.dir.join("vm4.pcap");
    v.vsctl(&[
        "--",
        "add-port",
        "br-int",
        "vm4",
        "--",
        "set",
        "interface",
        "vm4",
        "ofport_request=4",
        &format!("options:tx_pcap={}", pcap.display()),
    ]);
    let mut st = state();
    let mut vm4 = super::local::tests::port("vm4", 1, 4, "");
    vm4.chassis = Some("hv1".into());
    st.port_bindings.push(Arc::new(vm4));
    st.vif_ofports.insert("vm4".into(), 4);
    st.logical_flows.push(lflow(
        100,
        1,
        Pipeline::Ingress,
        2,
        90,
        "arp.op == 2",
        "put_arp(inport, arp.spa, arp.sha); next;",
    ));
    st.logical_flows.push(lflow(
        102,
        1,
        Pipeline::Ingress,
        4,
        90,
        "arp.op == 2",
        "put_fdb(inport, eth.src); next;",
    ));
    st.logical_flows.push(lflow(
        101,
        1,
        Pipeline::Ingress,
        3,
        90,
        "ip4.dst == 10.0.1.99",
        "reg0 = ip4.dst; reg1 = 10.0.1.1; arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.spa = reg1; \
         arp.tpa = reg0; arp.op = 1; outport = \"vm4\"; output; };",
    ));
    let (of, mut fb) = super::OpenFlow::start(mgmt(&v));
    of.install(&st, 1);
    wait_ack(&mut fb.acks, 1).await;
    let s = of.ofctrl.status().borrow().clone();
    assert_eq!(s.last_stats.unwrap().logical_flows_failed, 0);
    // pinctrl must be connected before packets are injected.
    let mut ps = of.pinctrl.status();
    tokio::time::timeout(Duration::from_secs(10), ps.wait_for(|s| s.connected))
        .await
        .expect("pinctrl connects")
        .unwrap();

    // An ARP reply from vm1 → put_arp → MAC_Binding for vm1.
    let mac1 = [0x50, 0x54, 0, 0, 0, 1];
    let reply = build_arp(
        [0, 0, 0, 0, 0xff, 1],
        mac1,
        None,
        &Arp {
            op: 2,
            sha: mac1,
            spa: Ipv4Addr::new(10, 0, 1, 11),
            tha: [0, 0, 0, 0, 0xff, 1],
            tpa: Ipv4Addr::new(10, 0, 1, 1),
        },
    );
    v.appctl(&["netdev-dummy/receive", "vm1", &hex(&reply)]);
    let learned = match tokio::time::timeout(Duration::from_secs(10), fb.learned.recv()).await {
        Ok(l) => l.unwrap(),
        Err(_) => panic!(
            "put_arp not reported; pinctrl {:?}; trace:\n{}",
            *of.pinctrl.status().borrow(),
            v.appctl(&["ofproto/trace", "br-int", "in_port=1", &hex(&reply)])
        ),
    };
    assert_eq!(learned.logical_port, "vm1");
    assert_eq!(learned.ip, "10.0.1.11".parse::<std::net::IpAddr>().unwrap());
    assert_eq!(learned.mac, MAC1);
    assert_eq!(learned.datapath, 1);
    let fdb = tokio::time::timeout(Duration::from_secs(10), fb.fdb_learned.recv())
        .await
        .expect("put_fdb reported")
        .unwrap();
    assert_eq!(
        (
            fdb.datapath,
            fdb.port_key,
            fdb.logical_port.as_deref(),
            fdb.mac.as_str()
        ),
        (1, 1, Some("vm1"), MAC1)
    );

    // An IPv4 packet to 10.0.1.99 → arp{} → ARP request delivered to vm4
    // with the registers (reg0/reg1) restored from the packet-in.
    let pkt = super::packet::tests::udp4(
        mac1,
        [0, 0, 0, 0, 0xff, 1],
        Ipv4Addr::new(10, 0, 1, 11),
        Ipv4Addr::new(10, 0, 1, 99),
    );
    v.appctl(&["netdev-dummy/receive", "vm1", &hex(&pkt)]);
    let found = testbed::wait_until(Duration::from_secs(10), || {
        pcap_frames(&pcap).iter().any(|f| {
            parse_eth(f)
                .and_then(|e| parse_arp(f, e.payload).map(|a| (e, a)))
                .is_some_and(|(e, a)| {
                    e.dst == [0xff; 6]
                        && a.op == 1
                        && a.sha == mac1
                        && a.spa == Ipv4Addr::new(10, 0, 1, 1)
                        && a.tpa == Ipv4Addr::new(10, 0, 1, 99)
                })
        })
    });
    assert!(
        found,
        "no ARP request on vm4: {:?}; pinctrl {:?}",
        pcap_frames(&pcap),
        *of.pinctrl.status().borrow()
    );
}
