//! A simulated fleet (a simulator, not real hosts) used by `--demo` and by tests.
