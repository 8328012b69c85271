//! Live key checks: one call to the provider's cheapest authenticated endpoint,
//! honouring the entry's base URL.
//!
//! [`request_for`] builds the request without sending it (tests and dry runs);
//! [`check`] sends it with a timeout and sorts the answer into an [`Outcome`]. Only
//! 401 and 403 (and Gemini's 400 `API_KEY_INVALID`) count against a key: no answer,
//! a server error or a malformed answer are reported as such and say nothing about
//! the key.
//!
//! Nothing a server sends back is trusted to be free of the key: every message taken
//! from a response is scrubbed of the key, of any token sharing six or more characters
//! with it, and of the AWS access key id and session token, before it is returned.
//! Redirects are not followed, so a key is only ever sent to the URL built here.

mod sigv4;

use std::fmt;
use std::io::Read;
use std::time::Duration;

use zeroize::Zeroize;

use crate::model::Secret;
use crate::model::provider;

/// The timeout the product uses for a check.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this much of a response body is read (enough for error messages and most
/// model lists; a longer list is still a valid answer, only not counted).
const BODY_LIMIT: u64 = 256 * 1024;

/// Longest message an [`Outcome`] carries, in characters.
const MESSAGE_MAX: usize = 160;

/// What replaces anything taken from a server that looks like part of a secret.
const REDACTED: &str = "[redacted]";

/// The version header Anthropic requires.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// STS's GetCallerIdentity, form-encoded.
const STS_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider accepted the key (2xx; also 429: accepted but rate limited, which
    /// the detail says).
    Valid {
        /// What the provider answered (`HTTP 200 OK; 57 models listed`).
        detail: String,
    },
    /// 401 or 403 (or Gemini's 400 for an invalid key): the provider refused the key.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// A short reason: the provider's message, else the status text.
        message: String,
    },
    /// No answer: connection refused, DNS, TLS, or the timeout. Not held against the key.
    Unreachable {
        /// What went wrong (`timed out after 10 s`).
        message: String,
    },
    /// An answer that is neither (5xx, other 4xx, a redirect, a malformed response),
    /// or no request could be built (the message says why). Not held against the key.
    Unexpected {
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// What was wrong.
        message: String,
    },
}

impl Outcome {
    /// How the vault records it: a rejection counts against the key, a valid answer
    /// clears its errors, anything else changes nothing.
    pub fn to_result(&self) -> crate::model::CheckResult {
        use crate::model::CheckResult;
        match self {
            Outcome::Valid { .. } => CheckResult::Valid(self.summary()),
            Outcome::Rejected { .. } => CheckResult::Rejected(self.summary()),
            Outcome::Unreachable { .. } | Outcome::Unexpected { .. } => {
                CheckResult::Inconclusive(self.summary())
            }
        }
    }

    /// True when the provider accepted the key.
    pub fn is_valid(&self) -> bool {
        matches!(self, Outcome::Valid { .. })
    }

    /// True when the provider refused the key (the only outcome held against it).
    pub fn is_rejected(&self) -> bool {
        matches!(self, Outcome::Rejected { .. })
    }

    /// One line for the status bar or the CLI.
    pub fn summary(&self) -> String {
        match self {
            Outcome::Valid { detail } => format!("valid: {detail}"),
            Outcome::Rejected { status, message } => format!("rejected ({status}): {message}"),
            Outcome::Unreachable { message } => format!("unreachable: {message}"),
            Outcome::Unexpected {
                status: Some(status),
                message,
            } => format!("unexpected answer ({status}): {message}"),
            Outcome::Unexpected {
                status: None,
                message,
            } => format!("check failed: {message}"),
        }
    }

