//! The error type of every fallible call: run-time input that can be wrong.

use alloc::string::String;
use alloc::vec::Vec;
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
    /// Checked backward: the forward value of an operation holds a NaN or an infinity
    /// (the first such operation in the order the graph was built).
    NonFiniteValue {
        /// The operation's PyTorch name (`LogBackward0`).
        op: &'static str,
        /// Its position in the graph (creation order).
        node: usize,
    },
    /// Checked backward: the backward of an operation produced a NaN or an infinity in
    /// the gradient of one of its inputs, from a finite incoming gradient.
    NonFiniteGradient {
        /// The operation's PyTorch name (`DivBackward0`).
        op: &'static str,
        /// Which input (0: left or only, 1: right).
        input: usize,
        /// Its position in the graph (creation order).
        node: usize,
    },
    /// Checked backward: the seed itself holds a NaN or an infinity.
    NonFiniteSeed {
        /// The flat (row-major) position of the first such element.
        index: usize,
    },
    /// Checked backward: the data of a tracked leaf the root depends on holds a NaN or
    /// an infinity: it entered the computation there.
    NonFiniteLeaf {
        /// The node recording this use of the leaf (creation order).
        node: usize,
        /// The leaf's dimensions.
        dims: &'static [usize],
        /// The flat (row-major) position of the first such element.
        index: usize,
    },
    /// A backward pass was to be recorded (for gradients of gradients) through a custom
    /// operation that gives no differentiable backward rule (`vjp_recorded`).
    NotTwiceDifferentiable {
        /// The operation's name.
        op: &'static str,
    },
    /// A numeric argument outside the range where it means something: an optimizer's
    /// learning rate that is NaN or negative, an Adam beta of 1.
    InvalidArgument {
        /// Which call received it (`"Sgd::new"`).
        context: &'static str,
        /// The argument's name (`"learning rate"`).
        argument: &'static str,
        /// The value given (an `f32` as its shortest decimal, so `-0.1` reads `-0.1`).
        value: f64,
        /// What the argument must be (`"finite and >= 0"`).
        rule: &'static str,
    },
    /// Linear algebra: an input holds a NaN or an infinity. The operations that factor
    /// a matrix refuse it rather than return NaN (LAPACK and PyTorch return NaN, or a
    /// number, without a word).
    NonFiniteInput {
        /// The operation (`"solve"`).
        op: &'static str,
        /// Which input (`"A"`, `"B"`).
        argument: &'static str,
        /// The input's dimensions.
        dims: &'static [usize],
        /// The position of the first such element, one index per dimension.
        index: Vec<usize>,
        /// `"NaN"`, `"inf"` or `"-inf"`.
        value: &'static str,
    },
    /// Linear algebra: a matrix is singular to working precision, so a solution would be
    /// noise (or infinite). Refused when its reciprocal condition estimate
    /// `1 / (‖A‖₁ ‖A⁻¹‖₁)` is below the threshold (by default a multiple of `N · ε`,
    /// settable per call with `linalg::Threshold`), or a pivot is exactly zero.
    SingularMatrix {
        /// The operation (`"solve"`).
        op: &'static str,
        /// Which matrix of a batch (`None` for a single matrix).
        batch: Option<usize>,
        /// The first pivot that is exactly zero, if one is (0-based).
        zero_pivot: Option<usize>,
        /// The reciprocal condition estimate (0 for an exactly singular matrix).
        rcond: f64,
        /// The threshold it was compared with.
        threshold: f64,
    },
    /// Linear algebra: Cholesky of a matrix that is not positive-definite: the leading
    /// minor of order `order` is not positive (PyTorch's and LAPACK's report).
    NotPositiveDefinite {
        /// The operation (`"cholesky"`).
        op: &'static str,
        /// Which matrix of a batch (`None` for a single matrix).
        batch: Option<usize>,
        /// The order `k` (1-based) of the first leading minor that is not positive.
        order: usize,
    },
    /// Linear algebra: an iterative method did not converge within its bound (the
    /// Jacobi eigenvalue iteration of `eigh`, `eigvalsh`).
    NoConvergence {
        /// The operation (`"eigh"`).
        op: &'static str,
        /// Which matrix of a batch (`None` for a single matrix).
        batch: Option<usize>,
        /// The iterations (Jacobi sweeps) made before giving up.
        iterations: usize,
    },
    /// Linear algebra: a matrix whose columns are linearly dependent to working
    /// precision, where an operation needs full column rank (`qr`, `lstsq`). Refused when
    /// some `|R_jj| / ‖a_j‖` (how far column `j` lies from the span of the columns before
    /// it, relative to its length) is below the threshold, or when the reciprocal
    /// condition estimate of `A` with its columns scaled to unit length is.
    RankDeficient {
        /// The operation (`"qr"`).
        op: &'static str,
        /// Which matrix of a batch (`None` for a single matrix).
        batch: Option<usize>,
        /// The column `j` with `|R_jj| / ‖a_j‖` below the threshold (0-based), or `None`
        /// when the condition estimate refused the matrix.
        column: Option<usize>,
        /// `|R_jj| / ‖a_j‖` for that column, else the reciprocal condition estimate.
        ratio: f64,
        /// The threshold it was compared with.
        threshold: f64,
    },
    /// Linear algebra: the result is beyond the element type's range (`matrix_exp` of
    /// a matrix with an eigenvalue whose real part is above about 709 in `f64`, 88 in
    /// `f32`). PyTorch returns infinities.
    Overflow {
        /// The operation (`"matrix_exp"`).
        op: &'static str,
        /// Which matrix of a batch (`None` for a single matrix).
        batch: Option<usize>,
    },
    /// Named weights (safetensors): no tensor of this name is stored.
    MissingWeight {
        /// The name asked for.
        name: String,
        /// How many tensors are stored.
        stored: usize,
    },
    /// Named weights (safetensors): the stored tensor's element type or shape is not the
    /// one asked for. Nothing is converted or reshaped.
    WeightMismatch {
        /// The tensor's name.
        name: String,
        /// The stored element type, as safetensors names it (`"F64"`, `"F16"`).
        found_dtype: String,
        /// The stored dimensions.
        found_dims: Vec<usize>,
        /// The element type asked for (`"F32"` or `"F64"`).
        expected_dtype: &'static str,
        /// The dimensions of the shape asked for.
        expected_dims: &'static [usize],
    },
    /// Named weights (safetensors): a name that cannot be stored, because a tensor of
    /// that name is already there or the format reserves it.
    InvalidWeightName {
        /// The name given.
        name: String,
        /// Why it cannot be stored.
        reason: &'static str,
    },
    /// Loading a model ([`crate::model::Model::load_weights`]): the weights hold a
    /// tensor that no parameter of the model reads, nor its optimizer state.
    UnexpectedWeight {
        /// The tensor's name.
        name: String,
    },
    /// Named weights: a stored tensor whose value cannot be what its name says (an
    /// Adam step count of 2.5).
    InvalidWeight {
        /// The tensor's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Named weights (safetensors): bytes that are not a valid safetensors file
    /// (truncated, a corrupt header, byte ranges that do not match the shapes), or
    /// weights that the format cannot hold.
    #[non_exhaustive] // `path` exists with `std` only: match with `..`
    Safetensors {
        /// Which call failed (`"Weights::load"`).
        context: &'static str,
        /// The file, if the bytes came from or were going to one (files need `std`).
        #[cfg(feature = "std")]
        path: Option<std::path::PathBuf>,
        /// What is wrong with them.
        reason: String,
    },
    /// Reading or writing a file failed (`std` only).
    #[cfg(feature = "std")]
    Io {
        /// Which call failed (`"Weights::save"`).
        context: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The kind of failure (`NotFound`, `PermissionDenied`, ...).
        kind: std::io::ErrorKind,
        /// The operating system's message.
        message: String,
    },
}

