//! Graphviz pictures: the PyTorch tutorial's graph (seed 002) as torchviz draws it, parsed
//! and drawn by layout-rs (pure Rust, so `cargo test` needs nothing but Rust), and rendered
//! by Graphviz's own `dot` in a test CI runs with `--ignored` after installing Graphviz:
//! the text is not only pinned but valid DOT.

use std::process::Command;

use layout::backends::svg::SVGWriter;
use layout::gv::{DotParser, GraphBuilder};
use typegrad::prelude::*;

/// The tutorial's loss: `z = x·w + b`, binary cross-entropy with logits against zeros.
fn tutorial_loss() -> Tensor<Rank0, f32, Tracked> {
    let mut rng = seeded_rng(0);
    let x = Tensor::<Rank1<5>, f32>::ones();
    let y = Tensor::<Rank1<3>, f32>::zeros();
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng)
        .track()
        .named("w");
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng).track().named("b");
    let z = x.matmul(&w) + &b;
    z.bce_with_logits(&y)
}

/// torchviz's `make_dot(loss, params={"w": w, "b": b})` for the tutorial, box for box
/// (its ids are Python object ids; ours count from the output's inputs).
const TUTORIAL_DOT: &str = r#"digraph {
	graph [size="12,12"]
	node [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]
	n0 [label="w\n(5, 3)" fillcolor=lightblue]
	n1 [label="AccumulateGrad"]
	n0 -> n1
	n2 [label="SqueezeBackward4"]
	n1 -> n2
	n3 [label="b\n(3)" fillcolor=lightblue]
	n4 [label="AccumulateGrad"]
	n3 -> n4
	n5 [label="AddBackward0"]
	n2 -> n5
	n4 -> n5
	n6 [label="BinaryCrossEntropyWithLogitsBackward0"]
	n5 -> n6
	n7 [label="()" fillcolor=darkolivegreen1]
	n6 -> n7
}
"#;

#[test]
fn the_tutorial_graph_is_drawn_as_torchviz_draws_it() {
    assert_eq!(tutorial_loss().to_dot(), TUTORIAL_DOT);
}

/// `dot` parsed and drawn by layout-rs: its SVG, after checking that every statement
/// of `dot` became a box or an arrow. layout-rs gives boxes no `<title>`, so the
/// boxes are counted and the labels looked for.
fn layout_svg(dot: &str) -> String {
    let mut parser = DotParser::new(dot);
    let ast = match parser.process() {
        Ok(ast) => ast,
        Err(e) => panic!("layout-rs cannot parse the picture ({e}):\n{dot}"),
    };
    let mut builder = GraphBuilder::new();
    builder.visit_graph(&ast);
    let mut graph = builder.get();
    let boxes = dot.matches(" [label=").count();
    assert_eq!(graph.num_nodes(), boxes, "boxes in\n{dot}");
    let mut svg = SVGWriter::new();
    graph.do_it(false, false, false, &mut svg);
    let svg = svg.finalize();
    assert_eq!(
        svg.matches("marker-end=\"url(#endarrow)\"").count(),
        dot.matches(" -> ").count(),
        "arrows in\n{dot}"
    );
    // The header's box attributes reached every box: a misread header would leave
    // layout-rs's own 14px font (which its empty arrow labels keep, class a14).
    assert!(svg.contains(".a10 { font-size: 10px;"), "font in\n{svg}");
    assert_eq!(
        svg.matches("class=\"a10\"").count(),
        boxes,
        "font in\n{svg}"
    );
    svg
}

/// Asserts that each label is a line of text in `svg` (layout-rs writes each line of a
/// label as a `<tspan>`).
fn assert_labels(svg: &str, labels: &[&str]) {
    for label in labels {
        assert!(
            svg.contains(&format!(">{label}<")),
            "label {label} in\n{svg}"
        );
    }
}

/// layout-rs draws X11's `lightblue` as its RGB value; `darkolivegreen1` (the output's
/// fill) is not among its colours and comes out black, so only the Graphviz test
/// checks that one.
const LIGHTBLUE_FILL: &str = "fill=\"#add8e6ff\"";

#[test]
fn the_tutorial_graph_is_valid_dot_for_layout_rs() {
    let svg = layout_svg(&tutorial_loss().to_dot());
    assert_labels(
        &svg,
        &[
            "w",
            "(5, 3)",
            "AccumulateGrad",
            "SqueezeBackward4",
            "b",
            "(3)",
            "AddBackward0",
            "BinaryCrossEntropyWithLogitsBackward0",
            "()",
        ],
    );
    assert_eq!(svg.matches(LIGHTBLUE_FILL).count(), 2);
}

