use super::*;

fn table() -> &'static PriceTable {
    PriceTable::embedded()
}

fn cost(provider: Provider, model: &str, usage: Usage) -> Option<u64> {
    table().cost(provider, model, &usage)
}

/// The usage of `tests/fixtures/anthropic_messages.json`.
const ANTHROPIC_FIXTURE: Usage = Usage {
    input: 1200,
    output: 85,
    cache_read: 50_000,
    cache_write_5m: 3000,
    cache_write_1h: 0,
    reasoning: 0,
};

/// The usage of `tests/fixtures/openai_responses.json` and `gemini.json`: a prompt of
/// 51,200 tokens of which 50,000 cached, 85 output tokens of which 40 reasoning.
const CACHED_PROMPT_FIXTURE: Usage = Usage {
    input: 1200,
    output: 85,
    cache_read: 50_000,
    cache_write_5m: 0,
    cache_write_1h: 0,
    reasoning: 40,
};

#[test]
fn embedded_table_parses_and_has_the_agents_models() {
    let t = table();
    assert!(t.version().starts_with("litellm-"), "{}", t.version());
    assert_eq!(
        t.source().strip_prefix("litellm "),
        t.version().strip_prefix("litellm-")
    );
    for (provider, model) in [
        (Provider::Anthropic, "claude-sonnet-4-5"),
        (Provider::Anthropic, "claude-sonnet-4-6"),
        (Provider::Anthropic, "claude-opus-4-7"),
        (Provider::Anthropic, "claude-opus-4-8"),
        (Provider::Anthropic, "claude-haiku-4-5"),
        (Provider::OpenAi, "gpt-5"),
        (Provider::OpenAi, "gpt-5-codex"),
        (Provider::OpenAi, "gpt-4.1"),
        (Provider::Gemini, "gemini-2.5-pro"),
        (Provider::Gemini, "gemini-2.5-flash"),
    ] {
        let (name, _) = t
            .resolve(provider, model)
            .unwrap_or_else(|| panic!("{model}"));
        assert_eq!(name, model, "{model} is in the table under its own name");
    }
    for provider in Provider::ALL {
        assert!(t.models(provider).count() > 10, "{provider}");
    }
}

#[test]
fn anthropic_fixture_by_hand() {
    // claude-sonnet-4-5: input 3e-6, cache read 3e-7, 5m write 3.75e-6, output 1.5e-5 USD/token.
    // 1200 × 3e-6 = 0.0036; 50000 × 3e-7 = 0.015; 3000 × 3.75e-6 = 0.01125;
    // 85 × 1.5e-5 = 0.001275; total 0.031125 USD.
    assert_eq!(
        cost(Provider::Anthropic, "claude-sonnet-4-5", ANTHROPIC_FIXTURE),
        Some(31_125_000)
    );
    assert_eq!(
        cost(
            Provider::Anthropic,
            "claude-sonnet-4-5-20250929",
            ANTHROPIC_FIXTURE
        ),
        Some(31_125_000)
    );
}

#[test]
fn one_hour_cache_writes_have_their_own_rate() {
    // 10 × 3e-6 + 10000 × 6e-6 + 100 × 1.5e-5 = 0.00003 + 0.06 + 0.0015 = 0.06153 USD.
    let usage = Usage {
        input: 10,
        cache_write_1h: 10_000,
        output: 100,
        ..Usage::default()
    };
    assert_eq!(
        cost(Provider::Anthropic, "claude-sonnet-4-5", usage),
        Some(61_530_000)
    );
    // Both TTLs in one request: 1000 × 3.75e-6 + 1000 × 6e-6 = 0.00975 USD.
    let usage = Usage {
        cache_write_5m: 1000,
        cache_write_1h: 1000,
        ..Usage::default()
    };
    assert_eq!(
        cost(Provider::Anthropic, "claude-sonnet-4-5", usage),
        Some(9_750_000)
    );
}

