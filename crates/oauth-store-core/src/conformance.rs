//! The conformance suite. (Being written.)
