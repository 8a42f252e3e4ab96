//! Pictures of the backward graph in Graphviz's DOT language, drawn as torchviz's
//! `make_dot` draws PyTorch's: one box per backward function, named as `grad_fn` names
//! it; each leaf a light blue box (its name, then its shape) feeding its own
//! `AccumulateGrad`; the output a dark olive green box with its shape.
//!
//! Boxes are numbered depth-first from the output, inputs left to right, each after its
//! inputs. The arena's order would be simpler to walk, but after two graphs merge it
//! depends on which graph was larger and, for equal sizes, on heap addresses; the
//! walk's order depends only on the computation, so one program draws one picture.
//!
//! The walk keeps its own stack (a chain of any length is drawn) and locks one graph at
//! a time: a cast's source lives in a graph of the other element type, so the cast
//! queues it on a work list, drawn once the current graph is unlocked, as the backward
//! pass crosses casts.

use alloc::boxed::Box;
use alloc::collections::btree_map::Entry;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use core::any::Any;
use core::fmt::Write as _;

use crate::element::Element;
use crate::ops::cast::Source;
use crate::ops::Op;
use crate::shape::Shape;
use crate::tape::graph::{with_live, Graph, GraphRef, LeafId, Node, Place, ThreadLocalGraph};
use crate::tape::{Backprop, Tape};
use crate::tensor::Tensor;

/// torchviz's attributes for the whole picture and for every box, in the order Python's
/// `graphviz` package writes them, so a DOT file diffs cleanly against torchviz's.
const HEADER: &str = "digraph {\n\
    \tgraph [size=\"12,12\"]\n\
    \tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]\n";

/// The fill of a leaf's box (torchviz: a parameter).
const LEAF_FILL: &str = "lightblue";

/// The fill of the output's box.
const OUTPUT_FILL: &str = "darkolivegreen1";

impl<S: Shape, E: Element, T: Tape> Tensor<S, E, T> {
    /// The graph that `backward` would traverse from this tensor, as Graphviz DOT text,
    /// drawn as [torchviz](https://github.com/szagoruyko/pytorchviz)'s `make_dot` draws
    /// PyTorch's: a box per backward function with its PyTorch name (`AddBackward0`,
    /// `AccumulateGrad`; a custom operation's own name), each tracked leaf a light blue
    /// box (its [`named`](Self::named) name, then its shape such as `(5, 3)`) feeding
    /// its `AccumulateGrad`, and the output a dark olive green box with its shape. A
    /// leaf used several times is drawn once, with an edge per use. A cast
    /// (`ToCopyBackward0`) is drawn with the graph of the other element type behind it.
    ///
    /// Boxes are numbered `n0`, `n1`, ... depth-first from the output, inputs left to
    /// right, so the same computation always gives the same text, however its graphs
    /// were merged. Render it with `dot -Tsvg graph.dot -o graph.svg` (Debian package
    /// `graphviz`). On a leaf the picture is the leaf's box alone.
    ///
    /// Only `Tracked` tensors have a graph to draw; on `NoGrad` or `Detached` tensors
    /// this does not compile.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<Rank1<3>, f32>::ones().track().named("x");
    /// let y = (&x * &x).sum();
    /// let dot = y.to_dot();
    /// assert!(dot.starts_with("digraph {\n"));
    /// assert!(dot.contains("\tn0 [label=\"x\\n(3)\" fillcolor=lightblue]\n"));
    /// assert!(dot.contains("\tn2 [label=\"MulBackward0\"]\n"));
    /// assert_eq!(dot.matches("\tn1 -> n2\n").count(), 2); // x is used twice
    /// assert!(dot.contains("\tn4 [label=\"()\" fillcolor=darkolivegreen1]\n"));
    /// ```
    pub fn to_dot(&self) -> String
    where
        T: Backprop,
    {
        let mut drawing = Drawing::default();
        let leaf_name = match self.graph_ref() {
            Some(node @ GraphRef(Place::Node { .. }, _)) => {
                let root = drawing.draw_value(node, S::DIMS);
                drawing.draw_casts();
                let shape = value_label(None, S::DIMS, S::NUM_ELEMENTS);
                let output = drawing.new_box(&shape, Some(OUTPUT_FILL));
                if let Some(root) = root {
                    drawing.edge(root, output);
                }
                return drawing.finish();
            }
            Some(GraphRef(Place::Leaf { name, .. }, _)) => name.as_deref().map(String::as_str),
            // `Backprop` admits only `Tracked`, whose tensors always have a place.
            None => None,
        };
        let label = value_label(leaf_name, S::DIMS, S::NUM_ELEMENTS);
        drawing.new_box(&label, Some(LEAF_FILL));
        drawing.finish()
    }

