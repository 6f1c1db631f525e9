//! Versioned model artifacts: a fitted model with its feature spec, a summary of its training data and its
//! metrics, stored as JSON at `<root>/<name>/<version>.json`.
//!
//! Versions increase by one per save. The content hash is the SHA-256 of the artifact's JSON with the
//! version and hash fields blank, so two saves of identical content share a hash, and a file edited after
//! saving fails to load. Floats round-trip exactly (serde_json `float_roundtrip`), so a loaded model predicts
//! exactly what the saved one did.
//!
//! A model trained on profile feature vectors records the id of their feature spec
//! (`discount_features::FeatureSpec::id`, e.g. `profile-v1+3f2a...`) in [`Artifact::feature_spec`];
//! the server checks it against the spec it builds vectors with ([`Artifact::ensure_feature_spec`]).
//! The id is a plain string so this crate does not depend on the features crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::calibration::Calibrator;
use crate::propensity::{Learner, Matrix, Model, MonotoneInDepth};
use crate::ModelError;

/// One input column: its name and what it means (units, encoding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureInfo {
    pub name: String,
    pub meaning: String,
}

/// What the model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    pub dataset: String,
    pub rows: u64,
    /// Rows with a positive outcome (binary models).
    pub positives: Option<u64>,
    /// Day of training, `YYYY-MM-DD` (UTC).
    pub date: String,
}

impl TrainingSummary {
    /// A summary dated today (UTC).
    pub fn today(dataset: &str, rows: u64, positives: Option<u64>) -> Self {
        TrainingSummary {
            dataset: dataset.to_string(),
            rows,
            positives,
            date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
        }
    }
}

/// A stored model of any serialisable type `M`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact<M> {
    pub name: String,
    /// Set by [`ArtifactStore::save`]; 0 before the first save.
    pub version: u64,
    /// Hex SHA-256 of the content; set by [`ArtifactStore::save`].
    pub content_hash: String,
    pub features: Vec<FeatureInfo>,
    /// Id (`version+hash`) of the profile feature spec the model's inputs follow; `None` for
    /// models that do not read profile feature vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_spec: Option<String>,
    pub training: TrainingSummary,
    pub metrics: BTreeMap<String, f64>,
    pub model: M,
}

impl<M: Serialize> Artifact<M> {
    pub fn new(
        name: &str,
        features: Vec<FeatureInfo>,
        training: TrainingSummary,
        metrics: BTreeMap<String, f64>,
        model: M,
    ) -> Self {
        Artifact {
            name: name.to_string(),
            version: 0,
            content_hash: String::new(),
            features,
            feature_spec: None,
            training,
            metrics,
            model,
        }
    }

    /// Records the id of the profile feature spec the model was trained on.
    pub fn with_feature_spec(mut self, spec_id: &str) -> Self {
        self.feature_spec = Some(spec_id.to_string());
        self
    }

    /// Errors unless the model was trained on the feature spec `serving_spec_id` that serving
    /// builds its vectors with: a model must never score vectors of another layout.
    pub fn ensure_feature_spec(&self, serving_spec_id: &str) -> Result<(), ModelError> {
        match self.feature_spec.as_deref() {
            Some(trained) if trained == serving_spec_id => Ok(()),
            Some(trained) => Err(ModelError::Artifact(format!(
                "model {:?} version {} was trained on feature spec {trained}, but serving uses {serving_spec_id}; retrain it on the serving spec",
                self.name, self.version
            ))),
            None => Err(ModelError::Artifact(format!(
                "model {:?} version {} records no feature spec, but serving uses {serving_spec_id}; retrain it on the serving spec",
                self.name, self.version
            ))),
        }
    }

    /// SHA-256 of the JSON of everything but the version and the hash.
    pub fn compute_hash(&self) -> Result<String, ModelError> {
        #[derive(Serialize)]
        struct Content<'a, M> {
            name: &'a str,
            features: &'a [FeatureInfo],
            // Absent when `None`, so artifacts saved before the field existed keep their hash.
            #[serde(skip_serializing_if = "Option::is_none")]
            feature_spec: Option<&'a str>,
            training: &'a TrainingSummary,
            metrics: &'a BTreeMap<String, f64>,
            model: &'a M,
        }
        let bytes = serde_json::to_vec(&Content {
            name: &self.name,
            features: &self.features,
            feature_spec: self.feature_spec.as_deref(),
            training: &self.training,
            metrics: &self.metrics,
            model: &self.model,
        })?;
        Ok(hex::encode(Sha256::digest(bytes)))
    }
}

/// A folder of artifacts, one sub-folder per model name.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    root: PathBuf,
}

fn check_name(name: &str) -> Result<(), ModelError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ModelError::Artifact(format!(
            "model name {name:?} must be non-empty ASCII letters, digits, '-' or '_'"
        )))
    }
}

