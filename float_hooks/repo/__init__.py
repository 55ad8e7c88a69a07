"""Git as float-hooks reads it: plumbing, the hash format, snapshots, work-tree hashing, the
scanned scope."""
