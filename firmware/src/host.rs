//! The host build: the same run with std, and `--compare FILE` to check the device's
//! values against it.
//!
//! The counting allocator is an `unsafe impl` by definition (as in the library's
//! `tests/allocations.rs`): a pass-through to the system allocator with counters.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::fmt;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{run, Platform};

/// Counts allocations and live bytes while passing them to the system allocator.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are
// atomics that allocate nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation is).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout`; the caller's contract
        // for `realloc` is the system allocator's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The host: counts from the allocator above; no stack measurement.
struct Host {
    out: String,
}

impl Platform for Host {
    const NAME: &'static str = "host (std)";

    fn allocations(&self) -> usize {
        ALLOCATIONS.load(Ordering::Relaxed)
    }

    fn reset_peak(&self) {
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    fn peak(&self) -> usize {
        PEAK.load(Ordering::Relaxed)
    }

    fn paint_stack(&mut self) {}

    fn stack_used(&self) -> Option<usize> {
        None
    }

    fn out(&mut self) -> &mut dyn fmt::Write {
        &mut self.out
    }
}

/// The `value NAME NUMBER` lines of a run's output.
fn values(output: &str) -> BTreeMap<&str, f64> {
    output
        .lines()
        .filter_map(|line| {
            let mut words = line.strip_prefix("value ")?.split_whitespace();
            Some((words.next()?, words.next()?.parse().ok()?))
        })
        .collect()
}

/// Compares the device's values with the host's: the same names, each within 1e-5
/// relative (an exact zero must be matched to f32's smallest normal number).
fn compare(host: &str, device: &str) -> Result<usize, String> {
    let (host, device) = (values(host), values(device));
    if host.is_empty() || host.len() != device.len() {
        return Err(format!(
            "the host printed {} values, the device {}",
            host.len(),
            device.len()
        ));
    }
    let mut worst = (0.0, "");
    for (name, &expected) in &host {
        let Some(&got) = device.get(name) else {
            return Err(format!("the device printed no {name}"));
        };
        let error = (got - expected).abs();
        let allowed = (1e-5 * expected.abs()).max(f64::from(f32::MIN_POSITIVE));
        if error.is_nan() || error > allowed {
            return Err(format!(
                "{name}: the device gave {got:e}, the host {expected:e} (difference {error:e})"
            ));
        }
        if error / allowed > worst.0 {
            worst = (error / allowed, name);
        }
    }
    println!(
        "device and host agree to 1e-5 relative on {} values; the largest difference is {} at {:.3} of the tolerance",
        host.len(),
        worst.1,
        worst.0
    );
    Ok(host.len())
}

pub(super) fn main() -> ExitCode {
    let mut host = Host { out: String::new() };
    let clean = run(&mut host).unwrap_or(false);
    print!("{}", host.out);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let compared = match args.as_slice() {
        [] => Ok(0),
        [flag, path] if flag == "--compare" => std::fs::read_to_string(path)
            .map_err(|e| format!("{path}: {e}"))
            .and_then(|device| compare(&host.out, &device)),
        _ => Err("usage: typegrad-firmware [--compare DEVICE_OUTPUT]".into()),
    };
    match (clean, compared) {
        (true, Ok(_)) => ExitCode::SUCCESS,
        (_, Err(e)) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
        (false, Ok(_)) => ExitCode::FAILURE,
    }
}
