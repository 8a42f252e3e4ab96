//! The one integration-test binary: seed replays, property tests, reliability tests.
//! (One binary links once, which keeps `cargo test` fast.)

mod accurate_reductions;
mod cast;
mod checked_backward;
mod custom_functions;
mod graphviz;
mod masks_indices_stats;
mod nan_propagation;
mod prop_more_ops;
mod prop_ops;
mod reliability;
mod seeds;
#[cfg(feature = "safetensors")]
mod serialization;
mod training;
mod transforms;
mod value_type;
