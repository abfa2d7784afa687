//! STS/1.0 subject (being written).
