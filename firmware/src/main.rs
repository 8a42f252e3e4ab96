//! Runs the EKF and the 12 × 12 Jacobian of `typegrad_firmware`, measures them and
//! prints the results: on a Cortex-M4F without std (`thumbv7em-none-eabihf`, under
//! QEMU's `mps2-an386` with semihosting), or on the host with std.
//!
//! Each `value NAME NUMBER` line is a result; CI runs both builds and the host's
//! `--compare FILE` checks the device's values against its own to 1e-5 relative
//! (libm and the host's float functions differ in the last bits). The other lines are
//! measurements: allocations per step after the warm-up (must be 0: the run fails
//! otherwise), the peak heap and, on the device, the stack's high-water mark.
#![cfg_attr(target_os = "none", no_std, no_main)]

use core::fmt;

use typegrad::prelude::*;
use typegrad_firmware::{mixing_jacobian, mixing_point, Filter, Truth};

/// Filter steps run; the first is the warm-up.
const STEPS: usize = 20;

/// What the two platforms measure and print with.
trait Platform {
    /// What runs the program, for the first line of output.
    const NAME: &'static str;
    /// Allocations (and reallocations) made so far.
    fn allocations(&self) -> usize;
    /// Forgets the heap's peak: from now on it is the heap in use.
    fn reset_peak(&self);
    /// The most heap in use since the last `reset_peak`, in bytes.
    fn peak(&self) -> usize;
    /// Marks the free stack, for `stack_used` (the device only).
    fn paint_stack(&mut self);
    /// The deepest the stack has reached since `paint_stack`, in bytes from its top.
    fn stack_used(&self) -> Option<usize>;
    /// Where output goes.
    fn out(&mut self) -> &mut dyn fmt::Write;
}

/// What one measured computation used.
struct Usage {
    heap_before: usize,
    warm_up_allocations: usize,
    steady_allocations: usize,
    peak_heap: usize,
    stack: Option<usize>,
}

impl Usage {
    fn print(&self, what: &str, out: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(
            out,
            "{what}: allocations {} in the warm-up, {} after it; heap {} bytes in use before, {} at the peak",
            self.warm_up_allocations, self.steady_allocations, self.heap_before, self.peak_heap
        )?;
        match self.stack {
            Some(bytes) => writeln!(out, "{what}: stack high-water mark {bytes} bytes"),
            None => Ok(()),
        }
    }
}

/// Runs `work` once as a warm-up and `repeats` times after it, counting allocations
/// and the heap's and stack's peaks over all of them.
fn measure<P: Platform>(p: &mut P, repeats: usize, mut work: impl FnMut()) -> Usage {
    p.paint_stack();
    p.reset_peak();
    let heap_before = p.peak();
    let start = p.allocations();
    work();
    let warmed = p.allocations();
    for _ in 0..repeats {
        work();
    }
    let end = p.allocations();
    Usage {
        heap_before,
        warm_up_allocations: warmed - start,
        steady_allocations: end - warmed,
        peak_heap: p.peak(),
        stack: p.stack_used(),
    }
}

/// The whole run; `Ok(true)` if every step succeeded and nothing allocated after the
/// warm-ups.
fn run<P: Platform>(p: &mut P) -> Result<bool, fmt::Error> {
    writeln!(
        p.out(),
        "typegrad on the {}: an EKF (state 6, f32), {STEPS} steps; a 12 x 12 Jacobian",
        P::NAME
    )?;
    let mut filter = Filter::new();
    let mut truth = Truth::new();
    let mut failure: Option<Error> = None;
    let ekf = measure(p, STEPS - 1, || {
        if let Err(e) = filter.step(&truth.advance()) {
            failure.get_or_insert(e);
        }
    });

    let x = mixing_point();
    let mut jacobian = Tensor::<Rank2<12, 12>, f32>::zeros();
    let jacobian_usage = measure(p, 3, || jacobian = mixing_jacobian(&x));

    let out = p.out();
    ekf.print("EKF step", out)?;
    jacobian_usage.print("12 x 12 Jacobian", out)?;
    if let Some(e) = &failure {
        writeln!(out, "a filter step failed: {e}")?;
    }
    print_values(out, "state", filter.state.as_slice())?;
    print_values(out, "covariance", filter.covariance.as_slice())?;
    print_values(out, "jacobian", jacobian.as_slice())?;
    let clean = ekf.steady_allocations == 0 && jacobian_usage.steady_allocations == 0;
    if !clean {
        writeln!(out, "FAILED: a step allocated after its warm-up")?;
    }
    Ok(clean && failure.is_none())
}

/// Prints `value NAME[i] x` for each element: the lines `--compare` reads.
fn print_values(out: &mut dyn fmt::Write, name: &str, values: &[f32]) -> fmt::Result {
    for (i, v) in values.iter().enumerate() {
        writeln!(out, "value {name}[{i}] {v:e}")?;
    }
    Ok(())
}

#[cfg(target_os = "none")]
mod device;

#[cfg(not(target_os = "none"))]
mod host;

#[cfg(not(target_os = "none"))]
fn main() -> std::process::ExitCode {
    host::main()
}
