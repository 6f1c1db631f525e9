//! Coupon abuse and fraud detection: identity rings, named rules, learned scores and the offer gate.
