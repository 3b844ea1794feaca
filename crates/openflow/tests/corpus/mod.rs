//! Sample values of every message, action and field kind, shared by the
//! round-trip and fuzz-smoke tests.

#![allow(dead_code)]

use std::net::IpAddr;

use openflow::*;

fn sf(field: Field, lo: u16, hi: u16) -> SubField {
    SubField::range(field, lo, hi)
}

/// One of every action kind (and the interesting variants).
pub fn all_actions() -> Vec<Action> {
    vec![
        Action::output(1),
        Action::Output {
            port: port::CONTROLLER,
            max_len: 128,
        },
        Action::output(port::LOCAL),
        Action::resubmit(9),
        Action::Resubmit {
            in_port: Some(3),
            table: None,
        },
        Action::Resubmit {
            in_port: Some(port::LOCAL),
            table: Some(4),
        },
        Action::set_field(Field::Reg(13), 5),
        Action::set_field(Field::Metadata, 0x1_0000_0001),
        Action::set_field(Field::EthDst, 0x0000_0000_0002),
        Action::set_field(Field::Ipv4Src, 0x0a00_0001),
        Action::set_field(Field::Ipv6Dst, 0xfe80_0000_0000_0000_0000_0000_0000_0001),
        Action::set_field(Field::tun_metadata(0), 0x10002),
        Action::set_field(Field::TcpDst, 80),
        Action::SetField {
            field: Field::CtMark,
            value: 2,
            mask: Some(2),
        },
        Action::SetField {
            field: Field::CtLabel,
            value: 1 << 96,
            mask: Some(0xffff_ffff << 96),
        },
        Action::load(sf(Field::Reg(10), 6, 6), 1),
        Action::load(sf(Field::Xxreg(0), 0, 7), 3),
        Action::set_field(Field::Xreg(1), 7),
        Action::Move {
            src: sf(Field::TunId, 0, 23),
            dst: sf(Field::Metadata, 0, 23),
        },
        Action::Move {
            src: sf(Field::tun_metadata(0), 16, 30),
            dst: sf(Field::Reg(14), 0, 14),
        },
        Action::Push(SubField::full(Field::Reg(0))),
        Action::Pop(SubField::full(Field::Reg(0))),
        Action::Push(sf(Field::InPort, 0, 15)),
        Action::Push(SubField::full(Field::EthSrc)),
        Action::Pop(SubField::full(Field::Ipv6Dst)),
        Action::Push(SubField::full(Field::Metadata)),
        Action::CheckPktLarger {
            pkt_len: 1414,
            dst: sf(Field::Xreg(4), 1, 1),
        },
        Action::CheckPktLarger {
            pkt_len: 1500,
            dst: sf(Field::Reg(10), 0, 0),
        },
        Action::SetQueue(10),
        Action::SetQueue(61440),
        Action::Meter(3),
        Action::Sample(Sample {
            probability: 100,
            collector_set_id: 200,
            obs_domain_id: 179_031_535,
            obs_point_id: 2_863_311_530,
        }),
        Action::Learn(Learn {
            table: 78,
            idle_timeout: 60,
            delete_learned: true,
            specs: vec![
                LearnSpec::match_field(SubField::full(Field::Metadata)),
                LearnSpec::match_imm(Field::EthType, 0x800),
                LearnSpec::match_field(SubField::full(Field::Ipv4Src)),
                LearnSpec::match_imm(Field::Ipv4Dst, 0xac18_003c),
                LearnSpec::match_imm(Field::IpProto, 6),
                LearnSpec::match_imm(Field::TcpDst, 80),
                LearnSpec::load_imm(1, sf(Field::Reg(10), 14, 14)),
                LearnSpec::load_imm(0xc0a8_000b, SubField::full(Field::Reg(4))),
                LearnSpec::load_imm(0x50, sf(Field::Reg(8), 0, 15)),
                LearnSpec::load_imm(2, SubField::full(Field::Xxreg(0))),
            ],
            ..Learn::default()
        }),
        Action::Learn(Learn {
            table: 77,
            idle_timeout: 20,
            hard_timeout: 30,
            fin_idle_timeout: 2,
            fin_hard_timeout: 4,
            priority: 10,
            cookie: 0x1234,
            send_flow_rem: true,
            delete_learned: true,
            specs: vec![
                LearnSpec::match_from(SubField::full(Field::Ipv6Src), SubField::full(Field::Ipv6Dst)),
                LearnSpec::match_from(SubField::full(Field::TcpSrc), SubField::full(Field::TcpDst)),
                LearnSpec {
                    n_bits: 8,
                    src: LearnSrc::Imm(0x7f),
                    dst: LearnDst::Match {
                        field: Field::Reg(3),
                        ofs: 8,
                    },
                },
                LearnSpec {
                    n_bits: 16,
                    src: LearnSrc::Field {
                        field: Field::Reg(1),
                        ofs: 0,
                    },
                    dst: LearnDst::Load {
                        field: Field::Reg(2),
                        ofs: 16,
                    },
                },
                LearnSpec {
                    n_bits: 16,
                    src: LearnSrc::Field {
                        field: Field::InPort,
                        ofs: 0,
                    },
                    dst: LearnDst::Output,
                },
            ],
        }),
        Action::DecTtl,
        Action::PushVlan(0x8100),
        Action::PopVlan,
        Action::CtClear,
        Action::Group(1),
        Action::Conjunction {
            id: 7,
            clause: 1,
            n_clauses: 2,
        },
        Action::Note(vec![1, 2, 3, 4, 5, 6]),
        Action::Note(vec![0xaa; 14]),
        Action::Clone(vec![Action::CtClear, Action::resubmit(8)]),
        Action::Clone(vec![]),
        Action::Controller(Controller {
            userdata: vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3],
            pause: true,
            ..Default::default()
        }),
        Action::Controller(Controller {
            max_len: 100,
            controller_id: 3,
            reason: 0,
            userdata: vec![9; 8],
            pause: false,
            meter_id: Some(4),
        }),
        Action::Controller(Controller {
            max_len: 64,
            ..Default::default()
        }),
        Action::Ct(Ct::default()),
        Action::Ct(Ct {
            commit: true,
            force: true,
            table: Some(11),
            zone: CtZone::Field(sf(Field::Reg(13), 0, 15)),
            alg: 21,
            nat: Some(Nat {
                kind: Some(NatKind::Src),
                addr: Some((IpAddr::from([10, 0, 0, 1]), Some(IpAddr::from([10, 0, 0, 5])))),
                ports: Some((1000, Some(2000))),
                persistent: true,
                hash: true,
                random: false,
            }),
            exec: vec![
                Action::SetField {
                    field: Field::CtMark,
                    value: 2,
                    mask: Some(2),
                },
                Action::SetField {
                    field: Field::CtLabel,
                    value: 1,
                    mask: Some(1),
                },
            ],
        }),
        Action::Ct(Ct {
            zone: CtZone::Imm(5),
            table: Some(12),
            nat: Some(Nat::default()),
            ..Default::default()
        }),
        Action::Ct(Ct {
            commit: true,
            nat: Some(Nat {
                kind: Some(NatKind::Dst),
                addr: Some(("fe80::1".parse().unwrap(), Some("fe80::9".parse().unwrap()))),
                ports: Some((80, None)),
                random: true,
                ..Default::default()
            }),
            ..Default::default()
        }),
        Action::Ct(Ct {
            nat: Some(Nat {
                kind: Some(NatKind::Src),
                ..Default::default()
            }),
            ..Default::default()
        }),
    ]
}

