//! A small, fast, non-cryptographic hasher (the Fx hash used inside rustc)
//! for the compiler's internal tables, whose keys are never chosen by an
//! attacker in a way that matters: they are the compiler's own clauses and
//! the southbound strings the controller already trusts.  SipHash dominated
//! the compile profile.

use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i.into());
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i.into());
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i.into());
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

/// Fx hash of one value.
pub fn hash_one<T: std::hash::Hash + ?Sized>(v: &T) -> u64 {
    let mut h = FxHasher::default();
    v.hash(&mut h);
    h.finish()
}

/// An insertion-ordered list without duplicates: linear search while short,
/// a hash index once it grows (no clone of the element is kept).
pub(crate) struct UniqueVec<T> {
    pub items: Vec<T>,
    index: FxHashMap<u64, Vec<u32>>,
}

const LINEAR: usize = 12;

impl<T: std::hash::Hash + Eq> UniqueVec<T> {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// Room for `n` elements (at most a few hundred are reserved).
    pub fn with_capacity(n: usize) -> Self {
        UniqueVec {
            items: Vec::with_capacity(n.min(256)),
            index: FxHashMap::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Appends `v` unless an equal element is present; returns whether it
    /// was appended.
    pub fn push(&mut self, v: T) -> bool {
        if self.items.len() < LINEAR {
            if self.items.contains(&v) {
                return false;
            }
            self.items.push(v);
            return true;
        }
        if self.index.is_empty() {
            for (i, x) in self.items.iter().enumerate() {
                self.index.entry(hash_one(x)).or_default().push(i as u32);
            }
        }
        let h = hash_one(&v);
        let slot = self.index.entry(h).or_default();
        if slot.iter().any(|&i| self.items[i as usize] == v) {
            return false;
        }
        slot.push(self.items.len() as u32);
        self.items.push(v);
        true
    }
}
