//! The IO shell: supervisor, effect execution, journal and logging.
