"""GPU Trainer's training engine: NumPy/CuPy MLPs with a Keras-style API.

Qt-free. Importing it loads NumPy only; pandas, pyarrow and safetensors are imported by the
modules that need them (``engine.data``, ``engine.model_file``), CuPy only when a GPU is used.
"""

from engine.backend import Backend, DeviceUnavailableError, get_backend, probe_gpu
from engine.errors import DataError, ModelFileError, UserError

__version__ = "0.1.0"

__all__ = [
    "Backend",
    "DataError",
    "DeviceUnavailableError",
    "ModelFileError",
    "UserError",
    "__version__",
    "get_backend",
    "probe_gpu",
]
