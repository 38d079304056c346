//! Prints how long parsing a 10,000-series instant answer takes.
fn main() {
    let mut body = String::from(r#"{"status":"success","data":{"resultType":"vector","result":["#);
    for i in 0..10_000 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"metric":{{"__name__":"mysql_up","cluster":"c{}","instance":"db{i}","job":"mysql"}},"value":[1795554331.174,"{i}"]}}"#,
            i % 50
        ));
    }
    body.push_str("]}}");
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let n =
            fleetboard::sources::prometheus::parse_instant(body.as_bytes()).map_or(0, |s| s.len());
        println!("{n} series, {} bytes: {:?}", body.len(), t.elapsed());
    }
}
