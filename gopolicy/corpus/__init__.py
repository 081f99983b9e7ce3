"""Game records to training data: SGF reading and writing, bit-packing of the planes, the
shard format, the shard reader and loader, `prepare` and `replay-check`."""
