//! Operations that move elements without computing on them: reshape and unsqueeze,
//! transpose and permute, explicit broadcast, select and `at` (element access), narrow (typed slicing),
//! concatenation and stacking, and the triangles of matrices (`tril`, `triu`).
//!
//! Most are gathers (`out[i] = x[map[i]]`); the backward of one scatters the gradient
//! back (`gx[map[i]] += g[i]`), which also sums the copies a broadcast made. Reshape
//! and unsqueeze share the storage and pass the gradient through. A concatenation is one binary
//! join, a stack a tree of them; a triangle keeps some elements and zeroes the others.
//!
//! Checks that need arithmetic on dimensions (reshape keeps the element count, a
//! concatenation's lengths add up, a broadcast is compatible, a narrow fits, an index of
//! `at` is in range) are inline `const` assertions: stable Rust cannot express them as
//! trait bounds for every size, so they are reported by `cargo build` (and by trybuild),
//! not by `cargo check`.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::element::Element;
use crate::error::Error;
use crate::ops::{finish, Op, Operand, Var};
use crate::shape::constraint::{
    check_broadcast, check_concat, check_index, check_narrow, check_reshape, check_stack,
    AxisLayout,
};
use crate::shape::{
    ConcatAxis, HasAxis, MatrixBatch, Permute2, Permute3, Permute4, Rank0, Rank1, Rank2, Rank3,
    Rank4, Resize, Shape, Stack, Unsqueeze,
};
use crate::tape::backward::ParentGrads;
use crate::tape::create_graph::NodeContext;
use crate::tape::graph::GraphRef;
use crate::tape::{BinaryTape, Merge, Tape, UnaryTape};
use crate::tensor::construction::build;
use crate::tensor::storage::Storage;
use crate::tensor::Tensor;

/// A recorded rearrangement of one or two inputs' elements.
#[derive(Clone)]
pub(crate) enum LayoutOp {
    /// `out[i] = x[map[i]]`.
    Gather {
        map: Arc<[usize]>,
        name: &'static str,
    },
    /// `out[map[i]] += x[i]` into zeros: the transpose of a gather, which the recorded
    /// backward of a gather (and of max/min along an axis) produces.
    ScatterAdd { map: Arc<[usize]> },
    /// The same elements under another shape (`reshape`, `unsqueeze`: `name`).
    View { name: &'static str },
    /// `out = [a, b]` along an axis: the first `split` elements of each lane come from
    /// `a`. `stack`: a piece of a `Tensor::stack` (whose joins are all along a new
    /// leading axis), not a `concat`.
    Concat {
        layout_a: AxisLayout,
        layout_b: AxisLayout,
        stack: bool,
    },
}

impl LayoutOp {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            LayoutOp::Gather { name, .. } => name,
            LayoutOp::ScatterAdd { .. } => "ScatterAddBackward0",
            LayoutOp::View { name } => name,
            LayoutOp::Concat { stack: false, .. } => "CatBackward0",
            LayoutOp::Concat { stack: true, .. } => "StackBackward0",
        }
    }

    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        match self {
            LayoutOp::Gather { map, .. } => {
                if let Some(gx) = parents.get_mut(0) {
                    for (&from, &g) in map.iter().zip(grad) {
                        if let Some(slot) = gx.get_mut(from) {
                            *slot = *slot + g;
                        }
                    }
                }
            }
            LayoutOp::ScatterAdd { map, .. } => {
                if let Some(gx) = parents.get_mut(0) {
                    for (x, &to) in gx.iter_mut().zip(map.iter()) {
                        *x = *x + grad.get(to).copied().unwrap_or_else(E::zero);
                    }
                }
            }
            LayoutOp::View { .. } => {
                if let Some(gx) = parents.get_mut(0) {
                    for (x, &g) in gx.iter_mut().zip(grad) {
                        *x = *x + g;
                    }
                }
            }
            LayoutOp::Concat {
                layout_a, layout_b, ..
            } => {
                let out_lane = (layout_a.len + layout_b.len) * layout_a.inner;
                for (k, layout, skip) in [(0, layout_a, 0), (1, layout_b, layout_a.len)] {
                    if let Some(gx) = parents.get_mut(k) {
                        let lane = layout.len * layout.inner;
                        for o in 0..layout.outer {
                            let from = o * out_lane + skip * layout.inner;
                            for (x, &g) in gx[o * lane..(o + 1) * lane]
                                .iter_mut()
                                .zip(&grad[from..from + lane])
                            {
                                *x = *x + g;
                            }
                        }
                    }
                }
            }
        }
    }
}

impl LayoutOp {
    /// The gradients as recorded operations: a gather's is a scatter, a scatter's a
    /// gather, a view's the gradient itself, a concatenation's two slices.
    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        let tracked = |k: usize| node.tracked(k);
        match self {
            LayoutOp::Gather { map, .. } => [
                tracked(0).then(|| scatter_add(g.operand(), map.clone(), node.input_len(0))),
                None,
            ],
            LayoutOp::ScatterAdd { map, .. } => [
                tracked(0).then(|| gather(g.operand(), map.clone(), "GatherBackward0")),
                None,
            ],
            LayoutOp::View { .. } => [tracked(0).then(|| g.clone()), None],
            LayoutOp::Concat {
                layout_a,
                layout_b,
                stack,
            } => {
                // PyTorch's backward of `cat` narrows the gradient, of `stack` unbinds it.
                let name = if *stack {
                    "UnbindBackward0"
                } else {
                    "SliceBackward0"
                };
                let part = |k: usize| {
                    tracked(k).then(|| {
                        let map = concat_part_map(*layout_a, *layout_b, k);
                        gather(g.operand(), map, name)
                    })
                };
                [part(0), part(1)]
            }
        }
    }

    /// The tangent of the output: the same rearrangement of each input's tangent.
    pub(crate) fn jvp<E: Element>(
        &self,
        _saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let len = out.len() / batch.max(1);
        let chunks = |t: &[E]| t.len() / batch.max(1);
        match self {
            LayoutOp::Gather { map, .. } => {
                if let Some(t) = tangents[0] {
                    let n = chunks(t).max(1);
                    for (t, out) in t.chunks_exact(n).zip(out.chunks_exact_mut(len.max(1))) {
                        for (o, &from) in out.iter_mut().zip(map.iter()) {
                            *o = t.get(from).copied().unwrap_or_else(E::zero);
                        }
                    }
                }
            }
            LayoutOp::ScatterAdd { map, .. } => {
                if let Some(t) = tangents[0] {
                    let n = chunks(t).max(1);
                    for (t, out) in t.chunks_exact(n).zip(out.chunks_exact_mut(len.max(1))) {
                        for (&v, &to) in t.iter().zip(map.iter()) {
                            if let Some(o) = out.get_mut(to) {
                                *o = *o + v;
                            }
                        }
                    }
                }
            }
            LayoutOp::View { .. } => {
                if let Some(t) = tangents[0] {
                    let n = out.len();
                    out.copy_from_slice(&t[..n]);
                }
            }
            LayoutOp::Concat {
                layout_a, layout_b, ..
            } => {
                for (k, layout) in [(0, layout_a), (1, layout_b)] {
                    let Some(t) = tangents[k] else { continue };
                    let map = concat_part_map(*layout_a, *layout_b, k);
                    let n = layout.outer * layout.len * layout.inner;
                    for (b, t) in t.chunks_exact(n.max(1)).take(batch).enumerate() {
                        for (&v, &to) in t.iter().zip(map.iter()) {
                            out[b * len + to] = v;
                        }
                    }
                }
            }
        }
    }
}