#[test]
fn gemini_long_context_tier_at_200k() {
    // gemini-2.5-pro: input 1.25e-6, cache read 1.25e-7, output 1e-5;
    // above 200k: 2.5e-6, 2.5e-7, 1.5e-5.
    let at = Usage {
        input: 150_000,
        cache_read: 50_000,
        output: 1000,
        reasoning: 400,
        ..Usage::default()
    };
    // Exactly 200,000 is not above: 0.1875 + 0.00625 + 0.01 = 0.20375 USD.
    assert_eq!(
        cost(Provider::Gemini, "gemini-2.5-pro", at),
        Some(203_750_000)
    );
    // One more token and every token is at the higher rates:
    // 150001 × 2.5e-6 + 50000 × 2.5e-7 + 1000 × 1.5e-5 = 0.3750025 + 0.0125 + 0.015.
    let above = Usage {
        input: 150_001,
        ..at
    };
    assert_eq!(
        cost(Provider::Gemini, "gemini-2.5-pro", above),
        Some(402_502_500)
    );
    // Output does not count towards the threshold.
    let long_answer = Usage {
        output: 100_000,
        reasoning: 0,
        ..at
    };
    // 0.1875 + 0.00625 + 100000 × 1e-5 = 1.19375 USD.
    assert_eq!(
        cost(Provider::Gemini, "gemini-2.5-pro", long_answer),
        Some(1_193_750_000)
    );
}

#[test]
fn anthropic_long_context_tier_counts_cache_reads_and_writes() {
    // claude-haiku-5-5 (the Claude model with a tier in this table): above 100k input tokens
    // input 1e-7 → 5e-7, cache read 1e-8 → 5e-8, 5m write 1.25e-7 → 6.25e-7,
    // 1h write 2e-7 → 1e-6, output 5e-7 → 2.5e-6.
    let at = Usage {
        input: 1000,
        cache_read: 90_000,
        cache_write_5m: 8000,
        cache_write_1h: 1000,
        output: 2000,
        reasoning: 0,
    };
    assert_eq!(at.total_input(), 100_000);
    // 0.0001 + 0.0009 + 0.001 + 0.0002 + 0.001 = 0.0032 USD.
    assert_eq!(
        cost(Provider::Anthropic, "claude-haiku-5-5", at),
        Some(3_200_000)
    );
    // 0.0005005 + 0.0045 + 0.005 + 0.001 + 0.005 = 0.0160005 USD.
    let above = Usage { input: 1001, ..at };
    assert_eq!(
        cost(Provider::Anthropic, "claude-haiku-5-5", above),
        Some(16_000_500)
    );
}

#[test]
fn openai_long_context_tier_at_272k() {
    // gpt-5.5: input 5e-6, cache read 5e-7, output 3e-5; above 272k: 1e-5, 1e-6, 4.5e-5.
    let at = Usage {
        input: 22_000,
        cache_read: 250_000,
        output: 1000,
        ..Usage::default()
    };
    // 0.11 + 0.125 + 0.03 = 0.265 USD.
    assert_eq!(cost(Provider::OpenAi, "gpt-5.5", at), Some(265_000_000));
    // 0.22001 + 0.25 + 0.045 = 0.51501 USD.
    let above = Usage {
        input: 22_001,
        ..at
    };
    assert_eq!(cost(Provider::OpenAi, "gpt-5.5", above), Some(515_010_000));
}

#[test]
fn openai_cached_input_and_reasoning_at_output_rate() {
    // gpt-5: input 1.25e-6, cached 1.25e-7, output 1e-5 (reasoning included):
    // 1200 × 1.25e-6 + 50000 × 1.25e-7 + 85 × 1e-5 = 0.0015 + 0.00625 + 0.00085 = 0.0086 USD.
    assert_eq!(
        cost(Provider::OpenAi, "gpt-5", CACHED_PROMPT_FIXTURE),
        Some(8_600_000)
    );
    let no_reasoning = Usage {
        reasoning: 0,
        ..CACHED_PROMPT_FIXTURE
    };
    assert_eq!(
        cost(Provider::OpenAi, "gpt-5", no_reasoning),
        Some(8_600_000)
    );
    // A model without a cached-input price bills cached tokens as input: gpt-4 at 3e-5 in,
    // 6e-5 out: 2000 × 3e-5 + 10 × 6e-5 = 0.0606 USD.
    let usage = Usage {
        input: 1000,
        cache_read: 1000,
        output: 10,
        ..Usage::default()
    };
    assert_eq!(cost(Provider::OpenAi, "gpt-4", usage), Some(60_600_000));
}

