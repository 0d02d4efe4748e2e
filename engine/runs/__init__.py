"""Every run remembered: the run store (SQLite), where it lives, the checkpoints that let a
run go on, data fingerprints and manifests. Sits on ``run``, ``data``, ``io`` and ``nn``."""
