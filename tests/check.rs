//! Live key checks against a tiny HTTP server on 127.0.0.1 that each test starts:
//! the request each provider family sends, and how answers are sorted (valid,
//! rejected, rate limited, server error, slow, malformed, refused). No outside network.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use keyward::check::{self, Outcome};
use keyward::crypto::{hmac_sha256, sha256};
use keyward::model::Secret;

/// Generous for a local server; only the slow-server test waits for it.
const TIMEOUT: Duration = Duration::from_secs(5);

const OPENAI_KEY: &str = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z";
const AWS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// What the server received.
#[derive(Debug)]
struct Seen {
    method: String,
    /// The request target as sent (path and query).
    target: String,
    /// Header names lowercased, values trimmed, in the order received.
    headers: Vec<(String, String)>,
    body: String,
    /// The raw head, request line to blank line.
    head: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn count(&self, name: &str) -> usize {
        self.headers.iter().filter(|(n, _)| n == name).count()
    }
}

/// How the server answers.
enum Reply {
    /// These bytes, then close.
    Now(Vec<u8>),
    /// Sleep, then these bytes.
    After(Duration, Vec<u8>),
    /// Close without a word.
    Hangup,
}

/// A hand-written HTTP/1.1 response.
fn http(status: &str, content_type: &str, body: &str) -> Reply {
    Reply::Now(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

fn json(status: &str, body: &str) -> Reply {
    http(status, "application/json", body)
}

fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    stream.set_read_timeout(Some(TIMEOUT)).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
        head,
    })
}

/// Starts a one-connection server; returns its base URL and what it will have seen.
fn serve(reply: Reply) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let Some(seen) = read_request(&mut stream) else {
            return;
        };
        let _ = tx.send(seen);
        let bytes = match reply {
            Reply::Now(b) => b,
            Reply::After(d, b) => {
                thread::sleep(d);
                b
            }
            Reply::Hangup => return,
        };
        let _ = stream.write_all(&bytes);
        let _ = stream.flush();
        let _ = stream.shutdown(std::net::Shutdown::Write);
        // Let the client read to the end before the socket goes.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let _ = stream.read(&mut [0u8; 64]);
    });
    (base, rx)
}

/// Checks `secret` as `provider` against a server answering `reply`, with the base URL
/// the server's address plus `path`.
fn run(provider: &str, path: &str, secret: &Secret, reply: Reply) -> (Outcome, Seen) {
    let (base, rx) = serve(reply);
    let outcome = check::check(provider, Some(&format!("{base}{path}")), secret, TIMEOUT);
    let seen = rx
        .recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("the server saw no request; outcome: {outcome:?}"));
    (outcome, seen)
}

fn ok_models() -> Reply {
    json(
        "200 OK",
        r#"{"object":"list","data":[{"id":"m1"},{"id":"m2"}]}"#,
    )
}

fn aws_secret(region: Option<&str>) -> Secret {
    let mut fields = vec![("access_key_id".to_string(), AWS_KEY_ID.to_string())];
    if let Some(r) = region {
        fields.push(("region".to_string(), r.to_string()));
    }
    Secret {
        value: AWS_SECRET.to_string(),
        fields,
    }
}

/// Neither the key nor an 8-character piece of it is in `text`.
fn assert_no_key(text: &str, key: &str) {
    assert!(!text.contains(key), "the key leaked: {text}");
    let bytes = key.as_bytes();
    for w in bytes.windows(8) {
        let piece = std::str::from_utf8(w).unwrap();
        assert!(
            !text.contains(piece),
            "a piece of the key ({piece}) leaked: {text}"
        );
    }
}

fn outcome_text(o: &Outcome) -> String {
    format!("{o:?} {}", o.summary())
}

// ---------------------------------------------------------------- request shapes

#[test]
fn openai_style_providers_list_models_with_a_bearer_token() {
    for provider in ["openai", "groq", "deepseek", "xai", "mistral", "openrouter"] {
        let (outcome, seen) = run(provider, "/v1/", &Secret::new(OPENAI_KEY), ok_models());
        assert_eq!(seen.method, "GET", "{provider}");
        assert_eq!(seen.target, "/v1/models", "{provider}: no double slash");
        assert_eq!(
            seen.header("authorization"),
            Some(format!("Bearer {OPENAI_KEY}").as_str()),
            "{provider}"
        );
        assert_eq!(seen.body, "");
        assert_eq!(
            outcome,
            Outcome::Valid {
                detail: "HTTP 200 OK; 2 models listed".into()
            },
            "{provider}"
        );
    }
}

