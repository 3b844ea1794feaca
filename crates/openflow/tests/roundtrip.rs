//! encode → decode equality for every message and action kind, and
//! Display → parse equality for the ovs-ofctl text forms.

mod corpus;

use corpus::*;
use openflow::*;

fn rt(msg: &Message) {
    let mut buf = Vec::new();
    encode(msg, 0x1234_5678, &mut buf).unwrap_or_else(|e| panic!("encode {msg:?}: {e}"));
    assert_eq!(frame_len(&buf).unwrap(), Some(buf.len()), "length field");
    assert!(
        buf.len() % 8 == 0 || !matches!(msg, Message::FlowMod(_)),
        "flow mods are 8-aligned"
    );
    let (h, got) = decode(&buf).unwrap_or_else(|e| panic!("decode {msg:?}: {e}"));
    assert_eq!(h.xid, 0x1234_5678);
    assert_eq!(h.version, OFP15_VERSION);
    assert_eq!(&got, msg);
    // Re-encoding the decoded message is byte-identical.
    let mut again = Vec::new();
    encode(&got, 0x1234_5678, &mut again).unwrap();
    assert_eq!(again, buf);
}

#[test]
fn every_message_round_trips() {
    for m in all_messages() {
        rt(&m);
    }
}

#[test]
fn every_action_round_trips_alone() {
    for a in all_actions() {
        let buf = {
            let mut b = Vec::new();
            encode_actions(std::slice::from_ref(&a), &mut b).unwrap();
            b
        };
        assert_eq!(buf.len() % 8, 0, "{a}: actions are 8-aligned");
        assert_eq!(decode_actions(&buf).unwrap(), vec![a.clone()], "{a}");
    }
}

#[test]
fn flow_text_round_trips() {
    for fm in all_flow_mods()
        .into_iter()
        .filter(|f| f.command == FlowModCommand::Add)
    {
        let text = fm.to_string();
        let parsed: FlowMod = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        // Text does not carry flags/importance/out_port.
        let want = FlowMod {
            flags: 0,
            importance: 0,
            out_port: port::ANY,
            out_group: GROUP_ANY,
            ..fm
        };
        assert_eq!(parsed, want, "{text}");
    }
    for m in other_matches().into_iter().chain([big_match()]) {
        let text = m.to_string();
        assert_eq!(text.parse::<Match>().unwrap(), m, "{text}");
    }
}

#[test]
fn action_text_round_trips() {
    for a in all_actions() {
        let text = a.to_string();
        let parsed: Action = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed, a, "{text}");
    }
}

#[test]
fn group_text_round_trips() {
    for gm in all_group_mods()
        .into_iter()
        .filter(|g| g.command == GroupModCommand::Add)
    {
        let text = gm.to_string();
        let parsed: GroupMod = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed, gm, "{text}");
    }
}

#[test]
fn golden_text() {
    let fm = FlowMod::add(
        8,
        100,
        Match::new().with(Field::Reg(14), 1).with(Field::Metadata, 1),
        vec![Action::resubmit(9)],
    );
    assert_eq!(
        fm.to_string(),
        "table=8,priority=100,metadata=0x1,reg14=0x1 actions=resubmit(,9)"
    );
    let fm: FlowMod = "table=9,priority=100,tcp,reg14=0x1,metadata=0x1,nw_src=10.0.0.0/24,tp_dst=80 \
                       actions=ct(commit,zone=NXM_NX_REG13[0..15],nat(src=10.0.0.1-10.0.0.5:1000-2000),\
                       exec(set_field:0x2/0x2->ct_mark)),load:0x1->NXM_NX_REG10[6]"
        .parse()
        .unwrap();
    assert_eq!(
        fm.to_string(),
        "table=9,priority=100,tcp,metadata=0x1,reg14=0x1,nw_src=10.0.0.0/24,tp_dst=80 \
         actions=ct(commit,zone=NXM_NX_REG13[0..15],nat(src=10.0.0.1-10.0.0.5:1000-2000),\
         exec(set_field:0x2/0x2->ct_mark)),set_field:0x40/0x40->reg10"
    );
    assert_eq!(
        FlowMod::add(0, 0, Match::new(), vec![]).to_string(),
        "priority=0 actions=drop"
    );
    let m = Match::new().with_masked(Field::CtState, 0x21, 0x23);
    assert_eq!(m.to_string(), "ct_state=+new-est+trk");
}

#[test]
fn encode_rejects_invalid() {
    let mut out = Vec::new();
    let bad = [
        Message::FlowMod(FlowMod::add(
            0,
            0,
            Match::new().with_masked(Field::EthType, 1, 1),
            vec![],
        )),
        Message::FlowMod(FlowMod::add(0, 0, Match::new().with(Field::Reg(16), 1), vec![])),
        Message::FlowMod(FlowMod::add(
            0,
            0,
            Match::new(),
            vec![Action::GotoTable(1), Action::DecTtl],
        )),
        Message::FlowMod(FlowMod::add(
            0,
            0,
            Match::new(),
            vec![Action::Move {
                src: SubField::range(Field::Reg(0), 0, 3),
                dst: SubField::range(Field::Reg(1), 0, 4),
            }],
        )),
        Message::FlowMod(FlowMod::add(
            0,
            0,
            Match::new(),
            vec![Action::Conjunction {
                id: 1,
                clause: 2,
                n_clauses: 2,
            }],
        )),
        Message::FlowMod(FlowMod::add(
            0,
            0,
            Match::new(),
            vec![Action::Note(vec![0; 70000])],
        )),
        Message::BundleAdd(BundleAdd {
            bundle_id: 1,
            flags: 0,
            message: Box::new(Message::BarrierRequest),
        }),
    ];
    for m in bad {
        assert!(encode(&m, 1, &mut out).is_err(), "{m:?}");
        assert!(out.is_empty(), "failed encode must not leave bytes");
    }
}

#[test]
fn decoding_folds_xreg_into_regs() {
    let m = Match::new().with_masked(Field::Xreg(3), 0x5_0000_0007, u64::MAX.into());
    let fm = FlowMod::add(0, 1, m, vec![]);
    let mut buf = Vec::new();
    encode(&Message::FlowMod(fm), 1, &mut buf).unwrap();
    let (_, Message::FlowMod(got)) = decode(&buf).unwrap() else {
        panic!("not a flow mod")
    };
    assert_eq!(
        got.match_,
        Match::new().with(Field::Reg(6), 5).with(Field::Reg(7), 7)
    );
}
