//! Where a line's quotes are, found in one pass 32 bytes at a time (AVX2, where
//! the processor has it), else sixteen (SSE2, which every x86-64 processor
//! has; on other processors a byte at a time), and whether the line holds a
//! byte the fast reader does not take — a backslash or a control character —
//! or one outside ASCII. In a line without a backslash,
//! each string runs from a quote to the next one: the fast reader finds a
//! string's end by a bit scan, and never reads the string itself.

/// Lines up to this many 64-byte words keep their quotes inline (no allocation).
const INLINE_WORDS: usize = 8;

pub struct Quotes {
    /// Bit `i % 64` of word `i / 64` is set when byte `i` is a quote.
    inline: [u64; INLINE_WORDS],
    /// The words of a longer line (empty otherwise).
    heap: Vec<u64>,
    /// A backslash, or a byte below 0x20, somewhere in the line.
    pub special: bool,
    /// A byte of 0x80 or above somewhere in the line.
    pub non_ascii: bool,
}

impl Quotes {
    pub fn of(b: &[u8]) -> Quotes {
        let n = b.len().div_ceil(64);
        let mut q = Quotes {
            inline: [0; INLINE_WORDS],
            heap: if n > INLINE_WORDS {
                vec![0; n]
            } else {
                Vec::new()
            },
            special: false,
            non_ascii: false,
        };
        let words = if n > INLINE_WORDS {
            &mut q.heap[..]
        } else {
            &mut q.inline[..n]
        };
        (q.special, q.non_ascii) = classify(b, words);
        q
    }

    fn words(&self) -> &[u64] {
        if self.heap.is_empty() {
            &self.inline
        } else {
            &self.heap
        }
    }

    /// The first quote at or after byte `i`.
    pub fn next(&self, i: usize) -> Option<usize> {
        let words = self.words();
        let mut w = i / 64;
        let mut bits = *words.get(w)? & (!0u64 << (i % 64));
        while bits == 0 {
            w += 1;
            bits = *words.get(w)?;
        }
        Some(w * 64 + bits.trailing_zeros() as usize)
    }
}

/// Sets the quote bits of `b` in `words` (zeroed, one per 64 bytes); whether
/// `b` holds a backslash or a control character, and whether a byte outside ASCII.
#[cfg(target_arch = "x86_64")]
fn classify(b: &[u8], words: &mut [u64]) -> (bool, bool) {
    if is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2 (asked just now; the answer is cached).
        unsafe { classify_avx2(b, words) }
    } else {
        // SAFETY: SSE2 is part of every x86-64 processor.
        unsafe { classify_sse2(b, words) }
    }
}

/// `classify`, thirty-two bytes at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn classify_avx2(b: &[u8], words: &mut [u64]) -> (bool, bool) {
    use std::arch::x86_64::*;
    let mut special = _mm256_setzero_si256();
    let mut any = _mm256_setzero_si256();
    let mut block = |block: &[u8]| -> u64 {
        let mut bits = 0u64;
        for (k, chunk) in block.chunks_exact(32).enumerate() {
            // SAFETY: an unaligned load of 32 bytes from a 32-byte slice.
            let x = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) };
            let quote = _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b'"' as i8));
            let backslash = _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b'\\' as i8));
            let control = _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8(0x1f)), x);
            special = _mm256_or_si256(special, _mm256_or_si256(backslash, control));
            any = _mm256_or_si256(any, x);
            bits |= (_mm256_movemask_epi8(quote) as u32 as u64) << (32 * k);
        }
        bits
    };
    blocks(b, words, &mut block);
    (
        _mm256_movemask_epi8(special) != 0,
        _mm256_movemask_epi8(any) != 0,
    )
}

