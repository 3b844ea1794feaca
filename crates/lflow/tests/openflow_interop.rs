//! Every flow and group compiled from the real-northd fixtures converts into
//! the `openflow` codec's types, encodes on the wire, and means the same as
//! our `ovs-ofctl` text (parsed back by the codec's own parser).

mod common;

use lflow::to_openflow;

#[test]
fn fixture_flows_convert_encode_and_reparse() {
    check(&common::fixture_dir());
}

/// The feature topology's flows include learn, check_pkt_larger, sample.
#[test]
fn feature_flows_convert_encode_and_reparse() {
    check(&common::fixture_dir().join("features"));
}

fn check(dir: &std::path::Path) {
    let sb = common::load_sb_from(dir);
    let o = common::compile_all(&sb);
    assert!(!o.flows.is_empty());
    let mut mismatches = Vec::new();
    for (uuid, f) in &o.flows {
        let cookie = u64::from_str_radix(&uuid[..8], 16).unwrap();
        let fm = to_openflow::flow_mod(f, cookie).unwrap_or_else(|e| panic!("{f}: {e}"));
        fm.match_
            .check()
            .unwrap_or_else(|e| panic!("{f}: invalid match: {e}"));
        let mut wire = Vec::new();
        openflow::encode_actions(&fm.actions, &mut wire).unwrap_or_else(|e| panic!("{f}: {e}"));
        let decoded = openflow::decode_actions(&wire).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(decoded, fm.actions, "{f}: actions do not survive the wire");

        let text = f.to_string();
        match text.parse::<openflow::FlowMod>() {
            Ok(parsed) if parsed.match_ == fm.match_ && parsed.actions == fm.actions => {}
            Ok(parsed) => mismatches.push(format!("{text}\n  codec reads: {parsed}\n  converted:   {fm}")),
            Err(e) => mismatches.push(format!("{text}\n  codec cannot parse: {e}")),
        }
    }
    for (desc, id) in &o.groups {
        let gm = to_openflow::group_mod(&o_group(&sb, desc), *id).unwrap();
        assert_eq!(gm.buckets.len(), desc.matches("bucket=").count());
        // The codec prints the buckets the way we do.
        let text = gm.to_string();
        assert!(
            text.contains(&desc[desc.find("bucket=").unwrap()..]),
            "{text}\nvs\n{desc}"
        );
    }
    assert!(
        mismatches.is_empty(),
        "{} flows differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// Recompiles to get the structured group behind a description.
fn o_group(sb: &common::Sb, desc: &str) -> lflow::of::Group {
    struct Grab<'a>(&'a common::SbLookup<'a>, Option<lflow::of::Group>);
    impl lflow::Lookup for Grab<'_> {
        fn port_key(&self, n: &str) -> Option<u32> {
            self.0.port_key(n)
        }
        fn group_id(&mut self, g: &lflow::of::Group) -> Option<u32> {
            self.1 = Some(g.clone());
            Some(1)
        }
    }
    for lf in sb
        .lflows
        .iter()
        .filter(|l| l.actions.contains("backends=") || l.actions.contains("select("))
    {
        for dp in &lf.datapaths {
            let d = &sb.datapaths[dp];
            let mut groups = Default::default();
            let inner = common::SbLookup {
                sb,
                dp: dp.clone(),
                dp_key: d.key,
                groups: &mut groups,
            };
            let mut grab = Grab(&inner, None);
            let l = lflow::LogicalFlow {
                pipeline: lf.pipeline,
                table_id: lf.table_id,
                priority: lf.priority,
                match_: &lf.match_,
                actions: &lf.actions,
            };
            let _ = lflow::compile(&l, &lflow::Context::new(d.key, d.is_switch), &mut grab);
            if let Some(g) = grab.1.filter(|g| g.to_string() == desc) {
                return g;
            }
        }
    }
    panic!("no group {desc}");
}

/// The nested actions in controller userdata (which the compiler encodes
/// with the codec) decode with the codec and re-encode to the same bytes;
/// the golden tests compare those bytes with what the real ovn-controller
/// installed.  In the seed fixture every userdata holds actions; the feature
/// fixture also has opcodes with other payloads (events, DHCP options).
#[test]
fn controller_userdata_round_trips_through_the_codec() {
    for (dir, all_actions) in [
        (common::fixture_dir(), true),
        (common::fixture_dir().join("features"), false),
    ] {
        let o = common::compile_all(&common::load_sb_from(&dir));
        let mut n = 0;
        for (_, f) in &o.flows {
            for a in &f.actions {
                if let lflow::of::Action::Controller { userdata, .. } = a {
                    let nested = &userdata[8..];
                    let acts = match openflow::decode_actions(nested) {
                        Ok(acts) => acts,
                        Err(e) if all_actions => panic!("{f}: {e}"),
                        Err(_) => continue,
                    };
                    let mut again = Vec::new();
                    openflow::encode_actions(&acts, &mut again).unwrap();
                    assert_eq!(again, nested, "{f}");
                    n += 1;
                }
            }
        }
        assert!(n > 0, "{}", dir.display());
    }
}
