//! The element types a tensor can hold: `f32` and `f64`.

use alloc::vec::Vec;
use core::fmt::{Debug, Display};
use core::iter::Sum;
use num_traits::{Float, FloatConst};

/// A floating-point element: implemented for `f32` and `f64` only (sealed).
///
/// Built on num-traits' [`Float`], so generic code can use `exp`, `ln`, `max` and the
/// rest on elements; the matrix kernel is chosen by the type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a typegrad element type",
    note = "tensors hold `f32` or `f64`; write float literals such as `2.0`, not `2`"
)]
pub trait Element:
    Float
    + FloatConst
    + Default
    + Debug
    + Display
    + Sum
    + Send
    + Sync
    + 'static
    + crate::kernels::Gemm
    + sealed::Sealed
    + SameElement<Self>
{
    /// PyTorch's name for the type, used by `Display` (`torch.float32`).
    const DTYPE: &'static str;

    /// Converts from `f64`, rounding to the nearest representable value.
    fn from_f64(value: f64) -> Self;

    /// Converts to `f64` exactly.
    fn to_f64_exact(self) -> f64;

    /// Whether no element is a NaN or an infinity. Written on the bits without an early
    /// exit, so it vectorises: it runs on every tracked result.
    fn all_finite(values: &[Self]) -> bool;

    /// Appends the little-endian bytes of `values` to `out`: the layout of safetensors
    /// and of NumPy's `<f4` and `<f8`.
    #[doc(hidden)]
    fn extend_le_bytes(values: &[Self], out: &mut Vec<u8>);

    /// The elements whose little-endian bytes are `bytes`, bit for bit; `None` unless
    /// `bytes` holds a whole number of elements.
    #[doc(hidden)]
    fn from_le_byte_slice(bytes: &[u8]) -> Option<Vec<Self>>;
}

pub(crate) mod sealed {
    //! What the crate needs of an element type beyond arithmetic: moving values of
    //! either element type through one store (gradients of `f32` and `f64` leaves of one
    //! computation that casts between them), without `Any` or `TypeId`.

    use alloc::sync::Arc;

    use crate::ops::Var;

    /// A gradient of either element type.
    #[derive(Clone)]
    pub enum Stored {
        F32(Arc<[f32]>),
        F64(Arc<[f64]>),
    }

    /// A recorded gradient (a value of a graph) of either element type.
    #[derive(Clone)]
    pub enum StoredVar {
        F32(Var<f32>),
        F64(Var<f64>),
    }

    /// Forward-mode seed values of either element type.
    #[derive(Clone, Copy)]
    pub enum Seed<'a> {
        F32(&'a [f32]),
        F64(&'a [f64]),
    }

    /// Keeps [`super::Element`] closed to `f32` and `f64`, and converts its values to
    /// and from the stores above.
    pub trait Sealed: Sized + Copy + 'static {
        fn wrap(values: Arc<[Self]>) -> Stored;
        fn unwrap(stored: &Stored) -> Option<&Arc<[Self]>>;
        fn unwrap_mut(stored: &mut Stored) -> Option<&mut Arc<[Self]>>;
        fn wrap_var(var: Var<Self>) -> StoredVar
        where
            Self: super::Element;
        fn unwrap_var(stored: &StoredVar) -> Option<&Var<Self>>
        where
            Self: super::Element;
        fn seed(values: &[Self]) -> Seed<'_>;
        fn unseed(seed: Seed<'_>) -> Option<&[Self]>;
        /// A shared empty buffer (cloning it allocates nothing).
        fn empty_storage() -> Arc<[Self]>;
        /// The reusable memory for this element type (this thread's, with `std`).
        fn workspace() -> &'static crate::workspace::LocalWorkspace<Self>
        where
            Self: super::Element;
        /// A value of up to [`Sealed::INLINE`] elements stored in place of a buffer
        /// (`tensor::storage`): 64 bytes for either type.
        type Inline: Copy + Default + AsRef<[Self]> + AsMut<[Self]> + Send + Sync + 'static;
        /// How many elements [`Sealed::Inline`] holds.
        const INLINE: usize;
        /// This type's arena in a graph (`Graphs` holds one per element type), and its
        /// index in per-arena arrays.
        const ARENA: usize;
        fn arena_mut(
            graphs: &mut crate::tape::graph::Graphs,
        ) -> &mut crate::tape::graph::Graph<Self>
        where
            Self: super::Element;
        /// The shape-erased machinery, compiled in this crate for this type.
        fn compiled() -> &'static crate::compiled::Compiled<Self>
        where
            Self: super::Element;
    }

    /// Implements [`Sealed`] for a float type and its variant of each store.
    macro_rules! sealed {
        ($($float:ty => $variant:ident, $field:ident, $arena:expr, $inline:expr);*) => {$(
            impl Sealed for $float {
                type Inline = [$float; $inline];
                const INLINE: usize = $inline;
                const ARENA: usize = $arena;
                fn arena_mut(
                    graphs: &mut crate::tape::graph::Graphs,
                ) -> &mut crate::tape::graph::Graph<Self> {
                    &mut graphs.$field
                }
                fn wrap(values: Arc<[Self]>) -> Stored {
                    Stored::$variant(values)
                }
                fn unwrap(stored: &Stored) -> Option<&Arc<[Self]>> {
                    match stored {
                        Stored::$variant(values) => Some(values),
                        _ => None,
                    }
                }
                fn unwrap_mut(stored: &mut Stored) -> Option<&mut Arc<[Self]>> {
                    match stored {
                        Stored::$variant(values) => Some(values),
                        _ => None,
                    }
                }
                fn wrap_var(var: Var<Self>) -> StoredVar {
                    StoredVar::$variant(var)
                }
                fn unwrap_var(stored: &StoredVar) -> Option<&Var<Self>> {
                    match stored {
                        StoredVar::$variant(var) => Some(var),
                        _ => None,
                    }
                }
                fn seed(values: &[Self]) -> Seed<'_> {
                    Seed::$variant(values)
                }
                fn unseed(seed: Seed<'_>) -> Option<&[Self]> {
                    match seed {
                        Seed::$variant(values) => Some(values),
                        _ => None,
                    }
                }
                fn workspace() -> &'static crate::workspace::LocalWorkspace<Self> {
                    &crate::workspace::$variant
                }
                fn compiled() -> &'static crate::compiled::Compiled<Self> {
                    &crate::compiled::$variant
                }
                fn empty_storage() -> Arc<[Self]> {
                    // An empty `Arc<[T]>` points at a static the standard library keeps
                    // (since Rust 1.80): a count increment, no allocation, no std.
                    Arc::default()
                }
            }
        )*};
    }
    sealed!(f32 => F32, f32, 0, 16; f64 => F64, f64, 1, 8);
}

