//! `parse_instant` on arbitrary bytes: never panics; what it returns is well formed.
#![no_main]

use fleetboard::sources::prometheus::parse_instant;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(samples) = parse_instant(data) {
        for s in &samples.to_samples() {
            // A scalar has no labels; a vector sample's labels come from the body.
            assert!(s.labels.keys().all(|k| data.len() >= k.len()));
        }
        // An answer cannot hold more samples than the body has bytes.
        assert!(samples.len() <= data.len());
    }
});
