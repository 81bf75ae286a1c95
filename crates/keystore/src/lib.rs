//! Key store (in progress).
