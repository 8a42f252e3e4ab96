//! The one integration-test binary: seed replays, property tests, reliability tests.
//! (One binary links once, which keeps `cargo test` fast.)

mod accurate_reductions;
mod cast;
mod checked_backward;
mod custom_functions;
mod determinism;
mod extreme_values;
mod graphviz;
mod linalg;
mod linalg_reference;
mod masks_indices_stats;
#[cfg(feature = "safetensors")]
mod models;
mod nan_propagation;
mod poisoned_pool;
mod pool_contents;
mod prop_linalg;
mod prop_more_ops;
mod prop_ops;
mod random_programs;
mod reentrancy;
mod reliability;
mod seeds;
#[cfg(feature = "safetensors")]
mod serialization;
mod threads;
mod training;
mod transforms;
mod transforms_adversarial;
mod value_type;