#[test]
fn anthropic_sends_its_key_and_version_headers() {
    let key = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz012345-_aa";
    let (outcome, seen) = run("anthropic", "", &Secret::new(key), ok_models());
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.target, "/v1/models");
    assert_eq!(seen.header("x-api-key"), Some(key));
    assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(seen.header("authorization"), None);
    assert!(outcome.is_valid(), "{outcome:?}");
}

#[test]
fn gemini_sends_the_key_in_a_header_never_in_the_url() {
    let key = "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q";
    let (outcome, seen) = run(
        "gemini",
        "/",
        &Secret::new(key),
        json("200 OK", r#"{"models":[{"name":"models/gemini"}]}"#),
    );
    assert_eq!(seen.target, "/v1beta/models");
    assert!(!seen.target.contains('?'));
    let request_line = seen.head.lines().next().unwrap();
    assert!(!request_line.contains(key), "{request_line}");
    assert_eq!(seen.header("x-goog-api-key"), Some(key));
    assert_eq!(
        outcome,
        Outcome::Valid {
            detail: "HTTP 200 OK; 1 model listed".into()
        }
    );
}

#[test]
fn github_sends_a_user_agent_and_its_media_type() {
    let key = "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
    let (outcome, seen) = run(
        "github",
        "",
        &Secret::new(key),
        json("200 OK", r#"{"login":"octocat","id":1}"#),
    );
    assert_eq!(seen.target, "/user");
    assert_eq!(seen.header("user-agent"), Some("keyward"));
    assert_eq!(seen.count("user-agent"), 1);
    assert_eq!(seen.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(seen.count("accept"), 1);
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    assert_eq!(
        outcome,
        Outcome::Valid {
            detail: "HTTP 200 OK; signed in as octocat".into()
        }
    );
}

#[test]
fn stripe_reads_the_balance() {
    let key = "sk_test_51AbCdEfGhIjKlMnOpQrStUv";
    let (outcome, seen) = run(
        "stripe",
        "",
        &Secret::new(key),
        json("200 OK", r#"{"object":"balance","livemode":false}"#),
    );
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.target, "/v1/balance");
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    assert!(outcome.summary().contains("test mode"), "{outcome:?}");
}

#[test]
fn custom_probes_the_base_url_itself() {
    let (outcome, seen) = run(
        "custom",
        "/health/check?deep=1",
        &Secret::new("my-custom-token-123"),
        http("204 No Content", "text/plain", ""),
    );
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.target, "/health/check?deep=1");
    assert_eq!(
        seen.header("authorization"),
        Some("Bearer my-custom-token-123")
    );
    assert!(outcome.is_valid(), "{outcome:?}");

    // Without a base URL there is nothing to probe, and nothing is sent.
    let outcome = check::check("custom", None, &Secret::new("x"), TIMEOUT);
    assert!(
        matches!(&outcome, Outcome::Unexpected { status: None, message } if message.contains("--base-url")),
        "{outcome:?}"
    );
}

/// The test's own SigV4, from what the server received: the server's side of it.
fn verify_sigv4(seen: &Seen, secret: &str) -> Result<(), String> {
    let auth = seen.header("authorization").ok_or("no Authorization")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 Credential=")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let (credential, rest) = rest
        .split_once(", SignedHeaders=")
        .ok_or("no SignedHeaders")?;
    let (signed_headers, signature) = rest.split_once(", Signature=").ok_or("no Signature")?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [_, date, region, service, terminator] = scope[..] else {
        return Err(format!("bad credential scope {credential}"));
    };
    if terminator != "aws4_request" || service != "sts" {
        return Err(format!("bad credential scope {credential}"));
    }
    let amz_date = seen.header("x-amz-date").ok_or("no x-amz-date")?;
    if !amz_date.starts_with(date) {
        return Err(format!("x-amz-date {amz_date} is not on {date}"));
    }
    let (path, query) = seen.target.split_once('?').unwrap_or((&seen.target, ""));
    let mut canonical = format!("{}\n{path}\n{query}\n", seen.method);
    for name in signed_headers.split(';') {
        if seen.count(name) != 1 {
            return Err(format!(
                "signed header {name} sent {} times",
                seen.count(name)
            ));
        }
        let value = seen.header(name).unwrap();
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        canonical.push_str(&format!("{name}:{value}\n"));
    }
    canonical.push_str(&format!(
        "\n{signed_headers}\n{}",
        hex::encode(sha256(seen.body.as_bytes()))
    ));
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex::encode(sha256(canonical.as_bytes()))
    );
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"aws4_request");
    let expected = hex::encode(hmac_sha256(&k_signing, string_to_sign.as_bytes()));
    if expected == signature {
        Ok(())
    } else {
        Err(format!(
            "signature {signature} != {expected}\ncanonical request:\n{canonical}"
        ))
    }
}

