//! The price of one model: per-token rates, long-context tiers, and what a usage record costs.
//!
//! Rates are whole femto-dollars (1e-15 USD) per token. Every per-token price LiteLLM lists for
//! the providers gw prices is a whole number of them (in LiteLLM 1.110.2 all are multiples of
//! 1e-9 USD, so there is room for prices a million times finer; `generate_table` refuses any
//! that is not), so a request is summed exactly in `u128` and rounded once, half up, to
//! nano-dollars.

use std::collections::BTreeMap;

use crate::meter::{Provider, Usage};

use super::PricingError;

/// Femto-dollars (the rate unit) in one nano-dollar (the cost unit).
pub const FEMTO_PER_NANO: u64 = 1_000_000;
/// Femto-dollars in one USD.
pub const FEMTO_PER_USD: u64 = 1_000_000_000_000_000;
/// The largest rate gw stores: 2^53 femto-dollars (about 9 USD) per token, the range in which
/// an `f64` price converts to femto-dollars without loss.
const MAX_FEMTO: u64 = 1 << 53;

/// One model's prices, in femto-dollars per token.
///
/// `input` and `output` are always known; a missing cache or reasoning rate is derived when a
/// request is priced (see [`ModelPrice::rates`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPrice {
    pub input: u64,
    pub output: u64,
    pub cache_read: Option<u64>,
    pub cache_write_5m: Option<u64>,
    pub cache_write_1h: Option<u64>,
    /// The rate of the reasoning part of the output, when it differs from `output`.
    pub reasoning: Option<u64>,
    /// Long-context tiers, ascending by `above_tokens`.
    pub tiers: Vec<Tier>,
}

/// Rates that replace the base rates when a request's total input is above `above_tokens`.
/// A rate the tier lacks stays at the base (or lower tier's) rate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tier {
    pub above_tokens: u64,
    pub input: Option<u64>,
    pub output: Option<u64>,
    pub cache_read: Option<u64>,
    pub cache_write_5m: Option<u64>,
    pub cache_write_1h: Option<u64>,
}

/// The rates that apply to one request, every one known, in femto-dollars per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedRates {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
    pub reasoning: u64,
}

impl ModelPrice {
    /// A price with only input and output rates.
    pub fn new(input: u64, output: u64) -> ModelPrice {
        ModelPrice {
            input,
            output,
            cache_read: None,
            cache_write_5m: None,
            cache_write_1h: None,
            reasoning: None,
            tiers: Vec::new(),
        }
    }

    /// The rates for a request whose total input (uncached + cache reads + cache writes; for
    /// Gemini the prompt) is `total_input` tokens.
    ///
    /// - Tiers: every tier with `total_input > above_tokens` applies, lowest first, each
    ///   replacing the rates it has (LiteLLM's semantics: "above 200k" means more than 200,000).
    /// - A missing cache-read rate is 0.1× input for Anthropic and the input rate otherwise.
    /// - A missing 5-minute cache-write rate is 1.25× input for Anthropic and the input rate
    ///   otherwise; a missing 1-hour rate is 2× input for Anthropic and the 5-minute rate
    ///   otherwise.
    /// - Reasoning is charged at `reasoning` when the table has it, else at the output rate.
    pub fn rates(&self, provider: Provider, total_input: u64) -> ResolvedRates {
        let mut input = self.input;
        let mut output = self.output;
        let mut cache_read = self.cache_read;
        let mut cache_write_5m = self.cache_write_5m;
        let mut cache_write_1h = self.cache_write_1h;
        for tier in self.tiers.iter().filter(|t| total_input > t.above_tokens) {
            input = tier.input.unwrap_or(input);
            output = tier.output.unwrap_or(output);
            cache_read = tier.cache_read.or(cache_read);
            cache_write_5m = tier.cache_write_5m.or(cache_write_5m);
            cache_write_1h = tier.cache_write_1h.or(cache_write_1h);
        }
        let anthropic = provider == Provider::Anthropic;
        let cache_read = cache_read.unwrap_or(if anthropic {
            div_round(input, 1, 10)
        } else {
            input
        });
        let cache_write_5m = cache_write_5m.unwrap_or(if anthropic {
            div_round(input, 5, 4)
        } else {
            input
        });
        let cache_write_1h = cache_write_1h.unwrap_or(if anthropic {
            input.saturating_mul(2)
        } else {
            cache_write_5m
        });
        ResolvedRates {
            input,
            output,
            cache_read,
            cache_write_5m,
            cache_write_1h,
            reasoning: self.reasoning.unwrap_or(output),
        }
    }

