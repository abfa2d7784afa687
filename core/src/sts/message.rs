//! STS/1.0 message (being written).