#[test]
fn aws_posts_a_signed_get_caller_identity() {
    let sts_ok = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
        <GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn>\
        <UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult>\
        </GetCallerIdentityResponse>";
    for (region, expect_region) in [(Some("eu-central-1"), "eu-central-1"), (None, "us-east-1")] {
        let (outcome, seen) = run(
            "aws",
            "",
            &aws_secret(region),
            http("200 OK", "text/xml", sts_ok),
        );
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.target, "/");
        assert_eq!(seen.body, "Action=GetCallerIdentity&Version=2011-06-15");
        assert_eq!(
            seen.header("content-type"),
            Some("application/x-www-form-urlencoded; charset=utf-8")
        );
        assert_eq!(seen.count("host"), 1);
        let date = seen.header("x-amz-date").unwrap();
        assert_eq!(date.len(), 16, "{date}");
        assert!(date.ends_with('Z') && date.as_bytes()[8] == b'T', "{date}");

        let auth = seen.header("authorization").unwrap();
        let prefix = format!(
            "AWS4-HMAC-SHA256 Credential={AWS_KEY_ID}/{}/{expect_region}/sts/aws4_request, SignedHeaders=",
            &date[..8]
        );
        assert!(auth.starts_with(&prefix), "{auth}");
        let signed = auth[prefix.len()..].split(", ").next().unwrap();
        for h in ["content-type", "host", "x-amz-date"] {
            assert!(signed.split(';').any(|s| s == h), "{h} not signed: {auth}");
        }
        let signature = auth.rsplit_once(", Signature=").unwrap().1;
        assert_eq!(signature.len(), 64, "{auth}");
        assert!(
            signature
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{auth}"
        );
        verify_sigv4(&seen, AWS_SECRET).unwrap();
        // A wrong secret does not verify: the check is not vacuous.
        assert!(verify_sigv4(&seen, "wrong").is_err());
        assert!(!seen.head.contains(AWS_SECRET));

        assert_eq!(
            outcome,
            Outcome::Valid {
                detail: "HTTP 200 OK; arn:aws:iam::123456789012:user/alice".into()
            }
        );
    }
}

#[test]
fn aws_rejection_is_scrubbed_of_the_secret_and_the_key_id() {
    let echo = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>\
         <Message>Key {AWS_KEY_ID} with secret {AWS_SECRET} is invalid.</Message></Error></ErrorResponse>"
    );
    let (outcome, _) = run(
        "aws",
        "",
        &aws_secret(None),
        http("403 Forbidden", "text/xml", &echo),
    );
    assert!(outcome.is_rejected(), "{outcome:?}");
    let text = outcome_text(&outcome);
    assert_no_key(&text, AWS_SECRET);
    assert_no_key(&text, AWS_KEY_ID);
    assert!(text.contains("is invalid"), "{text}");
}

// ---------------------------------------------------------------- answers

#[test]
fn rejected_401_with_an_echoing_body_never_returns_the_key() {
    let body = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {OPENAI_KEY}. Yours ends in {}.","type":"invalid_request_error","code":"invalid_api_key"}}}}"#,
        &OPENAI_KEY[OPENAI_KEY.len() - 10..]
    );
    let (outcome, _) = run(
        "openai",
        "/v1",
        &Secret::new(OPENAI_KEY),
        json("401 Unauthorized", &body),
    );
    let Outcome::Rejected { status, message } = &outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(*status, 401);
    assert!(
        message.starts_with("Incorrect API key provided"),
        "{message}"
    );
    assert!(!message.contains('\n'));
    assert_no_key(&outcome_text(&outcome), OPENAI_KEY);
}

#[test]
fn rejected_403_with_an_echoing_body_never_returns_the_key() {
    let key = "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
    // JSON-escaped and split over lines, to make it harder.
    let body = format!(
        r#"{{"message":"Token\n{key}\nis not allowed here","documentation_url":"https://docs.example/{key}"}}"#
    );
    let (outcome, _) = run(
        "github",
        "",
        &Secret::new(key),
        json("403 Forbidden", &body),
    );
    assert!(
        matches!(outcome, Outcome::Rejected { status: 403, .. }),
        "{outcome:?}"
    );
    let text = outcome_text(&outcome);
    assert_no_key(&text, key);
    assert!(text.contains("is not allowed here"), "{text}");
}

#[test]
fn rejected_without_a_json_body_gives_the_status_text() {
    let (outcome, _) = run(
        "stripe",
        "",
        &Secret::new("sk_test_51AbCdEfGhIjKlMnOpQrStUv"),
        http("401 Unauthorized", "text/html", "<html>nope</html>"),
    );
    assert_eq!(
        outcome,
        Outcome::Rejected {
            status: 401,
            message: "Unauthorized".into()
        }
    );
    assert!(outcome.summary().starts_with("rejected (401)"));
}