/// For input `k` of a concatenation (0: `a`, 1: `b`), the position in the result of each
/// of its elements.
fn concat_part_map(a: AxisLayout, b: AxisLayout, k: usize) -> Arc<[usize]> {
    let out_lane = (a.len + b.len) * a.inner;
    let (layout, skip) = if k == 0 { (a, 0) } else { (b, a.len) };
    let lane = layout.len * layout.inner;
    (0..layout.outer)
        .flat_map(|o| (0..lane).map(move |j| o * out_lane + skip * layout.inner + j))
        .collect()
}

/// `out[i] = x[map[i]]`, recorded as the operation `name`.
pub(crate) fn gather<E: Element>(
    x: Operand<'_, E>,
    map: Arc<[usize]>,
    name: &'static str,
) -> Var<E> {
    let values = x.values();
    let data = Storage::collect(
        map.len(),
        map.iter()
            .map(|&i| values.get(i).copied().unwrap_or_else(E::nan)),
    );
    finish(data, [Some(x), None], |_| {
        Op::Layout(LayoutOp::Gather { map, name })
    })
}

/// The same elements under another shape: shares the storage, records a view as the
/// operation `name`.
pub(crate) fn view<E: Element>(x: Operand<'_, E>, name: &'static str) -> Var<E> {
    finish(x.data.clone(), [Some(x), None], |_| {
        Op::Layout(LayoutOp::View { name })
    })
}

/// `a` and `b` joined along the axis their layouts describe (the same `outer` and
/// `inner` in both), recorded as a piece of a stack if `stack`, else as a `concat`.
pub(crate) fn concat<E: Element>(
    a: Operand<'_, E>,
    b: Operand<'_, E>,
    la: AxisLayout,
    lb: AxisLayout,
    stack: bool,
) -> Var<E> {
    let (av, bv) = (a.values(), b.values());
    let (lane_a, lane_b) = (la.len * la.inner, lb.len * lb.inner);
    let data: Storage<E> = (0..la.outer)
        .flat_map(|o| {
            av[o * lane_a..(o + 1) * lane_a]
                .iter()
                .chain(&bv[o * lane_b..(o + 1) * lane_b])
                .copied()
        })
        .collect();
    finish(data, [Some(a), Some(b)], |_| {
        Op::Layout(LayoutOp::Concat {
            layout_a: la,
            layout_b: lb,
            stack,
        })
    })
}

/// `out[map[i]] += x[i]` into `len` zeros, recorded.
pub(crate) fn scatter_add<E: Element>(x: Operand<'_, E>, map: Arc<[usize]>, len: usize) -> Var<E> {
    let mut data = vec![E::zero(); len];
    for (&v, &to) in x.values().iter().zip(map.iter()) {
        if let Some(slot) = data.get_mut(to) {
            *slot = *slot + v;
        }
    }
    finish(data.into(), [Some(x), None], |_| {
        Op::Layout(LayoutOp::ScatterAdd { map })
    })
}

/// Row-major strides of `dims`.
fn strides(dims: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; dims.len()];
    for k in (0..dims.len().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * dims[k + 1];
    }
    strides
}

