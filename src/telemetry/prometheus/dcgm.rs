//! A DCGM exporter's page read as GPU samples and GPU identities, for GPUs the
//! load generator cannot see through NVML.

use std::collections::BTreeMap;

use crate::telemetry::fingerprint::GpuInfo;
use crate::telemetry::record::{GpuSample, PromSample, Scrape};

/// DCGM exporter fields read as GPU samples (the exporter's default set).
const DCGM_POWER_W: &str = "DCGM_FI_DEV_POWER_USAGE";
const DCGM_ENERGY_MJ: &str = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION";
const DCGM_UTIL_PCT: &str = "DCGM_FI_DEV_GPU_UTIL";
const DCGM_FB_USED_MIB: &str = "DCGM_FI_DEV_FB_USED";
const DCGM_FB_FREE_MIB: &str = "DCGM_FI_DEV_FB_FREE";
const DCGM_SM_CLOCK_MHZ: &str = "DCGM_FI_DEV_SM_CLOCK";
const DCGM_TEMP_C: &str = "DCGM_FI_DEV_GPU_TEMP";

/// The GPU readings in one DCGM exporter scrape, one sample per `gpu` label.
pub fn dcgm_gpu_samples(scrape: &Scrape) -> Vec<GpuSample> {
    let mut by_gpu: BTreeMap<u32, GpuSample> = BTreeMap::new();
    for p in &scrape.samples {
        let Some(gpu) = p.labels.get("gpu").and_then(|g| g.parse::<u32>().ok()) else {
            continue;
        };
        let s = by_gpu.entry(gpu).or_insert_with(|| GpuSample {
            scenario: scrape.scenario.clone(),
            trial: scrape.trial,
            t_ms: scrape.t_ms,
            gpu,
            power_w: None,
            energy_mj: None,
            gpu_util_pct: None,
            memory_used_mib: None,
            sm_clock_mhz: None,
            temperature_c: None,
        });
        let v = Some(p.value);
        match p.name.as_str() {
            DCGM_POWER_W => s.power_w = v,
            DCGM_ENERGY_MJ => s.energy_mj = v,
            DCGM_UTIL_PCT => s.gpu_util_pct = v,
            DCGM_FB_USED_MIB => s.memory_used_mib = v,
            DCGM_SM_CLOCK_MHZ => s.sm_clock_mhz = v,
            DCGM_TEMP_C => s.temperature_c = v,
            _ => {}
        }
    }
    by_gpu.into_values().collect()
}

/// GPUs a DCGM exporter describes, from the labels every series carries (total
/// memory is frame-buffer used + free).
pub fn dcgm_gpus(samples: &[PromSample]) -> Vec<GpuInfo> {
    let mut gpus: BTreeMap<u32, (GpuInfo, f64, u8)> = BTreeMap::new();
    for p in samples {
        let Some(gpu) = p.labels.get("gpu").and_then(|g| g.parse::<u32>().ok()) else {
            continue;
        };
        let entry = gpus.entry(gpu).or_insert_with(|| {
            let info = GpuInfo {
                index: gpu,
                name: p.labels.get("modelName").cloned().unwrap_or_default(),
                uuid: p.labels.get("UUID").cloned(),
                memory_total_mib: None,
            };
            (info, 0.0, 0)
        });
        if p.name == DCGM_FB_USED_MIB || p.name == DCGM_FB_FREE_MIB {
            entry.1 += p.value;
            entry.2 += 1;
        }
    }
    gpus.into_values()
        .map(|(mut info, memory, parts)| {
            info.memory_total_mib = (parts == 2).then_some(memory.round() as u64);
            info
        })
        .collect()
}
