"""φ(e) and pseudo labels: comment text, the block encoders (a registry), signals, k-means
backends, the pseudo-label stage, its diagnostics, and the out-of-core path for large manifests."""
