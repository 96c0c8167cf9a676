//! The time stepper: SSP Runge–Kutta 3 with an adaptive step.

use ips_core::{Grid, Kernel};
use ndarray::{ArrayD, ArrayViewD, Dimension, IxDyn};

use crate::convolution::PotentialConvolution;
use crate::energy::{free_energy_and_magnitude, free_energy_with_potential};
use crate::flux::{assemble, Flux, Rates};
use crate::mesh::Mesh;
use crate::{MeanfieldError, Result, SolverConfig, DEFAULT_CFL};

/// Fraction of the positivity bound `1 / max out_rate` that a step uses. The
/// margin lets the rates grow by about 10% within a step before the step is
/// rejected. It is a chosen value, not a derived one.
const POSITIVITY_MARGIN: f64 = 0.9;

/// Increase of the free energy over one step, relative to the sum of the
/// absolute values of its terms, that counts as rounding rather than as a
/// rise. The FFT and the sums round at about 1e-15 of that sum.
const ENERGY_TOLERANCE: f64 = 1e-12;

/// Number of times one step may be halved because the free energy rose.
/// Each halving shrinks the second-order rise faster than the first-order
/// decrease, so the limit is a guard against an endless loop, not a tuning
/// value.
const MAX_ENERGY_HALVINGS: u32 = 40;

/// A mean-field solver that advances a density on a fixed grid.
///
/// Each [`Solver::step`] is one step of the three-stage strong-stability-
/// preserving Runge–Kutta method of Shu and Osher:
///
/// ```text
/// u1 = u0 + dt L(u0)
/// u2 = 3/4 u0 + 1/4 (u1 + dt L(u1))
/// u3 = 1/3 u0 + 2/3 (u2 + dt L(u2))
/// ```
///
/// Every stage is a convex combination of forward Euler steps, so the
/// solution stays non-negative as long as each Euler step does, that is
/// while `dt * out_rate <= 1` in every cell at every stage.
///
/// The step is
/// `dt = min(dt_limit, dt_max, cfl * min_a(dx_a / max|v_a|), cfl / (2 D sum_a 1/dx_a^2), 0.9 / max out_rate)`,
/// with `v_a` the advective face velocities along axis `a`. On a square grid
/// the diffusive bound is `cfl dx^2 / (2 d D)`. A step is rejected and
/// retried with a shorter one when
///
/// - a later stage breaks `dt * out_rate <= 1` because the velocities
///   changed (retried with `0.9 / out_rate` of that stage), or
/// - with [`Flux::ScharfetterGummel`], the free energy rose by more than
///   rounding (retried with half the step). The semi-discrete scheme
///   decreases the free energy, but a kernel that is stiff on the scale of
///   the grid can make the time discretisation raise it at the CFL step.
pub struct Solver {
    mesh: Mesh,
    diffusion: f64,
    flux: Flux,
    cfl: f64,
    dt_max: Option<f64>,
    convolution: PotentialConvolution,
    density: ArrayD<f64>,
    time: f64,
    steps: u64,
    rejected_steps: u64,
    /// Interaction potential of `density`, when it is known from the energy
    /// check of the last step.
    current_potential: Option<Vec<f64>>,
    // Work buffers, kept to avoid allocating in every step.
    potential: Vec<f64>,
    initial_rates: Rates,
    stage_rates: Rates,
    stage: Vec<f64>,
    euler: Vec<f64>,
}

