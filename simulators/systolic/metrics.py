"""Names of the per-layer outputs of the analytical and fold-level models."""

__all__ = ["METRICS"]

#: Per-layer outputs of :func:`~archgym.simulators.systolic.analytical.analyze` (all totals over the layer's groups).
METRICS = (
    "compute_cycles",
    "stall_cycles",
    "cycles",
    "fill_cycles",
    "drain_cycles",
    "total_cycles",
    "folds",
    "mapping_efficiency",
    "compute_utilisation",
    "utilisation",
    "macs",
    "ifmap_sram_reads",
    "filter_sram_reads",
    "ofmap_sram_writes",
    "ofmap_sram_reads",
    "ifmap_dram_reads",
    "filter_dram_reads",
    "ofmap_dram_writes",
    "ofmap_dram_reads",
    "dram_words",
)
