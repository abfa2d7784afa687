//! STS/1.0 error (being written).
