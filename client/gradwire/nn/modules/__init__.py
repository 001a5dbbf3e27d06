"""``gradwire.nn.modules``, as ``torch.nn.modules``: the layer classes, and the files PyTorch names under it that
gradwire has under ``gradwire.nn`` (``modules.module`` is ``gradwire.nn.module``, with the global hooks
``register_module_forward_hook`` and the rest; ``modules.rnn``, ``modules.loss``, ``modules.lazy``).
"""

import sys

from .. import __all__ as _names, lazy, loss, module, rnn

__all__ = [n for n in _names if n[:1].isupper()]  # the classes, as torch.nn.modules exports them
globals().update({n: getattr(sys.modules[__package__.rpartition(".")[0]], n) for n in __all__})

for _name, _file in (("module", module), ("rnn", rnn), ("loss", loss), ("lazy", lazy)):
    sys.modules[f"{__name__}.{_name}"] = _file  # (import gradwire.nn.modules.module works as torch's)
