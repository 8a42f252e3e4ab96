//! Rendering of tensors in the same text form as PyTorch's `repr`.
//!
//! Users compare typegrad's output against PyTorch side by side, so the layout
//! follows `torch/_tensor_str.py` with its default print options (precision 4,
//! threshold 1000, edge items 3, line width 80, automatic scientific mode)
//! character for character, for real floating-point tensors.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use num_traits::Float;

use crate::element::Element;
use crate::shape::Shape;
use crate::tape::Tape;
use crate::tensor::Tensor;

/// Digits after the decimal point, PyTorch's default `precision`.
const PRECISION: usize = 4;

/// Element count above which only the edges of each axis are shown.
const THRESHOLD: usize = 1000;

/// Items kept at each end of a summarized axis.
const EDGE_ITEMS: usize = 3;

/// Column budget that one-dimensional rows are wrapped to.
const LINE_WIDTH: usize = 80;

/// Opening text; its length is the indent of every continuation line.
const PREFIX: &str = "tensor(";

/// Writes the complete PyTorch-style repr of a tensor, e.g.
/// `tensor([1., 2.], requires_grad=True)`, `tensor([ True, False])` or `tensor([0, 2])`.
///
/// `values` holds the elements in row-major order and `dims` the shape, where
/// an empty `dims` means a rank-0 scalar. `suffix` is either empty or text such
/// as `", grad_fn=<MulBackward0>"`; like PyTorch, a suffix that would push the
/// last line past 80 columns goes on a line of its own. A suffix not starting
/// with `", "` is written verbatim before the closing parenthesis.
///
/// Empty tensors print as `tensor([])`, with PyTorch's `size=(..)` note when
/// they are not one-dimensional. If `values.len()` does not match the product
/// of `dims`, the shape cannot be trusted, so the values are printed as a flat
/// one-dimensional tensor instead of guessing a layout.
pub(crate) fn write_tensor<V: Printable>(
    out: &mut impl fmt::Write,
    values: &[V],
    dims: &[usize],
    suffix: &str,
) -> fmt::Result {
    let flat = [values.len()];
    let dims: &[usize] = if element_count(dims) == Some(values.len()) {
        dims
    } else {
        &flat
    };

    let mut text = String::from(PREFIX);
    let mut suffixes: Vec<String> = Vec::new();
    if values.is_empty() {
        text.push_str("[]");
        // PyTorch only omits the shape when `[]` already says it all.
        if dims.len() != 1 {
            suffixes.push(size_suffix(dims));
        }
    } else {
        write_body(&mut text, values, dims);
    }

    let mut verbatim = "";
    if let Some(item) = suffix.strip_prefix(", ") {
        suffixes.push(item.to_owned());
    } else {
        verbatim = suffix;
    }

    write_with_suffixes(out, &text, &suffixes)?;
    out.write_str(verbatim)?;
    out.write_char(')')
}

