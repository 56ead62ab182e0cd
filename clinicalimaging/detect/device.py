"""Which device runs the network: the backend's GPU when it has one (with mixed precision), else the CPU."""

import os

from .backend import import_keras


def backend_name():
    """The Keras backend in use: ``tensorflow``, ``torch`` or ``jax``."""
    keras = import_keras()

    return keras.backend.backend()


def gpu_names():
    """Names of the GPUs the current Keras backend can use (empty on the CPU)."""
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        return [device.name for device in tf.config.list_physical_devices("GPU")]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]
    if backend == "jax":
        import jax

        return [str(device) for device in jax.devices() if device.platform == "gpu"]
    return []


def configure_device(*, mixed_precision=True):
    """Set up the backend and say which device runs the network.

    On a GPU the global dtype policy becomes ``mixed_float16`` (float16 compute, float32
    weights; the model's output stays float32). On the CPU, TensorFlow uses every core
    the process may run on.

    Returns
    -------
    str
        E.g. ``"GPU (NVIDIA H200) with tensorflow, mixed precision"`` or
        ``"CPU (2 threads) with tensorflow"``.
    """
    keras = import_keras()

    backend = backend_name()
    gpus = gpu_names()
    if gpus:
        if mixed_precision:
            keras.config.set_dtype_policy("mixed_float16")
        return f"GPU ({', '.join(gpus)}) with {backend}" + (", mixed precision" if mixed_precision else "")
    keras.config.set_dtype_policy("float32")
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU ({threads} threads) with {backend}"
