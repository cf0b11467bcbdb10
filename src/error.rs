//! The one error type of Roster.
//!
//! Every failure a client can see is a variant of [`Error`], and every variant has a stable
//! [`ErrorCode`]. The code becomes `extensions.code` in GraphQL responses and picks the HTTP status
//! of the non-GraphQL routes; both mappings are single `match`es on [`Error::code`]. Internal causes
//! (database, I/O, crypto) are logged with their whole chain and answered with a generic message.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use std::fmt::Write as _;

/// Stable, machine-readable error codes shared by GraphQL and HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No valid credentials (missing, expired, forged or revoked token; wrong password).
    Unauthenticated,
    /// Authenticated, but the caller's roles do not allow this.
    Forbidden,
    /// Authenticated with a one-time password that must be changed (`changePassword`) first.
    PasswordChangeRequired,
    /// The right one-time password, but it has expired: an administrator must issue a new one.
    PasswordExpired,
    /// The object does not exist in the caller's organization.
    NotFound,
    /// The input breaks a rule; `field` or `rows` say where.
    Validation,
    /// The change collides with existing data.
    Conflict,
    /// Too many attempts; retry later.
    RateLimited,
    /// A provider (DingTalk, WeCom, Microsoft) refused or failed.
    Provider,
    /// A fault on our side; details are in the server log.
    Internal,
}

impl ErrorCode {
    /// The code as it appears in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::PasswordChangeRequired => "PASSWORD_CHANGE_REQUIRED",
            Self::PasswordExpired => "PASSWORD_EXPIRED",
            Self::NotFound => "NOT_FOUND",
            Self::Validation => "VALIDATION",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::Provider => "PROVIDER",
            Self::Internal => "INTERNAL",
        }
    }

    /// The HTTP status used outside GraphQL.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Unauthenticated | Self::PasswordExpired => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::PasswordChangeRequired => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Validation => StatusCode::BAD_REQUEST,
            Self::Conflict => StatusCode::CONFLICT,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Provider => StatusCode::BAD_GATEWAY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Everything that can go wrong in a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Credentials are missing or not valid; the message says which and what to do.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this; the message names the missing permission or rule.
    #[error("{0}")]
    Forbidden(String),
    /// The caller must replace a one-time password before anything else; the message says how.
    #[error("{0}")]
    PasswordChangeRequired(String),
    /// The right one-time password, past its expiry; the message says when and what to do.
    #[error("{0}")]
    PasswordExpired(String),
    /// No such object in the caller's organization.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Bad input for one field.
    #[error("{message}")]
    Validation {
        /// Input field at fault, in GraphQL spelling.
        field: Option<String>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The change collides with existing data.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts.
    #[error("{message}")]
    RateLimited {
        /// What was limited.
        message: String,
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// A provider refused or failed; the message explains it in plain words.
    #[error("{message}")]
    Provider {
        /// Which provider.
        provider: &'static str,
        /// The provider's own error code, if it gave one.
        errcode: Option<String>,
        /// What happened and what to do.
        message: String,
    },
    /// A database failure.
    #[error("database error")]
    Database(#[from] sea_orm::DbErr),
    /// Any other fault on our side.
    #[error("{0}")]
    Internal(String),
}

/// Shorthand for results carrying [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A validation error for one input field.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// An internal fault with a description for the log.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }

    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::PasswordChangeRequired(_) => ErrorCode::PasswordChangeRequired,
            Self::PasswordExpired(_) => ErrorCode::PasswordExpired,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Validation { .. } => ErrorCode::Validation,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Provider { .. } => ErrorCode::Provider,
            Self::Database(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message a client sees: internal details are replaced by a generic sentence and logged.
    pub fn public_message(&self) -> String {
        if self.code() == ErrorCode::Internal {
            tracing::error!(error = %error_chain(self), "internal error");
            "internal server error; the details are in the server log".into()
        } else {
            self.to_string()
        }
    }
}

/// Formats an error with all its sources, one per line (zero2prod `error_chain_fmt`).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(out, "\n  caused by: {cause}");
        source = cause.source();
    }
    out
}

impl async_graphql::ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.public_message()).extend_with(|_, ext| {
            ext.set("code", self.code().as_str());
            match self {
                Self::Validation {
                    field: Some(field), ..
                } => ext.set("field", field.as_str()),
                Self::RateLimited {
                    retry_after_secs, ..
                } => ext.set("retryAfter", *retry_after_secs),
                _ => {}
            }
        })
    }
}

impl From<Error> for async_graphql::Error {
    fn from(error: Error) -> Self {
        use async_graphql::ErrorExtensions;
        error.extend()
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Self::RateLimited {
            retry_after_secs, ..
        } = self
        {
            response.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        response.json(serde_json::json!({
            "error": { "code": self.code().as_str(), "message": self.public_message() }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::ErrorExtensions;

    #[test]
    fn graphql_extension_carries_code_and_field() {
        let err = Error::validation("nickname", "too long").extend();
        let ext = err.extensions.expect("extensions");
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("VALIDATION"))
        );
        assert_eq!(
            ext.get("field"),
            Some(&async_graphql::Value::from("nickname"))
        );
    }

    #[test]
    fn internal_details_are_not_returned() {
        let err = Error::internal("secret detail: key mismatch");
        assert!(!err.public_message().contains("secret"));
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let db = Error::from(sea_orm::DbErr::Custom("connection refused".into()));
        assert_eq!(db.code(), ErrorCode::Internal);
    }

    #[test]
    fn codes_map_to_statuses() {
        assert_eq!(
            Error::Unauthenticated("x".into()).status_code(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            Error::PasswordExpired("x".into()).status_code(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            Error::Forbidden("x".into()).status_code(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            Error::NotFound("member").status_code(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            Error::RateLimited {
                message: "x".into(),
                retry_after_secs: 3
            }
            .status_code(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}