/// For every position of an `out_dims` tensor, the flat position of the input element it
/// copies, where `source_of(axis, index)` gives the input's (stride-weighted) offset.
fn gather_map(
    out_dims: &[usize],
    mut source_of: impl FnMut(usize, usize) -> usize,
) -> Arc<[usize]> {
    let count: usize = out_dims.iter().product();
    let out_strides = strides(out_dims);
    (0..count)
        .map(|flat| {
            out_dims
                .iter()
                .zip(&out_strides)
                .enumerate()
                .map(|(axis, (&dim, &stride))| source_of(axis, (flat / stride) % dim.max(1)))
                .sum()
        })
        .collect()
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    fn gathered<S2: Shape>(
        &self,
        map: Arc<[usize]>,
        name: &'static str,
    ) -> Tensor<S2, E, UnaryTape<T>> {
        Tensor::from_var(gather(self.operand(), map, name))
    }

    /// The gather of an untracked value, which records nothing and so needs no index
    /// map: result element `k` is input element `source(k)`, copied straight into the
    /// result's (inline or pooled) storage. `None` for a tracked value, whose record
    /// keeps the map. A transpose, element or slice of a plain value (a Kalman
    /// filter's `F P Fᵀ`) then allocates nothing in a step like the last.
    fn gathered_plain<S2: Shape>(
        &self,
        source: impl Fn(usize) -> usize,
    ) -> Option<Tensor<S2, E, UnaryTape<T>>> {
        if self.graph_ref().is_some() {
            return None;
        }
        let x = self.as_slice();
        let values =
            (0..S2::NUM_ELEMENTS).map(|k| x.get(source(k)).copied().unwrap_or_else(E::nan));
        let data = Storage::collect(S2::NUM_ELEMENTS, values);
        Some(Tensor::from_var(Var { data, place: None }))
    }

    /// The same elements, in the same row-major order, under shape `S2` (PyTorch's
    /// `reshape`/`view`). Shares the storage: nothing is copied.
    ///
    /// A shape with a different number of elements is rejected when the program is
    /// built (`cargo build`; `cargo check` does not see it).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let v: Tensor<Rank1<6>, f32> = m.reshape();
    /// let t: Tensor<Rank2<3, 2>, f32> = m.reshape();
    /// assert_eq!(v.as_slice(), t.as_slice());
    /// ```
    pub fn reshape<S2: Shape>(&self) -> Tensor<S2, E, UnaryTape<T>> {
        const { check_reshape(S::DIMS, S::NUM_ELEMENTS, S2::DIMS, S2::NUM_ELEMENTS) };
        Tensor::from_var(view(self.operand(), "ViewBackward0"))
    }

    /// The same elements with an axis of length 1 inserted at position `AXIS` (PyTorch's
    /// `unsqueeze(AXIS)`): before axis `AXIS`, or after the last when `AXIS` is the rank.
    /// A `Rank1<3>` becomes a `Rank2<1, 3>` at 0 and a `Rank2<3, 1>` at 1. It is a reshape:
    /// the storage is shared (nothing copied) and the gradient passes through unchanged.
    ///
    /// A position past the rank, or any position of a `Rank4` (shapes stop at rank 4),
    /// is a trait error that `cargo check` reports.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let v = Tensor::from_array([1.0f64, 2.0, 3.0]);
    /// let row: Tensor<Rank2<1, 3>, f64> = v.unsqueeze::<0>();
    /// let column: Tensor<Rank2<3, 1>, f64> = v.unsqueeze::<1>();
    /// assert_eq!(row.to_array(), [[1.0, 2.0, 3.0]]);
    /// assert_eq!(column.to_array(), [[1.0], [2.0], [3.0]]);
    /// assert_eq!(v.track().unsqueeze::<1>().grad_fn().unwrap().name(), "UnsqueezeBackward0");
    /// // A column broadcast along a row: an outer product.
    /// let outer: Tensor<Rank2<3, 3>, f64> = column.broadcast::<Rank2<3, 3>>() * &v;
    /// assert_eq!(outer.to_array()[2], [3.0, 6.0, 9.0]);
    /// gradcheck(|v| v.unsqueeze::<1>().sin(), &v, Tolerance::default()).unwrap();
    /// ```
    pub fn unsqueeze<const AXIS: usize>(
        &self,
    ) -> Tensor<<S as Unsqueeze<AXIS>>::Output, E, UnaryTape<T>>
    where
        S: Unsqueeze<AXIS>,
    {
        Tensor::from_var(view(self.operand(), "UnsqueezeBackward0"))
    }

    /// Broadcasts to shape `S2` by NumPy's rule (PyTorch's `expand`): dimensions are
    /// aligned from the last; each equals the target's or is 1, and missing leading
    /// dimensions repeat. The gradient sums over the copies.
    ///
    /// An incompatible target shape is rejected when the program is built.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let col = Tensor::from_array([[1.0f32], [2.0]]);
    /// let m: Tensor<Rank2<2, 3>, f32> = col.broadcast();
    /// assert_eq!(m.to_vec(), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    /// ```
    pub fn broadcast<S2: Shape>(&self) -> Tensor<S2, E, UnaryTape<T>> {
        const { check_broadcast(S::DIMS, S2::DIMS) };
        let (from, to) = (S::DIMS, S2::DIMS);
        let offset = to.len() - from.len();
        let from_strides = strides(from);
        let map = gather_map(to, |axis, index| {
            axis.checked_sub(offset)
                .filter(|&k| from[k] != 1)
                .map_or(0, |k| index * from_strides[k])
        });
        self.gathered(map, "ExpandBackward0")
    }

    /// The slice at `index` along axis `AXIS`, which the result no longer has (PyTorch's
    /// `select(AXIS, index)`).
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] if `index` is not below the axis' length.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f64, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    /// assert_eq!(m.select::<0>(2)?.to_vec(), vec![5.0, 6.0]);
    /// assert_eq!(m.select::<1>(0)?.to_vec(), vec![1.0, 3.0, 5.0]);
    /// assert!(m.select::<0>(3).is_err());
    /// # Ok::<(), typegrad::Error>(())
    /// ```
    pub fn select<const AXIS: usize>(
        &self,
        index: usize,
    ) -> Result<Tensor<<S as HasAxis<AXIS>>::Removed, E, UnaryTape<T>>, Error>
    where
        S: HasAxis<AXIS>,
    {
        let l = AxisLayout::of::<S>(AXIS);
        if index >= l.len {
            return Err(Error::IndexOutOfBounds {
                context: "Tensor::select",
                index: vec![index],
                dims: S::DIMS,
            });
        }
        let map = (0..l.outer)
            .flat_map(|o| (0..l.inner).map(move |i| l.at(o, index, i)))
            .collect();
        Ok(self.gathered(map, "SelectBackward0"))
    }

    /// The `LEN` elements starting at `START` along axis `AXIS` (PyTorch's
    /// `narrow(AXIS, START, LEN)`): the result's type has that axis of length `LEN`.
    ///
    /// A range that does not fit in the axis is rejected when the program is built.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let v = Tensor::from_array([1.0f32, 2.0, 3.0, 4.0, 5.0]);
    /// let middle: Tensor<Rank1<3>, f32> = v.narrow::<0, 1, 3>();
    /// assert_eq!(middle.to_vec(), vec![2.0, 3.0, 4.0]);
    /// ```
    pub fn narrow<const AXIS: usize, const START: usize, const LEN: usize>(
        &self,
    ) -> Tensor<<S as Resize<AXIS, LEN>>::Output, E, UnaryTape<T>>
    where
        S: Resize<AXIS, LEN>,
    {
        const { check_narrow(S::DIMS, AXIS, START, LEN) };
        let l = AxisLayout::of::<S>(AXIS);
        let inner = l.inner.max(1);
        let plain = self.gathered_plain(|k| {
            let (outer, i) = (k / inner, k % inner);
            l.at(outer / LEN, START + outer % LEN, i)
        });
        if let Some(slice) = plain {
            return slice;
        }
        let map = (0..l.outer)
            .flat_map(|o| {
                (START..START + LEN).flat_map(move |k| (0..l.inner).map(move |i| l.at(o, k, i)))
            })
            .collect();
        self.gathered(map, "SliceBackward0")
    }

    /// Concatenation with `other` along axis `AXIS` (PyTorch's `torch.cat`); the result
    /// shape `SOut` is written by the caller, usually through a type annotation.
    ///
    /// Shapes whose other dimensions differ, or whose lengths along the axis do not add
    /// up to `SOut`'s, are rejected when the program is built. An axis that a shape does
    /// not have is a trait error (`cargo check` reports it); scalars (`Rank0`) have no
    /// axis: [`Tensor::stack`] joins them into a vector.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let a = Tensor::from_array([[1.0f32, 2.0]]);
    /// let b = Tensor::from_array([[3.0f32, 4.0], [5.0, 6.0]]);
    /// let rows: Tensor<Rank2<3, 2>, f32> = a.concat::<0, _, _, _>(&b);
    /// assert_eq!(rows.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// ```
    pub fn concat<const AXIS: usize, S2, SOut: Shape, T2: Tape>(
        &self,
        other: &Tensor<S2, E, T2>,
    ) -> Tensor<SOut, E, BinaryTape<T, T2>>
    where
        T: Merge<T2>,
        S: ConcatAxis<AXIS>,
        S2: ConcatAxis<AXIS>,
    {
        const { check_concat(S::DIMS, S2::DIMS, SOut::DIMS, AXIS) };
        let (la, lb) = (AxisLayout::of::<S>(AXIS), AxisLayout::of::<S2>(AXIS));
        Tensor::from_var(concat(self.operand(), other.operand(), la, lb, false))
    }
}