/// Product of `dims`, or `None` when it does not fit in `usize`.
fn element_count(dims: &[usize]) -> Option<usize> {
    // A zero anywhere empties the tensor even if the other factors overflow.
    if dims.contains(&0) {
        return Some(0);
    }
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// PyTorch's `size=(a, b)` note, using Python's tuple spelling.
fn size_suffix(dims: &[usize]) -> String {
    let joined: Vec<String> = dims.iter().map(usize::to_string).collect();
    if let [only] = joined.as_slice() {
        // Python marks a one-element tuple with a trailing comma.
        format!("size=({only},)")
    } else {
        format!("size=({})", joined.join(", "))
    }
}

/// Port of `_add_suffixes`: writes `text`, then each suffix either after
/// `", "` or, when it would overflow the line width, on its own line.
fn write_with_suffixes(out: &mut impl fmt::Write, text: &str, suffixes: &[String]) -> fmt::Result {
    out.write_str(text)?;
    // PyTorch's `len(s) - s.rfind("\n") + 1` overstates the last line by two
    // characters; the overstatement decides where suffixes wrap, so keep it.
    let last_line = text.rsplit('\n').next().unwrap_or(text);
    let mut last_line_len = last_line.chars().count() + 2;
    for suffix in suffixes {
        let suffix_len = suffix.chars().count();
        if last_line_len + suffix_len + 2 > LINE_WIDTH {
            out.write_str(",\n")?;
            write_spaces(out, PREFIX.len())?;
            last_line_len = PREFIX.len() + suffix_len;
        } else {
            out.write_str(", ")?;
            last_line_len += suffix_len + 2;
        }
        out.write_str(suffix)?;
    }
    Ok(())
}

/// Writes `count` spaces.
fn write_spaces(out: &mut impl fmt::Write, count: usize) -> fmt::Result {
    (0..count).try_for_each(|_| out.write_char(' '))
}

/// Port of `_tensor_str` for a non-empty tensor whose `dims` match `values`.
fn write_body<V: Printable>(buf: &mut String, values: &[V], dims: &[usize]) {
    let summarize = values.len() > THRESHOLD;
    let strides = row_major_strides(dims);
    // The column width depends only on what is shown, as in PyTorch's
    // `_Formatter(get_summarized_data(self))`.
    let formatter = if summarize {
        V::formatter(&shown_values(values, dims, &strides))
    } else {
        V::formatter(values)
    };

    let value_at = |index: usize| values.get(index).copied().unwrap_or(V::MISSING);
    let Some(last_axis) = dims.len().checked_sub(1) else {
        value_at(0).write(&formatter, buf);
        return;
    };
    if last_axis == 0 {
        let row = Row {
            base: 0,
            len: values.len(),
            indent: PREFIX.len(),
        };
        write_row(buf, &value_at, &row, summarize, &formatter);
        return;
    }

    // An explicit stack instead of PyTorch's recursion keeps very high ranks
    // (for example many axes of length 1) from exhausting the call stack.
    /// One partly written sub-tensor of rank two or more.
    struct Frame {
        /// Axis whose slices this frame lists.
        axis: usize,
        /// Position of the next slice among the shown ones.
        next: usize,
        /// Flat index of the sub-tensor's first element.
        base: usize,
    }
    buf.push('[');
    let mut stack = vec![Frame {
        axis: 0,
        next: 0,
        base: 0,
    }];
    while let Some(frame) = stack.last_mut() {
        let axis = frame.axis;
        let len = dims.get(axis).copied().unwrap_or(0);
        let position = frame.next;
        if position >= shown_len(len, summarize) {
            buf.push(']');
            stack.pop();
            continue;
        }
        frame.next += 1;
        let base = frame.base;

        let indent = PREFIX.len() + axis;
        if position > 0 {
            buf.push(',');
            // One blank line fewer per level down, as PyTorch's
            // `"\n" * (dim - 1)` separates slices of a `dim`-rank tensor.
            let newlines = dims.len().saturating_sub(axis + 1);
            buf.extend(core::iter::repeat_n('\n', newlines));
            buf.extend(core::iter::repeat_n(' ', indent + 1));
        }
        let Some(index) = shown_index(len, position, summarize) else {
            buf.push_str("...");
            continue;
        };
        let stride = strides.get(axis).copied().unwrap_or(0);
        let child = base.saturating_add(index.saturating_mul(stride));
        if axis + 1 == last_axis {
            let row = Row {
                base: child,
                len: dims.get(last_axis).copied().unwrap_or(0),
                indent: indent + 1,
            };
            write_row(buf, &value_at, &row, summarize, &formatter);
        } else {
            buf.push('[');
            stack.push(Frame {
                axis: axis + 1,
                next: 0,
                base: child,
            });
        }
    }
}

/// Flat distance between consecutive indices of each axis in row-major order.
fn row_major_strides(dims: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; dims.len()];
    let mut stride = 1usize;
    for (slot, &len) in strides.iter_mut().zip(dims).rev() {
        *slot = stride;
        stride = stride.saturating_mul(len);
    }
    strides
}