#[test]
fn gemini_fixture_thoughts_at_output_rate() {
    // Same rates as gpt-5 below 200k: 0.0086 USD.
    assert_eq!(
        cost(Provider::Gemini, "gemini-2.5-pro", CACHED_PROMPT_FIXTURE),
        Some(8_600_000)
    );
    // gemini-2.5-flash: 1200 × 3e-7 + 50000 × 3e-8 + 85 × 2.5e-6 = 0.00036 + 0.0015 + 0.0002125.
    assert_eq!(
        cost(Provider::Gemini, "gemini-2.5-flash", CACHED_PROMPT_FIXTURE),
        Some(2_072_500)
    );
}

#[test]
fn names_resolve_through_normalisation() {
    let t = table();
    let cases = [
        (
            Provider::Anthropic,
            "claude-sonnet-4-5-20250929",
            "claude-sonnet-4-5-20250929",
        ),
        (
            Provider::Anthropic,
            "claude-sonnet-4-5",
            "claude-sonnet-4-5",
        ),
        (
            Provider::Anthropic,
            "Claude-Sonnet-4-5",
            "claude-sonnet-4-5",
        ),
        (
            Provider::Anthropic,
            "claude-sonnet-4-6-20260101",
            "claude-sonnet-4-6",
        ),
        (
            Provider::Anthropic,
            "anthropic/claude-opus-4-8",
            "claude-opus-4-8",
        ),
        (
            Provider::Anthropic,
            "claude-opus-4-7@20260416",
            "claude-opus-4-7",
        ),
        (
            Provider::Anthropic,
            "claude-sonnet-4-6-latest",
            "claude-sonnet-4-6",
        ),
        (Provider::OpenAi, "gpt-4.1-2025-04-14", "gpt-4.1-2025-04-14"),
        (Provider::OpenAi, "gpt-4.1-2030-01-01", "gpt-4.1"),
        (Provider::OpenAi, "openai/gpt-5", "gpt-5"),
        (Provider::Gemini, "models/gemini-2.5-pro", "gemini-2.5-pro"),
        (
            Provider::Gemini,
            "google/gemini-2.5-flash",
            "gemini-2.5-flash",
        ),
        // `-latest` stays when the table knows the name with it.
        (
            Provider::Gemini,
            "gemini-flash-latest",
            "gemini-flash-latest",
        ),
        (Provider::Gemini, "gemini-2.5-pro-latest", "gemini-2.5-pro"),
    ];
    for (provider, model, want) in cases {
        let (name, _) = t
            .resolve(provider, model)
            .unwrap_or_else(|| panic!("{model}"));
        assert_eq!(name, want, "{model}");
    }
}

#[test]
fn unknown_models_have_no_cost() {
    let usage = ANTHROPIC_FIXTURE;
    assert_eq!(
        cost(Provider::Anthropic, "claude-nonexistent-9", usage),
        None
    );
    assert_eq!(cost(Provider::Anthropic, "", usage), None);
    // A model is priced under the provider the request went to only.
    assert_eq!(cost(Provider::Anthropic, "gpt-5", usage), None);
    assert_eq!(cost(Provider::OpenAi, "claude-sonnet-4-5", usage), None);
    // Free per token but priced per clip: left out of the table, so unknown, not $0.
    assert_eq!(cost(Provider::Gemini, "lyria-3-pro-preview", usage), None);
    // A known model with no usage costs 0, which is not the same as unknown.
    assert_eq!(cost(Provider::OpenAi, "gpt-5", Usage::default()), Some(0));
}

#[test]
fn integer_costs_add_up_without_drift() {
    // gpt-5-nano: 5e-8 USD per input token, 5e-9 per cached one: 55 nano-dollars a request.
    let usage = Usage {
        input: 1,
        cache_read: 1,
        ..Usage::default()
    };
    let one = cost(Provider::OpenAi, "gpt-5-nano", usage).unwrap();
    assert_eq!(one, 55);
    let total: u64 = (0..1_000_000).map(|_| one).sum();
    assert_eq!(total, 55_000_000); // exactly 0.055 USD
    let float_total: f64 = (0..1_000_000).map(|_| 5.5e-8).sum();
    assert_ne!(float_total, 0.055, "what summing floats would have given");
}

