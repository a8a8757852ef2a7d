//! The bounds of one `send`.

/// Request body a plugin may send.
pub const REQUEST_BODY: usize = 1 << 20;
/// Response body handed back; a larger one is an error, not truncated data.
pub const RESPONSE_BODY: usize = 4 << 20;
/// Headers each way, by count and by total bytes.
pub const HEADERS: usize = 64;
pub const HEADER_BYTES: usize = 16 << 10;
/// URL length.
pub const URL: usize = 8 << 10;
/// Redirects followed (each checked against the allow-list).
pub const REDIRECTS: usize = 5;

/// `4 MiB`, for messages.
pub fn human(bytes: usize) -> String {
    if bytes >= 1 << 20 { format!("{} MiB", bytes >> 20) } else { format!("{} KiB", bytes >> 10) }
}