/// Runs `block` over each 64 bytes of `b`, into `words`. The last, short block
/// is the last 64 bytes of `b` again, overlapping, with only the new bytes'
/// bits kept (classifying the others twice changes nothing); in a line shorter
/// than that, the bytes padded with spaces, which are none of the above.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn blocks(b: &[u8], words: &mut [u64], block: &mut impl FnMut(&[u8]) -> u64) {
    let mut chunks = b.chunks_exact(64);
    for (word, chunk) in words.iter_mut().zip(chunks.by_ref()) {
        *word = block(chunk);
    }
    let rest = chunks.remainder().len();
    if rest > 0 {
        words[b.len() / 64] = if b.len() >= 64 {
            block(&b[b.len() - 64..]) >> (64 - rest)
        } else {
            let mut last = [b' '; 64];
            last[..rest].copy_from_slice(b);
            block(&last)
        };
    }
}

/// `classify`, sixteen bytes at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn classify_sse2(b: &[u8], words: &mut [u64]) -> (bool, bool) {
    use std::arch::x86_64::*;
    let mut special = _mm_setzero_si128();
    let mut any = _mm_setzero_si128();
    // The quote bits of 64 bytes; the specials and the high bits gathered.
    let mut block = |block: &[u8]| -> u64 {
        let mut bits = 0u64;
        for (k, chunk) in block.chunks_exact(16).enumerate() {
            // SAFETY: an unaligned load of sixteen bytes from a sixteen-byte slice.
            let x = unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) };
            let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
            // Unsigned x < 0x20: x is its minimum with 0x1f.
            let control = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
            special = _mm_or_si128(special, _mm_or_si128(backslash, control));
            any = _mm_or_si128(any, x);
            bits |= (_mm_movemask_epi8(quote) as u32 as u64) << (16 * k);
        }
        bits
    };
    blocks(b, words, &mut block);
    (_mm_movemask_epi8(special) != 0, _mm_movemask_epi8(any) != 0)
}

#[cfg(not(target_arch = "x86_64"))]
fn classify(b: &[u8], words: &mut [u64]) -> (bool, bool) {
    naive(b, words)
}

/// `classify`, a byte at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn naive(b: &[u8], words: &mut [u64]) -> (bool, bool) {
    let (mut special, mut non_ascii) = (false, false);
    for (i, &c) in b.iter().enumerate() {
        if c == b'"' {
            words[i / 64] |= 1 << (i % 64);
        }
        special |= c == b'\\' || c < 0x20;
        non_ascii |= c >= 0x80;
    }
    (special, non_ascii)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Quotes, specials and bytes outside ASCII are found wherever they are,
        /// in lines of every length around the word and group sizes.
        #[test]
        fn finds_what_a_byte_at_a_time_finds(
            b in proptest::collection::vec(
                prop_oneof![Just(b'"'), Just(b'\\'), Just(b'a'), Just(b' '), Just(0x1f),
                            Just(0x20), Just(0x7f), Just(0x80), Just(0xff), any::<u8>()],
                0..700,
            ),
        ) {
            let q = Quotes::of(&b);
            let mut words = vec![0; b.len().div_ceil(64)];
            let (special, non_ascii) = naive(&b, &mut words);
            prop_assert_eq!(&q.words()[..words.len()], &words[..]);
            prop_assert_eq!((q.special, q.non_ascii), (special, non_ascii));
            // Each of the processor's ways, not only the one this one takes.
            #[cfg(target_arch = "x86_64")]
            {
                type Way = fn(&[u8], &mut [u64]) -> (bool, bool);
                // SAFETY: SSE2 is part of x86-64; AVX2 is used only when there.
                let mut ways: Vec<Way> = vec![|b, w| unsafe { classify_sse2(b, w) }];
                if is_x86_feature_detected!("avx2") {
                    ways.push(|b, w| unsafe { classify_avx2(b, w) });
                }
                for way in ways {
                    let mut got = vec![0; words.len()];
                    prop_assert_eq!(way(&b, &mut got), (special, non_ascii));
                    prop_assert_eq!(&got, &words);
                }
            }
            let quotes: Vec<usize> = (0..b.len()).filter(|&i| b[i] == b'"').collect();
            for i in 0..=b.len() {
                prop_assert_eq!(q.next(i), quotes.iter().copied().find(|&j| j >= i), "from {}", i);
            }
        }
    }
}
