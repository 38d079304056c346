//! `parse_range` on arbitrary bytes: never panics; points are never invented.
#![no_main]

use fleetboard::sources::prometheus::parse_range;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(series) = parse_range(data) {
        let points: usize = series.iter().map(|s| s.points.len()).sum();
        assert!(points <= data.len());
    }
});
