"""The network: layers, activations, losses, metrics, optimizers, callbacks, the Keras-style
``Sequential`` and the step-by-step ``Trainer``. Knows arrays (NumPy or CuPy, through
:mod:`engine.backend`), never CSV files, pandas or Qt."""
