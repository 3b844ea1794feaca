//! A private ovsdb-server + ovs-vswitchd (dummy datapath) for tests, and a
//! minimal blocking OpenFlow connection over its `br-int.mgmt` socket.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use openflow::{Framer, Header, Hello, Message, OFP15_VERSION, decode, encode, negotiate_version};

pub struct Sandbox {
    dir: tempfile::TempDir,
}

fn have(cmd: &str) -> bool {
    Command::new(cmd).arg("--version").output().is_ok()
}

impl Sandbox {
    /// Starts the daemons, or returns `None` (after saying so) when Open
    /// vSwitch is not installed.
    pub fn start() -> Option<Sandbox> {
        if !have("ovs-vswitchd") || !have("ovsdb-server") {
            eprintln!("SKIP: ovs-vswitchd/ovsdb-server not installed");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("ofsb")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let sb = Sandbox { dir };
        let d = sb.path().to_path_buf();
        let p = |n: &str| d.join(n).to_str().expect("utf8 path").to_string();
        sb.run(
            "ovsdb-tool",
            &[
                "create",
                &p("conf.db"),
                "/usr/share/openvswitch/vswitch.ovsschema",
            ],
        );
        sb.run(
            "ovsdb-server",
            &[
                &p("conf.db"),
                &format!("--remote=punix:{}", p("db.sock")),
                &format!("--pidfile={}", p("ovsdb-server.pid")),
                &format!("--unixctl={}", p("ovsdb-server.ctl")),
                &format!("--log-file={}", p("ovsdb-server.log")),
                "--detach",
                "--no-chdir",
            ],
        );
        let db = format!("unix:{}", p("db.sock"));
        sb.run("ovs-vsctl", &[&format!("--db={db}"), "--no-wait", "init"]);
        sb.run(
            "ovs-vswitchd",
            &[
                &db,
                "--enable-dummy=override",
                "--disable-system-route",
                &format!("--pidfile={}", p("ovs-vswitchd.pid")),
                &format!("--unixctl={}", p("ovs-vswitchd.ctl")),
                &format!("--log-file={}", p("ovs-vswitchd.log")),
                "--detach",
                "--no-chdir",
            ],
        );
        sb.vsctl(&[
            "add-br",
            "br-int",
            "--",
            "set",
            "bridge",
            "br-int",
            "datapath_type=dummy",
            "fail-mode=secure",
            "--",
            "add-port",
            "br-int",
            "p1",
            "--",
            "set",
            "interface",
            "p1",
            "type=dummy",
            "ofport_request=1",
            "--",
            "add-port",
            "br-int",
            "p2",
            "--",
            "set",
            "interface",
            "p2",
            "type=dummy",
            "ofport_request=2",
        ]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sb.mgmt().exists() {
            assert!(Instant::now() < deadline, "br-int.mgmt did not appear");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(sb)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn mgmt(&self) -> PathBuf {
        self.path().join("br-int.mgmt")
    }

    fn env(&self, cmd: &mut Command) {
        let d = self.path();
        cmd.env("OVS_RUNDIR", d).env("OVS_DBDIR", d).env("OVS_LOGDIR", d);
    }

    /// Runs a command and returns stdout; panics with stderr on failure.
    pub fn run(&self, prog: &str, args: &[&str]) -> String {
        let mut cmd = Command::new(prog);
        cmd.args(args);
        self.env(&mut cmd);
        let out = cmd.output().unwrap_or_else(|e| panic!("running {prog}: {e}"));
        assert!(
            out.status.success(),
            "{prog} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn vsctl(&self, args: &[&str]) -> String {
        let db = format!("--db=unix:{}", self.path().join("db.sock").display());
        let mut all = vec![db.as_str()];
        all.extend_from_slice(args);
        self.run("ovs-vsctl", &all)
    }

    /// `ovs-ofctl -O OpenFlow15 CMD unix:DIR/br-int.mgmt ARGS...`
    pub fn ofctl(&self, cmd: &str, args: &[&str]) -> String {
        let target = format!("unix:{}", self.mgmt().display());
        let mut all = vec!["-O", "OpenFlow15", cmd, target.as_str()];
        all.extend_from_slice(args);
        self.run("ovs-ofctl", &all)
    }

    /// `ovs-ofctl ... --no-stats dump-flows`, one flow per line, trimmed.
    pub fn dump_flows(&self) -> Vec<String> {
        let target = format!("unix:{}", self.mgmt().display());
        self.run(
            "ovs-ofctl",
            &["-O", "OpenFlow15", "--no-stats", "dump-flows", &target],
        )
        .lines()
        .filter(|l| l.starts_with(' '))
        .map(|l| l.trim().to_string())
        .collect()
    }

    pub fn appctl(&self, args: &[&str]) -> String {
        let t = self.path().join("ovs-vswitchd.ctl");
        let t = t.to_str().expect("utf8");
        let mut all = vec!["-t", t];
        all.extend_from_slice(args);
        self.run("ovs-appctl", &all)
    }

    pub fn connect(&self) -> Conn {
        Conn::open(&self.mgmt())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for name in ["ovs-vswitchd.pid", "ovsdb-server.pid"] {
            let Ok(pid) = std::fs::read_to_string(self.path().join(name)) else {
                continue;
            };
            let pid = pid.trim();
            if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let _ = Command::new("kill").arg(pid).status();
            let proc_dir = PathBuf::from(format!("/proc/{pid}"));
            let deadline = Instant::now() + Duration::from_secs(5);
            while proc_dir.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if proc_dir.exists() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
    }
}

/// A blocking OpenFlow 1.5 connection used by the tests.
pub struct Conn {
    sock: UnixStream,
    framer: Framer,
    next_xid: u32,
    /// Every frame received, as the switch encoded it.
    pub frames: Vec<Vec<u8>>,
}

impl Conn {
    fn open(path: &Path) -> Conn {
        let sock = UnixStream::connect(path).expect("connect br-int.mgmt");
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut c = Conn {
            sock,
            framer: Framer::new(),
            next_xid: 1,
            frames: Vec::new(),
        };
        c.send(&Message::Hello(Hello::of15()));
        let (h, m) = c.recv_raw();
        let Message::Hello(hello) = m else {
            panic!("expected hello, got {m:?}")
        };
        assert_eq!(negotiate_version(h.version, &hello), Some(OFP15_VERSION));
        c
    }

    /// Sends `msg` with a fresh xid; returns the xid.
    pub fn send(&mut self, msg: &Message) -> u32 {
        let xid = self.next_xid;
        self.next_xid += 1;
        self.send_xid(msg, xid);
        xid
    }

    pub fn send_xid(&mut self, msg: &Message, xid: u32) {
        let mut buf = Vec::new();
        encode(msg, xid, &mut buf).expect("encode");
        self.sock.write_all(&buf).expect("write");
    }

    /// Next message of any kind (echo requests are answered here).
    pub fn recv_raw(&mut self) -> (Header, Message) {
        loop {
            if let Some(frame) = self.framer.next_frame().expect("framing") {
                let (h, m) = decode(&frame)
                    .unwrap_or_else(|e| panic!("decoding {:02x?}: {e}", &frame[..frame.len().min(64)]));
                self.frames.push(frame.to_vec());
                if let Message::EchoRequest(d) = &m {
                    let reply = Message::EchoReply(d.clone());
                    self.send_xid(&reply, h.xid);
                    continue;
                }
                return (h, m);
            }
            let mut buf = [0u8; 65536];
            let n = self.sock.read(&mut buf).expect("read");
            assert!(n > 0, "switch closed the connection");
            self.framer.extend(&buf[..n]);
        }
    }

    /// Next message that is not an unsolicited port status etc.
    pub fn recv(&mut self) -> (Header, Message) {
        loop {
            let (h, m) = self.recv_raw();
            if matches!(m, Message::Unknown { msg_type: 12, .. }) {
                continue;
            }
            return (h, m);
        }
    }

    /// Sends `msgs` then a barrier; returns everything received before the
    /// barrier reply (errors included).
    pub fn transact(&mut self, msgs: &[Message]) -> Vec<(Header, Message)> {
        for m in msgs {
            self.send(m);
        }
        let bxid = self.send(&Message::BarrierRequest);
        let mut got = Vec::new();
        loop {
            let (h, m) = self.recv();
            if h.xid == bxid && m == Message::BarrierReply {
                return got;
            }
            got.push((h, m));
        }
    }

    /// Like [`Conn::transact`] but panics on any OFPT_ERROR.
    pub fn transact_ok(&mut self, msgs: &[Message]) -> Vec<(Header, Message)> {
        let got = self.transact(msgs);
        for (_, m) in &got {
            if let Message::Error(e) = m {
                panic!("switch returned error: {e}");
            }
        }
        got
    }
}
