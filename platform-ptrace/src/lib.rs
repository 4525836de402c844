//! ptrace platform.
