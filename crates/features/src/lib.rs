//! Customer profiles and feature vectors, derived from events only, by one code path that serves
//! both training and live decisions.
