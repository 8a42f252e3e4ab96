//! Named weights in safetensors: round trips, a file written by the reference Python
//! implementation read bit for bit, and damaged bytes that must give errors, not panics.

use typegrad::prelude::*;
use typegrad::serialization::Weights;

/// Written by `tests/data/make_fixture.py` (Python safetensors 0.8.0, NumPy 2.4.6).
const FIXTURE: &[u8] = include_bytes!("../data/fixture.safetensors");

fn bits32<S: Shape, T: Tape>(t: &Tensor<S, f32, T>) -> Vec<u32> {
    t.as_slice().iter().map(|v| v.to_bits()).collect()
}

fn bits64<S: Shape, T: Tape>(t: &Tensor<S, f64, T>) -> Vec<u64> {
    t.as_slice().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn reads_the_python_fixture_bit_for_bit() -> Result<(), Error> {
    let w = Weights::from_bytes(FIXTURE)?;
    assert_eq!(w.len(), 9);
    assert_eq!(w.metadata().get("format").map(String::as_str), Some("np"));

    // Row-major: element (i, j) of the 5 x 3 matrix is (3i + j) / 4 - 1.
    let dense: Tensor<Rank2<5, 3>, f32> = w.get("dense.weight")?;
    let expected = Tensor::<Rank2<5, 3>, f32>::from_fn(|k| k as f32 / 4.0 - 1.0);
    assert_eq!(bits32(&dense), bits32(&expected));
    let bias: Tensor<Rank1<3>, f32> = w.get("dense.bias")?;
    assert_eq!(bias.to_vec(), vec![0.5, -0.25, 2.0]);
    let scale: Tensor<Rank0, f64> = w.get("scale")?;
    assert_eq!(scale.item(), 1.5);
    let cube: Tensor<Rank3<2, 3, 4>, f64> = w.get("cube")?;
    assert_eq!(
        bits64(&cube),
        bits64(&Tensor::<Rank3<2, 3, 4>, f64>::from_fn(|k| k as f64 / 8.0))
    );
    let rank4: Tensor<Rank4<1, 2, 2, 3>, f32> = w.get("rank4")?;
    assert_eq!(
        rank4.to_vec(),
        (0..12).map(|k| k as f32 - 6.0).collect::<Vec<_>>()
    );
    let empty: Tensor<Rank1<0>, f32> = w.get("empty")?;
    assert_eq!(empty.numel(), 0);

    // Signed zero, subnormals, extremes, infinities and NaN payloads survive.
    let s32: Tensor<Rank1<8>, f32> = w.get("specials32")?;
    assert_eq!(
        bits32(&s32),
        vec![
            0x8000_0000,
            0x0000_0001,
            0x7F7F_FFFF,
            0x0080_0000,
            0x7F80_0000,
            0xFF80_0000,
            0x7FC0_0000,
            0x7FC0_0001
        ]
    );
    let s64: Tensor<Rank1<6>, f64> = w.get("specials64")?;
    assert_eq!(
        bits64(&s64),
        vec![
            0x8000_0000_0000_0000,
            0x0000_0000_0000_0001,
            0x7FEF_FFFF_FFFF_FFFF,
            0x7FF0_0000_0000_0000,
            0x7FF8_0000_0000_0001,
            0.1f64.to_bits()
        ]
    );
    Ok(())
}

/// Written back, the fixture is the same bytes the reference implementation wrote: same
/// header, same order, same padding, and the F16 tensor typegrad cannot compute with is
/// kept as it was.
#[test]
fn writes_the_fixture_back_byte_for_byte() -> Result<(), Error> {
    let w = Weights::from_bytes(FIXTURE)?;
    assert_eq!(w.dims("half"), Some(&[2][..]));
    assert_eq!(w.to_bytes()?, FIXTURE);
    Ok(())
}

#[test]
fn wrong_shape_dtype_or_name_is_an_error_naming_the_tensor() -> Result<(), Error> {
    let w = Weights::from_bytes(FIXTURE)?;

    // Transposed shape: the error names both shapes.
    let err = w.get::<Rank2<3, 5>, f32>("dense.weight").unwrap_err();
    assert_eq!(
        err,
        Error::WeightMismatch {
            name: "dense.weight".into(),
            found_dtype: "F32".into(),
            found_dims: vec![5, 3],
            expected_dtype: "F32",
            expected_dims: &[3, 5],
        }
    );
    // Same element count, other rank.
    assert!(w.get::<Rank1<15>, f32>("dense.weight").is_err());
    // f64 stored, f32 asked: nothing is converted.
    let err = w.get::<Rank0, f32>("scale").unwrap_err();
    assert_eq!(
        err.to_string(),
        "tensor `scale` is stored as F64 [], but F32 [] was asked for"
    );
    let err = w.get::<Rank1<2>, f32>("half").unwrap_err();
    assert_eq!(
        err.to_string(),
        "tensor `half` is stored as F16 [2], but F32 [2] was asked for"
    );
    let err = w.get::<Rank1<3>, f32>("dense.bais").unwrap_err();
    assert_eq!(
        err,
        Error::MissingWeight {
            name: "dense.bais".into(),
            stored: 9
        }
    );
    assert_eq!(
        err.to_string(),
        "no tensor named `dense.bais` among the 9 stored"
    );
    Ok(())
}

#[test]
fn round_trip_in_memory_and_on_disk() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = seeded_rng(3);
    let w = Tensor::<Rank2<5, 3>, f32>::randn(&mut rng);
    let b = Tensor::<Rank1<3>, f64>::randn(&mut rng).track();
    let c = Tensor::<Rank4<2, 1, 3, 2>, f32>::randn(&mut rng).detach();
    let s = Tensor::<Rank0, f64>::full(-0.0);

    let mut weights = Weights::new();
    weights
        .insert("w", &w)?
        .insert("b", &b)?
        .insert("c", &c)?
        .insert("s", &s)?
        .insert_metadata("epoch", "3");
    assert_eq!(weights.names().collect::<Vec<_>>(), ["b", "c", "s", "w"]);

    let check = |loaded: &Weights| -> Result<(), Error> {
        assert_eq!(bits32(&loaded.get::<Rank2<5, 3>, f32>("w")?), bits32(&w));
        assert_eq!(bits64(&loaded.get::<Rank1<3>, f64>("b")?), bits64(&b));
        assert_eq!(
            bits32(&loaded.get::<Rank4<2, 1, 3, 2>, f32>("c")?),
            bits32(&c)
        );
        assert_eq!(bits64(&loaded.get::<Rank0, f64>("s")?), bits64(&s));
        assert_eq!(
            loaded.metadata().get("epoch").map(String::as_str),
            Some("3")
        );
        Ok(())
    };
    check(&Weights::from_bytes(&weights.to_bytes()?)?)?;

    let dir = std::env::temp_dir().join(format!("typegrad-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("round_trip.safetensors");
    weights.save(&path)?;
    let loaded = Weights::load(&path);
    std::fs::remove_dir_all(&dir).ok();
    Ok(check(&loaded?)?)
}

#[test]
fn a_parameter_goes_in_and_comes_back() -> Result<(), Error> {
    use typegrad::optim::Param;
    let p = Param::new(Tensor::<Rank2<2, 3>, f32>::from_fn(|k| k as f32));
    let bytes = Weights::new().insert("p", p.value())?.to_bytes()?;
    let q = Param::new(Weights::from_bytes(&bytes)?.get::<Rank2<2, 3>, f32>("p")?);
    assert_eq!(q.value(), p.value());
    Ok(())
}

#[test]
fn duplicate_and_reserved_names_are_refused() {
    let t = Tensor::<Rank1<2>, f32>::ones();
    let mut w = Weights::new();
    assert!(w.insert("t", &t).is_ok());
    let err = w.insert("t", &t).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot store a tensor named `t`: a tensor of this name is already stored"
    );
    assert!(matches!(
        w.insert("__metadata__", &t),
        Err(Error::InvalidWeightName { .. })
    ));
    assert_eq!(w.len(), 1);
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let path = std::env::temp_dir().join("typegrad-no-such-dir/none.safetensors");
    match Weights::load(&path) {
        Err(Error::Io {
            context,
            path: p,
            kind,
            ..
        }) => {
            assert_eq!(context, "Weights::load");
            assert_eq!(p, path);
            assert_eq!(kind, std::io::ErrorKind::NotFound);
        }
        other => panic!("expected an Io error, got {other:?}"),
    }
    let err = Weights::new().save(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Io {
                context: "Weights::save",
                ..
            }
        ),
        "{err:?}"
    );
}

