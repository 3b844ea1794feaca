//! The main loop: keeps the local Open_vSwitch and the Southbound databases
//! monitored, and on every change brings br-int, the chassis rows, tunnels,
//! bindings and conntrack zones to where they should be, then hands the
//! resulting [`LocalState`] to the OpenFlow side. Writes that must follow flow
//! installation (`Port_Binding.up`, `ovn-installed`, `nb_cfg`) wait for the
//! OpenFlow side's acknowledgement of the state they depend on.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use daemon::unixctl::{Request, Unixctl};
use ovsdb::Operation;
use ovsdb::remote::Remote;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::sleep_until;

use crate::binding::{self, Action, LocalIface, Me};
use crate::bridge;
use crate::chassis::{self, LocalFacts};
use crate::config::{self, ChassisConfig};
use crate::db::DbConn;
use crate::local;
use crate::mac_binding::{self, Learned};
use crate::of::state::LocalState;
use crate::ofside::{Feedback, FlowSink};
use crate::patch;
use crate::row;
use crate::sb_monitor;
use crate::tunnels;
use crate::vswitch::{self, Bridge, Interface, OpenVswitch, Port};

const RETRY_AFTER_ERROR: Duration = Duration::from_secs(1);
/// Learned neighbours kept while they cannot be written.
const MAX_PENDING_LEARNED: usize = 4096;

