//! A plugin that pushes the host's limits from inside, for the hostile tests of every target
//! (native, Node, Chromium, workerd): unbounded recursion (RES-03), memory growth until the
//! host refuses a page (RES-05), and plugin → host → plugin re-entry (CON-01).

use plugboard_plugin::prelude::*;

/// Recurses until the stack runs out: the call must end as `stackOverflow`.
#[export]
pub fn recurse(start: u32) -> u32 {
    deeper(start)
}

#[inline(never)]
fn deeper(n: u32) -> u32 {
    if n == u32::MAX {
        return 0;
    }
    // Not a tail call: the addition after the call keeps every frame alive.
    core::hint::black_box(deeper(core::hint::black_box(n + 1))).wrapping_add(1)
}

/// Grows memory a page at a time until `memory.grow` fails; returns the pages it got.
#[export]
pub fn grow_until_refused() -> u32 {
    let mut pages = 0;
    while core::arch::wasm32::memory_grow(0, 1) != usize::MAX {
        pages += 1;
    }
    pages
}

/// The current memory size in 64 KiB pages.
#[export]
pub fn pages() -> u32 {
    core::arch::wasm32::memory_size(0) as u32
}

#[import]
fn again(depth: u32) -> u32;

/// Calls the host's `again(depth + 1)`, which may call `reenter` of another instance, …
#[export]
pub fn reenter(depth: u32) -> u32 {
    again(depth + 1)
}

/// Answers: the canary after each of the above.
#[export]
pub fn ping() -> u32 {
    7
}
