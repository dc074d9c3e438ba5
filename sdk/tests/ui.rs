//! The macro's contract: every accepted form compiles (`pass/`), every wrong signature fails
//! with one error pointing at the offending tokens (`fail/*.stderr`).
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test -p lambkin --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
