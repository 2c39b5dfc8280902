//! Giving memory back after a storm. mimalloc keeps the pages a thread freed
//! for its next allocations and returns them to the system only as that
//! thread allocates again; the loop is idle after a storm, so the pages of its
//! thousands of records and notifications would stay resident for the rest of
//! the run.
//!
//! Measured: 8 alternating rounds of a live `coord watch DIR --headless` on
//! `bench/gen_storm.py DIR/events/f.jsonl 10000` (10,000 agents time out in
//! one tick), resident memory 5 s after start (`bench/storm.sh` reads the same
//! figure): median 60 MB with this call after the storm (57.7–65.7), 175 MB
//! without it (147–193); the same fleet with no storm, 29 MB.

/// Frees what the calling thread's heap holds unused, including blocks other
/// threads freed for it, and gives their pages back to the system.
pub fn release_free_memory() {
    // SAFETY: mi_collect takes no pointer; it only walks the calling thread's
    // own heap (a no-op where mimalloc is not the allocator in use).
    unsafe { libmimalloc_sys::mi_collect(true) };
}
