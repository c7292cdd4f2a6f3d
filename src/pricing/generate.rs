//! Generates gw's price table (`src/pricing/prices.json`) from LiteLLM's price data.
//!
//! Prices are facts gw does not invent: they come from LiteLLM's
//! `model_prices_and_context_window_backup.json`, which ships inside the `litellm` wheel on PyPI.
//! To regenerate the table:
//!
//! 1. `pip download litellm --no-deps -d /tmp/litellm` (note the wheel's version, e.g.
//!    `litellm-1.110.2-….whl` is 1.110.2);
//! 2. `cd /tmp/litellm && unzip -o litellm-*.whl litellm/model_prices_and_context_window_backup.json`;
//! 3. from the repository root: `gw debug update-prices --from
//!    /tmp/litellm/litellm/model_prices_and_context_window_backup.json --source-version 1.110.2`,
//!    which writes [`PRICES_JSON_PATH`];
//! 4. `cargo test --lib pricing` (tests pin some prices: update those that moved, and say so in
//!    the changelog), then commit `prices.json`.
//!
//! What is kept: every entry with `litellm_provider` `anthropic`, `openai`, `gemini`, `bedrock`
//! or `bedrock_converse` (under `bedrock`, by the model id agents send, e.g.
//! `us.anthropic.claude-sonnet-4-5-20250929-v1:0`, whose cross-region price differs from the
//! in-region one) or `azure` (under `azure`, without the `azure/` prefix: `eu/gpt-5.1` is a
//! data-zone price) and
//! `mode` `chat` or `responses` (Codex's models are `responses`) that has both an input and an
//! output price per token (an entry free per token but priced per image or second, like Lyria,
//! is left out: gw would wrongly call it free); Gemini API names missing from `gemini` are filled in from
//! `vertex_ai-language-models` (same model ids; where both list a model their base prices
//! agree). Of each entry only the per-token fields gw prices are kept: input, output, cache read,
//! 5-minute and 1-hour cache write, reasoning (only where it differs from output), and their
//! `*_above_<N>k_tokens` long-context variants. Batch, flex, priority, audio, image and 12-hour
//! cache prices are dropped: gw meters none of them. Names lose LiteLLM's `gemini/` and
//! `vertex_ai/` prefixes; when two entries end up with one name the provider's own prefixed
//! entry (`gemini/x`) wins over a bare one, and `gemini` over Vertex.
//!
//! Output: JSON with sorted keys, one model per line, prices as the shortest decimal of their
//! exact femto-dollar value, so a regeneration's diff shows exactly the prices that moved.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::meter::Provider;

use super::model_price::{femto_from_usd_per_token, parse_field, usd_per_token, Rate};
use super::{PriceTable, PricingError};

pub(crate) use super::model_price::MAX_OUTPUT_FIELD;

/// Where the generated table lives, relative to the repository root.
pub const PRICES_JSON_PATH: &str = "src/pricing/prices.json";

/// One LiteLLM entry chosen for a model name, with the rank of where it came from
/// (lower wins) and its key, so that the choice never depends on file order.
struct Chosen {
    rank: u8,
    key: String,
    fields: BTreeMap<String, u64>,
    /// LiteLLM's `max_output_tokens`: what a strict budget reserves for a request that sets
    /// no output limit.
    max_output: Option<u64>,
}

