//! Values formatted for people: units, NaN and infinities spelled out.

use super::metric::Unit;

/// Formats a value for humans. NaN and infinities are spelled out, never shown as 0.
pub fn format_value(v: f64, unit: Unit) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    match unit {
        Unit::Seconds => format_seconds(v),
        Unit::Ratio => {
            let p = v * 100.0;
            if p.abs() >= 1e6 {
                format!("{}%", compact(p))
            } else if p.abs() < 10.0 && p != 0.0 {
                format!("{p:.1}%")
            } else {
                format!("{p:.0}%")
            }
        }
        Unit::Rate => format!("{}/s", compact(v)),
        Unit::Bool => {
            if v >= 1.0 {
                "yes".into()
            } else {
                "no".into()
            }
        }
        Unit::None => compact(v),
        Unit::Count if v.fract() == 0.0 && v.abs() < 1e4 => format!("{v:.0}"),
        Unit::Count => compact(v),
    }
}

/// Short number: `0.42`, `12`, `1.2k`, `34M`, `1.0e+12` for the absurd.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e12 {
        return format!("{v:.1e}");
    }
    let (d, s) = if a >= 1e9 {
        (1e9, "G")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let x = v / d;
    if s.is_empty() {
        if a == 0.0 {
            "0".into()
        } else if a < 10.0 {
            format!("{x:.2}")
        } else if a < 100.0 {
            format!("{x:.1}")
        } else {
            format!("{x:.0}")
        }
    } else if x.abs() < 10.0 {
        format!("{x:.1}{s}")
    } else {
        format!("{x:.0}{s}")
    }
}

/// `0s`, `45s`, `4m05s`, `2h10m`, `3d4h`; negative durations keep their sign.
pub fn format_seconds(v: f64) -> String {
    if v < 0.0 {
        return format!("-{}", format_seconds(-v));
    }
    if v >= 1e9 {
        return format!("{}s", compact(v));
    }
    if v < 10.0 && v.fract() != 0.0 {
        return format!("{v:.1}s");
    }
    // Truncation is intended: seconds are shown whole.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let s = v.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_values() {
        assert_eq!(format_value(0.0, Unit::Seconds), "0s");
        assert_eq!(format_value(245.0, Unit::Seconds), "4m05s");
        assert_eq!(format_value(7300.0, Unit::Seconds), "2h01m");
        assert_eq!(format_value(0.234, Unit::Ratio), "23%");
        assert_eq!(format_value(0.05, Unit::Ratio), "5.0%");
        assert_eq!(format_value(14.2, Unit::Rate), "14.2/s");
        assert_eq!(format_value(12345.0, Unit::Rate), "12k/s");
        assert_eq!(format_value(f64::NAN, Unit::None), "NaN");
        assert_eq!(format_value(f64::INFINITY, Unit::Seconds), "+Inf");
        assert_eq!(format_value(-3.0, Unit::Seconds), "-3s");
        assert_eq!(format_value(1e300, Unit::None), "1.0e300");
        assert_eq!(format_value(0.42, Unit::None), "0.42");
    }
}
