//! `/graphql` as the GraphQL-over-HTTP spec describes it: POST with JSON (or multipart uploads,
//! or `application/graphql`), GET for queries only (a mutation over GET is 405), responses as
//! `application/graphql-response+json` when the client accepts it (then request errors are 400)
//! or `application/json` (then they are 200), and graphql-transport-ws subscriptions on the same path.

use super::client::client_ip;
use crate::{
    auth::{AuthState, principal::authenticate},
    error::ErrorCode,
    graphql::{RequestInfo, RosterSchema, documents::DocumentCache, loaders::LoaderPool},
    state::AppState,
};
use actix_web::{
    HttpRequest, HttpResponse,
    http::{Method, StatusCode, header},
    web,
};
use async_graphql::{
    BatchRequest, BatchResponse, Data, Executor,
    http::{MultipartOptions, receive_batch_body},
    parser::types::OperationType,
};
use async_graphql_actix_web::GraphQLSubscription;
use futures_util::StreamExt;
use serde_json::json;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// Which media type the response uses, from the `Accept` header.
fn response_media_type(req: &HttpRequest) -> Option<&'static str> {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Some(JSON);
    };
    let mut best = None;
    for item in accept.split(',') {
        let media = item
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            GRAPHQL_RESPONSE => return Some(GRAPHQL_RESPONSE),
            JSON | "*/*" | "application/*" => best = best.or(Some(JSON)),
            _ => {}
        }
    }
    best
}

/// A request refused before GraphQL ran: its code follows the status (500 is INTERNAL, the rest
/// VALIDATION), as everywhere in the API.
fn request_error(status: StatusCode, media: &str, message: impl Into<String>) -> HttpResponse {
    let code = if status.is_server_error() {
        ErrorCode::Internal
    } else {
        ErrorCode::Validation
    };
    HttpResponse::build(status)
        .content_type(format!("{media}; charset=utf-8"))
        .json(json!({ "errors": [{ "message": message.into(), "extensions": { "code": code.as_str() } }] }))
}

/// The selected operation's type, if the document parses and the selection is unambiguous.
fn operation_type(query: &str, operation_name: Option<&str>) -> Option<OperationType> {
    let doc = async_graphql::parser::parse_query(query).ok()?;
    let mut operations = doc.operations.iter();
    match operation_name {
        Some(name) => operations
            .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))
            .map(|(_, op)| op.node.ty),
        None => {
            let (_, op) = operations.next()?;
            Some(op.node.ty)
        }
    }
}

/// Parses a GET query string. async-graphql 7.2's own parser reads `operation_name` where the
/// spec says `operationName`, so the spec's spelling (and the other, for lenience) is read here.
fn parse_get(query_string: &str) -> Result<async_graphql::Request, String> {
    #[derive(serde::Deserialize)]
    struct Params {
        #[serde(default)]
        query: String,
        #[serde(rename = "operationName", alias = "operation_name")]
        operation_name: Option<String>,
        variables: Option<String>,
        extensions: Option<String>,
    }
    let params: Params = serde_urlencoded::from_str(query_string).map_err(|e| e.to_string())?;
    if params.query.trim().is_empty() {
        return Err("the `query` parameter is missing".into());
    }
    let mut request = async_graphql::Request::new(params.query);
    request.operation_name = params.operation_name.filter(|n| !n.is_empty());
    if let Some(variables) = params.variables.filter(|v| !v.is_empty()) {
        request.variables = serde_json::from_str(&variables)
            .map_err(|e| format!("`variables` is not a JSON object: {e}"))?;
    }
    if let Some(extensions) = params.extensions.filter(|v| !v.is_empty()) {
        request.extensions = serde_json::from_str(&extensions)
            .map_err(|e| format!("`extensions` is not a JSON object: {e}"))?;
    }
    Ok(request)
}