    fn scrubbed(self, scrub: &Scrubber) -> Self {
        match self {
            Outcome::Valid { detail } => Outcome::Valid {
                detail: scrub.clean(&detail),
            },
            Outcome::Rejected { status, message } => Outcome::Rejected {
                status,
                message: scrub.clean(&message),
            },
            Outcome::Unreachable { message } => Outcome::Unreachable {
                message: scrub.clean(&message),
            },
            Outcome::Unexpected { status, message } => Outcome::Unexpected {
                status,
                message: scrub.clean(&message),
            },
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// The request a check makes, without sending it (for tests and `--dry-run` style
/// display). Its `Debug` and `Display` show secret-bearing header values as
/// `<redacted>`; header values and the body are zeroized on drop.
pub struct Request {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The full URL.
    pub url: String,
    /// Headers in the order they are sent (names as written here; HTTP ignores case).
    pub headers: Vec<(String, String)>,
    /// The body (AWS only).
    pub body: Option<String>,
}

impl Request {
    /// The value of header `name` (case-insensitive), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The headers with secret-bearing values replaced by `<redacted>`.
    pub fn redacted_headers(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(n, v)| {
                let v = if is_secret_header(n) {
                    "<redacted>".to_string()
                } else {
                    v.clone()
                };
                (n.clone(), v)
            })
            .collect()
    }
}

/// Headers whose values carry a credential (or a signature over one).
fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "proxy-authorization"
        || n == "cookie"
        || n.contains("key")
        || n.contains("token")
        || n.contains("secret")
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.redacted_headers())
            .field("body", &self.body)
            .finish()
    }
}

/// `GET https://...` then one `name: value` line per header (secrets redacted), then
/// the body after a blank line, if any.
impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)?;
        for (n, v) in self.redacted_headers() {
            write!(f, "\n{n}: {v}")?;
        }
        if let Some(body) = &self.body {
            write!(f, "\n\n{body}")?;
        }
        Ok(())
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        for (_, v) in &mut self.headers {
            v.zeroize();
        }
        if let Some(b) = &mut self.body {
            b.zeroize();
        }
    }
}

/// Builds the request that checks `secret` for `provider_id`, against `base_url` when
/// given (else the registry's). `now_unix` dates the AWS signature. Errors say what
/// is missing or wrong, never the key.
pub fn request_for(
    provider_id: &str,
    base_url: Option<&str>,
    secret: &Secret,
    now_unix: i64,
) -> Result<Request, String> {
    let provider = provider::lookup(provider_id)?;
    let key = secret.value.trim();
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    if key.chars().any(char::is_control) {
        return Err("the key contains control characters and cannot be sent in a header".into());
    }
    let given = base_url.map(str::trim).filter(|b| !b.is_empty());
    let base = given.unwrap_or(provider.base_url);
    let bearer = || ("Authorization".to_string(), format!("Bearer {key}"));
    let get = |path: &str, headers: Vec<(String, String)>| -> Result<Request, String> {
        Ok(Request {
            method: "GET",
            url: join(base, path)?,
            headers,
            body: None,
        })
    };
    match provider.id {
        "openai" | "groq" | "deepseek" | "xai" | "mistral" | "openrouter" => {
            get("/models", vec![bearer()])
        }
        "anthropic" => get(
            "/v1/models",
            vec![
                ("x-api-key".into(), key.to_string()),
                ("anthropic-version".into(), ANTHROPIC_VERSION.into()),
            ],
        ),
        "gemini" => get(
            "/v1beta/models",
            vec![("x-goog-api-key".into(), key.to_string())],
        ),
        "github" => get(
            "/user",
            vec![
                bearer(),
                ("User-Agent".into(), "keyward".into()),
                ("Accept".into(), "application/vnd.github+json".into()),
            ],
        ),
        "stripe" => get("/v1/balance", vec![bearer()]),
        "aws" => aws_request(given, secret, key, now_unix),
        "custom" => {
            let Some(url) = given else {
                return Err("a custom entry needs --base-url (the URL to probe)".into());
            };
            parse_url(url)?;
            Ok(Request {
                method: "GET",
                url: url.to_string(),
                headers: vec![bearer()],
                body: None,
            })
        }
        other => Err(format!("no live check is defined for provider '{other}'")),
    }
}

