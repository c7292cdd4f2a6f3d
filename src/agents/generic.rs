//! `gw run -- <command>`: every provider's base-URL variable, and the session key as the API key
//! for each provider whose key gw holds. `gw proxy` prints the same variables.

use super::{WireContext, WireError, Wiring};
use crate::meter::{Provider, PROVIDERS};

pub fn wire(ctx: &WireContext) -> Result<Wiring, WireError> {
    let mut w = Wiring::default();
    for (name, value) in exports(
        &|p| ctx.base_urls.get(&p).cloned(),
        &|p| ctx.holds(p),
        ctx.session_key,
    ) {
        w.set(name, value);
    }
    Ok(w)
}

/// The variables that point any program at the proxy, in order: each provider's base-URL
/// variables (`base` gives its base URL, `None` for a provider with no upstream, whose
/// variables are left as the user set them), the session key in the first key variable of each
/// provider `holds` says gw has the key of, then `GW_SESSION_KEY`.
pub fn exports(
    base: &dyn Fn(Provider) -> Option<String>,
    holds: &dyn Fn(Provider) -> bool,
    session_key: &str,
) -> Vec<(&'static str, String)> {
    let mut exports = Vec::new();
    for info in PROVIDERS {
        let Some(base) = base(info.provider) else {
            continue;
        };
        for (name, suffix) in info.base_url_vars {
            exports.push((*name, format!("{base}{suffix}")));
        }
    }
    for info in PROVIDERS {
        if let Some(name) = info.key_vars.first().filter(|_| holds(info.provider)) {
            exports.push((*name, session_key.to_string()));
        }
    }
    exports.push(("GW_SESSION_KEY", session_key.to_string()));
    exports
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::tests::Fixture;

    #[test]
    fn every_base_url_then_the_keys_gw_holds() {
        let mut fixture = Fixture::new();
        // A provider with no upstream (Azure unconfigured) has no base: its variables stay
        // the user's.
        fixture.bases.remove(&Provider::Azure);
        fixture.bases.remove(&Provider::Bedrock);
        let env = |_: &str| None;
        let held = [Provider::Gemini, Provider::Anthropic];
        let w = wire(&fixture.context(&held, &env)).unwrap();
        let env: Vec<(&str, &str)> = w.env.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        assert_eq!(
            env,
            [
                ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/anthropic"),
                ("OPENAI_BASE_URL", "http://127.0.0.1:9/openai/v1"),
                ("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:9/gemini"),
                ("GEMINI_BASE_URL", "http://127.0.0.1:9/gemini"),
                ("GOOGLE_VERTEX_BASE_URL", "http://127.0.0.1:9/vertex"),
                ("ANTHROPIC_API_KEY", "gws-key"),
                ("GEMINI_API_KEY", "gws-key"),
                ("GW_SESSION_KEY", "gws-key"),
            ]
        );
    }
}

#[cfg(test)]
mod azure_tests {
    use super::*;
    use crate::agents::tests::Fixture;

    #[test]
    fn an_azure_upstream_exports_its_endpoint_and_key() {
        let fixture = Fixture::new();
        let env = |_: &str| None;
        let w = wire(&fixture.context(&[Provider::Azure], &env)).unwrap();
        let get = |name: &str| {
            w.env
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            get("AZURE_OPENAI_ENDPOINT"),
            Some("http://127.0.0.1:9/azure")
        );
        assert_eq!(get("AZURE_OPENAI_API_KEY"), Some("gws-key"));
    }
}
