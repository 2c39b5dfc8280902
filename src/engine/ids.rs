//! Every event id applied, for deduplication (SPEC 3.4); each id is hashed once
//! per lookup.
//!
//! Ids are never removed, so their bytes go end to end into chunks of 4 MiB (no
//! allocation per id, and no chunk is ever moved or copied as the set grows:
//! fresh memory is faulted in once), each after its length. The table is open
//! addressing with linear probing over `u64` slots, at most half full: 0 is an
//! empty slot, anything else an id's entry — where its bytes are (a chunk's
//! number and the offset in it, 40 bits) under the top 24 bits of its hash, the
//! highest always set so that an entry is never 0. A slot's place comes from
//! the hash's low bits, so the tag is independent of it: an id is read only
//! when its tag matches (about once in eight million probes of another id).
//! Growing the table reads the ids again, in order, chunk by chunk.
//!
//! A million ids make a table far larger than the caches, and finding a slot was
//! most of the cost of applying an event: `prefetch` asks for the slot of an id
//! that is about to be applied, while the ones before it are.

use std::hash::Hasher;

const INDEX_BITS: u32 = 40;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const OFFSET_BITS: u32 = 22;
const CHUNK: usize = 1 << OFFSET_BITS;
const TAG_SET: u64 = 1 << 23;

#[derive(Clone, Debug)]
pub struct IdSet {
    /// A power of two of them.
    slots: Vec<u64>,
    len: usize,
    /// Each id as its length (LEB128) then its bytes; a chunk is filled up to
    /// `CHUNK` bytes (an id longer than that has a chunk of its own).
    chunks: Vec<Vec<u8>>,
}

impl Default for IdSet {
    fn default() -> IdSet {
        IdSet::with_capacity(0)
    }
}

impl IdSet {
    pub fn with_capacity(n: usize) -> IdSet {
        IdSet {
            slots: vec![0; (n.max(8) * 2).next_power_of_two()],
            len: 0,
            chunks: Vec::new(),
        }
    }

    /// FxHash, then mixed (murmur3's finalizer) so that every bit depends on
    /// every byte: FxHash leaves some bits of similar ids (`ev-00000001`,
    /// `ev-00000002`, …) nearly the same, and here both the slot and the tag
    /// are cut from the hash.
    pub fn hash(id: &str) -> u64 {
        IdSet::hash_bytes(id.as_bytes())
    }