/// STS GetCallerIdentity, signed with SigV4.
fn aws_request(
    given: Option<&str>,
    secret: &Secret,
    key: &str,
    now_unix: i64,
) -> Result<Request, String> {
    let access_key_id = secret
        .field("access_key_id")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or("an AWS entry needs an access_key_id field")?;
    if !access_key_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("the access_key_id field must be letters and digits only (AKIA...)".into());
    }
    let region_field = secret
        .field("region")
        .map(str::trim)
        .filter(|v| !v.is_empty());
    if let Some(r) = region_field
        && !r
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("the region field must look like us-east-1".into());
    }
    let region = region_field.unwrap_or("us-east-1");
    let base = match (given, region_field) {
        (Some(b), _) => b.to_string(),
        (None, Some(r)) if r.starts_with("cn-") => format!("https://sts.{r}.amazonaws.com.cn"),
        (None, Some(r)) => format!("https://sts.{r}.amazonaws.com"),
        (None, None) => provider::lookup("aws")?.base_url.to_string(),
    };
    let url = join(&base, "/")?;
    let parts = parse_url(&url)?;
    let amz_date = sigv4::amz_date(now_unix)?;

    let mut signed: Vec<(String, String)> = vec![
        ("Content-Type".into(), FORM_CONTENT_TYPE.into()),
        ("Host".into(), parts.authority.clone()),
        ("X-Amz-Date".into(), amz_date.clone()),
    ];
    if let Some(token) = secret
        .field("session_token")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        if token.chars().any(char::is_control) {
            return Err("the session_token field contains control characters".into());
        }
        signed.push(("X-Amz-Security-Token".into(), token.to_string()));
    }
    let sig = sigv4::sign(&sigv4::SignInput {
        method: "POST",
        path: &parts.path,
        query: &parts.query,
        headers: &signed,
        payload: STS_BODY.as_bytes(),
        region,
        service: "sts",
        amz_date: &amz_date,
        access_key_id,
        secret_access_key: key,
    });
    let mut headers = vec![("Authorization".to_string(), sig.authorization)];
    headers.extend(signed);
    Ok(Request {
        method: "POST",
        url,
        headers,
        body: Some(STS_BODY.to_string()),
    })
}

/// The pieces of a checked URL.
struct UrlParts {
    /// `host` or `host:port`, as written.
    authority: String,
    /// The host alone (brackets kept for IPv6).
    host: String,
    /// The path as sent (`/` when empty).
    path: String,
    /// The query without `?` (empty when none).
    query: String,
}

/// Checks that `url` is an absolute http(s) URL with a host, no credentials and no
/// fragment. The error never echoes the URL (it could hold a token).
fn parse_url(url: &str) -> Result<UrlParts, String> {
    const BAD: &str = "the base URL must be an absolute http:// or https:// URL with a host (https://api.example.com/v1)";
    if url.contains('#') {
        return Err("the base URL must not have a #fragment".into());
    }
    let uri: ureq::http::Uri = url.parse().map_err(|_| BAD.to_string())?;
    match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") || s.eq_ignore_ascii_case("http") => {}
        _ => return Err(BAD.into()),
    }
    let authority = uri.authority().ok_or(BAD)?;
    if authority.as_str().contains('@') {
        return Err("the base URL must not carry credentials (user:password@)".into());
    }
    if authority.host().is_empty() {
        return Err(BAD.into());
    }
    let path = match uri.path() {
        "" => "/".to_string(),
        p => p.to_string(),
    };
    Ok(UrlParts {
        authority: authority.as_str().to_string(),
        host: authority.host().to_string(),
        path,
        query: uri.query().unwrap_or("").to_string(),
    })
}

/// `base` + `path` with exactly one slash between them. The base may not carry a query.
fn join(base: &str, path: &str) -> Result<String, String> {
    parse_url(base)?;
    if base.contains('?') {
        return Err("the base URL must not have a ?query for this provider".into());
    }
    let base = base.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    Ok(format!("{base}/{path}"))
}

/// Sends the check for `secret` with `timeout` and sorts the answer. The product passes
/// [`DEFAULT_TIMEOUT`]. Blocks; call it off the UI thread.
pub fn check(
    provider_id: &str,
    base_url: Option<&str>,
    secret: &Secret,
    timeout: Duration,
) -> Outcome {
    let scrub = Scrubber::for_secret(secret);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let outcome = match request_for(provider_id, base_url, secret, now) {
        Ok(request) => {
            let family = provider::find(provider_id).map_or("custom", |p| p.id);
            send(&request, family, timeout, &scrub)
        }
        Err(message) => Outcome::Unexpected {
            status: None,
            message,
        },
    };
    outcome.scrubbed(&scrub)
}

