//! Graphviz pictures: the PyTorch tutorial's graph (seed 002) as torchviz draws it, and
//! rendered by Graphviz's own `dot`, so the text is not only pinned but valid DOT.

use std::process::Command;

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

/// Not skipped when `dot` is missing: a picture nobody rendered is not checked.
#[test]
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
