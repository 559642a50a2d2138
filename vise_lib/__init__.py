"""VisE companion: engagement signals -> pseudo labels -> pretraining -> transfer."""

__version__ = "0.1.0"