fn send(request: &Request, family: &str, timeout: Duration, scrub: &Scrubber) -> Outcome {
    let parts = match parse_url(&request.url) {
        Ok(p) => p,
        Err(message) => {
            return Outcome::Unexpected {
                status: None,
                message,
            };
        }
    };
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        // A redirect could carry `x-api-key` and friends to another host.
        .max_redirects(0)
        .user_agent("keyward");
    if is_loopback(&parts.host) {
        // A proxy from the environment cannot reach this machine's loopback.
        config = config.proxy(None);
    }
    let agent = config.build().new_agent();

    let mut builder = ureq::http::Request::builder()
        .method(request.method)
        .uri(request.url.as_str());
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let result = match &request.body {
        Some(body) => builder
            .body(body.as_str())
            .map(|r| agent.run(r))
            .map_err(|_| ()),
        None => builder.body(()).map(|r| agent.run(r)).map_err(|_| ()),
    };
    let mut response = match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return transport_error(e, timeout, &parts.authority),
        Err(()) => {
            return Outcome::Unexpected {
                status: None,
                message: "could not build the request (a header value or the URL is invalid)"
                    .into(),
            };
        }
    };
    let status = response.status();
    let reason = status.canonical_reason().unwrap_or("").to_string();
    let mut body = Vec::new();
    // A body cut short (timeout, reset) still leaves the status, which is what counts.
    let _ = response
        .body_mut()
        .as_reader()
        .take(BODY_LIMIT)
        .read_to_end(&mut body);
    let outcome = classify(family, status.as_u16(), &reason, &body, scrub);
    body.zeroize();
    outcome
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `10 s`, `1.5 s`, `0.3 s`.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        let s = format!("{:.1}", d.as_secs_f64());
        format!("{} s", s.trim_end_matches(".0"))
    }
}

fn transport_error(e: ureq::Error, timeout: Duration, authority: &str) -> Outcome {
    use std::io::ErrorKind;
    let unreachable = |message: String| Outcome::Unreachable { message };
    let timed_out = || unreachable(format!("timed out after {}", seconds(timeout)));
    match e {
        ureq::Error::Timeout(_) => timed_out(),
        ureq::Error::HostNotFound => unreachable(format!("host not found (DNS): {authority}")),
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => timed_out(),
            ErrorKind::ConnectionRefused => {
                unreachable(format!("connection refused by {authority}"))
            }
            ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe => unreachable(format!(
                "{authority} closed the connection without an answer"
            )),
            _ => unreachable(format!("network error with {authority}: {io}")),
        },
        ureq::Error::ConnectionFailed => unreachable(format!("could not connect to {authority}")),
        ureq::Error::Tls(m) => unreachable(format!("TLS failed with {authority}: {m}")),
        ureq::Error::Rustls(r) => unreachable(format!("TLS failed with {authority}: {r}")),
        ureq::Error::Pem(_) => unreachable("TLS certificates could not be read".into()),
        ureq::Error::ConnectProxyFailed(m) => unreachable(format!("the proxy refused: {m}")),
        ureq::Error::InvalidProxyUrl => {
            unreachable("the proxy in the environment (HTTPS_PROXY...) is not a valid URL".into())
        }
        ureq::Error::Protocol(p) => Outcome::Unexpected {
            status: None,
            message: format!("{authority} answered with something that is not HTTP ({p})"),
        },
        ureq::Error::LargeResponseHeader(..) => Outcome::Unexpected {
            status: None,
            message: format!("{authority} answered with oversized headers"),
        },
        // Their text can quote the URL, which for a custom entry may hold a token.
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => Outcome::Unexpected {
            status: None,
            message: "the HTTP client refused the URL or a header value".into(),
        },
        other => Outcome::Unexpected {
            status: None,
            message: format!("the request failed: {other}"),
        },
    }
}

