#!/usr/bin/env python3
"""Hand-written mutants of the non-finite checking and NaN paths (issue "No silent wrong
answers", item 8), each applied alone to a scratch clone and tested; a mutant that every
test survives means a wrong number could pass unnoticed. Not run by CI (each mutant
rebuilds the integration tests).

    git clone . /tmp/mut && CARGO_PROFILE_TEST_OPT_LEVEL=0 python3 .ci/hand_mutants.py /tmp/mut

Tests run: the unit tests and tests/it, filtered to the checking and NaN tests (a kill by
the filtered set is a kill by the whole set; a survivor must be re-run without the filter).
cargo-mutants over the same files is the systematic version of this list."""
import subprocess, sys, pathlib, time
root = pathlib.Path(sys.argv[1])
M = [
 ("backward_checked -> Ok(Gradients::new())", "src/tape/backward.rs",
  "        let mut grads = Gradients::new();\n        self.backward_from(&[E::one()], &mut grads, Check::NonFinite)?;\n        Ok(grads)",
  "        drop(self);\n        Ok(Gradients::new())"),
 ("first_non_finite_value -> Ok(())", "src/tape/backward.rs",
  "fn first_non_finite_value<E: Element>(graph: &Graph<E>, root: usize) -> Result<(), Error> {\n",
  "fn first_non_finite_value<E: Element>(graph: &Graph<E>, root: usize) -> Result<(), Error> {\n    if true { let _ = (graph, root); return Ok(()); }\n"),
 ("seed check: == -> !=", "src/tape/backward.rs",
  "    if check == Check::NonFinite {\n        if let Some(index) = first_non_finite(seed)",
  "    if check != Check::NonFinite {\n        if let Some(index) = first_non_finite(seed)"),
 ("first_non_finite -> None", "src/tape/backward.rs",
  "fn first_non_finite<E: Element>(values: &[E]) -> Option<usize> {\n",
  "fn first_non_finite<E: Element>(values: &[E]) -> Option<usize> {\n    if true { let _ = values; return None; }\n"),
 ("reachable: every node on the path", "src/tape/backward.rs",
  "    let mut reached = vec![false; root + 1];",
  "    let mut reached = vec![true; root + 1];"),
 ("norm guard: && -> ||", "src/ops/reduce.rs",
  "if !(scale > 0.0 && scale.is_finite())", "if !(scale > 0.0 || scale.is_finite())"),
 ("norm guard: drop is_finite", "src/ops/reduce.rs",
  "if !(scale > 0.0 && scale.is_finite())", "if !(scale > 0.0)"),
 ("norm guard: drop > 0", "src/ops/reduce.rs",
  "if !(scale > 0.0 && scale.is_finite())", "if !(scale.is_finite())"),
 ("norm guard: > -> >=", "src/ops/reduce.rs",
  "if !(scale > 0.0 && scale.is_finite())", "if !(scale >= 0.0 && scale.is_finite())"),
 ("sign: NaN -> 0", "src/ops/unary.rs",
  "    } else if x == E::zero() {\n        E::zero()\n    } else {\n        E::nan()\n    }",
  "    } else {\n        E::zero()\n    }"),
 ("clamp: NaN bound ignored", "src/ops/unary.rs",
  "    if lo.is_nan() || hi.is_nan() {\n        return E::nan();\n    }\n    let raised",
  "    let raised"),
 ("clamp_slope: NaN x -> 0", "src/ops/unary.rs",
  "    if x.is_nan() || lo.is_nan() || hi.is_nan() {\n        E::nan()\n    } else if lo <= x",
  "    if lo.is_nan() || hi.is_nan() {\n        E::nan()\n    } else if lo <= x"),
 ("relu_slope: NaN -> 0", "src/ops/unary.rs",
  "    } else if y.is_nan() {\n        E::nan()\n    } else {\n        E::zero()\n    }",
  "    } else {\n        E::zero()\n    }"),
 ("relu: f32::max", "src/ops/unary.rs",
  "f(x) = if x <= E::zero() { E::zero() } else { x },", "f(x) = x.max(E::zero()),"),
 ("max_nan: drop is_nan", "src/ops/reduce.rs",
  "    if v > best || v.is_nan() {", "    if v > best {"),
 ("whole extremum NaN backward -> nothing", "src/ops/reduce.rs",
  "            ReduceOp::Extremum { is_nan: true, .. } => gx.fill(E::nan()),",
  "            ReduceOp::Extremum { is_nan: true, .. } => {}"),
 ("whole extremum NaN backward -> zero", "src/ops/reduce.rs",
  "            ReduceOp::Extremum { is_nan: true, .. } => gx.fill(E::nan()),",
  "            ReduceOp::Extremum { is_nan: true, .. } => gx.fill(E::zero()),"),
 ("axis extremum NaN backward -> zero", "src/ops/axis.rs",
  "                        gx[l.at(o, k, i)] = E::nan();", "                        gx[l.at(o, k, i)] = E::zero();"),
]
for name, f, old, new in M:
    p = root / f
    src = p.read_text()
    assert src.count(old) == 1, name
    p.write_text(src.replace(old, new))
    t = time.time()
    r = subprocess.run(["cargo", "test", "-q", "--all-features", "--lib", "--test", "it", "--", "checked", "nan", "norm", "non_finite", "backward"], cwd=root,
                       capture_output=True, text=True)
    p.write_text(src)
    out = r.stdout + r.stderr
    if "error[" in out or "could not compile" in out:
        verdict = "unviable (does not build)"
    elif r.returncode != 0:
        failed = [l.split()[0] for l in out.splitlines() if l.startswith("    ") and "::" in l]
        verdict = f"killed by {len(failed)} tests, e.g. {failed[:2]}"
    else:
        verdict = "SURVIVED"
    print(f"{name}: {verdict} ({time.time()-t:.0f} s)", flush=True)
