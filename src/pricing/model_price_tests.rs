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
