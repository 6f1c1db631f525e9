//! The extension module `discount._native`: thin functions over the adapters of this crate. The Python package
//! (`python/discount`) wraps them in classes and functions with Open Bandit Pipeline's, scikit-uplift's and
//! lifetimes' names, converts arguments to contiguous arrays of the right type, and documents them.

use discount_eval::ope::BootstrapConfig;
use discount_eval::uplift;
use discount_models::ltv::{BgNbd, BgNbdParams, GammaGamma, GammaGammaParams};
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::BindingError;
use crate::lifetime_value;
use crate::off_policy::{self, LoggedFeedback, Tensor3};
use crate::simulation::{self, ConfigSource, SimulationRequest};
use crate::uplift_metrics::{self, BinStrategy, KArgument};

impl From<BindingError> for PyErr {
    fn from(error: BindingError) -> PyErr {
        PyValueError::new_err(error.to_string())
    }
}

fn engine<T, E: Into<BindingError>>(result: Result<T, E>) -> PyResult<T> {
    result.map_err(|e| PyErr::from(e.into()))
}

fn slice<'a, T: numpy::Element>(
    argument: &str,
    array: &'a PyReadonlyArray1<'_, T>,
) -> PyResult<&'a [T]> {
    array.as_slice().map_err(|e| {
        PyValueError::new_err(format!(
            "argument `{argument}`: {e} (pass a contiguous array)"
        ))
    })
}

fn optional_slice<'a, T: numpy::Element>(
    argument: &str,
    array: &'a Option<PyReadonlyArray1<'_, T>>,
) -> PyResult<Option<&'a [T]>> {
    array.as_ref().map(|a| slice(argument, a)).transpose()
}

fn tensor<'a>(argument: &str, array: &'a PyReadonlyArray3<'_, f64>) -> PyResult<Tensor3<'a>> {
    let shape = array.shape();
    let values = array.as_slice().map_err(|e| {
        PyValueError::new_err(format!(
            "argument `{argument}`: {e} (pass a contiguous array)"
        ))
    })?;
    Ok(Tensor3::new(
        argument,
        values,
        [shape[0], shape[1], shape[2]],
    )?)
}

/// Point estimate of `estimator` (`name[:parameter]`, e.g. `ipw:inf`) on Open Bandit Pipeline's arrays.
#[pyfunction]
#[pyo3(signature = (estimator, action_dist, reward=None, action=None, pscore=None, position=None, estimated_rewards_by_reg_model=None))]
#[allow(clippy::too_many_arguments)]
fn estimate_policy_value(
    py: Python<'_>,
    estimator: &str,
    action_dist: PyReadonlyArray3<'_, f64>,
    reward: Option<PyReadonlyArray1<'_, f64>>,
    action: Option<PyReadonlyArray1<'_, i64>>,
    pscore: Option<PyReadonlyArray1<'_, f64>>,
    position: Option<PyReadonlyArray1<'_, i64>>,
    estimated_rewards_by_reg_model: Option<PyReadonlyArray3<'_, f64>>,
) -> PyResult<f64> {
    let estimator = off_policy::parse_estimator(estimator)?;
    let log = LoggedFeedback {
        reward: optional_slice("reward", &reward)?,
        action: optional_slice("action", &action)?,
        pscore: optional_slice("pscore", &pscore)?,
        position: optional_slice("position", &position)?,
    };
    let dist = tensor("action_dist", &action_dist)?;
    let model = estimated_rewards_by_reg_model
        .as_ref()
        .map(|q| tensor("estimated_rewards_by_reg_model", q))
        .transpose()?;
    Ok(py.detach(|| off_policy::estimate_policy_value(estimator, log, dist, model))?)
}

/// `(estimate, bootstrap_mean, lower, upper, effective_sample_size)` with a percentile bootstrap.
#[pyfunction]
#[pyo3(signature = (estimator, action_dist, reward=None, action=None, pscore=None, position=None, estimated_rewards_by_reg_model=None, alpha=0.05, n_bootstrap_samples=10000, random_state=12345))]
#[allow(clippy::too_many_arguments)]
fn estimate_interval(
    py: Python<'_>,
    estimator: &str,
    action_dist: PyReadonlyArray3<'_, f64>,
    reward: Option<PyReadonlyArray1<'_, f64>>,
    action: Option<PyReadonlyArray1<'_, i64>>,
    pscore: Option<PyReadonlyArray1<'_, f64>>,
    position: Option<PyReadonlyArray1<'_, i64>>,
    estimated_rewards_by_reg_model: Option<PyReadonlyArray3<'_, f64>>,
    alpha: f64,
    n_bootstrap_samples: usize,
    random_state: u64,
) -> PyResult<(f64, f64, f64, f64, f64)> {
    let estimator = off_policy::parse_estimator(estimator)?;
    let log = LoggedFeedback {
        reward: optional_slice("reward", &reward)?,
        action: optional_slice("action", &action)?,
        pscore: optional_slice("pscore", &pscore)?,
        position: optional_slice("position", &position)?,
    };
    let dist = tensor("action_dist", &action_dist)?;
    let model = estimated_rewards_by_reg_model
        .as_ref()
        .map(|q| tensor("estimated_rewards_by_reg_model", q))
        .transpose()?;
    let config = BootstrapConfig::new(n_bootstrap_samples, alpha, random_state);
    let result =
        py.detach(|| off_policy::estimate_interval(estimator, log, dist, model, &config))?;
    Ok((
        result.estimate,
        result.interval.bootstrap_mean,
        result.interval.lower,
        result.interval.upper,
        result.effective_sample_size,
    ))
}

