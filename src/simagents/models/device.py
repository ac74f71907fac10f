"""Where the networks run, and in what precision: one helper for every use of a network.

Every stage that trains or queries a network (simulator training, RL fine-tuning, the
AlphaZero-style agent's self-play and fitting, piKL, the metric battery, the Elo ladder, the UCI
engine) asks :func:`resolve_compute` for a :class:`Compute`, from the config keys
``simulator.device`` and ``simulator.precision``; it moves its modules to ``compute.device`` and
runs every forward pass (and loss) inside ``compute.autocast()``. Backward passes and optimizer
steps run outside it, as torch's autocast documentation prescribes.

Devices: ``auto`` is CUDA when torch sees a CUDA device, else Apple's MPS, else the CPU; ``cpu``,
``cuda``, ``cuda:N`` and ``mps`` ask for one. A device that is asked for by name and is not there
is a :class:`DeviceError` that says why and what to do, never a silent fall back to the CPU (a
run meant for a GPU would otherwise take weeks without a word).

Precision: ``auto`` is bfloat16 autocast on CUDA where the GPU supports bf16 (Ampere and later),
float32 everywhere else. Under autocast the matrix products and convolutions run in bf16 on
tensor cores, while the weights, the optimizer's states, softmaxes, reductions and losses stay
float32 (torch's autocast op lists). bf16 keeps float32's exponent range, so unlike float16 it
needs no loss scaling. ``fp32`` turns autocast off; ``bf16`` asks for it (also on the CPU, where
it is slow and only useful to see what bf16 rounding does to a result).

On the CPU with ``fp32`` (what ``auto`` gives there) :meth:`Compute.autocast` is a null context:
the CPU computes exactly what plain float32 code computes, bit for bit, as before this helper
existed.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Literal

import torch

Precision = Literal["auto", "fp32", "bf16"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")
# What ``simulator.device`` accepts (the schema holds the same pattern).
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:[0-9]+)?)$")
_INSTALL_CUDA = (
    "install a CUDA build of torch (the pinned version, from the index that "
    "https://pytorch.org/get-started/locally/ gives for your CUDA driver) into .venv"
)


class DeviceError(ValueError):
    """A device or precision that was asked for and cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Compute:
    """A device and the autocast dtype of forward passes there (``None``: plain float32)."""

    device: torch.device
    autocast_dtype: torch.dtype | None = None

    @property
    def precision(self) -> str:
        """``bf16`` or ``fp32``: what the forward passes compute in (for logs and summaries)."""
        if self.autocast_dtype is None:
            return "fp32"
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.autocast_dtype, str(self.autocast_dtype))

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        """The context for forward passes and losses: autocast to ``autocast_dtype`` on this
        device, or nothing at all (a null context, not a disabled autocast) for float32."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def describe(self) -> str:
        """E.g. ``cuda:0 (NVIDIA H100 80GB HBM3), bf16 autocast`` or ``cpu, fp32``."""
        name = str(self.device)
        if self.device.type == "cuda":
            index = self.device.index if self.device.index is not None else torch.cuda.current_device()
            name = f"cuda:{index} ({torch.cuda.get_device_name(index)})"
        return f"{name}, {'fp32' if self.autocast_dtype is None else self.precision + ' autocast'}"

    def to_dict(self) -> dict[str, str]:
        """The device and precision as plain strings (summaries record where a run ran)."""
        return {"device": str(self.device), "precision": self.precision}


CPU = Compute(torch.device("cpu"))


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return backend is not None and backend.is_available()


def _no_cuda_reason() -> str:
    """Why torch sees no CUDA device, as precisely as torch can tell."""
    if torch.version.cuda is None:
        return f"this torch ({torch.__version__}) is a CPU-only build"
    return (
        f"this torch ({torch.__version__}, built for CUDA {torch.version.cuda}) finds no CUDA device "
        "(no GPU, no driver, or CUDA_VISIBLE_DEVICES hides it; `nvidia-smi` tells which)"
    )


def resolve_device(requested: str = "auto", key: str = "simulator.device") -> torch.device:
    """The torch device for a ``simulator.device`` value (``key`` names it in errors).

    ``auto``: CUDA if present, then MPS, else the CPU. A named device that is absent is a
    :class:`DeviceError` saying why and what to change.
    """
    if not DEVICE_PATTERN.match(requested):
        raise DeviceError(f"{key} must be auto, cpu, cuda, cuda:N or mps, got {requested!r}")
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"{key} is {requested!r} but {_no_cuda_reason()}. Set {key}: auto (the CPU "
                f"when there is no GPU) or cpu, or {_INSTALL_CUDA}"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise DeviceError(
                f"{key} is {requested!r} but torch sees {count} CUDA device(s), "
                f"cuda:0 to cuda:{count - 1}; pick one of those or use cuda"
            )
    if device.type == "mps" and not _mps_available():
        raise DeviceError(
            f"{key} is 'mps' but this machine has no usable Apple MPS device "
            f"(torch {torch.__version__}); set {key}: auto or cpu"
        )
    return device


def resolve_precision(precision: str, device: torch.device, key: str = "simulator.precision") -> torch.dtype | None:
    """The autocast dtype of ``precision`` on ``device`` (``None``: float32, no autocast)."""
    if precision not in PRECISIONS:
        raise DeviceError(f"{key} must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp32":
        return None
    cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    if precision == "auto":
        # Mixed precision only where it pays: bf16 tensor cores. On the CPU it is slower than
        # float32, and the CPU results stay those of plain float32 code.
        return torch.bfloat16 if cuda_bf16 else None
    if device.type == "cuda" and not cuda_bf16:
        raise DeviceError(
            f"{key} is 'bf16' but {torch.cuda.get_device_name(device)} has no bfloat16 "
            f"support (it needs compute capability 8.0, Ampere, or later); set {key}: auto or fp32"
        )
    if device.type not in ("cuda", "cpu"):
        raise DeviceError(f"{key} is 'bf16', which runs on cuda or cpu, not {device.type}; set {key}: auto or fp32")
    return torch.bfloat16


def resolve_compute(device: str = "auto", precision: str = "auto") -> Compute:
    """The :class:`Compute` of a ``simulator.device`` and ``simulator.precision`` pair."""
    resolved = resolve_device(device)
    return Compute(resolved, resolve_precision(precision, resolved))


def as_compute(value: Compute | torch.device | str | None) -> Compute:
    """A :class:`Compute` from one, from a device (float32 there), or ``None`` (the CPU, float32).

    For callers that hold a device already (tests, benchmarks); stages resolve the config with
    :func:`resolve_compute` instead.
    """
    if value is None:
        return CPU
    if isinstance(value, Compute):
        return value
    return Compute(torch.device(value))
