"""``gradwire.nn``: PyTorch's ``torch.nn`` over tensors that live on a gradwire server.

    import gradwire as gw
    from gradwire import nn
    import gradwire.nn.functional as F

    s = gw.connect()
    model = nn.Sequential(nn.Linear(64, 32, session=s), nn.ReLU(), nn.Linear(32, 10, session=s))
    loss = F.cross_entropy(model(x), targets)

Layers with weights take ``session=``; without it they use the only open
session (and raise when none or several are open). Their weights are drawn on
the server from the session's seeded generator (``session.manual_seed``).
"""

from . import functional, init, utils
from .layers import (
    AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, CosineSimilarity, Dropout,
    Dropout2d, ELU, Embedding, Flatten, GELU, GroupNorm, Hardtanh, Identity, LayerNorm, LeakyReLU, Linear, LogSoftmax,
    MaxPool1d, MaxPool2d, ModuleDict, ModuleList, PairwiseDistance, ParameterDict, ParameterList, ReLU, ReLU6,
    Sequential, SiLU, Sigmoid, Softmax, Softplus, Tanh, Unflatten, Upsample, Mish, Hardswish, Hardsigmoid, LogSigmoid, Softsign,
    Tanhshrink, GLU, Threshold, Softmax2d, PReLU, InstanceNorm1d, InstanceNorm2d, ConvTranspose1d, ConvTranspose2d,
    AdaptiveMaxPool1d, AdaptiveMaxPool2d, AdaptiveAvgPool1d, AlphaDropout, EmbeddingBag, Fold, Unfold, Softmin, SELU, CELU, Hardshrink, Softshrink, ZeroPad1d, ZeroPad2d, ConstantPad1d, ConstantPad2d, ReflectionPad1d, ReflectionPad2d, ReplicationPad1d, ReplicationPad2d, CircularPad1d, CircularPad2d, PixelShuffle, PixelUnshuffle, Bilinear,
    Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d, AdaptiveAvgPool3d, BatchNorm3d, InstanceNorm3d,
    RMSNorm, Dropout1d, Dropout3d, FeatureAlphaDropout, LPPool1d, LPPool2d, LPPool3d, MaxUnpool1d, MaxUnpool2d, MaxUnpool3d, AdaptiveMaxPool3d,
    LocalResponseNorm, RReLU, ChannelShuffle, UpsamplingNearest2d, UpsamplingBilinear2d, ZeroPad3d, ConstantPad3d, ReflectionPad3d,
    ReplicationPad3d, CircularPad3d, FractionalMaxPool2d, FractionalMaxPool3d, SyncBatchNorm,
)
from .attention import MultiheadAttention, Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer
from .rnn import CELL_FUNCTIONS, GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

functional.TORCH_FUNCTIONS.update(CELL_FUNCTIONS)  # torch.lstm_cell, ...: torch-level functions, defined beside the cells
from .loss import (
    BCELoss, BCEWithLogitsLoss, CTCLoss, CosineEmbeddingLoss, CrossEntropyLoss, GaussianNLLLoss, HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss,
    MarginRankingLoss, MSELoss, MultiLabelSoftMarginLoss, MultiMarginLoss, NLLLoss, NLLLoss2d, PoissonNLLLoss, SmoothL1Loss, SoftMarginLoss, TripletMarginLoss,
    MultiLabelMarginLoss, TripletMarginWithDistanceLoss, LinearCrossEntropyLoss, LinearCrossEntropyOptions,
)
from .adaptive import AdaptiveLogSoftmaxWithLoss
from .module import Module, resolve_session
from . import parallel
from .parallel import DataParallel
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter
from .lazy import (
    LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyConv1d, LazyConv2d, LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d,
    LazyConvTranspose3d, LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d, LazyLinear,
)

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "CTCLoss", "BatchNorm2d",
    "Conv1d", "Conv2d", "CosineSimilarity", "CrossEntropyLoss", "Dropout", "Dropout2d", "ELU", "Embedding", "Flatten",
    "GELU", "GRU", "GRUCell", "GroupNorm", "Hardtanh", "HuberLoss", "Identity", "KLDivLoss", "L1Loss", "LSTM",
    "LSTMCell", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool1d", "MaxPool2d", "Module",
    "ModuleDict", "ModuleList", "MultiheadAttention", "NLLLoss", "PairwiseDistance", "Parameter", "ParameterDict",
    "AdaptiveLogSoftmaxWithLoss", "DataParallel", "NLLLoss2d", "SyncBatchNorm", "parallel", "ParameterList", "RNN", "RNNBase", "RNNCell", "RNNCellBase", "ReLU", "ReLU6", "Sequential", "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax",
    "Softplus", "Tanh", "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer", "Unflatten", "Upsample", "functional", "init",
    "resolve_session", "utils", "Mish", "Hardswish", "Hardsigmoid", "LogSigmoid", "Softsign", "Tanhshrink", "GLU", "Threshold",
    "Softmax2d", "PReLU", "InstanceNorm1d", "InstanceNorm2d", "ConvTranspose1d", "ConvTranspose2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "CosineEmbeddingLoss", "Softmin", "SELU", "CELU", "Hardshrink", "Softshrink", "ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d", "PixelShuffle", "PixelUnshuffle", "Bilinear", "GaussianNLLLoss", "HingeEmbeddingLoss", "MarginRankingLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss", "PoissonNLLLoss",
    "SoftMarginLoss", "TripletMarginLoss", "AdaptiveAvgPool1d", "AlphaDropout", "EmbeddingBag", "Fold", "Unfold",
    "Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "BatchNorm3d", "InstanceNorm3d",
    "RMSNorm", "Dropout1d", "Dropout3d", "FeatureAlphaDropout", "LPPool1d", "LPPool2d", "LPPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
    "AdaptiveMaxPool3d", "LocalResponseNorm", "RReLU", "ChannelShuffle", "UpsamplingNearest2d", "UpsamplingBilinear2d", "ZeroPad3d",
    "ConstantPad3d", "ReflectionPad3d", "ReplicationPad3d", "CircularPad3d", "FractionalMaxPool2d", "FractionalMaxPool3d", "LinearCrossEntropyLoss", "LinearCrossEntropyOptions", "MultiLabelMarginLoss", "TripletMarginWithDistanceLoss", "Buffer",
    "UninitializedBuffer", "UninitializedParameter", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d",
    "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
    "LazyInstanceNorm3d", "LazyLinear", "modules",
]

from . import modules  # noqa: E402 - torch.nn.modules (modules.module.register_module_forward_hook, ...), after __all__