/// Turns LiteLLM's `model_prices_and_context_window_backup.json` into the text of gw's
/// `prices.json`; `source_version` is the litellm wheel's version, e.g. `1.110.2`.
pub fn generate_table(litellm_json: &str, source_version: &str) -> Result<String, PricingError> {
    let valid_version = !source_version.is_empty()
        && source_version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
        && source_version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'));
    if !valid_version {
        return Err(PricingError::BadSourceVersion(source_version.to_owned()));
    }
    let entries: Map<String, Value> =
        serde_json::from_str(litellm_json).map_err(|source| PricingError::Json {
            what: "LiteLLM's price JSON",
            hint: "pass litellm/model_prices_and_context_window_backup.json from the litellm wheel",
            source,
        })?;

    let mut chosen: BTreeMap<(&'static str, String), Chosen> = BTreeMap::new();
    for (key, entry) in &entries {
        let Some(entry) = entry.as_object() else {
            continue;
        };
        let Some((provider, name, rank)) = classify(key, entry) else {
            continue;
        };
        let Some(fields) = token_prices(key, entry)? else {
            continue;
        };
        let better = match chosen.get(&(provider.as_str(), name.clone())) {
            Some(have) => (rank, key.as_str()) < (have.rank, have.key.as_str()),
            None => true,
        };
        if better {
            let key = key.clone();
            let max_output = entry
                .get(MAX_OUTPUT_FIELD)
                .and_then(Value::as_u64)
                .filter(|n| *n > 0);
            chosen.insert(
                (provider.as_str(), name),
                Chosen {
                    rank,
                    key,
                    fields,
                    max_output,
                },
            );
        }
    }
    if chosen.is_empty() {
        return Err(PricingError::NoModels);
    }

    let mut by_provider: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for (
        (provider, name),
        Chosen {
            fields, max_output, ..
        },
    ) in chosen
    {
        let mut fields: BTreeMap<String, f64> = fields
            .into_iter()
            .map(|(field, femto)| (field, usd_per_token(femto)))
            .collect();
        if let Some(max_output) = max_output {
            fields.insert(MAX_OUTPUT_FIELD.to_string(), max_output as f64);
        }
        by_provider
            .entry(provider)
            .or_default()
            .push((json_string(&name), to_json(&fields)));
    }
    let mut out = String::from("{\n  \"models\": {\n");
    let provider_count = by_provider.len();
    for (i, (provider, models)) in by_provider.into_iter().enumerate() {
        out.push_str(&format!("    {}: {{\n", json_string(provider)));
        let model_count = models.len();
        for (j, (name, fields)) in models.into_iter().enumerate() {
            let comma = if j + 1 < model_count { "," } else { "" };
            out.push_str(&format!("      {name}: {fields}{comma}\n"));
        }
        let comma = if i + 1 < provider_count { "," } else { "" };
        out.push_str(&format!("    }}{comma}\n"));
    }
    out.push_str("  },\n");
    let source = format!("litellm {source_version}");
    let version = format!("litellm-{source_version}");
    out.push_str(&format!("  \"source\": {},\n", json_string(&source)));
    out.push_str(&format!("  \"version\": {}\n}}\n", json_string(&version)));

    // Never hand out a table gw cannot read.
    PriceTable::from_json(&out)?;
    Ok(out)
}

/// The provider, gw's name and the precedence rank of a LiteLLM entry gw prices, if it is one.
fn classify(key: &str, entry: &Map<String, Value>) -> Option<(Provider, String, u8)> {
    let mode = entry.get("mode").and_then(Value::as_str);
    if !matches!(mode, Some("chat" | "responses")) {
        return None;
    }
    let key = key.to_lowercase();
    let litellm_provider = entry.get("litellm_provider").and_then(Value::as_str)?;
    // Rank: the provider's own section first, its canonical key form before the other one.
    // Bedrock's model ids, as agents send them: geographic inference profiles (`us.`, `eu.`,
    // `jp.`…) cost more than in-region calls, and every Bedrock model a Converse call may name.
    // Region-specific keys (`bedrock/us-gov-east-1/…`) name no model id an agent sends.
    if matches!(litellm_provider, "bedrock" | "bedrock_converse") {
        if key.contains('/') || key.is_empty() {
            return None;
        }
        return Some((Provider::Bedrock, key, 0));
    }
    // Azure's own prices, for the data zones (`eu/gpt-5.1`) that cost more than OpenAI's.
    if litellm_provider == "azure" {
        let name = key.strip_prefix("azure/").filter(|n| !n.is_empty())?;
        return Some((Provider::Azure, name.to_owned(), 0));
    }
    let (provider, prefix, canonical_prefixed, section_rank) = match litellm_provider {
        "anthropic" => (Provider::Anthropic, "anthropic/", false, 0),
        "openai" => (Provider::OpenAi, "openai/", false, 0),
        "gemini" => (Provider::Gemini, "gemini/", true, 0),
        "vertex_ai-language-models" => (Provider::Gemini, "vertex_ai/", false, 2),
        _ => return None,
    };
    let (name, prefixed) = match key.strip_prefix(prefix) {
        Some(rest) => (rest.to_owned(), true),
        None => (key.clone(), false),
    };
    if section_rank > 0 && !name.starts_with("gemini-") {
        return None;
    }
    if name.is_empty() {
        return None;
    }
    Some((
        provider,
        name,
        section_rank + u8::from(prefixed != canonical_prefixed),
    ))
}

/// The per-token prices gw keeps of one entry, in femto-dollars by LiteLLM field name;
/// `None` when the entry has no input or output price per token (not a token-priced model).
fn token_prices(
    key: &str,
    entry: &Map<String, Value>,
) -> Result<Option<BTreeMap<String, u64>>, PricingError> {
    let mut fields: BTreeMap<String, u64> = BTreeMap::new();
    let mut input_output = (false, false);
    for (field, value) in entry {
        let Some((rate, above)) = parse_field(field) else {
            continue;
        };
        // LiteLLM writes `null` for "no price"; anything else that is not a number is no price either.
        let Some(usd) = value.as_f64() else {
            continue;
        };
        let femto = femto_from_usd_per_token(usd).map_err(|reason| PricingError::BadPrice {
            model: key.to_owned(),
            field: field.clone(),
            value: usd,
            reason,
        })?;
        match (rate, above) {
            (Rate::Input, None) => input_output.0 = true,
            (Rate::Output, None) => input_output.1 = true,
            _ => {}
        }
        fields.insert(field.clone(), femto);
    }
    if input_output != (true, true) {
        return Ok(None);
    }
    // Free per token but priced per image, second, … (e.g. Lyria): gw cannot price it, and a
    // cost of 0 would be a lie; leave it out so that it is reported as unknown.
    let priced_otherwise = entry
        .iter()
        .any(|(field, value)| field.contains("cost") && value.as_f64().is_some_and(|v| v > 0.0));
    if fields.values().all(|femto| *femto == 0) && priced_otherwise {
        return Ok(None);
    }
    let reasoning = Rate::Reasoning.litellm_field();
    if fields.get(reasoning) == fields.get(Rate::Output.litellm_field()) {
        fields.remove(reasoning);
    }
    Ok(Some(fields))
}

fn json_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

fn to_json(fields: &BTreeMap<String, f64>) -> String {
    serde_json::to_string(fields).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::Usage;

    /// A few entries in LiteLLM's shape, each exercising one rule.
    const LITELLM: &str = r#"{
        "sample_spec": {"litellm_provider": "one of https://docs.litellm.ai/docs/providers",
                        "mode": "one of: chat, embedding, …", "input_cost_per_token": 0.0,
                        "output_cost_per_token": 0.0},
        "claude-x-20250101": {"litellm_provider": "anthropic", "mode": "chat",
            "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
            "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
            "cache_creation_input_token_cost_above_1hr": 6e-06,
            "input_cost_per_token_batches": 1.5e-06,
            "input_cost_per_token_above_200k_tokens": 6e-06,
            "output_cost_per_token_above_200k_tokens": 2.25e-05,
            "input_cost_per_token_above_200k_tokens_priority": 9e-06,
            "max_tokens": 64000, "max_output_tokens": 64000, "supports_vision": true},
        "anthropic.claude-x-v1:0": {"litellm_provider": "bedrock", "mode": "chat",
            "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
        "us.anthropic.claude-x-v1:0": {"litellm_provider": "bedrock_converse", "mode": "chat",
            "input_cost_per_token": 3.3e-06, "output_cost_per_token": 1.65e-05},
        "bedrock/us-gov-east-1/anthropic.claude-x-v1:0": {"litellm_provider": "bedrock",
            "mode": "chat", "input_cost_per_token": 3.6e-06, "output_cost_per_token": 1.8e-05},
        "azure/eu/gpt-x": {"litellm_provider": "azure", "mode": "responses",
            "input_cost_per_token": 1.375e-06, "output_cost_per_token": 1.1e-05},
        "azure/gpt-x": {"litellm_provider": "azure", "mode": "responses",
            "input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05},
        "gpt-x": {"litellm_provider": "openai", "mode": "responses",
            "input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05,
            "output_cost_per_reasoning_token": 1e-05, "cache_read_input_token_cost": 1.25e-07,
            "cache_creation_input_token_cost_above_12hr": 1e-06, "search_context_cost_per_query": 0.01},
        "gpt-y": {"litellm_provider": "openai", "mode": "chat",
            "input_cost_per_token": 1e-06, "output_cost_per_token": 4e-06,
            "output_cost_per_reasoning_token": 8e-06, "cache_read_input_token_cost": null},
        "gpt-image-x": {"litellm_provider": "openai", "mode": "image_generation",
            "input_cost_per_token": 5e-06, "output_cost_per_token": 4e-05},
        "openai/container": {"litellm_provider": "openai", "mode": "chat"},
        "gemini/gemini-z": {"litellm_provider": "gemini", "mode": "chat",
            "input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05,
            "input_cost_per_token_above_200k_tokens": 2.5e-06},
        "gemini-z": {"litellm_provider": "gemini", "mode": "chat",
            "input_cost_per_token": 9e-06, "output_cost_per_token": 9e-06},
        "vertex_ai/gemini-z": {"litellm_provider": "vertex_ai-language-models", "mode": "chat",
            "input_cost_per_token": 8e-06, "output_cost_per_token": 8e-06},
        "gemini-v": {"litellm_provider": "vertex_ai-language-models", "mode": "chat",
            "input_cost_per_token": 3e-07, "output_cost_per_token": 2.5e-06},
        "medlm-x": {"litellm_provider": "vertex_ai-language-models", "mode": "chat",
            "input_cost_per_token": 3e-07, "output_cost_per_token": 2.5e-06},
        "gemini/lyria-x": {"litellm_provider": "gemini", "mode": "chat",
            "input_cost_per_token": 0, "output_cost_per_token": 0, "output_cost_per_image": 0.04},
        "gemini/gemma-free": {"litellm_provider": "gemini", "mode": "chat",
            "input_cost_per_token": 0, "output_cost_per_token": 0},
        "xai/grok-x": {"litellm_provider": "xai", "mode": "chat",
            "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05}
    }"#;

    const EXPECTED: &str = r#"{
  "models": {
    "anthropic": {
      "claude-x-20250101": {"cache_creation_input_token_cost":3.75e-6,"cache_creation_input_token_cost_above_1hr":6e-6,"cache_read_input_token_cost":3e-7,"input_cost_per_token":3e-6,"input_cost_per_token_above_200k_tokens":6e-6,"max_output_tokens":64000.0,"output_cost_per_token":0.000015,"output_cost_per_token_above_200k_tokens":0.0000225}
    },
    "azure": {
      "eu/gpt-x": {"input_cost_per_token":1.375e-6,"output_cost_per_token":0.000011},
      "gpt-x": {"input_cost_per_token":1.25e-6,"output_cost_per_token":0.00001}
    },
    "bedrock": {
      "anthropic.claude-x-v1:0": {"input_cost_per_token":3e-6,"output_cost_per_token":0.000015},
      "us.anthropic.claude-x-v1:0": {"input_cost_per_token":3.3e-6,"output_cost_per_token":0.0000165}
    },
    "gemini": {
      "gemini-v": {"input_cost_per_token":3e-7,"output_cost_per_token":2.5e-6},
      "gemini-z": {"input_cost_per_token":1.25e-6,"input_cost_per_token_above_200k_tokens":2.5e-6,"output_cost_per_token":0.00001},
      "gemma-free": {"input_cost_per_token":0.0,"output_cost_per_token":0.0}
    },
    "openai": {
      "gpt-x": {"cache_read_input_token_cost":1.25e-7,"input_cost_per_token":1.25e-6,"output_cost_per_token":0.00001},
      "gpt-y": {"input_cost_per_token":1e-6,"output_cost_per_reasoning_token":8e-6,"output_cost_per_token":4e-6}
    }
  },
  "source": "litellm 1.2.3",
  "version": "litellm-1.2.3"
}
"#;

    #[test]
    fn keeps_only_what_gw_prices() {
        let out = generate_table(LITELLM, "1.2.3").unwrap();
        assert_eq!(out, EXPECTED);
    }

    #[test]
    fn generated_table_reads_back_and_prices() {
        let table = PriceTable::from_json(&generate_table(LITELLM, "1.2.3").unwrap()).unwrap();
        assert_eq!(table.version(), "litellm-1.2.3");
        assert_eq!(
            table
                .lookup(Provider::Anthropic, "claude-x-20250101")
                .unwrap()
                .max_output,
            Some(64_000)
        );
        assert_eq!(table.source(), "litellm 1.2.3");
        // gpt-y: 60 × 4e-6 + 40 × 8e-6 (its own reasoning rate) = 0.00056 USD.
        let usage = Usage {
            output: 100,
            reasoning: 40,
            ..Usage::default()
        };
        assert_eq!(table.cost(Provider::OpenAi, "gpt-y", &usage), Some(560_000));
        // The prefixed Gemini entry won: 1000 × 1.25e-6 = 0.00125 USD.
        let usage = Usage {
            input: 1000,
            ..Usage::default()
        };
        assert_eq!(
            table.cost(Provider::Gemini, "gemini-z", &usage),
            Some(1_250_000)
        );
        assert_eq!(table.cost(Provider::Gemini, "lyria-x", &usage), None);
        assert_eq!(table.cost(Provider::Gemini, "medlm-x", &usage), None);
        assert_eq!(table.cost(Provider::Gemini, "gemma-free", &usage), Some(0));
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        let err =
            |json: &str, version: &str| generate_table(json, version).unwrap_err().to_string();
        assert!(err(LITELLM, "").contains("--source-version"));
        assert!(err(LITELLM, "latest").contains("not a version"));
        assert!(err(LITELLM, "1.2 3").contains("not a version"));
        assert!(err("[1, 2]", "1.2.3").contains("model_prices_and_context_window_backup.json"));
        assert!(err("{\"x\": {}}", "1.2.3").contains("no priced chat model"));
        let too_fine = r#"{"gpt-q": {"litellm_provider": "openai", "mode": "chat",
            "input_cost_per_token": 3.3333333333e-07, "output_cost_per_token": 1e-06}}"#;
        let message = err(too_fine, "1.2.3");
        assert!(
            message.contains("gpt-q")
                && message.contains("input_cost_per_token")
                && message.contains("finer"),
            "{message}"
        );
    }
}