impl Element for f32 {
    const DTYPE: &'static str = "torch.float32";

    fn from_f64(value: f64) -> Self {
        value as f32
    }

    fn to_f64_exact(self) -> f64 {
        f64::from(self)
    }

    fn all_finite(values: &[Self]) -> bool {
        const EXPONENT: u32 = 0x7f80_0000;
        !values
            .iter()
            .fold(false, |bad, v| bad | (v.to_bits() & EXPONENT == EXPONENT))
    }

    fn extend_le_bytes(values: &[Self], out: &mut Vec<u8>) {
        out.reserve(values.len() * 4);
        values
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    }

    fn from_le_byte_slice(bytes: &[u8]) -> Option<Vec<Self>> {
        let chunks = bytes.chunks_exact(4);
        if !chunks.remainder().is_empty() {
            return None;
        }
        chunks
            .map(|c| <[u8; 4]>::try_from(c).ok().map(f32::from_le_bytes))
            .collect()
    }
}

impl Element for f64 {
    const DTYPE: &'static str = "torch.float64";

    fn from_f64(value: f64) -> Self {
        value
    }

    fn to_f64_exact(self) -> f64 {
        self
    }

    fn all_finite(values: &[Self]) -> bool {
        const EXPONENT: u64 = 0x7ff0_0000_0000_0000;
        !values
            .iter()
            .fold(false, |bad, v| bad | (v.to_bits() & EXPONENT == EXPONENT))
    }

    fn extend_le_bytes(values: &[Self], out: &mut Vec<u8>) {
        out.reserve(values.len() * 8);
        values
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    }

    fn from_le_byte_slice(bytes: &[u8]) -> Option<Vec<Self>> {
        let chunks = bytes.chunks_exact(8);
        if !chunks.remainder().is_empty() {
            return None;
        }
        chunks
            .map(|c| <[u8; 8]>::try_from(c).ok().map(f64::from_le_bytes))
            .collect()
    }
}

/// Two element types that are the same: an operation between tensors requires it, so
/// that mixing `f32` with `f64` is an error naming both, not a list of impls.
#[diagnostic::on_unimplemented(
    message = "cannot combine a tensor of `{Self}` with a tensor of `{Other}`",
    label = "this operand holds `{Other}`, the other `{Self}`",
    note = "typegrad never converts element types implicitly: make both operands `f32` or both `f64`"
)]
pub trait SameElement<Other> {
    /// The same tensor, seen with `Self` as its element type (the identity).
    #[doc(hidden)]
    fn same<S, T: crate::tape::Tape>(
        tensor: &crate::tensor::Tensor<S, Other, T>,
    ) -> &crate::tensor::Tensor<S, Self, T>
    where
        Self: Element,
        Other: Element;
}

/// Implements [`SameElement`] of a float type with itself.
macro_rules! same_element {
    ($($float:ty),*) => {$(
        impl SameElement<$float> for $float {
            fn same<S, T: crate::tape::Tape>(
                tensor: &crate::tensor::Tensor<S, $float, T>,
            ) -> &crate::tensor::Tensor<S, $float, T> {
                tensor
            }
        }
    )*};
}
same_element!(f32, f64);

#[cfg(test)]
mod tests {
    use super::Element;

    #[test]
    fn all_finite_detects_nan_and_both_infinities() {
        assert!(f32::all_finite(&[
            0.0,
            -1.5,
            f32::MAX,
            f32::MIN_POSITIVE,
            1e-45
        ]));
        assert!(!f32::all_finite(&[0.0, f32::NAN]));
        assert!(!f64::all_finite(&[f64::NEG_INFINITY, 1.0]));
        assert!(!f64::all_finite(&[1.0, f64::INFINITY]));
        assert!(f64::all_finite(&[]));
    }
}
