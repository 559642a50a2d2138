"""Transfer: dataset readers, splits, the feature cache, linear probes, fine-tuning and the
downstream run."""