impl<const M: usize, const N: usize, E: Element, T: Tape> Tensor<Rank2<M, N>, E, T> {
    /// The transpose (PyTorch's `.t()`), as a copy; matrix products never need it, since
    /// they transpose by strides.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let t: Tensor<Rank2<3, 2>, f32> = m.t();
    /// assert_eq!(t.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// ```
    pub fn t(&self) -> Tensor<Rank2<N, M>, E, UnaryTape<T>> {
        // Result element (j, i) at j M + i is input element (i, j) at i N + j.
        if let Some(t) = self.gathered_plain(|k| (k % M.max(1)) * N + k / M.max(1)) {
            return t;
        }
        let map = gather_map(
            &[N, M],
            |axis, index| if axis == 0 { index } else { index * N },
        );
        self.gathered(map, "TBackward0")
    }
}

impl<const A: usize, const B: usize, const C: usize, E: Element, T: Tape>
    Tensor<Rank3<A, B, C>, E, T>
{
    /// The axes reordered: result axis `k` is input axis `Pk` (PyTorch's
    /// `permute(P0, P1, P2)`).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<Rank3<2, 3, 4>, f32>::zeros();
    /// let y: Tensor<Rank3<4, 2, 3>, f32> = x.permute::<2, 0, 1>();
    /// # let _ = y;
    /// ```
    pub fn permute<const P0: usize, const P1: usize, const P2: usize>(
        &self,
    ) -> Tensor<<Rank3<A, B, C> as Permute3<P0, P1, P2>>::Output, E, UnaryTape<T>>
    where
        Rank3<A, B, C>: Permute3<P0, P1, P2>,
    {
        self.permuted(&[P0, P1, P2])
    }
}

impl<const A: usize, const B: usize, const C: usize, const D: usize, E: Element, T: Tape>
    Tensor<Rank4<A, B, C, D>, E, T>
{
    /// The axes reordered: result axis `k` is input axis `Pk` (PyTorch's `permute`).
    pub fn permute<const P0: usize, const P1: usize, const P2: usize, const P3: usize>(
        &self,
    ) -> Tensor<<Rank4<A, B, C, D> as Permute4<P0, P1, P2, P3>>::Output, E, UnaryTape<T>>
    where
        Rank4<A, B, C, D>: Permute4<P0, P1, P2, P3>,
    {
        self.permuted(&[P0, P1, P2, P3])
    }
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// Gathers by the permutation `perm` (result axis k = input axis perm[k]).
    fn permuted<S2: Shape>(&self, perm: &[usize]) -> Tensor<S2, E, UnaryTape<T>> {
        let in_strides = strides(S::DIMS);
        let map = gather_map(S2::DIMS, |axis, index| {
            perm.get(axis)
                .and_then(|&k| in_strides.get(k))
                .map_or(0, |s| index * s)
        });
        self.gathered(map, "PermuteBackward0")
    }
}

impl<const N: usize, E: Element, T: Tape> Tensor<Rank1<N>, E, T> {
    /// Element `I` as a scalar (PyTorch's `v[I]`), with the index checked when the
    /// program is built: an index that is not below `N` does not build, so there is no
    /// `Result` to unwrap. [`Tensor::select`] takes an index known only at run time.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let v = Tensor::from_array([1.0f64, 2.0, 3.0]).track();
    /// let last = v.at::<2>();
    /// assert_eq!(last.item(), 3.0);
    /// assert_eq!(last.grad_fn().unwrap().name(), "SelectBackward0");
    /// gradcheck(|v| v.at::<0>() * v.at::<2>(), &v.no_grad(), Tolerance::default()).unwrap();
    /// ```
    pub fn at<const I: usize>(&self) -> Tensor<Rank0, E, UnaryTape<T>> {
        const { check_index(&[N], &[I]) };
        if let Some(element) = self.gathered_plain(|_| I) {
            return element;
        }
        self.gathered(Arc::from([I]), "SelectBackward0")
    }
}

impl<const M: usize, const N: usize, E: Element, T: Tape> Tensor<Rank2<M, N>, E, T> {
    /// Element `(I, J)` as a scalar (PyTorch's `m[I, J]`), with both indices checked
    /// when the program is built.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(m.at::<1, 0>().item(), 4.0);
    /// gradcheck(|m| m.at::<0, 2>().sin() * m.at::<1, 1>(), &m, Tolerance::default()).unwrap();
    /// ```
    pub fn at<const I: usize, const J: usize>(&self) -> Tensor<Rank0, E, UnaryTape<T>> {
        let flat = const {
            check_index(&[M, N], &[I, J]);
            I * N + J
        };
        if let Some(element) = self.gathered_plain(|_| flat) {
            return element;
        }
        self.gathered(Arc::from([flat]), "SelectBackward0")
    }

    /// The axes reordered: result axis `k` is input axis `Pk` (PyTorch's
    /// `permute(P0, P1)`). `permute::<1, 0>()` is the transpose, recorded as a
    /// permutation (`PermuteBackward0`) where [`Tensor::t`] records `TBackward0`.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let p: Tensor<Rank2<3, 2>, f64> = m.permute::<1, 0>();
    /// assert_eq!(p, m.t());
    /// gradcheck(|m| m.permute::<1, 0>().sin(), &m, Tolerance::default()).unwrap();
    /// ```
    pub fn permute<const P0: usize, const P1: usize>(
        &self,
    ) -> Tensor<<Rank2<M, N> as Permute2<P0, P1>>::Output, E, UnaryTape<T>>
    where
        Rank2<M, N>: Permute2<P0, P1>,
    {
        self.permuted(&[P0, P1])
    }
}

/// A recorded `tril` or `triu`: in each matrix (the last two axes), the elements on one
/// side of a diagonal kept, the others zero.
#[derive(Clone, Copy)]
pub(crate) struct TriangleOp {
    rows: usize,
    cols: usize,
    /// The diagonal bounding the triangle: 0 the main one, positive above it, negative
    /// below it (PyTorch's `diagonal`).
    diagonal: isize,
    /// `tril` (kept: on and below the diagonal) rather than `triu` (on and above).
    lower: bool,
}

impl TriangleOp {
    /// The triangle of `rows x cols` matrices bounded by `diagonal`: `tril` if `lower`,
    /// else `triu` (for the linear-algebra rules, which project onto a triangle).
    pub(crate) fn new(rows: usize, cols: usize, diagonal: isize, lower: bool) -> Self {
        TriangleOp {
            rows,
            cols,
            diagonal,
            lower,
        }
    }

    /// Whether the element at flat position `flat` of a batch of matrices is kept.
    #[inline]
    fn keeps(self, flat: usize) -> bool {
        let cols = self.cols.max(1);
        let within = flat % self.rows.saturating_mul(cols).max(1);
        // Column minus row, in i128 so that no dimension or diagonal can overflow it.
        let offset = (within % cols) as i128 - (within / cols) as i128;
        if self.lower {
            offset <= self.diagonal as i128
        } else {
            offset >= self.diagonal as i128
        }
    }

