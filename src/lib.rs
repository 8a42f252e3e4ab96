//! typegrad: reverse-mode automatic differentiation whose shapes and gradient modes are
//! types.
//!
//! Start with [`prelude`] and [`Tensor`]; ARCHITECTURE.md in the repository describes
//! how the crate is built.
#![doc = include_str!("../README.md")]
// Always `no_std` with `alloc`, so that every module imports `Vec`, `Arc`, `Rc`, ...
// from `alloc` and `core` the same way in both builds; `std` adds only what needs an
// operating system (files, threads, thread-locals), in the few modules that use it.
#![no_std]
#![deny(missing_docs)]
#![forbid(clippy::undocumented_unsafe_blocks)]

extern crate alloc;
// Unit tests run on the host's harness whatever the features.
#[cfg(any(feature = "std", test))]
extern crate std;

mod compiled;
pub mod custom;
mod display;
pub mod element;
pub mod error;
pub mod func;
pub mod gradcheck;
pub mod gradients;
mod graphviz;
#[cfg(feature = "nalgebra")]
pub mod interop;
mod kernels;
pub mod linalg;
pub mod model;
mod ops;
pub mod optim;
#[cfg(feature = "std")]
pub mod parallel;
#[cfg(feature = "safetensors")]
pub mod serialization;
pub mod shape;
pub mod tape;
pub mod tensor;
mod workspace;

pub use element::{Element, SameElement};
pub use error::Error;
pub use gradients::Gradients;
pub use ops::binary::RhsOperand;
pub use ops::select::where_;
pub use shape::{Rank0, Rank1, Rank2, Rank3, Rank4, Shape};
pub use tape::{Detached, NoGrad, Tape, Tracked, TrackedGradients};
pub use tensor::{seeded_rng, GradFn, Indices, Mask, SeededRng, Tensor};

/// The reference guides, the same pages as `docs/` in the repository (their examples
/// are tested with the crate's documentation).
pub mod guide {
    #[doc = include_str!("../docs/compile-time.md")]
    pub mod compile_time {}
    #[doc = include_str!("../docs/operations.md")]
    pub mod operations {}
    #[doc = include_str!("../docs/transforms.md")]
    pub mod transforms {}
    #[doc = include_str!("../docs/linalg.md")]
    pub mod linear_algebra {}
    #[doc = include_str!("../docs/training.md")]
    pub mod training {}
    #[doc = include_str!("../docs/numerics.md")]
    pub mod numerics {}
    #[doc = include_str!("../docs/interop.md")]
    pub mod interop {}
    #[doc = include_str!("../docs/performance.md")]
    pub mod performance {}
    #[doc = include_str!("../docs/embedded.md")]
    pub mod embedded {}
}

/// Everything a user of typegrad needs in scope: `use typegrad::prelude::*;`.
pub mod prelude {
    pub use crate::element::Element;
    pub use crate::error::Error;
    pub use crate::gradients::Gradients;
    pub use crate::shape::{Rank0, Rank1, Rank2, Rank3, Rank4, Shape};
    pub use crate::tape::{BinaryTape, Detached, Merge, NoGrad, Tape, Tracked, UnaryTape};
    pub use crate::tensor::{seeded_rng, Indices, Mask, SeededRng, Tensor};
    pub use crate::where_;
}
