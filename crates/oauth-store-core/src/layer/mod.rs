//! Wrappers over backends. (Being written.)