impl Solver {
    /// Creates a solver at time 0 from `initial`, sampled at the grid points,
    /// with the default flux ([`Flux::ScharfetterGummel`]), `cfl` = 0.4 and
    /// no `dt_max`.
    ///
    /// # Errors
    /// - [`MeanfieldError::Core`] for a kernel without terms or with a
    ///   non-finite coefficient;
    /// - [`MeanfieldError::InvalidDiffusion`] when `diffusion` is negative
    ///   or not finite;
    /// - [`MeanfieldError::Shape`] when `initial` does not have the grid's shape;
    /// - [`MeanfieldError::InvalidDensity`] for the first negative or
    ///   non-finite value of `initial`;
    /// - [`MeanfieldError::ZeroMass`] when `initial` is zero everywhere;
    /// - [`MeanfieldError::NonFinitePotential`] when the potential overflows
    ///   at a distance that occurs on the grid.
    pub fn new(
        kernel: &Kernel,
        diffusion: f64,
        grid: &Grid,
        initial: ArrayViewD<f64>,
    ) -> Result<Self> {
        kernel.validate("kernel")?;
        if !(diffusion.is_finite() && diffusion >= 0.0) {
            return Err(MeanfieldError::InvalidDiffusion { value: diffusion });
        }
        let expected = grid.shape();
        if initial.shape() != expected.as_slice() {
            return Err(MeanfieldError::Shape {
                found: initial.shape().to_vec(),
                expected,
            });
        }
        if let Some((index, &value)) = initial
            .indexed_iter()
            .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
        {
            return Err(MeanfieldError::InvalidDensity {
                index: index.slice().to_vec(),
                value,
            });
        }
        if initial.iter().all(|&v| v == 0.0) {
            return Err(MeanfieldError::ZeroMass);
        }

        let mesh = Mesh::new(grid);
        let convolution = PotentialConvolution::new(kernel, &mesh)?;
        // Copy in logical order, so the solver's array is C-ordered whatever
        // the layout of the view.
        let density = ArrayD::from_shape_vec(IxDyn(&expected), initial.iter().copied().collect())
            .expect("the shape was checked above");
        let cells = mesh.len();
        let dim = mesh.dim();
        Ok(Solver {
            mesh,
            diffusion,
            flux: Flux::default(),
            cfl: DEFAULT_CFL,
            dt_max: None,
            convolution,
            density,
            time: 0.0,
            steps: 0,
            rejected_steps: 0,
            current_potential: None,
            potential: vec![0.0; cells],
            initial_rates: Rates::new(cells, dim),
            stage_rates: Rates::new(cells, dim),
            stage: vec![0.0; cells],
            euler: vec![0.0; cells],
        })
    }

    /// Takes `cfl` and `dt_max` from `config`.
    ///
    /// # Errors
    /// [`MeanfieldError::InvalidConfig`] when `config` fails
    /// [`SolverConfig::validate`].
    pub fn with_config(mut self, config: &SolverConfig) -> Result<Self> {
        config.validate()?;
        self.cfl = config.cfl;
        self.dt_max = config.dt_max;
        Ok(self)
    }

    /// Selects the numerical flux.
    pub fn with_flux(mut self, flux: Flux) -> Self {
        self.flux = flux;
        self
    }

    /// Returns the current time.
    pub fn time(&self) -> f64 {
        self.time
    }

