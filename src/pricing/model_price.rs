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
    /// The most output tokens the model gives one request (LiteLLM's `max_output_tokens`), when
    /// known: a strict budget's bound for a request that sets no limit.
    pub max_output: Option<u64>,
}

/// The table field of [`ModelPrice::max_output`]: a token count, not a price.
pub const MAX_OUTPUT_FIELD: &str = "max_output_tokens";

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
            max_output: None,
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

    /// The most a request with at most `input` input tokens and `output` output tokens can cost,
    /// in nano-dollars rounded up: every input token at the dearest rate that can apply to it
    /// (a cache write, 5-minute or 1-hour, only when the request `caches`; the long-context
    /// tier once `input` crosses it), every output token at the dearer of the output and
    /// reasoning rates.
    pub fn upper_bound_nanos(
        &self,
        provider: Provider,
        input: u64,
        output: u64,
        caches: bool,
    ) -> u64 {
        let as_input = [
            Usage {
                input,
                ..Usage::default()
            },
            Usage {
                cache_write_5m: input,
                ..Usage::default()
            },
            Usage {
                cache_write_1h: input,
                ..Usage::default()
            },
        ];
        let worst = as_input[..if caches { 3 } else { 1 }]
            .iter()
            .flat_map(|u| {
                [0, output].map(|reasoning| Usage {
                    output,
                    reasoning,
                    ..*u
                })
            })
            .map(|u| self.cost_femto(provider, &u))
            .max()
            .unwrap_or(0);
        let per_nano = u128::from(FEMTO_PER_NANO);
        u64::try_from(worst.div_ceil(per_nano)).unwrap_or(u64::MAX)
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
        let mut max_output = None;
        for (name, value) in fields {
            if name == MAX_OUTPUT_FIELD {
                if !(value.is_finite() && value >= 1.0 && value.fract() == 0.0 && value < 1e12) {
                    return Err(PricingError::BadModel {
                        model: model.to_owned(),
                        problem: format!("has {MAX_OUTPUT_FIELD} {value}, not a token count"),
                    });
                }
                max_output = Some(value as u64);
                continue;
            }
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
            max_output,
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
#[path = "model_price_tests.rs"]
mod tests;
