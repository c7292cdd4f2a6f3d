//! `[proxy]` settings that decide what a session under a budget or a model allow-list lets
//! through: endpoints gw does not meter, models gw has no price for, and how much of a request
//! body gw reads to check it.
//!
//! ```toml
//! [proxy]
//! allow_unmetered = ["/anthropic/v1/files*"]
//! unpriced = { charge_as = "claude-opus-4-1" }
//! max_body_mib = 32
//! ```

use crate::meter::Provider;
use crate::pricing::{PriceTable, UnpricedPolicy};

/// The largest request body gw reads by default to find its model: 32 MiB, far above any
/// real agent's request (Claude Code's run to a few MiB with images).
pub const DEFAULT_MAX_BODY_MIB: u64 = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyPolicy {
    /// Proxy paths (with gw's provider prefix, no query) gw lets through unmetered while a
    /// budget applies; an entry ending in `*` is a prefix.
    pub allow_unmetered: Vec<String>,
    pub unpriced: UnpricedPolicy,
    pub max_body_bytes: usize,
}

impl Default for ProxyPolicy {
    fn default() -> Self {
        ProxyPolicy {
            allow_unmetered: Vec::new(),
            unpriced: UnpricedPolicy::default(),
            max_body_bytes: (DEFAULT_MAX_BODY_MIB << 20) as usize,
        }
    }
}

impl ProxyPolicy {
    /// Builds and checks the policy; errors are `(config key, what to write instead)`.
    pub fn new(
        allow_unmetered: Vec<String>,
        unpriced: Option<UnpricedPolicy>,
        max_body_mib: Option<u64>,
        prices: impl FnOnce() -> PriceTable,
    ) -> Result<ProxyPolicy, (String, String)> {
        for entry in &allow_unmetered {
            let known = entry
                .strip_prefix('/')
                .and_then(|rest| rest.split('/').next())
                .and_then(Provider::from_prefix)
                .is_some();
            if !known || entry.contains('?') {
                return Err((
                    "proxy.allow_unmetered".into(),
                    format!("{entry:?} is not a gw proxy path; write it with its provider prefix and no query, like \"/anthropic/v1/files*\""),
                ));
            }
        }
        let unpriced = unpriced.unwrap_or_default();
        if let UnpricedPolicy::ChargeAs(model) = &unpriced {
            // Built only here: parsing the price table costs more than the rest of a config.
            if prices().lookup_any(None, model).is_none() {
                return Err((
                    "proxy.unpriced".into(),
                    format!("charge_as names {model:?}, which gw has no price for either; name a priced model, or price it with [prices.\"{model}\"]"),
                ));
            }
        }
        let mib = max_body_mib.unwrap_or(DEFAULT_MAX_BODY_MIB);
        if !(1..=1024).contains(&mib) {
            return Err((
                "proxy.max_body_mib".into(),
                format!("{mib} is out of range; give 1 to 1024 (MiB)"),
            ));
        }
        Ok(ProxyPolicy {
            allow_unmetered,
            unpriced,
            max_body_bytes: (mib << 20) as usize,
        })
    }

    /// Whether `path` (a normalised proxy path, provider prefix included) is allowed through
    /// unmetered.
    pub fn allows_unmetered(&self, path: &str) -> bool {
        self.allow_unmetered
            .iter()
            .any(|entry| match entry.strip_suffix('*') {
                // Whole segments: `/v1/files*` is `/v1/files` and below, not `/v1/filesX`.
                Some(prefix) if prefix.ends_with('/') => path.starts_with(prefix),
                Some(prefix) => {
                    path == prefix
                        || path
                            .strip_prefix(prefix)
                            .is_some_and(|rest| rest.starts_with('/'))
                }
                None => path == entry,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_entries_and_matches_paths() {
        let table = || PriceTable::embedded().clone();
        let p = ProxyPolicy::new(
            vec![
                "/anthropic/v1/files*".into(),
                "/openai/v1/embeddings".into(),
            ],
            Some(UnpricedPolicy::ChargeAs("claude-sonnet-4-5".into())),
            None,
            table,
        )
        .unwrap();
        assert!(p.allows_unmetered("/anthropic/v1/files/f_1"));
        assert!(p.allows_unmetered("/anthropic/v1/files"));
        assert!(
            !p.allows_unmetered("/anthropic/v1/filesX"),
            "whole segments only"
        );
        assert!(p.allows_unmetered("/openai/v1/embeddings"));
        assert!(!p.allows_unmetered("/openai/v1/embeddings/x"));
        assert!(!p.allows_unmetered("/anthropic/v1/messages/batches"));
        assert_eq!(p.max_body_bytes, 32 << 20);

        let err = |a: Vec<String>, u, m| ProxyPolicy::new(a, u, m, table).unwrap_err();
        assert_eq!(
            err(vec!["/v1/files".into()], None, None).0,
            "proxy.allow_unmetered"
        );
        assert_eq!(
            err(
                vec![],
                Some(UnpricedPolicy::ChargeAs("no-such-model-x".into())),
                None
            )
            .0,
            "proxy.unpriced"
        );
        assert_eq!(err(vec![], None, Some(0)).0, "proxy.max_body_mib");
    }
}