    /// Returns the current density at the grid points, in C order.
    pub fn density(&self) -> ArrayViewD<'_, f64> {
        self.density.view()
    }

    /// Returns the mass `sum rho dV`.
    pub fn mass(&self) -> f64 {
        self.density.sum() * self.mesh.cell_volume
    }

    /// Computes the discrete free energy of the current density, as
    /// [`crate::free_energy`] does.
    pub fn free_energy(&self) -> f64 {
        let density = self.density_slice();
        let mut potential = vec![0.0; self.mesh.len()];
        self.convolution.apply(density, &mut potential);
        free_energy_with_potential(self.diffusion, self.mesh.cell_volume, density, &potential)
    }

    /// Returns the number of accepted steps so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Returns the number of steps rejected and retried with a shorter step.
    pub fn rejected_steps(&self) -> u64 {
        self.rejected_steps
    }

    fn density_slice(&self) -> &[f64] {
        self.density
            .as_slice()
            .expect("the solver's density is C-ordered")
    }

    /// Computes the potential and the transfer rates of a stage into
    /// `potential` and `stage_rates`.
    fn evaluate_stage(&mut self, state: &[f64]) {
        self.convolution.apply(state, &mut self.potential);
        assemble(
            self.flux,
            &self.mesh,
            self.diffusion,
            state,
            &self.potential,
            &mut self.stage_rates,
        );
    }

    /// Largest step allowed by the CFL conditions and positivity at the state
    /// whose rates are in `initial_rates`.
    fn stable_step(&self) -> f64 {
        let rates = &self.initial_rates;
        let mut dt = self.dt_max.unwrap_or(f64::INFINITY);
        for (spacing, speed) in self.mesh.spacing.iter().zip(&rates.max_speed) {
            if *speed > 0.0 {
                dt = dt.min(self.cfl * spacing / speed);
            }
        }
        if self.diffusion > 0.0 {
            let inverse_squares: f64 = self.mesh.spacing.iter().map(|h| 1.0 / (h * h)).sum();
            dt = dt.min(self.cfl / (2.0 * self.diffusion * inverse_squares));
        }
        if rates.max_out_rate > 0.0 {
            dt = dt.min(POSITIVITY_MARGIN / rates.max_out_rate);
        }
        dt
    }

    /// Returns a shorter step when a forward Euler step of length `dt` with
    /// the rates in `stage_rates` could make a density negative, and counts
    /// the rejection.
    fn shorter_step(&mut self, dt: f64) -> Option<f64> {
        let rate = self.stage_rates.max_out_rate;
        if dt * rate <= 1.0 {
            return None;
        }
        self.rejected_steps += 1;
        Some(POSITIVITY_MARGIN / rate)
    }

    /// Runs the three stages from `initial` with step `dt` and writes the
    /// result into `next`. Returns a shorter step instead when a stage could
    /// make a density negative.
    fn try_stages(&mut self, initial: &[f64], dt: f64, next: &mut [f64]) -> Option<f64> {
        let mut stage = std::mem::take(&mut self.stage);
        let mut euler = std::mem::take(&mut self.euler);
        let outcome = self.run_stages(initial, dt, &mut stage, &mut euler, next);
        self.stage = stage;
        self.euler = euler;
        outcome
    }

    /// Runs the stages as [`Solver::try_stages`] describes, with the work
    /// buffers passed in.
    fn run_stages(
        &mut self,
        initial: &[f64],
        dt: f64,
        stage: &mut [f64],
        euler: &mut [f64],
        next: &mut [f64],
    ) -> Option<f64> {
        // Stage 1: u1 = u0 + dt L(u0).
        self.initial_rates.euler(initial, dt, stage);

        // Stage 2: u2 = 3/4 u0 + 1/4 (u1 + dt L(u1)).
        self.evaluate_stage(stage);
        if let Some(shorter) = self.shorter_step(dt) {
            return Some(shorter);
        }
        self.stage_rates.euler(stage, dt, euler);
        for ((u2, &u0), &e) in stage.iter_mut().zip(initial).zip(euler.iter()) {
            *u2 = 0.75 * u0 + 0.25 * e;
        }

        // Stage 3: u3 = 1/3 u0 + 2/3 (u2 + dt L(u2)).
        self.evaluate_stage(stage);
        if let Some(shorter) = self.shorter_step(dt) {
            return Some(shorter);
        }
        self.stage_rates.euler(stage, dt, euler);
        for ((u3, &u0), &e) in next.iter_mut().zip(initial).zip(euler.iter()) {
            *u3 = u0 / 3.0 + 2.0 / 3.0 * e;
        }
        None
    }

    /// Advances by one SSP-RK3 step of at most `dt_limit` and returns the
    /// step used.
    ///
    /// # Panics
    /// When `dt_limit` is not finite and positive.
    pub fn step(&mut self, dt_limit: f64) -> f64 {
        assert!(
            dt_limit.is_finite() && dt_limit > 0.0,
            "the step limit must be finite and positive, got {dt_limit}"
        );
        let initial = self.density_slice().to_vec();
        let initial_potential = match self.current_potential.take() {
            Some(potential) => potential,
            None => {
                let mut potential = vec![0.0; self.mesh.len()];
                self.convolution.apply(&initial, &mut potential);
                potential
            }
        };
        assemble(
            self.flux,
            &self.mesh,
            self.diffusion,
            &initial,
            &initial_potential,
            &mut self.initial_rates,
        );
        let guard_energy = self.flux == Flux::ScharfetterGummel;
        let (initial_energy, magnitude) = free_energy_and_magnitude(
            self.diffusion,
            self.mesh.cell_volume,
            &initial,
            &initial_potential,
        );

        let mut dt = self.stable_step().min(dt_limit);
        let mut next = vec![0.0; initial.len()];
        let mut energy_halvings = 0;
        let mut next_potential = None;
        loop {
            if let Some(shorter) = self.try_stages(&initial, dt, &mut next) {
                dt = shorter;
                continue;
            }
            if !guard_energy {
                break;
            }

            let mut potential = vec![0.0; next.len()];
            self.convolution.apply(&next, &mut potential);
            let (energy, _) =
                free_energy_and_magnitude(self.diffusion, self.mesh.cell_volume, &next, &potential);
            let rise = energy - initial_energy;
            if rise <= ENERGY_TOLERANCE * magnitude {
                next_potential = Some(potential);
                break;
            }
            if energy_halvings == MAX_ENERGY_HALVINGS {
                tracing::warn!(
                    time = self.time,
                    dt,
                    rise,
                    "free energy rose over a step even after {MAX_ENERGY_HALVINGS} halvings; \
                     accepting the step"
                );
                break;
            }
            energy_halvings += 1;
            self.rejected_steps += 1;
            dt *= 0.5;
        }

        self.density
            .as_slice_mut()
            .expect("the solver's density is C-ordered")
            .copy_from_slice(&next);
        self.current_potential = next_potential;
        self.time += dt;
        self.steps += 1;
        dt
    }

    /// Steps until the time is exactly `t`, shortening the last step to land
    /// on it. Does nothing when `t` is not after the current time.
    ///
    /// # Panics
    /// When `t` is infinite.
    pub fn advance_to(&mut self, t: f64) {
        while self.time < t {
            let remaining = t - self.time;
            let dt = self.step(remaining);
            if dt >= remaining {
                self.time = t;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ips_core::{Axis, KernelTerm, Term};
    use ndarray::{Array1, Array2};

    fn line(lo: f64, hi: f64, intervals: usize) -> Grid {
        Grid::new(vec![Axis::new(lo, hi, intervals, "grid").unwrap()]).unwrap()
    }

    fn kernel(terms: &[(Term, f64)]) -> Kernel {
        Kernel {
            convention: Default::default(),
            terms: terms
                .iter()
                .map(|&(term, coefficient)| KernelTerm { term, coefficient })
                .collect(),
        }
    }

    fn gaussian(x: f64, centre: f64, sd: f64) -> f64 {
        (-(x - centre).powi(2) / (2.0 * sd * sd)).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt())
    }

    /// Case A: phi(r) = 3 r^2, D = 0.1, two Gaussians of sd 0.3 at -1 and 1.
    fn case_a(intervals: usize) -> (Kernel, f64, Grid, Array1<f64>) {
        let grid = line(-3.0, 3.0, intervals);
        let initial = Array1::from_iter(
            grid.axes[0]
                .points()
                .into_iter()
                .map(|x| 0.5 * gaussian(x, -1.0, 0.3) + 0.5 * gaussian(x, 1.0, 0.3)),
        );
        (kernel(&[(Term::Power(2), 3.0)]), 0.1, grid, initial)
    }

    /// Steps to `t_final` and checks mass, positivity and, when
    /// `check_energy` is set, that the free energy does not rise, after every
    /// step. Returns the largest relative mass error.
    fn check_invariants_per_step(solver: &mut Solver, t_final: f64, check_energy: bool) -> f64 {
        let mass0 = solver.mass();
        let mut energy = solver.free_energy();
        let mut worst_mass_error: f64 = 0.0;
        while solver.time() < t_final {
            solver.step(t_final - solver.time());
            let step = solver.steps();
            let min = solver
                .density()
                .iter()
                .fold(f64::INFINITY, |m, &v| m.min(v));
            assert!(min >= 0.0, "step {step}: density {min} < 0");
            let mass_error = (solver.mass() - mass0).abs() / mass0;
            assert!(
                mass_error < 1e-12,
                "step {step}: relative mass error {mass_error}"
            );
            worst_mass_error = worst_mass_error.max(mass_error);
            let next = solver.free_energy();
            assert!(
                !check_energy || next <= energy + 1e-12 * energy.abs().max(1.0),
                "step {step} at t = {}: free energy rose from {energy} to {next}",
                solver.time()
            );
            energy = next;
        }
        worst_mass_error
    }

    #[test]
    fn case_a_keeps_invariants() {
        let (kernel, diffusion, grid, initial) = case_a(100);
        for flux in [Flux::ScharfetterGummel, Flux::UpwindCentred] {
            let mut solver = Solver::new(&kernel, diffusion, &grid, initial.view().into_dyn())
                .unwrap()
                .with_flux(flux);
            let energy0 = solver.free_energy();
            let mass_error = check_invariants_per_step(&mut solver, 1.0, true);
            eprintln!(
                "{flux:?}: {} steps, {} rejected, max mass error {mass_error:e}, F {energy0} -> {}",
                solver.steps(),
                solver.rejected_steps(),
                solver.free_energy()
            );
            assert!(
                solver.free_energy() < energy0,
                "{flux:?}: the free energy did not decrease"
            );
        }
    }

    /// Pure diffusion from a Gaussian of variance s^2 is a Gaussian of
    /// variance s^2 + 2 D t; the error shrinks with the grid spacing.
    #[test]
    fn pure_diffusion_matches_heat_kernel() {
        let diffusion: f64 = 0.1;
        let sd: f64 = 0.3;
        let t_final = 1.0;
        let zero = kernel(&[(Term::Power(0), 0.0)]);
        let sd_final = (sd * sd + 2.0 * diffusion * t_final).sqrt();
        let mut errors = Vec::new();
        for intervals in [50, 100, 200] {
            let grid = line(-3.0, 3.0, intervals);
            let points = grid.axes[0].points();
            let initial = Array1::from_iter(points.iter().map(|&x| gaussian(x, 0.0, sd)));
            let mut solver =
                Solver::new(&zero, diffusion, &grid, initial.view().into_dyn()).unwrap();
            solver.advance_to(t_final);
            let error = solver
                .density()
                .iter()
                .zip(&points)
                .map(|(rho, &x)| (rho - gaussian(x, 0.0, sd_final)).abs())
                .fold(0.0, f64::max);
            errors.push(error);
        }
        eprintln!("heat kernel max errors for 50, 100, 200 intervals: {errors:?}");
        assert!(errors[0] < 1e-2, "error {} on the coarsest grid", errors[0]);
        for pair in errors.windows(2) {
            assert!(
                pair[1] < pair[0] / 3.0,
                "error did not shrink like dx^2: {errors:?}"
            );
        }
    }

    /// phi(r) = 3 r^2 on a 2D grid: mass, positivity and free energy per step.
    #[test]
    fn run_2d_keeps_invariants() {
        let grid = Grid::new(vec![
            Axis::new(-2.0, 2.0, 40, "grid.x").unwrap(),
            Axis::new(-2.0, 2.0, 40, "grid.y").unwrap(),
        ])
        .unwrap();
        let points = grid.axes[0].points();
        let initial = Array2::from_shape_fn((41, 41), |(i, j)| {
            let (x, y) = (points[i], points[j]);
            gaussian(x, -0.7, 0.3) * gaussian(y, 0.2, 0.3)
                + gaussian(x, 0.6, 0.3) * gaussian(y, -0.4, 0.4)
        });
        let kernel = kernel(&[(Term::Power(2), 3.0)]);
        let mut solver = Solver::new(&kernel, 0.1, &grid, initial.view().into_dyn()).unwrap();
        let energy0 = solver.free_energy();
        check_invariants_per_step(&mut solver, 0.3, true);
        assert!(solver.free_energy() < energy0);
    }

    /// A dense polynomial, like a learned one, with face speeds in the
    /// hundreds at the start and growing as the r^7 term pushes mass apart.
    #[test]
    fn stiff_polynomial_stays_finite() {
        let coefficients = [2.0, -5.0, 8.0, -10.0, 6.0, -3.0, 1.5, -1.0];
        let terms: Vec<_> = coefficients
            .iter()
            .enumerate()
            .map(|(k, &c)| (Term::Power(k as u32), c))
            .collect();
        let kernel = kernel(&terms);
        let grid = line(-2.0, 2.0, 80);
        let initial = Array1::from_iter(
            grid.axes[0]
                .points()
                .into_iter()
                .map(|x| 0.5 * gaussian(x, -0.7, 0.3) + 0.5 * gaussian(x, 0.7, 0.3)),
        );
        let mut solver = Solver::new(&kernel, 0.05, &grid, initial.view().into_dyn()).unwrap();
        let mass0 = solver.mass();
        solver.step(1.0);
        let speed = solver.initial_rates.max_speed[0];
        assert!(speed > 300.0, "the initial face speed {speed} is not stiff");

        solver.advance_to(0.05);
        assert_eq!(solver.time(), 0.05);
        assert!(solver.density().iter().all(|v| v.is_finite() && *v >= 0.0));
        assert!((solver.mass() - mass0).abs() < 1e-12 * mass0);
        assert!(solver.free_energy().is_finite());
    }

    /// Cut-off 1/r and indicator terms, with and without diffusion.
    #[test]
    fn dictionary_kernels_keep_invariants() {
        let kernels = [
            kernel(&[
                (Term::Power(1), 1.0),
                (Term::CutoffInverse { eps: 0.05 }, -1.0),
            ]),
            kernel(&[
                (Term::Indicator { lo: 0.0, hi: 0.5 }, 1.0),
                (Term::RIndicator { lo: 0.5, hi: 1.5 }, -0.5),
            ]),
        ];
        let (_, _, grid, initial) = case_a(100);
        for kernel in &kernels {
            for diffusion in [0.0, 0.05] {
                let mut solver =
                    Solver::new(kernel, diffusion, &grid, initial.view().into_dyn()).unwrap();
                check_invariants_per_step(&mut solver, 0.3, true);
            }
        }
    }

    /// With phi(r) = r - 1/r (cut off at eps) and D = 0, the stationary
    /// state is the semicircle (1/pi) sqrt(2 - (x - mean)^2).
    #[test]
    fn semicircle_is_reached() {
        let mut errors = Vec::new();
        for (intervals, eps) in [(100, 0.04), (200, 0.02)] {
            let grid = line(-2.0, 2.0, intervals);
            let kernel = kernel(&[(Term::Power(1), 1.0), (Term::CutoffInverse { eps }, -1.0)]);
            let points = grid.axes[0].points();
            let mut initial = Array1::from_iter(points.iter().map(|&x| gaussian(x, 0.3, 0.5)));
            initial /= initial.sum() * grid.cell_volume();

            let mut solver = Solver::new(&kernel, 0.0, &grid, initial.view().into_dyn()).unwrap();
            solver.advance_to(5.0);
            // The interaction is symmetric, so the mean stays at 0.3.
            let semicircle =
                |x: f64| (2.0 - (x - 0.3).powi(2)).max(0.0).sqrt() / std::f64::consts::PI;
            let l1: f64 = solver
                .density()
                .iter()
                .zip(&points)
                .map(|(rho, &x)| (rho - semicircle(x)).abs())
                .sum::<f64>()
                * grid.cell_volume();
            errors.push(l1);
        }
        assert!(errors[1] < 0.01, "L1 distance to the semicircle {errors:?}");
        assert!(
            errors[1] < errors[0],
            "L1 distance did not shrink: {errors:?}"
        );
    }

    /// Observed order of convergence on case A at t = 0.5 against a run on
    /// 800 intervals, whose nodes include those of every coarser grid.
    #[test]
    fn refinement_order_matches_flux() {
        let run = |intervals: usize, flux: Flux| {
            let (kernel, diffusion, grid, initial) = case_a(intervals);
            let mut solver = Solver::new(&kernel, diffusion, &grid, initial.view().into_dyn())
                .unwrap()
                .with_flux(flux);
            solver.advance_to(0.5);
            solver.density().iter().copied().collect::<Vec<f64>>()
        };
        for (flux, min_order) in [(Flux::ScharfetterGummel, 1.7), (Flux::UpwindCentred, 0.8)] {
            let reference = run(800, flux);
            let errors: Vec<f64> = [50, 100, 200]
                .iter()
                .map(|&intervals| {
                    let stride = 800 / intervals;
                    let dx = 6.0 / intervals as f64;
                    run(intervals, flux)
                        .iter()
                        .enumerate()
                        .map(|(m, rho)| (rho - reference[m * stride]).abs() * dx)
                        .sum()
                })
                .collect();
            for pair in errors.windows(2) {
                let order = (pair[0] / pair[1]).log2();
                assert!(
                    order > min_order,
                    "{flux:?}: order {order} from L1 errors {errors:?}"
                );
            }
        }
    }

    /// A strong short-range repulsion acting on a rough density is stiff on
    /// the scale of the grid. With the exponentially fitted flux at the
    /// default cfl, steps that would raise the free energy are rejected. With
    /// the upwind–centred flux at cfl = 1, the face speeds grow by more than
    /// 10% within a step, so steps that could turn a density negative are
    /// rejected. That flux has no energy check, so only mass and positivity
    /// are checked for it.
    #[test]
    fn rejected_steps_keep_invariants() {
        let kernel = kernel(&[(Term::Indicator { lo: 0.0, hi: 0.2 }, -50.0)]);
        let (_, _, grid, smooth) = case_a(100);
        let roughness = Array1::from_iter((0..101).map(|m| 1.0 + ((m * 7919) % 13) as f64));
        let initial = smooth * roughness;
        let cases = [
            (Flux::ScharfetterGummel, DEFAULT_CFL, true),
            (Flux::UpwindCentred, 1.0, false),
        ];
        for (flux, cfl, check_energy) in cases {
            let config = SolverConfig {
                cfl,
                ..SolverConfig::new(1.0, 1.0)
            };
            let mut solver = Solver::new(&kernel, 0.01, &grid, initial.view().into_dyn())
                .unwrap()
                .with_config(&config)
                .unwrap()
                .with_flux(flux);
            check_invariants_per_step(&mut solver, 0.5, check_energy);
            assert!(
                solver.rejected_steps() > 0,
                "{flux:?}: no step was rejected"
            );
        }
    }

    #[test]
    fn advance_to_lands_on_time() {
        let (kernel, diffusion, grid, initial) = case_a(50);
        let config = SolverConfig {
            dt_max: Some(0.03),
            ..SolverConfig::new(1.0, 0.1)
        };
        let mut solver = Solver::new(&kernel, diffusion, &grid, initial.view().into_dyn())
            .unwrap()
            .with_config(&config)
            .unwrap();
        for t in [0.1, 0.25, 0.7] {
            solver.advance_to(t);
            assert_eq!(solver.time(), t);
        }
        // A time in the past leaves the solver where it is.
        solver.advance_to(0.2);
        assert_eq!(solver.time(), 0.7);
    }

    #[test]
    fn dt_max_bounds_step() {
        let (kernel, diffusion, grid, initial) = case_a(50);
        let config = SolverConfig {
            dt_max: Some(1e-4),
            ..SolverConfig::new(1.0, 0.1)
        };
        let mut solver = Solver::new(&kernel, diffusion, &grid, initial.view().into_dyn())
            .unwrap()
            .with_config(&config)
            .unwrap();
        assert_eq!(solver.step(1.0), 1e-4);
    }

    #[test]
    fn negative_diffusion_named() {
        let (kernel, _, grid, initial) = case_a(50);
        let err = Solver::new(&kernel, -0.1, &grid, initial.view().into_dyn())
            .err()
            .unwrap();
        assert!(
            matches!(err, MeanfieldError::InvalidDiffusion { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("D = -0.1"), "{err}");
    }

    #[test]
    fn negative_density_named() {
        let (kernel, diffusion, grid, mut initial) = case_a(50);
        initial[17] = -0.25;
        let err = Solver::new(&kernel, diffusion, &grid, initial.view().into_dyn())
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(text.contains("-0.25"), "{text}");
        assert!(text.contains("[17]"), "{text}");
    }

    #[test]
    fn nan_density_named() {
        let (kernel, diffusion, grid, mut initial) = case_a(50);
        initial[3] = f64::NAN;
        let err = Solver::new(&kernel, diffusion, &grid, initial.view().into_dyn())
            .err()
            .unwrap();
        assert!(err.to_string().contains("NaN"), "{err}");
    }

    #[test]
    fn zero_mass_rejected() {
        let (kernel, diffusion, grid, _) = case_a(50);
        let initial = Array1::<f64>::zeros(51);
        let err = Solver::new(&kernel, diffusion, &grid, initial.view().into_dyn())
            .err()
            .unwrap();
        assert!(matches!(err, MeanfieldError::ZeroMass), "{err:?}");
    }

    #[test]
    fn wrong_shape_rejected() {
        let (kernel, diffusion, grid, _) = case_a(50);
        let initial = Array1::<f64>::ones(50);
        let err = Solver::new(&kernel, diffusion, &grid, initial.view().into_dyn())
            .err()
            .unwrap();
        assert!(err.to_string().contains("[50]"), "{err}");
    }

    #[test]
    fn empty_kernel_rejected() {
        let (_, diffusion, grid, initial) = case_a(50);
        let err = Solver::new(
            &Kernel::default(),
            diffusion,
            &grid,
            initial.view().into_dyn(),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("kernel"), "{err}");
    }

    #[test]
    fn solver_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Solver>();
    }
}