    /// The exact cost of `usage` in femto-dollars.
    pub fn cost_femto(&self, provider: Provider, usage: &Usage) -> u128 {
        // `Usage::total_input`, saturating: absurd counts must not panic the proxy.
        let total_input = [usage.cache_read, usage.cache_write_5m, usage.cache_write_1h]
            .into_iter()
            .fold(usage.input, u64::saturating_add);
        let r = self.rates(provider, total_input);
        let reasoning = usage.reasoning.min(usage.output);
        [
            (usage.input, r.input),
            (usage.cache_read, r.cache_read),
            (usage.cache_write_5m, r.cache_write_5m),
            (usage.cache_write_1h, r.cache_write_1h),
            (usage.output - reasoning, r.output),
            (reasoning, r.reasoning),
        ]
        .into_iter()
        .fold(0u128, |sum, (tokens, rate)| {
            sum.saturating_add(u128::from(tokens) * u128::from(rate))
        })
    }

    /// The cost of `usage` in nano-dollars, rounded once, half up.
    pub fn cost_nanos(&self, provider: Provider, usage: &Usage) -> u64 {
        femto_to_nanos(self.cost_femto(provider, usage))
    }

    /// Builds a price from LiteLLM field names and per-token USD values (the shape of gw's
    /// `prices.json`). Every field must be one gw knows; input and output must be there.
    pub(crate) fn from_litellm_fields<'a>(
        model: &str,
        fields: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> Result<ModelPrice, PricingError> {
        let mut base: BTreeMap<Rate, u64> = BTreeMap::new();
        let mut tiers: BTreeMap<u64, Tier> = BTreeMap::new();
        for (name, value) in fields {
            let Some((rate, above)) = parse_field(name) else {
                return Err(PricingError::BadModel {
                    model: model.to_owned(),
                    problem: format!("has a field gw does not know: {name}"),
                });
            };
            let femto =
                femto_from_usd_per_token(value).map_err(|reason| PricingError::BadPrice {
                    model: model.to_owned(),
                    field: name.to_owned(),
                    value,
                    reason,
                })?;
            match above {
                None => {
                    base.insert(rate, femto);
                }
                Some(above_tokens) => {
                    let tier = tiers.entry(above_tokens).or_insert_with(|| Tier {
                        above_tokens,
                        ..Tier::default()
                    });
                    // `parse_field` gives no tiered reasoning rate, so the slot is always there.
                    if let Some(slot) = tier.slot(rate) {
                        *slot = Some(femto);
                    }
                }
            }
        }
        let required = |rate: Rate| {
            base.get(&rate)
                .copied()
                .ok_or_else(|| PricingError::BadModel {
                    model: model.to_owned(),
                    problem: format!("has no {}", rate.litellm_field()),
                })
        };
        Ok(ModelPrice {
            input: required(Rate::Input)?,
            output: required(Rate::Output)?,
            cache_read: base.get(&Rate::CacheRead).copied(),
            cache_write_5m: base.get(&Rate::CacheWrite5m).copied(),
            cache_write_1h: base.get(&Rate::CacheWrite1h).copied(),
            reasoning: base.get(&Rate::Reasoning).copied(),
            tiers: tiers.into_values().collect(),
        })
    }
}

impl Tier {
    /// Where a tier keeps `rate`; reasoning has no tiered rate.
    fn slot(&mut self, rate: Rate) -> Option<&mut Option<u64>> {
        match rate {
            Rate::Input => Some(&mut self.input),
            Rate::Output => Some(&mut self.output),
            Rate::CacheRead => Some(&mut self.cache_read),
            Rate::CacheWrite5m => Some(&mut self.cache_write_5m),
            Rate::CacheWrite1h => Some(&mut self.cache_write_1h),
            Rate::Reasoning => None,
        }
    }
}

