"""Pretraining: the typed config, the objectives registry, the training loop, the variants
(which supervision each backbone gets), DDP helpers and the ``vise train`` command."""
