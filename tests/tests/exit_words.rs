//! The host (`hoist::exits`) and the SDK (`hoist_sdk::process`, which the
//! `local-process` plugin uses inside wasm) each hold the table of signal
//! names, since the plugin cannot call the host's: they must read alike, or
//! the same death would be told two ways in one decision log.

#[test]
fn host_and_sdk_name_every_signal_alike() {
    for signal in -1..=70 {
        assert_eq!(hoist::exits::signal_name(signal), hoist_sdk::process::signal_name(signal), "signal {signal}");
        assert_eq!(hoist::exits::killed_by(signal), hoist_sdk::process::killed_by(signal), "signal {signal}");
    }
    assert_eq!(hoist::exits::killed_by(9), "killed by SIGKILL");
}