/// A cast from f32 to f64 and back: the f64 graph is drawn behind the casts.
#[test]
fn a_graph_with_casts_is_valid_dot_for_layout_rs() {
    let x = Tensor::<Rank1<2>, f32>::ones().track().named("x");
    let back = x.cast::<f64>().exp().cast::<f32>();
    let dot = (&back * &x).sum().to_dot();
    assert_eq!(dot.matches("ToCopyBackward0").count(), 2, "{dot}");
    let svg = layout_svg(&dot);
    assert_labels(
        &svg,
        &[
            "ToCopyBackward0",
            "x",
            "(2)",
            "AccumulateGrad",
            "ExpBackward0",
            "MulBackward0",
            "SumBackward0",
            "()",
        ],
    );
    assert_eq!(svg.matches(LIGHTBLUE_FILL).count(), 1);
}

/// Two leaves' graphs merged by a product, one with a dead branch, and a value used
/// twice by one operation (two edges between the same boxes).
#[test]
fn a_merged_graph_is_valid_dot_for_layout_rs() {
    let a = Tensor::<Rank1<2>, f64>::ones().track().named("a");
    let b = Tensor::<Rank1<2>, f64>::ones().track().named("b");
    let ea = a.exp();
    let _dead = &ea * 2.0;
    let square = &ea * &ea;
    let product = &square * &b.sin();
    let svg = layout_svg(&product.to_dot());
    assert_labels(
        &svg,
        &[
            "a",
            "b",
            "(2)",
            "AccumulateGrad",
            "ExpBackward0",
            "SinBackward0",
            "MulBackward0",
        ],
    );
    assert_eq!(svg.matches(LIGHTBLUE_FILL).count(), 2);
}

/// A name with quotes, a backslash and a line break is escaped into one valid label.
#[test]
fn an_escaped_name_is_valid_dot_for_layout_rs() {
    let x = Tensor::<Rank1<2>, f32>::ones()
        .track()
        .named("say \"hi\"\\\nbye");
    let svg = layout_svg(&(&x * 2.0).to_dot());
    assert_labels(
        &svg,
        &["say &quot;hi&quot;\\", "bye", "(2)", "MulBackward0"],
    );
}

/// The real renderer, which `cargo test` leaves out so that it needs only Rust. Run
/// with `--ignored` it fails when `dot` is missing, never passes unchecked: a picture
/// nobody rendered is not checked.
#[test]
#[ignore = "needs Graphviz's dot: run by .ci/run with --ignored"]
fn the_tutorial_graph_renders_with_graphviz() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tutorial_graph.dot");
    std::fs::write(&path, tutorial_loss().to_dot()).unwrap();
    let rendered = match Command::new("dot").arg("-Tsvg").arg(&path).output() {
        Ok(rendered) => rendered,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "Graphviz's `dot` is not installed, so the picture cannot be checked: \
             install the Debian package graphviz (apt-get install -y graphviz)"
        ),
        Err(e) => panic!("running `dot -Tsvg {}`: {e}", path.display()),
    };
    let stderr = String::from_utf8_lossy(&rendered.stderr);
    assert!(rendered.status.success(), "dot failed: {stderr}");
    assert!(stderr.is_empty(), "dot warned: {stderr}");
    let svg = String::from_utf8(rendered.stdout).unwrap();

    for n in 0..8 {
        assert!(svg.contains(&format!("<title>n{n}</title>")), "node n{n}");
    }
    let edges = [(0, 1), (1, 2), (3, 4), (2, 5), (4, 5), (5, 6), (6, 7)];
    for (from, to) in edges {
        let title = format!("<title>n{from}&#45;&gt;n{to}</title>");
        assert!(svg.contains(&title), "edge n{from} -> n{to}");
    }
    assert_eq!(svg.matches("class=\"edge\"").count(), edges.len());
    let labels = [
        ">w<",
        ">(5, 3)<",
        ">AccumulateGrad<",
        ">SqueezeBackward4<",
        ">b<",
        ">(3)<",
        ">AddBackward0<",
        ">BinaryCrossEntropyWithLogitsBackward0<",
        ">()<",
    ];
    for label in labels {
        assert!(svg.contains(label), "label {label}");
    }
    assert_eq!(svg.matches("fill=\"lightblue\"").count(), 2);
    // Graphviz writes X11's darkolivegreen1 as its RGB value.
    let output_fill = svg.matches("fill=\"#caff70\"").count();
    assert_eq!(
        output_fill + svg.matches("fill=\"darkolivegreen1\"").count(),
        1
    );
}
