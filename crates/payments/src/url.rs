//! The endpoint URL rule: https; plain http only to a loopback address (tests, local fakes).

use std::fmt;

use http::Uri;
use http::uri::{Authority, PathAndQuery, Scheme};

use crate::error::ConfigError;

/// The only hosts plain `http` may reach.
const LOOPBACK_HOSTS: &[&str] = &["127.0.0.1", "[::1]", "localhost"];

/// A checked endpoint: `https://host[:port][/path][?query]`, or `http://` to 127.0.0.1, ::1 or localhost.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointUrl {
    uri: Uri,
}

impl EndpointUrl {
    /// Parses and checks the rule. No user information (`user@`) and no fragment.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        if url.contains('#') {
            return Err(ConfigError::UrlCredentialsOrFragment);
        }
        let uri: Uri = url.parse().map_err(|_| ConfigError::UrlSyntax)?;
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(ConfigError::UrlSyntax);
        };
        if authority.as_str().contains('@') {
            return Err(ConfigError::UrlCredentialsOrFragment);
        }
        if authority.host().is_empty() {
            return Err(ConfigError::UrlSyntax);
        }
        if *scheme == Scheme::HTTP {
            let host = authority.host();
            if !LOOPBACK_HOSTS.iter().any(|h| h.eq_ignore_ascii_case(host)) {
                return Err(ConfigError::PlainHttpNotLoopback);
            }
        } else if *scheme != Scheme::HTTPS {
            return Err(ConfigError::UrlScheme);
        }
        Ok(Self { uri })
    }

    /// True for `https`.
    pub fn is_https(&self) -> bool {
        self.uri.scheme() == Some(&Scheme::HTTPS)
    }

    /// `host[:port]`, for the `Host` header.
    pub(crate) fn authority(&self) -> Option<&Authority> {
        self.uri.authority()
    }

    /// The path and query (`/` when none), the HTTP/1.1 request target.
    pub(crate) fn path_and_query(&self) -> &str {
        self.uri.path_and_query().map_or("/", PathAndQuery::as_str)
    }

    /// Scheme and authority only: what the connector dials.
    pub(crate) fn origin(&self) -> Uri {
        let mut parts = http::uri::Parts::default();
        parts.scheme = self.uri.scheme().cloned();
        parts.authority = self.uri.authority().cloned();
        parts.path_and_query = Some(PathAndQuery::from_static("/"));
        Uri::from_parts(parts).unwrap_or_else(|_| self.uri.clone())
    }

    /// This URL with `path` (absolute, constant) in place of its path; for a base URL with none.
    pub(crate) fn with_path(&self, path: &'static str) -> Self {
        let mut parts = http::uri::Parts::default();
        parts.scheme = self.uri.scheme().cloned();
        parts.authority = self.uri.authority().cloned();
        parts.path_and_query = Some(PathAndQuery::from_static(path));
        Self { uri: Uri::from_parts(parts).unwrap_or_else(|_| self.uri.clone()) }
    }

    /// True when the URL has no path (or just `/`) and no query: a base URL.
    pub(crate) fn is_base(&self) -> bool {
        self.uri.path_and_query().is_none_or(|p| p.as_str() == "/")
    }
}

impl fmt::Debug for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EndpointUrl({})", self.uri)
    }
}

impl fmt::Display for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        for ok in [
            "https://pay.example.com/ivr",
            "https://pay.example.com:8443/a/b?x=1",
            "http://127.0.0.1:8080/pay",
            "http://[::1]:9/",
            "http://localhost:1",
            "http://LOCALHOST:1",
        ] {
            assert!(EndpointUrl::parse(ok).is_ok(), "{ok}");
        }
        let err = |u| EndpointUrl::parse(u).unwrap_err();
        assert_eq!(err("http://pay.example.com/ivr"), ConfigError::PlainHttpNotLoopback);
        assert_eq!(err("http://127.0.0.2/"), ConfigError::PlainHttpNotLoopback);
        assert_eq!(err("http://10.0.0.1/"), ConfigError::PlainHttpNotLoopback);
        assert_eq!(err("http://localhost.example.com/"), ConfigError::PlainHttpNotLoopback);
        assert_eq!(err("ftp://pay.example.com/"), ConfigError::UrlScheme);
        assert_eq!(err("pay.example.com/ivr"), ConfigError::UrlSyntax);
        assert_eq!(err("/ivr"), ConfigError::UrlSyntax);
        assert_eq!(err(""), ConfigError::UrlSyntax);
        assert_eq!(err("https://user:pw@pay.example.com/"), ConfigError::UrlCredentialsOrFragment);
        assert_eq!(err("http://x@127.0.0.1/"), ConfigError::UrlCredentialsOrFragment);
        assert_eq!(err("https://pay.example.com/#frag"), ConfigError::UrlCredentialsOrFragment);
    }

    #[test]
    fn parts() {
        let u = EndpointUrl::parse("https://pay.example.com:8443/a/b?x=1").unwrap();
        assert!(u.is_https());
        assert_eq!(u.path_and_query(), "/a/b?x=1");
        assert_eq!(u.authority().unwrap().as_str(), "pay.example.com:8443");
        assert_eq!(u.origin().to_string(), "https://pay.example.com:8443/");
        assert!(!u.is_base());
        let base = EndpointUrl::parse("http://127.0.0.1:8420").unwrap();
        assert!(base.is_base());
        assert_eq!(base.path_and_query(), "/");
        assert_eq!(base.with_path("/v1/payment_methods").to_string(), "http://127.0.0.1:8420/v1/payment_methods");
    }
}
