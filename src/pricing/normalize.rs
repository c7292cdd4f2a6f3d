//! Model names as agents send them, reduced to the names of the price table.

use crate::meter::Provider;

/// Prefixes agents and routers put before a model name (`anthropic/claude-…`, `google/gemini-…`).
const PREFIXES: [&str; 4] = ["anthropic/", "openai/", "gemini/", "google/"];
/// Gemini's own resource prefix (`models/gemini-2.5-pro`).
const GEMINI_PREFIX: &str = "models/";

/// The normalised form of a model name: trimmed, lower-case, without provider prefixes
/// (`anthropic/`, `openai/`, `gemini/`, `google/`, and `models/` for Gemini) and without a
/// snapshot suffix (`-20250514`, `-2025-04-14`, `@20250514`, any `@version`).
///
/// A `-latest` suffix stays: it is only dropped at lookup, when the name with it is unknown
/// (see [`candidates`]).
pub fn normalize_model(provider: Provider, model: &str) -> String {
    let lower = model.trim().to_lowercase();
    strip_snapshot(strip_prefixes(provider, &lower)).to_owned()
}

/// The names to try for `model`, most exact first: the name as sent (lower-case), without
/// prefixes, without a snapshot suffix, then without `-latest`. So a dated snapshot the table
/// lists keeps its own price, and one it does not list gets its family's.
pub(crate) fn candidates(provider: Provider, model: &str) -> Vec<String> {
    let lower = model.trim().to_lowercase();
    // Claude Code names a context-window variant in brackets: `claude-opus-4-8[1m]`.
    let lower = match lower.split_once('[') {
        Some((base, rest)) if rest.ends_with(']') && !base.is_empty() => base.to_string(),
        _ => lower,
    };
    // A Bedrock id as sent first (its cross-region price), then its model's names.
    let sent = lower;
    let lower = strip_bedrock(&sent).to_owned();
    let unprefixed = strip_prefixes(provider, &lower);
    let undated = strip_snapshot(unprefixed);
    let unlatest = undated.strip_suffix("-latest").unwrap_or(undated);
    let mut names: Vec<String> = Vec::with_capacity(5);
    for name in [sent.as_str(), lower.as_str(), unprefixed, undated, unlatest] {
        if !name.is_empty() && names.last().is_none_or(|last| last != name) {
            names.push(name.to_owned());
        }
    }
    names
}

fn strip_prefixes(provider: Provider, mut name: &str) -> &str {
    loop {
        let gemini = (provider == Provider::Gemini).then_some(GEMINI_PREFIX);
        let Some(rest) = PREFIXES
            .into_iter()
            .chain(gemini)
            .find_map(|prefix| name.strip_prefix(prefix))
        else {
            return name;
        };
        name = rest;
    }
}

/// A Bedrock model id reduced to the model: `us.anthropic.claude-sonnet-4-5-20250929-v1:0` →
/// `claude-sonnet-4-5-20250929` (a geographic inference-profile prefix, the `anthropic.`
/// publisher, the `-vN[:M]` version). Other names are returned as they are.
pub(crate) fn strip_bedrock(name: &str) -> &str {
    let mut rest = name;
    if let Some((geo, after)) = rest.split_once('.') {
        let geo_like = (2..=7).contains(&geo.len())
            && geo.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
        if geo_like && after.starts_with("anthropic.") {
            rest = after;
        }
    }
    let Some(model) = rest.strip_prefix("anthropic.") else {
        return name;
    };
    if let Some(at) = model.rfind("-v") {
        let version = &model[at + 2..];
        let (major, minor) = version.split_once(':').unwrap_or((version, "0"));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if digits(major) && digits(minor) {
            return &model[..at];
        }
    }
    model
}

/// Drops one snapshot suffix: `@anything` (Vertex style), `-YYYYMMDD` or `-YYYY-MM-DD`.
fn strip_snapshot(name: &str) -> &str {
    if let Some((base, _)) = name.rsplit_once('@') {
        if !base.is_empty() {
            return base;
        }
    }
    if let Some((base, date)) = name.rsplit_once('-') {
        if is_date(date) {
            return base;
        }
    }
    // `-YYYY-MM-DD` is the last 11 bytes; all ASCII when it matches.
    if name.len() > 11 && name.is_char_boundary(name.len() - 11) {
        let (base, suffix) = name.split_at(name.len() - 11);
        if let Some(date) = suffix.strip_prefix('-') {
            let compact: String = date.split('-').collect();
            let b = date.as_bytes();
            if b[4] == b'-' && b[7] == b'-' && is_date(&compact) {
                return base;
            }
        }
    }
    name
}

