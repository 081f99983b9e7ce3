"""Reading prepared shards: the public names in one import.

The reader is split by job:

* :mod:`gopolicy.corpus.shard_format`: the format (constants, meta dtype, the
  manifest reader, sha256), shared with the writer ``gopolicy prepare``;
* :mod:`gopolicy.corpus.shard_set`: which shards to trust, memory-mapped rows;
* :mod:`gopolicy.corpus.epoch_order`: deterministic, resumable epoch orders;
* :mod:`gopolicy.corpus.shard_loader`: the training loader (optionally in
  worker processes) and the evaluation batches;
* :mod:`gopolicy.corpus.batches`: host batch -> device tensors, symmetries;
* :mod:`gopolicy.corpus.synthetic`: small shards for tests and benchmarks.
"""
from gopolicy.corpus.batches import Batch, group_by_symmetry, model_input, to_device
from gopolicy.corpus.epoch_order import BlockOrder, FeistelPermutation, mix_key, slot_symmetries
from gopolicy.corpus.shard_format import META_DTYPE, ShardError, read_manifest
from gopolicy.corpus.shard_loader import ShardLoader, eval_indices, iter_eval_batches
from gopolicy.corpus.shard_set import ShardSet
from gopolicy.corpus.synthetic import write_synthetic_shards

__all__ = ["Batch", "BlockOrder", "FeistelPermutation", "META_DTYPE", "ShardError", "ShardLoader", "ShardSet",
           "eval_indices", "group_by_symmetry", "iter_eval_batches", "mix_key", "model_input",
           "read_manifest", "slot_symmetries", "to_device", "write_synthetic_shards"]