/// The three arrays of every uplift metric, checked: outcomes, scores, treatment flags.
fn uplift_arrays(
    y_true: &PyReadonlyArray1<'_, f64>,
    uplift_scores: &PyReadonlyArray1<'_, f64>,
    treatment: &PyReadonlyArray1<'_, i64>,
) -> PyResult<(Vec<f64>, Vec<f64>, Vec<u8>)> {
    Ok((
        slice("y_true", y_true)?.to_vec(),
        uplift_metrics::numpy_scores(slice("uplift", uplift_scores)?),
        uplift_metrics::treatment_flags(slice("treatment", treatment)?)?,
    ))
}

#[pyfunction]
fn qini_auc_score(
    y_true: PyReadonlyArray1<'_, f64>,
    uplift: PyReadonlyArray1<'_, f64>,
    treatment: PyReadonlyArray1<'_, i64>,
    negative_effect: bool,
) -> PyResult<f64> {
    let (y, u, t) = uplift_arrays(&y_true, &uplift, &treatment)?;
    engine(uplift::qini_auc_score(&y, &u, &t, negative_effect))
}

#[pyfunction]
fn uplift_auc_score(
    y_true: PyReadonlyArray1<'_, f64>,
    uplift: PyReadonlyArray1<'_, f64>,
    treatment: PyReadonlyArray1<'_, i64>,
) -> PyResult<f64> {
    let (y, u, t) = uplift_arrays(&y_true, &uplift, &treatment)?;
    engine(uplift::uplift_auc_score(&y, &u, &t))
}

/// `k_count` (an integer k) or `k_fraction` (a float k in (0, 1)), exactly one of them.
#[pyfunction]
#[pyo3(signature = (y_true, uplift, treatment, strategy, k_count=None, k_fraction=None))]
fn uplift_at_k(
    y_true: PyReadonlyArray1<'_, f64>,
    uplift: PyReadonlyArray1<'_, f64>,
    treatment: PyReadonlyArray1<'_, i64>,
    strategy: &str,
    k_count: Option<usize>,
    k_fraction: Option<f64>,
) -> PyResult<f64> {
    let (y, u, t) = uplift_arrays(&y_true, &uplift, &treatment)?;
    let k = match (k_count, k_fraction) {
        (Some(c), None) => KArgument::Count(c),
        (None, Some(f)) => KArgument::Fraction(f),
        _ => {
            return Err(BindingError::argument(
                "k",
                "give an integer count or a fraction in (0, 1)",
            )
            .into())
        }
    };
    Ok(uplift_metrics::uplift_at_k(
        &y,
        &u,
        &t,
        BinStrategy::parse(strategy)?,
        k,
    )?)
}

#[pyfunction]
fn weighted_average_uplift(
    y_true: PyReadonlyArray1<'_, f64>,
    uplift: PyReadonlyArray1<'_, f64>,
    treatment: PyReadonlyArray1<'_, i64>,
    strategy: &str,
    bins: usize,
) -> PyResult<f64> {
    let (y, u, t) = uplift_arrays(&y_true, &uplift, &treatment)?;
    Ok(uplift_metrics::weighted_average_uplift(
        &y,
        &u,
        &t,
        BinStrategy::parse(strategy)?,
        bins,
    )?)
}

/// `(n_treatment, n_control, response_rate_treatment, response_rate_control, uplift)`, one entry per bin.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn uplift_by_percentile(
    y_true: PyReadonlyArray1<'_, f64>,
    uplift: PyReadonlyArray1<'_, f64>,
    treatment: PyReadonlyArray1<'_, i64>,
    strategy: &str,
    bins: usize,
) -> PyResult<(Vec<usize>, Vec<usize>, Vec<f64>, Vec<f64>, Vec<f64>)> {
    let (y, u, t) = uplift_arrays(&y_true, &uplift, &treatment)?;
    let table =
        uplift_metrics::uplift_by_percentile(&y, &u, &t, BinStrategy::parse(strategy)?, bins)?;
    Ok((
        table.n_treatment,
        table.n_control,
        table.response_rate_treatment,
        table.response_rate_control,
        table.uplift,
    ))
}

