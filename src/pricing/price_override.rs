//! A model price from gw's config, in USD per million tokens.

use serde::{Deserialize, Serialize};

use super::model_price::{ModelPrice, Tier, FEMTO_PER_USD};
use super::PricingError;

/// Femto-dollars per token in one USD per million tokens.
const FEMTO_PER_USD_PER_MTOK: f64 = (FEMTO_PER_USD / 1_000_000) as f64;
/// The most a config price may say: 1,000,000 USD per million tokens (1 USD a token).
const MAX_USD_PER_MTOK: f64 = 1_000_000.0;

/// A config entry, prices in USD per million tokens (what people read on pricing pages):
///
/// ```toml
/// [prices."my-model"]
/// input = 3.0
/// output = 15.0
/// cache_read = 0.3
/// cache_write_5m = 3.75
/// cache_write_1h = 6.0
/// # optional long-context tier: these rates apply to the whole request
/// # when its input (uncached + cache read + cache write) is above `above_tokens`
/// above_tokens = 200000
/// input_above = 6.0
/// output_above = 22.5
/// ```
///
/// An entry replaces the table's price of that model name entirely (it does not merge); missing
/// cache rates are derived as for the table (see `ModelPrice::rates`). It applies whichever
/// provider the request goes to.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriceOverride {
    pub input: f64,
    pub output: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_5m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h: Option<f64>,
    /// The rate of reasoning / thinking tokens when it differs from `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<f64>,
    /// The long-context threshold: the `*_above` rates apply when input is above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_5m_above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h_above: Option<f64>,
}

impl PriceOverride {
    /// An entry with only input and output prices (USD per million tokens).
    pub fn new(input: f64, output: f64) -> PriceOverride {
        PriceOverride {
            input,
            output,
            cache_read: None,
            cache_write_5m: None,
            cache_write_1h: None,
            reasoning: None,
            above_tokens: None,
            input_above: None,
            output_above: None,
            cache_read_above: None,
            cache_write_5m_above: None,
            cache_write_1h_above: None,
        }
    }

    /// Checks the entry for `model`; config loading calls this so that a mistake is reported
    /// when gw starts, not silently priced. (`PriceTable::with_overrides` takes any entry:
    /// a price it cannot use counts as 0 and an `*_above` price without `above_tokens` is
    /// ignored.)
    pub fn validate(&self, model: &str) -> Result<(), PricingError> {
        let bad = |reason: String| PricingError::BadOverride {
            model: model.to_owned(),
            reason,
        };
        if model.trim().is_empty() {
            return Err(bad("the model name is empty".to_owned()));
        }
        for (name, value) in self.prices() {
            if let Some(value) = value {
                if !value.is_finite() || value < 0.0 {
                    return Err(bad(format!("{name} = {value} is not a price")));
                }
                if value > MAX_USD_PER_MTOK {
                    return Err(bad(format!(
                        "{name} = {value} is more than 1,000,000 USD per million tokens"
                    )));
                }
            }
        }
        let any_above = self.tier_prices().iter().any(Option::is_some);
        match (self.above_tokens, any_above) {
            (None, true) => Err(bad(
                "*_above prices need above_tokens, the input size they start above".to_owned(),
            )),
            (Some(_), false) => Err(bad(
                "above_tokens is set but no *_above price (e.g. input_above) is".to_owned(),
            )),
            _ => Ok(()),
        }
    }

    /// The model price this entry stands for, in femto-dollars per token.
    pub fn to_model_price(&self) -> ModelPrice {
        let [input_above, output_above, cache_read_above, cache_write_5m_above, cache_write_1h_above] =
            self.tier_prices().map(|p| p.map(femto_from_usd_per_mtok));
        let tiers = match self.above_tokens {
            Some(above_tokens) => vec![Tier {
                above_tokens,
                input: input_above,
                output: output_above,
                cache_read: cache_read_above,
                cache_write_5m: cache_write_5m_above,
                cache_write_1h: cache_write_1h_above,
            }],
            None => Vec::new(),
        };
        ModelPrice {
            input: femto_from_usd_per_mtok(self.input),
            output: femto_from_usd_per_mtok(self.output),
            cache_read: self.cache_read.map(femto_from_usd_per_mtok),
            cache_write_5m: self.cache_write_5m.map(femto_from_usd_per_mtok),
            cache_write_1h: self.cache_write_1h.map(femto_from_usd_per_mtok),
            reasoning: self.reasoning.map(femto_from_usd_per_mtok),
            tiers,
            max_output: None,
        }
    }

    fn tier_prices(&self) -> [Option<f64>; 5] {
        [
            self.input_above,
            self.output_above,
            self.cache_read_above,
            self.cache_write_5m_above,
            self.cache_write_1h_above,
        ]
    }

