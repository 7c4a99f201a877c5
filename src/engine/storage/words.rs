//! Zeroed arrays of 64-bit words, the storage of a table's slots.
//!
//! A large array is mapped straight from the kernel instead of taken from the allocator: fresh
//! anonymous pages read as zero, so creating one costs no pass over it, and its pages are
//! faulted in one at a time as writes first reach them. Taken from the allocator, the array
//! of a table of millions of keys would be zeroed in one pass when a resize starts (memory the
//! allocator reuses is not known to be zero), pausing every client for tens of milliseconds.
//! Small arrays come from the allocator, which serves them faster than a system call.

use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Arrays of at least this many bytes are mapped from the kernel.
const MAP_AT: usize = 1 << 20;

/// Set in `tagged_len` for an array mapped from the kernel (a slot array's length is far
/// below 2⁶³, and the flag keeps `Words` as small as a `Box<[u64]>`).
const MAPPED: usize = 1 << (usize::BITS - 1);

/// An owned array of words, zeroed when made.
pub struct Words {
    ptr: NonNull<u64>,
    /// The length in words, with [`MAPPED`] set for a mapped array.
    tagged_len: usize,
}

// SAFETY: `Words` owns its memory alone, like a `Box<[u64]>`.
unsafe impl Send for Words {}
unsafe impl Sync for Words {}

impl Words {
    pub fn zeroed(len: usize) -> Words {
        let bytes = len.checked_mul(8).filter(|_| len & MAPPED == 0).expect("slot array size");
        if bytes >= MAP_AT {
            // SAFETY: an anonymous private mapping with no address hint touches no existing
            // memory; the result is checked before use.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if p != libc::MAP_FAILED {
                // Never huge pages here: the kernel would clear 2 MiB at a time as the first
                // writes of a growing table reach them, a pause the incremental growth exists
                // to avoid (the heap may use them, see crate::base::alloc). Advice only: a
                // kernel without it leaves the mapping as it is.
                // SAFETY: advice on the mapping just made, of exactly its length.
                unsafe { libc::madvise(p, bytes, libc::MADV_NOHUGEPAGE) };
                let ptr = NonNull::new(p.cast::<u64>()).expect("mmap never maps address 0");
                return Words { ptr, tagged_len: len | MAPPED };
            }
            // Out of mappings or address space: the allocator reports it as any allocation.
        }
        let boxed: Box<[u64]> = vec![0u64; len].into_boxed_slice();
        let ptr = NonNull::new(Box::into_raw(boxed).cast::<u64>()).expect("boxes are never null");
        Words { ptr, tagged_len: len }
    }
}

impl Words {
    #[inline]
    fn words(&self) -> usize {
        self.tagged_len & !MAPPED
    }

    fn is_mapped(&self) -> bool {
        self.tagged_len & MAPPED != 0
    }
}

impl Default for Words {
    fn default() -> Words {
        Words::zeroed(0)
    }
}

impl Deref for Words {
    type Target = [u64];

    #[inline]
    fn deref(&self) -> &[u64] {
        // SAFETY: `ptr` addresses `len` initialized words this value owns (zeroed when made).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.words()) }
    }
}

impl DerefMut for Words {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u64] {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.words()) }
    }
}

impl Drop for Words {
    fn drop(&mut self) {
        let len = self.words();
        if self.is_mapped() {
            // SAFETY: the mapping was made by `zeroed` with this address and length, and
            // nothing refers to it once its owner is dropped.
            unsafe { libc::munmap(self.ptr.as_ptr().cast(), len * 8) };
        } else {
            // SAFETY: the pointer and length came from a `Box<[u64]>` in `zeroed`.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), len)) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_mapped_arrays_start_zeroed_and_hold_writes() {
        for len in [0, 1, 1000, MAP_AT / 8, 3 * MAP_AT / 8 + 5] {
            let mut w = Words::zeroed(len);
            assert_eq!(w.len(), len);
            assert!(w.iter().all(|&x| x == 0));
            assert_eq!(w.is_mapped(), len * 8 >= MAP_AT);
            if len > 0 {
                w[len - 1] = 7;
                w[0] = 9;
                assert_eq!((w[0], w[len - 1]), (9, if len == 1 { 9 } else { 7 }));
            }
        }
    }
}
