//! rovn-controller against real daemons: a Southbound ovsdb-server, and a
//! private Open vSwitch (ovsdb-server + ovs-vswitchd on the dummy datapath).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use testbed::vswitch::{Dummy, Vswitch};
use testbed::{OvsdbServer, run, wait_until};

const T: Duration = Duration::from_secs(15);

/// The controller process, killed on drop if still running.
struct Ctl(Child);

impl Drop for Ctl {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_controller(ovs: &Vswitch) -> Ctl {
    let child = Command::new(env!("CARGO_BIN_EXE_rovn-controller"))
        .arg(ovs.db_remote())
        .arg("--pidfile")
        .arg(format!(
            "--log-file={}",
            ovs.dir.join("rovn-controller.log").display()
        ))
        .arg("-vdbg")
        .envs(ovs.env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning rovn-controller");
    Ctl(child)
}

fn sbctl(sb: &str, args: &[&str]) -> String {
    run(Command::new("ovn-sbctl")
        .arg(format!("--db={sb}"))
        .arg("--timeout=10")
        .args(args))
    .trim()
    .to_string()
}

/// Like `sbctl`, but a failure is just an empty answer (for polling).
fn sbctl_try(sb: &str, args: &[&str]) -> String {
    Command::new("ovn-sbctl")
        .arg(format!("--db={sb}"))
        .arg("--timeout=5")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn vsctl_try(ovs: &Vswitch, args: &[&str]) -> String {
    Command::new("ovs-vsctl")
        .arg(format!("--db={}", ovs.db_remote()))
        .arg("--timeout=5")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn log_tail(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("rovn-controller.log"))
        .map(|s| {
            s.lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

macro_rules! wait {
    ($ovs:expr, $what:expr, $cond:expr) => {
        assert!(
            wait_until(T, $cond),
            "timed out waiting for {}\n--- controller log ---\n{}",
            $what,
            log_tail(&$ovs.dir)
        )
    };
}

/// Waits until the controller created br-int (ports can be added to it then).
fn wait_br_int(ovs: &Vswitch) {
    wait!(ovs, "br-int", || vsctl_try(
        ovs,
        &["get", "Bridge", "br-int", "fail_mode"]
    ) == "secure");
}

fn configure(ovs: &Vswitch, sb: &str) {
    ovs.vsctl(&[
        "set",
        "Open_vSwitch",
        ".",
        "external_ids:system-id=hv1",
        &format!("external_ids:ovn-remote={sb}"),
        "external_ids:ovn-encap-type=geneve",
        "external_ids:ovn-encap-ip=127.0.0.1",
        "external_ids:hostname=host1",
    ]);
}

#[test]
fn registers_meshes_binds_and_exits_cleanly() {
    if !testbed::require(&[
        "ovsdb-server",
        "ovs-vswitchd",
        "ovs-vsctl",
        "ovn-sbctl",
        "ovs-appctl",
    ]) {
        return;
    }
    let mut sb = OvsdbServer::start(&testbed::sb_schema());
    let sbr = sb.remote();
    sbctl(&sbr, &["init"]);
    let ovs = Vswitch::start(Dummy::Override);
    configure(&ovs, &sbr);
    let mut ctl = start_controller(&ovs);

    // Chassis, Encap and Chassis_Private, with the 23.03 feature flags.
    wait!(ovs, "Chassis hv1", || sbctl_try(
        &sbr,
        &["--bare", "--columns=name", "list", "Chassis"]
    ) == "hv1");
    let oc = sbctl(
        &sbr,
        &["--bare", "--columns=other_config", "list", "Chassis", "hv1"],
    );
    for flag in [
        "port-up-notif",
        "ct-no-masked-label",
        "mac-binding-timestamp",
        "ovn-ct-lb-related",
    ] {
        assert!(oc.contains(&format!("{flag}=true")), "{flag} missing in {oc}");
    }
    assert_eq!(
        sbctl(&sbr, &["--bare", "--columns=hostname", "list", "Chassis", "hv1"]),
        "host1"
    );
    let encap = sbctl(
        &sbr,
        &[
            "--bare",
            "--columns=type,ip,options,chassis_name",
            "list",
            "Encap",
        ],
    );
    assert_eq!(
        encap.split_whitespace().collect::<Vec<_>>(),
        ["geneve", "127.0.0.1", "csum=true", "hv1"]
    );
    wait!(ovs, "Chassis_Private hv1", || {
        sbctl_try(&sbr, &["--bare", "--columns=name", "list", "Chassis_Private"]) == "hv1"
    });

    // br-int.
    wait!(ovs, "br-int", || vsctl_try(
        &ovs,
        &["get", "Bridge", "br-int", "fail_mode"]
    ) == "secure");
    assert_eq!(
        ovs.vsctl(&["get", "Bridge", "br-int", "other_config:disable-in-band"])
            .trim(),
        "\"true\""
    );

    // A tunnel to a new chassis, named and tagged as OVN does.
    sbctl(&sbr, &["chassis-add", "hv2", "geneve", "127.0.0.2"]);
    let port = || {
        vsctl_try(
            &ovs,
            &[
                "--bare",
                "--columns=name",
                "find",
                "Port",
                "external_ids:ovn-chassis-id=\"hv2@127.0.0.2\"",
            ],
        )
    };
    wait!(ovs, "tunnel port ovn-hv2-0", || port() == "ovn-hv2-0");
    assert_eq!(
        ovs.vsctl(&["get", "Interface", "ovn-hv2-0", "type"]).trim(),
        "geneve"
    );
    let opts = ovs.vsctl(&["get", "Interface", "ovn-hv2-0", "options"]);
    assert!(opts.contains("remote_ip=\"127.0.0.2\""), "{opts}");
    assert!(opts.contains("key=flow"), "{opts}");
    assert!(opts.contains("csum=\"true\""), "{opts}");

    // A VIF: claimed, then up and ovn-installed once the flows are in.
    let dp = sbctl(
        &sbr,
        &[
            "create",
            "Datapath_Binding",
            "tunnel_key=1",
            "external_ids:logical-switch=ls1uuid",
            "external_ids:name=ls1",
        ],
    );
    sbctl(
        &sbr,
        &[
            "create",
            "Port_Binding",
            "logical_port=vm1",
            &format!("datapath={dp}"),
            "tunnel_key=1",
            "mac=\"50:54:00:00:00:01 10.0.0.11\"",
        ],
    );
    ovs.vsctl(&[
        "add-port",
        "br-int",
        "vm1",
        "--",
        "set",
        "Interface",
        "vm1",
        "external_ids:iface-id=vm1",
    ]);
    let hv1 = sbctl(
        &sbr,
        &["--bare", "--columns=_uuid", "find", "Chassis", "name=hv1"],
    );
    let pb = |col: &str| {
        sbctl_try(
            &sbr,
            &[
                "--bare",
                &format!("--columns={col}"),
                "find",
                "Port_Binding",
                "logical_port=vm1",
            ],
        )
    };
    wait!(ovs, "vm1 claimed", || pb("chassis") == hv1);
    wait!(ovs, "vm1 up", || pb("up") == "true");
    wait!(ovs, "vm1 ovn-installed", || {
        vsctl_try(&ovs, &["get", "Interface", "vm1", "external_ids:ovn-installed"]) == "\"true\""
    });
    // The flows are really there: vm1's physical-to-logical flow in table 0.
    let ofport = ovs.vsctl(&["get", "Interface", "vm1", "ofport"]);
    let t0 = ovs.ofctl("dump-flows", "br-int", &["table=0"]);
    assert!(t0.contains(&format!("in_port={}", ofport.trim())), "{t0}");
    let zone = ovs.vsctl(&["get", "Bridge", "br-int", "external_ids:ct-zone-vm1"]);
    assert!(
        zone.trim().trim_matches('"').parse::<u16>().is_ok_and(|z| z > 0),
        "{zone}"
    );

    // nb_cfg handshake.
    sbctl(&sbr, &["set", "SB_Global", ".", "nb_cfg=5"]);
    wait!(ovs, "Chassis_Private.nb_cfg=5", || {
        sbctl_try(&sbr, &["--bare", "--columns=nb_cfg", "list", "Chassis_Private"]) == "5"
    });
    wait!(ovs, "br-int ovn-nb-cfg=5", || {
        vsctl_try(&ovs, &["get", "Bridge", "br-int", "external_ids:ovn-nb-cfg"]) == "\"5\""
    });

    // requested-chassis for another chassis: released; cleared: claimed again.
    sbctl(
        &sbr,
        &["set", "Port_Binding", "vm1", "options:requested-chassis=hv2"],
    );
    wait!(ovs, "vm1 released for hv2", || pb("chassis").is_empty());
    sbctl(
        &sbr,
        &["remove", "Port_Binding", "vm1", "options", "requested-chassis"],
    );
    wait!(ovs, "vm1 claimed again", || pb("chassis") == hv1
        && pb("up") == "true");

    // The interface goes: released.
    ovs.vsctl(&["del-port", "br-int", "vm1"]);
    wait!(ovs, "vm1 released", || pb("chassis").is_empty()
        && pb("up") == "false");

    // Chassis removed: its tunnel goes.
    sbctl(&sbr, &["chassis-del", "hv2"]);
    wait!(ovs, "tunnel removed", || port().is_empty());

    // SB restart: reconnect and keep converging.
    sb.restart();
    sbctl(&sbr, &["chassis-add", "hv3", "geneve", "127.0.0.3"]);
    wait!(ovs, "tunnel to hv3 after SB restart", || {
        vsctl_try(
            &ovs,
            &[
                "--bare",
                "--columns=name",
                "find",
                "Port",
                "external_ids:ovn-chassis-id=\"hv3@127.0.0.3\"",
            ],
        ) == "ovn-hv3-0"
    });

    // Graceful exit through `ovs-appctl -t ovn-controller exit` (found through
    // the pidfile, as ovn-ctl does): chassis rows removed, exit status 0.
    run(Command::new("ovs-appctl")
        .envs(ovs.env())
        .args(["-t", "ovn-controller", "exit"]));
    wait!(ovs, "controller exit", || matches!(ctl.0.try_wait(), Ok(Some(_))));
    assert!(ctl.0.wait().unwrap().success());
    assert_eq!(
        sbctl(&sbr, &["--bare", "--columns=name", "find", "Chassis", "name=hv1"]),
        ""
    );
    assert_eq!(
        sbctl(&sbr, &["--bare", "--columns=name", "list", "Chassis_Private"]),
        ""
    );
}

#[test]
fn waits_for_encap_config_and_survives_vswitchd_restart() {
    if !testbed::require(&["ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovn-sbctl"]) {
        return;
    }
    let sb = OvsdbServer::start(&testbed::sb_schema());
    let sbr = sb.remote();
    let mut ovs = Vswitch::start(Dummy::Override);
    ovs.vsctl(&[
        "set",
        "Open_vSwitch",
        ".",
        "external_ids:system-id=hv1",
        &format!("external_ids:ovn-remote={sbr}"),
    ]);
    let mut ctl = start_controller(&ovs);
    // No encap configured: not registered.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(sbctl(&sbr, &["--bare", "--columns=name", "list", "Chassis"]), "");
    configure(&ovs, &sbr);
    wait!(ovs, "Chassis hv1", || sbctl_try(
        &sbr,
        &["--bare", "--columns=name", "list", "Chassis"]
    ) == "hv1");
    sbctl(&sbr, &["chassis-add", "hv2", "geneve", "127.0.0.2"]);
    wait!(ovs, "ovn-hv2-0", || vsctl_try(
        &ovs,
        &["get", "Interface", "ovn-hv2-0", "type"]
    ) == "geneve");
    let ports_before = ovs.vsctl(&["list-ports", "br-int"]);
    ovs.restart_vswitchd();
    std::thread::sleep(Duration::from_millis(500));
    // Same ports, no duplicates, still converging.
    assert_eq!(ovs.vsctl(&["list-ports", "br-int"]), ports_before);
    sbctl(&sbr, &["chassis-add", "hv3", "geneve", "127.0.0.3"]);
    wait!(ovs, "ovn-hv3-0", || vsctl_try(
        &ovs,
        &["get", "Interface", "ovn-hv3-0", "type"]
    ) == "geneve");
    // SIGTERM (a service restart) keeps the chassis, so other hosts keep their
    // tunnels and flows toward it; only `ovs-appctl exit` says goodbye.
    run(Command::new("kill").arg("-TERM").arg(ctl.0.id().to_string()));
    wait!(ovs, "controller exit", || matches!(ctl.0.try_wait(), Ok(Some(_))));
    assert_eq!(
        sbctl(&sbr, &["--bare", "--columns=name", "find", "Chassis", "name=hv1"]),
        "hv1"
    );
}

/// Key set of an `ovn-sbctl`/`ovs-vsctl` map printed as `{k=v, k2="v2"}`.
fn map_keys(s: &str) -> Vec<String> {
    let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
    let mut keys: Vec<String> = inner
        .split(", ")
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.trim_matches('"').to_string()))
        .collect();
    keys.sort();
    keys
}

/// What a controller wrote for chassis hv1 and the tunnel to hv2.
fn snapshot(ovs: &Vswitch, sbr: &str) -> (Vec<String>, String, String, String, String) {
    wait!(ovs, "Chassis hv1", || sbctl_try(
        sbr,
        &["--bare", "--columns=name", "find", "Chassis", "name=hv1"]
    ) == "hv1");
    wait!(ovs, "ovn-hv2-0", || vsctl_try(
        ovs,
        &["get", "Interface", "ovn-hv2-0", "type"]
    ) == "geneve");
    (
        map_keys(&sbctl(sbr, &["get", "Chassis", "hv1", "other_config"])),
        sbctl(sbr, &["get", "Chassis", "hv1", "other_config:port-up-notif"]),
        ovs.vsctl(&["get", "Interface", "ovn-hv2-0", "options"]),
        ovs.vsctl(&["get", "Port", "ovn-hv2-0", "external_ids"]),
        ovs.vsctl(&[
            "get",
            "Bridge",
            "br-int",
            "fail_mode",
            "datapath_type",
            "other_config:disable-in-band",
        ]),
    )
}

/// The Chassis row and the tunnel port match what real ovn-controller 23.03
/// writes in the same setup.
#[test]
fn writes_what_real_ovn_controller_writes() {
    if !testbed::require(&[
        "ovsdb-server",
        "ovs-vswitchd",
        "ovs-vsctl",
        "ovn-sbctl",
        "ovn-controller",
        "ovs-appctl",
    ]) {
        return;
    }
    let sb = OvsdbServer::start(&testbed::sb_schema());
    let sbr = sb.remote();
    sbctl(&sbr, &["init"]);
    sbctl(&sbr, &["chassis-add", "hv2", "geneve", "127.0.0.2"]);
    let ovs = Vswitch::start(Dummy::Override);
    configure(&ovs, &sbr);
    let real = Command::new("ovn-controller")
        .arg(ovs.db_remote())
        .arg("--pidfile")
        .arg(format!(
            "--log-file={}",
            ovs.dir.join("ovn-controller.log").display()
        ))
        .envs(ovs.env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning ovn-controller");
    let mut real = Ctl(real);
    let theirs = snapshot(&ovs, &sbr);
    run(Command::new("ovs-appctl")
        .envs(ovs.env())
        .args(["-t", "ovn-controller", "exit"]));
    wait!(ovs, "ovn-controller exit", || matches!(
        real.0.try_wait(),
        Ok(Some(_))
    ));
    ovs.vsctl(&["--if-exists", "del-br", "br-int"]);
    wait!(ovs, "hv1 removed", || sbctl_try(
        &sbr,
        &["--bare", "--columns=name", "find", "Chassis", "name=hv1"]
    )
    .is_empty());

    let _ctl = start_controller(&ovs);
    let ours = snapshot(&ovs, &sbr);
    assert_eq!(ours, theirs);
}

fn configure_as(ovs: &Vswitch, sb: &str, name: &str, ip: &str) {
    ovs.vsctl(&[
        "set",
        "Open_vSwitch",
        ".",
        &format!("external_ids:system-id={name}"),
        &format!("external_ids:ovn-remote={sb}"),
        "external_ids:ovn-encap-type=geneve",
        &format!("external_ids:ovn-encap-ip={ip}"),
    ]);
}

fn start_real_controller(ovs: &Vswitch) -> Ctl {
    let child = Command::new("ovn-controller")
        .arg(ovs.db_remote())
        .arg("--pidfile")
        .arg(format!(
            "--log-file={}",
            ovs.dir.join("ovn-controller.log").display()
        ))
        .envs(ovs.env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning ovn-controller");
    Ctl(child)
}

/// rovn-controller (hv1) and real ovn-controller 23.03 (hv2) mesh with each
/// other, and a port migrates between them by requested-chassis without
/// flapping.
#[test]
fn meshes_and_migrates_with_real_ovn_controller() {
    if !testbed::require(&[
        "ovsdb-server",
        "ovs-vswitchd",
        "ovs-vsctl",
        "ovn-sbctl",
        "ovn-controller",
    ]) {
        return;
    }
    let sb = OvsdbServer::start(&testbed::sb_schema());
    let sbr = sb.remote();
    sbctl(&sbr, &["init"]);
    let ovs1 = Vswitch::start(Dummy::Override);
    let ovs2 = Vswitch::start(Dummy::Override);
    configure_as(&ovs1, &sbr, "hv1", "127.0.0.1");
    configure_as(&ovs2, &sbr, "hv2", "127.0.0.2");
    let _rovn = start_controller(&ovs1);
    let _real = start_real_controller(&ovs2);

    // Each side tunnels to the other, named and tagged the same way.
    let tunnel = |ovs: &Vswitch, id: &str| {
        vsctl_try(
            ovs,
            &[
                "--bare",
                "--columns=name",
                "find",
                "Port",
                &format!("external_ids:ovn-chassis-id=\"{id}\""),
            ],
        )
    };
    wait!(ovs1, "rovn's tunnel to hv2", || tunnel(&ovs1, "hv2@127.0.0.2")
        == "ovn-hv2-0");
    wait!(ovs1, "real ovn-controller's tunnel to hv1", || tunnel(
        &ovs2,
        "hv1@127.0.0.1"
    ) == "ovn-hv1-0");
    assert_eq!(
        ovs1.vsctl(&["get", "Interface", "ovn-hv2-0", "options"]),
        ovs2.vsctl(&["get", "Interface", "ovn-hv1-0", "options"])
            .replace("127.0.0.1", "127.0.0.2")
    );

    // vm1 bound on hv1 (rovn).
    let dp = sbctl(
        &sbr,
        &[
            "create",
            "Datapath_Binding",
            "tunnel_key=1",
            "external_ids:logical-switch=ls1uuid",
            "external_ids:name=ls1",
        ],
    );
    sbctl(
        &sbr,
        &[
            "create",
            "Port_Binding",
            "logical_port=vm1",
            &format!("datapath={dp}"),
            "tunnel_key=1",
            "mac=\"50:54:00:00:00:01 10.0.0.11\"",
            "options:requested-chassis=hv1",
        ],
    );
    let uuid_of = |name: &str| {
        sbctl(
            &sbr,
            &[
                "--bare",
                "--columns=_uuid",
                "find",
                "Chassis",
                &format!("name={name}"),
            ],
        )
    };
    let (hv1, hv2) = (uuid_of("hv1"), uuid_of("hv2"));
    let chassis = || {
        sbctl_try(
            &sbr,
            &[
                "--bare",
                "--columns=chassis",
                "find",
                "Port_Binding",
                "logical_port=vm1",
            ],
        )
    };
    let up = || {
        sbctl_try(
            &sbr,
            &[
                "--bare",
                "--columns=up",
                "find",
                "Port_Binding",
                "logical_port=vm1",
            ],
        )
    };
    ovs1.vsctl(&[
        "add-port",
        "br-int",
        "vm1",
        "--",
        "set",
        "Interface",
        "vm1",
        "external_ids:iface-id=vm1",
    ]);
    wait!(ovs1, "vm1 on hv1", || chassis() == hv1 && up() == "true");

    // The interface also appears on hv2 (live migration target), then the CMS
    // moves the port: hv2 claims it, hv1 lets go and stays away.
    ovs2.vsctl(&[
        "add-port",
        "br-int",
        "vm1",
        "--",
        "set",
        "Interface",
        "vm1",
        "external_ids:iface-id=vm1",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(chassis(), hv1, "hv2 must not take a port requested for hv1");
    sbctl(
        &sbr,
        &["set", "Port_Binding", "vm1", "options:requested-chassis=hv2"],
    );
    wait!(ovs1, "vm1 on hv2", || chassis() == hv2 && up() == "true");
    wait!(ovs1, "ovn-installed removed on hv1", || {
        vsctl_try(&ovs1, &["get", "Interface", "vm1", "external_ids:ovn-installed"]).is_empty()
    });
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(chassis(), hv2, "binding flapped\n{}", log_tail(&ovs1.dir));
    }
    // And back.
    sbctl(
        &sbr,
        &["set", "Port_Binding", "vm1", "options:requested-chassis=hv1"],
    );
    wait!(ovs1, "vm1 back on hv1", || chassis() == hv1 && up() == "true");
    wait!(ovs1, "ovn-installed on hv1", || {
        vsctl_try(&ovs1, &["get", "Interface", "vm1", "external_ids:ovn-installed"]) == "\"true\""
    });
}

/// A clustered Southbound database: the controller works through the leader
/// and follows leadership when the leader dies.
#[test]
fn follows_the_leader_of_a_clustered_southbound() {
    if !testbed::require(&[
        "ovsdb-server",
        "ovsdb-tool",
        "ovs-vswitchd",
        "ovs-vsctl",
        "ovn-sbctl",
        "ovs-appctl",
    ]) {
        return;
    }
    let mut cluster = testbed::OvsdbCluster::start(&testbed::sb_schema(), 3);
    let sbr = cluster.remotes();
    sbctl(&sbr, &["init"]);
    let ovs = Vswitch::start(Dummy::Override);
    configure(&ovs, &sbr);
    let _ctl = start_controller(&ovs);
    wait!(ovs, "Chassis hv1", || sbctl_try(
        &sbr,
        &["--bare", "--columns=name", "list", "Chassis"]
    ) == "hv1");
    let leader = cluster.leader().expect("a leader");
    cluster.kill(leader);
    let new_leader = cluster.wait_for_leader(Some(leader), Duration::from_secs(20));
    assert!(new_leader.is_some(), "no new leader");
    sbctl(&sbr, &["chassis-add", "hv2", "geneve", "127.0.0.2"]);
    wait!(ovs, "tunnel to hv2 after leader change", || {
        vsctl_try(&ovs, &["get", "Interface", "ovn-hv2-0", "type"]) == "geneve"
    });
    assert_eq!(
        sbctl(&sbr, &["--bare", "--columns=name", "find", "Chassis", "name=hv1"]),
        "hv1"
    );
    assert_eq!(
        sbctl(&sbr, &["--bare", "--columns=name", "list", "Chassis_Private"]),
        "hv1"
    );
}

/// Age in seconds of the table-0 flow matching `in_port=<ofport>`.
fn t0_flow_age(ovs: &Vswitch, ofport: &str) -> Option<f64> {
    let dump = ovs.ofctl("dump-flows", "br-int", &["table=0"]);
    let line = dump.lines().find(|l| l.contains(&format!("in_port={ofport}")))?;
    let d = line.split("duration=").nth(1)?.split('s').next()?;
    d.parse().ok()
}

/// Restarting the controller (SIGKILL, as a crash) or ovs-vswitchd keeps the
/// binding, its conntrack zone and `up`; a controller restart does not even
/// reinstall the flows.
#[test]
fn restarts_converge_without_flapping() {
    if !testbed::require(&[
        "ovsdb-server",
        "ovs-vswitchd",
        "ovs-vsctl",
        "ovn-sbctl",
        "ovs-ofctl",
    ]) {
        return;
    }
    let sb = OvsdbServer::start(&testbed::sb_schema());
    let sbr = sb.remote();
    sbctl(&sbr, &["init"]);
    let mut ovs = Vswitch::start(Dummy::Override);
    configure(&ovs, &sbr);
    let ctl = start_controller(&ovs);
    let dp = sbctl(
        &sbr,
        &[
            "create",
            "Datapath_Binding",
            "tunnel_key=1",
            "external_ids:logical-switch=ls1uuid",
            "external_ids:name=ls1",
        ],
    );
    sbctl(
        &sbr,
        &[
            "create",
            "Port_Binding",
            "logical_port=vm1",
            &format!("datapath={dp}"),
            "tunnel_key=1",
            "mac=\"50:54:00:00:00:01 10.0.0.11\"",
        ],
    );
    wait_br_int(&ovs);
    ovs.vsctl(&[
        "add-port",
        "br-int",
        "vm1",
        "--",
        "set",
        "Interface",
        "vm1",
        "external_ids:iface-id=vm1",
    ]);
    let pb = |col: &str| {
        sbctl_try(
            &sbr,
            &[
                "--bare",
                &format!("--columns={col}"),
                "find",
                "Port_Binding",
                "logical_port=vm1",
            ],
        )
    };
    wait!(ovs, "vm1 up", || pb("up") == "true");
    let hv1 = pb("chassis");
    let zone = ovs.vsctl(&["get", "Bridge", "br-int", "external_ids:ct-zone-vm1"]);
    let ofport = ovs
        .vsctl(&["get", "Interface", "vm1", "ofport"])
        .trim()
        .to_string();
    wait!(ovs, "vm1 flow", || t0_flow_age(&ovs, &ofport).is_some());
    std::thread::sleep(Duration::from_millis(1500));

    // Controller crash and restart.
    drop(ctl);
    let ctl = start_controller(&ovs);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(pb("chassis"), hv1);
    assert_eq!(pb("up"), "true");
    assert_eq!(
        ovs.vsctl(&["get", "Bridge", "br-int", "external_ids:ct-zone-vm1"]),
        zone
    );
    let age = t0_flow_age(&ovs, &ofport).expect("vm1 flow after controller restart");
    assert!(
        age >= 2.0,
        "flow reinstalled after a controller restart (age {age}s)"
    );
    let log = std::fs::read_to_string(ovs.dir.join("rovn-controller.log")).unwrap_or_default();
    assert!(
        !log.contains("Releasing lport vm1"),
        "released during restart:\n{log}"
    );

    // ovs-vswitchd crash and restart: flows come back, binding untouched, and
    // an nb_cfg bumped meanwhile is acknowledged only once they are back.
    ovs.restart_vswitchd();
    sbctl(&sbr, &["set", "SB_Global", ".", "nb_cfg=7"]);
    let ofport = ovs
        .vsctl(&["get", "Interface", "vm1", "ofport"])
        .trim()
        .to_string();
    let vm1_flow = || {
        Command::new("ovs-ofctl")
            .args(["-O", "OpenFlow15", "dump-flows"])
            .arg(ovs.mgmt("br-int"))
            .arg("table=0")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("in_port={ofport}")))
    };
    wait!(ovs, "Chassis_Private.nb_cfg=7", || {
        sbctl_try(&sbr, &["--bare", "--columns=nb_cfg", "list", "Chassis_Private"]) == "7"
    });
    assert!(
        vm1_flow(),
        "nb_cfg acknowledged before the flows were back in the restarted switch"
    );
    assert_eq!(pb("chassis"), hv1);
    assert_eq!(pb("up"), "true");
    drop(ctl);
}

/// A `put_arp` fired by a logical flow reaches pinctrl and becomes a SB
/// MAC_Binding row; a changed MAC updates the row in place.
#[test]
fn put_arp_writes_mac_binding() {
    if !testbed::require(&[
        "ovsdb-server",
        "ovs-vswitchd",
        "ovs-vsctl",
        "ovn-sbctl",
        "ovs-appctl",
    ]) {
        return;
    }
    let sb = OvsdbServer::start(&testbed::sb_schema());
    let sbr = sb.remote();
    sbctl(&sbr, &["init"]);
    let ovs = Vswitch::start(Dummy::Override);
    configure(&ovs, &sbr);
    let _ctl = start_controller(&ovs);
    let dp = sbctl(
        &sbr,
        &[
            "create",
            "Datapath_Binding",
            "tunnel_key=1",
            "external_ids:logical-switch=ls1uuid",
            "external_ids:name=ls1",
        ],
    );
    sbctl(
        &sbr,
        &[
            "create",
            "Port_Binding",
            "logical_port=vm1",
            &format!("datapath={dp}"),
            "tunnel_key=1",
            "mac=\"50:54:00:00:00:01 10.0.0.11\"",
        ],
    );
    sbctl(
        &sbr,
        &[
            "create",
            "Logical_Flow",
            &format!("logical_datapath={dp}"),
            "pipeline=ingress",
            "table_id=0",
            "priority=100",
            "match=\"arp\"",
            "actions=\"put_arp(inport, arp.spa, arp.sha); next;\"",
        ],
    );
    wait_br_int(&ovs);
    ovs.vsctl(&[
        "add-port",
        "br-int",
        "vm1",
        "--",
        "set",
        "Interface",
        "vm1",
        "external_ids:iface-id=vm1",
    ]);
    let pb = |col: &str| {
        sbctl_try(
            &sbr,
            &[
                "--bare",
                &format!("--columns={col}"),
                "find",
                "Port_Binding",
                "logical_port=vm1",
            ],
        )
    };
    wait!(ovs, "vm1 up", || pb("up") == "true");
    // An ARP request from 10.0.0.11 (hex, as netdev-dummy/receive takes it).
    let arp = |mac: &str| {
        let m = mac.replace(':', "");
        format!("ffffffffffff{m}08060001080006040001{m}0a00000b0000000000000a000001")
    };
    let mb = || {
        sbctl_try(
            &sbr,
            &[
                "--bare",
                "--columns=logical_port,ip,mac,datapath",
                "list",
                "MAC_Binding",
            ],
        )
    };
    ovs.appctl(&["netdev-dummy/receive", "vm1", &arp("50:54:00:00:00:01")]);
    wait!(ovs, "MAC_Binding row", || {
        mb().split_whitespace().collect::<Vec<_>>() == ["vm1", "10.0.0.11", "50:54:00:00:00:01", dp.as_str()]
    });
    let uuid = sbctl(&sbr, &["--bare", "--columns=_uuid", "list", "MAC_Binding"]);
    ovs.appctl(&["netdev-dummy/receive", "vm1", &arp("50:54:00:00:00:02")]);
    wait!(ovs, "MAC_Binding updated", || mb().contains("50:54:00:00:00:02"));
    assert_eq!(
        sbctl(&sbr, &["--bare", "--columns=_uuid", "list", "MAC_Binding"]),
        uuid
    );
}

/// ovn-bridge-mappings: a localnet port of a local datapath gets the patch
/// port pair OVN creates, and zones are allocated as OVN does; the pair goes
/// when the datapath stops being local.
#[test]
fn localnet_patch_ports_and_zones() {
    if !testbed::require(&["ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovn-sbctl"]) {
        return;
    }
    let sb = OvsdbServer::start(&testbed::sb_schema());
    let sbr = sb.remote();
    sbctl(&sbr, &["init"]);
    let ovs = Vswitch::start(Dummy::Override);
    ovs.vsctl(&["add-br", "br-phys"]);
    configure(&ovs, &sbr);
    ovs.vsctl(&[
        "set",
        "Open_vSwitch",
        ".",
        "external_ids:ovn-bridge-mappings=physnet1:br-phys",
    ]);
    let _ctl = start_controller(&ovs);
    let dp = sbctl(
        &sbr,
        &[
            "create",
            "Datapath_Binding",
            "tunnel_key=1",
            "external_ids:logical-switch=ls1uuid",
            "external_ids:name=ls1",
        ],
    );
    sbctl(
        &sbr,
        &[
            "create",
            "Port_Binding",
            "logical_port=ln1",
            &format!("datapath={dp}"),
            "tunnel_key=2",
            "type=localnet",
            "options:network_name=physnet1",
            "mac=unknown",
        ],
    );
    sbctl(
        &sbr,
        &[
            "create",
            "Port_Binding",
            "logical_port=vm1",
            &format!("datapath={dp}"),
            "tunnel_key=1",
        ],
    );
    wait!(ovs, "Chassis hv1", || sbctl_try(
        &sbr,
        &["--bare", "--columns=name", "list", "Chassis"]
    ) == "hv1");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        vsctl_try(&ovs, &["list-ports", "br-int"]).is_empty(),
        "no local datapath yet"
    );
    ovs.vsctl(&[
        "add-port",
        "br-int",
        "vm1",
        "--",
        "set",
        "Interface",
        "vm1",
        "external_ids:iface-id=vm1",
    ]);
    wait!(ovs, "patch ports", || {
        vsctl_try(&ovs, &["get", "Interface", "patch-br-int-to-ln1", "options:peer"]) == "patch-ln1-to-br-int"
            && vsctl_try(&ovs, &["get", "Interface", "patch-ln1-to-br-int", "options:peer"])
                == "patch-br-int-to-ln1"
    });
    assert_eq!(
        ovs.vsctl(&["port-to-br", "patch-ln1-to-br-int"]).trim(),
        "br-phys"
    );
    assert_eq!(
        ovs.vsctl(&[
            "get",
            "Port",
            "patch-br-int-to-ln1",
            "external_ids:ovn-localnet-port"
        ])
        .trim(),
        "ln1"
    );
    let zones = ovs.vsctl(&["br-get-external-id", "br-int"]);
    for z in [
        "ct-zone-vm1=",
        "ct-zone-ln1=",
        &format!("ct-zone-{dp}_dnat="),
        &format!("ct-zone-{dp}_snat="),
    ] {
        assert!(zones.contains(z), "{z} missing in {zones}");
    }
    ovs.vsctl(&["del-port", "br-int", "vm1"]);
    wait!(ovs, "patch ports removed", || {
        vsctl_try(
            &ovs,
            &[
                "--bare",
                "--columns=name",
                "find",
                "Port",
                "external_ids:ovn-localnet-port=ln1",
            ],
        )
        .is_empty()
    });
}

/// With real ovn-northd: a distributed gateway port's `cr-` port is claimed by
/// the highest-priority gateway chassis, and moves when priorities change;
/// `ovn-nbctl --wait=hv` completes through our nb_cfg acknowledgement.
/// NB and SB ovsdb-servers with Debian's ovn-northd between them (test only).
fn ovn_central() -> (testbed::OvnDbs, testbed::Daemon) {
    let dbs = testbed::OvnDbs::start();
    let (nb, sbr) = (dbs.nb.remote(), dbs.sb.remote());
    let northd = testbed::Daemon::spawn(
        "ovn-northd",
        Command::new("ovn-northd")
            .arg(format!("--ovnnb-db={nb}"))
            .arg(format!("--ovnsb-db={sbr}"))
            .arg(format!("--unixctl={}", dbs.nb.dir.join("northd.ctl").display()))
            .arg(format!("--log-file={}", dbs.nb.dir.join("northd.log").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    (dbs, northd)
}

fn nbctl(nb: &str, args: &[&str]) -> String {
    run(Command::new("ovn-nbctl")
        .arg(format!("--db={nb}"))
        .arg("--timeout=20")
        .args(args))
}

#[test]
fn gateway_port_follows_priority_with_real_northd() {
    if !testbed::require(&[
        "ovsdb-server",
        "ovs-vswitchd",
        "ovs-vsctl",
        "ovn-sbctl",
        "ovn-nbctl",
        "ovn-northd",
    ]) {
        return;
    }
    let (dbs, _northd) = ovn_central();
    let (nb, sbr) = (dbs.nb.remote(), dbs.sb.remote());
    let nbctl = |args: &[&str]| nbctl(&nb, args);
    let ovs = Vswitch::start(Dummy::Override);
    configure(&ovs, &sbr);
    let _ctl = start_controller(&ovs);
    wait!(ovs, "Chassis hv1", || sbctl_try(
        &sbr,
        &["--bare", "--columns=name", "list", "Chassis"]
    ) == "hv1");
    sbctl(&sbr, &["chassis-add", "hv2", "geneve", "127.0.0.2"]);
    nbctl(&["lr-add", "lr1"]);
    nbctl(&["lrp-add", "lr1", "lrp1", "00:00:00:00:ff:01", "10.0.0.1/24"]);
    nbctl(&["lrp-set-gateway-chassis", "lrp1", "hv1", "20"]);
    nbctl(&["lrp-set-gateway-chassis", "lrp1", "hv2", "10"]);
    nbctl(&["--wait=hv", "sync"]);
    let cr = || {
        sbctl_try(
            &sbr,
            &[
                "--bare",
                "--columns=chassis",
                "find",
                "Port_Binding",
                "logical_port=cr-lrp1",
            ],
        )
    };
    let uuid_of = |name: &str| {
        sbctl(
            &sbr,
            &[
                "--bare",
                "--columns=_uuid",
                "find",
                "Chassis",
                &format!("name={name}"),
            ],
        )
    };
    wait!(ovs, "cr-lrp1 on hv1", || cr() == uuid_of("hv1"));
    nbctl(&["lrp-set-gateway-chassis", "lrp1", "hv1", "5"]);
    wait!(ovs, "cr-lrp1 released by hv1", || cr().is_empty());
    nbctl(&["lrp-set-gateway-chassis", "lrp1", "hv1", "30"]);
    wait!(ovs, "cr-lrp1 back on hv1", || cr() == uuid_of("hv1"));
    nbctl(&["--wait=hv", "sync"]);
}

/// `memory/show`'s `idl-rows-<table>` figure.
fn replicated_rows(ovs: &Vswitch, table: &str) -> Option<usize> {
    let out = Command::new("ovs-appctl")
        .envs(ovs.env())
        .args(["-t", "ovn-controller", "memory/show"])
        .output()
        .ok()?;
    let key = format!("idl-rows-{table}:");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&key)?.parse().ok())
}

/// Unless `ovn-monitor-all=true`, a chassis replicates the logical flows and
/// ports of its local datapaths only (and flows shared through datapath
/// groups): a switch with no port here, and not connected to one, stays out of
/// its replica until a port there is bound here; and the port is reported up
/// only with that switch's flows in br-int.
#[test]
fn replicates_only_local_datapaths() {
    if !testbed::require(&[
        "ovsdb-server",
        "ovs-vswitchd",
        "ovs-vsctl",
        "ovs-appctl",
        "ovn-sbctl",
        "ovn-nbctl",
        "ovn-northd",
    ]) {
        return;
    }
    let (dbs, _northd) = ovn_central();
    let (nb, sbr) = (dbs.nb.remote(), dbs.sb.remote());
    let nbctl = |args: &[&str]| nbctl(&nb, args);
    for (ls, port, mac) in [
        ("ls1", "vm1", "50:54:00:00:00:01"),
        ("ls2", "vm2", "50:54:00:00:00:02"),
    ] {
        nbctl(&["ls-add", ls]);
        nbctl(&["lsp-add", ls, port]);
        nbctl(&["lsp-set-addresses", port, &format!("{mac} 10.0.0.{}", &port[2..])]);
    }
    let ovs = Vswitch::start(Dummy::Override);
    configure(&ovs, &sbr);
    let _ctl = start_controller(&ovs);
    wait_br_int(&ovs);
    nbctl(&["--wait=sb", "sync"]);
    let total = sbctl(&sbr, &["--bare", "--columns=_uuid", "list", "Logical_Flow"])
        .lines()
        .filter(|l| !l.is_empty())
        .count();

    // vm1 bound here: ls1 is local, ls2 is not.
    ovs.vsctl(&[
        "add-port",
        "br-int",
        "vm1",
        "--",
        "set",
        "Interface",
        "vm1",
        "type=dummy",
        "external_ids:iface-id=vm1",
    ]);
    nbctl(&["--wait=hv", "sync"]);
    wait!(ovs, "vm1 up", || sbctl_try(
        &sbr,
        &[
            "--bare",
            "--columns=up",
            "find",
            "Port_Binding",
            "logical_port=vm1"
        ]
    ) == "true");
    let one = replicated_rows(&ovs, "Logical_Flow").expect("memory/show answers");
    assert!(
        one < total,
        "{one} of {total} flows replicated with one local switch"
    );
    let ports_one = replicated_rows(&ovs, "Port_Binding").unwrap();
    assert_eq!(ports_one, 1, "only vm1's binding (no patch ports here)");

    // vm2 bound here too: ls2's rows arrive, and vm2 is up only with its flows in.
    ovs.vsctl(&[
        "add-port",
        "br-int",
        "vm2",
        "--",
        "set",
        "Interface",
        "vm2",
        "type=dummy",
        "external_ids:iface-id=vm2",
    ]);
    wait!(ovs, "vm2 up", || sbctl_try(
        &sbr,
        &[
            "--bare",
            "--columns=up",
            "find",
            "Port_Binding",
            "logical_port=vm2"
        ]
    ) == "true");
    let dump = ovs.ofctl("dump-flows", "br-int", &[]);
    assert!(
        dump.contains("50:54:00:00:00:02"),
        "vm2's MAC in br-int's flows when it is up"
    );
    let both = replicated_rows(&ovs, "Logical_Flow").unwrap();
    assert_eq!(both, total, "every flow replicated with both switches local");
    assert_eq!(replicated_rows(&ovs, "Port_Binding").unwrap(), 2);

    // ovn-monitor-all: everything, whatever is local.
    ovs.vsctl(&["del-port", "br-int", "vm2"]);
    wait!(ovs, "ls2 dropped", || replicated_rows(&ovs, "Logical_Flow")
        == Some(one));
    ovs.vsctl(&["set", "Open_vSwitch", ".", "external_ids:ovn-monitor-all=true"]);
    wait!(ovs, "everything with ovn-monitor-all", || replicated_rows(
        &ovs,
        "Logical_Flow"
    ) == Some(total));
}
