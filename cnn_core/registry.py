"""Name -> builder registry, so scripts and the CLI can build models by name."""
from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

from torch import nn

__all__ = ["register", "build_model", "list_models", "get_builder", "default_input_shape"]

Builder = Callable[..., nn.Module]
_BUILDERS: dict[str, Builder] = {}


def register(name: str | None = None) -> Callable[[Builder], Builder]:
    """Decorator registering a builder function under ``name`` (default: its own name)."""
    def deco(fn: Builder) -> Builder:
        key = name or fn.__name__
        if key in _BUILDERS and _BUILDERS[key] is not fn:
            raise ValueError(f"model {key!r} is already registered")
        _BUILDERS[key] = fn
        return fn
    return deco


def _load_builtin() -> None:
    # Imported lazily: the model modules import this one to register themselves.
    importlib.import_module("cnn_core.models")


def list_models() -> list[str]:
    """Sorted names of all registered models."""
    _load_builtin()
    return sorted(_BUILDERS)


def get_builder(name: str) -> Builder:
    """The builder registered as ``name``; ``ValueError`` listing the known names if none."""
    _load_builtin()
    try:
        return _BUILDERS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(_BUILDERS))}") from None


def build_model(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name`` with the builder's keyword arguments."""
    return get_builder(name)(**kwargs)


def default_input_shape(name: str, **kwargs) -> tuple[int, int, int]:
    """(C, H, W) a model built with ``kwargs`` expects, read from its builder's
    channel/size arguments (``in_channels``/``planes``, ``input_size``/``board_size``);
    28 is assumed for models that take any size (global-average heads)."""
    params = inspect.signature(get_builder(name)).parameters

    def arg(*names: str, fallback: int) -> int:
        for n in names:
            if n in kwargs:
                return int(kwargs[n])
            if n in params and params[n].default is not inspect.Parameter.empty:
                return int(params[n].default)
        return fallback

    size = arg("input_size", "board_size", fallback=28)
    return arg("in_channels", "planes", fallback=1), size, size