#[test]
fn overrides_add_and_replace_models() {
    let mut overrides = BTreeMap::new();
    overrides.insert("My-Model".to_owned(), PriceOverride::new(3.0, 15.0));
    overrides.insert("claude-sonnet-4-5".to_owned(), PriceOverride::new(1.0, 2.0));
    let t = table().with_overrides(&overrides);
    assert_eq!(t.version(), format!("{}+local", table().version()));
    assert!(!table().version().ends_with("+local"));

    // Added, for any provider, through normalisation: 1M input tokens at 3 USD per million.
    let million_in = Usage {
        input: 1_000_000,
        ..Usage::default()
    };
    assert_eq!(
        t.cost(Provider::OpenAi, "my-model", &million_in),
        Some(3_000_000_000)
    );
    assert_eq!(
        t.cost(Provider::Gemini, "models/my-model", &million_in),
        Some(3_000_000_000)
    );
    assert_eq!(
        table().cost(Provider::OpenAi, "my-model", &million_in),
        None
    );

    // Replaced, dated snapshot included; missing cache rates follow the Anthropic defaults:
    // 1200 × 1e-6 + 50000 × 1e-7 + 3000 × 1.25e-6 + 85 × 2e-6
    // = 0.0012 + 0.005 + 0.00375 + 0.00017 = 0.01012 USD.
    for model in ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929"] {
        assert_eq!(
            t.cost(Provider::Anthropic, model, &ANTHROPIC_FIXTURE),
            Some(10_120_000)
        );
    }
    // Others keep the table's price.
    assert_eq!(
        t.cost(Provider::Anthropic, "claude-sonnet-4-6", &ANTHROPIC_FIXTURE),
        Some(31_125_000)
    );

    // Applying more overrides keeps one `+local`; none at all changes nothing.
    let again = t.with_overrides(&overrides);
    assert_eq!(again.version(), t.version());
    assert_eq!(table().with_overrides(&BTreeMap::new()), *table());
}

#[test]
fn override_with_long_context_tier() {
    let mut entry = PriceOverride::new(1.0, 1.0);
    entry.above_tokens = Some(1000);
    entry.input_above = Some(2.0);
    entry.output_above = Some(3.0);
    let t = table().with_overrides(&BTreeMap::from([("tiered".to_owned(), entry)]));
    let at = Usage {
        input: 1000,
        output: 1000,
        ..Usage::default()
    };
    // 2000 × 1e-6 = 0.002 USD.
    assert_eq!(t.cost(Provider::OpenAi, "tiered", &at), Some(2_000_000));
    // 1001 × 2e-6 + 1000 × 3e-6 = 0.005002 USD.
    let above = Usage { input: 1001, ..at };
    assert_eq!(t.cost(Provider::OpenAi, "tiered", &above), Some(5_002_000));
}

#[test]
fn from_json_reports_bad_tables() {
    let not_json = PriceTable::from_json("{").unwrap_err().to_string();
    assert!(not_json.contains("gw debug update-prices"), "{not_json}");
    let provider = r#"{"source":"s","version":"v","models":{"mistral":{}}}"#;
    assert!(PriceTable::from_json(provider)
        .unwrap_err()
        .to_string()
        .contains("mistral"));
    let field = r#"{"source":"s","version":"v","models":{"openai":{"m":{"input_cost_per_token":1e-6,"output_cost_per_token":1e-6,"bogus":1}}}}"#;
    assert!(PriceTable::from_json(field)
        .unwrap_err()
        .to_string()
        .contains("bogus"));
    let price = r#"{"source":"s","version":"v","models":{"openai":{"m":{"input_cost_per_token":-1e-6,"output_cost_per_token":1e-6}}}}"#;
    let err = PriceTable::from_json(price).unwrap_err().to_string();
    assert!(
        err.contains("input_cost_per_token") && err.contains("[prices.\"m\"]"),
        "{err}"
    );
}