/// unixctl commands besides the built-ins.
pub const COMMANDS: &[&str] = &["exit", "recompute", "connection-status"];

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Where one pass spent its time, logged at debug level (the figures behind
/// the "one new port" benchmark): wall-clock milliseconds per step, and the
/// CPU time of the thread the step ran on (a step that awaited a
/// transaction may have moved between threads; its CPU figure is then only
/// indicative).
struct Laps {
    start: Instant,
    last: (Instant, Duration),
    laps: Vec<(&'static str, Duration, Duration)>,
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill in.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Laps {
    fn new() -> Laps {
        let now = Instant::now();
        Laps {
            start: now,
            last: (now, thread_cpu()),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, what: &'static str) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let now = (Instant::now(), thread_cpu());
        self.laps
            .push((what, now.0 - self.last.0, now.1.saturating_sub(self.last.1)));
        self.last = now;
    }

    fn log(&self, kind: &str) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let ms = |d: &Duration| d.as_secs_f64() * 1e3;
        let laps: Vec<String> = self
            .laps
            .iter()
            .map(|(w, wall, cpu)| format!("{w} {:.2}/{:.2}", ms(wall), ms(cpu)))
            .collect();
        tracing::debug!(
            "{kind} pass: {:.2} ms (wall/cpu ms: {})",
            ms(&self.start.elapsed()),
            laps.join(", ")
        );
    }
}

fn ovs_tables() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (
            OpenVswitch::TABLE,
            vec![
                OpenVswitch::COL_EXTERNAL_IDS,
                OpenVswitch::COL_BRIDGES,
                OpenVswitch::COL_DATAPATH_TYPES,
                OpenVswitch::COL_IFACE_TYPES,
                OpenVswitch::COL_OTHER_CONFIG,
            ],
        ),
        (
            Bridge::TABLE,
            vec![
                Bridge::COL_NAME,
                Bridge::COL_PORTS,
                Bridge::COL_EXTERNAL_IDS,
                Bridge::COL_DATAPATH_TYPE,
                Bridge::COL_FAIL_MODE,
                Bridge::COL_OTHER_CONFIG,
            ],
        ),
        (
            Port::TABLE,
            vec![Port::COL_NAME, Port::COL_INTERFACES, Port::COL_EXTERNAL_IDS],
        ),
        (
            Interface::TABLE,
            vec![
                Interface::COL_NAME,
                Interface::COL_TYPE,
                Interface::COL_OPTIONS,
                Interface::COL_EXTERNAL_IDS,
                Interface::COL_OFPORT,
                Interface::COL_ERROR,
            ],
        ),
    ]
}

/// The monitored Southbound tables and columns (held typed in `sb::SbTables`).
fn sb_tables() -> Vec<(&'static str, Vec<&'static str>)> {
    use ovn_db::sb::*;
    vec![
        (SbGlobal::TABLE, vec![SbGlobal::COL_NB_CFG, SbGlobal::COL_OPTIONS]),
        (
            Chassis::TABLE,
            vec![
                Chassis::COL_NAME,
                Chassis::COL_HOSTNAME,
                Chassis::COL_ENCAPS,
                Chassis::COL_OTHER_CONFIG,
                Chassis::COL_TRANSPORT_ZONES,
                Chassis::COL_EXTERNAL_IDS,
            ],
        ),
        (
            ChassisPrivate::TABLE,
            vec![
                ChassisPrivate::COL_NAME,
                ChassisPrivate::COL_CHASSIS,
                ChassisPrivate::COL_NB_CFG,
                ChassisPrivate::COL_NB_CFG_TIMESTAMP,
            ],
        ),
        (
            Encap::TABLE,
            vec![
                Encap::COL_TYPE,
                Encap::COL_IP,
                Encap::COL_OPTIONS,
                Encap::COL_CHASSIS_NAME,
            ],
        ),
        (
            DatapathBinding::TABLE,
            vec![DatapathBinding::COL_TUNNEL_KEY, DatapathBinding::COL_EXTERNAL_IDS],
        ),
        (
            PortBinding::TABLE,
            vec![
                PortBinding::COL_LOGICAL_PORT,
                PortBinding::COL_TYPE,
                PortBinding::COL_DATAPATH,
                PortBinding::COL_TUNNEL_KEY,
                PortBinding::COL_CHASSIS,
                PortBinding::COL_ADDITIONAL_CHASSIS,
                PortBinding::COL_ENCAP,
                PortBinding::COL_OPTIONS,
                PortBinding::COL_MAC,
                PortBinding::COL_PORT_SECURITY,
                PortBinding::COL_REQUESTED_CHASSIS,
                PortBinding::COL_REQUESTED_ADDITIONAL_CHASSIS,
                PortBinding::COL_UP,
                PortBinding::COL_PARENT_PORT,
                PortBinding::COL_TAG,
                PortBinding::COL_HA_CHASSIS_GROUP,
                PortBinding::COL_GATEWAY_CHASSIS,
            ],
        ),
        (
            HaChassisGroup::TABLE,
            vec![HaChassisGroup::COL_NAME, HaChassisGroup::COL_HA_CHASSIS],
        ),
        (
            HaChassis::TABLE,
            vec![HaChassis::COL_CHASSIS, HaChassis::COL_PRIORITY],
        ),
        (
            GatewayChassis::TABLE,
            vec![
                GatewayChassis::COL_NAME,
                GatewayChassis::COL_CHASSIS,
                GatewayChassis::COL_PRIORITY,
            ],
        ),
        (
            MulticastGroup::TABLE,
            vec![
                MulticastGroup::COL_DATAPATH,
                MulticastGroup::COL_NAME,
                MulticastGroup::COL_TUNNEL_KEY,
                MulticastGroup::COL_PORTS,
            ],
        ),
        (
            LogicalFlow::TABLE,
            vec![
                LogicalFlow::COL_LOGICAL_DATAPATH,
                LogicalFlow::COL_LOGICAL_DP_GROUP,
                LogicalFlow::COL_PIPELINE,
                LogicalFlow::COL_TABLE_ID,
                LogicalFlow::COL_PRIORITY,
                LogicalFlow::COL_MATCH,
                LogicalFlow::COL_ACTIONS,
            ],
        ),
        (LogicalDpGroup::TABLE, vec![LogicalDpGroup::COL_DATAPATHS]),
        (
            MacBinding::TABLE,
            vec![
                MacBinding::COL_LOGICAL_PORT,
                MacBinding::COL_IP,
                MacBinding::COL_MAC,
                MacBinding::COL_DATAPATH,
            ],
        ),
        (
            StaticMacBinding::TABLE,
            vec![
                StaticMacBinding::COL_LOGICAL_PORT,
                StaticMacBinding::COL_IP,
                StaticMacBinding::COL_MAC,
                StaticMacBinding::COL_OVERRIDE_DYNAMIC_MAC,
                StaticMacBinding::COL_DATAPATH,
            ],
        ),
        (
            LoadBalancer::TABLE,
            vec![
                LoadBalancer::COL_NAME,
                LoadBalancer::COL_VIPS,
                LoadBalancer::COL_PROTOCOL,
                LoadBalancer::COL_DATAPATHS,
                LoadBalancer::COL_DATAPATH_GROUP,
                LoadBalancer::COL_OPTIONS,
            ],
        ),
        (
            AddressSet::TABLE,
            vec![AddressSet::COL_NAME, AddressSet::COL_ADDRESSES],
        ),
        (PortGroup::TABLE, vec![PortGroup::COL_NAME, PortGroup::COL_PORTS]),
    ]
}

/// What the main loop reads from br-int's ports (local VIFs, tunnel and
/// localnet patch ports), read again only when the Bridge, Port or Interface
/// table changed: a pass for a Southbound change does not walk every port.
#[derive(Default)]
struct BrIntPorts {
    key: Option<(String, Vec<u64>)>,
    ifaces: Arc<BTreeMap<String, LocalIface>>,
    tunnels: BTreeMap<String, tunnels::Existing>,
    localnet_ofports: BTreeMap<String, u32>,
}

impl BrIntPorts {
    fn refresh(&mut self, ovs: &crate::db::Replica, bridge_name: &str) {
        let stamps = ovs.stamps(&[Bridge::TABLE, Port::TABLE, Interface::TABLE]);
        if self
            .key
            .as_ref()
            .is_some_and(|(b, s)| b == bridge_name && *s == stamps)
        {
            return;
        }
        let (ifaces, tunnels, localnet) = match bridge::find(ovs, bridge_name) {
            Some((_, br)) => (
                binding::local_ifaces(ovs, br),
                tunnels::existing(ovs, br),
                patch::localnet_ofports(ovs, br),
            ),
            None => Default::default(),
        };
        self.ifaces = Arc::new(ifaces);
        self.tunnels = tunnels;
        self.localnet_ofports = localnet;
        self.key = Some((bridge_name.to_string(), stamps));
    }
}

/// What the conntrack zones were last planned from, and the result: zones
/// are planned again only when the names needing one or br-int's row changed.
#[derive(Default)]
struct ZoneCache {
    key: Option<ZoneKey>,
    zones: Arc<BTreeMap<String, u16>>,
}

/// The inputs of a zone plan.
struct ZoneKey {
    /// Only which names have an ofport matters.
    ifaces: Arc<BTreeMap<String, LocalIface>>,
    local_dps: BTreeSet<ovsdb::Uuid>,
    /// Datapath_Binding's stamp (`snat-ct-zone` requests).
    dp_stamp: u64,
    /// The ports (not VIFs) needing a zone.
    ports: BTreeSet<String>,
    /// br-int's stamp (the zones persisted in it).
    br_stamp: u64,
}

/// The names of `ifaces` with an ofport, in order.
fn vif_names(ifaces: &BTreeMap<String, LocalIface>) -> impl Iterator<Item = &String> {
    ifaces.iter().filter(|(_, i)| i.has_ofport()).map(|(n, _)| n)
}

/// The inputs of `after_install` a full pass computed, and the database
/// versions it computed them from.
struct LastPass {
    key: (u64, u64, bool),
    cfg: ChassisConfig,
    me: Me,
    ifaces: Arc<BTreeMap<String, LocalIface>>,
    tunnels_ready: bool,
}

/// Monitor-all, chassis row and name, VIFs needing a clause, local datapaths:
/// equal inputs give equal Southbound monitor conditions.
type ConditionInputs = (bool, ovsdb::Uuid, String, BTreeSet<String>, BTreeSet<ovsdb::Uuid>);

pub struct Controller {
    ovs: DbConn,
    sb: DbConn,
    default_hostname: String,
    cfg: Option<ChassisConfig>,
    last_config_error: Option<String>,
    flows: Box<dyn FlowSink>,
    feedback: Feedback,
    /// Last state handed to the OpenFlow side, and its sequence number.
    last_state: Option<Arc<LocalState>>,
    /// The zones the last assembled state was given.
    last_zones: Option<Arc<BTreeMap<String, u16>>>,
    /// Builds states sharing unchanged rows with the last one.
    builder: local::StateBuilder,
    /// Replica versions the last state was built from.
    last_inputs: Option<(u64, u64)>,
    seqno: u64,
    /// Highest sequence number the OpenFlow side acknowledged.
    acked: u64,
    /// `SB_Global.nb_cfg` waiting for the acknowledgement of a sequence number.
    nb_cfg_pending: Option<(i64, u64)>,
    /// Per bound port: the sequence number whose ack means its flows are in.
    install_seq: HashMap<String, u64>,
    last_claim: HashMap<String, Instant>,
    planner: binding::Planner,
    br_int: BrIntPorts,
    zone_cache: ZoneCache,
    learned: Vec<Learned>,
    wake_at: Option<Instant>,
    force: bool,
    /// The next pass must be a full one (not only [`Controller::after_install`]).
    full: bool,
    /// What the last full pass worked from, for passes where nothing but
    /// `SB_Global` changed (`nb_cfg`) or only the OpenFlow side acknowledged.
    last_pass: Option<LastPass>,
    /// When this process started (ms), recorded once in br-int `ovn-startup-ts`.
    startup_ms: i64,
    startup_recorded: bool,
    /// The SB was connected (and synced) when the current pass took its snapshot.
    sb_ready: bool,
    /// What the Southbound monitor conditions were last set from.
    sb_condition_inputs: Option<ConditionInputs>,
}

impl Controller {
    pub fn new(ovs_remote: Remote, flows: Box<dyn FlowSink>, feedback: Feedback) -> Controller {
        let mut ovs = DbConn::new(vswitch::DATABASE, false, ovs_tables());
        ovs.set_remotes(vec![ovs_remote]);
        Controller {
            ovs,
            sb: DbConn::new(ovn_db::sb::DATABASE, true, sb_tables()),
            default_hostname: config::system_hostname(),
            cfg: None,
            last_config_error: None,
            flows,
            feedback,
            last_state: None,
            last_zones: None,
            builder: local::StateBuilder::default(),
            last_inputs: None,
            seqno: 0,
            acked: 0,
            nb_cfg_pending: None,
            install_seq: HashMap::new(),
            last_claim: HashMap::new(),
            planner: binding::Planner::default(),
            br_int: BrIntPorts::default(),
            zone_cache: ZoneCache::default(),
            learned: Vec::new(),
            wake_at: None,
            force: true,
            full: true,
            last_pass: None,
            startup_ms: now_ms(),
            startup_recorded: false,
            sb_ready: false,
            sb_condition_inputs: None,
        }
    }

    /// Runs until `exit` (unixctl; removes this chassis's rows unless
    /// `exit --restart`) or SIGTERM/SIGINT (keeps them).
    pub async fn run(mut self, mut unixctl: Unixctl) -> anyhow::Result<()> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        loop {
            if self.force || self.ovs.changed || self.sb.changed {
                self.reconcile().await;
            }
            let next = self
                .wake_at
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                _ = self.ovs.recv() => self.ovs.handle(),
                _ = self.sb.recv() => self.sb.handle(),
                Some(a) = self.feedback.acks.recv() => {
                    // Not `max`: a lost switch connection resets it to 0.
                    if a != self.acked {
                        tracing::debug!("flow state #{a} acknowledged");
                        self.acked = a;
                        self.force = true;
                    }
                }
                Some(l) = self.feedback.learned.recv() => {
                    // Bounded while the SB is unreachable; later reports win anyway.
                    if self.learned.len() >= MAX_PENDING_LEARNED {
                        self.learned.remove(0);
                    }
                    self.learned.push(l);
                    self.force = true;
                }
                req = unixctl.next() => {
                    let Some(req) = req else { continue };
                    if self.command(req).await.is_some() {
                        return Ok(());
                    }
                }
                // A signal is a restart as far as the rest of the cloud is
                // concerned (systemd, a package upgrade): keep the Chassis so
                // other hosts keep their tunnels and flows toward us, as
                // ovn-controller does. `ovs-appctl exit` is the clean goodbye.
                _ = term.recv() => {
                    tracing::info!("terminating on SIGTERM (chassis kept)");
                    return Ok(());
                }
                _ = int.recv() => {
                    tracing::info!("terminating on SIGINT (chassis kept)");
                    return Ok(());
                }
                _ = sleep_until(next.into()) => {
                    if self.wake_at.is_some_and(|w| w <= Instant::now()) {
                        self.wake_at = None;
                        self.force = true;
                        self.full = true;
                    }
                }
            }
        }
    }

    /// Handles a unixctl command; returns `Some(restart)` for `exit`.
    async fn command(&mut self, req: Request) -> Option<bool> {
        match req.command.clone().as_str() {
            "exit" => {
                let restart = req.args.iter().any(|a| a == "--restart");
                // The reply goes out once the rows are gone, as ovn-controller does.
                self.shutdown(restart).await;
                req.reply(Ok(String::new()));
                // Let the control connection write the reply before the runtime
                // (and its tasks) go away.
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some(restart)
            }
            "recompute" => {
                self.flows.recompute();
                self.last_state = None;
                self.last_inputs = None;
                self.force = true;
                self.full = true;
                req.reply(Ok(String::new()));
                None
            }
            "memory/show" => {
                req.reply(Ok(format!("{}\n", self.memory_report())));
                None
            }
            "connection-status" => {
                let s = if self.sb.is_connected() {
                    "connected"
                } else {
                    "not connected"
                };
                req.reply(Ok(format!("{s}\n")));
                None
            }
            c => {
                req.reply(Err(format!("\"{c}\" is not a valid command\n")));
                None
            }
        }
    }

    /// `memory/show`: ovn-controller's `idl-cells-<database>` figures, and
    /// rovn's rows per Southbound table whose rows depend on what is local.
    fn memory_report(&self) -> String {
        let sb = self.sb.usage();
        let cells = |u: &BTreeMap<String, (usize, usize)>| u.values().map(|(_, c)| c).sum::<usize>();
        let mut out = vec![
            format!("idl-cells-{}:{}", self.sb.db, cells(&sb)),
            format!("idl-cells-{}:{}", self.ovs.db, cells(&self.ovs.usage())),
        ];
        for t in sb_monitor::CONDITIONED {
            out.push(format!("idl-rows-{t}:{}", sb.get(t).map_or(0, |(r, _)| *r)));
        }
        out.join(" ")
    }

    /// Removes Chassis and Chassis_Private unless restarting. Idempotent.
    async fn shutdown(&mut self, restart: bool) {
        if restart {
            return;
        }
        let Some(cfg) = &self.cfg else { return };
        if !self.sb.is_connected() {
            tracing::warn!(
                "exiting without removing chassis {}: not connected to SB",
                cfg.system_id
            );
            return;
        }
        let name = cfg.system_id.clone();
        match self.sb.transact(chassis::delete_ops(&name)).await {
            Ok(_) => tracing::info!("removed chassis {name} from the Southbound database"),
            Err(e) => tracing::warn!("removing chassis {name}: {e}"),
        }
    }

    fn retry_later(&mut self) {
        let at = Instant::now() + RETRY_AFTER_ERROR;
        self.wake_at = Some(self.wake_at.map_or(at, |w| w.min(at)));
    }

    async fn ovs_txn(&mut self, what: &str, ops: Vec<Operation>) -> bool {
        if ops.is_empty() {
            return true;
        }
        match self.ovs.transact(ops).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!("{what}: local database transaction failed: {e}");
                self.retry_later();
                false
            }
        }
    }

    async fn sb_txn(&mut self, what: &str, ops: Vec<Operation>) -> bool {
        if ops.is_empty() {
            return true;
        }
        match self.sb.transact(ops).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!("{what}: Southbound transaction failed: {e}");
                self.retry_later();
                false
            }
        }
    }

    /// One pass: brings everything this controller owns up to date.
    async fn reconcile(&mut self) {
        self.force = false;
        let mut laps = Laps::new();
        // Connection states first, then the snapshots: a session that is
        // connected (and so synced) now has its contents in the refresh.
        let ovs_up = self.ovs.is_connected();
        self.sb_ready = self.sb.is_connected();
        self.ovs.refresh();
        self.sb.refresh();
        self.ovs.changed = false;
        self.sb.changed = false;
        laps.lap("refresh");
        if !ovs_up {
            return;
        }
        // Everything but `after_install` depends only on what the key covers.
        let key = (
            self.ovs.version(),
            self.sb.replica.sb.stamp_except(&[ovn_db::sb::SbGlobal::TABLE]),
            self.sb_ready,
        );
        let full = std::mem::take(&mut self.full);
        if full {
            self.planner.rescan();
        }
        if !full
            && self.sb_ready
            && let Some(p) = self.last_pass.take_if(|p| p.key == key)
        {
            self.after_install(&p.cfg, &p.me, &p.ifaces, p.tunnels_ready)
                .await;
            self.record_learned().await;
            self.last_pass = Some(p);
            laps.lap("after_install");
            laps.log("post-install");
            return;
        }
        self.last_pass = None;
        // Configuration.
        let Some((ids, iface_types)) = bridge::root(&self.ovs.replica).map(|(_, root)| {
            (
                row::smap(root, OpenVswitch::COL_EXTERNAL_IDS),
                row::strings(root, OpenVswitch::COL_IFACE_TYPES),
            )
        }) else {
            return;
        };
        if !self.sb.has_session() {
            // The first monitor request already asks only for what is local,
            // as far as known before the Southbound: the bindings the VIFs
            // name (after a restart, their datapaths follow in one round).
            let bridge = config::parse(&ids, &self.default_hostname).map_or("br-int".into(), |c| c.bridge);
            self.br_int.refresh(&self.ovs.replica, &bridge);
            let ifaces: BTreeSet<String> = self.br_int.ifaces.keys().cloned().collect();
            let local = sb_monitor::Local {
                chassis: None,
                ifaces: &ifaces,
                datapaths: &BTreeSet::new(),
            };
            let conds = sb_monitor::conditions(config::monitor_all(&ids), local);
            // Without a session nothing is sent, so this cannot fail.
            let _ = self.sb.set_conditions(conds).await;
        }
        if let Some(r) = config::remote(&ids) {
            match Remote::parse_list(&r) {
                Ok(list) => self.sb.set_remotes(list),
                Err(e) => self.config_error(format!("bad ovn-remote: {e}")),
            }
        }
        let cfg = match config::parse(&ids, &self.default_hostname) {
            Ok(c) => c,
            Err(e) => {
                self.config_error(format!("not registering the chassis: {e}"));
                return;
            }
        };
        self.last_config_error = None;
        self.cfg = Some(cfg.clone());

        // The integration bridge.
        let ops = bridge::ensure_ops(&self.ovs.replica, &cfg);
        if !self.ovs_txn("integration bridge", ops).await {
            return;
        }
        let Some((br_uuid, br)) = bridge::find(&self.ovs.replica, &cfg.bridge) else {
            return;
        };
        let datapath_type = row::str(br, Bridge::COL_DATAPATH_TYPE).to_string();
        if !self.startup_recorded {
            let op = bridge::set_map_keys(
                Bridge::TABLE,
                br_uuid,
                Bridge::COL_EXTERNAL_IDS,
                &[("ovn-startup-ts".into(), self.startup_ms.to_string())],
            );
            self.startup_recorded = self.ovs_txn("ovn-startup-ts", vec![op]).await;
        }
        laps.lap("bridge");
        let facts = LocalFacts {
            datapath_type,
            iface_types,
        };
        if !self.sb_ready {
            return;
        }

        // Chassis registration.
        let spec = chassis::spec(&cfg, &facts);
        let ops = chassis::sync_ops(&self.sb.replica, &spec);
        if !self.sb_txn("chassis registration", ops).await {
            return;
        }
        let Some((me_uuid, _)) = chassis::find(&self.sb.replica, &cfg.system_id) else {
            return;
        };
        let me = Me {
            name: cfg.system_id.clone(),
            hostname: cfg.hostname.clone(),
            uuid: me_uuid,
        };
        laps.lap("chassis");

        // Tunnels.
        let want_tunnels = tunnels::desired(&self.sb.replica, &cfg);
        self.br_int.refresh(&self.ovs.replica, &cfg.bridge);
        if let Some((_, br)) = bridge::find(&self.ovs.replica, &cfg.bridge) {
            let ops = tunnels::sync_ops(
                &self.ovs.replica,
                br_uuid,
                br,
                &self.br_int.tunnels,
                &want_tunnels,
            );
            self.ovs_txn("tunnels", ops).await;
        }
        laps.lap("tunnels");

        // Bindings.
        self.br_int.refresh(&self.ovs.replica, &cfg.bridge);
        let ifaces = self.br_int.ifaces.clone();
        let now = Instant::now();
        laps.lap("ifaces");
        let plan = self
            .planner
            .plan(&self.sb.replica, &me, &ifaces, &self.last_claim, now);
        laps.lap("binding plan");
        if let Some(w) = plan.wake_at {
            self.wake_at = Some(self.wake_at.map_or(w, |x| x.min(w)));
        }
        if !plan.actions.is_empty()
            && self
                .sb_txn("port binding", binding::action_ops(&me, &plan.actions))
                .await
        {
            for a in &plan.actions {
                if let Action::Claim { port, .. } = a {
                    self.last_claim.insert(port.clone(), now);
                }
            }
        }
        laps.lap("claims");
        // `ifaces` still holds: only the Southbound changed since.

        // Conntrack zones.
        let local_dps = local::local_datapaths(&self.sb.replica, me.uuid, &me.name);
        laps.lap("local dps");

        // Southbound rows of what is local. When that grew or shrank, nothing
        // is computed from this snapshot: the next pass has the new rows (a
        // port on a datapath that just became local must not be reported up
        // with that datapath's flows missing).
        // A VIF whose binding is on a local datapath needs no clause of its
        // own (the datapath's brings it): a new VM on a network this host
        // already has costs no condition change.
        let t = &self.sb.replica.sb;
        let iface_ids: BTreeSet<String> = ifaces
            .keys()
            .filter(|name| {
                !t.ports
                    .named(name)
                    .filter_map(|u| t.port_binding.get(&u))
                    .any(|pb| local_dps.contains(&pb.datapath))
            })
            .cloned()
            .collect();
        let inputs = (cfg.monitor_all, me.uuid, &me.name, &iface_ids, &local_dps);
        let same_inputs = self
            .sb_condition_inputs
            .as_ref()
            .is_some_and(|(all, uuid, name, ifs, dps)| (*all, *uuid, name, ifs, dps) == inputs);
        let local = sb_monitor::Local {
            chassis: Some((&me.name, me.uuid)),
            ifaces: &iface_ids,
            datapaths: &local_dps,
        };
        // Equal inputs give equal conditions: most passes build no clauses.
        let changed = match same_inputs {
            true => Ok(false),
            false => {
                let r = self
                    .sb
                    .set_conditions(sb_monitor::conditions(cfg.monitor_all, local))
                    .await;
                if r.is_ok() {
                    self.sb_condition_inputs = Some((
                        cfg.monitor_all,
                        me.uuid,
                        me.name.clone(),
                        iface_ids.clone(),
                        local_dps.clone(),
                    ));
                }
                r
            }
        };
        match changed {
            Ok(false) => {}
            Ok(true) => {
                laps.lap("conditions");
                laps.log(&format!(
                    "conditions-changing ({} local datapaths)",
                    local_dps.len()
                ));
                self.force = true;
                return;
            }
            Err(e) => {
                tracing::warn!("changing Southbound monitor conditions: {e}");
                self.retry_later();
                return;
            }
        }
        laps.lap("conditions");

        // Patch ports to the provider bridges, for localnet ports.
        let want = patch::desired(
            &self.sb.replica,
            &self.ovs.replica,
            &cfg.bridge,
            &patch::parse_mappings(&cfg.bridge_mappings),
            &local_dps,
        );
        let ops = patch::sync_ops(&self.ovs.replica, &want);
        self.ovs_txn("patch ports", ops).await;
        laps.lap("patch");

        let zones = self.zones(&cfg, &me, &ifaces, local_dps, br_uuid).await;
        laps.lap("zones");

        // Flows: rebuilt only when a replica changed since the last build.
        let inputs = (self.ovs.version(), self.sb.version());
        if self.last_inputs != Some(inputs) || self.last_state.is_none() {
            self.last_inputs = Some(inputs);
            self.submit_state(&cfg, &me, &ifaces, &zones);
        }
        laps.lap("state");

        // Flows computed from this SB contents include the tunnels to every
        // chassis: nb_cfg is acknowledged only once they all have an ofport.
        self.br_int.refresh(&self.ovs.replica, &cfg.bridge);
        let have = &self.br_int.tunnels;
        let tunnels_ready = bridge::find(&self.ovs.replica, &cfg.bridge).is_some()
            && want_tunnels
                .keys()
                .all(|id| have.get(id).and_then(|e| e.ofport).is_some_and(|p| p > 0));
        laps.lap("tunnels ready");
        self.after_install(&cfg, &me, &ifaces, tunnels_ready).await;
        self.record_learned().await;
        laps.lap("after_install");
        self.last_pass = Some(LastPass {
            key,
            cfg,
            me,
            ifaces,
            tunnels_ready,
        });
        laps.log("full");
    }

    /// Builds the OpenFlow side's input and hands it over if it changed. The
    /// state is assembled (every row list copied) only when a Southbound part
    /// or a local part changed.
    fn submit_state(
        &mut self,
        cfg: &ChassisConfig,
        me: &Me,
        ifaces: &BTreeMap<String, LocalIface>,
        zones: &Arc<BTreeMap<String, u16>>,
    ) {
        let sb_changed = self.builder.update(&self.sb.replica);
        let vifs = || {
            ifaces
                .iter()
                .filter_map(|(n, i)| Some((n, u32::try_from(i.ofport?).ok().filter(|p| *p > 0)?)))
        };
        self.br_int.refresh(&self.ovs.replica, &cfg.bridge);
        let tunnel_ofports = tunnels::ofports(&self.br_int.tunnels);
        if !sb_changed
            && let Some(last) = &self.last_state
            && last.chassis_name == me.name
            && last.tunnel_ofports == tunnel_ofports
            && last.localnet_ofports == self.br_int.localnet_ofports
            && self.last_zones.as_ref().is_some_and(|z| Arc::ptr_eq(z, zones))
            && last.vif_ofports.iter().map(|(n, p)| (n, *p)).eq(vifs())
        {
            return;
        }
        let vif_ofports = vifs().map(|(n, p)| (n.clone(), p)).collect();
        let mut state = self
            .builder
            .assemble(&me.name, vif_ofports, tunnel_ofports, (**zones).clone());
        state.localnet_ofports = self.br_int.localnet_ofports.clone();
        self.last_zones = Some(zones.clone());
        if self.last_state.as_deref() != Some(&state) {
            self.seqno += 1;
            let state = Arc::new(state);
            self.flows.install(state.clone(), self.seqno);
            self.last_state = Some(state);
        }
    }

    fn config_error(&mut self, msg: String) {
        if self.last_config_error.as_deref() != Some(msg.as_str()) {
            tracing::warn!("{msg}");
            self.last_config_error = Some(msg);
        }
    }

    /// Conntrack zones for everything local, allocated and persisted in
    /// br-int; planned again only when their inputs changed.
    async fn zones(
        &mut self,
        cfg: &ChassisConfig,
        me: &Me,
        ifaces: &Arc<BTreeMap<String, LocalIface>>,
        local_dps: BTreeSet<ovsdb::Uuid>,
        br_uuid: ovsdb::Uuid,
    ) -> Arc<BTreeMap<String, u16>> {
        let ports = local::zone_ports(&self.sb.replica, &local_dps, &me.name);
        let dp_stamp = self.sb.replica.stamp(ovn_db::sb::DatapathBinding::TABLE);
        let br_stamp = self.ovs.replica.stamp(Bridge::TABLE);
        if let Some(k) = &self.zone_cache.key
            && (Arc::ptr_eq(&k.ifaces, ifaces) || vif_names(&k.ifaces).eq(vif_names(ifaces)))
            && k.local_dps == local_dps
            && k.dp_stamp == dp_stamp
            && k.ports == ports
            && k.br_stamp == br_stamp
        {
            return self.zone_cache.zones.clone();
        }
        let vifs: BTreeSet<String> = vif_names(ifaces).cloned().collect();
        let (needed, requested) = local::zone_names(&self.sb.replica, &local_dps, &vifs, &me.name);
        let persisted = bridge::find(&self.ovs.replica, &cfg.bridge)
            .map(|(_, br)| bridge::persisted_zones(br))
            .unwrap_or_default();
        let plan = bridge::plan_zones(&persisted, &needed, &requested);
        if !self
            .ovs_txn("conntrack zones", bridge::zone_ops(br_uuid, &plan))
            .await
        {
            // Planned again next time.
            self.zone_cache.key = None;
            return Arc::new(persisted);
        }
        // A write changes br-int's row, so the next pass plans once more
        // from what was persisted (nothing to write then, unless someone else
        // wrote meanwhile).
        self.zone_cache.key = Some(ZoneKey {
            ifaces: ifaces.clone(),
            local_dps,
            dp_stamp,
            ports,
            br_stamp,
        });
        self.zone_cache.zones = Arc::new(plan.zones);
        self.zone_cache.zones.clone()
    }

    /// Writes what depends on installed flows: `Port_Binding.up`,
    /// `ovn-installed`, `Chassis_Private.nb_cfg` and br-int's `ovn-nb-cfg`.
    async fn after_install(
        &mut self,
        cfg: &ChassisConfig,
        me: &Me,
        ifaces: &BTreeMap<String, LocalIface>,
        tunnels_ready: bool,
    ) {
        let mut sb_ops = Vec::new();
        let mut ovs_ops = Vec::new();
        let ts = now_ms();
        let t = &self.sb.replica.sb;
        // The row bound here under a name (the last one, should there be several).
        let bound_here = |port: &str| {
            t.ports
                .named(port)
                .filter_map(|u| Some((u, t.port_binding.get(&u)?)))
                .filter(|(_, pb)| pb.chassis == Some(me.uuid))
                .last()
        };
        self.install_seq
            .retain(|p, _| ifaces.contains_key(p) && bound_here(p).is_some());
        for (port, iface) in ifaces {
            let bound = bound_here(port).filter(|_| iface.has_ofport());
            if let Some((uuid, pb)) = bound {
                let seq = match self.install_seq.get(port) {
                    Some(s) => *s,
                    None => {
                        self.install_seq.insert(port.clone(), self.seqno);
                        self.seqno
                    }
                };
                if self.acked >= seq {
                    if let Some(op) = binding::up_ops(uuid, pb) {
                        tracing::info!("Setting lport {port} up in Southbound");
                        sb_ops.push(op);
                    }
                    ovs_ops.extend(binding::installed_ops(iface, true, ts));
                }
            } else {
                ovs_ops.extend(binding::installed_ops(iface, false, ts));
            }
        }
        let nb_cfg = self
            .sb
            .replica
            .sb
            .sb_global
            .values()
            .next()
            .map_or(0, |g| g.nb_cfg);
        if !tunnels_ready {
            // Re-arm with the state submitted once they are.
            self.nb_cfg_pending = None;
        } else if self.nb_cfg_pending.is_none_or(|(n, _)| n != nb_cfg) {
            self.nb_cfg_pending = Some((nb_cfg, self.seqno));
        }
        if let Some((n, seq)) = self.nb_cfg_pending
            && self.acked >= seq
        {
            sb_ops.extend(
                chassis::nb_cfg_ops(&self.sb.replica, &cfg.system_id, n, ts)
                    .into_iter()
                    .flatten(),
            );
            if let Some((br_uuid, br)) = bridge::find(&self.ovs.replica, &cfg.bridge)
                && row::smap_get(br, Bridge::COL_EXTERNAL_IDS, "ovn-nb-cfg").unwrap_or("0") != n.to_string()
            {
                ovs_ops.push(bridge::set_map_keys(
                    Bridge::TABLE,
                    br_uuid,
                    Bridge::COL_EXTERNAL_IDS,
                    &[
                        ("ovn-nb-cfg".into(), n.to_string()),
                        ("ovn-nb-cfg-ts".into(), ts.to_string()),
                    ],
                ));
            }
        }
        // Both at once: they go to different servers, and this is the last
        // step before `--wait=hv` sees the port.
        let (sb, ovs) = tokio::join!(
            async {
                if sb_ops.is_empty() {
                    return Ok(Vec::new());
                }
                self.sb.transact(sb_ops).await
            },
            async {
                if ovs_ops.is_empty() {
                    return Ok(Vec::new());
                }
                self.ovs.transact(ovs_ops).await
            },
        );
        if let Err(e) = sb {
            tracing::warn!("port up / nb_cfg: Southbound transaction failed: {e}");
            self.retry_later();
        }
        if let Err(e) = ovs {
            tracing::warn!("ovn-installed / ovn-nb-cfg: local database transaction failed: {e}");
            self.retry_later();
        }
    }

    async fn record_learned(&mut self) {
        if self.learned.is_empty() || !self.sb_ready {
            return;
        }
        let ts = now_ms();
        let learned = std::mem::take(&mut self.learned);
        let mut ops: Vec<Operation> = Vec::new();
        let mut seen = BTreeSet::new();
        // The latest report for a (port, ip) wins.
        for l in learned.iter().rev() {
            if seen.insert((l.logical_port.clone(), l.ip)) {
                ops.extend(mac_binding::ops(&self.sb.replica, l, ts));
            }
        }
        if !self.sb_txn("MAC_Binding", ops).await {
            self.learned = learned;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every monitored SB table is held typed (a table missing from
    /// `sb::SbTables` would be kept as untyped rows nobody reads).
    #[test]
    fn sb_monitor_matches_typed_tables() {
        let monitored: Vec<&str> = sb_tables().iter().map(|(t, _)| *t).collect();
        assert_eq!(monitored, crate::sb::SbTables::TABLES);
    }
}
