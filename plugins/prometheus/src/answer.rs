//! A Prometheus HTTP API answer (`/api/v1/query`, `/api/v1/query_range`)
//! as typed series: vector, matrix and scalar results; `NaN`, `+Inf` and
//! `-Inf` as their own cases; an empty result as `no-data`; an error as
//! `invalid-query` (bad PromQL) or `unavailable` (anything else).

use hoist_sdk::metrics::{MetricError, Sample, SampleValue, Series};
use serde_json::Value;

/// Reads the answer to `query` (already rendered) given with HTTP `status`.
pub fn parse(metric: &str, query: &str, status: u16, body: &[u8]) -> Result<Vec<Series>, MetricError> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| {
        MetricError::Unavailable(format!(
            "metric `{metric}`: Prometheus answered HTTP {status} with a body that is not its JSON API ({e})"
        ))
    })?;
    if doc["status"] != "success" {
        let kind = doc["errorType"].as_str().unwrap_or("unknown");
        let message = doc["error"].as_str().unwrap_or("no message");
        let text = format!("metric `{metric}`: Prometheus refused `{query}` (HTTP {status}, {kind}): {message}");
        return Err(if kind == "bad_data" { MetricError::InvalidQuery(text) } else { MetricError::Unavailable(text) });
    }
    let data = &doc["data"];
    let bad = |why: &str| MetricError::Other(format!("metric `{metric}`: unexpected Prometheus answer: {why}"));
    let series = match data["resultType"].as_str() {
        Some("vector") => items(data)?
            .iter()
            .map(|item| {
                Ok(Series {
                    labels: labels(&item["metric"]),
                    samples: vec![
                        sample(&item["value"]).ok_or_else(|| bad("a vector sample is not [time, \"value\"]"))?,
                    ],
                })
            })
            .collect::<Result<Vec<_>, MetricError>>()?,
        Some("matrix") => items(data)?
            .iter()
            .map(|item| {
                let values = item["values"].as_array().ok_or_else(|| bad("a matrix series has no `values`"))?;
                let samples = values
                    .iter()
                    .map(|v| sample(v).ok_or_else(|| bad("a matrix sample is not [time, \"value\"]")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Series { labels: labels(&item["metric"]), samples })
            })
            .collect::<Result<Vec<_>, MetricError>>()?,
        Some("scalar") => {
            vec![Series {
                labels: Vec::new(),
                samples: vec![sample(&data["result"]).ok_or_else(|| bad("a scalar is not [time, \"value\"]"))?],
            }]
        }
        Some(other) => {
            return Err(MetricError::InvalidQuery(format!(
                "metric `{metric}`: `{query}` gives a {other}, not numbers; use a query that returns a vector, matrix or scalar"
            )));
        }
        None => return Err(bad("no `resultType`")),
    };
    let series: Vec<Series> = series.into_iter().filter(|s| !s.samples.is_empty()).collect();
    if series.is_empty() {
        return Err(MetricError::NoData(format!("metric `{metric}`: `{query}` matched no series")));
    }
    Ok(series)
}

fn items(data: &Value) -> Result<&Vec<Value>, MetricError> {
    data["result"]
        .as_array()
        .ok_or_else(|| MetricError::Other("unexpected Prometheus answer: `result` is not a list".into()))
}

fn labels(metric: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = metric
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// `[1712345678.123, "0.5"]`.
fn sample(pair: &Value) -> Option<Sample> {
    let pair = pair.as_array()?;
    let (time, value) = (pair.first()?.as_f64()?, pair.get(1)?.as_str()?);
    let value = match value {
        "NaN" => SampleValue::Nan,
        "+Inf" | "Inf" => SampleValue::PositiveInfinity,
        "-Inf" => SampleValue::NegativeInfinity,
        number => match number.parse::<f64>().ok()? {
            v if v.is_nan() => SampleValue::Nan,
            v if v == f64::INFINITY => SampleValue::PositiveInfinity,
            v if v == f64::NEG_INFINITY => SampleValue::NegativeInfinity,
            v => SampleValue::Number(v),
        },
    };
    Some(Sample { timestamp_ms: (time * 1000.0).round().max(0.0) as u64, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str) -> Result<Vec<Series>, MetricError> {
        parse("m", "q", 200, body.as_bytes())
    }

    #[test]
    fn vectors_with_special_values_and_several_series() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"rev":"r2","__name__":"x"},"value":[1700000000.5,"0.25"]},
            {"metric":{"rev":"r3"},"value":[1700000000.5,"NaN"]},
            {"metric":{"rev":"r4"},"value":[1700000000.5,"+Inf"]},
            {"metric":{"rev":"r5"},"value":[1700000000.5,"-Inf"]}]}}"#;
        let series = parsed(body).unwrap();
        assert_eq!(series.len(), 4);
        assert_eq!(series[0].labels, [("__name__".to_owned(), "x".to_owned()), ("rev".to_owned(), "r2".to_owned())]);
        assert_eq!(series[0].samples, [Sample { timestamp_ms: 1_700_000_000_500, value: SampleValue::Number(0.25) }]);
        let values: Vec<_> = series.iter().map(|s| s.samples[0].value).collect();
        assert!(matches!(
            values[1..],
            [SampleValue::Nan, SampleValue::PositiveInfinity, SampleValue::NegativeInfinity]
        ));
    }

    #[test]
    fn matrices_scalars_empty_and_errors() {
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"2"]]}]}}"#;
        assert_eq!(parsed(matrix).unwrap()[0].samples.len(), 2);
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#;
        assert_eq!(parsed(scalar).unwrap()[0].samples[0].value, SampleValue::Number(3.0));
        let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(matches!(parsed(empty), Err(MetricError::NoData(_))));
        let bad = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert!(
            matches!(parse("m", "q", 400, bad.as_bytes()), Err(MetricError::InvalidQuery(m)) if m.contains("parse error"))
        );
        let down = r#"{"status":"error","errorType":"timeout","error":"query timed out"}"#;
        assert!(matches!(parse("m", "q", 503, down.as_bytes()), Err(MetricError::Unavailable(_))));
        assert!(matches!(parse("m", "q", 502, b"<html>"), Err(MetricError::Unavailable(_))));
        let string = r#"{"status":"success","data":{"resultType":"string","result":[1,"a"]}}"#;
        assert!(matches!(parsed(string), Err(MetricError::InvalidQuery(_))));
    }
}
