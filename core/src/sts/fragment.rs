//! STS/1.0 fragment (being written).
