"""Nightly reporting over run folders: result identity (runs.py), baseline and
history classification (compare.py), known issues (known.py), KCIDB JSON
(kcidb.py), summary.html (html.py) and summary.txt (text.py), sharding
(shard.py) and merging shard runs (merge.py); write.py writes a run's report,
nightly.py wires ``run --shard/--baseline/--known/--fail-on``."""
