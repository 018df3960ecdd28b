//! GPU readings through NVML, the library behind `nvidia-smi`.
//!
//! `nvml-wrapper` loads `libnvidia-ml.so.1` when [`open`] is called, not at link
//! time, so llm-bench builds and runs on machines without a GPU or a driver; there
//! `open` returns the reason and the run goes on without GPU figures. Every reading
//! is optional: a GPU that does not support one (the energy counter needs Volta or
//! newer) leaves it out, and the others are still taken. NVML calls block, so they
//! are only made from the sampler's own thread (see [`super::TelemetrySampler`]).

use std::path::Path;
use std::sync::Arc;

use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::Nvml;

use super::fingerprint::GpuInfo;
use super::GpuSelection;

/// The GPUs being measured.
#[derive(Clone)]
pub struct Gpus {
    nvml: Arc<Nvml>,
    /// NVML indices, in the order given.
    pub indices: Vec<u32>,
}

impl std::fmt::Debug for Gpus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpus")
            .field("indices", &self.indices)
            .finish()
    }
}

/// One reading of one GPU.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reading {
    pub power_w: Option<f64>,
    pub energy_mj: Option<f64>,
    pub gpu_util_pct: Option<f64>,
    pub memory_used_mib: Option<f64>,
    pub sm_clock_mhz: Option<f64>,
    pub temperature_c: Option<f64>,
}

const MIB: f64 = 1024.0 * 1024.0;

/// Loads NVML (from `library` when given, else `libnvidia-ml.so.1` on the loader
/// path) and resolves `selection` to device indices. The error is one line saying
/// why no GPU can be measured.
pub fn open(selection: &GpuSelection, library: Option<&Path>) -> Result<Gpus, String> {
    let nvml = match library {
        Some(path) => Nvml::builder().lib_path(path.as_os_str()).init(),
        None => Nvml::init(),
    }
    .map_err(|e| format!("NVML: {e}"))?;
    let count = nvml
        .device_count()
        .map_err(|e| format!("NVML: cannot count devices: {e}"))?;
    let indices = match selection {
        GpuSelection::All => (0..count).collect(),
        GpuSelection::List(ids) => {
            let mut indices = Vec::new();
            for id in ids {
                indices.push(resolve(&nvml, count, id)?);
            }
            indices
        }
    };
    if indices.is_empty() {
        return Err("NVML: no devices".into());
    }
    Ok(Gpus {
        nvml: Arc::new(nvml),
        indices,
    })
}

/// An index (`0`) or a UUID or unique UUID prefix (`GPU-8f3a…`), as
/// CUDA_VISIBLE_DEVICES accepts them.
fn resolve(nvml: &Nvml, count: u32, id: &str) -> Result<u32, String> {
    if let Ok(i) = id.parse::<u32>() {
        return if i < count {
            Ok(i)
        } else {
            Err(format!(
                "GPU {i} does not exist: NVML sees {count} (0–{})",
                count.saturating_sub(1)
            ))
        };
    }
    let matches: Vec<u32> = (0..count)
        .filter(|&i| {
            nvml.device_by_index(i)
                .and_then(|d| d.uuid())
                .is_ok_and(|uuid| uuid.starts_with(id))
        })
        .collect();
    match matches.as_slice() {
        [i] => Ok(*i),
        [] => Err(format!("no GPU has UUID `{id}`")),
        _ => Err(format!("GPU UUID prefix `{id}` is ambiguous")),
    }
}

impl Gpus {
    /// Reads every selected GPU; blocking (about a millisecond per GPU).
    pub fn read(&self) -> Vec<(u32, Reading)> {
        self.indices
            .iter()
            .map(|&i| {
                let reading = match self.nvml.device_by_index(i) {
                    Ok(d) => Reading {
                        power_w: d.power_usage().ok().map(|mw| f64::from(mw) / 1000.0),
                        energy_mj: d.total_energy_consumption().ok().map(|mj| mj as f64),
                        gpu_util_pct: d.utilization_rates().ok().map(|u| f64::from(u.gpu)),
                        memory_used_mib: d.memory_info().ok().map(|m| m.used as f64 / MIB),
                        sm_clock_mhz: d.clock_info(Clock::SM).ok().map(f64::from),
                        temperature_c: d.temperature(TemperatureSensor::Gpu).ok().map(f64::from),
                    },
                    Err(_) => Reading::default(),
                };
                (i, reading)
            })
            .collect()
    }

    /// Names, UUIDs and memory of the selected GPUs; driver and CUDA versions.
    pub fn describe(&self) -> (Vec<GpuInfo>, Option<String>, Option<String>) {
        let gpus = self
            .indices
            .iter()
            .filter_map(|&i| {
                let d = self.nvml.device_by_index(i).ok()?;
                Some(GpuInfo {
                    index: i,
                    name: d.name().unwrap_or_else(|_| "unknown NVIDIA GPU".into()),
                    uuid: d.uuid().ok(),
                    memory_total_mib: d
                        .memory_info()
                        .ok()
                        .map(|m| (m.total as f64 / MIB).round() as u64),
                })
            })
            .collect();
        let driver = self.nvml.sys_driver_version().ok();
        let cuda = self.nvml.sys_cuda_driver_version().ok().map(|v| {
            format!(
                "{}.{}",
                nvml_wrapper::cuda_driver_version_major(v),
                nvml_wrapper::cuda_driver_version_minor(v)
            )
        });
        (gpus, driver, cuda)
    }
}
