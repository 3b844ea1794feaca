//! Deterministic stable-Rust fuzzing: mutate valid encodings with a tiny
//! PRNG and check decoding never panics (and that whatever decodes
//! re-encodes to something that decodes to the same message).

mod corpus;

use openflow::{Framer, Message, decode, decode_actions, encode, frame_len};

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, buf: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        if buf.is_empty() {
            buf.push(rng.next() as u8);
            continue;
        }
        let i = rng.below(buf.len());
        match rng.below(7) {
            0 => buf[i] = rng.next() as u8,
            1 => buf[i] ^= 1 << rng.below(8),
            2 => buf.truncate(i),
            3 => {
                let b = rng.next() as u8;
                buf.insert(i, b);
            }
            4 => {
                buf.remove(i);
            }
            // Interesting values in length-like positions.
            5 => {
                let v = [[0u8, 0xff][rng.below(2)], [0u8, 4, 8, 0xff][rng.below(4)]];
                let end = (i + 2).min(buf.len());
                buf[i..end].copy_from_slice(&v[..end - i]);
            }
            _ => {
                let j = rng.below(buf.len());
                buf.swap(i, j);
            }
        }
    }
}

fn check(buf: &[u8]) {
    let _ = frame_len(buf);
    if let Ok((_, m)) = decode(buf) {
        let mut again = Vec::new();
        if encode(&m, 1, &mut again).is_ok() {
            let (_, m2) = decode(&again).expect("re-encoded message must decode");
            assert_eq!(m2, m, "decode∘encode must be stable");
        }
    }
    let _ = decode_actions(buf);
    let mut fr = Framer::new();
    fr.extend(buf);
    while let Ok(Some(frame)) = fr.next_frame() {
        let _ = decode(&frame);
    }
}

#[test]
fn mutated_messages_never_panic() {
    let mut seeds: Vec<Vec<u8>> = corpus::all_messages()
        .iter()
        .map(|m: &Message| {
            let mut b = Vec::new();
            encode(m, 7, &mut b).expect("encode corpus");
            b
        })
        .collect();
    let mut acts = Vec::new();
    openflow::encode_actions(&corpus::all_actions(), &mut acts).expect("encode actions");
    seeds.push(acts);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let iterations = 20_000;
    for n in 0..iterations {
        let mut buf = seeds[n % seeds.len()].clone();
        mutate(&mut rng, &mut buf);
        check(&buf);
    }
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    for m in corpus::all_messages() {
        let mut b = Vec::new();
        encode(&m, 7, &mut b).expect("encode");
        for cut in 0..b.len() {
            assert!(decode(&b[..cut]).is_err());
            assert_eq!(frame_len(&b[..cut]).ok().flatten(), None);
        }
    }
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng(42);
    for _ in 0..10_000 {
        let len = rng.below(96);
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if b.len() >= 4 {
            // Make the header plausible so decoding goes past it.
            b[0] = 6;
            let l = (b.len() as u16).to_be_bytes();
            b[2] = l[0];
            b[3] = l[1];
        }
        check(&b);
    }
}
