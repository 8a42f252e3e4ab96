//! The element types a tensor can hold: `f32` and `f64`.

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

mod sealed {
    /// Keeps [`super::Element`] closed to `f32` and `f64`.
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
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
