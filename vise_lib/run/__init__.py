"""Running the study: presets, the papermill pipeline, generated book pages and the ``vise`` CLI."""