    /// `out[k] = x[k]` where kept, else 0: whatever `x[k]` is, NaN included (the result
    /// does not depend on it there, as in PyTorch).
    fn apply<E: Element>(self, x: &[E], out: &mut [E]) {
        for (k, (o, &v)) in out.iter_mut().zip(x).enumerate() {
            *o = if self.keeps(k) { v } else { E::zero() };
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        if self.lower {
            "TrilBackward0"
        } else {
            "TriuBackward0"
        }
    }

    /// The gradient is the same triangle of the output's gradient.
    pub(crate) fn backward<E: Element>(&self, grad: &[E], parents: &mut ParentGrads<'_, E>) {
        if let Some(gx) = parents.get_mut(0) {
            for (k, (x, &g)) in gx.iter_mut().zip(grad).enumerate() {
                if self.keeps(k) {
                    *x = *x + g;
                }
            }
        }
    }

    /// The same triangle of the gradient, recorded (its own backward is that triangle
    /// again).
    pub(crate) fn backward_recorded<E: Element>(
        &self,
        g: &Var<E>,
        node: &NodeContext<'_, E>,
    ) -> [Option<Var<E>>; 2] {
        [node.tracked(0).then(|| triangle(g.operand(), *self)), None]
    }

    /// The same triangle of each tangent.
    pub(crate) fn jvp<E: Element>(
        &self,
        _saved: &[Storage<E>],
        tangents: [Option<&[E]>; 2],
        batch: usize,
        out: &mut [E],
    ) {
        let Some(t) = tangents[0] else { return };
        let len = (out.len() / batch.max(1)).max(1);
        for (t, out) in t.chunks_exact(len).zip(out.chunks_exact_mut(len)) {
            self.apply(t, out);
        }
    }
}

/// The triangle `op` describes of each matrix of `x`, recorded.
pub(crate) fn triangle<E: Element>(x: Operand<'_, E>, op: TriangleOp) -> Var<E> {
    let data = build(x.values().len(), |out| op.apply(x.values(), out));
    finish(data, [Some(x), None], |_| Op::Triangle(op))
}

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The lower triangle of each matrix (the last two axes): element `(i, j)` is kept
    /// where `j - i <= diagonal`, else 0 (PyTorch's `tril(diagonal)`). `diagonal` 0 is
    /// the main diagonal, 1 the one above it, -1 the one below.
    ///
    /// A zeroed element is 0 even where the input holds a NaN, as in PyTorch: the result
    /// does not depend on it there. The gradient is the same triangle of the output's.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]);
    /// assert_eq!(m.tril(0).to_array(), [[1.0, 0.0, 0.0], [4.0, 5.0, 0.0], [7.0, 8.0, 9.0]]);
    /// assert_eq!(m.tril(-1).to_array(), [[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [7.0, 8.0, 0.0]]);
    /// assert_eq!(m.track().tril(0).grad_fn().unwrap().name(), "TrilBackward0");
    /// gradcheck(|m| m.tril(1).exp(), &m, Tolerance::default()).unwrap();
    /// // A batch of matrices: the triangle of each.
    /// let batch = Tensor::<Rank3<2, 2, 2>, f64>::ones().tril(0);
    /// assert_eq!(batch.to_vec(), vec![1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    /// ```
    pub fn tril(&self, diagonal: isize) -> Tensor<S, E, UnaryTape<T>>
    where
        S: MatrixBatch,
    {
        self.triangle(diagonal, true)
    }

    /// The upper triangle of each matrix (the last two axes): element `(i, j)` is kept
    /// where `j - i >= diagonal`, else 0 (PyTorch's `triu(diagonal)`).
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let m = Tensor::from_array([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(m.triu(0).to_array(), [[1.0, 2.0, 3.0], [0.0, 5.0, 6.0]]);
    /// assert_eq!(m.triu(1).to_array(), [[0.0, 2.0, 3.0], [0.0, 0.0, 6.0]]);
    /// assert_eq!(m.track().triu(0).grad_fn().unwrap().name(), "TriuBackward0");
    /// gradcheck(|m| m.triu(-1).sin(), &m, Tolerance::default()).unwrap();
    /// ```
    pub fn triu(&self, diagonal: isize) -> Tensor<S, E, UnaryTape<T>>
    where
        S: MatrixBatch,
    {
        self.triangle(diagonal, false)
    }

    fn triangle(&self, diagonal: isize, lower: bool) -> Tensor<S, E, UnaryTape<T>>
    where
        S: MatrixBatch,
    {
        let op = TriangleOp {
            rows: S::ROWS,
            cols: S::COLS,
            diagonal,
            lower,
        };
        Tensor::from_var(triangle(self.operand(), op))
    }
}

/// `parts` (each of `part_len` elements) one after another, recorded as `stack`:
/// joined pairwise, in a balanced tree of binary joins (a node of the graph has at most
/// two inputs), each recorded as `StackBackward0`. Untracked parts are copied once.
pub(crate) fn stack<E: Element>(parts: &[Operand<'_, E>], part_len: usize) -> Var<E> {
    /// A part, or parts already joined.
    enum Piece<'a, E: Element> {
        Part(Operand<'a, E>),
        Joined(Var<E>),
    }
    impl<E: Element> Piece<'_, E> {
        fn operand(&self) -> Operand<'_, E> {
            match self {
                Piece::Part(part) => *part,
                Piece::Joined(var) => var.operand(),
            }
        }
    }
    if parts.iter().all(|part| part.place.is_none()) {
        let data: Storage<E> = parts
            .iter()
            .flat_map(|p| p.values().iter().copied())
            .collect();
        return Var::constant(data);
    }
    let identity = || (0..part_len).collect();
    // `level` holds pieces with the number of parts in each.
    let mut level: Vec<(Piece<'_, E>, usize)> =
        parts.iter().map(|&part| (Piece::Part(part), 1)).collect();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        let mut pieces = level.into_iter();
        while let Some((a, count_a)) = pieces.next() {
            let Some((b, count_b)) = pieces.next() else {
                next.push((a, count_a));
                break;
            };
            let layout = |len| AxisLayout {
                outer: 1,
                len,
                inner: part_len,
            };
            let joined = concat(
                a.operand(),
                b.operand(),
                layout(count_a),
                layout(count_b),
                true,
            );
            next.push((Piece::Joined(joined), count_a + count_b));
        }
        level = next;
    }
    match level.pop() {
        Some((Piece::Joined(var), _)) => var,
        // One part: a node of its own all the same, so that the result is a stack.
        Some((Piece::Part(part), _)) => gather(part, identity(), "StackBackward0"),
        None => Var::constant(Storage::empty()),
    }
}

mod sealed {
    /// Keeps [`super::StackParts`] closed: `Tensor::stack` relies on the shapes it reports.
    pub trait Sealed {}
}

/// What [`Tensor::stack`] takes: an array of tensors of one shape, element type and tape
/// (`[a, b, c]`, or references `[&a, &b, &c]`), or a tuple of 2 to 12 tensors of one
/// shape and element type whose tapes may differ (`(x, Tensor::zeros())`, or references
/// `(&x, &y)`). Sealed.
#[diagnostic::on_unimplemented(
    message = "`Tensor::stack` cannot stack `{Self}`: the parts must be tensors of one shape and one element type",
    label = "not an array or tuple of tensors of one shape and element type",
    note = "stack an array `[a, b, c]` (or `[&a, &b, &c]`) of tensors of one shape, element type and tape, or a tuple `(a, b, c)` (or `(&a, &b, &c)`) of 2 to 12 tensors of one shape and element type, whose tapes may differ (a `Tracked` value with a `NoGrad` one)"
)]
pub trait StackParts: sealed::Sealed {
    /// The shape of each part.
    type Part: Shape;
    /// The shape of the stack: [`StackParts::Part`] with a new leading axis of length
    /// [`StackParts::COUNT`].
    type Output: Shape;
    /// The element type.
    type Elem: Element;
    /// The tape of the stack: `Tracked` if any part is.
    type Tape: Tape;
    /// The number of parts.
    const COUNT: usize;