    fn prices(&self) -> [(&'static str, Option<f64>); 11] {
        [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cache_read", self.cache_read),
            ("cache_write_5m", self.cache_write_5m),
            ("cache_write_1h", self.cache_write_1h),
            ("reasoning", self.reasoning),
            ("input_above", self.input_above),
            ("output_above", self.output_above),
            ("cache_read_above", self.cache_read_above),
            ("cache_write_5m_above", self.cache_write_5m_above),
            ("cache_write_1h_above", self.cache_write_1h_above),
        ]
    }
}

/// USD per million tokens to femto-dollars per token, rounded to the nearest femto-dollar.
/// Not a price (negative, NaN) gives 0 and a huge one saturates; `validate` reports both.
fn femto_from_usd_per_mtok(usd_per_mtok: f64) -> u64 {
    if usd_per_mtok.is_nan() || usd_per_mtok <= 0.0 {
        return 0;
    }
    (usd_per_mtok.min(MAX_USD_PER_MTOK) * FEMTO_PER_USD_PER_MTOK).round() as u64
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn reads_the_documented_toml() {
        let text = r#"
            [prices."my-model"]
            input = 3.0
            output = 15.0
            cache_read = 0.3
            cache_write_5m = 3.75
            cache_write_1h = 6.0
            above_tokens = 200000
            input_above = 6.0
            output_above = 22.5
        "#;
        #[derive(Deserialize)]
        struct Config {
            prices: BTreeMap<String, PriceOverride>,
        }
        let config: Config = toml::from_str(text).unwrap();
        let entry = &config.prices["my-model"];
        entry.validate("my-model").unwrap();
        let price = entry.to_model_price();
        assert_eq!(price.input, 3_000_000_000);
        assert_eq!(price.output, 15_000_000_000);
        assert_eq!(price.cache_read, Some(300_000_000));
        assert_eq!(price.cache_write_5m, Some(3_750_000_000));
        assert_eq!(price.cache_write_1h, Some(6_000_000_000));
        assert_eq!(price.reasoning, None);
        assert_eq!(
            price.tiers,
            [Tier {
                above_tokens: 200_000,
                input: Some(6_000_000_000),
                output: Some(22_500_000_000),
                ..Tier::default()
            }]
        );
        // Round trip through TOML, as `gw config` prints it.
        let again: PriceOverride = toml::from_str(&toml::to_string(entry).unwrap()).unwrap();
        assert_eq!(&again, entry);
    }

    #[test]
    fn rejects_unknown_and_missing_fields() {
        let typo = toml::from_str::<PriceOverride>("input = 1.0\noutput = 2.0\ncache_reads = 0.1");
        assert!(typo.unwrap_err().to_string().contains("cache_reads"));
        let missing = toml::from_str::<PriceOverride>("input = 1.0");
        assert!(missing.unwrap_err().to_string().contains("output"));
    }

    #[test]
    fn validate_says_what_is_wrong() {
        let mut entry = PriceOverride::new(3.0, 15.0);
        assert!(entry.validate("m").is_ok());
        entry.output = -1.0;
        let err = entry.validate("m").unwrap_err().to_string();
        assert!(err.contains("output = -1 is not a price"), "{err}");
        assert!(err.contains("USD per million tokens"), "{err}");

        let mut entry = PriceOverride::new(3.0, 15.0);
        entry.input_above = Some(6.0);
        assert!(entry
            .validate("m")
            .unwrap_err()
            .to_string()
            .contains("need above_tokens"));
        entry.input_above = None;
        entry.above_tokens = Some(200_000);
        assert!(entry
            .validate("m")
            .unwrap_err()
            .to_string()
            .contains("no *_above price"));

        let mut entry = PriceOverride::new(3.0, 15.0);
        entry.cache_read = Some(f64::NAN);
        assert!(entry.validate("m").is_err());
        entry.cache_read = Some(2e6);
        assert!(entry.validate("m").is_err());
        assert!(PriceOverride::new(1.0, 1.0).validate(" ").is_err());
    }

    #[test]
    fn converts_per_million_prices_to_femto_per_token() {
        assert_eq!(femto_from_usd_per_mtok(0.3), 300_000_000);
        assert_eq!(femto_from_usd_per_mtok(0.075), 75_000_000);
        assert_eq!(femto_from_usd_per_mtok(1.875), 1_875_000_000);
        assert_eq!(femto_from_usd_per_mtok(0.0005), 500_000);
        assert_eq!(femto_from_usd_per_mtok(-1.0), 0);
        assert_eq!(femto_from_usd_per_mtok(f64::NAN), 0);
        assert_eq!(femto_from_usd_per_mtok(f64::INFINITY), FEMTO_PER_USD);
    }
}
