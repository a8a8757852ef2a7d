//! `hoist serve`: the engine's driver behind an HTTP/JSON API on loopback.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hoist_store::{CommandKind, LogFilter};

use super::wire::{DeployBody, ErrorBody, RollbackBody, StatusView, VerbBody};
use crate::engine::driver::Driver;
use crate::engine::{DeployRequest, EngineError};

pub struct ApiState {
    pub driver: Arc<Driver>,
    pub token: String,
    /// Whether read calls need the token too.
    pub auth_reads: bool,
}

pub(super) type Shared = Arc<ApiState>;

pub fn routes(state: Shared) -> Router {
    Router::new()
        .route("/v1/deploy", post(deploy))
        .route("/v1/rollouts/{id}", get(rollout))
        .route("/v1/rollouts/{id}/steps", get(steps))
        .route("/v1/rollouts/{id}/log", get(log))
        .route("/v1/rollouts/{id}/{verb}", post(verb))
        .route("/v1/services/{service}/{env}", get(status))
        .route("/v1/services/{service}/{env}/history", get(history))
        .route("/v1/services/{service}/{env}/revisions", get(revisions))
        .route("/v1/services/{service}/{env}/rollback", post(rollback))
        .merge(super::stacks::routes())
        .with_state(state)
}

pub struct ApiError(pub(super) StatusCode, pub(super) String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let code = match &e {
            EngineError::UnknownRollout(_) | EngineError::UnknownRevision { .. } => StatusCode::NOT_FOUND,
            EngineError::UnknownEnvironment(_) | EngineError::UnknownStrategy { .. } | EngineError::Traffic(_) => StatusCode::BAD_REQUEST,
            EngineError::Locked { .. } | EngineError::Ended { .. } => StatusCode::CONFLICT,
            EngineError::Halted(_) | EngineError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(code, e.to_string())
    }
}

impl From<hoist_store::StoreError> for ApiError {
    fn from(e: hoist_store::StoreError) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

pub(super) fn authorize(state: &ApiState, headers: &HeaderMap, mutating: bool) -> Result<(), ApiError> {
    if !mutating && !state.auth_reads {
        return Ok(());
    }
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(t) if t == state.token => Ok(()),
        _ => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "missing or wrong token: pass the token `hoist serve` wrote to its state directory (or HOIST_TOKEN)".into(),
        )),
    }
}

async fn deploy(State(s): State<Shared>, headers: HeaderMap, Json(body): Json<DeployBody>) -> Result<Response, ApiError> {
    authorize(&s, &headers, true)?;
    let rollout = s.driver.engine.deploy(&DeployRequest {
        service: body.service,
        environment: body.environment,
        version: body.version,
        spec: body.spec,
        strategy: body.strategy,
        requested_by: body.requested_by,
        reason: body.reason,
    })?;
    s.driver.poke();
    Ok((StatusCode::CREATED, Json(rollout)).into_response())
}

async fn rollout(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    authorize(&s, &headers, false)?;
    let r = s.driver.engine.store.rollout(&id)?.ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no rollout `{id}`")))?;
    Ok(Json(r).into_response())
}

async fn steps(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    authorize(&s, &headers, false)?;
    Ok(Json(s.driver.engine.store.steps(&id)?).into_response())
}

#[derive(serde::Deserialize)]
struct LogQuery {
    after: Option<u64>,
}

async fn log(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>, Query(q): Query<LogQuery>) -> Result<Response, ApiError> {
    authorize(&s, &headers, false)?;
    let filter = LogFilter { rollout_id: Some(id), after_seq: q.after, ..LogFilter::default() };
    Ok(Json(s.driver.engine.store.decision_log(&filter)?).into_response())
}

async fn verb(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((id, verb)): Path<(String, String)>,
    Json(body): Json<VerbBody>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, true)?;
    let kind = match verb.as_str() {
        "promote" => CommandKind::Promote,
        "promote-full" => CommandKind::PromoteFull,
        "skip-step" => CommandKind::SkipStep,
        "abort" => CommandKind::Abort,
        "pause" => CommandKind::Pause,
        "resume" => CommandKind::Resume,
        "approve" => CommandKind::Approve,
        other => {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                format!("unknown verb `{other}`: promote, promote-full, skip-step, abort, pause, resume, approve"),
            ));
        }
    };
    s.driver.engine.command(&id, kind, &body.operator, &body.reason)?;
    s.driver.poke();
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn status(State(s): State<Shared>, headers: HeaderMap, Path((service, env)): Path<(String, String)>) -> Result<Response, ApiError> {
    authorize(&s, &headers, false)?;
    let engine = &s.driver.engine;
    let current = engine.store.current(&service, &env)?;
    let rollout = engine.store.history(&service, &env, 1)?.into_iter().next();
    let (instances, platform_error) = match engine.platform.instances(&service, &env).await {
        Ok(instances) => (instances, None),
        Err(err) => (Vec::new(), Some(err)),
    };
    let observed = crate::engine::observe_summary(instances, engine.traffic.weights(&service, &env));
    Ok(Json(StatusView { service, environment: env, current, rollout, observed, platform_error }).into_response())
}

async fn history(State(s): State<Shared>, headers: HeaderMap, Path((service, env)): Path<(String, String)>) -> Result<Response, ApiError> {
    authorize(&s, &headers, false)?;
    Ok(Json(s.driver.engine.store.history(&service, &env, 50)?).into_response())
}

async fn revisions(State(s): State<Shared>, headers: HeaderMap, Path((service, env)): Path<(String, String)>) -> Result<Response, ApiError> {
    authorize(&s, &headers, false)?;
    Ok(Json(s.driver.engine.store.revisions(&service, &env)?).into_response())
}

async fn rollback(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((service, env)): Path<(String, String)>,
    Json(body): Json<RollbackBody>,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, true)?;
    let engine = &s.driver.engine;
    let to = match body.to {
        Some(to) => to,
        None => {
            let current = engine.store.current(&service, &env)?.map(|r| r.id);
            engine
                .store
                .revisions(&service, &env)?
                .into_iter()
                .map(|r| r.id)
                .find(|id| Some(id) != current.as_ref() && rev_no(id) < current.as_deref().map_or(u64::MAX, rev_no))
                .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("`{service}` in `{env}` has no earlier kept revision")))?
        }
    };
    let r = engine.rollback_to(&service, &env, &to, &body.operator, &body.reason)?;
    s.driver.poke();
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

fn rev_no(id: &str) -> u64 {
    id.trim_start_matches('r').parse().unwrap_or(0)
}
