"""``gradwire.optim``: PyTorch's optimizers and learning-rate schedulers, stepped on the server.

    opt = gw.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss.backward(); opt.step(); opt.zero_grad()

``step()`` is one command whatever the model's size: the parameters and the optimizer's
state stay on the server. ``LBFGS`` is stepped by the SDK with ops on server tensors: only
scalars cross the network.
"""

from . import lr_scheduler, swa_utils
from .adafactor import Adafactor
from .adam import Adam, Adamax, AdamW, NAdam, RAdam
from .lbfgs import LBFGS
from .muon import Muon
from .optimizer import Optimizer
from .rmsprop import Adadelta, Adagrad, RMSprop
from .rprop import Rprop
from .sgd import ASGD, SGD

__all__ = [
    "ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "Adamax", "AdamW", "LBFGS", "Muon", "NAdam", "Optimizer", "RAdam", "RMSprop", "Rprop", "SGD",
    "lr_scheduler", "swa_utils",
]
