//! Conformance-suite helpers (the tests live in tests/).