/// `YYYYMMDD` with a plausible year 2000–2099, month and day.
fn is_date(s: &str) -> bool {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) || !s.starts_with("20") {
        return false;
    }
    let month: u32 = s[4..6].parse().unwrap_or(0);
    let day: u32 = s[6..8].parse().unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bedrock_ids_are_their_models() {
        for (id, want) in [
            (
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "claude-sonnet-4-5-20250929",
            ),
            (
                "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
                "claude-haiku-4-5-20251001",
            ),
            ("global.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
            (
                "anthropic.claude-3-5-haiku-20241022-v1:0",
                "claude-3-5-haiku-20241022",
            ),
            (
                "apac.anthropic.claude-sonnet-4-20250514-v1:0",
                "claude-sonnet-4-20250514",
            ),
            ("claude-sonnet-4-5", "claude-sonnet-4-5"),
            (
                "meta.llama3-70b-instruct-v1:0",
                "meta.llama3-70b-instruct-v1:0",
            ),
            ("anthropic/claude-x", "anthropic/claude-x"),
        ] {
            assert_eq!(strip_bedrock(id), want, "{id}");
        }
        assert!(candidates(
            Provider::Anthropic,
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        )
        .contains(&"claude-sonnet-4-5".to_string()));
    }

    #[test]
    fn normalises_names() {
        let cases = [
            (
                Provider::Anthropic,
                "claude-sonnet-4-5-20250929",
                "claude-sonnet-4-5",
            ),
            (
                Provider::Anthropic,
                "Claude-Sonnet-4-5",
                "claude-sonnet-4-5",
            ),
            (
                Provider::Anthropic,
                "anthropic/claude-opus-4-7",
                "claude-opus-4-7",
            ),
            (
                Provider::Anthropic,
                "claude-opus-4-5@20251101",
                "claude-opus-4-5",
            ),
            (
                Provider::Anthropic,
                "claude-opus-4-6@default",
                "claude-opus-4-6",
            ),
            (Provider::OpenAi, "gpt-4.1-2025-04-14", "gpt-4.1"),
            (Provider::OpenAi, "openai/gpt-5", "gpt-5"),
            (Provider::OpenAi, " gpt-5 ", "gpt-5"),
            (Provider::Gemini, "models/gemini-2.5-pro", "gemini-2.5-pro"),
            (
                Provider::Gemini,
                "google/gemini-2.5-flash",
                "gemini-2.5-flash",
            ),
            (
                Provider::Gemini,
                "gemini/gemini-2.5-flash",
                "gemini-2.5-flash",
            ),
            // `-latest` is not dropped by normalisation, only tried at lookup.
            (
                Provider::Anthropic,
                "claude-sonnet-4-6-latest",
                "claude-sonnet-4-6-latest",
            ),
            // `models/` is Gemini's only.
            (Provider::OpenAi, "models/gpt-5", "models/gpt-5"),
            // Not dates: OpenAI's old MMDD snapshots and other numbers stay.
            (Provider::OpenAi, "gpt-4-0613", "gpt-4-0613"),
            (Provider::OpenAi, "gpt-3.5-turbo-0125", "gpt-3.5-turbo-0125"),
            (
                Provider::Gemini,
                "gemini-2.5-flash-preview-09-2025",
                "gemini-2.5-flash-preview-09-2025",
            ),
            (Provider::Anthropic, "model-12345678", "model-12345678"),
            (Provider::Anthropic, "model-2025-13-01", "model-2025-13-01"),
        ];
        for (provider, name, want) in cases {
            assert_eq!(normalize_model(provider, name), want, "{name}");
        }
    }

    #[test]
    fn candidates_go_from_exact_to_loose() {
        assert_eq!(
            candidates(Provider::Gemini, "models/gemini-pro-latest"),
            [
                "models/gemini-pro-latest",
                "gemini-pro-latest",
                "gemini-pro"
            ]
        );
        assert_eq!(
            candidates(Provider::Anthropic, "anthropic/claude-sonnet-4-5-20250929"),
            [
                "anthropic/claude-sonnet-4-5-20250929",
                "claude-sonnet-4-5-20250929",
                "claude-sonnet-4-5"
            ]
        );
        assert_eq!(candidates(Provider::OpenAi, "gpt-5"), ["gpt-5"]);
        assert_eq!(
            candidates(Provider::Anthropic, "claude-sonnet-4-5[1m]"),
            ["claude-sonnet-4-5"],
            "Claude Code's context-window variant is priced as its model"
        );
        assert_eq!(candidates(Provider::Anthropic, "[1m]"), ["[1m]"]);
        assert!(candidates(Provider::OpenAi, "  ").is_empty());
        assert_eq!(candidates(Provider::Gemini, "models/"), ["models/"]);
    }

    #[test]
    fn odd_input_does_not_panic() {
        for name in [
            "@",
            "-",
            "é-2025-01-01",
            "ü@",
            "—-20250101",
            "-2025-01-01",
            "@2025",
        ] {
            let _ = normalize_model(Provider::Anthropic, name);
            let _ = candidates(Provider::Gemini, name);
        }
    }
}