    /// Each part's storage and place in a graph.
    #[doc(hidden)]
    #[allow(clippy::type_complexity)] // a pair of public types, spelled out for the docs
    fn parts(&self) -> Vec<(&Storage<Self::Elem>, Option<&GraphRef<Self::Elem>>)>;
}

impl<S: Shape, E: Element, T: Tape, const N: usize> sealed::Sealed for [Tensor<S, E, T>; N] {}

impl<S: Stack<N>, E: Element, T: Tape, const N: usize> StackParts for [Tensor<S, E, T>; N] {
    type Part = S;
    type Output = <S as Stack<N>>::Output;
    type Elem = E;
    type Tape = UnaryTape<T>;
    const COUNT: usize = N;

    fn parts(&self) -> Vec<(&Storage<E>, Option<&GraphRef<E>>)> {
        self.iter().map(|t| (t.storage(), t.graph_ref())).collect()
    }
}

impl<S: Shape, E: Element, T: Tape, const N: usize> sealed::Sealed for [&Tensor<S, E, T>; N] {}

impl<S: Stack<N>, E: Element, T: Tape, const N: usize> StackParts for [&Tensor<S, E, T>; N] {
    type Part = S;
    type Output = <S as Stack<N>>::Output;
    type Elem = E;
    type Tape = UnaryTape<T>;
    const COUNT: usize = N;

    fn parts(&self) -> Vec<(&Storage<E>, Option<&GraphRef<E>>)> {
        self.iter().map(|t| (t.storage(), t.graph_ref())).collect()
    }
}

/// Implements [`StackParts`] for tuples of tensors, and of references to tensors, of one
/// shape and element type and any tapes: the stack's tape merges them from the left
/// (`BinaryTape<BinaryTape<T0, T1>, T2>`), the `Merge` bounds being accumulated first.
macro_rules! stack_tuple {
    ($count:literal; $t0:ident $x0:ident $(, $t:ident $x:ident)+) => {
        stack_tuple!(@fold $count; [$t0 $x0 $(, $t $x)+] acc = [$t0]; bounds = []; rest = [$($t)+]);
    };
    (@fold $count:literal; [$($all:tt)*] acc = [$acc:ty]; bounds = [$($bound:tt)*];
        rest = [$next:ident $($rest:ident)*]) => {
        stack_tuple!(@fold $count; [$($all)*] acc = [BinaryTape<$acc, $next>];
            bounds = [$($bound)* $acc: Merge<$next>,]; rest = [$($rest)*]);
    };
    (@fold $count:literal; [$($t:ident $x:ident),+] acc = [$acc:ty]; bounds = [$($bound:tt)*];
        rest = []) => {
        impl<S: Shape, E: Element, $($t: Tape),+> sealed::Sealed for ($(Tensor<S, E, $t>,)+) {}

        impl<S: Stack<$count>, E: Element, $($t: Tape),+> StackParts for ($(Tensor<S, E, $t>,)+)
        where
            $($bound)*
        {
            type Part = S;
            type Output = <S as Stack<$count>>::Output;
            type Elem = E;
            type Tape = $acc;
            const COUNT: usize = $count;

            fn parts(&self) -> Vec<(&Storage<E>, Option<&GraphRef<E>>)> {
                let ($($x,)+) = self;
                vec![$(($x.storage(), $x.graph_ref())),+]
            }
        }

        impl<S: Shape, E: Element, $($t: Tape),+> sealed::Sealed for ($(&Tensor<S, E, $t>,)+) {}

        impl<S: Stack<$count>, E: Element, $($t: Tape),+> StackParts for ($(&Tensor<S, E, $t>,)+)
        where
            $($bound)*
        {
            type Part = S;
            type Output = <S as Stack<$count>>::Output;
            type Elem = E;
            type Tape = $acc;
            const COUNT: usize = $count;

            fn parts(&self) -> Vec<(&Storage<E>, Option<&GraphRef<E>>)> {
                let ($($x,)+) = self;
                vec![$(($x.storage(), $x.graph_ref())),+]
            }
        }
    };
}

