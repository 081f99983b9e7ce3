"""cnn_core: a small, Go-agnostic CNN library.

Models (LeNet ... DenseNet, a switchable ``simple_cnn``, the AlphaGo policy
net) built by name through a registry, a Keras-style ``summary``, and NumPy
reference implementations of convolution/pooling used as test oracles.
"""
from cnn_core.layers import PositionBias
from cnn_core.policy import policy_probabilities
from cnn_core.reference import avgpool2d_ref, conv2d_ref, conv_output_size, maxpool2d_ref
from cnn_core.registry import build_model, default_input_shape, get_builder, list_models, register
from cnn_core.summary import ModelSummary, summary

__all__ = [
    "PositionBias", "policy_probabilities",
    "conv_output_size", "conv2d_ref", "maxpool2d_ref", "avgpool2d_ref",
    "build_model", "list_models", "register", "get_builder", "default_input_shape",
    "summary", "ModelSummary",
]