/// A match using every field kind.
pub fn big_match() -> Match {
    Match::new()
        .with(Field::InPort, 3)
        .with(Field::Metadata, 1)
        .with(Field::Reg(0), 0xa000_0232)
        .with_masked(Field::Reg(10), 1, 1)
        .with(Field::Reg(15), 0x8000)
        .with_masked(Field::Reg(7), 5, 0xff)
        .with_masked(Field::Xxreg(1), 1 << 100, 1 << 100)
        .with(Field::TunId, 0x5)
        .with_masked(Field::tun_metadata(0), 0x10002, 0x7fff_ffff)
        .with(Field::PktMark, 4)
        .with_masked(Field::CtState, 0x21, 0x23)
        .with(Field::CtZone, 3)
        .with_masked(Field::CtMark, 2, 2)
        .with_masked(Field::CtLabel, 1 << 127, 1 << 127)
        .with(Field::ConjId, 9)
        .with(Field::EthSrc, 0x0000_0000_0001)
        .with_masked(Field::EthDst, 0x0100_0000_0000, 0x0100_0000_0000)
        .with(Field::EthType, 0x0800)
        .with_masked(Field::VlanTci, 0x1000, 0x1000)
        .with(Field::IpProto, 6)
        .with(Field::IpTos, 8)
        .with(Field::IpEcn, 1)
        .with(Field::IpTtl, 64)
        .with_masked(Field::IpFrag, 1, 3)
        .with_masked(Field::Ipv4Src, 0x0a00_0000, 0xffff_ff00)
        .with(Field::Ipv4Dst, 0x0a00_0005)
        .with(Field::TcpSrc, 1234)
        .with_masked(Field::TcpDst, 0x50, 0xfff0)
        .with_masked(Field::TcpFlags, 2, 0x12)
}

