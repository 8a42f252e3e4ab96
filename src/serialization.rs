//! Named weights on disk and in memory, in the [safetensors] format (feature
//! `safetensors`, on by default).
//!
//! safetensors is Hugging Face's format for tensors: an 8-byte header length, a JSON
//! header giving each tensor's name, element type, shape and byte range, then the raw
//! little-endian, row-major bytes. PyTorch, NumPy, JAX and candle read and write it
//! (`safetensors.numpy.load_file("model.safetensors")` in Python), and reading one runs
//! no code from the file.
//!
//! [`Weights`] is a set of named tensors: [`Weights::insert`] a typed tensor of any tape
//! under a name, [`Weights::save`] or [`Weights::to_bytes`]; [`Weights::load`] or
//! [`Weights::from_bytes`], then [`Weights::get`] a tensor by name with the shape and
//! element type written in the call. Every check that can fail at run time returns an
//! [`Error`]: a missing name, a stored shape or element type other than the one asked
//! for, a truncated or corrupt file.
//!
//! [safetensors]: https://huggingface.co/docs/safetensors

use alloc::borrow::Cow;
use alloc::borrow::ToOwned;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;
#[cfg(feature = "std")]
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, View};

use crate::element::Element;
use crate::error::Error;
use crate::shape::Shape;
use crate::tape::Tape;
use crate::tensor::Tensor;

/// The key safetensors reserves in its header for the file's string metadata.
const METADATA_KEY: &str = "__metadata__";

/// Named tensors to save, or loaded from a safetensors file or buffer.
///
/// Tensors of any shape, of `f32` or `f64`, and of any tape (the value is stored) go in
/// under a name; each comes out as the typed tensor the call asks for, after checking the
/// stored element type and shape. A file may also hold tensors of other element types
/// (`F16`, `I64`, ...): they are kept, saved again unchanged, and asking for one as an
/// `f32` or `f64` tensor is an [`Error::WeightMismatch`].
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::serialization::Weights;
///
/// let w = Tensor::from_array([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
/// let b = Tensor::<Rank1<3>, f64>::full(0.5).track(); // any tape: the value is saved
///
/// let mut weights = Weights::new();
/// weights.insert("layer.w", &w)?.insert("layer.b", &b)?;
/// let bytes = weights.to_bytes()?; // or weights.save("model.safetensors")?
///
/// let loaded = Weights::from_bytes(&bytes)?; // or Weights::load("model.safetensors")?
/// let w2: Tensor<Rank2<2, 3>, f32> = loaded.get("layer.w")?;
/// assert_eq!(w2, w);
///
/// // The shape and element type are checked, and a missing name is an error.
/// let err = loaded.get::<Rank2<3, 2>, f32>("layer.w").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "tensor `layer.w` is stored as F32 [2, 3], but F32 [3, 2] was asked for"
/// );
/// assert!(loaded.get::<Rank1<3>, f32>("layer.b").is_err()); // stored as F64
/// assert!(loaded.get::<Rank1<3>, f64>("layer.bias").is_err());
/// # Ok::<(), typegrad::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Weights {
    tensors: BTreeMap<String, Stored>,
    metadata: BTreeMap<String, String>,
}

/// One tensor as the format stores it: its bytes are kept as they are, so a tensor of an
/// element type typegrad does not compute with is saved again unchanged.
#[derive(Clone)]
struct Stored {
    dtype: Dtype,
    dims: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Stored {
    fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.dims
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }

    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

impl core::fmt::Debug for Weights {
    /// The names with element type and dimensions (`{"w": F32 [5, 3]}`), not the values.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        struct Summary<'a>(&'a Stored);
        impl core::fmt::Debug for Summary<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{} {:?}", self.0.dtype, self.0.dims)
            }
        }
        f.debug_map()
            .entries(self.tensors.iter().map(|(name, s)| (name, Summary(s))))
            .finish()
    }
}

/// The safetensors element type of `E` and its name.
fn dtype_of<E: Element>() -> (Dtype, &'static str) {
    // `Element` is sealed to f32 and f64; `DTYPE` is PyTorch's name for each.
    if E::DTYPE == f64::DTYPE {
        (Dtype::F64, "F64")
    } else {
        (Dtype::F32, "F32")
    }
}

