//! A counting global allocator (it counts only on the thread that asked and
//! only while asked), shared by tests/rust_std.rs, tests/no_alloc_rust.rs and
//! benches/tokio.rs. Each installs it with `#[global_allocator]`.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

// The initializers are const already; clippy 1.96 still flags them on
// targets where the macro expands without native TLS (OpenBSD, illumos).
#[allow(clippy::missing_const_for_thread_local)]
mod counters {
    use std::cell::Cell;
    thread_local! {
        pub(super) static COUNTING: Cell<bool> = const { Cell::new(false) };
        pub(super) static COUNT: Cell<u64> = const { Cell::new(0) };
    }
}
use counters::{COUNT, COUNTING};

fn note() {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Start counting on this thread (from zero).
pub fn start() {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
}

/// Stop counting; the heap calls since [`start`].
pub fn stop() -> u64 {
    COUNTING.with(|c| c.set(false));
    COUNT.with(Cell::get)
}
