//! Platform interface.
