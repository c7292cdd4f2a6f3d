//! Embedded, versioned price table and the cost of a usage record.
//!
//! - [`PriceTable::embedded`] is gw's copy of LiteLLM's prices (`prices.json`, made by
//!   [`generate_table`]); [`PriceTable::with_overrides`] adds or replaces models from config
//!   ([`PriceOverride`], USD per million tokens).
//! - [`PriceTable::cost`] prices a [`Usage`](crate::meter::Usage) in nano-dollars (1e-9 USD):
//!   rates are whole femto-dollars (1e-15 USD) per token, a request is summed exactly and rounded
//!   once, half up. An unknown model has no cost (`None`), never a silent 0.
//! - Input, output, cache read, 5-minute and 1-hour cache write each have their own rate; the
//!   rules for missing ones and for long-context tiers are on [`ModelPrice::rates`].
//! - Model names are matched as sent first, then in looser forms ([`normalize_model`]).

mod error;
mod generate;
mod model_price;
mod normalize;
mod price_override;
mod table;
mod unpriced;

pub use error::PricingError;
pub use generate::{generate_table, PRICES_JSON_PATH};
pub use model_price::{
    femto_to_nanos, ModelPrice, ResolvedRates, Tier, FEMTO_PER_NANO, FEMTO_PER_USD,
};
pub use normalize::normalize_model;
pub use price_override::PriceOverride;
pub use table::PriceTable;
pub use unpriced::UnpricedPolicy;
