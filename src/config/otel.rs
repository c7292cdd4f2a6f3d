//! Where OTLP export goes: `[otel]` in gw's config file, over the standard `OTEL_*` variables.
//!
//! Export is on when an endpoint is known (`[otel] endpoint` or `OTEL_EXPORTER_OTLP_ENDPOINT`)
//! and neither `[otel] enabled = false` nor `OTEL_SDK_DISABLED=true` turns it off.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[otel]` as written in the config file. Every key is optional; a key set here wins over the
/// environment variable of the same meaning.
#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtelSection {
    /// `false` turns export off whatever the environment says; `true` exports to the default
    /// collector (`http://localhost:4318`, or `:4317` for gRPC) when no endpoint is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The collector's base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`); gw appends `/v1/traces` and
    /// `/v1/metrics` over HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `http/protobuf` (default) or `grpc` (`OTEL_EXPORTER_OTLP_PROTOCOL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Headers on every export, e.g. an API key (`OTEL_EXPORTER_OTLP_HEADERS`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// `service.name` (`OTEL_SERVICE_NAME`; default `gw`, or `gw-server` for the server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// More resource attributes (`OTEL_RESOURCE_ATTRIBUTES`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_attributes: BTreeMap<String, String>,
    /// Seconds between metric exports (`OTEL_METRIC_EXPORT_INTERVAL`, in milliseconds there;
    /// default 60).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_interval_secs: Option<f64>,
    /// Add `gw.developer` and `gw.project` to metric attributes (spans always carry them).
    /// Off by default: each developer and project multiplies the series a backend stores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_developer_labels: Option<bool>,
}

impl OtelSection {
    pub fn is_empty(&self) -> bool {
        *self == OtelSection::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    HttpProtobuf,
    Grpc,
}

impl OtlpProtocol {
    fn parse(s: &str, from: &str) -> Result<OtlpProtocol, String> {
        match s.trim() {
            "http/protobuf" | "http" => Ok(OtlpProtocol::HttpProtobuf),
            "grpc" => Ok(OtlpProtocol::Grpc),
            "http/json" => Err(format!(
                "{from} = \"http/json\": gw exports OTLP as http/protobuf or grpc; every collector takes both"
            )),
            other => Err(format!(
                "{from} = {other:?}: use \"http/protobuf\" or \"grpc\""
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::HttpProtobuf => "http/protobuf",
            OtlpProtocol::Grpc => "grpc",
        }
    }
}

/// Export as resolved from the config file and the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct OtelSettings {
    /// Base URL, without a trailing slash.
    pub endpoint: String,
    pub protocol: OtlpProtocol,
    pub headers: BTreeMap<String, String>,
    /// `None`: the role's default (`gw` or `gw-server`).
    pub service_name: Option<String>,
    pub resource_attributes: BTreeMap<String, String>,
    pub metric_interval: Duration,
    pub metric_developer_labels: bool,
}

impl OtelSettings {
    /// The export `file` and `env` ask for; `None` when export is off. An unusable value is an
    /// error naming where it came from.
    pub fn resolve(
        file: &OtelSection,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<OtelSettings>, String> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if file.enabled == Some(false) {
            return Ok(None);
        }
        if file.enabled.is_none()
            && var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        {
            return Ok(None);
        }
        let protocol = match (&file.protocol, var("OTEL_EXPORTER_OTLP_PROTOCOL")) {
            (Some(p), _) => OtlpProtocol::parse(p, "[otel] protocol")?,
            (None, Some(p)) => OtlpProtocol::parse(&p, "OTEL_EXPORTER_OTLP_PROTOCOL")?,
            (None, None) => OtlpProtocol::HttpProtobuf,
        };
        let (endpoint, from) = match (&file.endpoint, var("OTEL_EXPORTER_OTLP_ENDPOINT")) {
            (Some(e), _) => (e.clone(), "[otel] endpoint"),
            (None, Some(e)) => (e, "OTEL_EXPORTER_OTLP_ENDPOINT"),
            (None, None) if file.enabled == Some(true) => (
                match protocol {
                    OtlpProtocol::HttpProtobuf => "http://localhost:4318".to_string(),
                    OtlpProtocol::Grpc => "http://localhost:4317".to_string(),
                },
                "the default endpoint",
            ),
            (None, None) => return Ok(None),
        };
        let endpoint = endpoint.trim().trim_end_matches('/').to_string();
        let shown = super::redact_url(&endpoint);
        let uri: http::Uri = endpoint
            .parse()
            .map_err(|e| format!("{from} {shown:?} is not a URL: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(format!(
                "{from} {shown:?} is not an http:// or https:// URL of a collector"
            ));
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(format!(
                "{from} {shown:?} has credentials in the URL, which OTLP does not send: put them in OTEL_EXPORTER_OTLP_HEADERS or [otel] headers"
            ));
        }
        let mut headers = BTreeMap::new();
        if let Some(h) = var("OTEL_EXPORTER_OTLP_HEADERS") {
            headers.extend(parse_pairs(&h, "OTEL_EXPORTER_OTLP_HEADERS")?);
        }
        headers.extend(file.headers.clone());
        for (k, v) in &headers {
            if http::HeaderName::from_bytes(k.as_bytes()).is_err()
                || http::HeaderValue::from_str(v).is_err()
            {
                return Err(format!(
                    "OTLP header {k:?} is not a valid HTTP header name and value"
                ));
            }
        }
        let mut resource_attributes = BTreeMap::new();
        if let Some(a) = var("OTEL_RESOURCE_ATTRIBUTES") {
            resource_attributes.extend(parse_pairs(&a, "OTEL_RESOURCE_ATTRIBUTES")?);
        }
        resource_attributes.extend(file.resource_attributes.clone());
        let service_name = file
            .service_name
            .clone()
            .or_else(|| var("OTEL_SERVICE_NAME"))
            .or_else(|| resource_attributes.get("service.name").cloned());
        let metric_interval = match (
            file.metric_interval_secs,
            var("OTEL_METRIC_EXPORT_INTERVAL"),
        ) {
            (Some(s), _) => seconds(s, "[otel] metric_interval_secs")?,
            (None, Some(ms)) => {
                let ms: f64 = ms.trim().parse().map_err(|_| {
                    format!("OTEL_METRIC_EXPORT_INTERVAL {ms:?} is not a number of milliseconds")
                })?;
                seconds(ms / 1000.0, "OTEL_METRIC_EXPORT_INTERVAL")?
            }
            (None, None) => Duration::from_secs(60),
        };
        Ok(Some(OtelSettings {
            endpoint,
            protocol,
            headers,
            service_name,
            resource_attributes,
            metric_interval,
            metric_developer_labels: file.metric_developer_labels.unwrap_or(false),
        }))
    }