impl Weights {
    /// No tensors and no metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores the value of `tensor` under `name` (the tape does not matter), and returns
    /// `self` so that calls chain: `weights.insert("w", &w)?.insert("b", &b)?`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidWeightName`] if a tensor of that name is already stored (two
    /// parameters saved under one name would lose one of them) or the name is
    /// `__metadata__`, which the format reserves.
    pub fn insert<S: Shape, E: Element, T: Tape>(
        &mut self,
        name: impl Into<String>,
        tensor: &Tensor<S, E, T>,
    ) -> Result<&mut Self, Error> {
        let name = name.into();
        let reason = if name == METADATA_KEY {
            Some("the safetensors format reserves this name for the file's metadata")
        } else if self.tensors.contains_key(&name) {
            Some("a tensor of this name is already stored")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(Error::InvalidWeightName { name, reason });
        }
        let mut bytes = Vec::new();
        E::extend_le_bytes(tensor.as_slice(), &mut bytes);
        let stored = Stored {
            dtype: dtype_of::<E>().0,
            dims: S::DIMS.to_vec(),
            bytes,
        };
        self.tensors.insert(name, stored);
        Ok(self)
    }

    /// The tensor stored under `name`, as a plain tensor of shape `S` and element `E`.
    ///
    /// # Errors
    ///
    /// [`Error::MissingWeight`] if no tensor has that name; [`Error::WeightMismatch`]
    /// (naming the tensor, the stored element type and dimensions, and the ones asked
    /// for) if the stored tensor is not exactly of shape `S` and element type `E`.
    pub fn get<S: Shape, E: Element>(&self, name: &str) -> Result<Tensor<S, E>, Error> {
        let stored = self.tensors.get(name).ok_or_else(|| Error::MissingWeight {
            name: name.to_owned(),
            stored: self.tensors.len(),
        })?;
        let (dtype, dtype_name) = dtype_of::<E>();
        if stored.dtype != dtype || stored.dims != S::DIMS {
            return Err(Error::WeightMismatch {
                name: name.to_owned(),
                found_dtype: stored.dtype.to_string(),
                found_dims: stored.dims.clone(),
                expected_dtype: dtype_name,
                expected_dims: S::DIMS,
            });
        }
        // The byte length was checked against dtype and shape when the tensor was read
        // or inserted, so neither error below is expected; they keep this path free of
        // panics all the same.
        let values = E::from_le_byte_slice(&stored.bytes).ok_or_else(|| {
            Error::safetensors(
                "Weights::get",
                format!("the bytes of tensor `{name}` are not a whole number of elements"),
            )
        })?;
        Tensor::from_vec(values)
    }

    /// Whether a tensor named `name` is stored.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The stored dimensions of the tensor named `name`.
    pub fn dims(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|s| s.dims.as_slice())
    }

    /// The names of the stored tensors, in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// The number of stored tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether no tensor is stored.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The file's string metadata (the header's `__metadata__`; PyTorch writes
    /// `{"format": "pt"}`).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Sets a metadata entry, replacing any value the key had.
    pub fn insert_metadata(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> &mut Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// The header's metadata as the `safetensors` crate takes it (a `HashMap`, std's or
    /// hashbrown's as its `std` feature says): none when empty, so a file written
    /// without metadata is written back the same.
    fn file_metadata<M: FromIterator<(String, String)>>(&self) -> Option<M> {
        (!self.metadata.is_empty()).then(|| self.metadata.clone().into_iter().collect())
    }

    /// The weights as the bytes of a safetensors file.
    ///
    /// # Errors
    ///
    /// [`Error::Safetensors`] if the format cannot hold them (a header over 100 MB).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        safetensors::serialize(&self.tensors, self.file_metadata())
            .map_err(|e| Error::safetensors("Weights::to_bytes", e.to_string()))
    }

    /// Writes the weights to a safetensors file at `path`, replacing any file there.
    ///
    /// The file is written next to `path` under a temporary name and then renamed, so a
    /// failed save leaves an existing file as it was.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::serialization::Weights;
    /// let path = std::env::temp_dir().join("typegrad-doc-save.safetensors");
    /// let w = Tensor::<Rank2<2, 2>, f64>::eye();
    /// Weights::new().insert("w", &w)?.save(&path)?;
    /// let back: Tensor<Rank2<2, 2>, f64> = Weights::load(&path)?.get("w")?;
    /// assert_eq!(back, w);
    /// # std::fs::remove_file(&path).ok();
    /// # Ok::<(), typegrad::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be written, [`Error::Safetensors`] if the format
    /// cannot hold the weights.
    #[cfg(feature = "std")]
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        safetensors::serialize_to_file(&self.tensors, self.file_metadata(), path).map_err(|e| {
            match e {
                SafeTensorError::IoError(io) => io_error("Weights::save", path, &io),
                other => Error::Safetensors {
                    context: "Weights::save",
                    path: Some(path.to_owned()),
                    reason: other.to_string(),
                },
            }
        })
    }

    /// Reads a safetensors file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read; [`Error::Safetensors`] naming the file
    /// and what is wrong if it is not a valid safetensors file (truncated, a corrupt
    /// header, byte ranges that do not match the shapes).
    #[cfg(feature = "std")]
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| io_error("Weights::load", path, &e))?;
        Self::parse(&bytes, "Weights::load").map_err(|e| match e {
            Error::Safetensors {
                context, reason, ..
            } => Error::Safetensors {
                context,
                path: Some(path.to_owned()),
                reason,
            },
            other => other,
        })
    }

    /// Reads the bytes of a safetensors file.
    ///
    /// # Errors
    ///
    /// [`Error::Safetensors`] saying what is wrong if they are not a valid safetensors
    /// file (truncated, a corrupt header, byte ranges that do not match the shapes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::parse(bytes, "Weights::from_bytes")
    }

    fn parse(bytes: &[u8], context: &'static str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::safetensors(context, reason);
        // `read_metadata` checks the header and that the byte ranges tile the data
        // exactly, each as long as its dtype and shape require.
        let (header_len, metadata) =
            SafeTensors::read_metadata(bytes).map_err(|e| invalid(describe(&e, bytes)))?;
        let data = HEADER_LEN_BYTES
            .checked_add(header_len)
            .and_then(|start| bytes.get(start..))
            .ok_or_else(|| invalid("the header runs past the end of the data".into()))?;
        let mut tensors = BTreeMap::new();
        for (name, info) in metadata.tensors() {
            let (start, end) = info.data_offsets;
            let bytes = data.get(start..end).ok_or_else(|| {
                invalid(format!(
                    "the bytes of tensor `{name}` ({start}..{end}) lie outside the data ({} bytes)",
                    data.len()
                ))
            })?;
            let stored = Stored {
                dtype: info.dtype,
                dims: info.shape.clone(),
                bytes: bytes.to_vec(),
            };
            tensors.insert(name, stored);
        }
        let metadata = metadata
            .metadata()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Weights { tensors, metadata })
    }
}

