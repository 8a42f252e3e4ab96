//! The device build: a Cortex-M4F with no operating system, a 64 KiB heap and
//! semihosting for output (QEMU's `mps2-an386`; `memory.x` gives its memory map).
//!
//! Two things here need `unsafe`, each with its reason: the global allocator (a
//! counting wrapper around embedded-alloc's heap, an `unsafe impl` by definition) and the
//! stack paint (writing and reading the free RAM between the heap's end and the stack
//! pointer, which no Rust object owns).
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicUsize, Ordering};

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};
use embedded_alloc::LlffHeap;

use super::{run, Platform};

/// The heap typegrad allocates from: the figure the README gives for this EKF.
const HEAP_SIZE: usize = 64 * 1024;

/// The heap's memory, in `.bss`.
static mut HEAP_MEMORY: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];

/// embedded-alloc's linked-list heap with counters: allocations, and the peak of the
/// bytes the heap has in use (its own rounding included).
struct Counting {
    heap: LlffHeap,
    allocations: AtomicUsize,
    peak: AtomicUsize,
}

impl Counting {
    fn note_peak(&self) {
        self.peak.fetch_max(self.heap.used(), Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to embedded-alloc's heap (itself a
// `GlobalAlloc`, initialised in `main` before anything allocates); the counters are
// atomics that allocate nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocations.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is the heap's.
        let ptr = unsafe { self.heap.alloc(layout) };
        self.note_peak();
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this heap with `layout` (every allocation does).
        unsafe { self.heap.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.allocations.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `realloc` is the heap's.
        let ptr = unsafe { self.heap.realloc(ptr, layout, new_size) };
        self.note_peak();
        ptr
    }
}

#[global_allocator]
static HEAP: Counting = Counting {
    heap: LlffHeap::empty(),
    allocations: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
};

/// What the stack paint writes, one word at a time.
const PAINT: u32 = 0xC0FF_EE11;

/// Free stack kept unpainted below the painting function's own stack pointer: its
/// frame, and the interrupt frame a fault would push.
const PAINT_MARGIN: usize = 256;

extern "C" {
    /// The lowest address the stack may reach: the end of `.bss` and `.uninit`
    /// (cortex-m-rt's link.x).
    static mut _stack_end: u32;
    /// The top of the stack: the end of RAM (link.x).
    static mut _stack_start: u32;
}

/// The device: counts from [`HEAP`], stack from the paint, output to the host.
struct Device {
    out: hio::HostStream,
}

impl Platform for Device {
    const NAME: &'static str = "device (Cortex-M4F, no std)";

    fn allocations(&self) -> usize {
        HEAP.allocations.load(Ordering::Relaxed)
    }

    fn reset_peak(&self) {
        HEAP.peak.store(HEAP.heap.used(), Ordering::Relaxed);
    }

    fn peak(&self) -> usize {
        HEAP.peak.load(Ordering::Relaxed)
    }

    #[inline(never)]
    fn paint_stack(&mut self) {
        let sp = cortex_m::register::msp::read() as usize;
        let bottom = addr_of_mut!(_stack_end) as usize;
        let mut at = bottom;
        while at + 4 <= sp.saturating_sub(PAINT_MARGIN) {
            // SAFETY: `at` is word-aligned (`_stack_end` is, link.x asserts it) and lies
            // between the end of every static and the stack pointer less a margin: RAM
            // that no object occupies and that no frame uses while this function, which
            // calls nothing, runs. Volatile, so the writes are not elided.
            unsafe { core::ptr::write_volatile(at as *mut u32, PAINT) };
            at += 4;
        }
    }

    fn stack_used(&self) -> Option<usize> {
        let bottom = addr_of_mut!(_stack_end) as usize;
        let top = addr_of_mut!(_stack_start) as usize;
        let mut at = bottom;
        // SAFETY: as in `paint_stack`, reads of aligned words of RAM between the end
        // of the statics and the top of the stack; the scan stops at the first word
        // the stack has written, below the current frame.
        while at < top && unsafe { core::ptr::read_volatile(at as *const u32) } == PAINT {
            at += 4;
        }
        Some(top - at)
    }

    fn out(&mut self) -> &mut dyn fmt::Write {
        &mut self.out
    }
}

#[entry]
fn main() -> ! {
    // SAFETY: called once, before anything allocates, with memory that only the heap
    // uses from here on.
    unsafe {
        HEAP.heap
            .init(addr_of_mut!(HEAP_MEMORY) as usize, HEAP_SIZE)
    };
    let status = match hio::hstdout() {
        Ok(out) => {
            let mut device = Device { out };
            match run(&mut device) {
                Ok(true) => debug::EXIT_SUCCESS,
                _ => debug::EXIT_FAILURE,
            }
        }
        Err(()) => debug::EXIT_FAILURE,
    };
    debug::exit(status);
    loop {
        cortex_m::asm::bkpt();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if let Ok(mut out) = hio::hstderr() {
        let _ = fmt::Write::write_fmt(&mut out, format_args!("panic: {info}\n"));
    }
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}