    /// The URL a signal goes to over HTTP (`/v1/traces`, `/v1/metrics`), as the spec builds it
    /// from `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn signal_url(&self, signal: &str) -> String {
        format!("{}/v1/{signal}", self.endpoint)
    }
}

fn seconds(s: f64, from: &str) -> Result<Duration, String> {
    if !(0.01..=86_400.0).contains(&s) {
        return Err(format!("{from}: {s} s is out of range (0.01 s to a day)"));
    }
    Ok(Duration::from_secs_f64(s))
}

/// `key1=value1,key2=value2`, each part percent-decoded, as the OTel spec writes headers and
/// resource attributes in environment variables. Errors name the pair by position, never its
/// text: a header's value is a credential.
fn parse_pairs(s: &str, from: &str) -> Result<Vec<(String, String)>, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .enumerate()
        .map(|(i, pair)| {
            let what = format!("{from}: pair {}", i + 1);
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("{what} is not key=value"))?;
            Ok((
                percent_decode(k.trim(), &what)?,
                percent_decode(v.trim(), &what)?,
            ))
        })
        .collect()
}

fn percent_decode(s: &str, what: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{what} has a bad %-escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{what} is not UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn off_without_an_endpoint_and_on_with_the_standard_variables() {
        let none = OtelSettings::resolve(&OtelSection::default(), &env(&[])).unwrap();
        assert_eq!(none, None);
        let s = OtelSettings::resolve(
            &OtelSection::default(),
            &env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otel.example:4318/"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                (
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    "x-api-key=a%3Db, dd-site = eu",
                ),
                ("OTEL_SERVICE_NAME", "gw-laptop"),
                ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod"),
                ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.endpoint, "https://otel.example:4318");
        assert_eq!(s.protocol, OtlpProtocol::Grpc);
        assert_eq!(s.headers["x-api-key"], "a=b");
        assert_eq!(s.headers["dd-site"], "eu");
        assert_eq!(s.service_name.as_deref(), Some("gw-laptop"));
        assert_eq!(s.resource_attributes["deployment.environment"], "prod");
        assert_eq!(s.metric_interval, Duration::from_secs(5));
        assert_eq!(
            s.signal_url("traces"),
            "https://otel.example:4318/v1/traces"
        );
    }

    #[test]
    fn the_config_file_wins_and_can_turn_export_off() {
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=env"),
        ]);
        let file = OtelSection {
            endpoint: Some("http://file:4318".into()),
            headers: [("a".to_string(), "file".to_string())].into(),
            ..Default::default()
        };
        let s = OtelSettings::resolve(&file, &e).unwrap().unwrap();
        assert_eq!(s.endpoint, "http://file:4318");
        assert_eq!(s.headers["a"], "file");
        let off = OtelSection {
            enabled: Some(false),
            ..file
        };
        assert_eq!(OtelSettings::resolve(&off, &e).unwrap(), None);
        let disabled = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
            ("OTEL_SDK_DISABLED", "true"),
        ]);
        assert_eq!(
            OtelSettings::resolve(&OtelSection::default(), &disabled).unwrap(),
            None
        );
        let on = OtelSection {
            enabled: Some(true),
            ..Default::default()
        };
        let s = OtelSettings::resolve(&on, &env(&[])).unwrap().unwrap();
        assert_eq!(s.endpoint, "http://localhost:4318");
    }

    #[test]
    fn bad_values_are_errors_naming_their_source() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://user:pw@c:4318")],
                "credentials in the URL",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
            (
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
                ],
                "http/protobuf or grpc",
            ),
            (
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                    ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
                ],
                "not key=value",
            ),
            (
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                    ("OTEL_METRIC_EXPORT_INTERVAL", "soon"),
                ],
                "milliseconds",
            ),
        ];
        for (vars, want) in cases {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let e = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let err = OtelSettings::resolve(&OtelSection::default(), &e).unwrap_err();
            assert!(err.contains(want), "{err}");
            assert!(
                !err.contains("novalue"),
                "a header's text is never echoed: {err}"
            );
        }
    }
}
