//! A per-thread handler standing in for the `http` capability.

use std::cell::RefCell;

use crate::http::{HttpError, Request, Response};

type Handler = Box<dyn Fn(&Request) -> Result<Response, HttpError>>;

thread_local! {
    static HANDLER: RefCell<Option<Handler>> = RefCell::new(None);
}

/// Answer [`http::send`](crate::http::send) on this thread with `handler`.
/// Without one, every request is `denied`.
pub fn set_http_handler(handler: impl Fn(&Request) -> Result<Response, HttpError> + 'static) {
    HANDLER.with(|h| *h.borrow_mut() = Some(Box::new(handler)));
}

pub(crate) fn handle(request: &Request) -> Result<Response, HttpError> {
    HANDLER.with(|h| match &*h.borrow() {
        Some(handler) => handler(request),
        None => Err(HttpError::Denied(format!("{} (no test handler set)", request.url))),
    })
}
