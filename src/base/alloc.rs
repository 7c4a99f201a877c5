//! The process allocator: mimalloc, entered through its plain `mi_malloc` path.
//!
//! The `mimalloc` crate hands every request to `mi_malloc_aligned`, whose alignment checks
//! and slower refill path cost about as much again as the allocation itself; a pipelined
//! request allocates two or three times. Every mimalloc block is aligned to at least 8
//! bytes (block sizes are whole words), so requests aligned to 8 or less take `mi_malloc`
//! and only the rest (cache-line aligned tables, ...) the aligned entry points.

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc, mi_zalloc_aligned,
};
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// mimalloc's `mi_option_large_os_pages` (its option enum; the `extended` bindings that name
/// it are not built here).
const MI_OPTION_LARGE_OS_PAGES: i32 = 6;

extern "C" {
    fn mi_option_set(option: i32, value: std::ffi::c_long);
}

/// `heap-huge-pages yes`: the heap's memory is asked of the kernel in 2 MiB transparent huge
/// pages (`MADV_HUGEPAGE`), for memory taken from now on. A fork (BGSAVE, AOF rewrite) then
/// copies one page-table entry per 2 MiB of data instead of 512, which is most of its pause:
/// 0.9 ms instead of 8-11 ms at 2M keys (`scripts/bgsave-latency.sh`). The price is paid
/// while the heap grows: the kernel clears (and may compact for) 2 MiB at each first touch,
/// so a loading writer's probe saw p99.9 6.7-7.3 ms instead of 2.4-3.3 ms
/// (`scripts/growth-latency.sh`), and a growing list costs ~15% more CPU per LPUSH. Hence
/// off by default. Called at startup, before the keyspace allocates.
pub fn use_huge_pages_for_heap() {
    // SAFETY: sets one of mimalloc's global options, which it reads when it next maps memory.
    unsafe { mi_option_set(MI_OPTION_LARGE_OS_PAGES, 1) };
}

/// Alignment every mimalloc block has.
const WORD: usize = std::mem::size_of::<usize>();

pub struct Mimalloc;

// SAFETY: each method forwards to the mimalloc call with the same contract, asking for the
// alignment the layout needs whenever a plain block might not have it.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as GlobalAlloc::alloc.
        unsafe {
            if layout.align() <= WORD {
                mi_malloc(layout.size()) as *mut u8
            } else {
                mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as GlobalAlloc::alloc_zeroed.
        unsafe {
            if layout.align() <= WORD {
                mi_zalloc(layout.size()) as *mut u8
            } else {
                mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator; mi_free takes aligned blocks too.
        unsafe { mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as GlobalAlloc::realloc.
        unsafe {
            if layout.align() <= WORD {
                mi_realloc(ptr as *mut c_void, new_size) as *mut u8
            } else {
                mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_the_alignment_asked_for() {
        let a = Mimalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 7, 8, 12, 24, 40, 100, 1000, 70_000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero layout; each block is written inside its size and freed once.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    p.write_bytes(0xab, size);
                    let q = a.realloc(p, layout, size * 3);
                    assert_eq!(q as usize % align, 0, "realloc size {size} align {align}");
                    assert_eq!(*q.add(size - 1), 0xab);
                    a.dealloc(q, Layout::from_size_align(size * 3, align).unwrap());
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    a.dealloc(z, layout);
                }
            }
        }
    }
}