/// The length of the field before the header: a little-endian `u64`.
const HEADER_LEN_BYTES: usize = 8;

/// What is wrong with `bytes`, in words that point at the likely cause.
fn describe(error: &SafeTensorError, bytes: &[u8]) -> String {
    let declared = bytes
        .get(..HEADER_LEN_BYTES)
        .and_then(|b| <[u8; HEADER_LEN_BYTES]>::try_from(b).ok())
        .map(u64::from_le_bytes);
    let prefix = "not a valid safetensors file: ";
    let what = match error {
        SafeTensorError::HeaderTooSmall => format!(
            "{} bytes, fewer than the 8 of the header length (truncated?)",
            bytes.len()
        ),
        SafeTensorError::HeaderTooLarge => format!(
            "the header length field says {} bytes, more than the format's 100 MB limit (corrupt, or not a safetensors file?)",
            declared.unwrap_or_default()
        ),
        SafeTensorError::InvalidHeaderLength => format!(
            "the header length field says {} bytes, but only {} follow it (truncated?)",
            declared.unwrap_or_default(),
            bytes.len().saturating_sub(HEADER_LEN_BYTES)
        ),
        SafeTensorError::InvalidHeader(e) => format!("the header is not UTF-8 ({e})"),
        SafeTensorError::InvalidHeaderDeserialization(e) => {
            format!("the header is not a valid safetensors JSON header ({e})")
        }
        SafeTensorError::MetadataIncompleteBuffer => format!(
            "the tensors the header describes do not end where the data ends ({} bytes after the header): truncated, or bytes after the last tensor",
            bytes
                .len()
                .saturating_sub(HEADER_LEN_BYTES)
                .saturating_sub(declared.and_then(|d| usize::try_from(d).ok()).unwrap_or_default())
        ),
        SafeTensorError::TensorInvalidInfo => {
            "a tensor's byte range does not match its element type and shape".into()
        }
        SafeTensorError::InvalidOffset(name) => format!(
            "the byte range of tensor `{name}` does not start where the previous tensor's ends"
        ),
        SafeTensorError::ValidationOverflow => {
            "a tensor's shape has more elements than a usize can count".into()
        }
        other => other.to_string(),
    };
    format!("{prefix}{what}")
}

#[cfg(feature = "std")]
fn io_error(context: &'static str, path: &Path, error: &std::io::Error) -> Error {
    Error::Io {
        context,
        path: path.to_owned(),
        kind: error.kind(),
        message: error.to_string(),
    }
}
