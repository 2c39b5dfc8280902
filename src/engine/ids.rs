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
//!
//! A snapshot keeps the chunks and the table as they are (`parts`), and a start
//! reads them in place from the snapshot file (`mapped`): the chunks as they
//! lie in the file, the table through a private mapping that copies a page
//! only when a slot in it is written. So a start does not hash and place a
//! million ids again; it costs the checksum of their bytes. Restart after a
//! million events, `bench/ab.sh --restart`, 8 alternating rounds: 0.096 s
//! with the ids placed again (and tasks as objects), 0.029 s read in place
//! (and tasks as rows); peak RSS 66 MB and 47 MB.

use memmap2::{Mmap, MmapMut};
use std::hash::Hasher;
use std::ops::{Deref, DerefMut, Range};
use std::sync::Arc;

// The table is written to and read from snapshots as it lies in memory.
const _: () = assert!(cfg!(target_endian = "little"));

const INDEX_BITS: u32 = 40;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const OFFSET_BITS: u32 = 22;
const CHUNK: usize = 1 << OFFSET_BITS;
const TAG_SET: u64 = 1 << 23;

#[derive(Clone, Debug)]
pub struct IdSet {
    /// A power of two of them.
    slots: Slots,
    len: usize,
    /// Each id as its length (LEB128) then its bytes; a chunk is filled up to
    /// `CHUNK` bytes (an id longer than that has a chunk of its own).
    chunks: Vec<Chunk>,
}

/// A chunk of ids: filled by this run, or read in place from a snapshot
/// (never added to).
#[derive(Clone, Debug)]
enum Chunk {
    Own(Vec<u8>),
    Mapped(Arc<Mmap>, Range<usize>),
}

impl Deref for Chunk {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Chunk::Own(v) => v,
            Chunk::Mapped(map, range) => &map[range.clone()],
        }
    }
}

/// The table: this run's, or a snapshot's through a private (copy-on-write)
/// mapping.
enum Slots {
    Own(Vec<u64>),
    Mapped(MmapMut),
}

impl Deref for Slots {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        match self {
            Slots::Own(v) => v,
            // Checked to cast when mapped (`IdSet::mapped`).
            Slots::Mapped(m) => bytemuck::cast_slice(m),
        }
    }
}

impl DerefMut for Slots {
    fn deref_mut(&mut self) -> &mut [u64] {
        match self {
            Slots::Own(v) => v,
            Slots::Mapped(m) => bytemuck::cast_slice_mut(m),
        }
    }
}

impl Clone for Slots {
    fn clone(&self) -> Slots {
        Slots::Own(self.to_vec())
    }
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} slots", self.len())
    }
}

/// Where a snapshot's ids lie in its file, as its header gives them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Layout {
    /// How many ids.
    pub ids: u64,
    /// Each chunk's length, in order, end to end.
    pub chunks: Vec<u64>,
    /// The table's length in slots, after the chunks (and zeros up to a
    /// multiple of 8 bytes from the start of the file).
    pub slots: u64,
}

impl Default for IdSet {
    fn default() -> IdSet {
        IdSet::with_capacity(0)
    }
}

impl IdSet {
    pub fn with_capacity(n: usize) -> IdSet {
        IdSet {
            slots: Slots::Own(vec![0; (n.max(8) * 2).next_power_of_two()]),
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

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every id, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.chunks.len()).flat_map(move |number| {
            let mut offset = 0;
            std::iter::from_fn(move || {
                let at = (number as u64) << OFFSET_BITS | offset as u64;
                let (id, end) = self.read(at)?;
                offset = end;
                Some(id)
            })
        })
    }

    /// Where the ids lie in a snapshot that writes `parts`.
    pub fn layout(&self) -> Layout {
        Layout {
            ids: self.len as u64,
            chunks: self.chunks.iter().map(|c| c.len() as u64).collect(),
            slots: self.slots.len() as u64,
        }
    }

    /// What a snapshot writes, in order, for a set that begins at byte `at`
    /// of its file: the chunks end to end, zeros up to a multiple of 8 bytes
    /// from the start of the file, then the table (which ends at a multiple
    /// of 8 too).
    pub fn parts(&self, at: usize) -> Vec<&[u8]> {
        const ZEROS: [u8; 8] = [0; 8];
        let mut parts: Vec<&[u8]> = self.chunks.iter().map(|c| &**c).collect();
        let end = at + parts.iter().map(|p| p.len()).sum::<usize>();
        parts.push(&ZEROS[..end.next_multiple_of(8) - end]);
        parts.push(bytemuck::cast_slice(&self.slots));
        parts
    }

