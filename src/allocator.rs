//! Memory allocation: mimalloc for Rust's allocations and for the parser's.
//!
//! A check allocates and frees a great many small objects (tree-sitter's subtrees and parse
//! stacks, the analyzer's names and values) from several threads at once; glibc's allocator
//! spent about a tenth of a check's time on them (`perf record`), mimalloc far less.

use std::ffi::c_void;

use libmimalloc_sys::{mi_calloc, mi_free, mi_malloc, mi_realloc};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" fn parser_malloc(size: usize) -> *mut c_void {
    // SAFETY: mimalloc's malloc has C's contract.
    unsafe { mi_malloc(size) }
}

unsafe extern "C" fn parser_calloc(count: usize, size: usize) -> *mut c_void {
    // SAFETY: mimalloc's calloc has C's contract.
    unsafe { mi_calloc(count, size) }
}

unsafe extern "C" fn parser_realloc(pointer: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: tree-sitter only reallocates what it allocated through `parser_malloc`.
    unsafe { mi_realloc(pointer, size) }
}

unsafe extern "C" fn parser_free(pointer: *mut c_void) {
    // SAFETY: tree-sitter only frees what it allocated through these functions.
    unsafe { mi_free(pointer) }
}

/// Routes tree-sitter's allocations to mimalloc, and turns transparent huge pages off for the
/// process. Called first thing in `main`, before any parser, tree or query exists.
///
/// mimalloc asks for huge pages (`MADV_HUGEPAGE`) for its arenas; each first touch of one then
/// zeroes 2 MiB at once. On the virtual machines measured, that zeroing took up to a second of
/// system time in a 0.2 s cached run, seemingly whenever the host had to back the memory
/// afresh (`perf record`: 75–80% of the run in the kernel's `clear_page_erms`), and the cold run of
/// the 16 benchmark projects took 1.6 s of system time instead of 0.4 s, 11% longer, and 40 MiB
/// more memory. Small pages cost nothing measurable in user time (`docs/performance.md`).
pub(crate) fn install() {
    #[cfg(target_os = "linux")]
    {
        // Best effort: a kernel without the flag keeps its default.
        let _ = rustix::thread::disable_transparent_huge_pages(true);
    }
    // SAFETY: nothing has been allocated by tree-sitter yet, so every pointer it ever frees
    // comes from the functions installed here; they are thread-safe.
    unsafe {
        tree_sitter::set_allocator(
            Some(parser_malloc),
            Some(parser_calloc),
            Some(parser_realloc),
            Some(parser_free),
        );
    }
}