impl ArtifactStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ArtifactStore { root: root.into() }
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
        move |source| ModelError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// Versions stored for `name`, ascending.
    pub fn versions(&self, name: &str) -> Result<Vec<u64>, ModelError> {
        check_name(name)?;
        let dir = self.root.join(name);
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut versions: Vec<u64> = std::fs::read_dir(&dir)
            .map_err(Self::io(&dir))?
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                if path.extension()? != "json" {
                    return None;
                }
                path.file_stem()?.to_str()?.parse().ok()
            })
            .collect();
        versions.sort_unstable();
        Ok(versions)
    }

    /// Saves under the next version, fills in the version and hash, and returns the file written.
    pub fn save<M: Serialize>(&self, artifact: &mut Artifact<M>) -> Result<PathBuf, ModelError> {
        check_name(&artifact.name)?;
        let version = self.versions(&artifact.name)?.last().map_or(1, |v| v + 1);
        artifact.version = version;
        artifact.content_hash = artifact.compute_hash()?;
        let dir = self.root.join(&artifact.name);
        std::fs::create_dir_all(&dir).map_err(Self::io(&dir))?;
        let path = dir.join(format!("{version}.json"));
        let partial = dir.join(format!(".{version}.json.partial"));
        std::fs::write(&partial, serde_json::to_vec_pretty(artifact)?)
            .map_err(Self::io(&partial))?;
        // A reader never sees a half-written version.
        std::fs::rename(&partial, &path).map_err(Self::io(&path))?;
        Ok(path)
    }

    /// Loads one version and checks its content hash.
    pub fn load<M: Serialize + DeserializeOwned>(
        &self,
        name: &str,
        version: u64,
    ) -> Result<Artifact<M>, ModelError> {
        check_name(name)?;
        load_file(&self.root.join(name).join(format!("{version}.json")))
    }

    /// Loads the highest version of `name`.
    pub fn load_latest<M: Serialize + DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Artifact<M>, ModelError> {
        let version = self.versions(name)?.last().copied().ok_or_else(|| {
            ModelError::Artifact(format!(
                "no stored versions of {name:?} in {}",
                self.root.display()
            ))
        })?;
        self.load(name, version)
    }
}

/// Writes an artifact to one chosen file (outside an [`ArtifactStore`]): its version is one more
/// than that of the artifact already at `path`, if any, else 1. Returns the version written.
pub fn save_file<M: Serialize>(path: &Path, artifact: &mut Artifact<M>) -> Result<u64, ModelError> {
    check_name(&artifact.name)?;
    #[derive(Deserialize)]
    struct Versioned {
        version: u64,
    }
    let previous = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice::<Versioned>(&bytes)
            .map(|v| v.version)
            .unwrap_or(0),
        Err(_) => 0,
    };
    artifact.version = previous + 1;
    artifact.content_hash = artifact.compute_hash()?;
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, serde_json::to_vec_pretty(artifact)?)
        .map_err(ArtifactStore::io(&partial))?;
    std::fs::rename(&partial, path).map_err(ArtifactStore::io(path))?;
    Ok(artifact.version)
}

/// Loads an artifact file, checks its content hash and that it was trained on the feature spec
/// `serving_spec_id`.
pub fn load_file_for_spec<M: Serialize + DeserializeOwned>(
    path: &Path,
    serving_spec_id: &str,
) -> Result<Artifact<M>, ModelError> {
    let artifact: Artifact<M> = load_file(path)?;
    artifact.ensure_feature_spec(serving_spec_id)?;
    Ok(artifact)
}

/// Loads an artifact file and checks its content hash.
pub fn load_file<M: Serialize + DeserializeOwned>(path: &Path) -> Result<Artifact<M>, ModelError> {
    let bytes = std::fs::read(path).map_err(ArtifactStore::io(path))?;
    let artifact: Artifact<M> = serde_json::from_slice(&bytes)
        .map_err(|e| ModelError::Artifact(format!("{}:{}: {e}", path.display(), e.line())))?;
    let hash = artifact.compute_hash()?;
    if hash != artifact.content_hash {
        return Err(ModelError::Artifact(format!(
            "{}: content hash {} does not match the stored {} (the file was changed after saving)",
            path.display(),
            hash,
            artifact.content_hash
        )));
    }
    Ok(artifact)
}

/// A servable propensity model: the base model, the optional monotone-in-depth constraint and the
/// optional calibrator applied to its output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropensityModel {
    pub model: Model,
    pub monotone: Option<MonotoneInDepth>,
    pub calibrator: Option<Calibrator>,
}

impl PropensityModel {
    /// Calibrated (and, if set, monotone) purchase probabilities for the rows of `x`.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>, ModelError> {
        let raw = match &self.monotone {
            Some(m) => m.predict(&self.model, x)?,
            None => self.model.predict(x)?,
        };
        Ok(match &self.calibrator {
            Some(c) => c.apply_all(&raw),
            None => raw,
        })
    }
}
