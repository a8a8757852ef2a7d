//! The stack routes of the API: deploy, status, history, rollback.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::guard::Access;
use super::server::{ApiError, Shared, answer};
use super::wire::{StackDeployBody, VerbBody};
use crate::stack::{self, StackError, StackRollout};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/stacks/deploy", post(deploy))
        .route("/v1/stacks/{stack}/{env}/history", get(history))
        .route("/v1/stacks/{stack}/{env}/rollback", post(rollback))
        .route("/v1/stacks/{stack}/{env}/down", post(down))
        .route("/v1/stack-rollouts/{id}", get(one))
}

impl From<StackError> for ApiError {
    fn from(e: StackError) -> Self {
        let code = match e {
            // The engine's errors keep their own status codes.
            StackError::Engine(inner) => return ApiError::from(inner),
            StackError::Invalid { .. } => StatusCode::BAD_REQUEST,
            StackError::Busy { .. } => StatusCode::CONFLICT,
            StackError::NothingToRollBack { .. } | StackError::Unknown(_) => StatusCode::NOT_FOUND,
            StackError::Corrupt(_) | StackError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(code, e.to_string())
    }
}

async fn deploy(State(s): State<Shared>, Json(body): Json<StackDeployBody>) -> Result<Response, ApiError> {
    let r = stack::deploy(&s.driver.engine, &body.definition, &body.environment, &body.requested_by, &body.reason)?;
    s.driver.poke();
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

fn rollouts(rows: Vec<hoist_store::StackRolloutRow>) -> Result<Vec<StackRollout>, ApiError> {
    rows.iter()
        .map(StackRollout::from_row)
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e))
}

async fn history(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    Path((stack, env)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    answer(access, &rollouts(s.driver.engine.store.stack_history(&stack, &env, 50)?)?)
}

async fn one(
    State(s): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = s
        .driver
        .engine
        .store
        .stack_rollout(&id)?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no stack rollout `{id}`")))?;
    answer(access, &rollouts(vec![row])?.pop())
}

async fn rollback(
    State(s): State<Shared>,
    Path((stack, env)): Path<(String, String)>,
    Json(body): Json<VerbBody>,
) -> Result<Response, ApiError> {
    let r = stack::rollback(&s.driver.engine, &stack, &env, &body.operator, &body.reason)?;
    s.driver.poke();
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

async fn down(
    State(s): State<Shared>,
    Path((stack, env)): Path<(String, String)>,
    Json(body): Json<VerbBody>,
) -> Result<Response, ApiError> {
    let r = stack::teardown(&s.driver.engine, &stack, &env, &body.operator, &body.reason)?;
    s.driver.poke();
    Ok((StatusCode::CREATED, Json(r)).into_response())
}
