//! The parsers never panic, whatever the bytes, and read back what the servers write.
#![allow(clippy::unwrap_used)]

use fleetboard::sources::alertmanager::{parse_alerts, parse_silence_created, parse_silences};
use fleetboard::sources::prometheus::{parse_instant, parse_range};
use proptest::prelude::*;

const BODIES: &[&[u8]] = &[
    include_bytes!("../fixtures/prom_vector.json"),
    include_bytes!("../fixtures/vm_vector.json"),
    include_bytes!("../fixtures/prom_vector_special_values.json"),
    include_bytes!("../fixtures/prom_scalar.json"),
    include_bytes!("../fixtures/prom_error.json"),
    include_bytes!("../fixtures/prom_matrix.json"),
    include_bytes!("../fixtures/am_alerts.json"),
    include_bytes!("../fixtures/am_alerts_silenced.json"),
    include_bytes!("../fixtures/am_silences.json"),
    include_bytes!("../fixtures/am_silence_created.json"),
];

fn parse_all(body: &[u8]) {
    let _ = parse_instant(body);
    let _ = parse_range(body);
    let _ = parse_alerts(body);
    let _ = parse_silences(body);
    let _ = parse_silence_created(body);
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to JSON are favoured over plain noise.
    let byte = prop_oneof![
        3 => prop::sample::select(b"{}[]\",:0123456789.eE+-nulltrefasNI\\ \x00\xff".to_vec()),
        1 => any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(body: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut b = body.to_vec();
    for m in muts {
        let len = b.len().max(1);
        match m {
            Mutation::Set(i, v) => {
                if !b.is_empty() {
                    b[i % len] = *v;
                }
            }
            Mutation::Insert(i, v) => {
                let at = i % (b.len() + 1);
                b.splice(at..at, v.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let at = i % len;
                let end = (at + n).min(b.len());
                if at < end {
                    b.drain(at..end);
                }
            }
            Mutation::Truncate(i) => b.truncate(i % len),
        }
    }
    b
}

fn value_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:e}")
    }
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.0),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&body);
    }

    #[test]
    fn mutated_real_bodies_never_panic(
        which in 0..BODIES.len(),
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        parse_all(&apply(BODIES[which], &muts));
    }

    #[test]
    fn vectors_read_back(
        series in prop::collection::vec(
            (prop::collection::btree_map("[a-z_]{1,8}", "\\PC{0,12}", 0..5),
             prop_oneof![
                 (0u32..2_000_000_000).prop_map(f64::from),
                 (0u64..2_000_000_000_000).prop_map(|ms| ms as f64 / 1000.0),
             ],
             value()),
            0..20),
        integer_ts in any::<bool>(),
    ) {
        let mut body = String::from(r#"{"status":"success","data":{"resultType":"vector","result":["#);
        for (i, (labels, ts, v)) in series.iter().enumerate() {
            if i > 0 { body.push(','); }
            let ts = if integer_ts { ts.trunc() } else { *ts };
            body.push_str(&format!(
                r#"{{"metric":{},"value":[{},"{}"]}}"#,
                serde_json::to_string(labels).unwrap(),
                if integer_ts { format!("{}", ts as u64) } else { format!("{ts}") },
                value_text(*v)
            ));
        }
        body.push_str("]}}");
        let parsed = parse_instant(body.as_bytes()).unwrap().to_samples();
        prop_assert_eq!(parsed.len(), series.len());
        for (p, (labels, ts, v)) in parsed.iter().zip(&series) {
            prop_assert_eq!(&p.labels, labels);
            let ts = if integer_ts { ts.trunc() } else { *ts };
            prop_assert_eq!(p.ts, ts);
            prop_assert!(p.value == *v || (p.value.is_nan() && v.is_nan()));
        }
    }
}
