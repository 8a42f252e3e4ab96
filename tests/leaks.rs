//! No graph outlives the handles to it: programs that link graphs (casts between element
//! types, merges, transforms) run 10,000 times and the memory live on their thread
//! returns to where it was after the first 100 runs. Pools and arenas may keep what the
//! first runs needed; a graph kept alive by a reference cycle grows the count each run.
//!
//! Tensors built from the caller's values (`from_array`, `from_fn`) take their buffers
//! from the pool too: a buffer made outside it joins the pool when its tensor drops, and
//! the pool grew by one buffer per run up to its bound (4,096 per length).
//!
//! A count of live bytes, not a time, measured by a global allocator: a test binary of
//! its own, one test function, so that nothing else allocates on the measured thread.
//! The allocator is a pass-through to the system's with counters, so the library's rule
//! (unsafe only in its kernels) is lifted in this file only.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use typegrad::func;
use typegrad::prelude::*;

/// Counts the bytes the measured thread holds, passing every call to the system allocator.
struct Counting;

/// Bytes allocated minus bytes freed by the measured thread (signed: a value allocated
/// before counting started may be freed while counting).
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Whether this thread is measured (a `const` thread-local without a destructor
    /// allocates nothing when read).
    static COUNTING: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

fn counted() -> bool {
    COUNTING.try_with(core::cell::Cell::get).unwrap_or(false)
}

fn add_live(bytes: usize, sign: isize) {
    LIVE_BYTES.fetch_add(sign * bytes as isize, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is an
// atomic that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            add_live(layout.size(), 1);
        }
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            add_live(layout.size(), -1);
        }
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation is).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            add_live(new_size, 1);
            add_live(layout.size(), -1);
        }
        // SAFETY: as for `dealloc`; `new_size` is the caller's, unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const RUNS: usize = 10_000;
const SETTLED_AFTER: usize = 100;

/// The live bytes after `SETTLED_AFTER` runs of `program` and after `RUNS` runs.
fn live_bytes_after_runs(mut program: impl FnMut()) -> (isize, isize) {
    let start = LIVE_BYTES.load(Ordering::Relaxed);
    let mut settled = 0;
    for run in 1..=RUNS {
        program();
        if run == SETTLED_AFTER {
            settled = LIVE_BYTES.load(Ordering::Relaxed) - start;
        }
    }
    (settled, LIVE_BYTES.load(Ordering::Relaxed) - start)
}

/// A cast there and back, merged with the value it came from: the cast's graph (f64)
/// refers to the source's (f32), and the merge puts a cast from the f64 graph into the
/// source's graph.
fn cast_round_trip_backward() {
    let x = Tensor::from_array([1.0f32, 2.0]).track();
    let a = &x * 3.0;
    let c = (a.cast::<f64>() * 2.0).cast::<f32>();
    let grads = (&c + &a).sum().backward();
    assert_eq!(grads.get(&x).map(|g| g.to_vec()), Some(vec![9.0, 9.0]));
}

/// The same link made inside a transform's closure.
fn cast_inside_grad() {
    let x = Tensor::from_array([0.5f32, -1.5]);
    let g = func::grad(
        |x| {
            let h = x.sin() * x;
            (h.cast::<f64>().exp().cast::<f32>() + &h * &h).sum()
        },
        &x,
    );
    assert!(g.as_slice().iter().all(|v| v.is_finite()));
}

fn cast_inside_hessian() {
    let x = Tensor::from_array([0.5f64, -1.5]);
    let h = func::hessian(
        |x| {
            let y = x.cast::<f32>().exp().cast::<f64>();
            (&y * x).sum()
        },
        &x,
    );
    assert!(h.is_ok_and(|h| h.as_slice().iter().all(|v| v.is_finite())));
}

fn cast_inside_jacobian_forward() {
    let x = Tensor::from_array([0.5f64, -1.5, 2.0]);
    let j: Tensor<Rank2<3, 3>, f64> = func::jacobian_forward(
        |x| {
            let y = x.cast::<f32>().tanh().cast::<f64>();
            &y * x + x
        },
        &x,
    );
    assert!(j.as_slice().iter().all(|v| v.is_finite()));
}

/// The same loops without a cast, which never leaked: a Hessian, a forward Jacobian and
/// a backward that merges graphs.
fn no_cast() {
    let x = Tensor::from_array([0.5f64, -1.5]);
    let h = func::hessian(|x| (x.exp() * x).sum(), &x);
    assert!(h.is_ok());
    let j: Tensor<Rank2<2, 2>, f64> = func::jacobian_forward(|x| x.tanh() + x * x, &x);
    assert!(j.as_slice().iter().all(|v| v.is_finite()));
    let t = x.track();
    let grads = (t.sin() + &t * &t).sum().backward();
    assert!(grads.get(&t).is_some());
}

#[test]
fn graphs_linked_through_casts_are_freed() {
    COUNTING.with(|c| c.set(true));
    let programs: [(&str, fn()); 5] = [
        (
            "cast round trip merged back, backward",
            cast_round_trip_backward,
        ),
        ("cast round trip inside func::grad", cast_inside_grad),
        ("cast round trip inside func::hessian", cast_inside_hessian),
        (
            "cast round trip inside func::jacobian_forward",
            cast_inside_jacobian_forward,
        ),
        ("the same transforms without a cast", no_cast),
    ];
    let mut grew = Vec::new();
    for (name, program) in programs {
        let (settled, end) = live_bytes_after_runs(program);
        println!("{name}: {settled} bytes live after {SETTLED_AFTER} runs, {end} after {RUNS}");
        if end > settled {
            grew.push(format!(
                "{name}: {} bytes more after {RUNS} runs than after {SETTLED_AFTER}",
                end - settled
            ));
        }
    }
    COUNTING.with(|c| c.set(false));
    assert!(grew.is_empty(), "memory grew:\n{}", grew.join("\n"));
}