stack_tuple!(2; T0 x0, T1 x1);
stack_tuple!(3; T0 x0, T1 x1, T2 x2);
stack_tuple!(4; T0 x0, T1 x1, T2 x2, T3 x3);
stack_tuple!(5; T0 x0, T1 x1, T2 x2, T3 x3, T4 x4);
stack_tuple!(6; T0 x0, T1 x1, T2 x2, T3 x3, T4 x4, T5 x5);
stack_tuple!(7; T0 x0, T1 x1, T2 x2, T3 x3, T4 x4, T5 x5, T6 x6);
stack_tuple!(8; T0 x0, T1 x1, T2 x2, T3 x3, T4 x4, T5 x5, T6 x6, T7 x7);
stack_tuple!(9; T0 x0, T1 x1, T2 x2, T3 x3, T4 x4, T5 x5, T6 x6, T7 x7, T8 x8);
stack_tuple!(10; T0 x0, T1 x1, T2 x2, T3 x3, T4 x4, T5 x5, T6 x6, T7 x7, T8 x8, T9 x9);
stack_tuple!(11; T0 x0, T1 x1, T2 x2, T3 x3, T4 x4, T5 x5, T6 x6, T7 x7, T8 x8, T9 x9, T10 x10);
stack_tuple!(12; T0 x0, T1 x1, T2 x2, T3 x3, T4 x4, T5 x5, T6 x6, T7 x7, T8 x8, T9 x9, T10 x10,
    T11 x11);

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// Tensors of one shape stacked along a new leading axis (PyTorch's `torch.stack`):
    /// N `Rank0` scalars make a `Rank1<N>`, N `Rank1<M>` vectors the rows of a
    /// `Rank2<N, M>`, and so on. The result's shape and tape follow from the parts.
    ///
    /// - An array `[a, b, c]` (or `[&a, &b, &c]`) takes any number of tensors of one tape;
    ///   the result has that tape (`NoGrad` for `Detached` parts).
    /// - A tuple `(a, b, c)` (or `(&a, &b, &c)`) takes 2 to 12 tensors whose tapes may
    ///   differ, such as tracked values with constants: the result is `Tracked` if any
    ///   part is, and constants receive no gradient.
    ///
    /// Parts of different shapes do not compile, and neither does an empty array (PyTorch
    /// rejects both at run time). The gradient of each part is its slice of the result's
    /// gradient. The graph records the stack as binary joins (a node has at most two
    /// inputs), all named `StackBackward0`.
    ///
    /// ```
    /// use typegrad::gradcheck::{gradcheck, Tolerance};
    /// use typegrad::prelude::*;
    /// let x = Tensor::<Rank0, f64>::full(0.5).track();
    /// let y = Tensor::<Rank0, f64>::full(2.0).track();
    /// // Tracked scalars into a vector.
    /// let v: Tensor<Rank1<3>, f64, Tracked> = Tensor::stack([x.sin(), &x * &y, y.exp()]);
    /// assert_eq!(v.grad_fn().unwrap().name(), "StackBackward0");
    /// // A tuple mixes tapes: a tracked value with a constant.
    /// let w = Tensor::stack((&x * 3.0, Tensor::full(1.0)));
    /// assert_eq!(w.to_array(), [1.5, 1.0]);
    /// assert_eq!(w.sum().backward().get(&x).unwrap().item(), 3.0);
    /// // Vectors into the rows of a matrix.
    /// let ones = Tensor::<Rank1<3>, f32>::ones();
    /// let rows: Tensor<Rank2<2, 3>, f32> = Tensor::stack([ones, Tensor::zeros()]);
    /// assert_eq!(rows.to_array(), [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]);
    /// let inputs = (Tensor::<Rank0, f64>::full(0.5), Tensor::<Rank0, f64>::full(-1.5));
    /// gradcheck(|(a, b)| Tensor::stack([a * b, a.sin(), b.exp()]), &inputs, Tolerance::default())
    ///     .unwrap();
    /// ```
    pub fn stack<P>(parts: P) -> Self
    where
        P: StackParts<Output = S, Elem = E, Tape = T>,
    {
        const { check_stack(P::COUNT, <P::Part as Shape>::DIMS) };
        let parts = parts.parts();
        let operands: Vec<Operand<'_, E>> = parts
            .iter()
            .map(|&(data, place)| Operand {
                data,
                place,
                dims: <P::Part as Shape>::DIMS,
            })
            .collect();
        Tensor::from_var(stack(&operands, <P::Part as Shape>::NUM_ELEMENTS))
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use alloc::vec;

    #[test]
    fn reshape_shares_storage_and_passes_gradients() {
        let m = Tensor::from_array([[1.0f64, 2.0], [3.0, 4.0]]).track();
        let v: Tensor<Rank1<4>, f64, Tracked> = m.reshape();
        assert_eq!(v.grad_fn().unwrap().name(), "ViewBackward0");
        let w = Tensor::from_array([1.0f64, 2.0, 3.0, 4.0]);
        let g = (&v * &w).sum().backward().get(&m).unwrap().to_vec();
        assert_eq!(g, vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn unsqueeze_shares_storage_and_passes_gradients() {
        // 100 f64 values are past the inline limit: a shared buffer, not copied.
        let v = Tensor::<Rank1<100>, f64>::from_fn(|k| k as f64).track();
        let column: Tensor<Rank2<100, 1>, f64, Tracked> = v.unsqueeze::<1>();
        assert_eq!(column.as_slice().as_ptr(), v.as_slice().as_ptr());
        let w = Tensor::<Rank2<100, 1>, f64>::from_fn(|k| 2.0 * k as f64);
        let g = (&column * &w).sum().backward().get(&v).unwrap();
        assert_eq!(g.as_slice()[7], 14.0);
        let s: Tensor<Rank1<1>, f64> = Tensor::<Rank0, f64>::full(3.0).unsqueeze::<0>();
        assert_eq!(s.to_array(), [3.0]);
        let x = Tensor::<Rank3<2, 3, 4>, f64>::zeros();
        let _: Tensor<Rank4<1, 2, 3, 4>, f64> = x.unsqueeze::<0>();
        let _: Tensor<Rank4<2, 1, 3, 4>, f64> = x.unsqueeze::<1>();
        let _: Tensor<Rank4<2, 3, 1, 4>, f64> = x.unsqueeze::<2>();
        let _: Tensor<Rank4<2, 3, 4, 1>, f64> = x.unsqueeze::<3>();
    }

    #[test]
    fn permute_matches_index_arithmetic() {
        let x = Tensor::<Rank3<2, 3, 4>, f64>::from_fn(|i| i as f64);
        let y = x.permute::<2, 0, 1>();
        // y[k][a][b] = x[a][b][k]
        for k in 0..4 {
            for a in 0..2 {
                for b in 0..3 {
                    assert_eq!(
                        y.as_slice()[(k * 2 + a) * 3 + b],
                        x.as_slice()[(a * 3 + b) * 4 + k]
                    );
                }
            }
        }
        let z = Tensor::<Rank4<2, 3, 4, 5>, f64>::from_fn(|i| i as f64).permute::<3, 1, 0, 2>();
        let _: &Tensor<Rank4<5, 3, 2, 4>, f64> = &z;
        // z[0][0][0][1] = x[0][0][1][0]
        assert_eq!(z.as_slice()[1], 5.0);
    }

    #[test]
    fn broadcast_gradient_sums_the_copies() {
        let col = Tensor::from_array([[1.0f64], [2.0]]).track();
        let m: Tensor<Rank3<2, 2, 3>, f64, Tracked> = col.broadcast();
        assert_eq!(m.as_slice()[3], 2.0);
        let g = m.sum().backward().get(&col).unwrap().to_vec();
        assert_eq!(g, vec![6.0, 6.0]);
    }

    #[test]
    fn concat_along_inner_axis_and_gradients() {
        let a = Tensor::from_array([[1.0f64], [2.0]]).track();
        let b = Tensor::from_array([[3.0f64, 4.0], [5.0, 6.0]]).track();
        let c: Tensor<Rank2<2, 3>, f64, Tracked> = a.concat::<1, _, _, _>(&b);
        assert_eq!(c.to_vec(), vec![1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
        let w = Tensor::<Rank2<2, 3>, f64>::from_fn(|i| i as f64);
        let grads = (&c * &w).sum().backward();
        assert_eq!(grads.get(&a).unwrap().to_vec(), vec![0.0, 3.0]);
        assert_eq!(grads.get(&b).unwrap().to_vec(), vec![1.0, 2.0, 4.0, 5.0]);
    }

    #[test]
    fn select_and_narrow_gradients_land_in_place() {
        let m = Tensor::<Rank2<3, 2>, f64>::from_fn(|i| i as f64).track();
        let row = m.select::<0>(1).unwrap();
        assert_eq!(row.to_vec(), vec![2.0, 3.0]);
        let g = row.sum().backward().get(&m).unwrap().to_vec();
        assert_eq!(g, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        let part: Tensor<Rank2<2, 2>, f64, Tracked> = m.narrow::<0, 1, 2>();
        let g = part.sum().backward().get(&m).unwrap().to_vec();
        assert_eq!(g, vec![0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn stack_puts_parts_in_order_and_sends_each_its_slice_of_the_gradient() {
        let parts: [Tensor<Rank0, f64, Tracked>; 5] =
            core::array::from_fn(|k| Tensor::full(k as f64).track());
        let v: Tensor<Rank1<5>, f64, Tracked> = Tensor::stack(parts.clone());
        assert_eq!(v.to_array(), [0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(v.grad_fn().unwrap().name(), "StackBackward0");
        let w = Tensor::from_array([10.0, 20.0, 30.0, 40.0, 50.0]);
        let grads = (&v * &w).sum().backward();
        for (k, part) in parts.iter().enumerate() {
            assert_eq!(grads.get(part).unwrap().item(), 10.0 * (k + 1) as f64);
        }
        // References, and one part alone (a node of its own all the same).
        let refs: Tensor<Rank1<2>, f64, Tracked> = Tensor::stack([&parts[4], &parts[1]]);
        assert_eq!(refs.to_array(), [4.0, 1.0]);
        let one = Tensor::stack([parts[3].clone()]);
        assert_eq!(one.to_array(), [3.0]);
        assert_eq!(one.grad_fn().unwrap().name(), "StackBackward0");
    }

    #[test]
    fn stack_of_vectors_makes_rows_and_tuples_mix_tapes() {
        let a = Tensor::from_array([1.0f64, 2.0]).track();
        let b = Tensor::from_array([3.0f64, 4.0]);
        let c = Tensor::from_array([5.0f64, 6.0]).detach();
        let m: Tensor<Rank2<3, 2>, f64, Tracked> = Tensor::stack((&a, &b, &c));
        assert_eq!(m.to_array(), [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
        let g = (&m * &m).sum().backward().get(&a).unwrap().to_vec();
        assert_eq!(g, vec![2.0, 4.0]);
        // Untracked parts only: a plain value, also from `Detached` parts.
        let plain: Tensor<Rank2<2, 2>, f64, NoGrad> = Tensor::stack([c.clone(), c]);
        assert_eq!(plain.to_vec(), vec![5.0, 6.0, 5.0, 6.0]);
        let constants: Tensor<Rank2<2, 2>, f64, NoGrad> = Tensor::stack((b.clone(), b));
        assert_eq!(constants.to_vec(), vec![3.0, 4.0, 3.0, 4.0]);
        // The tracked part last, behind constants, in a tuple of twelve.
        let x = Tensor::<Rank0, f64>::full(7.0).track();
        let k = || Tensor::<Rank0, f64>::full(1.0);
        let v = Tensor::stack((
            k(),
            k(),
            k(),
            k(),
            k(),
            k(),
            k(),
            k(),
            k(),
            k(),
            k(),
            &x * 2.0,
        ));
        let _: &Tensor<Rank1<12>, f64, Tracked> = &v;
        assert_eq!(v.as_slice()[11], 14.0);
        assert_eq!(v.sum().backward().get(&x).unwrap().item(), 2.0);
    }

    #[test]
    fn stack_gradients_of_gradients_unbind_the_gradient() {
        let x = Tensor::<Rank0, f64>::full(3.0).track();
        let v: Tensor<Rank1<2>, f64, Tracked> = Tensor::stack([x.powf(2.0), x.clone()]);
        let g = v.sum().backward_create_graph().unwrap().get(&x).unwrap();
        assert_eq!(g.item(), 7.0);
        assert_eq!(g.backward().get(&x).unwrap().item(), 2.0);
    }

    #[test]
    fn at_reads_one_element_and_its_gradient_lands_there() {
        let v = Tensor::from_array([1.0f64, 2.0, 3.0]).track();
        let g = (v.at::<1>() * 5.0).backward().get(&v).unwrap().to_vec();
        assert_eq!(g, vec![0.0, 5.0, 0.0]);
        let m = Tensor::<Rank2<2, 3>, f64>::from_fn(|k| k as f64).track();
        let e = m.at::<1, 2>();
        assert_eq!(e.item(), 5.0);
        assert_eq!(e.grad_fn().unwrap().name(), "SelectBackward0");
        let g = e.backward().get(&m).unwrap().to_vec();
        assert_eq!(g, vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn permute_of_a_matrix_is_its_transpose_or_itself() {
        let m = Tensor::<Rank2<2, 3>, f64>::from_fn(|k| k as f64).track();
        let p: Tensor<Rank2<3, 2>, f64, Tracked> = m.permute::<1, 0>();
        assert_eq!(p.to_vec(), m.t().to_vec());
        assert_eq!(p.grad_fn().unwrap().name(), "PermuteBackward0");
        let same: Tensor<Rank2<2, 3>, f64, Tracked> = m.permute::<0, 1>();
        assert_eq!(same.to_vec(), m.to_vec());
    }

    #[test]
    fn tril_and_triu_of_wide_tall_and_batched_matrices() {
        let wide = Tensor::<Rank2<2, 4>, f64>::ones();
        assert_eq!(
            wide.tril(1).to_array(),
            [[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]]
        );
        assert_eq!(
            wide.triu(2).to_array(),
            [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]]
        );
        let tall = Tensor::<Rank2<3, 2>, f64>::ones();
        assert_eq!(
            tall.triu(-1).to_array(),
            [[1.0, 1.0], [1.0, 1.0], [0.0, 1.0]]
        );
        // Diagonals past the matrix keep everything or nothing, at the extremes too.
        assert_eq!(tall.tril(isize::MAX).to_vec(), vec![1.0; 6]);
        assert_eq!(tall.tril(isize::MIN).to_vec(), vec![0.0; 6]);
        assert_eq!(tall.triu(isize::MIN).to_vec(), vec![1.0; 6]);
        assert_eq!(tall.triu(3).to_vec(), vec![0.0; 6]);
        let batch = Tensor::<Rank4<2, 1, 2, 2>, f64>::from_fn(|k| k as f64 + 1.0).track();
        let upper = batch.triu(0);
        assert_eq!(upper.to_vec(), vec![1.0, 2.0, 0.0, 4.0, 5.0, 6.0, 0.0, 8.0]);
        let g = upper.sum().backward().get(&batch).unwrap().to_vec();
        assert_eq!(g, vec![1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0]);
    }
}
