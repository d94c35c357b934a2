//! What an S3 failure means for Lifeboat: the SDK's error reduced to a [`StoreError`]
//! that says whether to retry (away, throttled), give up (missing, corrupt) or fix the
//! credentials, with the bucket and object named.

use crate::runtime::store::StoreError;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// How the SDK failed, reduced to what decides our answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// The request could not be built (a bug or a bad name).
    Build,
    /// No answer in time.
    Timeout,
    /// Connection refused, reset, DNS: the server is away.
    Io,
    /// Failed before sending for another reason (often: no credentials found).
    Dispatch,
    /// An answer that could not be understood.
    Response,
    /// The server answered with an error.
    Service,
}

/// The decision, before wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Class {
    NotFound,
    NoBucket,
    Corrupt,
    Credentials,
    Transient,
    Other,
}

const NOT_FOUND: &[&str] = &["NoSuchKey", "NotFound", "NoSuchUpload"];
const CORRUPT: &[&str] = &[
    "BadDigest",
    "InvalidDigest",
    "XAmzContentSHA256Mismatch",
    "XAmzContentChecksumMismatch",
    "InvalidChecksum",
];
const CREDENTIALS: &[&str] = &[
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
];
const TRANSIENT: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
];

/// Pure: the class of a failure from its kind, HTTP status, S3 error code and text.
pub(super) fn classify(
    failure: Failure,
    status: Option<u16>,
    code: Option<&str>,
    text: &str,
) -> Class {
    let has = |list: &[&str]| code.is_some_and(|c| list.contains(&c));
    let lower = text.to_ascii_lowercase();
    match failure {
        Failure::Build => Class::Other,
        Failure::Timeout | Failure::Io | Failure::Response => Class::Transient,
        // Identity resolution fails here, before anything is sent.
        Failure::Dispatch if lower.contains("credential") => Class::Credentials,
        Failure::Dispatch => Class::Transient,
        Failure::Service => {
            if code == Some("NoSuchBucket") {
                Class::NoBucket
            } else if has(NOT_FOUND) || status == Some(404) {
                Class::NotFound
            } else if has(CORRUPT) || (status == Some(400) && lower.contains("checksum")) {
                Class::Corrupt
            } else if has(CREDENTIALS) || matches!(status, Some(401 | 403)) {
                Class::Credentials
            } else if has(TRANSIENT) || matches!(status, Some(408 | 429 | 500..=599)) {
                Class::Transient
            } else {
                Class::Other
            }
        }
    }
}

/// Pure: the words for a class. `what` names the request, e.g. `PUT s3://b/k`.
pub(super) fn word(class: Class, bucket: &str, what: &str, url: &str, detail: &str) -> StoreError {
    match class {
        Class::NotFound => StoreError::NotFound(url.to_string()),
        Class::NoBucket => StoreError::Other(format!(
            "{what}: bucket {bucket:?} does not exist; create it or fix [storage.s3] bucket"
        )),
        Class::Corrupt => StoreError::Corrupt(format!(
            "{what}: S3 rejected the bytes as not matching their SHA-256 ({detail})"
        )),
        Class::Credentials => StoreError::Other(format!(
            "{what}: S3 refused access to bucket {bucket:?} ({detail}); check the credentials: \
             the AWS SDK default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
             ~/.aws/credentials, an instance role) or the profile named by [storage.s3] \
             profile, and that they may use this bucket"
        )),
        Class::Transient => {
            StoreError::Unavailable(format!("{what}: S3 is unavailable ({detail})"))
        }
        Class::Other => StoreError::Other(format!("{what}: {detail}")),
    }
}

