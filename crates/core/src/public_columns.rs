//! The published column layouts of the public data sets the engine is benchmarked on, in file
//! order: one definition for the `discount ingest --dataset` adapters and for the learners that
//! read the same files as a matrix.

/// UCI "Online Shoppers Purchasing Intention": every column, `Revenue` (the label) last.
pub const ONLINE_SHOPPERS: [&str; 18] = [
    "Administrative",
    "Administrative_Duration",
    "Informational",
    "Informational_Duration",
    "ProductRelated",
    "ProductRelated_Duration",
    "BounceRates",
    "ExitRates",
    "PageValues",
    "SpecialDay",
    "Month",
    "OperatingSystems",
    "Browser",
    "Region",
    "TrafficType",
    "VisitorType",
    "Weekend",
    "Revenue",
];

/// Kevin Hillstrom's MineThatData e-mail experiment: the customer's columns (the first eight),
/// then the arm (`segment`) and the outcomes.
pub const HILLSTROM: [&str; 12] = [
    "recency",
    "history_segment",
    "history",
    "mens",
    "womens",
    "zip_code",
    "newbie",
    "channel",
    "segment",
    "visit",
    "conversion",
    "spend",
];
