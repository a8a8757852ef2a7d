//! `hoist serve`: the engine's driver behind an HTTP/JSON API on loopback.

use std::sync::Arc;

use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hoist_store::{CommandKind, LogFilter};

use super::guard::Access;
use super::wire::{ErrorBody, RollbackBody, StatusView, VerbBody};
use crate::engine::{DeployRequest, EngineError};
use crate::live::driver::Driver;

pub struct ApiState {
    pub driver: Arc<Driver>,
    pub token: String,
    /// Whether read calls need the token too (the default; `hoist serve
    /// --public-reads` turns it off and answers are then redacted).
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
        .route("/v1/services/{service}/{env}/log", get(service_log))
        .route("/v1/services/{service}/{env}/rollback", post(rollback))
        .route("/v1/services/{service}/{env}/scale", post(scale))
        .merge(super::stacks::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), super::guard::guard))
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
            EngineError::UnknownEnvironment(_)
            | EngineError::UnknownStrategy { .. }
            | EngineError::Traffic(_)
            | EngineError::Invalid(_) => StatusCode::BAD_REQUEST,
            EngineError::Locked { .. } | EngineError::Ended { .. } => StatusCode::CONFLICT,
            EngineError::Halted(_) | EngineError::Store(_) | EngineError::Unreadable { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError(code, e.to_string())
    }
}

impl From<hoist_store::StoreError> for ApiError {
    fn from(e: hoist_store::StoreError) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

async fn deploy(State(s): State<Shared>, Json(body): Json<DeployRequest>) -> Result<Response, ApiError> {
    let rollout = s.driver.engine.deploy(&body)?;
    s.driver.poke();
    Ok((StatusCode::CREATED, Json(rollout)).into_response())
}

async fn rollout(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = s
        .driver
        .engine
        .store
        .rollout(&id)?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no rollout `{id}`")))?;
    let mut view = serde_json::to_value(&r).map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    // A rollout Hoist cannot step (its store's disk full) says so.
    if let (Some(stuck), Some(obj)) = (s.driver.stuck(&id), view.as_object_mut()) {
        obj.insert("stuck".into(), stuck.into());
    }
    answer(access, &view)
}

async fn steps(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    answer(access, &s.driver.engine.store.steps(&id)?)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    after: Option<u64>,
}

async fn log(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    Query(q): Query<LogQuery>,
) -> Result<Response, ApiError> {
    // The store counts in i64; a larger cursor is past every record.
    if q.after.is_some_and(|a| i64::try_from(a).is_err()) {
        return Err(ApiError(StatusCode::BAD_REQUEST, format!("`after` must be at most {}", i64::MAX)));
    }
    let filter = LogFilter { rollout_id: Some(id), after_seq: q.after, ..LogFilter::default() };
    answer(access, &s.driver.engine.store.decision_log(&filter)?)
}

async fn verb(
    State(s): State<Shared>,
    Path((id, verb)): Path<(String, String)>,
    Json(body): Json<VerbBody>,
) -> Result<Response, ApiError> {
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

async fn status(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    Path((service, env)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let engine = &s.driver.engine;
    let current = engine.store.current(&service, &env)?;
    let rollout = engine.store.history(&service, &env, 1)?.into_iter().next();
    if current.is_none() && rollout.is_none() {
        return Err(unknown_service(&service, &env));
    }
    let (instances, platform_error) = match engine.platform.instances(&service, &env).await {
        Ok(instances) => (instances, None),
        Err(err) => (Vec::new(), Some(err)),
    };
    let observed = crate::engine::observe_summary(instances, engine.traffic.weights(&service, &env));
    let stuck = rollout.as_ref().and_then(|r| s.driver.stuck(&r.id));
    let healing = engine.healing.of(&service, &env).filter(|h| h.restarts > 0);
    let analysis = rollout.as_ref().and_then(crate::engine::measure::analysis_status);
    answer(
        access,
        &StatusView { service, environment: env, current, rollout, observed, platform_error, stuck, healing, analysis },
    )
}

fn unknown_service(service: &str, env: &str) -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        format!(
            "no service `{service}` in environment `{env}`: nothing was ever deployed there; `hoist deploy` creates it"
        ),
    )
}

/// `value` as JSON, with env values redacted for a caller without the token.
pub(super) fn answer<T: serde::Serialize>(access: Access, value: &T) -> Result<Response, ApiError> {
    let mut json =
        serde_json::to_value(value).map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if access == Access::Public {
        super::guard::redact(&mut json);
    }
    Ok(Json(json).into_response())
}

async fn history(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    Path((service, env)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let history = s.driver.engine.store.history(&service, &env, 50)?;
    if history.is_empty() && s.driver.engine.store.current(&service, &env)?.is_none() {
        return Err(unknown_service(&service, &env));
    }
    answer(access, &history)
}

async fn service_log(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    Path((service, env)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let filter = LogFilter { service: Some(service), environment: Some(env), ..LogFilter::default() };
    answer(access, &s.driver.engine.store.decision_log(&filter)?)
}

async fn revisions(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    Path((service, env)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    answer(access, &s.driver.engine.store.revisions(&service, &env)?)
}

async fn rollback(
    State(s): State<Shared>,
    Path((service, env)): Path<(String, String)>,
    Json(body): Json<RollbackBody>,
) -> Result<Response, ApiError> {
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
                .ok_or_else(|| {
                    ApiError(StatusCode::NOT_FOUND, format!("`{service}` in `{env}` has no earlier kept revision"))
                })?
        }
    };
    let r = engine.rollback_to(&service, &env, &to, &body.operator, &body.reason)?;
    s.driver.poke();
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

async fn scale(
    State(s): State<Shared>,
    Path((service, env)): Path<(String, String)>,
    Json(body): Json<super::wire::ScaleBody>,
) -> Result<Response, ApiError> {
    let record = s.driver.engine.scale_at_rest(&service, &env, body.replicas, &body.operator, &body.reason).await?;
    Ok(Json(record).into_response())
}

fn rev_no(id: &str) -> u64 {
    id.trim_start_matches('r').parse().unwrap_or(0)
}