/// Every tensor of a parsed (possibly damaged) file, asked for as what the fixture holds:
/// each answer is a value or an error, never a panic.
fn read_everything(w: &Weights) {
    let _ = w.get::<Rank2<5, 3>, f32>("dense.weight");
    let _ = w.get::<Rank1<3>, f32>("dense.bias");
    let _ = w.get::<Rank0, f64>("scale");
    let _ = w.get::<Rank3<2, 3, 4>, f64>("cube");
    let _ = w.get::<Rank4<1, 2, 2, 3>, f32>("rank4");
    let _ = w.get::<Rank1<8>, f32>("specials32");
    let _ = w.get::<Rank1<6>, f64>("specials64");
    let _ = w.get::<Rank1<2>, f32>("half");
    let _ = w.get::<Rank1<0>, f32>("empty");
    let _ = w.to_bytes();
}

#[test]
fn every_truncation_is_an_error() {
    for len in 0..FIXTURE.len() {
        match Weights::from_bytes(&FIXTURE[..len]) {
            Err(Error::Safetensors {
                context, reason, ..
            }) => {
                assert_eq!(context, "Weights::from_bytes");
                assert!(
                    reason.starts_with("not a valid safetensors file: "),
                    "{reason}"
                );
            }
            other => panic!("truncated to {len} bytes: expected an error, got {other:?}"),
        }
    }
    let err = Weights::from_bytes(&FIXTURE[..100]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Weights::from_bytes: not a valid safetensors file: the header length field says 616 bytes, but only 92 follow it (truncated?)"
    );
    let err = Weights::from_bytes(&FIXTURE[..FIXTURE.len() - 1]).unwrap_err();
    assert!(
        err.to_string()
            .contains("truncated, or bytes after the last tensor"),
        "{err}"
    );
}

