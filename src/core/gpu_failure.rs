//! Why an `nvidia-smi` run failed, from its exit code alone (nvidia-smi returns NVML's
//! return codes; `nvidia-smi(1)`, RETURN VALUE), and what each failure is evidence of.

use serde::{Deserialize, Serialize};

/// Why an nvidia-smi run failed, from its exit code (nvidia-smi returns NVML's codes; see
/// `nvidia-smi(1)`, RETURN VALUE), never from its words.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GpuFailure {
    /// Exit 15: the GPU has fallen off the bus or is otherwise inaccessible (also the
    /// per-GPU "Unable to determine the device handle" line of an exit-0 run).
    GpuLost,
    /// Exit 16: the GPU requires a reset before it can be used again.
    ResetRequired,
    /// Exit 14: corrupted infoROM.
    CorruptInfoRom,
    /// Exit 8: a GPU's external power cables are not properly attached.
    InsufficientPower,
    /// Exit 10: the kernel detected an interrupt issue with a GPU.
    IrqIssue,
    /// Exit 9: NVIDIA driver not loaded.
    DriverNotLoaded,
    /// Exit 12: the NVML shared library could not be found or loaded.
    LibraryNotFound,
    /// Exit 18: driver/library version mismatch.
    VersionMismatch,
    /// Exit 4: the probing user may not query the GPUs.
    NoPermission,
    /// Exit 17: the OS (cgroups) blocks the GPU control device.
    BlockedByOs,
    /// Exit 2: an argument is invalid, e.g. a field this driver does not know.
    InvalidArgument,
    /// Exit 3: the operation is not available on this GPU.
    NotSupported,
    /// Exit 13: this NVML does not implement the function asked for.
    FunctionNotFound,
    /// Exit 124 or 137 from `timeout -k 2 10`.
    Timeout,
    /// Exit 0 but unparsable.
    Garbage,
    /// Exit 255 (other or internal driver error) or a code nvidia-smi does not document.
    Other,
}

/// What a failed nvidia-smi run is evidence of, which decides what the core does with it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureClass {
    /// The GPU itself is broken: fatal.
    GpuEvidence,
    /// The host cannot run GPU jobs until someone fixes it (driver, library, rights): fatal.
    HostSetup,
    /// Our own query is wrong for this driver or GPU: the GPUs are unknown, never failed.
    OurQuery,
    /// Might pass on the next probe: the GPUs are unknown for now, never failed.
    Transient,
}

impl GpuFailure {
    /// From nvidia-smi's exit code, as `nvidia-smi(1)` documents it (plus NVML's 16–18,
    /// which it passes through, and `timeout`'s 124/137).
    pub fn from_exit(code: i32) -> GpuFailure {
        match code {
            2 => GpuFailure::InvalidArgument,
            3 => GpuFailure::NotSupported,
            4 => GpuFailure::NoPermission,
            8 => GpuFailure::InsufficientPower,
            9 => GpuFailure::DriverNotLoaded,
            10 => GpuFailure::IrqIssue,
            12 => GpuFailure::LibraryNotFound,
            13 => GpuFailure::FunctionNotFound,
            14 => GpuFailure::CorruptInfoRom,
            15 => GpuFailure::GpuLost,
            16 => GpuFailure::ResetRequired,
            17 => GpuFailure::BlockedByOs,
            18 => GpuFailure::VersionMismatch,
            124 | 137 => GpuFailure::Timeout,
            _ => GpuFailure::Other,
        }
    }

    pub fn class(self) -> FailureClass {
        use GpuFailure::*;
        match self {
            GpuLost | ResetRequired | CorruptInfoRom | InsufficientPower | IrqIssue | Timeout => {
                FailureClass::GpuEvidence
            }
            DriverNotLoaded | LibraryNotFound | VersionMismatch | NoPermission | BlockedByOs => {
                FailureClass::HostSetup
            }
            InvalidArgument | NotSupported | FunctionNotFound => FailureClass::OurQuery,
            Garbage | Other => FailureClass::Transient,
        }
    }

    /// In words, with the fix where there is one.
    pub fn describe(self) -> &'static str {
        use GpuFailure::*;
        match self {
            GpuLost => "GPU lost (fallen off the bus)",
            ResetRequired => "GPU requires a reset",
            CorruptInfoRom => "GPU infoROM is corrupted",
            InsufficientPower => "GPU external power cables are not properly attached",
            IrqIssue => "the kernel detected an interrupt issue with a GPU",
            Timeout => "nvidia-smi hung (timed out): driver likely wedged",
            DriverNotLoaded => "NVIDIA driver not loaded",
            LibraryNotFound => {
                "NVML library (libnvidia-ml) not found: install the driver's utilities"
            }
            VersionMismatch => "NVIDIA driver/library version mismatch",
            NoPermission => "the probe's user may not query the GPUs: fix the device permissions",
            BlockedByOs => "the OS (cgroups) blocks the GPU control device",
            InvalidArgument => "our nvidia-smi query is invalid for this driver",
            NotSupported => "our nvidia-smi query is not supported on this GPU",
            FunctionNotFound => {
                "this driver's NVML lacks a function our query needs: update the driver"
            }
            Garbage => "GPU probe output was unreadable",
            Other => "nvidia-smi failed (other or internal driver error); asking again next probe",
        }
    }
}
