//! Logical pipeline layout of OVN 23.03 (stage names and table numbers, northd.c
//! `PIPELINE_STAGES`) and the small builder the per-object flow generators write into.

use crate::model::sb::LogicalFlow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pipeline {
    Ingress,
    Egress,
}

impl Pipeline {
    pub fn as_str(self) -> &'static str {
        match self {
            Pipeline::Ingress => "ingress",
            Pipeline::Egress => "egress",
        }
    }
}

macro_rules! stages {
    ($($variant:ident => ($pipe:ident, $table:expr, $name:expr),)*) => {
        /// Every logical pipeline stage, declared in (datapath kind, pipeline, table) order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Stage {
            $($variant,)*
        }

        impl Stage {
            pub const ALL: &'static [Stage] = &[$(Stage::$variant,)*];

            pub fn pipeline(self) -> Pipeline {
                match self { $(Stage::$variant => Pipeline::$pipe,)* }
            }

            pub fn table(self) -> u8 {
                match self { $(Stage::$variant => $table,)* }
            }

            /// The `external_ids:stage-name` value.
            pub fn name(self) -> &'static str {
                match self { $(Stage::$variant => $name,)* }
            }
        }
    };
}

stages! {
    LsInCheckPortSec => (Ingress, 0, "ls_in_check_port_sec"),
    LsInApplyPortSec => (Ingress, 1, "ls_in_apply_port_sec"),
    LsInLookupFdb => (Ingress, 2, "ls_in_lookup_fdb"),
    LsInPutFdb => (Ingress, 3, "ls_in_put_fdb"),
    LsInPreAcl => (Ingress, 4, "ls_in_pre_acl"),
    LsInPreLb => (Ingress, 5, "ls_in_pre_lb"),
    LsInPreStateful => (Ingress, 6, "ls_in_pre_stateful"),
    LsInAclHint => (Ingress, 7, "ls_in_acl_hint"),
    LsInAcl => (Ingress, 8, "ls_in_acl"),
    LsInQosMark => (Ingress, 9, "ls_in_qos_mark"),
    LsInQosMeter => (Ingress, 10, "ls_in_qos_meter"),
    LsInLbAffCheck => (Ingress, 11, "ls_in_lb_aff_check"),
    LsInLb => (Ingress, 12, "ls_in_lb"),
    LsInLbAffLearn => (Ingress, 13, "ls_in_lb_aff_learn"),
    LsInPreHairpin => (Ingress, 14, "ls_in_pre_hairpin"),
    LsInNatHairpin => (Ingress, 15, "ls_in_nat_hairpin"),
    LsInHairpin => (Ingress, 16, "ls_in_hairpin"),
    LsInAclAfterLb => (Ingress, 17, "ls_in_acl_after_lb"),
    LsInStateful => (Ingress, 18, "ls_in_stateful"),
    LsInArpRsp => (Ingress, 19, "ls_in_arp_rsp"),
    LsInDhcpOptions => (Ingress, 20, "ls_in_dhcp_options"),
    LsInDhcpResponse => (Ingress, 21, "ls_in_dhcp_response"),
    LsInDnsLookup => (Ingress, 22, "ls_in_dns_lookup"),
    LsInDnsResponse => (Ingress, 23, "ls_in_dns_response"),
    LsInExternalPort => (Ingress, 24, "ls_in_external_port"),
    LsInL2Lkup => (Ingress, 25, "ls_in_l2_lkup"),
    LsInL2Unknown => (Ingress, 26, "ls_in_l2_unknown"),
    LsOutPreAcl => (Egress, 0, "ls_out_pre_acl"),
    LsOutPreLb => (Egress, 1, "ls_out_pre_lb"),
    LsOutPreStateful => (Egress, 2, "ls_out_pre_stateful"),
    LsOutAclHint => (Egress, 3, "ls_out_acl_hint"),
    LsOutAcl => (Egress, 4, "ls_out_acl"),
    LsOutQosMark => (Egress, 5, "ls_out_qos_mark"),
    LsOutQosMeter => (Egress, 6, "ls_out_qos_meter"),
    LsOutStateful => (Egress, 7, "ls_out_stateful"),
    LsOutCheckPortSec => (Egress, 8, "ls_out_check_port_sec"),
    LsOutApplyPortSec => (Egress, 9, "ls_out_apply_port_sec"),
    LrInAdmission => (Ingress, 0, "lr_in_admission"),
    LrInLookupNeighbor => (Ingress, 1, "lr_in_lookup_neighbor"),
    LrInLearnNeighbor => (Ingress, 2, "lr_in_learn_neighbor"),
    LrInIpInput => (Ingress, 3, "lr_in_ip_input"),
    LrInUnsnat => (Ingress, 4, "lr_in_unsnat"),
    LrInDefrag => (Ingress, 5, "lr_in_defrag"),
    LrInLbAffCheck => (Ingress, 6, "lr_in_lb_aff_check"),
    LrInDnat => (Ingress, 7, "lr_in_dnat"),
    LrInLbAffLearn => (Ingress, 8, "lr_in_lb_aff_learn"),
    LrInEcmpStateful => (Ingress, 9, "lr_in_ecmp_stateful"),
    LrInNdRaOptions => (Ingress, 10, "lr_in_nd_ra_options"),
    LrInNdRaResponse => (Ingress, 11, "lr_in_nd_ra_response"),
    LrInIpRoutingPre => (Ingress, 12, "lr_in_ip_routing_pre"),
    LrInIpRouting => (Ingress, 13, "lr_in_ip_routing"),
    LrInIpRoutingEcmp => (Ingress, 14, "lr_in_ip_routing_ecmp"),
    LrInPolicy => (Ingress, 15, "lr_in_policy"),
    LrInPolicyEcmp => (Ingress, 16, "lr_in_policy_ecmp"),
    LrInArpResolve => (Ingress, 17, "lr_in_arp_resolve"),
    LrInChkPktLen => (Ingress, 18, "lr_in_chk_pkt_len"),
    LrInLargerPkts => (Ingress, 19, "lr_in_larger_pkts"),
    LrInGwRedirect => (Ingress, 20, "lr_in_gw_redirect"),
    LrInArpRequest => (Ingress, 21, "lr_in_arp_request"),
    LrOutChkDnatLocal => (Egress, 0, "lr_out_chk_dnat_local"),
    LrOutUndnat => (Egress, 1, "lr_out_undnat"),
    LrOutPostUndnat => (Egress, 2, "lr_out_post_undnat"),
    LrOutSnat => (Egress, 3, "lr_out_snat"),
    LrOutPostSnat => (Egress, 4, "lr_out_post_snat"),
    LrOutEgrLoop => (Egress, 5, "lr_out_egr_loop"),
    LrOutDelivery => (Egress, 6, "lr_out_delivery"),
}

