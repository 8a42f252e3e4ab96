//! The compile-time specification: every case in ui-tests/fail must fail to compile
//! with the message in its `.stderr` snapshot, and every case in ui-tests/pass must
//! build. Snapshots belong to the pinned toolchain (rust-toolchain.toml); regenerate
//! them with `TRYBUILD=overwrite cargo test -p typegrad-ui-tests` and read every changed one.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("fail/*.rs");
    // With at least one pass case trybuild builds rather than only checks, so errors
    // that appear only at build time (const assertions) are exercised too.
    cases.pass("pass/*.rs");
}
