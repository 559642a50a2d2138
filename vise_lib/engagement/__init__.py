"""Engagement data: the post table, manifest formats and their reader, Pushshift dumps, the data
root, image decoding, ingestion and WebDataset shards."""