#[test]
fn flipped_bits_in_the_header_never_panic() {
    let header_end = 8 + 616;
    let mut parsed = 0;
    for byte in 0..header_end {
        for bit in 0..8 {
            let mut damaged = FIXTURE.to_vec();
            damaged[byte] ^= 1 << bit;
            if let Ok(w) = Weights::from_bytes(&damaged) {
                parsed += 1;
                read_everything(&w);
            }
        }
    }
    // Some flips leave a valid file (a letter of a name changes): those are read
    // through too.
    assert!(parsed > 0);
}

#[test]
fn damaged_data_bytes_read_as_values() {
    // The data section has no checksum: a flipped bit there is a different value, read
    // without error, which is all the format allows.
    let mut damaged = FIXTURE.to_vec();
    let last = damaged.len() - 5; // inside "specials32"'s last element
    damaged[last] ^= 0x01;
    let w = Weights::from_bytes(&damaged).expect("only a value changed");
    read_everything(&w);
    assert_ne!(
        w.get::<Rank1<8>, f32>("specials32")
            .map(|t| t.to_vec()[7].to_bits()),
        Ok(0x7FC0_0001)
    );
}

#[test]
fn garbage_is_an_error() {
    let cases: [&[u8]; 5] = [
        b"",
        b"\xff\xff\xff\xff\xff\xff\xff\xff{}",
        b"\x02\x00\x00\x00\x00\x00\x00\x00{}",
        b"\x02\x00\x00\x00\x00\x00\x00\x00[]",
        b"\x04\x00\x00\x00\x00\x00\x00\x00\xff\xfe{}",
    ];
    let ok = Weights::from_bytes(cases[2]);
    assert!(ok.is_ok_and(|w| w.is_empty()), "an empty file is valid");
    for case in [cases[0], cases[1], cases[3], cases[4]] {
        assert!(Weights::from_bytes(case).is_err(), "{case:?}");
    }
    let err = Weights::from_bytes(cases[1]).unwrap_err();
    assert!(err.to_string().contains("100 MB limit"), "{err}");
}