/// Sorts an HTTP answer. `family` is the provider id.
fn classify(family: &str, status: u16, reason: &str, body: &[u8], scrub: &Scrubber) -> Outcome {
    let text = String::from_utf8_lossy(body);
    let status_text = || {
        if reason.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status} {reason}")
        }
    };
    let server_message = || error_message(&text).map(|m| scrub.clean(&m));
    match status {
        200..=299 => {
            let detail = match success_detail(family, &text) {
                Some(extra) => format!("{}; {}", status_text(), scrub.clean(&extra)),
                None => status_text(),
            };
            Outcome::Valid { detail }
        }
        429 => Outcome::Valid {
            detail: match server_message() {
                Some(m) => format!("accepted, but rate limited or out of quota now (429): {m}"),
                None => "accepted, but rate limited now (429 Too Many Requests)".into(),
            },
        },
        401 | 403 => {
            let message = server_message().unwrap_or_else(|| reason_or(reason, status));
            if family == "aws" && clock_skew(&text) {
                return Outcome::Unexpected {
                    status: Some(status),
                    message: format!("the system clock looks wrong for AWS signing: {message}"),
                };
            }
            Outcome::Rejected { status, message }
        }
        400 if family == "gemini"
            && (text.contains("API_KEY_INVALID") || text.contains("API key not valid")) =>
        {
            Outcome::Rejected {
                status,
                message: server_message().unwrap_or_else(|| "API key not valid".into()),
            }
        }
        300..=399 => Outcome::Unexpected {
            status: Some(status),
            message: format!(
                "the server redirects ({}); keyward does not follow redirects with a key",
                status_text()
            ),
        },
        _ => Outcome::Unexpected {
            status: Some(status),
            message: match server_message() {
                Some(m) => format!("{}: {m}", status_text()),
                None => status_text(),
            },
        },
    }
}

fn reason_or(reason: &str, status: u16) -> String {
    if reason.is_empty() {
        format!("HTTP {status}")
    } else {
        reason.to_string()
    }
}

/// AWS's answers for a request signed at the wrong time.
fn clock_skew(text: &str) -> bool {
    [
        "RequestExpired",
        "RequestTimeTooSkewed",
        "Signature expired",
    ]
    .iter()
    .any(|m| text.contains(m))
}

/// The provider's error message from a JSON body (`error.message`, `error`,
/// `message`, `detail`, `error_description`, `errors[0].message`) or an AWS XML body
/// (`<Message>`).
fn error_message(text: &str) -> Option<String> {
    let text = text.trim();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        let s = |v: Option<&serde_json::Value>| {
            v.and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        return s(v.pointer("/error/message"))
            .or_else(|| s(v.get("error")))
            .or_else(|| s(v.get("message")))
            .or_else(|| s(v.get("detail")))
            .or_else(|| s(v.pointer("/detail/message")))
            .or_else(|| s(v.get("error_description")))
            .or_else(|| s(v.pointer("/errors/0/message")))
            .or_else(|| s(v.pointer("/error/type")));
    }
    if text.starts_with('<') {
        return xml_text(text, "Message").or_else(|| xml_text(text, "Code"));
    }
    None
}

/// The text of the first `<tag>...</tag>` (no attributes, no nesting: enough for AWS).
fn xml_text(text: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&close)?;
    let inner = text[start..start + len].trim();
    (!inner.is_empty()).then(|| {
        inner
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    })
}

/// A little more than the status for a good answer: how many models, who is signed in.
fn success_detail(family: &str, text: &str) -> Option<String> {
    let json = || serde_json::from_str::<serde_json::Value>(text.trim()).ok();
    let count = |v: serde_json::Value, field: &str| {
        v.get(field)
            .and_then(|d| d.as_array())
            .map(|a| match a.len() {
                1 => "1 model listed".to_string(),
                n => format!("{n} models listed"),
            })
    };
    match family {
        "openai" | "groq" | "deepseek" | "xai" | "mistral" | "openrouter" | "anthropic" => {
            count(json()?, "data")
        }
        "gemini" => count(json()?, "models"),
        "github" => json()?
            .get("login")
            .and_then(|l| l.as_str())
            .map(|l| format!("signed in as {l}")),
        "stripe" => json()?
            .get("livemode")
            .and_then(|m| m.as_bool())
            .map(|live| {
                if live {
                    "balance readable (live mode)".to_string()
                } else {
                    "balance readable (test mode)".to_string()
                }
            }),
        "aws" => xml_text(text, "Arn"),
        _ => None,
    }
}

