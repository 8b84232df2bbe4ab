"""Export: a version's splits as Parquet, WebDataset shards and LMDB, with a dataset card."""
