"""The study around the method: ablations, claims and verdicts, tables and figures for the book."""
