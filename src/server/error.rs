//! `ApiError`: every failure the API answers with, its status and its JSON body
//! `{"error": {"type", "message", …}}` (plus `"budget"` on a 402, `"rows"` on a 400 that
//! refuses usage rows).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::db::StoreError;
use crate::api::{BudgetStatus, RefusedRow};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// Usage rows that can never be taken, each named (a 400 with `"rows"`).
    #[error("{message}")]
    RowsRefused {
        message: String,
        rows: Vec<RefusedRow>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{message}")]
    BudgetExhausted {
        message: String,
        budget: Box<BudgetStatus>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::RowsRefused { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BudgetExhausted { .. } => StatusCode::PAYMENT_REQUIRED,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) | ApiError::RowsRefused { .. } => "invalid_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Gone(_) => "gone",
            ApiError::TooLarge(_) => "too_large",
            ApiError::BudgetExhausted { .. } => "budget_exhausted",
            ApiError::Store(_) => "server_error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Store(e) = &self {
            tracing::error!("store error: {e}");
        }
        let mut error = serde_json::json!({"type": self.kind(), "message": self.to_string()});
        if let ApiError::BudgetExhausted { budget, .. } = &self {
            error["budget"] = serde_json::to_value(budget).unwrap_or_default();
        }
        if let ApiError::RowsRefused { rows, .. } = &self {
            error["rows"] = serde_json::to_value(rows).unwrap_or_default();
        }
        let mut response =
            (self.status(), Json(serde_json::json!({ "error": error }))).into_response();
        if matches!(self, ApiError::TooLarge(_)) {
            // The body may be unread: the connection cannot carry another request.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}