    /// This leaf with `name`, shown above its shape in [`to_dot`](Self::to_dot)'s
    /// pictures (torchviz's `params` argument). It is the same leaf: same storage, same
    /// gradient, so [`crate::Gradients::get`] answers for it and for the unnamed tensor
    /// alike. Name a leaf before using it: the name travels with the uses of the named
    /// tensor. On a value computed by an operation, which is no leaf, the tensor is
    /// returned unchanged (PyTorch's pictures name parameters only).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let w = Tensor::<Rank1<2>, f32>::ones().track();
    /// let named = w.named("w");
    /// let grads = (&named * 3.0).sum().backward();
    /// assert_eq!(grads.get(&w).unwrap().to_vec(), vec![3.0, 3.0]);
    /// assert_eq!(grads.get(&named).unwrap().to_vec(), vec![3.0, 3.0]);
    /// assert!(named.to_dot().contains("label=\"w\\n(2)\""));
    /// ```
    pub fn named(&self, name: impl Into<String>) -> Self
    where
        T: Backprop,
    {
        match self.graph_ref() {
            Some(place) => Tensor::from_parts(
                self.storage().clone(),
                T::handle_from(Some(place.with_name(name.into())), S::NUM_ELEMENTS),
            ),
            None => self.clone(),
        }
    }
}

/// A picture being drawn: the DOT lines so far, and what has been drawn already, so
/// that a value reached twice (a shared subexpression, a leaf used twice, a source read
/// by two casts) is drawn once.
#[derive(Default)]
pub(crate) struct Drawing {
    body: String,
    next_id: usize,
    /// Nodes of graphs by (address of their live cell, index): being drawn, or drawn
    /// as the box given. The address only tells graphs apart; ids never depend on it.
    nodes: BTreeMap<(usize, u32), Visit>,
    /// Each leaf's `AccumulateGrad` box: one per leaf, whatever its number of uses.
    leaves: BTreeMap<LeafId, usize>,
    /// Casts whose sources are still to draw, with the cast's box.
    casts: VecDeque<Box<dyn PendingCast>>,
    /// The cells whose addresses key `nodes`, held so that no address is reused by
    /// another graph while the picture is drawn.
    cells: Vec<Rc<dyn Any>>,
}

/// Where the walk stands with a node.
#[derive(Clone, Copy)]
enum Visit {
    /// Its inputs are being drawn.
    Open,
    /// Drawn as this box.
    Drawn(usize),
}

/// A cast whose source, in a graph of another element type, is drawn later.
trait PendingCast {
    fn draw(&self, drawing: &mut Drawing);
}

/// A cast to `E`: its source (node `from` of the other arena of `cell`'s graph) and its
/// box.
struct CastEdge<E: Element> {
    source: &'static dyn Source<E>,
    cell: Rc<ThreadLocalGraph>,
    from: u32,
    cast: usize,
}

impl<E: Element> PendingCast for CastEdge<E> {
    fn draw(&self, drawing: &mut Drawing) {
        if let Some(source) = self.source.draw(&self.cell, self.from, drawing) {
            drawing.edge(source, self.cast);
        }
    }
}

impl Drawing {
    /// Draws `value` (of shape `dims`) and everything it depends on in its graph; casts
    /// met on the way are queued. Returns the box edges from `value` start at: its
    /// `AccumulateGrad` for a leaf.
    pub(crate) fn draw_value<E: Element>(
        &mut self,
        value: &GraphRef<E>,
        dims: &[usize],
    ) -> Option<usize> {
        match &value.0 {
            Place::Leaf { id, len, name } => {
                Some(self.leaf(*id, name.as_deref().map(String::as_str), dims, *len))
            }
            Place::Node { cell, index } => with_live::<E, _>(cell, *index, |cell, graph, root| {
                self.draw_graph(cell, graph, root)
            }),
        }
    }

