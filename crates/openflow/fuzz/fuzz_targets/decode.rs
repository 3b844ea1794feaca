//! `cargo +nightly fuzz run decode` (from crates/openflow): decoding must
//! never panic, and anything that decodes must re-encode to bytes that
//! decode to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use openflow::{Framer, decode, decode_actions, encode, frame_len};

fuzz_target!(|data: &[u8]| {
    let _ = frame_len(data);
    if let Ok((h, msg)) = decode(data) {
        let mut again = Vec::new();
        if encode(&msg, h.xid, &mut again).is_ok() {
            let (_, msg2) = decode(&again).expect("re-encoded message must decode");
            assert_eq!(msg2, msg);
        }
    }
    let _ = decode_actions(data);
    let mut framer = Framer::new();
    framer.extend(data);
    while let Ok(Some(frame)) = framer.next_frame() {
        let _ = decode(&frame);
    }
});
