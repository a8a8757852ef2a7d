//! `hoist simulate`: the real engine and the real plugins against a
//! simulated platform, scripted traffic and operator actions, in virtual
//! time. Same scenario, same build ⇒ byte-identical output.

mod metrics;
mod run;
pub mod scenario;
mod timeline;
pub mod world;

pub use run::{Outcome, SimOptions, simulate, simulate_with};
pub use timeline::{Entry, render_json, render_text};
