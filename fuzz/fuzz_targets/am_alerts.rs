//! `parse_alerts` on arbitrary bytes: never panics; an empty generator URL is `None`.
#![no_main]

use fleetboard::sources::alertmanager::parse_alerts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(alerts) = parse_alerts(data) {
        assert!(alerts.len() <= data.len());
        for a in &alerts {
            assert!(a.generator_url.as_deref() != Some(""));
            let _ = (a.name(), a.severity(), a.summary());
            let _ = fleetboard::fleet::health::alert_health(a);
        }
    }
});