/// Number of entries an axis of length `len` shows, counting the ellipsis.
fn shown_len(len: usize, summarize: bool) -> usize {
    if summarize && len > 2 * EDGE_ITEMS {
        2 * EDGE_ITEMS + 1
    } else {
        len
    }
}

/// Index along an axis of length `len` shown at `position`, or `None` where
/// the ellipsis stands.
fn shown_index(len: usize, position: usize, summarize: bool) -> Option<usize> {
    if !(summarize && len > 2 * EDGE_ITEMS) || position < EDGE_ITEMS {
        Some(position)
    } else if position == EDGE_ITEMS {
        None
    } else {
        (2 * EDGE_ITEMS + 1)
            .checked_sub(position)
            .and_then(|from_end| len.checked_sub(from_end))
    }
}

/// Port of `get_summarized_data`: the values left after summarization, in
/// row-major order.
fn shown_values<V: Copy>(values: &[V], dims: &[usize], strides: &[usize]) -> Vec<V> {
    let axes: Vec<Vec<usize>> = dims
        .iter()
        .map(|&len| {
            (0..shown_len(len, true))
                .filter_map(|position| shown_index(len, position, true))
                .collect()
        })
        .collect();
    if axes.iter().any(Vec::is_empty) {
        return Vec::new();
    }

    let mut shown = Vec::new();
    let mut positions = vec![0usize; axes.len()];
    loop {
        let flat = axes.iter().zip(&positions).zip(strides).fold(
            0usize,
            |acc, ((axis, &position), &stride)| {
                let index = axis.get(position).copied().unwrap_or(0);
                acc.saturating_add(index.saturating_mul(stride))
            },
        );
        if let Some(&value) = values.get(flat) {
            shown.push(value);
        }

        // Odometer step: the last axis turns fastest, carries move left.
        let mut axis = axes.len();
        loop {
            let Some(previous) = axis.checked_sub(1) else {
                return shown;
            };
            axis = previous;
            let (Some(position), Some(indices)) = (positions.get_mut(axis), axes.get(axis)) else {
                return shown;
            };
            *position += 1;
            if *position < indices.len() {
                break;
            }
            *position = 0;
        }
    }
}

/// Where a one-dimensional row lives in the flat values and how far its
/// continuation lines are indented.
struct Row {
    /// Flat index of the row's first element.
    base: usize,
    /// Length of the row's axis.
    len: usize,
    /// PyTorch's `indent` for this row, i.e. the column of its `[`.
    indent: usize,
}

/// Port of `_vector_str`: one bracketed row, wrapped so each line holds as
/// many padded elements as fit in the line width.
fn write_row<V: Printable>(
    buf: &mut String,
    value_at: &impl Fn(usize) -> V,
    row: &Row,
    summarize: bool,
    formatter: &Formatter,
) {
    let element_len = formatter.max_width + 2;
    // PyTorch floors a possibly negative quotient, then clamps it to one.
    let per_line = LINE_WIDTH
        .checked_sub(row.indent)
        .map_or(1, |room| (room / element_len).max(1));

    buf.push('[');
    for position in 0..shown_len(row.len, summarize) {
        if position > 0 {
            if position % per_line == 0 {
                buf.push_str(",\n");
                buf.extend(core::iter::repeat_n(' ', row.indent + 1));
            } else {
                buf.push_str(", ");
            }
        }
        match shown_index(row.len, position, summarize) {
            // The leading space is PyTorch's; it makes the ellipsis count as
            // an element when rows are wrapped.
            None => buf.push_str(" ..."),
            Some(index) => value_at(row.base.saturating_add(index)).write(formatter, buf),
        }
    }
    buf.push(']');
}

/// Port of PyTorch's `_Formatter`: one notation and one column width shared by
/// every element shown (the notations apply to floating-point tensors only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Formatter {
    /// Every nonzero finite value is a whole number, printed as `3.`.
    int_mode: bool,
    /// Values are printed as `1.0240e+02`.
    sci_mode: bool,
    /// Width every element is right-aligned to.
    max_width: usize,
}

