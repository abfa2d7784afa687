//! STS/1.0 header (being written).