/// The kinds of rate gw prices, each with its LiteLLM field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rate {
    Input,
    Output,
    CacheRead,
    CacheWrite5m,
    CacheWrite1h,
    Reasoning,
}

impl Rate {
    const ALL: [Rate; 6] = [
        Rate::Input,
        Rate::Output,
        Rate::CacheRead,
        Rate::CacheWrite5m,
        Rate::CacheWrite1h,
        Rate::Reasoning,
    ];

    pub(crate) fn litellm_field(self) -> &'static str {
        match self {
            Rate::Input => "input_cost_per_token",
            Rate::Output => "output_cost_per_token",
            Rate::CacheRead => "cache_read_input_token_cost",
            Rate::CacheWrite5m => "cache_creation_input_token_cost",
            Rate::CacheWrite1h => "cache_creation_input_token_cost_above_1hr",
            Rate::Reasoning => "output_cost_per_reasoning_token",
        }
    }
}

/// Reads a LiteLLM field name: `input_cost_per_token` is the base input rate,
/// `input_cost_per_token_above_200k_tokens` the input rate above 200,000 input tokens (LiteLLM
/// also writes thresholds without `k`, e.g. `_above_128000_tokens`). Every rate but reasoning
/// can be tiered. Other fields (batch, flex, priority, audio, 12-hour cache…) give `None`.
pub(crate) fn parse_field(name: &str) -> Option<(Rate, Option<u64>)> {
    if let Some(rate) = Rate::ALL.into_iter().find(|r| r.litellm_field() == name) {
        return Some((rate, None));
    }
    let (base, threshold) = name.rsplit_once("_above_")?;
    let threshold = threshold.strip_suffix("_tokens")?;
    let (digits, scale) = match threshold.strip_suffix('k') {
        Some(digits) => (digits, 1000),
        None => (threshold, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let above = digits.parse::<u64>().ok()?.checked_mul(scale)?;
    let rate = Rate::ALL
        .into_iter()
        .find(|r| *r != Rate::Reasoning && r.litellm_field() == base)?;
    Some((rate, Some(above)))
}

/// Converts a LiteLLM per-token USD price to femto-dollars, refusing what cannot be stored
/// exactly: negative, not finite, too large, or finer than a femto-dollar.
pub(crate) fn femto_from_usd_per_token(usd: f64) -> Result<u64, &'static str> {
    if !usd.is_finite() || usd < 0.0 {
        return Err("a price must be a number of USD, zero or more");
    }
    let femto = usd * FEMTO_PER_USD as f64;
    let rounded = femto.round();
    if rounded > MAX_FEMTO as f64 {
        return Err("more than 9 USD per token");
    }
    // An exact decimal parsed to f64 is off by far less than a millionth of its value.
    if (femto - rounded).abs() > rounded * 1e-12 + 1e-6 {
        return Err("finer than 1e-15 USD per token, the unit gw stores");
    }
    Ok(rounded as u64)
}

/// The per-token USD value of a femto-dollar rate, as the shortest decimal that reads back to it.
pub(crate) fn usd_per_token(femto: u64) -> f64 {
    femto as f64 / FEMTO_PER_USD as f64
}

/// Rounds femto-dollars to nano-dollars, half up, saturating at `u64::MAX`.
pub fn femto_to_nanos(femto: u128) -> u64 {
    let half = u128::from(FEMTO_PER_NANO / 2);
    u64::try_from(femto.saturating_add(half) / u128::from(FEMTO_PER_NANO)).unwrap_or(u64::MAX)
}

/// `value * num / den`, rounded half up, saturating.
fn div_round(value: u64, num: u64, den: u64) -> u64 {
    let exact = u128::from(value) * u128::from(num);
    u64::try_from((exact + u128::from(den / 2)) / u128::from(den)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(fields: &[(&str, f64)]) -> ModelPrice {
        ModelPrice::from_litellm_fields("test-model", fields.iter().copied()).unwrap()
    }

    #[test]
    fn parses_base_and_tier_fields() {
        assert_eq!(
            parse_field("input_cost_per_token"),
            Some((Rate::Input, None))
        );
        assert_eq!(
            parse_field("cache_creation_input_token_cost_above_1hr"),
            Some((Rate::CacheWrite1h, None))
        );
        assert_eq!(
            parse_field("output_cost_per_token_above_272k_tokens"),
            Some((Rate::Output, Some(272_000)))
        );
        assert_eq!(
            parse_field("input_cost_per_token_above_128000_tokens"),
            Some((Rate::Input, Some(128_000)))
        );
        assert_eq!(
            parse_field("cache_creation_input_token_cost_above_1hr_above_100k_tokens"),
            Some((Rate::CacheWrite1h, Some(100_000)))
        );
        for other in [
            "input_cost_per_token_batches",
            "input_cost_per_token_above_200k_tokens_priority",
            "cache_creation_input_token_cost_above_12hr",
            "output_cost_per_reasoning_token_above_200k_tokens",
            "input_cost_per_audio_token",
            "input_cost_per_token_above_k_tokens",
        ] {
            assert_eq!(parse_field(other), None, "{other}");
        }
    }

    #[test]
    fn converts_litellm_floats_exactly() {
        assert_eq!(femto_from_usd_per_token(3e-06), Ok(3_000_000_000));
        assert_eq!(femto_from_usd_per_token(1.875e-06), Ok(1_875_000_000));
        assert_eq!(femto_from_usd_per_token(1.25e-08), Ok(12_500_000));
        assert_eq!(femto_from_usd_per_token(5e-09), Ok(5_000_000));
        assert_eq!(femto_from_usd_per_token(0.00012), Ok(120_000_000_000));
        assert_eq!(femto_from_usd_per_token(0.0), Ok(0));
        assert!(femto_from_usd_per_token(1.23456e-16).is_err());
        assert!(femto_from_usd_per_token(3.0000000001e-6).is_err());
        assert!(femto_from_usd_per_token(-1e-6).is_err());
        assert!(femto_from_usd_per_token(f64::NAN).is_err());
        assert!(femto_from_usd_per_token(10.0).is_err());
        assert_eq!(usd_per_token(3_000_000_000).to_string(), "0.000003");
        assert_eq!(
            serde_json::to_string(&usd_per_token(1_875_000_000)).unwrap(),
            "1.875e-6"
        );
    }

    #[test]
    fn needs_input_and_output_and_known_fields() {
        let missing = ModelPrice::from_litellm_fields("m", [("input_cost_per_token", 1e-6)]);
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("has no output_cost_per_token"));
        let unknown = ModelPrice::from_litellm_fields(
            "m",
            [
                ("input_cost_per_token", 1e-6),
                ("output_cost_per_token", 1e-6),
                ("input_cost_per_token_batches", 1e-6),
            ],
        );
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("input_cost_per_token_batches"));
    }

    #[test]
    fn anthropic_defaults_for_missing_cache_rates() {
        let p = price(&[
            ("input_cost_per_token", 3e-6),
            ("output_cost_per_token", 1.5e-5),
        ]);
        let r = p.rates(Provider::Anthropic, 0);
        assert_eq!(r.cache_read, 300_000_000); // 0.1 × input
        assert_eq!(r.cache_write_5m, 3_750_000_000); // 1.25 × input
        assert_eq!(r.cache_write_1h, 6_000_000_000); // 2 × input
        assert_eq!(r.reasoning, r.output);
    }

    #[test]
    fn other_providers_default_cache_rates_to_input() {
        let p = price(&[
            ("input_cost_per_token", 3e-5),
            ("output_cost_per_token", 6e-5),
        ]);
        for provider in [Provider::OpenAi, Provider::Gemini] {
            let r = p.rates(provider, 0);
            assert_eq!(r.cache_read, 30_000_000_000);
            assert_eq!(r.cache_write_5m, 30_000_000_000);
            assert_eq!(r.cache_write_1h, 30_000_000_000);
        }
        // An explicit 5-minute write rate stands in for a missing 1-hour one.
        let p = price(&[
            ("input_cost_per_token", 1e-6),
            ("output_cost_per_token", 2e-6),
            ("cache_creation_input_token_cost", 1.5e-6),
        ]);
        assert_eq!(p.rates(Provider::OpenAi, 0).cache_write_1h, 1_500_000_000);
    }

    #[test]
    fn explicit_zero_is_a_price() {
        let p = price(&[
            ("input_cost_per_token", 3e-7),
            ("output_cost_per_token", 2.5e-6),
            ("cache_read_input_token_cost", 0.0),
        ]);
        assert_eq!(p.rates(Provider::Gemini, 0).cache_read, 0);
    }

    #[test]
    fn tiers_cascade_and_fall_back_to_base() {
        let p = price(&[
            ("input_cost_per_token", 1e-6),
            ("output_cost_per_token", 2e-6),
            ("cache_read_input_token_cost", 1e-7),
            ("input_cost_per_token_above_100k_tokens", 3e-6),
            ("output_cost_per_token_above_100k_tokens", 4e-6),
            ("input_cost_per_token_above_200k_tokens", 5e-6),
        ]);
        assert_eq!(p.tiers.len(), 2);
        let r = p.rates(Provider::OpenAi, 100_000);
        assert_eq!(
            (r.input, r.output, r.cache_read),
            (1_000_000_000, 2_000_000_000, 100_000_000)
        );
        let r = p.rates(Provider::OpenAi, 100_001);
        assert_eq!(
            (r.input, r.output, r.cache_read),
            (3_000_000_000, 4_000_000_000, 100_000_000)
        );
        let r = p.rates(Provider::OpenAi, 200_001);
        assert_eq!(
            (r.input, r.output, r.cache_read),
            (5_000_000_000, 4_000_000_000, 100_000_000)
        );
    }

    #[test]
    fn explicit_reasoning_rate_prices_only_the_reasoning_part() {
        let p = price(&[
            ("input_cost_per_token", 1e-6),
            ("output_cost_per_token", 1e-5),
            ("output_cost_per_reasoning_token", 2e-5),
        ]);
        let usage = Usage {
            output: 100,
            reasoning: 40,
            ..Usage::default()
        };
        // 60 × 1e-5 + 40 × 2e-5 = 0.0014 USD
        assert_eq!(p.cost_nanos(Provider::Gemini, &usage), 1_400_000);
        // More reasoning than output (a confused upstream) never charges more than the output.
        let odd = Usage {
            output: 10,
            reasoning: 40,
            ..Usage::default()
        };
        assert_eq!(p.cost_nanos(Provider::Gemini, &odd), 200_000);
    }

    #[test]
    fn rounds_once_half_up() {
        assert_eq!(femto_to_nanos(499_999), 0);
        assert_eq!(femto_to_nanos(500_000), 1);
        assert_eq!(femto_to_nanos(1_499_999), 1);
        assert_eq!(femto_to_nanos(u128::MAX), u64::MAX);
        // 3 tokens at 0.4 nano-dollars each cost 1.2, so 1 nano-dollar, not 3 × 0 (or 3 × 1).
        let p = ModelPrice::new(400_000, 0);
        let usage = Usage {
            input: 3,
            ..Usage::default()
        };
        assert_eq!(p.cost_femto(Provider::OpenAi, &usage), 1_200_000);
        assert_eq!(p.cost_nanos(Provider::OpenAi, &usage), 1);
    }

    #[test]
    fn huge_counts_saturate_instead_of_overflowing() {
        let p = ModelPrice::new(MAX_FEMTO, MAX_FEMTO);
        let usage = Usage {
            input: u64::MAX,
            output: u64::MAX,
            cache_read: u64::MAX,
            cache_write_5m: u64::MAX,
            cache_write_1h: u64::MAX,
            reasoning: 0,
        };
        assert_eq!(p.cost_nanos(Provider::Anthropic, &usage), u64::MAX);
    }
}
