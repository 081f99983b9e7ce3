"""Model definitions; importing this package registers every builder."""
from cnn_core.models.alexnet import AlexNet, alexnet
from cnn_core.models.alphago_policy import AlphaGoPolicy, PolicyNet, alphago_policy
from cnn_core.models.alphago_pooled import AlphaGoPooled, alphago_pooled
from cnn_core.models.cifar_net import cifar_net
from cnn_core.models.densenet import DenseBlock, DenseNet, densenet, transition_block
from cnn_core.models.googlenet import GoogLeNet, Inception, googlenet
from cnn_core.models.lenet import LeNet, lenet
from cnn_core.models.nin import NiN, nin, nin_block
from cnn_core.models.resnet import Residual, ResNet, resnet
from cnn_core.models.simple_cnn import SimpleCNN, simple_cnn
from cnn_core.models.vgg import VGG, vgg, vgg_block

__all__ = [
    "LeNet", "lenet", "cifar_net", "AlexNet", "alexnet", "VGG", "vgg", "vgg_block",
    "NiN", "nin", "nin_block", "GoogLeNet", "Inception", "googlenet", "ResNet", "Residual",
    "resnet", "DenseBlock", "DenseNet", "densenet", "transition_block", "SimpleCNN",
    "simple_cnn", "AlphaGoPolicy", "PolicyNet", "alphago_policy", "AlphaGoPooled", "alphago_pooled",
]