impl Stage {
    pub fn is_switch(self) -> bool {
        self.name().starts_with("ls_")
    }

    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.iter().copied().find(|s| s.name() == name)
    }
}

/// Collects the flows one object contributes; all flows of a builder share a datapath
/// unless `on` is used to target another one (e.g. a VIF's `arp_resolve` entries live on
/// the routers attached to its switch).
pub(crate) struct FlowBuilder {
    /// Shared by the builder's flows.
    datapath: std::sync::Arc<str>,
    pub(crate) flows: Vec<LogicalFlow>,
    last_port: Option<std::sync::Arc<str>>,
}

impl FlowBuilder {
    pub(crate) fn new(datapath: &str) -> Self {
        FlowBuilder {
            datapath: datapath.into(),
            flows: Vec::new(),
            last_port: None,
        }
    }

    pub(crate) fn add(
        &mut self,
        stage: Stage,
        priority: u16,
        match_: impl Into<String>,
        actions: impl Into<String>,
    ) {
        let dp = self.datapath.clone();
        self.push(dp, stage, priority, match_.into(), actions.into(), None);
    }

    /// A flow whose match pins `inport`/`outport` to `port` (tagged `in_out_port`).
    pub(crate) fn add_port(
        &mut self,
        stage: Stage,
        priority: u16,
        match_: impl Into<String>,
        actions: impl Into<String>,
        port: &str,
    ) {
        let dp = self.datapath.clone();
        let port = self.port(port);
        self.push(dp, stage, priority, match_.into(), actions.into(), Some(port));
    }

    /// A flow on a different datapath than the builder's own.
    pub(crate) fn add_on(
        &mut self,
        datapath: &str,
        stage: Stage,
        priority: u16,
        match_: impl Into<String>,
        actions: impl Into<String>,
    ) {
        self.push(
            datapath.into(),
            stage,
            priority,
            match_.into(),
            actions.into(),
            None,
        );
    }

    /// `port` as an `Arc`, shared with the builder's previous flow when it is the
    /// same port (a port's flows come together).
    fn port(&mut self, port: &str) -> std::sync::Arc<str> {
        match &self.last_port {
            Some(p) if &**p == port => p.clone(),
            _ => {
                let p: std::sync::Arc<str> = port.into();
                self.last_port = Some(p.clone());
                p
            }
        }
    }

    fn push(
        &mut self,
        datapath: std::sync::Arc<str>,
        stage: Stage,
        priority: u16,
        match_: String,
        actions: String,
        in_out_port: Option<std::sync::Arc<str>>,
    ) {
        self.flows.push(LogicalFlow {
            datapath,
            stage,
            priority,
            match_: match_.into(),
            actions: actions.into(),
            in_out_port,
        });
    }

    pub(crate) fn finish(self) -> Vec<LogicalFlow> {
        self.flows
    }
}

/// JSON-quoted port name as northd writes it in matches/actions (`op->json_key`).
pub(crate) fn quoted(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('"');
    for c in name.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_table_numbers() {
        assert_eq!(Stage::LsInL2Unknown.table(), 26);
        assert_eq!(Stage::LsOutApplyPortSec.table(), 9);
        assert_eq!(Stage::LrInArpRequest.table(), 21);
        assert_eq!(Stage::LrOutDelivery.table(), 6);
        assert_eq!(Stage::from_name("lr_in_dnat"), Some(Stage::LrInDnat));
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
    }
}