type CurveArrays<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

fn curve_arrays(py: Python<'_>, curve: uplift::Curve) -> CurveArrays<'_> {
    (
        PyArray1::from_vec(py, curve.x),
        PyArray1::from_vec(py, curve.y),
    )
}

#[pyfunction]
fn qini_curve<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'_, f64>,
    uplift: PyReadonlyArray1<'_, f64>,
    treatment: PyReadonlyArray1<'_, i64>,
) -> PyResult<CurveArrays<'py>> {
    let (y, u, t) = uplift_arrays(&y_true, &uplift, &treatment)?;
    Ok(curve_arrays(py, engine(uplift::qini_curve(&y, &u, &t))?))
}

#[pyfunction]
fn uplift_curve<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'_, f64>,
    uplift: PyReadonlyArray1<'_, f64>,
    treatment: PyReadonlyArray1<'_, i64>,
) -> PyResult<CurveArrays<'py>> {
    let (y, u, t) = uplift_arrays(&y_true, &uplift, &treatment)?;
    Ok(curve_arrays(py, engine(uplift::uplift_curve(&y, &u, &t))?))
}

#[pyfunction]
fn perfect_qini_curve<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'_, f64>,
    treatment: PyReadonlyArray1<'_, i64>,
    negative_effect: bool,
) -> PyResult<CurveArrays<'py>> {
    let y = slice("y_true", &y_true)?;
    let t = uplift_metrics::treatment_flags(slice("treatment", &treatment)?)?;
    Ok(curve_arrays(
        py,
        engine(uplift::perfect_qini_curve(y, &t, negative_effect))?,
    ))
}

#[pyfunction]
fn perfect_uplift_curve<'py>(
    py: Python<'py>,
    y_true: PyReadonlyArray1<'_, f64>,
    treatment: PyReadonlyArray1<'_, i64>,
) -> PyResult<CurveArrays<'py>> {
    let y = slice("y_true", &y_true)?;
    let t = uplift_metrics::treatment_flags(slice("treatment", &treatment)?)?;
    Ok(curve_arrays(
        py,
        engine(uplift::perfect_uplift_curve(y, &t))?,
    ))
}

fn bgnbd(params: (f64, f64, f64, f64)) -> PyResult<BgNbd> {
    let (r, alpha, a, b) = params;
    Ok(BgNbd::with_params(
        engine(BgNbdParams::new(r, alpha, a, b))?,
        &[],
    ))
}

/// `(r, alpha, a, b, log_likelihood)` of the maximum-likelihood BG/NBD fit.
#[pyfunction]
#[pyo3(name = "fit_bgnbd")]
fn fit_bgnbd_py(
    py: Python<'_>,
    frequency: PyReadonlyArray1<'_, f64>,
    recency: PyReadonlyArray1<'_, f64>,
    t: PyReadonlyArray1<'_, f64>,
) -> PyResult<(f64, f64, f64, f64, f64)> {
    let (f, r, t) = (
        slice("frequency", &frequency)?,
        slice("recency", &recency)?,
        slice("T", &t)?,
    );
    let model = py.detach(|| lifetime_value::fit_bgnbd(f, r, t))?;
    let p = model.params;
    Ok((p.r, p.alpha, p.a, p.b, model.log_likelihood))
}

#[pyfunction]
fn bgnbd_conditional_expected_purchases<'py>(
    py: Python<'py>,
    params: (f64, f64, f64, f64),
    t: f64,
    frequency: PyReadonlyArray1<'_, f64>,
    recency: PyReadonlyArray1<'_, f64>,
    big_t: PyReadonlyArray1<'_, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let model = bgnbd(params)?;
    let values = lifetime_value::conditional_expected_purchases(
        &model,
        t,
        slice("frequency", &frequency)?,
        slice("recency", &recency)?,
        slice("T", &big_t)?,
    )?;
    Ok(PyArray1::from_vec(py, values))
}

#[pyfunction]
fn bgnbd_probability_alive<'py>(
    py: Python<'py>,
    params: (f64, f64, f64, f64),
    frequency: PyReadonlyArray1<'_, f64>,
    recency: PyReadonlyArray1<'_, f64>,
    big_t: PyReadonlyArray1<'_, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let model = bgnbd(params)?;
    let values = lifetime_value::probability_alive(
        &model,
        slice("frequency", &frequency)?,
        slice("recency", &recency)?,
        slice("T", &big_t)?,
    )?;
    Ok(PyArray1::from_vec(py, values))
}

