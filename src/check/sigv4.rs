//! AWS Signature Version 4, header form, for the STS check: canonical request, string
//! to sign, signing key chain. Hashing comes from [`crate::crypto`].
//!
//! Reference: AWS General Reference, "Create a signed AWS API request", and the SigV4
//! test suite (its `get-vanilla`, `post-vanilla` and `get-vanilla-query-order-key-case`
//! vectors are reproduced in the tests below).

use zeroize::Zeroizing;

use crate::crypto::{hmac_sha256, sha256};

/// The algorithm name that opens the string to sign and the Authorization header.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// What gets signed.
pub(crate) struct SignInput<'a> {
    /// `GET`, `POST`...
    pub method: &'a str,
    /// The path as it is sent on the request line (already percent-encoded once).
    pub path: &'a str,
    /// The query as sent, without the `?` (empty when there is none).
    pub query: &'a str,
    /// Every header to sign (names in any case); `host` and `x-amz-date` must be here.
    pub headers: &'a [(String, String)],
    /// The request body.
    pub payload: &'a [u8],
    /// `us-east-1`...
    pub region: &'a str,
    /// `sts`...
    pub service: &'a str,
    /// `YYYYMMDD'T'HHMMSS'Z'`, the same value as the `x-amz-date` header.
    pub amz_date: &'a str,
    /// The access key id (`AKIA...`).
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a str,
}

/// The intermediate results (the product sends only the Authorization header; the
/// tests compare every step with the AWS test suite).
pub(crate) struct Signed {
    #[cfg_attr(not(test), expect(dead_code, reason = "compared by the tests"))]
    pub canonical_request: String,
    #[cfg_attr(not(test), expect(dead_code, reason = "compared by the tests"))]
    pub string_to_sign: String,
    #[cfg_attr(not(test), expect(dead_code, reason = "compared by the tests"))]
    pub signature: String,
    pub authorization: String,
}

/// Signs `input` and builds the Authorization header value.
pub(crate) fn sign(input: &SignInput<'_>) -> Signed {
    let payload_hash = hex(&sha256(input.payload));
    let (canonical_request, signed_headers) = canonical_request(
        input.method,
        input.path,
        input.query,
        input.headers,
        &payload_hash,
    );
    let date = &input.amz_date[..input.amz_date.len().min(8)];
    let scope = format!("{date}/{}/{}/aws4_request", input.region, input.service);
    let string_to_sign = string_to_sign(input.amz_date, &scope, &canonical_request);
    let key = signing_key(input.secret_access_key, date, input.region, input.service);
    let signature = hex(&hmac_sha256(&*key, string_to_sign.as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        input.access_key_id
    );
    Signed {
        canonical_request,
        string_to_sign,
        signature,
        authorization,
    }
}

/// The canonical request and the signed-headers list (`host;x-amz-date`).
pub(crate) fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    payload_hash: &str,
) -> (String, String) {
    let mut canon: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let name = name.trim().to_ascii_lowercase();
        let value = collapse_spaces(value);
        match canon.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => canon.push((name, value)),
        }
    }
    canon.sort_by(|a, b| a.0.cmp(&b.0));
    let signed_headers = canon
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut out = String::new();
    out.push_str(method);
    out.push('\n');
    out.push_str(&canonical_uri(path));
    out.push('\n');
    out.push_str(&canonical_query(query));
    out.push('\n');
    for (n, v) in &canon {
        out.push_str(n);
        out.push(':');
        out.push_str(v);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers);
    out.push('\n');
    out.push_str(payload_hash);
    (out, signed_headers)
}

/// `AWS4-HMAC-SHA256 \n date \n scope \n hex(sha256(canonical request))`.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex(&sha256(canonical_request.as_bytes()))
    )
}

