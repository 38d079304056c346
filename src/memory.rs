//! Giving freed memory back to the system.
//!
//! A refresh of a large fleet allocates its answers, a new fleet beside the previous one
//! and the merge's working rows (about 200 MB at 50,000 hosts), and frees most of it once
//! the board has swapped fleets. glibc's allocator keeps what was freed inside its arenas
//! (one per thread that allocated under contention) and gives back only the top of each, so
//! without help the board stays at the size of its largest refresh. `malloc_trim(0)` hands
//! every arena's free pages back with `madvise`.

/// Makes every thread allocate from one glibc arena, unless `MALLOC_ARENA_MAX` says otherwise.
///
/// By default glibc gives each thread that meets contention an arena of its own. The
/// board's answers are parsed on the runtime's threads and merged on another, so memory a
/// refresh frees in one arena is of no use to the next refresh's allocations in another:
/// at 50,000 hosts that kept 40–70 MB more resident. The board has a handful of threads and
/// each keeps a small cache of its own, so one lock costs little. Call it first thing in
/// `main`, before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn one_arena() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: `mallopt` takes plain integers; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// Makes every thread allocate from one arena (nothing to do off glibc).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn one_arena() {}

/// Hosts from which the board looks at how much memory a refresh left free. Below it the
/// heap stays small and glibc trims the top of it on its own: at 100 hosts trims and the
/// page faults of taking the pages back were about a fifth of a refresh's CPU (`perf stat`
/// on `bench-refresh`).
pub const RELEASE_FROM_HOSTS: usize = 2_000;

/// Free bytes inside the allocator from which they are given back to the system.
///
/// A trim is paid for at the next refresh, which faults every page back in: at 5,000 hosts
/// (`bench-refresh --runs 20`, 22 refreshes) trimming after each refresh took 0.90 s of CPU
/// and 103,000 page faults, not trimming 0.73 s and 12,000 faults, for a board resident at
/// 24 MiB instead of 41 MiB (its peak during a refresh, 39–44 MiB, the same either way).
/// Sixteen megabytes are not worth a fifth of the CPU; the 130 MB a refresh of 50,000
/// hosts frees are.
pub const RELEASE_FROM_FREE_BYTES: usize = 64 << 20;

/// [`release_free_memory`] when the fleet has at least [`RELEASE_FROM_HOSTS`] hosts and the
/// allocator holds at least [`RELEASE_FROM_FREE_BYTES`] free; whether pages were returned.
pub fn release_free_memory_for(hosts: usize) -> bool {
    hosts >= RELEASE_FROM_HOSTS
        && free_bytes().is_none_or(|free| free >= RELEASE_FROM_FREE_BYTES)
        && release_free_memory()
}

/// Bytes the allocator holds free in its arenas (glibc's `mallinfo2().fordblks`); `None`
/// where that cannot be known.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn free_bytes() -> Option<usize> {
    // SAFETY: `mallinfo2` takes nothing and returns a plain struct by value; glibc locks
    // each arena while it counts.
    let info = unsafe { libc::mallinfo2() };
    Some(info.fordblks)
}

/// Bytes the allocator holds free (unknown off glibc).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn free_bytes() -> Option<usize> {
    None
}

/// Returns the allocator's free pages to the system; whether any were returned.
///
/// glibc (Linux) only: other allocators return memory on their own, and this does nothing
/// there. It walks and locks every arena in turn (a few milliseconds on a heap of hundreds
/// of megabytes), so call it from a blocking thread, once the old data is dropped.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_free_memory() -> bool {
    // SAFETY: `malloc_trim` takes no pointer and glibc serializes it with every other
    // allocator call. With `one_arena` and `free_bytes`, the only unsafe code in fleetboard.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Returns the allocator's free pages to the system (nothing to do off glibc).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn freed_memory_goes_back_to_the_system() {
        // Many small blocks (below the mmap threshold, so they live in the arena), most
        // freed while a few survive above them: what a refresh leaves behind.
        let rss = || crate::perf::proc_status_kib("VmRSS:").unwrap_or(0);
        let mut blocks: Vec<Vec<u8>> = (0..200_000).map(|i| vec![(i % 251) as u8; 512]).collect();
        let keep: Vec<Vec<u8>> = (0..64).map(|_| vec![1u8; 512]).collect();
        let full = rss();
        let free_before = free_bytes().unwrap_or(0);
        blocks.truncate(0);
        blocks.shrink_to_fit();
        let free = free_bytes().unwrap_or(0);
        assert!(
            free >= free_before + 90_000_000,
            "{free} bytes free after freeing ~100 MB of blocks ({free_before} before)"
        );
        release_free_memory();
        let after = rss();
        assert!(
            after + 50_000 < full,
            "RSS {full} kB with ~100 MB of blocks, {after} kB after freeing them and trimming"
        );
        assert_eq!(keep.len(), 64);
    }
}