impl Formatter {
    /// Chooses notation and width from the values that will be shown.
    fn new(values: &[f64]) -> Self {
        let mut formatter = Formatter {
            int_mode: true,
            sci_mode: false,
            max_width: 1,
        };
        // A zero would make the max/min ratio infinite and non-finite values
        // have no magnitude to compare, so only nonzero finite values decide.
        let significant = || {
            values
                .iter()
                .copied()
                .filter(|v| v.is_finite() && *v != 0.0)
        };
        let Some(min) = significant().map(f64::abs).reduce(f64::min) else {
            return formatter;
        };
        let max = significant().map(f64::abs).fold(min, f64::max);

        formatter.int_mode = significant().all(|v| v == Float::ceil(v));
        let wide_range = max / min > 1000.0 || max > 1.0e8;
        formatter.sci_mode = if formatter.int_mode {
            wide_range
        } else {
            wide_range || min < 1.0e-4
        };

        let len = |text: String| text.chars().count();
        formatter.max_width = significant()
            .map(|v| {
                if formatter.sci_mode {
                    len(scientific(v, PRECISION))
                } else if formatter.int_mode {
                    // One more column for the trailing `.` of `3.`.
                    len(fixed(v, 0)) + 1
                } else {
                    len(fixed(v, PRECISION))
                }
            })
            .fold(1, usize::max);
        formatter
    }

    /// Appends `value` in the chosen notation, right-aligned to the width.
    fn write(&self, buf: &mut String, value: f64) {
        let text = if self.sci_mode {
            scientific(value, PRECISION)
        } else if self.int_mode {
            let mut text = fixed(value, 0);
            // The dot tells a float tensor from an integer one; PyTorch does
            // not put it on `nan` and `inf`, which are unambiguous already.
            if value.is_finite() {
                text.push('.');
            }
            text
        } else {
            fixed(value, PRECISION)
        };
        let pad = self.max_width.saturating_sub(text.chars().count());
        buf.extend(core::iter::repeat_n(' ', pad));
        buf.push_str(&text);
    }
}

/// Elements that print as PyTorch prints its tensors' elements: floating-point values
/// (widened to `f64`) with [`Formatter`]'s notations, booleans as `True`/`False` and
/// indices as integers, each right-aligned to the widest shown.
pub(crate) trait Printable: Copy {
    /// What is printed where the layout has no element (never, when the dimensions
    /// match the values).
    const MISSING: Self;
    /// The notation and width for the values that will be shown.
    fn formatter(values: &[Self]) -> Formatter;
    /// Appends this value, right-aligned to the formatter's width.
    fn write(self, formatter: &Formatter, buf: &mut String);
}

impl Printable for f64 {
    const MISSING: Self = f64::NAN;
    fn formatter(values: &[Self]) -> Formatter {
        Formatter::new(values)
    }
    fn write(self, formatter: &Formatter, buf: &mut String) {
        formatter.write(buf, self);
    }
}

/// Port of `_Formatter` for a tensor that is not floating-point: each element is its
/// `str()`, and the width is the longest (at least 1).
fn plain_formatter<V: Copy>(values: &[V], text: impl Fn(V) -> String) -> Formatter {
    Formatter {
        int_mode: false,
        sci_mode: false,
        max_width: values
            .iter()
            .map(|&v| text(v).chars().count())
            .fold(1, usize::max),
    }
}

/// Appends `text`, right-aligned to the formatter's width.
fn write_padded(buf: &mut String, formatter: &Formatter, text: &str) {
    let pad = formatter.max_width.saturating_sub(text.chars().count());
    buf.extend(core::iter::repeat_n(' ', pad));
    buf.push_str(text);
}

impl Printable for bool {
    const MISSING: Self = false;
    fn formatter(values: &[Self]) -> Formatter {
        plain_formatter(values, |v| python_bool(v).to_owned())
    }
    fn write(self, formatter: &Formatter, buf: &mut String) {
        write_padded(buf, formatter, python_bool(self));
    }
}

/// Python's `str()` of a boolean.
fn python_bool(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}