/// Removes secrets from text a server sent, then makes it one short line.
struct Scrubber {
    needles: Vec<String>,
}

impl Drop for Scrubber {
    fn drop(&mut self) {
        for n in &mut self.needles {
            n.zeroize();
        }
    }
}

/// Runs this long that appear in a secret mark a token of server text as part of it.
const WINDOW: usize = 6;

impl Scrubber {
    fn for_secret(secret: &Secret) -> Self {
        let mut needles = vec![secret.value.trim().to_string()];
        for field in ["access_key_id", "session_token"] {
            if let Some(v) = secret.field(field) {
                needles.push(v.trim().to_string());
            }
        }
        needles.retain(|n| !n.is_empty());
        Self { needles }
    }

    /// Scrubbed, on one line, at most [`MESSAGE_MAX`] characters.
    fn clean(&self, text: &str) -> String {
        one_line(&self.scrub(text), MESSAGE_MAX)
    }

    /// Every occurrence of a secret, and every token that shares [`WINDOW`] or more
    /// consecutive characters with one (case-insensitive: `sk-proj-****abcd` goes too),
    /// becomes `[redacted]`.
    fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), REDACTED);
            }
        }
        let windows: Vec<Vec<u8>> = self
            .needles
            .iter()
            .filter(|n| n.len() >= 8)
            .flat_map(|n| {
                n.to_ascii_lowercase()
                    .into_bytes()
                    .windows(WINDOW)
                    .map(<[u8]>::to_vec)
                    .collect::<Vec<_>>()
            })
            .collect();
        if windows.is_empty() {
            return out;
        }
        let is_sep = |c: char| c.is_whitespace() || "\"'`,;()[]{}<>|".contains(c) || c.is_control();
        let mut result = String::with_capacity(out.len());
        let mut token = String::new();
        let flush = |token: &mut String, result: &mut String| {
            let lower = token.to_ascii_lowercase();
            let bytes = lower.as_bytes();
            let leaks = bytes.len() >= WINDOW
                && bytes
                    .windows(WINDOW)
                    .any(|w| windows.iter().any(|k| k.as_slice() == w));
            if leaks {
                result.push_str(REDACTED);
            } else {
                result.push_str(token);
            }
            token.clear();
        };
        for c in out.chars() {
            if is_sep(c) {
                flush(&mut token, &mut result);
                result.push(c);
            } else {
                token.push(c);
            }
        }
        flush(&mut token, &mut result);
        out.zeroize();
        result
    }
}