    /// Draws the sources of queued casts, and the casts those sources depend on, each
    /// with the graph of its element type unlocked in between.
    fn draw_casts(&mut self) {
        while let Some(cast) = self.casts.pop_front() {
            cast.draw(self);
        }
    }

    /// Draws node `root` of `graph` and what it depends on there, children first, with
    /// an explicit stack: a chain of any length is drawn without deepening the call
    /// stack.
    fn draw_graph<E: Element>(
        &mut self,
        cell: &Rc<ThreadLocalGraph>,
        graph: &Graph<E>,
        root: u32,
    ) -> Option<usize> {
        // Each arena of a graph is told apart by its element type.
        let graph_key = 2 * (Rc::as_ptr(cell) as usize) + E::ARENA;
        self.cells.push(Rc::clone(cell) as Rc<dyn Any>);
        let mut stack = vec![(root, false)];
        while let Some((index, inputs_drawn)) = stack.pop() {
            let Some(node) = graph.node(index) else {
                continue;
            };
            if inputs_drawn {
                let id = self.draw_node(cell, node);
                let inputs = node.parents.map(|parent| match parent {
                    Some(parent) => match self.nodes.get(&(graph_key, parent)) {
                        Some(Visit::Drawn(input)) => Some(*input),
                        _ => None,
                    },
                    None => None,
                });
                for input in inputs.into_iter().flatten() {
                    self.edge(input, id);
                }
                self.nodes.insert((graph_key, index), Visit::Drawn(id));
            } else if let Entry::Vacant(unseen) = self.nodes.entry((graph_key, index)) {
                unseen.insert(Visit::Open);
                stack.push((index, true));
                // Pushed last, popped first: inputs are drawn left to right.
                for parent in node.parents.iter().rev().flatten() {
                    if !self.nodes.contains_key(&(graph_key, *parent)) {
                        stack.push((*parent, false));
                    }
                }
            }
        }
        match self.nodes.get(&(graph_key, root)) {
            Some(Visit::Drawn(id)) => Some(*id),
            _ => None,
        }
    }

    /// Draws one node whose inputs are drawn; returns its box.
    fn draw_node<E: Element>(&mut self, cell: &Rc<ThreadLocalGraph>, node: &Node<E>) -> usize {
        match &node.op {
            Op::Leaf(leaf) => self.leaf(
                leaf.id,
                leaf.name.as_deref().map(String::as_str),
                leaf.dims,
                node.len,
            ),
            Op::Cast(cast) => {
                let id = self.new_box(&escape(cast.name()), None);
                self.casts.push_back(Box::new(CastEdge {
                    source: cast.source,
                    cell: Rc::clone(cell),
                    from: cast.from,
                    cast: id,
                }));
                id
            }
            op => self.new_box(&escape(op.name()), None),
        }
    }

    /// The leaf `id`'s box and its `AccumulateGrad`, drawn at its first use; returns
    /// the `AccumulateGrad`, from which every use's edge starts.
    fn leaf(&mut self, id: LeafId, name: Option<&str>, dims: &[usize], len: usize) -> usize {
        if let Some(&accumulate) = self.leaves.get(&id) {
            return accumulate;
        }
        let value = self.new_box(&value_label(name, dims, len), Some(LEAF_FILL));
        let accumulate = self.new_box("AccumulateGrad", None);
        self.edge(value, accumulate);
        self.leaves.insert(id, accumulate);
        accumulate
    }

    /// A new box labelled `label` (already escaped); returns its id.
    fn new_box(&mut self, label: &str, fill: Option<&str>) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        // Writing to a `String` cannot fail.
        let _ = write!(self.body, "\tn{id} [label=\"{label}\"");
        if let Some(fill) = fill {
            let _ = write!(self.body, " fillcolor={fill}");
        }
        self.body.push_str("]\n");
        id
    }

    fn edge(&mut self, from: usize, to: usize) {
        let _ = writeln!(self.body, "\tn{from} -> n{to}");
    }

    fn finish(self) -> String {
        format!("{HEADER}{}}}\n", self.body)
    }
}

/// A value's label, escaped: its name on the first line if it has one, then its shape.
/// `dims` that do not account for `len` elements (a value whose dimensions were not
/// recorded) give way to the element count, so a label never states a wrong shape.
fn value_label(name: Option<&str>, dims: &[usize], len: usize) -> String {
    let flat = [len];
    let counted = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let dims = if counted == Some(len) { dims } else { &flat };
    let shape = shape_text(dims);
    match name {
        Some(name) => format!("{}\\n{shape}", escape(name)),
        None => shape,
    }
}

