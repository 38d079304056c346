//! `Theme::parse` on arbitrary text: never panics; errors from TOML carry a line ≥ 1.
#![no_main]

use fleetboard::theme::Theme;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Theme::parse(text) {
        Ok(t) => {
            let _ = t.without_colour();
        }
        Err(e) => {
            if let Some(rest) = e.strip_prefix("line ") {
                let n: usize = rest
                    .split(':')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("no line number in {e:?}"));
                assert!(n >= 1, "line 0 in {e:?}");
            }
        }
    }
});
