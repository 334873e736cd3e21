"""The background daemon: sweep coordinator, task queue, workers, watcher, scheduler."""
