//! `parse_silences` (and `parse_silence_created`) on arbitrary bytes: never panic.
#![no_main]

use fleetboard::sources::alertmanager::{parse_silence_created, parse_silences};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(silences) = parse_silences(data) {
        assert!(silences.len() <= data.len());
        for s in &silences {
            for m in &s.matchers {
                let _ = m.to_string();
            }
        }
    }
    if let Ok(id) = parse_silence_created(data) {
        assert!(!id.is_empty());
    }
});