/// A shape as torchviz writes it: `(5, 3)`, `(3)`, `()`.
fn shape_text(dims: &[usize]) -> String {
    let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
    format!("({})", dims.join(", "))
}

/// `text` made safe inside a quoted DOT label: a quote or a backslash cannot end the
/// string or start an escape of Graphviz's, a newline becomes a line break of the
/// label, a carriage return is dropped (so `\r\n` is one break) and any other control
/// character becomes a space.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => escaped.push(' '),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custom::{Custom, CustomOp};
    use crate::prelude::*;

    /// The DOT text around `body`.
    fn dot(body: &str) -> String {
        format!("{HEADER}{body}}}\n")
    }

    #[test]
    fn a_leaf_alone_is_one_light_blue_box() {
        let x = Tensor::<Rank2<2, 3>, f32>::ones().track();
        assert_eq!(
            x.to_dot(),
            dot("\tn0 [label=\"(2, 3)\" fillcolor=lightblue]\n")
        );
        assert_eq!(
            x.named("x").to_dot(),
            dot("\tn0 [label=\"x\\n(2, 3)\" fillcolor=lightblue]\n")
        );
    }

    #[test]
    fn a_leaf_used_twice_is_drawn_once_with_an_edge_per_use() {
        let x = Tensor::<Rank1<3>, f64>::ones().track().named("x");
        let y = &x * &x;
        assert_eq!(
            y.to_dot(),
            dot("\tn0 [label=\"x\\n(3)\" fillcolor=lightblue]\n\
                 \tn1 [label=\"AccumulateGrad\"]\n\
                 \tn0 -> n1\n\
                 \tn2 [label=\"MulBackward0\"]\n\
                 \tn1 -> n2\n\
                 \tn1 -> n2\n\
                 \tn3 [label=\"(3)\" fillcolor=darkolivegreen1]\n\
                 \tn2 -> n3\n")
        );
    }

    #[test]
    fn a_shared_subexpression_is_drawn_once() {
        let x = Tensor::<Rank1<2>, f32>::ones().track();
        let e = x.exp();
        let y = (&e + &e.sin()).sum();
        assert_eq!(
            y.to_dot(),
            dot("\tn0 [label=\"(2)\" fillcolor=lightblue]\n\
                 \tn1 [label=\"AccumulateGrad\"]\n\
                 \tn0 -> n1\n\
                 \tn2 [label=\"ExpBackward0\"]\n\
                 \tn1 -> n2\n\
                 \tn3 [label=\"SinBackward0\"]\n\
                 \tn2 -> n3\n\
                 \tn4 [label=\"AddBackward0\"]\n\
                 \tn2 -> n4\n\
                 \tn3 -> n4\n\
                 \tn5 [label=\"SumBackward0\"]\n\
                 \tn4 -> n5\n\
                 \tn6 [label=\"()\" fillcolor=darkolivegreen1]\n\
                 \tn5 -> n6\n")
        );
    }

    /// `exp(a) * sin(b)`, with a dead branch on the graph of `a` (`a_first`) or of `b`,
    /// so that the merge appends the other graph to it: the arena orders differ. Returns
    /// the picture and whether `exp(a)` comes before `sin(b)` in the arena.
    fn product_with_dead_branch(a_first: bool) -> (String, bool) {
        let a = Tensor::<Rank1<2>, f32>::ones().track().named("a");
        let b = Tensor::<Rank1<2>, f32>::ones().track().named("b");
        let (ea, sb) = if a_first {
            let ea = a.exp();
            let _dead = (&ea * 2.0, &ea * 3.0);
            (ea, b.sin())
        } else {
            let sb = b.sin();
            let _dead = (&sb * 2.0, &sb * 3.0);
            (a.exp(), sb)
        };
        let product = &ea * &sb;
        let index = |t: &Tensor<Rank1<2>, f32, Tracked>| match t.graph_ref().map(|r| &r.0) {
            Some(Place::Node { cell, index }) => crate::tape::graph::resolve::<f32>(cell, *index).1,
            _ => u32::MAX,
        };
        (product.to_dot(), index(&ea) < index(&sb))
    }

    #[test]
    fn ids_do_not_depend_on_the_merge_order() {
        let expected = dot("\tn0 [label=\"a\\n(2)\" fillcolor=lightblue]\n\
             \tn1 [label=\"AccumulateGrad\"]\n\
             \tn0 -> n1\n\
             \tn2 [label=\"ExpBackward0\"]\n\
             \tn1 -> n2\n\
             \tn3 [label=\"b\\n(2)\" fillcolor=lightblue]\n\
             \tn4 [label=\"AccumulateGrad\"]\n\
             \tn3 -> n4\n\
             \tn5 [label=\"SinBackward0\"]\n\
             \tn4 -> n5\n\
             \tn6 [label=\"MulBackward0\"]\n\
             \tn2 -> n6\n\
             \tn5 -> n6\n\
             \tn7 [label=\"(2)\" fillcolor=darkolivegreen1]\n\
             \tn6 -> n7\n");
        assert_eq!(product_with_dead_branch(true), (expected.clone(), true));
        assert_eq!(product_with_dead_branch(false), (expected, false));
    }

    #[test]
    fn a_cast_draws_its_source_graph_once() {
        let x = Tensor::<Rank1<2>, f32>::ones().track().named("x");
        let y = &x * 2.0;
        let (c1, c2) = (y.cast::<f64>(), y.cast::<f64>());
        let out = (&c1 + &c2).sum();
        assert_eq!(
            out.to_dot(),
            dot("\tn0 [label=\"ToCopyBackward0\"]\n\
                 \tn1 [label=\"ToCopyBackward0\"]\n\
                 \tn2 [label=\"AddBackward0\"]\n\
                 \tn0 -> n2\n\
                 \tn1 -> n2\n\
                 \tn3 [label=\"SumBackward0\"]\n\
                 \tn2 -> n3\n\
                 \tn4 [label=\"x\\n(2)\" fillcolor=lightblue]\n\
                 \tn5 [label=\"AccumulateGrad\"]\n\
                 \tn4 -> n5\n\
                 \tn6 [label=\"MulBackward0\"]\n\
                 \tn5 -> n6\n\
                 \tn6 -> n0\n\
                 \tn6 -> n1\n\
                 \tn7 [label=\"()\" fillcolor=darkolivegreen1]\n\
                 \tn3 -> n7\n")
        );
    }

    #[test]
    fn a_cast_of_a_leaf_and_back_draws_each_side() {
        let x = Tensor::<Rank1<2>, f32>::ones().track().named("x");
        let back = x.cast::<f64>().exp().cast::<f32>();
        let out = (&back * &x).sum();
        // x's leaf is drawn once, though it is reached through the f32 graph and, via
        // the two casts, as the f64 graph's source.
        assert_eq!(
            out.to_dot(),
            dot("\tn0 [label=\"ToCopyBackward0\"]\n\
                 \tn1 [label=\"x\\n(2)\" fillcolor=lightblue]\n\
                 \tn2 [label=\"AccumulateGrad\"]\n\
                 \tn1 -> n2\n\
                 \tn3 [label=\"MulBackward0\"]\n\
                 \tn0 -> n3\n\
                 \tn2 -> n3\n\
                 \tn4 [label=\"SumBackward0\"]\n\
                 \tn3 -> n4\n\
                 \tn5 [label=\"ToCopyBackward0\"]\n\
                 \tn6 [label=\"ExpBackward0\"]\n\
                 \tn5 -> n6\n\
                 \tn6 -> n0\n\
                 \tn2 -> n5\n\
                 \tn7 [label=\"()\" fillcolor=darkolivegreen1]\n\
                 \tn4 -> n7\n")
        );
    }

    #[test]
    fn user_text_is_escaped() {
        assert_eq!(escape(r#"a "b" \c"#), r#"a \"b\" \\c"#);
        assert_eq!(escape("one\r\ntwo\nthree\tend"), "one\\ntwo\\nthree end");
        let x = Tensor::<Rank0, f32>::full(1.0)
            .track()
            .named("say \"hi\"\\\nbye");
        assert_eq!(
            x.to_dot(),
            dot("\tn0 [label=\"say \\\"hi\\\"\\\\\\nbye\\n()\" fillcolor=lightblue]\n")
        );
    }

    #[test]
    fn a_named_leaf_keeps_its_gradient() {
        let w = Tensor::<Rank1<2>, f32>::from_array([1.0, 2.0]).track();
        let named = w.named("w");
        assert!(named.is_leaf());
        assert_eq!(named, w);
        // Both tensors used in one computation are one leaf: their gradients add.
        let grads = (&named * &w).sum().backward();
        assert_eq!(grads.get(&w).unwrap().to_vec(), vec![2.0, 4.0]);
        assert_eq!(grads.get(&named).unwrap().to_vec(), vec![2.0, 4.0]);
        assert_eq!(grads.len(), 1);
    }

    #[test]
    fn naming_a_computed_value_changes_nothing() {
        let x = Tensor::<Rank1<2>, f32>::ones().track().named("x");
        let y = &x * 2.0;
        let named = y.named("y");
        assert!(!named.is_leaf());
        assert_eq!(named.grad_fn(), y.grad_fn());
        assert_eq!(named.to_dot(), y.to_dot());
        assert!(!named.to_dot().contains("y\\n"));
    }

    /// x³ under a name of the user's.
    struct Cube;

    impl CustomOp<f64> for Cube {
        type Input = Rank1<2>;
        type Output = Rank1<2>;
        fn name(&self) -> &'static str {
            "CubeBackward"
        }
        fn forward(&self, x: &Tensor<Rank1<2>, f64>) -> Tensor<Rank1<2>, f64> {
            x * x * x
        }
        fn vjp(
            &self,
            x: &Tensor<Rank1<2>, f64>,
            _y: &Tensor<Rank1<2>, f64>,
            grad: &Tensor<Rank1<2>, f64>,
        ) -> Tensor<Rank1<2>, f64> {
            grad * &(x * x * 3.0)
        }
    }

    #[test]
    fn a_custom_operation_shows_its_name() {
        let x = Tensor::<Rank1<2>, f64>::ones().track();
        let y = Custom::new(Cube).apply(&x);
        assert_eq!(
            y.to_dot(),
            dot("\tn0 [label=\"(2)\" fillcolor=lightblue]\n\
                 \tn1 [label=\"AccumulateGrad\"]\n\
                 \tn0 -> n1\n\
                 \tn2 [label=\"CubeBackward\"]\n\
                 \tn1 -> n2\n\
                 \tn3 [label=\"(2)\" fillcolor=darkolivegreen1]\n\
                 \tn2 -> n3\n")
        );
    }

    #[test]
    fn shapes_are_written_as_torchviz_writes_them() {
        assert_eq!(shape_text(&[]), "()");
        assert_eq!(shape_text(&[3]), "(3)");
        assert_eq!(shape_text(&[5, 3]), "(5, 3)");
        assert_eq!(shape_text(&[1, 2, 3, 4]), "(1, 2, 3, 4)");
        // Dimensions that do not count the elements are not trusted.
        assert_eq!(value_label(None, &[], 6), "(6)");
        assert_eq!(value_label(Some("w"), &[2, 3], 6), "w\\n(2, 3)");
        let x = Tensor::<Rank4<1, 2, 1, 2>, f32>::ones().track();
        assert!(x.to_dot().contains("label=\"(1, 2, 1, 2)\""));
    }

    #[test]
    fn a_chain_of_100_001_operations_is_drawn() {
        let x = Tensor::<Rank1<2>, f32>::ones().track();
        let mut y = &x * 1.0;
        for _ in 0..100_000 {
            y = &y * 1.0;
        }
        let dot = y.to_dot();
        // The leaf, its AccumulateGrad, the operations and the output.
        assert_eq!(dot.matches(" [label=").count(), 100_004);
        assert_eq!(dot.matches(" -> ").count(), 100_003);
        assert!(dot.contains("\tn100002 [label=\"MulBackward0\"]\n\tn100001 -> n100002\n"));
        assert!(dot.ends_with(
            "\tn100003 [label=\"(2)\" fillcolor=darkolivegreen1]\n\tn100002 -> n100003\n}\n"
        ));
    }

    #[test]
    fn a_graph_ref_is_three_words_with_a_name() {
        assert_eq!(core::mem::size_of::<GraphRef<f32>>(), 24);
        assert_eq!(core::mem::size_of::<GraphRef<f64>>(), 24);
    }
}
