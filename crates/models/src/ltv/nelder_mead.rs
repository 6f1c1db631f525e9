//! Nelder-Mead simplex minimisation, restarted until a restart no longer improves the minimum.
//!
//! The lifetime-value likelihoods have four or three parameters and cheap closed forms, so a
//! derivative-free simplex on log-parameters is accurate and robust; restarts guard against the
//! simplex collapsing early on a curved valley.

/// Settings of the simplex search.
#[derive(Debug, Clone, Copy)]
pub struct NelderMead {
    /// Evaluations allowed per run of the simplex.
    pub max_evaluations: usize,
    /// A run stops when the spread of function values in the simplex is below this.
    pub tolerance: f64,
    /// Edge length of the initial simplex (in the units of the search space).
    pub initial_step: f64,
    /// Maximum number of restarts from the best point found.
    pub max_restarts: usize,
}

impl Default for NelderMead {
    fn default() -> Self {
        Self {
            max_evaluations: 20_000,
            tolerance: 1e-12,
            initial_step: 0.5,
            max_restarts: 20,
        }
    }
}

/// The minimum found.
#[derive(Debug, Clone)]
pub struct Minimum {
    pub point: Vec<f64>,
    pub value: f64,
    pub evaluations: usize,
}

impl NelderMead {
    /// Minimise `f` from `start`. Non-finite values of `f` are treated as +infinity, so the
    /// simplex steps back from regions where the likelihood is undefined.
    pub fn minimise(&self, f: impl Fn(&[f64]) -> f64, start: &[f64]) -> Minimum {
        let eval = |x: &[f64]| {
            let v = f(x);
            if v.is_finite() {
                v
            } else {
                f64::INFINITY
            }
        };
        let mut best = Minimum {
            point: start.to_vec(),
            value: eval(start),
            evaluations: 1,
        };
        let mut step = self.initial_step;
        for _ in 0..=self.max_restarts {
            let (point, value, used) = self.run(&eval, &best.point, step);
            best.evaluations += used;
            let improvement = best.value - value;
            if value < best.value {
                best.point = point;
                best.value = value;
            }
            if improvement.abs() <= self.tolerance * (1.0 + best.value.abs()) {
                break;
            }
            // Later restarts explore a smaller neighbourhood of the incumbent.
            step = (step * 0.5).max(1e-3);
        }
        best
    }

    fn run(&self, f: &impl Fn(&[f64]) -> f64, start: &[f64], step: f64) -> (Vec<f64>, f64, usize) {
        let n = start.len();
        let mut simplex: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        simplex.push(start.to_vec());
        for i in 0..n {
            let mut p = start.to_vec();
            p[i] += step;
            simplex.push(p);
        }
        let mut values: Vec<f64> = simplex.iter().map(|p| f(p)).collect();
        let mut evaluations = n + 1;
        let (alpha, gamma, rho, sigma) = (1.0, 2.0, 0.5, 0.5);
        while evaluations < self.max_evaluations {
            let mut order: Vec<usize> = (0..=n).collect();
            order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
            simplex = order.iter().map(|&i| simplex[i].clone()).collect();
            values = order.iter().map(|&i| values[i]).collect();
            let spread = values[n] - values[0];
            if spread.is_finite() && spread <= self.tolerance * (1.0 + values[0].abs()) {
                break;
            }
            let centroid: Vec<f64> = (0..n)
                .map(|j| simplex[..n].iter().map(|p| p[j]).sum::<f64>() / n as f64)
                .collect();
            let towards = |coef: f64| -> Vec<f64> {
                (0..n)
                    .map(|j| centroid[j] + coef * (simplex[n][j] - centroid[j]))
                    .collect()
            };
            let reflected = towards(-alpha);
            let f_reflected = f(&reflected);
            evaluations += 1;
            if f_reflected < values[0] {
                let expanded = towards(-gamma);
                let f_expanded = f(&expanded);
                evaluations += 1;
                if f_expanded < f_reflected {
                    simplex[n] = expanded;
                    values[n] = f_expanded;
                } else {
                    simplex[n] = reflected;
                    values[n] = f_reflected;
                }
                continue;
            }
            if f_reflected < values[n - 1] {
                simplex[n] = reflected;
                values[n] = f_reflected;
                continue;
            }
            let (contracted, f_contracted) = if f_reflected < values[n] {
                let c = towards(-rho);
                let fc = f(&c);
                (c, fc)
            } else {
                let c = towards(rho);
                let fc = f(&c);
                (c, fc)
            };
            evaluations += 1;
            if f_contracted < values[n].min(f_reflected) {
                simplex[n] = contracted;
                values[n] = f_contracted;
                continue;
            }
            // Shrink towards the best vertex.
            let best_vertex = simplex[0].clone();
            for (vertex, value) in simplex.iter_mut().zip(values.iter_mut()).skip(1) {
                for (x, b) in vertex.iter_mut().zip(&best_vertex) {
                    *x = b + sigma * (*x - b);
                }
                *value = f(vertex);
            }
            evaluations += n;
        }
        let best = (0..=n)
            .min_by(|&a, &b| values[a].total_cmp(&values[b]))
            .unwrap_or(0);
        (simplex[best].clone(), values[best], evaluations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let rosenbrock = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = NelderMead::default().minimise(rosenbrock, &[-1.2, 1.0]);
        assert!((m.point[0] - 1.0).abs() < 1e-5, "{:?}", m.point);
        assert!((m.point[1] - 1.0).abs() < 1e-5, "{:?}", m.point);
    }

    #[test]
    fn steps_back_from_undefined_regions() {
        // ln is undefined below 0; the minimum of x - ln x is at x = 1.
        let f = |x: &[f64]| x[0] - x[0].ln();
        let m = NelderMead::default().minimise(f, &[3.0]);
        assert!((m.point[0] - 1.0).abs() < 1e-5, "{:?}", m.point);
    }
}
