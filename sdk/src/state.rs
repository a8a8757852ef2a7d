//! Encode and decode a plugin's opaque state (JSON bytes).

use serde::{Serialize, de::DeserializeOwned};

use crate::types::PluginError;

/// Serialize `state` to the bytes handed back to the host.
pub fn encode<T: Serialize>(state: &T) -> Result<Vec<u8>, PluginError> {
    serde_json::to_vec(state).map_err(|e| PluginError::Other(format!("cannot encode state: {e}")))
}

/// Read the state the host handed back: `None` (first call) gives
/// `Ok(None)`; bytes this plugin did not write give
/// [`PluginError::InvalidState`].
pub fn decode<T: DeserializeOwned>(state: Option<&[u8]>) -> Result<Option<T>, PluginError> {
    match state {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(bytes).map(Some).map_err(|e| PluginError::InvalidState(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct S {
        step: u32,
    }

    #[test]
    fn round_trips() {
        let bytes = encode(&S { step: 2 }).unwrap();
        assert_eq!(decode::<S>(Some(&bytes)).unwrap(), Some(S { step: 2 }));
    }

    #[test]
    fn none_is_first_call() {
        assert_eq!(decode::<S>(None).unwrap(), None);
    }

    #[test]
    fn garbage_is_invalid_state() {
        assert!(matches!(decode::<S>(Some(b"\x00nope")), Err(PluginError::InvalidState(_))));
    }
}