impl Printable for usize {
    const MISSING: Self = 0;
    fn formatter(values: &[Self]) -> Formatter {
        plain_formatter(values, |v| v.to_string())
    }
    fn write(self, formatter: &Formatter, buf: &mut String) {
        write_padded(buf, formatter, &self.to_string());
    }
}

/// Python's `"{:.<precision>f}".format(value)`.
fn fixed(value: f64, precision: usize) -> String {
    if value.is_nan() {
        // Python prints every NaN, including negative ones, as `nan`.
        "nan".to_owned()
    } else {
        // Rust and Python both round the exact binary value half to even.
        format!("{value:.precision$}")
    }
}

/// Python's `"{:.<precision>e}".format(value)`, e.g. `1.0240e+02`.
fn scientific(value: f64, precision: usize) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    // Rust writes `1.0240e2`; Python always signs the exponent and gives it
    // at least two digits.
    let rust = format!("{value:.precision$e}");
    let Some((mantissa, exponent)) = rust.split_once('e') else {
        return rust;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return rust;
    };
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

impl<S: Shape, E: Element, T: Tape> core::fmt::Display for Tensor<S, E, T> {
    /// Prints as PyTorch does: `tensor([1., 1.], requires_grad=True)`,
    /// `tensor(27., grad_fn=<MeanBackward0>)`; `f64` tensors add
    /// `dtype=torch.float64` as PyTorch does for a non-default type.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let values: Vec<f64> = self.as_slice().iter().map(|v| v.to_f64_exact()).collect();
        let mut suffix = String::new();
        if E::DTYPE != "torch.float32" {
            suffix.push_str(", dtype=");
            suffix.push_str(E::DTYPE);
        }
        if let Some(grad_fn) = self.grad_fn() {
            suffix.push_str(&format!(", grad_fn={grad_fn}"));
        } else if self.requires_grad() {
            suffix.push_str(", requires_grad=True");
        }
        write_tensor(f, &values, S::DIMS, &suffix)
    }
}

impl<S: Shape, E: Element, T: Tape> core::fmt::Debug for Tensor<S, E, T> {
    /// The same text as `Display`: PyTorch's `repr`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders through the public entry point.
    fn render(values: &[f64], dims: &[usize], suffix: &str) -> String {
        let mut text = String::new();
        write_tensor(&mut text, values, dims, suffix).expect("writing to a String cannot fail");
        text
    }

    /// Renders booleans or indices through the public entry point.
    fn render_plain<V: Printable>(values: &[V], dims: &[usize], suffix: &str) -> String {
        let mut text = String::new();
        write_tensor(&mut text, values, dims, suffix).expect("writing to a String cannot fail");
        text
    }

    #[test]
    fn booleans_as_pytorch_prints_them() {
        assert_eq!(
            render_plain(&[true, false], &[2], ""),
            "tensor([ True, False])"
        );
        assert_eq!(
            render_plain(&[true, true], &[2], ""),
            "tensor([True, True])"
        );
        assert_eq!(render_plain(&[false], &[], ""), "tensor(False)");
        assert_eq!(
            render_plain(&[true, false, false, true], &[2, 2], ""),
            "tensor([[ True, False],\n        [False,  True]])"
        );
        assert_eq!(
            render_plain::<bool>(&[], &[2, 0], ", dtype=torch.bool"),
            "tensor([], size=(2, 0), dtype=torch.bool)"
        );
        // Wrapped at 80 columns: (80 - 7) / (4 + 2) = 12 elements per line.
        let wrapped = render_plain(&[true; 13], &[13], "");
        let twelve = ["True"; 12].join(", ");
        assert_eq!(wrapped, format!("tensor([{twelve},\n        True])"));
        let summarized = render_plain(&[false; 2000], &[2000], "");
        assert_eq!(
            summarized,
            "tensor([False, False, False,  ..., False, False, False])"
        );
    }

