//! The counters every report row carries, normalised across providers, and their JSON form.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::ledger::query::Sums;

/// Sums of requests as reports show them. `input_tokens` is uncached input only; `total_tokens`
/// is input + cache read + cache write + output (reasoning is part of output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters(pub Sums);

impl Counters {
    pub fn add(&mut self, other: &Counters) {
        self.0.add(&other.0);
    }

    pub fn total_tokens(&self) -> i64 {
        let s = &self.0;
        s.input_tokens
            .saturating_add(s.cache_read_tokens)
            .saturating_add(s.cache_write_tokens)
            .saturating_add(s.output_tokens)
    }

    /// USD of the priced requests, as a float for JSON (`cost_nanos` is the exact figure).
    pub fn cost_usd(&self) -> f64 {
        self.0.cost_nanos as f64 / 1e9
    }

    /// Cache read / (input + cache read + cache write); `None` when there was no input.
    pub fn cache_hit_ratio(&self) -> Option<f64> {
        let s = &self.0;
        let all = s
            .input_tokens
            .saturating_add(s.cache_read_tokens)
            .saturating_add(s.cache_write_tokens);
        (all > 0).then(|| s.cache_read_tokens as f64 / all as f64)
    }

    /// Every request is unpriced: the cost is unknown, not zero.
    pub fn all_unpriced(&self) -> bool {
        self.0.requests > 0 && self.0.unpriced_requests == self.0.requests
    }

    /// The counters in their JSON order, for writers that lay out fields themselves.
    pub fn fields(&self) -> [(&'static str, CounterValue); 10] {
        let s = &self.0;
        [
            ("requests", CounterValue::Int(s.requests)),
            ("input_tokens", CounterValue::Int(s.input_tokens)),
            ("output_tokens", CounterValue::Int(s.output_tokens)),
            ("cache_read_tokens", CounterValue::Int(s.cache_read_tokens)),
            (
                "cache_write_tokens",
                CounterValue::Int(s.cache_write_tokens),
            ),
            ("reasoning_tokens", CounterValue::Int(s.reasoning_tokens)),
            ("total_tokens", CounterValue::Int(self.total_tokens())),
            ("cost_nanos", CounterValue::Int(s.cost_nanos)),
            ("cost_usd", CounterValue::Usd(s.cost_nanos)),
            ("unpriced_requests", CounterValue::Int(s.unpriced_requests)),
        ]
    }

    /// Writes the counters into a map being serialised (a row's fields follow its key).
    pub fn serialize_into<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        for (name, value) in self.fields() {
            match value {
                CounterValue::Int(n) => map.serialize_entry(name, &n)?,
                CounterValue::Usd(nanos) => map.serialize_entry(name, &(nanos as f64 / 1e9))?,
            }
        }
        Ok(())
    }
}

/// One counter's value: an integer, or a USD amount given in nano-dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterValue {
    Int(i64),
    Usd(i64),
}

impl CounterValue {
    /// Exact text: integers as they are, USD with nine decimals (`0.031530000`).
    pub fn exact_text(self) -> String {
        match self {
            CounterValue::Int(n) => n.to_string(),
            CounterValue::Usd(nanos) => usd_exact(nanos),
        }
    }
}

/// Nano-dollars as an exact decimal: `12.345678901`.
pub fn usd_exact(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    format!("{sign}{}.{:09}", n / 1_000_000_000, n % 1_000_000_000)
}

impl Serialize for Counters {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(10))?;
        self.serialize_into(&mut map)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_every_counter_in_order() {
        let c = Counters(Sums {
            requests: 3,
            input_tokens: 10,
            output_tokens: 20,
            cache_read_tokens: 30,
            cache_write_tokens: 40,
            reasoning_tokens: 5,
            cost_nanos: 1_500_000_001,
            unpriced_requests: 1,
        });
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"requests":3,"input_tokens":10,"output_tokens":20,"cache_read_tokens":30,"cache_write_tokens":40,"reasoning_tokens":5,"total_tokens":100,"cost_nanos":1500000001,"cost_usd":1.500000001,"unpriced_requests":1}"#
        );
        assert_eq!(c.cache_hit_ratio(), Some(30.0 / 80.0));
        assert!(!c.all_unpriced());
    }

    #[test]
    fn exact_usd_text() {
        assert_eq!(usd_exact(31_530_000), "0.031530000");
        assert_eq!(usd_exact(12_000_000_007), "12.000000007");
        assert_eq!(usd_exact(-5), "-0.000000005");
        assert_eq!(Counters::default().cache_hit_ratio(), None);
    }
}