impl Error {
    /// [`Error::Safetensors`] about bytes in memory (no file).
    #[cfg(feature = "safetensors")]
    pub(crate) fn safetensors(context: &'static str, reason: String) -> Self {
        Error::Safetensors {
            context,
            #[cfg(feature = "std")]
            path: None,
            reason,
        }
    }
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
            Error::NonFiniteValue { op, node } => write!(
                f,
                "checked backward: the forward value of {op} (node {node}) is not finite: a NaN or infinity first appeared there (its tracked inputs were finite, so the operation produced it or an untracked input held it)"
            ),
            Error::NonFiniteGradient { op, input, node } => {
                write!(
                    f,
                    "checked backward: {op} (node {node}) returned a non-finite gradient for its input {input}"
                )?;
                if *op == "LinalgEighBackward0" {
                    // The one cause there: the eigenvectors are not differentiable.
                    write!(
                        f,
                        " (eigh: the loss depends on eigenvectors of (nearly) repeated eigenvalues, where they are not unique; linalg::eigh says which gaps count as repeated)"
                    )?;
                }
                Ok(())
            }
            Error::NonFiniteSeed { index } => write!(
                f,
                "checked backward: the seed is not finite (element {index} is a NaN or infinity)"
            ),
            Error::NonFiniteLeaf { node, dims, index } => write!(
                f,
                "checked backward: a NaN or infinity entered at a tracked leaf of shape {dims:?} (node {node}), element {index}: the leaf's own data is not finite"
            ),
            Error::NotTwiceDifferentiable { op } => write!(
                f,
                "{op} gives no differentiable backward rule (vjp_recorded), so its gradient cannot be differentiated again"
            ),
            Error::InvalidArgument {
                context,
                argument,
                value,
                rule,
            } => write!(
                f,
                "{context}: invalid {argument}: {value} (must be {rule})"
            ),
            Error::NonFiniteInput {
                op,
                argument,
                dims,
                index,
                value,
            } => write!(
                f,
                "{op}: input {argument} (shape {dims:?}) holds {value} at {index:?}; linear algebra refuses non-finite input"
            ),
            Error::SingularMatrix {
                op,
                batch,
                zero_pivot,
                rcond,
                threshold,
            } => {
                write!(f, "{op}: ")?;
                if let Some(b) = batch {
                    write!(f, "matrix {b} of the batch ")?;
                } else {
                    write!(f, "the matrix ")?;
                }
                match zero_pivot {
                    Some(p) => write!(f, "is singular (pivot {p} is exactly zero)"),
                    None => write!(
                        f,
                        "is singular to working precision: its reciprocal condition estimate {rcond:e} is below the threshold {threshold:e} (linalg::Threshold sets another)"
                    ),
                }
            }
            Error::NotPositiveDefinite { op, batch, order } => {
                write!(f, "{op}: ")?;
                if let Some(b) = batch {
                    write!(f, "matrix {b} of the batch ")?;
                } else {
                    write!(f, "the matrix ")?;
                }
                write!(
                    f,
                    "is not positive-definite: the leading minor of order {order} is not positive"
                )
            }
            Error::NoConvergence {
                op,
                batch,
                iterations,
            } => {
                write!(f, "{op}: ")?;
                if let Some(b) = batch {
                    write!(f, "matrix {b} of the batch: ")?;
                }
                write!(
                    f,
                    "no convergence after {iterations} iterations (the eigenvalue iteration's bound)"
                )
            }
            Error::RankDeficient {
                op,
                batch,
                column,
                ratio,
                threshold,
            } => {
                write!(f, "{op}: ")?;
                if let Some(b) = batch {
                    write!(f, "matrix {b} of the batch ")?;
                } else {
                    write!(f, "the matrix ")?;
                }
                match column {
                    Some(j) => write!(
                        f,
                        "is rank-deficient to working precision: column {j} lies within {ratio:e} of the span of the columns before it, relative to its length (|R_jj| / ‖a_j‖), below the threshold {threshold:e} (linalg::Threshold sets another)"
                    ),
                    None => write!(
                        f,
                        "is rank-deficient to working precision: with its columns scaled to unit length, its reciprocal condition estimate {ratio:e} is below the threshold {threshold:e} (linalg::Threshold sets another)"
                    ),
                }
            }
            Error::Overflow { op, batch } => {
                write!(f, "{op}: ")?;
                if let Some(b) = batch {
                    write!(f, "matrix {b} of the batch: ")?;
                }
                write!(f, "the result overflows the element type's range")
            }
            Error::MissingWeight { name, stored } => write!(
                f,
                "no tensor named `{name}` among the {stored} stored"
            ),
            Error::WeightMismatch {
                name,
                found_dtype,
                found_dims,
                expected_dtype,
                expected_dims,
            } => write!(
                f,
                "tensor `{name}` is stored as {found_dtype} {found_dims:?}, but {expected_dtype} {expected_dims:?} was asked for"
            ),
            Error::InvalidWeightName { name, reason } => {
                write!(f, "cannot store a tensor named `{name}`: {reason}")
            }
            Error::UnexpectedWeight { name } => write!(
                f,
                "the weights hold a tensor `{name}` that no parameter of the model reads (a field renamed or removed, or the weights of another model?)"
            ),
            Error::InvalidWeight { name, reason } => {
                write!(f, "tensor `{name}` cannot be loaded: {reason}")
            }
            #[cfg(feature = "std")]
            Error::Safetensors {
                context,
                path: Some(path),
                reason,
            } => write!(f, "{context}: {}: {reason}", path.display()),
            Error::Safetensors {
                context, reason, ..
            } => write!(f, "{context}: {reason}"),
            #[cfg(feature = "std")]
            Error::Io {
                context,
                path,
                message,
                ..
            } => write!(f, "{context}: {}: {message}", path.display()),
        }
    }
}

impl core::error::Error for Error {}