    #[test]
    fn indices_as_pytorch_prints_int64() {
        assert_eq!(
            render_plain(&[0usize, 12, 3], &[3], ""),
            "tensor([ 0, 12,  3])"
        );
        assert_eq!(render_plain(&[7usize], &[], ""), "tensor(7)");
        assert_eq!(
            render_plain::<usize>(&[], &[0], ", dtype=torch.int64"),
            "tensor([], dtype=torch.int64)"
        );
    }

    /// Widens `f32` inputs exactly, as the tensor types do before printing.
    fn widen(values: &[f32]) -> Vec<f64> {
        values.iter().map(|&v| f64::from(v)).collect()
    }

    #[test]
    fn scalar_whole_number_with_grad_fn() {
        assert_eq!(
            render(&[27.0], &[], ", grad_fn=<MeanBackward0>"),
            "tensor(27., grad_fn=<MeanBackward0>)"
        );
    }

    #[test]
    fn scalar_fraction_with_long_grad_fn() {
        assert_eq!(
            render(
                &widen(&[1.970_468_6]),
                &[],
                ", grad_fn=<BinaryCrossEntropyWithLogitsBackward0>"
            ),
            "tensor(1.9705, grad_fn=<BinaryCrossEntropyWithLogitsBackward0>)"
        );
    }

    #[test]
    fn vector_requires_grad() {
        assert_eq!(
            render(&[1.0, 1.0], &[2], ", requires_grad=True"),
            "tensor([1., 1.], requires_grad=True)"
        );
    }

    #[test]
    fn vector_padded_to_widest() {
        assert_eq!(
            render(
                &widen(&[-18.374_8, -3.627_7, 5.882_6]),
                &[3],
                ", grad_fn=<AddBackward0>"
            ),
            "tensor([-18.3748,  -3.6277,   5.8826], grad_fn=<AddBackward0>)"
        );
    }

    #[test]
    fn scientific_when_range_is_wide() {
        assert_eq!(
            render(&widen(&[102.4, 1024.0, 0.1024]), &[3], ""),
            "tensor([1.0240e+02, 1.0240e+03, 1.0240e-01])"
        );
    }

    #[test]
    fn matrix() {
        assert_eq!(
            render(
                &widen(&[
                    0.0422,
                    1.333_333_3,
                    1.333_333_3,
                    0.0422,
                    1.333_333_3,
                    1.333_333_3
                ]),
                &[2, 3],
                ""
            ),
            "tensor([[0.0422, 1.3333, 1.3333],\n        [0.0422, 1.3333, 1.3333]])"
        );
    }

    #[test]
    fn matrix_with_signs() {
        assert_eq!(
            render(&widen(&[1.466_8, -3.351, 5.766_9, -3.454_7]), &[2, 2], ""),
            "tensor([[ 1.4668, -3.3510],\n        [ 5.7669, -3.4547]])"
        );
    }

    #[test]
    fn rank_three_blank_line_between_blocks() {
        let values: Vec<f64> = (1..=8).map(f64::from).collect();
        assert_eq!(
            render(&values, &[2, 2, 2], ""),
            "tensor([[[1., 2.],\n         [3., 4.]],\n\n        [[5., 6.],\n         [7., 8.]]])"
        );
    }

    #[test]
    fn rank_four_two_blank_lines_between_outer_blocks() {
        let values: Vec<f64> = (0..16).map(f64::from).collect();
        let expected = "tensor([[[[ 0.,  1.],\n          [ 2.,  3.]],\n\n         [[ 4.,  5.],\n          [ 6.,  7.]]],\n\n\n        [[[ 8.,  9.],\n          [10., 11.]],\n\n         [[12., 13.],\n          [14., 15.]]]])";
        assert_eq!(render(&values, &[2, 2, 2, 2], ""), expected);
    }

    #[test]
    fn summarized_vector() {
        let values: Vec<f64> = (0..2000).map(f64::from).collect();
        assert_eq!(
            render(&values, &[2000], ""),
            "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])"
        );
    }

    #[test]
    fn summarized_vector_narrow_values() {
        let values: Vec<f64> = (0..1001).map(|i| f64::from(i % 10)).collect();
        assert_eq!(
            render(&values, &[1001], ""),
            "tensor([0., 1., 2.,  ..., 8., 9., 0.])"
        );
    }

