"""What runs a sync: git hooks, the background post-commit, the file watcher, live events."""