    /// The set a snapshot holds from byte `at` of `file` (`parts`): its
    /// chunks as they lie in `map`, its table mapped privately. Returns it and
    /// where its table ends. The bytes are the snapshot's, checksummed; only
    /// their shape is checked here, and a table whose entries point nowhere
    /// finds no id rather than failing.
    pub fn mapped(
        file: &std::fs::File,
        map: &Arc<Mmap>,
        at: usize,
        layout: &Layout,
    ) -> Result<(IdSet, usize), String> {
        let n = usize::try_from(layout.slots).map_err(|e| e.to_string())?;
        if !n.is_power_of_two() || (layout.ids as u128) * 2 > n as u128 {
            return Err(format!("{n} slots for {} ids", layout.ids));
        }
        if layout.chunks.len() > 1 << (INDEX_BITS - OFFSET_BITS) {
            return Err("too many chunks".into());
        }
        let mut chunks = Vec::with_capacity(layout.chunks.len());
        let mut from = at;
        for &len in &layout.chunks {
            let to = from.checked_add(len as usize).filter(|to| *to <= map.len());
            let to = to.ok_or("the ids run past the file")?;
            chunks.push(Chunk::Mapped(map.clone(), from..to));
            from = to;
        }
        let table_at = from.next_multiple_of(8);
        let end = n
            .checked_mul(8)
            .and_then(|bytes| table_at.checked_add(bytes))
            .filter(|end| *end <= map.len())
            .ok_or("the table runs past the file")?;
        // SAFETY: a private mapping of a snapshot file, which coord never
        // writes again once renamed into place (a file cut short while mapped
        // would fault; snapshots are not edited by hand).
        let slots = unsafe {
            memmap2::MmapOptions::new()
                .offset(table_at as u64)
                .len(n * 8)
                .map_copy(file)
        }
        .map_err(|e| format!("the table not mapped: {e}"))?;
        if bytemuck::try_cast_slice::<u8, u64>(&slots).is_err() {
            return Err("the table is not aligned".into());
        }
        let set = IdSet {
            slots: Slots::Mapped(slots),
            len: layout.ids as usize,
            chunks,
        };
        Ok((set, end))
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
        // A chunk is never grown past its capacity (that would move it), and a
        // snapshot's is never added to.
        let fits = matches!(self.chunks.last(), Some(Chunk::Own(c)) if c.len() + need <= CHUNK);
        if !fits {
            self.chunks
                .push(Chunk::Own(Vec::with_capacity(need.max(CHUNK))));
        }
        let number = self.chunks.len() - 1;
        let Some(Chunk::Own(chunk)) = self.chunks.last_mut() else {
            unreachable!("the last chunk is this run's")
        };
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

    /// The bytes of the id at `at`, and the offset in its chunk just past
    /// them; `None` where no id is (a snapshot's table is not trusted to
    /// point at one).
    fn read(&self, at: u64) -> Option<(&[u8], usize)> {
        let chunk = self.chunks.get((at >> OFFSET_BITS) as usize)?;
        let mut i = (at & (CHUNK as u64 - 1)) as usize;
        let (mut len, mut shift) = (0usize, 0u32);
        loop {
            let b = *chunk.get(i)?;
            i += 1;
            len |= usize::from(b & 0x7f).checked_shl(shift)?;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let end = i.checked_add(len)?;
        Some((chunk.get(i..end)?, end))
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
            if e >> INDEX_BITS == tag
                && self
                    .read(e & INDEX_MASK)
                    .is_some_and(|(bytes, _)| bytes == id.as_bytes())
            {
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
        self.slots = Slots::Own(vec![0; self.slots.len() * 2]);
        let mut waiting = [(0u64, 0u64); AHEAD];
        let mut n = 0;
        for number in 0..self.chunks.len() {
            let mut offset = 0;
            while offset < self.chunks[number].len() {
                let at = (number as u64) << OFFSET_BITS | offset as u64;
                // A snapshot's chunk that does not read to its end: what
                // follows is not ids.
                let Some((id, end)) = self.read(at) else {
                    break;
                };
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

    /// The set written as a snapshot writes it (after other bytes), then
    /// read in place: every id is in it, new ids go in, and it grows.
    fn round_trip(set: &IdSet, head: &[u8]) -> (tempfile::NamedTempFile, IdSet) {
        use std::io::Write;
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(head).unwrap();
        for part in set.parts(head.len()) {
            f.write_all(part).unwrap();
        }
        let file = f.reopen().unwrap();
        let map = Arc::new(unsafe { Mmap::map(&file) }.unwrap());
        let (back, end) = IdSet::mapped(&file, &map, head.len(), &set.layout()).unwrap();
        assert_eq!(end, map.len(), "the table ends the file");
        (f, back)
    }

    #[test]
    fn a_set_read_in_place_is_the_same_set_and_takes_more() {
        let mut set = IdSet::default();
        let long = "x".repeat(300);
        let ids: Vec<String> = (0..20_000)
            .map(|i| format!("ev-{i}"))
            .chain([long, String::new(), "é".into()])
            .collect();
        for id in &ids {
            set.insert(IdSet::hash(id), id);
        }
        let (_file, mut back) = round_trip(&set, b"header\nstate");
        assert_eq!(back.len, ids.len());
        assert!(ids.iter().all(|id| back.contains(IdSet::hash(id), id)));
        assert!(!back.contains(IdSet::hash("ev-20000"), "ev-20000"));
        // Added to: first into the mapped table, then through a growth.
        let more: Vec<String> = (20_000..60_000).map(|i| format!("ev-{i}")).collect();
        for id in &more {
            let h = IdSet::hash(id);
            assert!(!back.contains(h, id));
            back.insert(h, id);
        }
        assert!(matches!(back.slots, Slots::Own(_)), "it grew");
        assert!(ids
            .iter()
            .chain(&more)
            .all(|id| back.contains(IdSet::hash(id), id)));
        // And written again, from mapped chunks and its own.
        let (_file, again) = round_trip(&back, b"");
        assert_eq!(again.len, ids.len() + more.len());
        assert!(ids
            .iter()
            .chain(&more)
            .all(|id| again.contains(IdSet::hash(id), id)));
        let (_file, empty) = round_trip(&IdSet::default(), b"h");
        assert_eq!(empty.len, 0);
    }

    /// A table or layout that does not fit its file is refused; entries that
    /// point nowhere find nothing, and growing past them does not fail.
    #[test]
    fn a_damaged_layout_is_refused_and_a_wild_table_finds_nothing() {
        use std::io::Write;
        let mut set = IdSet::with_capacity(4);
        for id in ["a", "b", "c"] {
            set.insert(IdSet::hash(id), id);
        }
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let mut parts = set.parts(0);
        let table = parts.pop().unwrap();
        for part in parts {
            f.write_all(part).unwrap();
        }
        // Every entry points past its chunk.
        let wild: Vec<u64> = bytemuck::cast_slice::<u8, u64>(table)
            .iter()
            .map(|e| if *e == 0 { 0 } else { e | (CHUNK as u64 - 1) })
            .collect();
        f.write_all(bytemuck::cast_slice(&wild)).unwrap();
        let file = f.reopen().unwrap();
        let map = Arc::new(unsafe { Mmap::map(&file) }.unwrap());
        let layout = set.layout();
        let mut bad = layout.clone();
        bad.slots = 3;
        assert!(IdSet::mapped(&file, &map, 0, &bad).is_err());
        bad = layout.clone();
        bad.chunks = vec![1 << 40];
        assert!(IdSet::mapped(&file, &map, 0, &bad).is_err());
        bad = layout.clone();
        bad.slots *= 2;
        assert!(
            IdSet::mapped(&file, &map, 0, &bad).is_err(),
            "past the file"
        );
        let (mut back, _) = IdSet::mapped(&file, &map, 0, &layout).unwrap();
        assert!(!back.contains(IdSet::hash("a"), "a"));
        for i in 0..100 {
            let id = format!("n{i}");
            back.insert(IdSet::hash(&id), &id);
        }
        // Grown from the bytes themselves: the wild table is gone.
        assert!(back.contains(IdSet::hash("a"), "a"));
        assert!(back.contains(IdSet::hash("n99"), "n99"));
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