/// Maps an SDK error for request `what` on object `url` of `bucket`.
pub(super) fn sdk<E>(err: &SdkError<E>, bucket: &str, what: &str, url: &str) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let failure = match err {
        SdkError::ConstructionFailure(_) => Failure::Build,
        SdkError::TimeoutError(_) => Failure::Timeout,
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => Failure::Io,
        SdkError::DispatchFailure(_) => Failure::Dispatch,
        SdkError::ServiceError(_) => Failure::Service,
        _ => Failure::Response,
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code();
    let text = chain(err);
    let detail = match (code, err.message(), status) {
        (Some(c), Some(m), _) => format!("{c}: {m}"),
        (Some(c), None, Some(s)) => format!("{c}, HTTP {s}"),
        (None, _, Some(s)) => format!("HTTP {s}: {text}"),
        _ => text.clone(),
    };
    word(
        classify(failure, status, code, &text),
        bucket,
        what,
        url,
        &detail,
    )
}

/// The error and its sources, each as displayed, without the debug dumps that
/// `DisplayErrorContext` adds.
pub(super) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let s = e.to_string();
        if !s.is_empty() && parts.last() != Some(&s) {
            parts.push(s);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// A body that broke off while streaming: a checksum mismatch is corruption, anything
/// else a connection problem worth retrying.
pub(super) fn body(err: &(dyn std::error::Error + 'static), what: &str) -> StoreError {
    let text = chain(err);
    if text.to_ascii_lowercase().contains("checksum") {
        StoreError::Corrupt(format!(
            "{what}: the body did not match its checksum ({text})"
        ))
    } else {
        StoreError::Unavailable(format!("{what}: the download broke off ({text})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_service_answers() {
        let s = Failure::Service;
        assert_eq!(
            classify(s, Some(404), Some("NoSuchKey"), ""),
            Class::NotFound
        );
        assert_eq!(classify(s, Some(404), None, ""), Class::NotFound);
        assert_eq!(
            classify(s, Some(404), Some("NoSuchBucket"), ""),
            Class::NoBucket
        );
        assert_eq!(
            classify(s, Some(400), Some("BadDigest"), ""),
            Class::Corrupt
        );
        assert_eq!(
            classify(s, Some(400), Some("InvalidRequest"), "Checksum mismatch"),
            Class::Corrupt
        );
        assert_eq!(
            classify(s, Some(403), Some("SignatureDoesNotMatch"), ""),
            Class::Credentials
        );
        assert_eq!(classify(s, Some(403), None, ""), Class::Credentials);
        assert_eq!(
            classify(s, Some(503), Some("SlowDown"), ""),
            Class::Transient
        );
        assert_eq!(classify(s, Some(500), None, ""), Class::Transient);
        assert_eq!(classify(s, Some(429), None, ""), Class::Transient);
        assert_eq!(
            classify(s, Some(400), Some("InvalidArgument"), ""),
            Class::Other
        );
    }

    #[test]
    fn classifies_failures_before_an_answer() {
        assert_eq!(classify(Failure::Io, None, None, ""), Class::Transient);
        assert_eq!(classify(Failure::Timeout, None, None, ""), Class::Transient);
        assert_eq!(
            classify(Failure::Response, None, None, ""),
            Class::Transient
        );
        assert_eq!(
            classify(Failure::Dispatch, None, None, "failed to load credentials"),
            Class::Credentials
        );
        assert_eq!(classify(Failure::Build, None, None, ""), Class::Other);
    }

    #[test]
    fn words_name_the_bucket_and_the_fix() {
        let e = word(
            Class::Credentials,
            "ckpt",
            "PUT s3://ckpt/a",
            "s3://ckpt/a",
            "403",
        );
        let StoreError::Other(m) = &e else {
            panic!("{e:?}")
        };
        assert!(m.contains("\"ckpt\"") && m.contains("credentials") && m.contains("profile"));
        assert!(word(Class::Transient, "b", "GET", "u", "refused").is_transient());
        assert_eq!(
            word(Class::NotFound, "b", "GET", "s3://b/k", ""),
            StoreError::NotFound("s3://b/k".into())
        );
    }
}