#[test]
fn a_route_alias_names_a_requests_model_and_only_on_its_route() {
    let table = PriceTable::embedded().with_aliases(
        Provider::Azure,
        &[("My-GPT5".to_string(), "gpt-5".to_string())].into(),
    );
    assert_eq!(table.requested(Provider::Azure, "my-gpt5"), "gpt-5");
    assert_eq!(table.requested(Provider::Azure, " MY-GPT5 "), "gpt-5");
    assert_eq!(
        table.requested(Provider::OpenAi, "my-gpt5"),
        "my-gpt5",
        "not off its route"
    );
    assert_eq!(table.requested(Provider::Azure, "other"), "other");
    // A lookup (what an answer names) never goes through an alias.
    assert_eq!(table.lookup(Provider::Azure, "my-gpt5"), None);
    assert!(table.version().ends_with("+local"));
}

#[test]
fn routes_with_prices_of_their_own_use_them_before_their_familys() {
    let t = table();
    let tokens = Usage {
        input: 100_000,
        ..Usage::default()
    };
    // Bedrock: a US cross-region profile is 10% dearer than the model in-region; `global.`
    // is not; an id the Bedrock section lacks costs its model's Anthropic price.
    assert_eq!(
        t.cost(
            Provider::Bedrock,
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            &tokens
        ),
        Some(330_000_000)
    );
    assert_eq!(
        t.cost(
            Provider::Bedrock,
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            &tokens
        ),
        Some(300_000_000)
    );
    assert_eq!(
        t.cost(
            Provider::Bedrock,
            "zz.anthropic.claude-sonnet-4-5-v9:0",
            &tokens
        ),
        t.cost(Provider::Anthropic, "claude-sonnet-4-5", &tokens)
    );
    // The same model named by Anthropic's API is Anthropic's price.
    assert_eq!(
        t.cost(Provider::Anthropic, "claude-sonnet-4-5-20250929", &tokens),
        Some(300_000_000)
    );
    // Azure: an EU data zone is 10% dearer; a zone the table lacks falls to the model.
    assert_eq!(
        t.cost(Provider::Azure, "eu/gpt-5", &tokens),
        Some(137_500_000)
    );
    assert_eq!(t.cost(Provider::Azure, "gpt-5", &tokens), Some(125_000_000));
    assert_eq!(
        t.cost(Provider::Azure, "mars/gpt-5", &tokens),
        Some(125_000_000)
    );
    // Config's entries win over a route's section, under the name sent or the model's.
    let local = t.with_overrides(&BTreeMap::from([(
        "claude-sonnet-4-5".to_string(),
        toml::from_str::<PriceOverride>("input = 1.0\noutput = 2.0").unwrap(),
    )]));
    assert_eq!(
        local.cost(
            Provider::Bedrock,
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            &tokens
        ),
        Some(100_000_000)
    );
}

#[test]
fn a_bedrock_profile_the_table_lacks_costs_the_dearest_listed_profile_of_its_model() {
    let t = table();
    let tokens = Usage {
        input: 100_000,
        ..Usage::default()
    };
    // The table lists us./eu./jp./au./global. Sonnet 4.5 but not apac.: not the in-region price.
    assert!(t
        .models(Provider::Bedrock)
        .all(|(name, _)| name != "apac.anthropic.claude-sonnet-4-5-20250929-v1:0"));
    let apac = t.cost(
        Provider::Bedrock,
        "apac.anthropic.claude-sonnet-4-5-20250929-v1:0",
        &tokens,
    );
    let us = t.cost(
        Provider::Bedrock,
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        &tokens,
    );
    assert_eq!(apac, us);
    assert!(apac > t.cost(Provider::Anthropic, "claude-sonnet-4-5", &tokens));
    // Every model tier gw pins, in every geography it pins, is priced at least as dear as the
    // model in-region.
    for geo in ["us", "eu", "apac", "jp", "au", "global", "us-gov"] {
        for model in [
            "claude-haiku-4-5-20251001-v1:0",
            "claude-sonnet-4-5-20250929-v1:0",
            "claude-opus-4-6-v1",
        ] {
            let id = format!("{geo}.anthropic.{model}");
            let in_region = t
                .cost(Provider::Bedrock, &format!("anthropic.{model}"), &tokens)
                .unwrap();
            let profile = t.cost(Provider::Bedrock, &id, &tokens).unwrap();
            assert!(profile >= in_region, "{id}");
        }
    }
}
