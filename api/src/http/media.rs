//! GraphQL over HTTP media types on POST /graphql: the request must be `application/json`
//! ([`is_json_request`]); the answer is `application/json` or
//! `application/graphql-response+json` as the client's Accept prefers ([`Media`]).

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

/// The media type of an answer on POST /graphql (GraphQL over HTTP, "Accept").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Media {
    /// `application/json`: also for `*/*`, no Accept, or nothing we offer.
    Json,
    /// `application/graphql-response+json`: HTTP status says whether anything ran.
    GraphqlResponse,
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

impl Media {
    /// The better of the two by the client's q-values; a tie goes to
    /// `application/graphql-response+json`, the spec's media type.
    pub(super) fn negotiate(headers: &HeaderMap) -> Media {
        let (mut json, mut graphql) = (0.0_f32, 0.0_f32);
        for value in headers.get_all(header::ACCEPT) {
            for range in value.to_str().unwrap_or_default().split(',') {
                let mut parts = range.split(';');
                let kind = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                match kind.as_str() {
                    GRAPHQL_RESPONSE_JSON => graphql = graphql.max(q),
                    "application/json" | "application/*" | "*/*" => json = json.max(q),
                    _ => {}
                }
            }
        }
        if graphql > 0.0 && graphql >= json {
            Media::GraphqlResponse
        } else {
            Media::Json
        }
    }

    /// Put an answer of the edge in this media type: its Content-Type, and for
    /// `application/graphql-response+json` no `data` entry on a refusal (a 4xx or 5xx answer
    /// is a request that did not execute).
    pub(super) async fn apply(self, response: Response) -> Response {
        if self == Media::Json {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        let is_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        if !is_json {
            return Response::from_parts(parts, body);
        }
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(GRAPHQL_RESPONSE_JSON),
        );
        if parts.status.is_success() {
            return Response::from_parts(parts, body);
        }
        // Refusals are small bodies built by the edge.
        let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
            return super::internal();
        };
        // async-graphql's Value keeps the keys in their order.
        let body = match serde_json::from_slice::<async_graphql::Value>(&bytes) {
            Ok(async_graphql::Value::Object(mut map)) => {
                map.shift_remove("data");
                serde_json::to_vec(&map).unwrap_or_default()
            }
            _ => bytes.to_vec(),
        };
        parts.headers.remove(header::CONTENT_LENGTH);
        Response::from_parts(parts, axum::body::Body::from(body))
    }
}

/// A request body must be JSON (GraphQL over HTTP; a POST without a Content-Type is refused).
pub(super) fn is_json_request(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}
