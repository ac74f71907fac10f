"""The simulator: network, checkpoints, imitation training, and where networks run (device, precision)."""

from .checkpoint import CheckpointError, checkpoint_prompts, load_checkpoint, save_checkpoint
from .device import CPU, Compute, DeviceError, resolve_compute, resolve_device
from .network import NetworkConfig, Simulator, masked_log_probs
from .train import TrainConfig, load_simulator, load_simulator_and_vocabulary, simulator_configs, train_simulator

__all__ = [
    "CPU",
    "CheckpointError",
    "Compute",
    "DeviceError",
    "NetworkConfig",
    "Simulator",
    "TrainConfig",
    "checkpoint_prompts",
    "load_checkpoint",
    "load_simulator",
    "load_simulator_and_vocabulary",
    "masked_log_probs",
    "resolve_compute",
    "resolve_device",
    "save_checkpoint",
    "simulator_configs",
    "train_simulator",
]
