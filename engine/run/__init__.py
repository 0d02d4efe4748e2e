"""A training run: the settings (the only defaults), preparing the data, the model factory,
the job that trains and saves, and the test-split evaluation. Joins ``nn`` and ``data``."""
