//! The PyTorch autograd tutorial's graph as a picture: `z = x·w + b`, binary
//! cross-entropy with logits, drawn as torchviz's `make_dot(loss, params=...)` draws it.
//!
//! Writes the DOT text to `target/graph.dot` and, when Graphviz's `dot` is installed
//! (Debian package `graphviz`), renders it to `target/graph.svg`
//! (`docs/tutorial_graph.svg` is this picture).
//!
//! ```sh
//! cargo run --example graph
//! ```

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use typegrad::prelude::*;

fn main() -> ExitCode {
    let mut rng = seeded_rng(0);
    let x = Tensor::<Rank1<5>, f32>::ones();
    let y = Tensor::<Rank1<3>, f32>::zeros();
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng)
        .track()
        .named("w");
    let b = Tensor::<Rank1<3>, f32>::randn(&mut rng).track().named("b");
    let z = x.matmul(&w) + &b;
    let loss = z.bce_with_logits(&y);
    let dot = loss.to_dot();

    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dot_path = target.join("graph.dot");
    let svg_path = target.join("graph.svg");
    if let Err(e) = std::fs::create_dir_all(&target).and_then(|()| std::fs::write(&dot_path, &dot))
    {
        eprintln!("writing {}: {e}", dot_path.display());
        return ExitCode::FAILURE;
    }
    print!("{dot}");
    println!("wrote {}", dot_path.display());

    let rendered = Command::new("dot")
        .arg("-Tsvg")
        .arg(&dot_path)
        .arg("-o")
        .arg(&svg_path)
        .status();
    match rendered {
        Ok(status) if status.success() => {
            println!("wrote {}", svg_path.display());
            ExitCode::SUCCESS
        }
        Ok(status) => {
            eprintln!("dot -Tsvg failed ({status})");
            ExitCode::FAILURE
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("Graphviz's `dot` is not installed (Debian package graphviz): no SVG");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("running dot: {e}");
            ExitCode::FAILURE
        }
    }
}
