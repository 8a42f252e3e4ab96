//! The computation the firmware runs, without std: an extended Kalman filter for a
//! planar vehicle in f32, and the Jacobian of a map of 12 variables.
//!
//! Both are ordinary typegrad code, the same on the device and on the host. The model
//! functions are written once, generic over the tape (as in `examples/newton.rs`): a
//! plain call predicts, `func::jacobian` differentiates.
//!
//! Every operation used here allocates nothing once the workspace holds its buffers and
//! graph cells (the firmware counts it). They are chosen for that: the layout
//! operations (`at`, `narrow`, `select`, `stack`, `concat`, `t` of a value, ...) each
//! allocate a small index map per call, tracked or not, so the model picks components
//! with `dot` and matrices of constants and places them with products and sums; and
//! reverse-mode Jacobians allocate their gradient store, so `H` is taken in forward
//! mode.
#![no_std]

use core::f32::consts::FRAC_PI_2;

use typegrad::func;
use typegrad::prelude::*;

/// The time step, in seconds.
pub const DT: f32 = 0.1;

/// Two beacons whose ranges the vehicle measures.
const BEACONS: [[f32; 2]; 2] = [[4.0, 3.0], [-2.0, 5.0]];

/// The state: position (x, y), heading θ, speed v, turn rate ω, acceleration a.
pub type State<T = NoGrad> = Tensor<Rank1<6>, f32, T>;

/// A measurement: the ranges to the two beacons and the speed (a wheel encoder).
pub type Measurement<T = NoGrad> = Tensor<Rank1<3>, f32, T>;

/// The motion over [`DT`]: constant turn rate and acceleration.
/// `d/dt [x, y, θ, v, ω, a] = [v cos θ, v sin θ, ω, a, 0, 0]`.
pub fn motion<T: Tape>(state: &State<T>) -> State<T::Plain> {
    let heading = state.dot(&unit(2));
    let speed = state.dot(&unit(3));
    // [cos θ, sin θ] in one operation: sin θ = cos(θ - π/2).
    let direction = (&heading - &Tensor::from_array([0.0, FRAC_PI_2])).cos();
    let velocity = &direction * &speed;
    // Where the velocity goes in the derivative, and ω and a moved up to θ and v.
    let place_velocity = Tensor::from_array([
        [1.0, 0.0],
        [0.0, 1.0],
        [0.0, 0.0],
        [0.0, 0.0],
        [0.0, 0.0],
        [0.0, 0.0],
    ]);
    let shift = Tensor::from_array([
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    ]);
    let rates = place_velocity.matmul(&velocity) + shift.matmul(state);
    state + &(rates * DT)
}

/// The measurement the state predicts: ranges to the beacons, and the speed.
pub fn measure<T: Tape>(state: &State<T>) -> Measurement<T::Plain> {
    let position = Tensor::from_array([
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    ])
    .matmul(state);
    let first = (&position - &Tensor::from_array(BEACONS[0])).norm();
    let second = (&position - &Tensor::from_array(BEACONS[1])).norm();
    let speed = state.dot(&unit(3));
    Tensor::from_array([1.0, 0.0, 0.0]) * &first
        + Tensor::from_array([0.0, 1.0, 0.0]) * &second
        + Tensor::from_array([0.0, 0.0, 1.0]) * &speed
}

/// The `i`-th unit vector: `state.dot(&unit(i))` is component `i`, as a scalar.
fn unit(i: usize) -> State {
    let mut e = State::zeros();
    if let Some(one) = e.as_mut_slice().get_mut(i) {
        *one = 1.0;
    }
    e
}

/// An extended Kalman filter: the estimate, its covariance and the noise models.
pub struct Filter {
    /// The estimated state.
    pub state: State,
    /// Its covariance.
    pub covariance: Tensor<Rank2<6, 6>, f32>,
    process_noise: Tensor<Rank2<6, 6>, f32>,
    measurement_noise: Tensor<Rank2<3, 3>, f32>,
}

impl Filter {
    /// The filter at its first estimate.
    pub fn new() -> Self {
        Filter {
            state: Tensor::from_array([0.0, 0.0, 0.5, 1.0, 0.1, 0.05]),
            covariance: Tensor::eye() * 0.1,
            process_noise: Tensor::eye() * 0.01,
            measurement_noise: Tensor::from_array([
                [0.05, 0.0, 0.0],
                [0.0, 0.05, 0.0],
                [0.0, 0.0, 0.01],
            ]),
        }
    }

