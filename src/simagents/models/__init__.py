"""The simulator: network, checkpoints, imitation training."""

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .network import NetworkConfig, Simulator, masked_log_probs
from .train import TrainConfig, load_simulator, load_simulator_and_vocabulary, pick_device, train_simulator

__all__ = ["CheckpointError", "NetworkConfig", "Simulator", "TrainConfig", "load_checkpoint", "load_simulator", "load_simulator_and_vocabulary",
           "masked_log_probs", "pick_device", "save_checkpoint", "train_simulator"]