pub fn other_matches() -> Vec<Match> {
    vec![
        Match::new(),
        Match::new()
            .with(Field::EthType, 0x86dd)
            .with(Field::IpProto, 58)
            .with_masked(Field::Ipv6Src, 0xfe80 << 112, u128::MAX << 64)
            .with(Field::Ipv6Dst, 1)
            .with_masked(Field::Ipv6Label, 0x12345, 0xfffff)
            .with(Field::Icmpv6Type, 135)
            .with(Field::Icmpv6Code, 0)
            .with(Field::NdTarget, 1)
            .with(Field::NdSll, 0x0000_0000_0001)
            .with(Field::NdTll, 0x0000_0000_0002),
        Match::new()
            .with(Field::EthType, 0x0806)
            .with(Field::ArpOp, 1)
            .with(Field::ArpSpa, 0x0a00_0001)
            .with_masked(Field::ArpTpa, 0x0a00_0000, 0xff00_0000)
            .with(Field::ArpSha, 0x11_2233_4455)
            .with(Field::ArpTha, 0),
        Match::new()
            .with(Field::EthType, 0x0800)
            .with(Field::IpProto, 17)
            .with(Field::UdpSrc, 68)
            .with(Field::UdpDst, 67),
        Match::new()
            .with(Field::EthType, 0x0800)
            .with(Field::IpProto, 132)
            .with(Field::SctpSrc, 1)
            .with(Field::SctpDst, 2),
        Match::new()
            .with(Field::EthType, 0x0800)
            .with(Field::IpProto, 1)
            .with(Field::Icmpv4Type, 3)
            .with(Field::Icmpv4Code, 4),
    ]
}

pub fn all_flow_mods() -> Vec<FlowMod> {
    let mut v = vec![
        FlowMod::add(8, 100, big_match(), all_actions()).with_cookie(0xdead_beef),
        FlowMod::modify_strict(
            9,
            5,
            Match::new().with(Field::Reg(14), 1),
            vec![Action::resubmit(10), Action::GotoTable(11)],
        ),
        FlowMod::delete_strict(0, 0, Match::new()),
        FlowMod::delete_table(TABLE_ALL),
        FlowMod::delete_table(8),
        FlowMod::delete_by_cookie(0x1234, u64::MAX),
        FlowMod {
            idle_timeout: 10,
            hard_timeout: 20,
            flags: flow_flags::SEND_FLOW_REM | flow_flags::CHECK_OVERLAP,
            importance: 3,
            out_port: 7,
            out_group: 8,
            ..FlowMod::add(1, 2, Match::new(), vec![Action::GotoTable(5)])
        },
        FlowMod {
            command: FlowModCommand::Modify,
            ..FlowMod::add(3, 4, Match::new(), vec![])
        },
        FlowMod {
            command: FlowModCommand::Delete,
            ..FlowMod::add(3, 4, Match::new(), vec![])
        },
    ];
    for (i, m) in other_matches().into_iter().enumerate() {
        v.push(FlowMod::add(i as u8, 1, m, vec![Action::DecTtl]));
    }
    v
}

