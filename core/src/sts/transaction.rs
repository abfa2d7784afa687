//! STS/1.0 transaction (being written).
