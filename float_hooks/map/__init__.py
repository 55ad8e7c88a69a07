"""The sync: a snapshot's changes applied to the store (files, Merkle folder hashes, renames), and
the build."""