pub fn all_group_mods() -> Vec<GroupMod> {
    let lb = |ip: [u8; 4]| {
        vec![Action::Ct(Ct {
            commit: true,
            table: Some(11),
            zone: CtZone::Field(SubField::range(Field::Reg(13), 0, 15)),
            nat: Some(Nat {
                kind: Some(NatKind::Dst),
                addr: Some((IpAddr::from(ip), None)),
                ports: Some((80, None)),
                ..Default::default()
            }),
            exec: vec![Action::SetField {
                field: Field::CtMark,
                value: 2,
                mask: Some(2),
            }],
            ..Default::default()
        })]
    };
    vec![
        GroupMod {
            selection_method: Some(SelectionMethod {
                method: "dp_hash".into(),
                param: 0,
                fields: vec![],
            }),
            ..GroupMod::add(
                1,
                GroupType::Select,
                vec![
                    Bucket {
                        weight: Some(100),
                        ..Bucket::new(0, lb([10, 0, 0, 2]))
                    },
                    Bucket {
                        weight: Some(100),
                        ..Bucket::new(1, lb([10, 0, 0, 3]))
                    },
                ],
            )
        },
        GroupMod {
            selection_method: Some(SelectionMethod {
                method: "hash".into(),
                param: 42,
                fields: vec![Field::Ipv4Src, Field::Ipv4Dst, Field::TcpDst],
            }),
            ..GroupMod::add(
                2,
                GroupType::Select,
                vec![Bucket::new(0, vec![Action::output(1)])],
            )
        },
        GroupMod::add(
            3,
            GroupType::All,
            vec![
                Bucket::new(0, vec![Action::output(1)]),
                Bucket::new(
                    1,
                    vec![Action::set_field(Field::Reg(15), 0x8001), Action::resubmit(40)],
                ),
            ],
        ),
        GroupMod::add(4, GroupType::Indirect, vec![Bucket::new(0, vec![])]),
        GroupMod::add(
            5,
            GroupType::FastFailover,
            vec![Bucket {
                watch_port: Some(1),
                watch_group: Some(2),
                ..Bucket::new(0, vec![Action::output(1)])
            }],
        ),
        GroupMod {
            command: GroupModCommand::Modify,
            ..GroupMod::add(6, GroupType::All, vec![])
        },
        GroupMod {
            command: GroupModCommand::AddOrModify,
            ..GroupMod::add(7, GroupType::All, vec![])
        },
        GroupMod::delete(GROUP_ALL),
    ]
}

