//! Learned customer vectors (a collaborative-filtering model's user factors) that extend the
//! profile's feature vector through an embedding slot of the spec, so that a response model can
//! learn from what a customer's affinities say about their response to an offer.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{FeatureError, FeatureSpec};

/// The slot name of the collaborative-filtering user factors.
pub const CF_SLOT: &str = "cf";

/// One learned vector per customer (stored id), all of length `dim`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerEmbeddings {
    pub dim: usize,
    pub vectors: HashMap<String, Vec<f32>>,
}

impl CustomerEmbeddings {
    /// Checks that every vector has `dim` finite values.
    pub fn validate(&self) -> Result<(), FeatureError> {
        for (customer, v) in &self.vectors {
            if v.len() != self.dim || v.iter().any(|x| !x.is_finite()) {
                return Err(FeatureError::EmbeddingSize {
                    name: format!("{CF_SLOT} of customer {customer}"),
                    expected: self.dim,
                    found: v.len(),
                });
            }
        }
        Ok(())
    }

    /// The base spec with this embedding's slot: what a model trained with it records.
    pub fn spec(&self) -> Result<FeatureSpec, FeatureError> {
        FeatureSpec::base().with_embedding(CF_SLOT, self.dim)
    }

    /// Appends the slot's values to a base vector: the customer's vector and 1, or zeros and 0
    /// for a customer the model has not seen (the layout of [`FeatureSpec::vector`]).
    pub fn extend(&self, customer: &str, base: &mut Vec<f64>) {
        match self.vectors.get(customer) {
            Some(v) => {
                base.extend(v.iter().map(|x| f64::from(*x)));
                base.push(1.0);
            }
            None => base.extend(std::iter::repeat_n(0.0, self.dim + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extends_like_the_spec() {
        let e = CustomerEmbeddings {
            dim: 2,
            vectors: HashMap::from([("u1".to_string(), vec![0.5f32, -1.0])]),
        };
        e.validate().unwrap();
        let spec = e.spec().unwrap();
        let profile = crate::ProfileBuilder::new("u1")
            .snapshot(discount_core::Timestamp(0))
            .unwrap();
        let mut mine = FeatureSpec::base().vector(&profile, &[]).unwrap();
        e.extend("u1", &mut mine);
        let theirs = spec.vector(&profile, &[(CF_SLOT, &[0.5, -1.0])]).unwrap();
        assert_eq!(mine, theirs);
        let mut unknown = FeatureSpec::base().vector(&profile, &[]).unwrap();
        e.extend("u9", &mut unknown);
        assert_eq!(unknown, spec.vector(&profile, &[]).unwrap());
        assert_ne!(spec.id(), FeatureSpec::base().id());
    }
}