/// Control characters become spaces, runs of spaces one, and the text is cut to `max`
/// characters (with `…`).
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.truncate(cut.trim_end().len());
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(value: &str) -> Secret {
        Secret::new(value)
    }

    fn aws_secret(fields: &[(&str, &str)]) -> Secret {
        Secret {
            value: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    const OPENAI_KEY: &str = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z";

    #[test]
    fn urls_per_provider_and_base_joining() {
        let s = secret(OPENAI_KEY);
        let url = |id: &str, base: Option<&str>| request_for(id, base, &s, 0).unwrap().url.clone();
        assert_eq!(url("openai", None), "https://api.openai.com/v1/models");
        assert_eq!(url("groq", None), "https://api.groq.com/openai/v1/models");
        assert_eq!(url("deepseek", None), "https://api.deepseek.com/models");
        assert_eq!(url("xai", None), "https://api.x.ai/v1/models");
        assert_eq!(url("mistral", None), "https://api.mistral.ai/v1/models");
        assert_eq!(
            url("openrouter", None),
            "https://openrouter.ai/api/v1/models"
        );
        assert_eq!(
            url("anthropic", None),
            "https://api.anthropic.com/v1/models"
        );
        assert_eq!(
            url("gemini", None),
            "https://generativelanguage.googleapis.com/v1beta/models"
        );
        assert_eq!(url("google", None), url("gemini", None));
        assert_eq!(url("github", None), "https://api.github.com/user");
        assert_eq!(url("stripe", None), "https://api.stripe.com/v1/balance");
        assert_eq!(
            url("openai", Some("https://proxy.example/v1/")),
            "https://proxy.example/v1/models"
        );
        assert_eq!(
            url("openai", Some("http://127.0.0.1:8080//")),
            "http://127.0.0.1:8080/models"
        );
        assert_eq!(
            url("custom", Some("https://svc.example/health?x=1")),
            "https://svc.example/health?x=1"
        );
        assert!(
            request_for("custom", None, &s, 0)
                .unwrap_err()
                .contains("--base-url")
        );
        for bad in [
            "ftp://x",
            "api.openai.com",
            "https://",
            "https://u:p@h/",
            "https://h/#f",
        ] {
            assert!(request_for("openai", Some(bad), &s, 0).is_err(), "{bad}");
        }
        assert!(request_for("openai", Some("https://h/v1?x=1"), &s, 0).is_err());
        assert!(
            request_for("nope", None, &s, 0)
                .unwrap_err()
                .contains("openai")
        );
        assert!(request_for("openai", None, &secret("  "), 0).is_err());
    }

    #[test]
    fn aws_endpoint_region_and_errors() {
        let r = request_for(
            "aws",
            None,
            &aws_secret(&[("access_key_id", "AKIAIOSFODNN7EXAMPLE")]),
            1_440_938_160,
        )
        .unwrap();
        assert_eq!(r.url, "https://sts.amazonaws.com/");
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("host"), Some("sts.amazonaws.com"));
        assert_eq!(r.header("x-amz-date"), Some("20150830T123600Z"));
        let auth = r.header("authorization").unwrap();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150830/us-east-1/sts/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, Signature="
            ),
            "{auth}"
        );
        let r = request_for(
            "aws",
            None,
            &aws_secret(&[
                ("access_key_id", "AKIAIOSFODNN7EXAMPLE"),
                ("region", "eu-west-3"),
            ]),
            0,
        )
        .unwrap();
        assert_eq!(r.url, "https://sts.eu-west-3.amazonaws.com/");
        assert!(
            r.header("authorization")
                .unwrap()
                .contains("/eu-west-3/sts/")
        );
        let r = request_for(
            "aws",
            Some("http://127.0.0.1:9/"),
            &aws_secret(&[
                ("access_key_id", "AKIAIOSFODNN7EXAMPLE"),
                ("region", "eu-west-3"),
            ]),
            0,
        )
        .unwrap();
        assert_eq!(r.url, "http://127.0.0.1:9/");
        assert_eq!(r.header("host"), Some("127.0.0.1:9"));
        assert!(
            request_for("aws", None, &aws_secret(&[]), 0)
                .unwrap_err()
                .contains("access_key_id")
        );
        assert!(
            request_for(
                "aws",
                None,
                &aws_secret(&[("access_key_id", "AKIA1"), ("region", "evil.com/#")]),
                0
            )
            .is_err()
        );
    }

    #[test]
    fn debug_and_display_hide_the_key() {
        for id in ["openai", "anthropic", "gemini", "github", "stripe"] {
            let r = request_for(id, None, &secret(OPENAI_KEY), 0).unwrap();
            let shown = format!("{r:?}\n{r}");
            assert!(!shown.contains("Ab3dEf6h"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
        let r = request_for(
            "aws",
            None,
            &aws_secret(&[("access_key_id", "AKIAIOSFODNN7EXAMPLE")]),
            0,
        )
        .unwrap();
        let shown = format!("{r:?}");
        assert!(!shown.contains("Signature="), "{shown}");
        assert!(shown.contains("GetCallerIdentity"), "{shown}");
    }

    #[test]
    fn scrubbing_removes_the_key_and_pieces_of_it() {
        let s = Scrubber::for_secret(&secret(OPENAI_KEY));
        let msg = format!(
            "Incorrect API key provided: {OPENAI_KEY}. Also sk-proj-****Xy4z and \
             {} here, see https://platform.openai.com/account/api-keys",
            OPENAI_KEY.to_uppercase()
        );
        let clean = s.clean(&msg);
        assert!(!clean.contains("Ab3dEf"), "{clean}");
        assert!(!clean.to_lowercase().contains("ab3def"), "{clean}");
        assert!(!clean.contains("sk-proj"), "{clean}");
        assert!(
            clean.starts_with("Incorrect API key provided: [redacted]"),
            "{clean}"
        );
        assert!(clean.contains("platform.openai.com"), "{clean}");
        // A short (custom) key is still removed where it appears whole.
        let short = Scrubber::for_secret(&secret("abc12"));
        assert_eq!(short.clean("bad key abc12\n!"), "bad key [redacted] !");
    }

    #[test]
    fn one_line_and_short() {
        assert_eq!(one_line("a\r\n  b\tc", 100), "a b c");
        let long = "x".repeat(500);
        let cut = one_line(&long, 20);
        assert_eq!(cut.chars().count(), 20);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn classification() {
        let s = Scrubber::for_secret(&secret(OPENAI_KEY));
        let c = |family: &str, status: u16, reason: &str, body: &str| {
            classify(family, status, reason, body.as_bytes(), &s)
        };
        assert_eq!(
            c("openai", 200, "OK", r#"{"data":[{"id":"a"},{"id":"b"}]}"#),
            Outcome::Valid {
                detail: "HTTP 200 OK; 2 models listed".into()
            }
        );
        assert!(c("openai", 204, "", "").is_valid());
        assert!(c("openai", 429, "Too Many Requests", "").is_valid());
        assert_eq!(
            c(
                "anthropic",
                401,
                "Unauthorized",
                r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#
            ),
            Outcome::Rejected {
                status: 401,
                message: "invalid x-api-key".into()
            }
        );
        assert_eq!(
            c("github", 403, "Forbidden", "nope"),
            Outcome::Rejected {
                status: 403,
                message: "Forbidden".into()
            }
        );
        assert!(
            c(
                "gemini",
                400,
                "Bad Request",
                r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}"#
            )
            .is_rejected()
        );
        assert!(matches!(
            c("openai", 400, "Bad Request", "{}"),
            Outcome::Unexpected {
                status: Some(400),
                ..
            }
        ));
        assert!(matches!(
            c("openai", 503, "Service Unavailable", "down"),
            Outcome::Unexpected {
                status: Some(503),
                ..
            }
        ));
        assert!(matches!(
            c("openai", 301, "Moved Permanently", ""),
            Outcome::Unexpected {
                status: Some(301),
                ..
            }
        ));
        let aws_denied = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>\
             <Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>";
        assert_eq!(
            c("aws", 403, "Forbidden", aws_denied),
            Outcome::Rejected {
                status: 403,
                message: "The security token included in the request is invalid.".into()
            }
        );
        let skew = "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>Signature expired: \
             20150830T123600Z is now earlier than 20240101T000000Z</Message></Error></ErrorResponse>";
        assert!(!c("aws", 403, "Forbidden", skew).is_rejected());
        let ok = "<GetCallerIdentityResponse><GetCallerIdentityResult>\
             <Arn>arn:aws:iam::123456789012:user/alice</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>";
        assert_eq!(
            c("aws", 200, "OK", ok),
            Outcome::Valid {
                detail: "HTTP 200 OK; arn:aws:iam::123456789012:user/alice".into()
            }
        );
    }

    #[test]
    fn summaries_are_one_line() {
        for o in [
            Outcome::Valid {
                detail: "HTTP 200 OK".into(),
            },
            Outcome::Rejected {
                status: 401,
                message: "bad".into(),
            },
            Outcome::Unreachable {
                message: "timed out after 10 s".into(),
            },
            Outcome::Unexpected {
                status: Some(500),
                message: "HTTP 500".into(),
            },
            Outcome::Unexpected {
                status: None,
                message: "x".into(),
            },
        ] {
            assert!(!o.summary().contains('\n'));
            assert_eq!(o.to_string(), o.summary());
        }
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(seconds(Duration::from_millis(300)), "0.3 s");
    }
}