pub fn all_messages() -> Vec<Message> {
    let mut v = vec![
        Message::Hello(Hello::of15()),
        Message::Hello(Hello { version_bitmap: None }),
        Message::Error(ErrorMsg {
            typ: 4,
            code: 9,
            experimenter: None,
            data: vec![6, 14, 0, 8, 0, 0, 0, 1],
        }),
        Message::Error(ErrorMsg {
            typ: 0xffff,
            code: 3,
            experimenter: Some(0x2320),
            data: vec![1, 2],
        }),
        Message::EchoRequest(vec![]),
        Message::EchoRequest(vec![1, 2, 3]),
        Message::EchoReply(vec![4, 5]),
        Message::FeaturesRequest,
        Message::FeaturesReply(FeaturesReply {
            datapath_id: 0x0000_1122_3344_5566,
            n_buffers: 0,
            n_tables: 254,
            auxiliary_id: 0,
            capabilities: 0x4f,
        }),
        Message::BarrierRequest,
        Message::BarrierReply,
        Message::GetConfigRequest,
        Message::GetConfigReply(SwitchConfig {
            flags: 0,
            miss_send_len: 128,
        }),
        Message::SetConfig(SwitchConfig {
            flags: 1,
            miss_send_len: u16::MAX,
        }),
        Message::PacketOut(PacketOut::new(
            port::CONTROLLER,
            vec![Action::resubmit(37)],
            vec![0xff; 60],
        )),
        Message::PacketOut(PacketOut {
            match_: Match::new()
                .with(Field::InPort, 1)
                .with(Field::Metadata, 3)
                .with(Field::Reg(14), 2),
            ..PacketOut::new(1, vec![], vec![])
        }),
        Message::TlvTableMod(TlvTableMod {
            command: TlvTableCommand::Add,
            maps: vec![TlvMap::ovn(0)],
        }),
        Message::TlvTableMod(TlvTableMod {
            command: TlvTableCommand::Clear,
            maps: vec![],
        }),
        Message::TlvTableMod(TlvTableMod {
            command: TlvTableCommand::Delete,
            maps: vec![TlvMap::ovn(1), TlvMap::ovn(2)],
        }),
        Message::TlvTableRequest,
        Message::TlvTableReply(TlvTableReply {
            max_option_space: 256,
            max_fields: 64,
            maps: vec![TlvMap::ovn(0)],
        }),
        Message::SetPacketInFormat(PacketInFormat::Nxt2),
        Message::SetPacketInFormat(PacketInFormat::Standard),
        Message::PacketIn2(PacketIn2 {
            packet: vec![1; 61],
            full_len: Some(1500),
            buffer_id: Some(7),
            table_id: Some(10),
            cookie: Some(0xabcd),
            reason: Some(1),
            metadata: Match::new()
                .with(Field::InPort, 1)
                .with(Field::Metadata, 1)
                .with(Field::Reg(14), 1)
                .with(Field::Reg(15), 2)
                .with(Field::tun_metadata(0), 5),
            // tun_src (NXM_NX_TUN_IPV4_SRC), which the codec has no field for.
            metadata_unknown: vec![0x00, 0x01, 0x3e, 0x04, 192, 168, 0, 1],
            userdata: Some(vec![0, 0, 0, 2, 0, 0, 0, 0, 9]),
            continuation: Some(vec![0x80, 0, 0, 20, 1, 2, 3, 4]),
        }),
        Message::PacketIn2(PacketIn2 {
            packet: vec![1, 2, 3],
            ..Default::default()
        }),
        Message::Resume(PacketIn2 {
            packet: vec![1; 60],
            table_id: Some(10),
            metadata: Match::new().with(Field::InPort, u128::from(port::CONTROLLER)),
            continuation: Some(vec![0; 16]),
            ..Default::default()
        }),
        Message::FlowStatsRequest(FlowStatsRequest::default()),
        Message::FlowStatsRequest(FlowStatsRequest {
            table_id: 8,
            cookie: 5,
            cookie_mask: u64::MAX,
            match_: Match::new().with(Field::Metadata, 1),
            ..Default::default()
        }),
        Message::FlowStatsReply(FlowStatsReply {
            more: true,
            flows: vec![
                FlowStats {
                    duration_sec: Some(3),
                    duration_nsec: Some(4),
                    idle_age: Some(2),
                    packet_count: Some(10),
                    byte_count: Some(1000),
                    cookie: 0x55,
                    flags: 1,
                    importance: 2,
                    idle_timeout: 3,
                    hard_timeout: 4,
                    ..FlowStats::new(8, 100, big_match(), all_actions())
                },
                FlowStats::new(0, 0, Match::new(), vec![]),
            ],
        }),
        Message::FlowStatsReply(FlowStatsReply::default()),
        Message::GroupDescRequest { group_id: GROUP_ALL },
        Message::Unknown {
            msg_type: 12,
            body: vec![0; 8],
        },
        Message::Unknown {
            msg_type: 4,
            body: vec![0, 0, 0x23, 0x20, 0, 0, 0, 99],
        },
    ];
    v.push(Message::GroupDescReply(GroupDescReply {
        more: false,
        groups: all_group_mods()
            .into_iter()
            .filter(|g| g.command == GroupModCommand::Add)
            .map(|g| GroupDesc {
                group_type: g.group_type,
                group_id: g.group_id,
                buckets: g.buckets,
                selection_method: g.selection_method,
            })
            .collect(),
    }));
    let flags = bundle_flags::ORDERED | bundle_flags::ATOMIC;
    for t in [
        BundleCtrlType::OpenRequest,
        BundleCtrlType::OpenReply,
        BundleCtrlType::CloseRequest,
        BundleCtrlType::CloseReply,
        BundleCtrlType::CommitRequest,
        BundleCtrlType::CommitReply,
        BundleCtrlType::DiscardRequest,
        BundleCtrlType::DiscardReply,
    ] {
        v.push(Message::BundleControl(BundleControl {
            bundle_id: 9,
            ctrl_type: t,
            flags,
        }));
    }
    for fm in all_flow_mods() {
        v.push(Message::BundleAdd(BundleAdd {
            bundle_id: 9,
            flags,
            message: Box::new(Message::FlowMod(fm.clone())),
        }));
        v.push(Message::FlowMod(fm));
    }
    for gm in all_group_mods() {
        v.push(Message::BundleAdd(BundleAdd {
            bundle_id: 9,
            flags,
            message: Box::new(Message::GroupMod(gm.clone())),
        }));
        v.push(Message::GroupMod(gm));
    }
    v
}
