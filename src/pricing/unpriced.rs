//! What a session under a budget does with a model gw has no price for: a request it cannot
//! price would settle at $0 against the cap, so by default it is refused.

use serde::{Deserialize, Serialize};

/// `[proxy] unpriced = "refuse" | "allow" | { charge_as = "<model>" }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Repr", into = "Repr")]
pub enum UnpricedPolicy {
    /// Refuse requests for an unpriced model while a budget applies (the default).
    #[default]
    Refuse,
    /// Let them through; they count $0 against the budget and are flagged in reports.
    Allow,
    /// Charge them at this priced model's rates.
    ChargeAs(String),
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Word(String),
    ChargeAs { charge_as: String },
}

impl TryFrom<Repr> for UnpricedPolicy {
    type Error = String;

    fn try_from(repr: Repr) -> Result<Self, String> {
        match repr {
            Repr::Word(w) if w == "refuse" => Ok(UnpricedPolicy::Refuse),
            Repr::Word(w) if w == "allow" => Ok(UnpricedPolicy::Allow),
            Repr::Word(w) => Err(format!(
                "{w:?} is not a policy; write \"refuse\", \"allow\" or {{ charge_as = \"<a priced model>\" }}"
            )),
            Repr::ChargeAs { charge_as } if charge_as.trim().is_empty() => {
                Err("charge_as needs a model name, e.g. { charge_as = \"claude-opus-4-1\" }".into())
            }
            Repr::ChargeAs { charge_as } => Ok(UnpricedPolicy::ChargeAs(charge_as)),
        }
    }
}

impl From<UnpricedPolicy> for Repr {
    fn from(policy: UnpricedPolicy) -> Repr {
        match policy {
            UnpricedPolicy::Refuse => Repr::Word("refuse".into()),
            UnpricedPolicy::Allow => Repr::Word("allow".into()),
            UnpricedPolicy::ChargeAs(charge_as) => Repr::ChargeAs { charge_as },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Serialize)]
    struct T {
        unpriced: UnpricedPolicy,
    }

    #[test]
    fn parses_the_three_forms_and_says_what_is_wrong() {
        let p = |t: &str| toml::from_str::<T>(t).map(|t| t.unpriced);
        assert_eq!(p("unpriced = \"refuse\"").unwrap(), UnpricedPolicy::Refuse);
        assert_eq!(p("unpriced = \"allow\"").unwrap(), UnpricedPolicy::Allow);
        assert_eq!(
            p("unpriced = { charge_as = \"claude-opus-4-1\" }").unwrap(),
            UnpricedPolicy::ChargeAs("claude-opus-4-1".into())
        );
        let e = p("unpriced = \"free\"").unwrap_err().to_string();
        assert!(e.contains("charge_as"), "{e}");
        let back = toml::to_string(&T {
            unpriced: UnpricedPolicy::ChargeAs("m".into()),
        })
        .unwrap();
        assert!(back.contains("charge_as"), "{back}");
    }
}