/// Expected repeat purchases of a new customer in their first `t` time units, for each `t`.
#[pyfunction]
fn bgnbd_expected_purchases_new<'py>(
    py: Python<'py>,
    params: (f64, f64, f64, f64),
    t: PyReadonlyArray1<'_, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let model = bgnbd(params)?;
    let values = slice("t", &t)?
        .iter()
        .map(|&h| engine(model.expected_purchases_new(h)))
        .collect::<PyResult<Vec<f64>>>()?;
    Ok(PyArray1::from_vec(py, values))
}

/// `(p, q, v, log_likelihood)` of the maximum-likelihood Gamma-Gamma fit.
#[pyfunction]
#[pyo3(name = "fit_gamma_gamma")]
fn fit_gamma_gamma_py(
    py: Python<'_>,
    frequency: PyReadonlyArray1<'_, f64>,
    monetary_value: PyReadonlyArray1<'_, f64>,
) -> PyResult<(f64, f64, f64, f64)> {
    let (f, m) = (
        slice("frequency", &frequency)?,
        slice("monetary_value", &monetary_value)?,
    );
    let model = py.detach(|| lifetime_value::fit_gamma_gamma(f, m))?;
    let p = model.params;
    Ok((p.p, p.q, p.v, model.log_likelihood))
}

#[pyfunction]
fn gamma_gamma_expected_average_profit<'py>(
    py: Python<'py>,
    params: (f64, f64, f64),
    frequency: PyReadonlyArray1<'_, f64>,
    monetary_value: PyReadonlyArray1<'_, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (p, q, v) = params;
    let model = GammaGamma {
        params: GammaGammaParams { p, q, v },
        log_likelihood: f64::NAN,
        customers: 0,
    };
    let values = lifetime_value::conditional_expected_average_profit(
        &model,
        slice("frequency", &frequency)?,
        slice("monetary_value", &monetary_value)?,
    )?;
    Ok(PyArray1::from_vec(py, values))
}

/// `(summary_json, event_json_lines, decisions_json)` of one simulation.
#[pyfunction]
#[pyo3(signature = (config_toml=None, config_json=None, policy="uniform:10", counterfactual=false, keep_events=false, decision_truth=false))]
fn simulate(
    py: Python<'_>,
    config_toml: Option<&str>,
    config_json: Option<&str>,
    policy: &str,
    counterfactual: bool,
    keep_events: bool,
    decision_truth: bool,
) -> PyResult<(String, Vec<String>, String)> {
    let config = match (config_toml, config_json) {
        (None, None) => ConfigSource::Default,
        (Some(text), None) => ConfigSource::Toml(text),
        (None, Some(text)) => ConfigSource::Json(text),
        (Some(_), Some(_)) => {
            return Err(
                BindingError::argument("config", "give TOML text or a mapping, not both").into(),
            )
        }
    };
    let request = SimulationRequest {
        config,
        policy,
        counterfactual,
        keep_events,
        decision_truth,
    };
    let result = py.detach(|| simulation::run(request))?;
    Ok((result.summary, result.events, result.decisions))
}

/// The compiled core of the `discount` package.
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(estimate_policy_value, m)?)?;
    m.add_function(wrap_pyfunction!(estimate_interval, m)?)?;
    m.add_function(wrap_pyfunction!(qini_auc_score, m)?)?;
    m.add_function(wrap_pyfunction!(uplift_auc_score, m)?)?;
    m.add_function(wrap_pyfunction!(uplift_at_k, m)?)?;
    m.add_function(wrap_pyfunction!(weighted_average_uplift, m)?)?;
    m.add_function(wrap_pyfunction!(uplift_by_percentile, m)?)?;
    m.add_function(wrap_pyfunction!(qini_curve, m)?)?;
    m.add_function(wrap_pyfunction!(uplift_curve, m)?)?;
    m.add_function(wrap_pyfunction!(perfect_qini_curve, m)?)?;
    m.add_function(wrap_pyfunction!(perfect_uplift_curve, m)?)?;
    m.add_function(wrap_pyfunction!(fit_bgnbd_py, m)?)?;
    m.add_function(wrap_pyfunction!(bgnbd_conditional_expected_purchases, m)?)?;
    m.add_function(wrap_pyfunction!(bgnbd_probability_alive, m)?)?;
    m.add_function(wrap_pyfunction!(bgnbd_expected_purchases_new, m)?)?;
    m.add_function(wrap_pyfunction!(fit_gamma_gamma_py, m)?)?;
    m.add_function(wrap_pyfunction!(gamma_gamma_expected_average_profit, m)?)?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
