"""Game records to training data: SGF reading and writing (sgf), bit-packing of the planes
(packing), the shard format (shard_format), `prepare` and `replay-check`; the shard reader by
job (shard_set, epoch_order, shard_loader, batches, synthetic; shards re-exports them), and the
SGF stream that feeds training without shards (stream, on the worker processes of feed_workers)."""
