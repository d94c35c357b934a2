//! GPU samples from `nvidia-smi`, their parser and their health classification.