async fn read_body(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, ()> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ())?;
        if body.len() + chunk.len() > limit {
            return Err(());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Handles `GET` and `POST /graphql`.
pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    app: web::Data<AppState>,
    schema: web::Data<RosterSchema>,
) -> HttpResponse {
    let Some(media) = response_media_type(&req) else {
        return HttpResponse::NotAcceptable().body(format!(
            "this endpoint answers {GRAPHQL_RESPONSE} or {JSON}; adjust the Accept header"
        ));
    };
    let limits = &app.settings.graphql;
    let batch = if req.method() == Method::GET {
        match parse_get(req.query_string()) {
            Ok(request) => {
                if operation_type(&request.query, request.operation_name.as_deref())
                    .is_some_and(|ty| ty != OperationType::Query)
                {
                    return HttpResponse::MethodNotAllowed()
                        .insert_header((header::ALLOW, "POST"))
                        .content_type(format!("{media}; charset=utf-8"))
                        .json(json!({ "errors": [{ "message": "only queries may be sent with GET; send mutations with POST", "extensions": { "code": "VALIDATION" } }] }));
                }
                BatchRequest::Single(request)
            }
            Err(e) => {
                return request_error(
                    StatusCode::BAD_REQUEST,
                    media,
                    format!("invalid GraphQL GET request: {e}"),
                );
            }
        }
    } else {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let multipart = content_type
            .as_deref()
            .is_some_and(|ct| ct.starts_with("multipart/form-data"));
        let limit = if multipart {
            limits.max_upload_bytes + limits.max_body_bytes
        } else {
            limits.max_body_bytes
        };
        let Ok(body) = read_body(payload, limit).await else {
            return request_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                media,
                format!(
                    "the request body is larger than {limit} bytes; send less or raise ROSTER_GRAPHQL__MAX_BODY_BYTES"
                ),
            );
        };
        let options = MultipartOptions::default()
            .max_file_size(limits.max_upload_bytes)
            .max_num_files(4);
        match receive_batch_body(content_type, futures_util::io::Cursor::new(body), options).await {
            Ok(batch) => batch,
            Err(async_graphql::ParseRequestError::PayloadTooLarge) => {
                return request_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    media,
                    format!(
                        "the uploaded file is larger than {} bytes; upload a smaller file or raise ROSTER_GRAPHQL__MAX_UPLOAD_BYTES",
                        limits.max_upload_bytes
                    ),
                );
            }
            Err(e) => {
                return request_error(
                    StatusCode::BAD_REQUEST,
                    media,
                    format!("the request could not be parsed: {e}"),
                );
            }
        }
    };
    let count = match &batch {
        BatchRequest::Single(_) => 1,
        BatchRequest::Batch(list) => list.len(),
    };
    if count == 0 || count > limits.max_batch {
        return request_error(
            StatusCode::BAD_REQUEST,
            media,
            format!(
                "a batch must hold between 1 and {} operations; this one holds {count}",
                limits.max_batch
            ),
        );
    }

    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let auth = match authenticate(&app.db, &app.keys, &app.tokens, authorization).await {
        Ok(auth) => auth,
        Err(e) => {
            tracing::error!(error = %crate::error::error_chain(&e), "authentication failed");
            return request_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                media,
                "internal server error",
            );
        }
    };
    let info = RequestInfo {
        client_ip: client_ip(&req, app.settings.trust_forwarded_for),
    };
    let caller = match &auth {
        AuthState::Authenticated(p) => Some(p.organization_id),
        _ => None,
    };
    let mut batch = batch
        .data(LoaderPool::new(app.db.clone(), caller))
        .data(auth)
        .data(info);
    let started = std::time::Instant::now();
    let operations: Vec<Option<String>> = batch
        .iter_mut()
        .map(|request| root_field(request, schema.documents()))
        .collect();
    let response = schema.execute_batch(batch).await;
    record_operations(&operations, &response, started.elapsed());

    let status = match &response {
        BatchResponse::Single(r) if media == GRAPHQL_RESPONSE && is_request_error(r) => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    HttpResponse::build(status)
        .content_type(format!("{media}; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(response)
}

/// Whether GraphQL refused the request before executing it (it did not parse or validate):
/// no data, and errors that belong to no field.
fn is_request_error(r: &async_graphql::Response) -> bool {
    r.data == async_graphql::Value::Null
        && !r.errors.is_empty()
        && r.errors.iter().all(|e| e.path.is_empty())
}

/// The metrics label of an operation: its root field (`members`, `login`), `multiple` when it
/// selects several. Read from the kept document when the schema has admitted the same text
/// before; otherwise the document is parsed here once and kept in the request for execution.
fn root_field(request: &mut async_graphql::Request, documents: &DocumentCache) -> Option<String> {
    let name = request.operation_name.clone();
    if let Some(label) = documents.read(&request.query, |document| label(document, name.as_deref()))
    {
        return label;
    }
    // Parsing would recurse once per level; the schema refuses such a document unparsed.
    if crate::graphql::limits::nests_deeper_than(
        &request.query,
        crate::graphql::limits::MAX_NESTING,
    ) {
        return None;
    }
    let document = request.parsed_query().ok()?;
    label(document, name.as_deref())
}

/// The root field an operation of `document` selects, `multiple` when it selects several.
fn label(
    document: &async_graphql::parser::types::ExecutableDocument,
    name: Option<&str>,
) -> Option<String> {
    use async_graphql::parser::types::{DocumentOperations, Selection};
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(_), None) => return None,
    };
    match operation.node.selection_set.node.items.as_slice() {
        [item] => match &item.node {
            Selection::Field(field) => Some(field.node.name.node.to_string()),
            _ => Some("multiple".into()),
        },
        _ => Some("multiple".into()),
    }
}

