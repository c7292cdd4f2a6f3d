//! An upstream base URL: scheme, authority and an optional path prefix.

/// Where a provider's requests go. The proxy appends the request's path (after gw's
/// `/anthropic` style prefix) and query to `base()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    scheme: String,
    authority: String,
    prefix: String,
}

impl Upstream {
    /// Accepts `http(s)://host[:port][/path/prefix]`; a trailing slash is dropped.
    pub fn parse(text: &str) -> Result<Upstream, String> {
        let uri: http::Uri = text.parse().map_err(|e| {
            format!("{text:?} is not a URL ({e}); write it like https://api.example.com")
        })?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("http" | "https")) => s.to_string(),
            _ => {
                return Err(format!(
                    "{text:?} must start with http:// or https://, like https://api.example.com"
                ))
            }
        };
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                format!("{text:?} has no host; write it like https://api.example.com")
            })?;
        if uri.query().is_some() {
            return Err(format!(
                "{text:?} has a query string; give only the origin and an optional path prefix"
            ));
        }
        let prefix = uri.path().trim_end_matches('/').to_string();
        Ok(Upstream {
            scheme,
            authority,
            prefix,
        })
    }

    pub fn base(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.prefix)
    }

    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// The host (and port) without any user info, for the `Host` header.
    pub fn host(&self) -> &str {
        self.authority.rsplit('@').next().unwrap_or(&self.authority)
    }

    /// The upstream URI for `path_and_query` (which starts with `/`, or is empty).
    pub fn join(&self, path_and_query: &str) -> Result<http::Uri, http::Error> {
        let mut text = String::with_capacity(
            self.scheme.len() + self.authority.len() + self.prefix.len() + path_and_query.len() + 4,
        );
        text.push_str(&self.scheme);
        text.push_str("://");
        text.push_str(self.host());
        text.push_str(&self.prefix);
        if path_and_query.is_empty() && self.prefix.is_empty() {
            text.push('/');
        } else {
            text.push_str(path_and_query);
        }
        Ok(http::Uri::try_from(text)?)
    }

    /// The base with any credentials replaced by `***`.
    pub fn redacted(&self) -> String {
        match self.authority.rsplit_once('@') {
            Some((_, host)) => format!("{}://***@{}{}", self.scheme, host, self.prefix),
            None => self.base(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_prefix_path_and_query() {
        let up = Upstream::parse("http://127.0.0.1:8080/corp/gw/").unwrap();
        assert_eq!(
            up.join("/v1/messages?beta=true").unwrap().to_string(),
            "http://127.0.0.1:8080/corp/gw/v1/messages?beta=true"
        );
        let plain = Upstream::parse("https://api.anthropic.com").unwrap();
        assert_eq!(
            plain.join("").unwrap().to_string(),
            "https://api.anthropic.com/"
        );
        assert_eq!(
            plain.join("/v1/x").unwrap().to_string(),
            "https://api.anthropic.com/v1/x"
        );
    }

    #[test]
    fn rejects_non_http() {
        assert!(Upstream::parse("ftp://x").is_err());
        assert!(Upstream::parse("api.openai.com").is_err());
        assert!(Upstream::parse("http://x/?q=1").is_err());
    }
}
