//! What can go wrong reading a price table, generating one, or checking a price override.

/// Errors of the pricing part. Each message says what to do next.
#[derive(thiserror::Error, Debug)]
pub enum PricingError {
    /// The input is not JSON of the expected shape (LiteLLM's file, or gw's own `prices.json`).
    #[error("cannot read {what}: {source}; {hint}")]
    Json {
        what: &'static str,
        hint: &'static str,
        #[source]
        source: serde_json::Error,
    },

    /// A price in the table is malformed (negative, not a number, too large or too fine).
    #[error(
        "price {field} = {value} of model \"{model}\" is not usable: {reason}; \
         fix the entry in the price data, or give the model a price in gw's config ([prices.\"{model}\"])"
    )]
    BadPrice {
        model: String,
        field: String,
        value: f64,
        reason: &'static str,
    },

    /// A model entry of gw's own table is incomplete or has a field gw does not know.
    #[error(
        "model \"{model}\" in the price table {problem}; regenerate the table with \
         `gw debug update-prices --from <model_prices_and_context_window_backup.json> --source-version <litellm version>`"
    )]
    BadModel { model: String, problem: String },

    /// gw's own table names a provider gw does not route.
    #[error("the price table has a section for unknown provider \"{0}\"; expected anthropic, openai or gemini")]
    UnknownProvider(String),

    /// The LiteLLM file had no chat model of any provider gw prices.
    #[error(
        "no priced chat model of anthropic, openai or gemini found; pass LiteLLM's \
         litellm/model_prices_and_context_window_backup.json (from `pip download litellm --no-deps`)"
    )]
    NoModels,

    /// The LiteLLM version given for the generated table is empty or odd.
    #[error("source version \"{0}\" is not a version; pass the litellm wheel's version, e.g. --source-version 1.77.3")]
    BadSourceVersion(String),

    /// A `[prices."<model>"]` entry of gw's config does not make sense.
    #[error(
        "price override for \"{model}\": {reason}; prices are USD per million tokens, \
         e.g. [prices.\"{model}\"] input = 3.0, output = 15.0"
    )]
    BadOverride { model: String, reason: String },
}