/// The signing key chain: `kSecret -> kDate -> kRegion -> kService -> kSigning`.
/// Every step is wiped when dropped: each one signs for the secret (for a day).
pub(crate) fn signing_key(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
) -> Zeroizing<[u8; 32]> {
    let k_secret = Zeroizing::new(format!("AWS4{secret}").into_bytes());
    let k_date = Zeroizing::new(hmac_sha256(&k_secret, date.as_bytes()));
    let k_region = Zeroizing::new(hmac_sha256(&*k_date, region.as_bytes()));
    let k_service = Zeroizing::new(hmac_sha256(&*k_region, service.as_bytes()));
    Zeroizing::new(hmac_sha256(&*k_service, b"aws4_request"))
}

/// `x-amz-date` for a Unix time: `20150830T123600Z`.
pub(crate) fn amz_date(now_unix: i64) -> Result<String, String> {
    let ts = jiff::Timestamp::from_second(now_unix)
        .map_err(|_| "the system clock is out of range for signing".to_string())?;
    Ok(ts.strftime("%Y%m%dT%H%M%SZ").to_string())
}

/// Each path segment URI-encoded once more (the sent path is already encoded once,
/// so this is the "encode twice" that every service but S3 expects).
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    path.split('/')
        .map(|seg| uri_encode(seg.as_bytes()))
        .collect::<Vec<_>>()
        .join("/")
}

/// Parameters decoded, re-encoded the AWS way and sorted by name, then value.
fn canonical_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986 encoding as AWS wants it: unreserved characters kept, the rest `%XX`.
fn uri_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let hi = (b[i + 1] as char).to_digit(16).unwrap_or(0);
            let lo = (b[i + 2] as char).to_digit(16).unwrap_or(0);
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Trims a header value and turns runs of spaces into one.
fn collapse_spaces(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    // The AWS SigV4 test suite's credentials and time.
    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const DATE: &str = "20150830T123600Z";

    fn suite(method: &str, query: &str) -> Signed {
        let headers = vec![
            ("Host".to_string(), "example.amazonaws.com".to_string()),
            ("X-Amz-Date".to_string(), DATE.to_string()),
        ];
        sign(&SignInput {
            method,
            path: "/",
            query,
            headers: &headers,
            payload: b"",
            region: "us-east-1",
            service: "service",
            amz_date: DATE,
            access_key_id: AKID,
            secret_access_key: SECRET,
        })
    }

    #[test]
    fn get_vanilla() {
        let s = suite("GET", "");
        assert_eq!(
            s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             host;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
             bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        assert_eq!(
            s.signature,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(
            s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn post_vanilla() {
        assert_eq!(
            suite("POST", "").signature,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
    }

    #[test]
    fn get_vanilla_query_order_key_case() {
        let s = suite("GET", "Param2=value2&Param1=value1");
        assert!(
            s.canonical_request
                .starts_with("GET\n/\nParam1=value1&Param2=value2\n"),
            "{}",
            s.canonical_request
        );
        assert_eq!(
            s.signature,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn header_values_are_trimmed_and_duplicates_joined() {
        let headers = vec![
            ("My-Header1".to_string(), "  a   b   c  ".to_string()),
            ("host".to_string(), "h".to_string()),
            ("my-header1".to_string(), "d".to_string()),
        ];
        let (c, signed) = canonical_request("GET", "/a b/", "", &headers, "x");
        assert_eq!(signed, "host;my-header1");
        assert!(c.contains("\nhost:h\nmy-header1:a b c,d\n"), "{c}");
        assert!(c.starts_with("GET\n/a%20b/\n"), "{c}");
        assert_eq!(canonical_uri("/x%20y"), "/x%2520y");
    }

    #[test]
    fn amz_dates() {
        assert_eq!(amz_date(1_440_938_160).unwrap(), DATE);
        assert_eq!(amz_date(0).unwrap(), "19700101T000000Z");
        assert_eq!(amz_date(1_709_164_800).unwrap(), "20240229T000000Z");
    }
}