    #[test]
    fn summarized_matrix() {
        let values: Vec<f64> = (0..40 * 30).map(|i| f64::from(i % 7)).collect();
        // Row r starts at (30 * r) % 7 and ends at (30 * r + 29) % 7.
        let expected = "tensor([[0., 1., 2.,  ..., 6., 0., 1.],\n        [2., 3., 4.,  ..., 1., 2., 3.],\n        [4., 5., 6.,  ..., 3., 4., 5.],\n        ...,\n        [4., 5., 6.,  ..., 3., 4., 5.],\n        [6., 0., 1.,  ..., 5., 6., 0.],\n        [1., 2., 3.,  ..., 0., 1., 2.]])";
        assert_eq!(render(&values, &[40, 30], ""), expected);
    }

    #[test]
    fn summarized_rank_three_uses_blank_line_around_ellipsis() {
        let values = vec![1.0; 10 * 2 * 100];
        let text = render(&values, &[10, 2, 100], "");
        let block = "[[1., 1., 1.,  ..., 1., 1., 1.],\n         [1., 1., 1.,  ..., 1., 1., 1.]]";
        let expected = format!(
            "tensor([{block},\n\n        {block},\n\n        {block},\n\n        ...,\n\n        {block},\n\n        {block},\n\n        {block}])"
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn summarization_ignores_hidden_values_for_width() {
        let mut values = vec![1.0; 2000];
        values[1000] = 123_456.0;
        assert_eq!(
            render(&values, &[2000], ""),
            "tensor([1., 1., 1.,  ..., 1., 1., 1.])"
        );
    }

    #[test]
    fn long_vector_wraps_at_line_width() {
        let values: Vec<f64> = (0..20).map(|i| f64::from(i) * 0.5).collect();
        assert_eq!(
            render(&values, &[20], ""),
            "tensor([0.0000, 0.5000, 1.0000, 1.5000, 2.0000, 2.5000, 3.0000, 3.5000, 4.0000,\n        4.5000, 5.0000, 5.5000, 6.0000, 6.5000, 7.0000, 7.5000, 8.0000, 8.5000,\n        9.0000, 9.5000])"
        );
    }

    #[test]
    fn suffix_moves_to_its_own_line_when_too_long() {
        let values: Vec<f64> = (0..9).map(|i| f64::from(i) * 0.5).collect();
        assert_eq!(
            render(&values, &[9], ", grad_fn=<AddBackward0>"),
            "tensor([0.0000, 0.5000, 1.0000, 1.5000, 2.0000, 2.5000, 3.0000, 3.5000, 4.0000],\n       grad_fn=<AddBackward0>)"
        );
    }

    #[test]
    fn non_finite_values() {
        assert_eq!(
            render(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY], &[3], ""),
            "tensor([nan, inf, -inf])"
        );
        assert_eq!(
            render(&[1.5, f64::NAN, f64::NEG_INFINITY], &[3], ""),
            "tensor([1.5000,    nan,   -inf])"
        );
        assert_eq!(
            render(&[1.0, 1.0e5, f64::NAN], &[3], ""),
            "tensor([1.0000e+00, 1.0000e+05,        nan])"
        );
        assert_eq!(render(&[-f64::NAN], &[], ""), "tensor(nan)");
        assert_eq!(render(&[f64::INFINITY], &[], ""), "tensor(inf)");
    }

    #[test]
    fn negative_zero() {
        assert_eq!(render(&[-0.0], &[], ""), "tensor(-0.)");
        assert_eq!(render(&[0.0, -0.0], &[2], ""), "tensor([0., -0.])");
        // Zeros do not count towards the width, so `-0.0000` overflows it
        // and its neighbour stays unpadded, exactly as in PyTorch.
        assert_eq!(render(&[-0.0, 0.5], &[2], ""), "tensor([-0.0000, 0.5000])");
    }

    #[test]
    fn all_zero() {
        assert_eq!(render(&[0.0; 3], &[3], ""), "tensor([0., 0., 0.])");
        assert_eq!(render(&[0.0], &[], ""), "tensor(0.)");
    }

    #[test]
    fn empty() {
        assert_eq!(render(&[], &[0], ""), "tensor([])");
        assert_eq!(
            render(&[], &[0], ", requires_grad=True"),
            "tensor([], requires_grad=True)"
        );
        assert_eq!(render(&[], &[2, 0], ""), "tensor([], size=(2, 0))");
        assert_eq!(
            render(&[], &[0, 3, 4], ", grad_fn=<MulBackward0>"),
            "tensor([], size=(0, 3, 4), grad_fn=<MulBackward0>)"
        );
    }

    #[test]
    fn small_values_switch_to_scientific() {
        assert_eq!(
            render(&[0.5, 0.00005], &[2], ""),
            "tensor([5.0000e-01, 5.0000e-05])"
        );
        assert_eq!(render(&[1.0e-5], &[], ""), "tensor(1.0000e-05)");
    }

    #[test]
    fn large_whole_numbers_switch_to_scientific() {
        assert_eq!(render(&[2.0e8], &[], ""), "tensor(2.0000e+08)");
        assert_eq!(render(&[1.0e8], &[], ""), "tensor(100000000.)");
        assert_eq!(
            render(&[1.0, 1001.0], &[2], ""),
            "tensor([1.0000e+00, 1.0010e+03])"
        );
        assert_eq!(render(&[1.0, 1000.0], &[2], ""), "tensor([   1., 1000.])");
    }

    #[test]
    fn three_digit_exponents() {
        assert_eq!(
            render(&[1.0e-300, 1.0e300], &[2], ""),
            "tensor([1.0000e-300, 1.0000e+300])"
        );
    }

    #[test]
    fn rounding_is_half_to_even_like_python() {
        assert_eq!(fixed(0.031_25, 4), "0.0312");
        assert_eq!(fixed(2.5, 0), "2");
        assert_eq!(scientific(1.031_25, 4), "1.0312e+00");
        assert_eq!(scientific(9.999_99, 4), "1.0000e+01");
    }

    #[test]
    fn tensors_with_length_one_axes() {
        assert_eq!(render(&[3.0], &[1, 1], ""), "tensor([[3.]])");
        assert_eq!(render(&[3.0], &[1, 1, 1, 1], ""), "tensor([[[[3.]]]])");
        assert_eq!(
            render(&[1.0, 2.0], &[2, 1], ""),
            "tensor([[1.],\n        [2.]])"
        );
    }

    #[test]
    fn very_high_rank_does_not_overflow_the_stack() {
        let dims = vec![1usize; 100_000];
        let text = render(&[1.0], &dims, "");
        assert_eq!(text.len(), "tensor()".len() + "1.".len() + 2 * dims.len());
    }

    #[test]
    fn mismatched_lengths_print_flat() {
        assert_eq!(
            render(&[1.0, 2.0, 3.0], &[2, 2], ""),
            "tensor([1., 2., 3.])"
        );
        assert_eq!(render(&[1.0, 2.0], &[], ""), "tensor([1., 2.])");
        assert_eq!(render(&[], &[], ""), "tensor([])");
        assert_eq!(render(&[1.0], &[usize::MAX, 2], ""), "tensor([1.])");
        assert_eq!(render(&[1.0], &[0], ""), "tensor([1.])");
    }

    #[test]
    fn suffix_without_separator_is_verbatim() {
        assert_eq!(render(&[1.0], &[], " !"), "tensor(1. !)");
    }

    #[test]
    fn deep_indent_still_shows_one_element_per_line() {
        let dims = vec![1usize; 80];
        let mut dims_with_row = dims.clone();
        dims_with_row.push(2);
        let text = render(&[1.0, 2.0], &dims_with_row, "");
        let indent = " ".repeat(PREFIX.len() + dims.len() + 1);
        assert!(text.contains(&format!("1.,\n{indent}2.]")), "{text}");
    }
}
