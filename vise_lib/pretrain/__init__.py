"""Pretraining: the typed config, the objectives registry, the training loop, its checkpoints and
resume policy, its data sources (arrays, streamed shards), the variants (which supervision each
backbone gets), DDP helpers and the ``vise train`` command."""
