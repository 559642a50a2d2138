"""The embedded synthetic social world: latents, rendering, comments and its diagnostics."""
