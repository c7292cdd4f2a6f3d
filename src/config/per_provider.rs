//! A TOML table of one string per provider, keyed by the provider's name: `[upstream]` in the
//! config file, `[providers]` in the credentials file. Its keys come from [`PROVIDERS`], so a
//! provider added there is a key here.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::meter::{Provider, ProviderInfo, PROVIDERS};

/// One string per provider, written in the table's order. With `API_KEYS` only the providers
/// gw reads an API key for are keys (the credentials' `[providers]`), else every provider
/// (`[upstream]`). Any other key is an error that names the ones allowed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PerProvider<const API_KEYS: bool>(BTreeMap<Provider, String>);

/// `[upstream]` in the config file: a base URL per provider.
pub type UpstreamSection = PerProvider<false>;
/// `[providers]` in the credentials file: an API key per provider that has them.
pub type ProviderKeys = PerProvider<true>;

impl<const API_KEYS: bool> PerProvider<API_KEYS> {
    pub fn get(&self, provider: Provider) -> Option<&str> {
        self.0.get(&provider).map(String::as_str)
    }

    fn allows(info: &ProviderInfo) -> bool {
        !API_KEYS || !info.key_vars.is_empty()
    }

    /// The keys allowed, in the table's order.
    fn names() -> &'static [&'static str] {
        fn names_where(allow: fn(&ProviderInfo) -> bool) -> Vec<&'static str> {
            PROVIDERS
                .iter()
                .filter(|p| allow(p))
                .map(|p| p.name)
                .collect()
        }
        static ALL: LazyLock<Vec<&str>> = LazyLock::new(|| names_where(|_| true));
        static KEYED: LazyLock<Vec<&str>> =
            LazyLock::new(|| names_where(|p| !p.key_vars.is_empty()));
        if API_KEYS {
            &KEYED
        } else {
            &ALL
        }
    }

    /// The name the serde errors give this table, as when it was a struct.
    fn type_name() -> &'static str {
        if API_KEYS {
            "struct ProviderKeys"
        } else {
            "struct UpstreamSection"
        }
    }
}

impl<const API_KEYS: bool> FromIterator<(Provider, String)> for PerProvider<API_KEYS> {
    fn from_iter<I: IntoIterator<Item = (Provider, String)>>(iter: I) -> Self {
        PerProvider(iter.into_iter().collect())
    }
}

impl<const API_KEYS: bool> Serialize for PerProvider<API_KEYS> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(p, value)| (p.as_str(), value)))
    }
}

impl<'de, const API_KEYS: bool> Deserialize<'de> for PerProvider<API_KEYS> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TableVisitor::<API_KEYS>)
    }
}

struct TableVisitor<const API_KEYS: bool>;

impl<'de, const API_KEYS: bool> Visitor<'de> for TableVisitor<API_KEYS> {
    type Value = PerProvider<API_KEYS>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(PerProvider::<API_KEYS>::type_name())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = BTreeMap::new();
        while let Some(Key::<API_KEYS>(provider)) = map.next_key()? {
            let value: Option<String> = map.next_value()?;
            values.extend(value.map(|v| (provider, v)));
        }
        Ok(PerProvider(values))
    }

    /// A TOML array fills the allowed keys in order, as it did the struct this table was.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = BTreeMap::new();
        for info in PROVIDERS
            .iter()
            .filter(|p| PerProvider::<API_KEYS>::allows(p))
        {
            match seq.next_element::<Option<String>>()? {
                Some(value) => values.extend(value.map(|v| (info.provider, v))),
                None => break,
            }
        }
        Ok(PerProvider(values))
    }
}

/// A key of the table: an allowed provider's name.
struct Key<const API_KEYS: bool>(Provider);

impl<'de, const API_KEYS: bool> Deserialize<'de> for Key<API_KEYS> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor::<API_KEYS>)
    }
}

struct KeyVisitor<const API_KEYS: bool>;

impl<const API_KEYS: bool> Visitor<'_> for KeyVisitor<API_KEYS> {
    type Value = Key<API_KEYS>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        PROVIDERS
            .iter()
            .find(|p| p.name == name && PerProvider::<API_KEYS>::allows(p))
            .map(|p| Key(p.provider))
            .ok_or_else(|| E::unknown_field(name, PerProvider::<API_KEYS>::names()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_provider_names_and_others_are_refused() {
        let t: UpstreamSection =
            toml::from_str("chatgpt = \"http://c\"\nanthropic = \"http://a\"\n").unwrap();
        assert_eq!(t.get(Provider::ChatGpt), Some("http://c"));
        assert_eq!(
            toml::to_string(&t).unwrap(),
            "anthropic = \"http://a\"\nchatgpt = \"http://c\"\n",
            "written in the table's order"
        );
        let err = toml::from_str::<ProviderKeys>("chatgpt = \"k\"\n").unwrap_err();
        assert!(
            err.to_string().contains(
                "unknown field `chatgpt`, expected one of `anthropic`, `openai`, `gemini`"
            ),
            "{err}"
        );
    }
}
