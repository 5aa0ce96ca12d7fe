//! Genesys Platform API error bodies (API notes §7.3–§7.4) and OAuth error bodies (§1.3).

use serde_json::{json, Value};

/// A Platform API error: HTTP status, Genesys `code` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// `Retry-After` seconds, when the error carries one.
    pub retry_after: Option<u32>,
    /// `messageWithParams` and `messageParams`, when the message has a template.
    pub params: Option<(&'static str, Vec<(&'static str, String)>)>,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            params: None,
        }
    }

    /// 400 `bad.request` with a specific message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad.request", message)
    }

    /// 400 `bad.request` for a body that is not the expected JSON.
    pub fn malformed() -> Self {
        Self::bad_request(
            "The request could not be understood by the server due to malformed syntax.",
        )
    }

    /// 400 `invalid.value`: "Value [v] is not valid for field type [T]. Allowable values are: …".
    /// The body also carries the template as `messageWithParams` and the values as
    /// `messageParams` (API notes §7.4, `ErrorBody`).
    pub fn invalid_value(value: &str, field_type: &str, allowed: &[&str]) -> Self {
        let allowed = allowed.join(", ");
        ApiError {
            params: Some((
                "Value [{value}] is not valid for field type [{fieldType}]. Allowable values are: {allowableValues}",
                vec![
                    ("value", value.to_string()),
                    ("fieldType", field_type.to_string()),
                    ("allowableValues", allowed.clone()),
                ],
            )),
            ..Self::new(
                400,
                "invalid.value",
                format!(
                    "Value [{value}] is not valid for field type [{field_type}]. Allowable values are: {allowed}"
                ),
            )
        }
    }

    /// 400 `invalid.date`.
    pub fn invalid_date() -> Self {
        Self::new(
            400,
            "invalid.date",
            "Dates must be specified as ISO-8601 strings. For example: yyyy-MM-ddTHH:mm:ss.SSSZ",
        )
    }

    /// 401 `authentication.required`.
    pub fn authentication_required() -> Self {
        Self::new(
            401,
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        )
    }

    /// 401 `bad.credentials`.
    pub fn bad_credentials() -> Self {
        Self::new(401, "bad.credentials", "Invalid login credentials.")
    }

    /// 401 `credentials.expired`.
    pub fn credentials_expired() -> Self {
        Self::new(
            401,
            "credentials.expired",
            "The supplied credentials are expired and cannot be used.",
        )
    }

    /// 403 `missing.any.permissions` naming the permission.
    pub fn missing_permission(permission: &str) -> Self {
        Self::new(
            403,
            "missing.any.permissions",
            format!(
                "Unable to perform the requested action. You must have at least one of the following permissions assigned: [{permission}]"
            ),
        )
    }

    /// 404 `not.found`.
    pub fn not_found() -> Self {
        Self::new(404, "not.found", "The requested resource was not found.")
    }

    /// 405 for a known path with the wrong method.
    pub fn method_not_allowed() -> Self {
        Self::new(405, "method.not.allowed", "HTTP 405 Method Not Allowed")
    }

    /// 413 for a body over the 512,000-byte request limit.
    pub fn too_large() -> Self {
        Self::new(
            413,
            "request.entity.too.large",
            "The request is larger than the maximum of 512000 bytes.",
        )
    }

    /// 415 for a body that is not `application/json`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            415,
            "unsupported.media.type",
            "Unsupported Media Type - Unsupported or incorrect media type, such as an incorrect Content-Type value in the header.",
        )
    }

    /// 429 with the normalized body and `Retry-After`.
    pub fn rate_limited(retry_after: u32) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                429,
                "too.many.requests.retry.after",
                format!(
                    "Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
                ),
            )
        }
    }

    /// A server-side error as Genesys reports it (500, 502, 503, 504 and others).
    pub fn server(status: u16, retry_after: Option<u32>) -> Self {
        if status == 429 {
            return Self::rate_limited(retry_after.unwrap_or(1));
        }
        let (code, message) = match status {
            500 => ("internal.server.error", "The server encountered an unexpected condition which prevented it from fulfilling the request."),
            502 => ("bad.gateway", "The server, while acting as a gateway or proxy, received an invalid response from the upstream server."),
            503 => ("service.unavailable", "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance)."),
            504 => ("request.timeout", "The request timed out."),
            401 => ("bad.credentials", "Invalid login credentials."),
            403 => ("not.authorized", "You are not authorized to perform the requested action."),
            404 => ("not.found", "The requested resource was not found."),
            _ => ("bad.request", "The request could not be understood by the server due to malformed syntax."),
        };
        ApiError {
            retry_after,
            ..Self::new(status, code, message)
        }
    }

    /// The JSON body, echoing the correlation id as `contextId`.
    pub fn body(&self, correlation_id: &str) -> Value {
        let mut body = json!({
            "message": self.message,
            "code": self.code,
            "status": self.status,
            "contextId": correlation_id,
            "details": [],
            "errors": [],
        });
        if let Some((template, params)) = &self.params {
            body["messageWithParams"] = json!(template);
            body["messageParams"] = params
                .iter()
                .map(|(k, v)| ((*k).to_string(), json!(v)))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        body
    }
}

/// An OAuth token-endpoint error (`error`, `description`, `error_description`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: &'static str,
}

impl OAuthError {
    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({
            "error": self.error,
            "description": self.description,
            "error_description": self.description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// invalid.value messages follow the Genesys template.
    #[test]
    fn invalid_value_template() {
        let e = ApiError::invalid_value("x", "QueryFilterType", &["and", "or"]);
        assert_eq!(
            e.message,
            "Value [x] is not valid for field type [QueryFilterType]. Allowable values are: and, or"
        );
        let body = e.body("abc");
        assert_eq!(body["contextId"], "abc");
        assert_eq!(body["status"], 400);
        assert_eq!(body["messageParams"]["value"], "x");
        assert_eq!(body["messageParams"]["allowableValues"], "and, or");
        assert!(body["messageWithParams"]
            .as_str()
            .is_some_and(|t| t.contains("[{fieldType}]")));
    }
}