    /// One predict-and-update step with `measured`.
    ///
    /// Predict: `x⁻ = f(x)`, `P⁻ = F P Fᵀ + Q` with `F = ∂f/∂x`. Update with
    /// `H = ∂h/∂x` at `x⁻` and `S = H P⁻ Hᵀ + R`: the gain `K = P⁻ Hᵀ S⁻¹` is taken from
    /// `Kᵀ = S⁻¹ (H P⁻)` (one `solve`, no inverse; `S` and `P⁻` are symmetric), then
    /// `x = x⁻ + K (z - h(x⁻))` and `P = P⁻ - K (H P⁻)`, made symmetric again.
    ///
    /// # Errors
    /// What `solve` refuses: a singular or non-finite `S`.
    pub fn step(&mut self, measured: &Measurement) -> Result<(), Error> {
        let f: Tensor<Rank2<6, 6>, f32> = func::jacobian(motion, &self.state);
        let predicted = motion(&self.state);
        let predicted_cov = f.matmul(&self.covariance).matmul(&f.t()) + &self.process_noise;

        // Forward mode (6 tangents in one sweep): `func::jacobian` would choose reverse
        // mode here (3 outputs < 6 inputs), whose gradient store allocates once a call.
        let h: Tensor<Rank2<3, 6>, f32> = func::jacobian_forward(measure, &predicted);
        let hp = h.matmul(&predicted_cov);
        let innovation_cov = hp.matmul(&h.t()) + &self.measurement_noise;
        let gain_t: Tensor<Rank2<3, 6>, f32> = innovation_cov.solve(&hp)?;
        let residual = measured - &measure(&predicted);
        self.state = &predicted + &residual.matmul(&gain_t);
        let covariance = &predicted_cov - &gain_t.t().matmul(&hp);
        self.covariance = (&covariance + &covariance.t()) * 0.5;
        Ok(())
    }
}

impl Default for Filter {
    fn default() -> Self {
        Self::new()
    }
}

/// The vehicle the filter tracks: its true state, moved by the same model with a turn
/// rate and an acceleration the filter starts without knowing, and measured with a
/// fixed small error that alternates in sign, so the device and the host filter the
/// same numbers.
pub struct Truth {
    state: State,
    steps: usize,
}

impl Truth {
    /// The vehicle at its start.
    pub fn new() -> Self {
        Truth {
            state: Tensor::from_array([0.0, 0.0, 0.5, 1.0, 0.12, 0.04]),
            steps: 0,
        }
    }

    /// Moves the vehicle one step and returns what it measures there.
    pub fn advance(&mut self) -> Measurement {
        self.state = motion(&self.state);
        self.steps += 1;
        let sign = if self.steps.is_multiple_of(2) {
            1.0
        } else {
            -1.0
        };
        measure(&self.state) + Tensor::from_array([0.03, -0.02, 0.01]) * sign
    }
}

impl Default for Truth {
    fn default() -> Self {
        Self::new()
    }
}

/// A map of 12 variables whose 12 × 12 Jacobian the firmware measures:
/// `tanh(A x) + x²` with a fixed, well-mixed `A`.
pub fn mixing<T: Tape>(x: &Tensor<Rank1<12>, f32, T>) -> Tensor<Rank1<12>, f32, T::Plain> {
    mixing_matrix().matmul(x).tanh() + x * x
}

/// `A`: entries between -0.5 and 0.5 in a pattern that mixes every variable into
/// every output.
fn mixing_matrix() -> Tensor<Rank2<12, 12>, f32> {
    let mut a = Tensor::<Rank2<12, 12>, f32>::zeros();
    for (k, entry) in a.as_mut_slice().iter_mut().enumerate() {
        let (i, j) = (k / 12, k % 12);
        *entry = ((i * 7 + j * 5) % 11) as f32 / 11.0 - 0.5;
    }
    a
}

/// The point at which the 12 × 12 Jacobian is taken.
pub fn mixing_point() -> Tensor<Rank1<12>, f32> {
    let mut x = Tensor::<Rank1<12>, f32>::zeros();
    for (i, entry) in x.as_mut_slice().iter_mut().enumerate() {
        *entry = (i as f32 - 5.5) / 6.0;
    }
    x
}

/// The 12 × 12 Jacobian of [`mixing`] at [`mixing_point`].
pub fn mixing_jacobian(x: &Tensor<Rank1<12>, f32>) -> Tensor<Rank2<12, 12>, f32> {
    func::jacobian(mixing, x)
}
