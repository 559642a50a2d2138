"""Transfer: dataset readers (a registry), decoding and splits, the feature cache, linear probes,
fine-tuning, the world's downstream run, and the real-data study (backbone specs, ``evaluate``,
its report tables)."""