/// Counts and times the operations of a request. Names come from documents that passed
/// validation only (a refused document may name any field), so the label set stays the schema's.
fn record_operations(
    operations: &[Option<String>],
    response: &BatchResponse,
    took: std::time::Duration,
) {
    let responses: Vec<&async_graphql::Response> = match response {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(list) => list.iter().collect(),
    };
    for (operation, response) in operations.iter().zip(responses) {
        let operation = match operation {
            Some(name) if !is_request_error(response) => name.as_str(),
            _ => "invalid",
        };
        let outcome = match response.errors.first() {
            None => "ok".to_string(),
            Some(e) => match e.extensions.as_ref().and_then(|x| x.get("code")) {
                Some(async_graphql::Value::String(code)) => code.clone(),
                Some(async_graphql::Value::Enum(code)) => code.to_string(),
                _ => "error".to_string(),
            },
        };
        crate::metrics::metrics().graphql_operation(operation, &outcome, took);
    }
}

/// Upgrades `GET /graphql` to a graphql-transport-ws (or legacy graphql-ws) connection. The access
/// token comes from the `connection_init` payload (`{"Authorization": "Bearer …"}`) or the upgrade
/// request's `Authorization` header.
pub async fn subscriptions(
    req: HttpRequest,
    payload: web::Payload,
    app: web::Data<AppState>,
    schema: web::Data<RosterSchema>,
) -> actix_web::Result<HttpResponse> {
    let header_token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let info = RequestInfo {
        client_ip: client_ip(&req, app.settings.trust_forwarded_for),
    };
    let state = app.get_ref().clone();
    let mut data = Data::default();
    data.insert(info);
    GraphQLSubscription::new(schema.get_ref().clone())
        .with_data(data)
        .on_connection_init(move |value| async move {
            let from_payload = ["Authorization", "authorization", "token"]
                .iter()
                .find_map(|k| value.get(*k).and_then(|v| v.as_str()).map(str::to_string))
                .map(|v| {
                    if v.starts_with("Bearer ") {
                        v
                    } else {
                        format!("Bearer {v}")
                    }
                });
            let authorization = from_payload.or(header_token);
            let auth = authenticate(
                &state.db,
                &state.keys,
                &state.tokens,
                authorization.as_deref(),
            )
            .await
            .map_err(|e| async_graphql::Error::new(e.public_message()))?;
            if let AuthState::Refused(why) = &auth {
                return Err(async_graphql::Error::new(why.clone()));
            }
            let mut data = Data::default();
            let caller = match &auth {
                AuthState::Authenticated(p) => Some(p.organization_id),
                _ => None,
            };
            data.insert(LoaderPool::new(state.db.clone(), caller));
            data.insert(auth);
            Ok(data)
        })
        .start(&req, payload)
}
