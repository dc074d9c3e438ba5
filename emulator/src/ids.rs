//! Random identifiers made on every invocation's path: request ids and X-Ray trace ids.
//!
//! They come from rand's thread-local generator (ChaCha, seeded from the OS once per thread),
//! not from `Uuid::new_v4`, which makes a `getrandom` system call for every id: three per
//! invocation before (BENCHMARKS.md, "Where the emulator's time goes").

use std::time::SystemTime;

/// A new X-Ray trace id: `Root=1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>`.
pub(crate) fn trace_root(now: SystemTime) -> String {
    let seconds = crate::clock::epoch_ms(now) / 1000;
    format!("Root=1-{seconds:08x}-{}", hex(24))
}

/// A random (version 4) UUID.
pub(crate) fn uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

/// `digits` random lowercase hex digits (1 to 32), as X-Ray's trace and segment ids use.
pub(crate) fn hex(digits: usize) -> String {
    let digits = digits.clamp(1, 32);
    let bits = rand::random::<u128>() >> (128 - 4 * digits);
    format!("{bits:0digits$x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_differ() {
        let (a, b) = (uuid(), uuid());
        assert_eq!(a.get_version_num(), 4);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
        assert_ne!(a, b);
    }

    #[test]
    fn hex_has_the_digits_asked_for() {
        for digits in [1, 16, 24, 32] {
            let id = hex(digits);
            assert_eq!(id.len(), digits);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
        }
        assert_ne!(hex(24), hex(24));
    }

    #[test]
    fn trace_roots_are_x_rays() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(0x5e9e_e123);
        let root = trace_root(at);
        let random = root.strip_prefix("Root=1-5e9ee123-").unwrap();
        assert_eq!(random.len(), 24);
        assert_ne!(trace_root(at), root);
    }
}
