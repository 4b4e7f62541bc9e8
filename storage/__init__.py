"""furpe_label.storage: what a run writes and how trainers read it.

- :mod:`.schema`: the one table of label arrays and audit columns (names, dtypes, shapes,
  units, meanings) that the store, the audit, the reader, exports and the report iterate.
- :mod:`.shards`: shard arithmetic (run shard = Zarr shard).
- :mod:`.label_store`: ``labels.zarr`` (Zarr v3), created up front, written whole shards only.
- :mod:`.audit`: per-shard Parquet audit files, hive-partitioned by dataset.
- :mod:`.run_dir`, :mod:`.run_info`, :mod:`.run_lock`, :mod:`.stats`: the output folder,
  ``run.json`` and the resume check, the driver lock, per-shard stats merged with ``+``.
- :mod:`.reader`, :mod:`.samplers`, :mod:`.read_store`: the torch ``Dataset`` for trainers,
  block-shuffle batches, a fast read-only zarr store.
"""