    fn hash_bytes(id: &[u8]) -> u64 {
        let mut fx = rustc_hash::FxHasher::default();
        fx.write(id);
        let mut h = fx.finish();
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn tag(hash: u64) -> u64 {
        hash >> INDEX_BITS | TAG_SET
    }

    /// Where an id of this hash is first looked for: the hash's low bits,
    /// which the tag does not hold.
    fn home(&self, hash: u64) -> usize {
        hash as usize & (self.slots.len() - 1)
    }

    /// Every id, in the order added, each after its length (LEB128), in
    /// chunks: what `from_bytes` reads back, end to end.
    pub fn chunks(&self) -> &[Vec<u8>] {
        &self.chunks
    }

    /// `chunks`, let go of.
    pub fn into_chunks(self) -> Vec<Vec<u8>> {
        self.chunks
    }

    #[cfg(test)]
    fn to_bytes(&self) -> Vec<u8> {
        self.chunks.concat()
    }

    /// The set `to_bytes` wrote; `None` if the bytes do not read as ids. The
    /// bytes go into chunks as they are (an id never spans two), then every id
    /// is placed at once, as growing the table places them.
    pub fn from_bytes(bytes: &[u8]) -> Option<IdSet> {
        let mut set = IdSet::default();
        let (mut i, mut n, mut from) = (0, 0, 0);
        while i < bytes.len() {
            let (mut len, mut shift) = (0usize, 0);
            let start = i;
            loop {
                let b = *bytes.get(i)?;
                i += 1;
                len |= usize::from(b & 0x7f).checked_shl(shift)?;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            // Ids are only ever compared as bytes: their UTF-8 is not read.
            let end = i.checked_add(len).filter(|e| *e <= bytes.len())?;
            // This id would not fit the chunk being filled: close it.
            if end - from > CHUNK && start > from {
                set.chunks.push(bytes[from..start].to_vec());
                from = start;
            }
            i = end;
            n += 1;
        }
        if from < bytes.len() {
            // The last chunk is filled further: room for a whole chunk.
            let mut last = Vec::with_capacity(CHUNK.max(bytes.len() - from));
            last.extend_from_slice(&bytes[from..]);
            set.chunks.push(last);
        }
        set.len = n;
        set.slots = vec![0; (n.max(8) * 2).next_power_of_two() / 2];
        set.grow();
        Some(set)
    }

    /// Puts an id's bytes in the chunks and returns where they are.
    #[inline]
    fn append(&mut self, id: &str) -> u64 {
        let mut head = [0u8; 10];
        let mut n = 0;
        let mut len = id.len();
        loop {
            let low = (len & 0x7f) as u8;
            len >>= 7;
            head[n] = low | if len > 0 { 0x80 } else { 0 };
            n += 1;
            if len == 0 {
                break;
            }
        }
        let need = n + id.len();
        // A chunk is never grown past its capacity (that would move it).
        let fits = self.chunks.last().is_some_and(|c| c.len() + need <= CHUNK);
        if !fits {
            self.chunks.push(Vec::with_capacity(need.max(CHUNK)));
        }
        let number = self.chunks.len() - 1;
        let chunk = self.chunks.last_mut().expect("a chunk");
        let at = (number as u64) << OFFSET_BITS | chunk.len() as u64;
        assert!(at <= INDEX_MASK, "more event ids than the id set can hold");
        chunk.extend_from_slice(&head[..n]);
        chunk.extend_from_slice(id.as_bytes());
        at
    }

    /// Asks the processor for the slot `contains(hash, …)` will read first.
    pub fn prefetch(&self, hash: u64) {
        crate::prefetch::lines(&self.slots[self.home(hash)]);
    }

    /// The bytes of the id at `at`, and the offset in its chunk just past them.
    fn read(&self, at: u64) -> (&[u8], usize) {
        let chunk = &self.chunks[(at >> OFFSET_BITS) as usize];
        let mut i = (at & (CHUNK as u64 - 1)) as usize;
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let b = chunk[i];
            i += 1;
            len |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        (&chunk[i..i + len], i + len)
    }

    pub fn contains(&self, hash: u64, id: &str) -> bool {
        let tag = IdSet::tag(hash);
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        loop {
            let e = self.slots[i];
            if e == 0 {
                return false;
            }
            if e >> INDEX_BITS == tag && self.read(e & INDEX_MASK).0 == id.as_bytes() {
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds an id not in the set.
    pub fn insert(&mut self, hash: u64, id: &str) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let at = self.append(id);
        self.place(hash, at);
        self.len += 1;
    }

    /// Puts the entry of the id whose bytes are `at` in its first free slot.
    fn place(&mut self, hash: u64, at: u64) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = IdSet::tag(hash) << INDEX_BITS | at;
    }

    /// Doubles the table, placing every id again from its bytes: the chunks
    /// are read in order, and only the new table is written at random, each
    /// slot asked for (prefetched) `AHEAD` ids before it is written.
    fn grow(&mut self) {
        const AHEAD: usize = 16;
        self.slots = vec![0; self.slots.len() * 2];
        let mut waiting = [(0u64, 0u64); AHEAD];
        let mut n = 0;
        for number in 0..self.chunks.len() {
            let mut offset = 0;
            while offset < self.chunks[number].len() {
                let at = (number as u64) << OFFSET_BITS | offset as u64;
                let (id, end) = self.read(at);
                let hash = IdSet::hash_bytes(id);
                offset = end;
                self.prefetch(hash);
                let (hash, at) = std::mem::replace(&mut waiting[n % AHEAD], (hash, at));
                if n >= AHEAD {
                    self.place(hash, at);
                }
                n += 1;
            }
        }
        for k in n.saturating_sub(AHEAD)..n {
            let (hash, at) = waiting[k % AHEAD];
            self.place(hash, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_read_back_as_the_same_set() {
        let mut set = IdSet::default();
        let long = "x".repeat(300);
        let ids: Vec<String> = (0..20_000)
            .map(|i| format!("ev-{i}"))
            .chain([long, String::new(), "é".into()])
            .collect();
        for id in &ids {
            set.insert(IdSet::hash(id), id);
        }
        let back = IdSet::from_bytes(&set.to_bytes()).unwrap();
        assert_eq!(back.len, ids.len());
        assert!(ids.iter().all(|id| back.contains(IdSet::hash(id), id)));
        assert!(!back.contains(IdSet::hash("ev-20000"), "ev-20000"));
        assert!(IdSet::from_bytes(&[5, b'a']).is_none());
        assert_eq!(IdSet::from_bytes(&[]).unwrap().len, 0);
    }

    #[test]
    fn holds_every_id_once_through_growth() {
        let mut set = IdSet::default();
        let ids: Vec<String> = (0..50_000).map(|i| format!("ev-{i:08}")).collect();
        for (n, id) in ids.iter().enumerate() {
            let h = IdSet::hash(id);
            set.prefetch(h);
            assert!(!set.contains(h, id), "{id} before insert");
            set.insert(h, id);
            assert!(set.contains(h, id), "{id} after insert");
            assert_eq!(set.len, n + 1);
        }
        assert!(ids.iter().all(|id| set.contains(IdSet::hash(id), id)));
        for other in ["", "ev-", "ev-000000000", "ev-00050000", "é"] {
            assert!(!set.contains(IdSet::hash(other), other), "{other:?}");
        }
        assert!(set.slots.len() >= 2 * set.len);
    }

    /// The probes for an absent id meet entries of its tag about never: the
    /// slot and the tag come from different bits of a mixed hash. (When the
    /// slot came from the tag, sequential ids met one at every fourth probe,
    /// and each such meeting read an id from memory.)
    #[test]
    fn an_absent_id_is_not_read_for() {
        let mut set = IdSet::default();
        let id = |i: u32| format!("ev-{i:08}");
        for i in 0..200_000 {
            let h = IdSet::hash(&id(i));
            set.insert(h, &id(i));
        }
        let (mut probes, mut same_tag) = (0, 0);
        for i in 200_000..400_000 {
            let h = IdSet::hash(&id(i));
            let mut at = set.home(h);
            while set.slots[at] != 0 {
                probes += 1;
                same_tag += usize::from(set.slots[at] >> INDEX_BITS == IdSet::tag(h));
                at = (at + 1) & (set.slots.len() - 1);
            }
        }
        assert!(
            probes > 50_000,
            "{probes} probes: the table is not that sparse"
        );
        assert!(same_tag <= 2, "{same_tag} of {probes} probes met the tag");
    }

    #[test]
    fn tells_apart_ids_whose_tags_collide() {
        // The same hash for different ids: only the bytes tell them apart.
        let mut set = IdSet::with_capacity(4);
        for id in ["a", "b", "c", "dd", "eee"] {
            assert!(!set.contains(7, id));
            set.insert(7, id);
        }
        for id in ["a", "b", "c", "dd", "eee"] {
            assert!(set.contains(7, id));
        }
        assert!(!set.contains(7, "f"));
    }

    #[test]
    fn keeps_ids_of_every_length_apart_across_chunks() {
        let mut set = IdSet::with_capacity(4);
        let ids: Vec<String> = (0..5000)
            .map(|i| "x".repeat(i % 7) + &i.to_string())
            .collect();
        for id in &ids {
            let h = IdSet::hash(id);
            assert!(!set.contains(h, id), "{id}");
            set.insert(h, id);
        }
        for id in &ids {
            assert!(set.contains(IdSet::hash(id), id), "{id}");
        }
        for id in ["", "x", "xx0", "5000", "0x"] {
            assert!(!set.contains(IdSet::hash(id), id), "{id}");
        }
        // Ids across chunk boundaries, longer than a chunk, with long lengths.
        let big: Vec<String> = (0..3000)
            .map(|i| format!("{i}-{}", "y".repeat(1000 + i % 300)))
            .chain(["z".repeat(5 << 20), "w".repeat(127), "w".repeat(128)])
            .chain((0..10).map(|i| format!("after-{i}")))
            .collect();
        for id in &big {
            let h = IdSet::hash(id);
            assert!(!set.contains(h, id));
            set.insert(h, id);
        }
        assert!(set.chunks.len() >= 3);
        for id in ids.iter().chain(&big) {
            assert!(set.contains(IdSet::hash(id), id));
        }
        assert!(!set.contains(IdSet::hash("w"), "w"));
    }
}
