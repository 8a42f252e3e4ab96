//! The error type of every fallible call: run-time input that can be wrong.

use core::fmt;

/// What went wrong with run-time input, and where.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A buffer's length does not match the number of elements of the shape.
    LengthMismatch {
        /// Which call received the data (`"Tensor::from_vec"`).
        context: &'static str,
        /// The dimensions of the shape the data was for.
        dims: &'static [usize],
        /// The number of elements the shape holds.
        expected: usize,
        /// The number of elements given.
        given: usize,
    },
    /// An index lies outside the tensor.
    IndexOutOfBounds {
        /// Which call received the index.
        context: &'static str,
        /// The index given (flat, row-major, or per dimension).
        index: Vec<usize>,
        /// The dimensions of the tensor.
        dims: &'static [usize],
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LengthMismatch {
                context,
                dims,
                expected,
                given,
            } => write!(
                f,
                "{context}: a tensor of shape {dims:?} holds {expected} elements, but {given} were given"
            ),
            Error::IndexOutOfBounds {
                context,
                index,
                dims,
            } => write!(
                f,
                "{context}: index {index:?} is out of bounds for a tensor of shape {dims:?}"
            ),
        }
    }
}

impl std::error::Error for Error {}