#[test]
fn rate_limited_429_counts_as_valid_and_says_so() {
    let (outcome, _) = run(
        "openai",
        "/v1",
        &Secret::new(OPENAI_KEY),
        json(
            "429 Too Many Requests",
            r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#,
        ),
    );
    assert!(outcome.is_valid(), "{outcome:?}");
    assert!(!outcome.is_rejected());
    assert!(outcome.summary().contains("rate limited"), "{outcome:?}");
}

#[test]
fn server_error_500_is_unexpected_and_scrubbed() {
    let (outcome, _) = run(
        "openai",
        "/v1",
        &Secret::new(OPENAI_KEY),
        json(
            "500 Internal Server Error",
            &format!(r#"{{"error":{{"message":"crashed while handling {OPENAI_KEY}"}}}}"#),
        ),
    );
    assert!(
        matches!(
            outcome,
            Outcome::Unexpected {
                status: Some(500),
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(!outcome.is_rejected() && !outcome.is_valid());
    assert_no_key(&outcome_text(&outcome), OPENAI_KEY);
}

#[test]
fn other_4xx_and_redirects_are_unexpected() {
    let (outcome, _) = run(
        "openai",
        "/v1",
        &Secret::new(OPENAI_KEY),
        json("404 Not Found", r#"{"error":"no such route"}"#),
    );
    assert!(
        matches!(
            &outcome,
            Outcome::Unexpected { status: Some(404), message } if message.contains("no such route")
        ),
        "{outcome:?}"
    );

    // A redirect is not followed: the key goes nowhere else.
    let (outcome, _) = run(
        "anthropic",
        "",
        &Secret::new("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz012345-_aa"),
        Reply::Now(
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/steal\r\nContent-Length: 0\r\n\
              Connection: close\r\n\r\n"
                .to_vec(),
        ),
    );
    assert!(
        matches!(
            outcome,
            Outcome::Unexpected {
                status: Some(302),
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn a_slow_server_times_out_as_unreachable() {
    let (base, rx) = serve(Reply::After(
        Duration::from_secs(4),
        match ok_models() {
            Reply::Now(b) => b,
            _ => unreachable!(),
        },
    ));
    let outcome = check::check(
        "openai",
        Some(&format!("{base}/v1")),
        &Secret::new(OPENAI_KEY),
        Duration::from_secs(1),
    );
    assert!(
        matches!(&outcome, Outcome::Unreachable { message } if message.contains("timed out after 1 s")),
        "{outcome:?}"
    );
    assert!(!outcome.is_rejected());
    // The request did arrive; it was the answer that was late.
    assert!(rx.recv_timeout(TIMEOUT).is_ok());
}

#[test]
fn a_malformed_answer_is_neither_valid_nor_rejected() {
    let (outcome, seen) = run(
        "openai",
        "/v1",
        &Secret::new(OPENAI_KEY),
        Reply::Now(b"garbage\r\n\r\n".to_vec()),
    );
    assert_eq!(seen.target, "/v1/models");
    assert!(!outcome.is_valid(), "{outcome:?}");
    assert!(!outcome.is_rejected(), "{outcome:?}");
    assert!(
        matches!(
            outcome,
            Outcome::Unexpected { status: None, .. } | Outcome::Unreachable { .. }
        ),
        "{outcome:?}"
    );
    assert!(!outcome.summary().contains('\n'));
}

#[test]
fn a_server_that_hangs_up_is_unreachable() {
    let (outcome, _) = run("openai", "/v1", &Secret::new(OPENAI_KEY), Reply::Hangup);
    assert!(
        matches!(outcome, Outcome::Unreachable { .. }),
        "{outcome:?}"
    );
}

#[test]
fn connection_refused_is_unreachable() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let outcome = check::check(
        "openai",
        Some(&format!("http://127.0.0.1:{port}/v1")),
        &Secret::new(OPENAI_KEY),
        TIMEOUT,
    );
    assert!(
        matches!(&outcome, Outcome::Unreachable { message } if message.contains("refused")),
        "{outcome:?}"
    );
    assert!(outcome.summary().starts_with("unreachable"));
}

#[test]
fn request_for_matches_what_is_sent_and_hides_secrets_in_debug() {
    let secret = Secret::new(OPENAI_KEY);
    let req = check::request_for("openai", Some("http://127.0.0.1:1/v1"), &secret, 0).unwrap();
    assert_eq!(req.method, "GET");
    assert_eq!(req.url, "http://127.0.0.1:1/v1/models");
    assert_eq!(
        req.header("Authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    assert!(req.body.is_none());
    let shown = format!("{req:?} {req}");
    assert_no_key(&shown, OPENAI_KEY);
    assert_eq!(check::DEFAULT_TIMEOUT, Duration::from_secs(10));
}
