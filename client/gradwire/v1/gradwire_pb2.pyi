from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OpenSessionRequest(_message.Message):
    __slots__ = ("session_id", "seed")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    seed: int
    def __init__(self, session_id: _Optional[str] = ..., seed: _Optional[int] = ...) -> None: ...

class OpenSessionReply(_message.Message):
    __slots__ = ("token", "device", "limits")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    token: str
    device: str
    limits: Limits
    def __init__(self, token: _Optional[str] = ..., device: _Optional[str] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ...) -> None: ...

class CloseSessionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CloseSessionReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_session_bytes", "max_tensor_elements", "max_sessions", "max_batch_commands", "inline_bytes", "chunk_bytes", "idle_timeout_s", "max_message_bytes", "max_profile_events")
    MAX_SESSION_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_TENSOR_ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_COMMANDS_FIELD_NUMBER: _ClassVar[int]
    INLINE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_PROFILE_EVENTS_FIELD_NUMBER: _ClassVar[int]
    max_session_bytes: int
    max_tensor_elements: int
    max_sessions: int
    max_batch_commands: int
    inline_bytes: int
    chunk_bytes: int
    idle_timeout_s: float
    max_message_bytes: int
    max_profile_events: int
    def __init__(self, max_session_bytes: _Optional[int] = ..., max_tensor_elements: _Optional[int] = ..., max_sessions: _Optional[int] = ..., max_batch_commands: _Optional[int] = ..., inline_bytes: _Optional[int] = ..., chunk_bytes: _Optional[int] = ..., idle_timeout_s: _Optional[float] = ..., max_message_bytes: _Optional[int] = ..., max_profile_events: _Optional[int] = ...) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("version", "device", "limits", "ops", "non_differentiable", "dtypes", "features")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    OPS_FIELD_NUMBER: _ClassVar[int]
    NON_DIFFERENTIABLE_FIELD_NUMBER: _ClassVar[int]
    DTYPES_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    version: str
    device: str
    limits: Limits
    ops: _containers.RepeatedScalarFieldContainer[str]
    non_differentiable: _containers.RepeatedScalarFieldContainer[str]
    dtypes: _containers.RepeatedScalarFieldContainer[str]
    features: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, version: _Optional[str] = ..., device: _Optional[str] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., ops: _Optional[_Iterable[str]] = ..., non_differentiable: _Optional[_Iterable[str]] = ..., dtypes: _Optional[_Iterable[str]] = ..., features: _Optional[_Iterable[str]] = ...) -> None: ...

class TensorData(_message.Message):
    __slots__ = ("dtype", "shape", "data")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    data: bytes
    def __init__(self, dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., data: _Optional[bytes] = ...) -> None: ...

class TensorMeta(_message.Message):
    __slots__ = ("dtype", "shape", "requires_grad", "is_leaf", "grad_fn", "chunked")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_GRAD_FIELD_NUMBER: _ClassVar[int]
    IS_LEAF_FIELD_NUMBER: _ClassVar[int]
    GRAD_FN_FIELD_NUMBER: _ClassVar[int]
    CHUNKED_FIELD_NUMBER: _ClassVar[int]
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    requires_grad: bool
    is_leaf: bool
    grad_fn: str
    chunked: bool
    def __init__(self, dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., requires_grad: _Optional[bool] = ..., is_leaf: _Optional[bool] = ..., grad_fn: _Optional[str] = ..., chunked: _Optional[bool] = ...) -> None: ...

class Operand(_message.Message):
    __slots__ = ("handle", "f", "i", "b")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    F_FIELD_NUMBER: _ClassVar[int]
    I_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    handle: int
    f: float
    i: int
    b: bool
    def __init__(self, handle: _Optional[int] = ..., f: _Optional[float] = ..., i: _Optional[int] = ..., b: _Optional[bool] = ...) -> None: ...

class IntList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, values: _Optional[_Iterable[int]] = ...) -> None: ...

class Slice(_message.Message):
    __slots__ = ("start", "stop", "step")
    START_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    start: int
    stop: int
    step: int
    def __init__(self, start: _Optional[int] = ..., stop: _Optional[int] = ..., step: _Optional[int] = ...) -> None: ...

class IndexPart(_message.Message):
    __slots__ = ("i", "slice", "none", "ellipsis", "handle")
    I_FIELD_NUMBER: _ClassVar[int]
    SLICE_FIELD_NUMBER: _ClassVar[int]
    NONE_FIELD_NUMBER: _ClassVar[int]
    ELLIPSIS_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    i: int
    slice: Slice
    none: bool
    ellipsis: bool
    handle: int
    def __init__(self, i: _Optional[int] = ..., slice: _Optional[_Union[Slice, _Mapping]] = ..., none: _Optional[bool] = ..., ellipsis: _Optional[bool] = ..., handle: _Optional[int] = ...) -> None: ...

class IndexKey(_message.Message):
    __slots__ = ("parts",)
    PARTS_FIELD_NUMBER: _ClassVar[int]
    parts: _containers.RepeatedCompositeFieldContainer[IndexPart]
    def __init__(self, parts: _Optional[_Iterable[_Union[IndexPart, _Mapping]]] = ...) -> None: ...

class Param(_message.Message):
    __slots__ = ("i", "f", "b", "s", "ints", "none", "key")
    I_FIELD_NUMBER: _ClassVar[int]
    F_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    S_FIELD_NUMBER: _ClassVar[int]
    INTS_FIELD_NUMBER: _ClassVar[int]
    NONE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    i: int
    f: float
    b: bool
    s: str
    ints: IntList
    none: bool
    key: IndexKey
    def __init__(self, i: _Optional[int] = ..., f: _Optional[float] = ..., b: _Optional[bool] = ..., s: _Optional[str] = ..., ints: _Optional[_Union[IntList, _Mapping]] = ..., none: _Optional[bool] = ..., key: _Optional[_Union[IndexKey, _Mapping]] = ...) -> None: ...

class Put(_message.Message):
    __slots__ = ("handle", "tensor", "requires_grad")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_GRAD_FIELD_NUMBER: _ClassVar[int]
    handle: int
    tensor: TensorData
    requires_grad: bool
    def __init__(self, handle: _Optional[int] = ..., tensor: _Optional[_Union[TensorData, _Mapping]] = ..., requires_grad: _Optional[bool] = ...) -> None: ...

class Factory(_message.Message):
    __slots__ = ("name", "handle", "params", "requires_grad")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Param
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Param, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_GRAD_FIELD_NUMBER: _ClassVar[int]
    name: str
    handle: int
    params: _containers.MessageMap[str, Param]
    requires_grad: bool
    def __init__(self, name: _Optional[str] = ..., handle: _Optional[int] = ..., params: _Optional[_Mapping[str, Param]] = ..., requires_grad: _Optional[bool] = ...) -> None: ...

class Op(_message.Message):
    __slots__ = ("name", "inputs", "params", "outputs", "no_grad", "into", "trace", "tensor_inputs")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Param
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Param, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    NO_GRAD_FIELD_NUMBER: _ClassVar[int]
    INTO_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    TENSOR_INPUTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    inputs: _containers.RepeatedCompositeFieldContainer[Operand]
    params: _containers.MessageMap[str, Param]
    outputs: _containers.RepeatedScalarFieldContainer[int]
    no_grad: bool
    into: int
    trace: int
    tensor_inputs: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[Operand, _Mapping]]] = ..., params: _Optional[_Mapping[str, Param]] = ..., outputs: _Optional[_Iterable[int]] = ..., no_grad: _Optional[bool] = ..., into: _Optional[int] = ..., trace: _Optional[int] = ..., tensor_inputs: _Optional[_Iterable[int]] = ...) -> None: ...

class Backward(_message.Message):
    __slots__ = ("root", "gradient", "retain_graph", "hooked", "hook_grads", "create_graph", "report", "more_roots", "more_gradients", "inputs", "detect_anomaly")
    ROOT_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_FIELD_NUMBER: _ClassVar[int]
    RETAIN_GRAPH_FIELD_NUMBER: _ClassVar[int]
    HOOKED_FIELD_NUMBER: _ClassVar[int]
    HOOK_GRADS_FIELD_NUMBER: _ClassVar[int]
    CREATE_GRAPH_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    MORE_ROOTS_FIELD_NUMBER: _ClassVar[int]
    MORE_GRADIENTS_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    DETECT_ANOMALY_FIELD_NUMBER: _ClassVar[int]
    root: int
    gradient: int
    retain_graph: bool
    hooked: _containers.RepeatedScalarFieldContainer[int]
    hook_grads: _containers.RepeatedScalarFieldContainer[int]
    create_graph: bool
    report: _containers.RepeatedScalarFieldContainer[int]
    more_roots: _containers.RepeatedScalarFieldContainer[int]
    more_gradients: _containers.RepeatedScalarFieldContainer[int]
    inputs: _containers.RepeatedScalarFieldContainer[int]
    detect_anomaly: bool
    def __init__(self, root: _Optional[int] = ..., gradient: _Optional[int] = ..., retain_graph: _Optional[bool] = ..., hooked: _Optional[_Iterable[int]] = ..., hook_grads: _Optional[_Iterable[int]] = ..., create_graph: _Optional[bool] = ..., report: _Optional[_Iterable[int]] = ..., more_roots: _Optional[_Iterable[int]] = ..., more_gradients: _Optional[_Iterable[int]] = ..., inputs: _Optional[_Iterable[int]] = ..., detect_anomaly: _Optional[bool] = ...) -> None: ...

class Grad(_message.Message):
    __slots__ = ("outputs", "inputs", "grad_outputs", "retain_graph", "allow_unused", "results", "hooked", "hook_grads", "create_graph", "detect_anomaly")
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    GRAD_OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    RETAIN_GRAPH_FIELD_NUMBER: _ClassVar[int]
    ALLOW_UNUSED_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    HOOKED_FIELD_NUMBER: _ClassVar[int]
    HOOK_GRADS_FIELD_NUMBER: _ClassVar[int]
    CREATE_GRAPH_FIELD_NUMBER: _ClassVar[int]
    DETECT_ANOMALY_FIELD_NUMBER: _ClassVar[int]
    outputs: _containers.RepeatedScalarFieldContainer[int]
    inputs: _containers.RepeatedScalarFieldContainer[int]
    grad_outputs: _containers.RepeatedScalarFieldContainer[int]
    retain_graph: bool
    allow_unused: bool
    results: _containers.RepeatedScalarFieldContainer[int]
    hooked: _containers.RepeatedScalarFieldContainer[int]
    hook_grads: _containers.RepeatedScalarFieldContainer[int]
    create_graph: bool
    detect_anomaly: bool
    def __init__(self, outputs: _Optional[_Iterable[int]] = ..., inputs: _Optional[_Iterable[int]] = ..., grad_outputs: _Optional[_Iterable[int]] = ..., retain_graph: _Optional[bool] = ..., allow_unused: _Optional[bool] = ..., results: _Optional[_Iterable[int]] = ..., hooked: _Optional[_Iterable[int]] = ..., hook_grads: _Optional[_Iterable[int]] = ..., create_graph: _Optional[bool] = ..., detect_anomaly: _Optional[bool] = ...) -> None: ...

class Resume(_message.Message):
    __slots__ = ("gradient", "abort", "drop", "hooked", "hook_grads")
    GRADIENT_FIELD_NUMBER: _ClassVar[int]
    ABORT_FIELD_NUMBER: _ClassVar[int]
    DROP_FIELD_NUMBER: _ClassVar[int]
    HOOKED_FIELD_NUMBER: _ClassVar[int]
    HOOK_GRADS_FIELD_NUMBER: _ClassVar[int]
    gradient: int
    abort: bool
    drop: bool
    hooked: _containers.RepeatedScalarFieldContainer[int]
    hook_grads: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, gradient: _Optional[int] = ..., abort: _Optional[bool] = ..., drop: _Optional[bool] = ..., hooked: _Optional[_Iterable[int]] = ..., hook_grads: _Optional[_Iterable[int]] = ...) -> None: ...

class Release(_message.Message):
    __slots__ = ("handles",)
    HANDLES_FIELD_NUMBER: _ClassVar[int]
    handles: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, handles: _Optional[_Iterable[int]] = ...) -> None: ...

class Fetch(_message.Message):
    __slots__ = ("handle", "meta_only")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    META_ONLY_FIELD_NUMBER: _ClassVar[int]
    handle: int
    meta_only: bool
    def __init__(self, handle: _Optional[int] = ..., meta_only: _Optional[bool] = ...) -> None: ...

class Inplace(_message.Message):
    __slots__ = ("target", "op", "other", "no_grad", "key", "scale")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    NO_GRAD_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    target: int
    op: str
    other: Operand
    no_grad: bool
    key: Param
    scale: Operand
    def __init__(self, target: _Optional[int] = ..., op: _Optional[str] = ..., other: _Optional[_Union[Operand, _Mapping]] = ..., no_grad: _Optional[bool] = ..., key: _Optional[_Union[Param, _Mapping]] = ..., scale: _Optional[_Union[Operand, _Mapping]] = ...) -> None: ...

class GradOf(_message.Message):
    __slots__ = ("tensor", "result")
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    tensor: int
    result: int
    def __init__(self, tensor: _Optional[int] = ..., result: _Optional[int] = ...) -> None: ...

class SetGrad(_message.Message):
    __slots__ = ("tensor", "value", "more")
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    tensor: int
    value: int
    more: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, tensor: _Optional[int] = ..., value: _Optional[int] = ..., more: _Optional[_Iterable[int]] = ...) -> None: ...

class SetRequiresGrad(_message.Message):
    __slots__ = ("tensor", "requires_grad")
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_GRAD_FIELD_NUMBER: _ClassVar[int]
    tensor: int
    requires_grad: bool
    def __init__(self, tensor: _Optional[int] = ..., requires_grad: _Optional[bool] = ...) -> None: ...

class RetainGrad(_message.Message):
    __slots__ = ("tensor",)
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    tensor: int
    def __init__(self, tensor: _Optional[int] = ...) -> None: ...

class Alias(_message.Message):
    __slots__ = ("source", "result", "shares_version", "keeps_graph")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SHARES_VERSION_FIELD_NUMBER: _ClassVar[int]
    KEEPS_GRAPH_FIELD_NUMBER: _ClassVar[int]
    source: int
    result: int
    shares_version: bool
    keeps_graph: bool
    def __init__(self, source: _Optional[int] = ..., result: _Optional[int] = ..., shares_version: _Optional[bool] = ..., keeps_graph: _Optional[bool] = ...) -> None: ...

class ManualSeed(_message.Message):
    __slots__ = ("seed", "generator")
    SEED_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    seed: int
    generator: int
    def __init__(self, seed: _Optional[int] = ..., generator: _Optional[int] = ...) -> None: ...

class GeneratorCreate(_message.Message):
    __slots__ = ("generator", "seed")
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    generator: int
    seed: int
    def __init__(self, generator: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class GetRngState(_message.Message):
    __slots__ = ("generator", "result")
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    generator: int
    result: int
    def __init__(self, generator: _Optional[int] = ..., result: _Optional[int] = ...) -> None: ...

class SetRngState(_message.Message):
    __slots__ = ("generator", "state")
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    generator: int
    state: int
    def __init__(self, generator: _Optional[int] = ..., state: _Optional[int] = ...) -> None: ...

class OptimizerCreate(_message.Message):
    __slots__ = ("optimizer", "kind")
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    optimizer: int
    kind: str
    def __init__(self, optimizer: _Optional[int] = ..., kind: _Optional[str] = ...) -> None: ...

class OptimizerGroup(_message.Message):
    __slots__ = ("params", "lr", "weight_decay", "maximize", "momentum", "dampening", "nesterov", "beta1", "beta2", "eps", "amsgrad", "decoupled_weight_decay", "alpha", "centered", "lr_decay", "initial_accumulator_value", "momentum_decay", "rho", "etaminus", "etaplus", "step_size_min", "step_size_max", "lambd", "t0", "beta2_decay", "eps1", "eps2", "d", "ns_coefficients", "ns_steps", "adjust_lr_fn")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    LR_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_DECAY_FIELD_NUMBER: _ClassVar[int]
    MAXIMIZE_FIELD_NUMBER: _ClassVar[int]
    MOMENTUM_FIELD_NUMBER: _ClassVar[int]
    DAMPENING_FIELD_NUMBER: _ClassVar[int]
    NESTEROV_FIELD_NUMBER: _ClassVar[int]
    BETA1_FIELD_NUMBER: _ClassVar[int]
    BETA2_FIELD_NUMBER: _ClassVar[int]
    EPS_FIELD_NUMBER: _ClassVar[int]
    AMSGRAD_FIELD_NUMBER: _ClassVar[int]
    DECOUPLED_WEIGHT_DECAY_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    CENTERED_FIELD_NUMBER: _ClassVar[int]
    LR_DECAY_FIELD_NUMBER: _ClassVar[int]
    INITIAL_ACCUMULATOR_VALUE_FIELD_NUMBER: _ClassVar[int]
    MOMENTUM_DECAY_FIELD_NUMBER: _ClassVar[int]
    RHO_FIELD_NUMBER: _ClassVar[int]
    ETAMINUS_FIELD_NUMBER: _ClassVar[int]
    ETAPLUS_FIELD_NUMBER: _ClassVar[int]
    STEP_SIZE_MIN_FIELD_NUMBER: _ClassVar[int]
    STEP_SIZE_MAX_FIELD_NUMBER: _ClassVar[int]
    LAMBD_FIELD_NUMBER: _ClassVar[int]
    T0_FIELD_NUMBER: _ClassVar[int]
    BETA2_DECAY_FIELD_NUMBER: _ClassVar[int]
    EPS1_FIELD_NUMBER: _ClassVar[int]
    EPS2_FIELD_NUMBER: _ClassVar[int]
    D_FIELD_NUMBER: _ClassVar[int]
    NS_COEFFICIENTS_FIELD_NUMBER: _ClassVar[int]
    NS_STEPS_FIELD_NUMBER: _ClassVar[int]
    ADJUST_LR_FN_FIELD_NUMBER: _ClassVar[int]
    params: _containers.RepeatedScalarFieldContainer[int]
    lr: float
    weight_decay: float
    maximize: bool
    momentum: float
    dampening: float
    nesterov: bool
    beta1: float
    beta2: float
    eps: float
    amsgrad: bool
    decoupled_weight_decay: bool
    alpha: float
    centered: bool
    lr_decay: float
    initial_accumulator_value: float
    momentum_decay: float
    rho: float
    etaminus: float
    etaplus: float
    step_size_min: float
    step_size_max: float
    lambd: float
    t0: float
    beta2_decay: float
    eps1: float
    eps2: float
    d: float
    ns_coefficients: _containers.RepeatedScalarFieldContainer[float]
    ns_steps: int
    adjust_lr_fn: str
    def __init__(self, params: _Optional[_Iterable[int]] = ..., lr: _Optional[float] = ..., weight_decay: _Optional[float] = ..., maximize: _Optional[bool] = ..., momentum: _Optional[float] = ..., dampening: _Optional[float] = ..., nesterov: _Optional[bool] = ..., beta1: _Optional[float] = ..., beta2: _Optional[float] = ..., eps: _Optional[float] = ..., amsgrad: _Optional[bool] = ..., decoupled_weight_decay: _Optional[bool] = ..., alpha: _Optional[float] = ..., centered: _Optional[bool] = ..., lr_decay: _Optional[float] = ..., initial_accumulator_value: _Optional[float] = ..., momentum_decay: _Optional[float] = ..., rho: _Optional[float] = ..., etaminus: _Optional[float] = ..., etaplus: _Optional[float] = ..., step_size_min: _Optional[float] = ..., step_size_max: _Optional[float] = ..., lambd: _Optional[float] = ..., t0: _Optional[float] = ..., beta2_decay: _Optional[float] = ..., eps1: _Optional[float] = ..., eps2: _Optional[float] = ..., d: _Optional[float] = ..., ns_coefficients: _Optional[_Iterable[float]] = ..., ns_steps: _Optional[int] = ..., adjust_lr_fn: _Optional[str] = ...) -> None: ...

class OptimizerStep(_message.Message):
    __slots__ = ("optimizer", "groups")
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    optimizer: int
    groups: _containers.RepeatedCompositeFieldContainer[OptimizerGroup]
    def __init__(self, optimizer: _Optional[int] = ..., groups: _Optional[_Iterable[_Union[OptimizerGroup, _Mapping]]] = ...) -> None: ...

class ClipGrad(_message.Message):
    __slots__ = ("params", "by_value", "clip_value", "max_norm", "norm_type", "error_if_nonfinite", "result", "unscale", "inv_scale")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    BY_VALUE_FIELD_NUMBER: _ClassVar[int]
    CLIP_VALUE_FIELD_NUMBER: _ClassVar[int]
    MAX_NORM_FIELD_NUMBER: _ClassVar[int]
    NORM_TYPE_FIELD_NUMBER: _ClassVar[int]
    ERROR_IF_NONFINITE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    UNSCALE_FIELD_NUMBER: _ClassVar[int]
    INV_SCALE_FIELD_NUMBER: _ClassVar[int]
    params: _containers.RepeatedScalarFieldContainer[int]
    by_value: bool
    clip_value: float
    max_norm: float
    norm_type: float
    error_if_nonfinite: bool
    result: int
    unscale: bool
    inv_scale: float
    def __init__(self, params: _Optional[_Iterable[int]] = ..., by_value: _Optional[bool] = ..., clip_value: _Optional[float] = ..., max_norm: _Optional[float] = ..., norm_type: _Optional[float] = ..., error_if_nonfinite: _Optional[bool] = ..., result: _Optional[int] = ..., unscale: _Optional[bool] = ..., inv_scale: _Optional[float] = ...) -> None: ...

class OptimizerStateEntry(_message.Message):
    __slots__ = ("param", "name", "handle", "number")
    PARAM_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    param: int
    name: str
    handle: int
    number: float
    def __init__(self, param: _Optional[int] = ..., name: _Optional[str] = ..., handle: _Optional[int] = ..., number: _Optional[float] = ...) -> None: ...

class OptimizerGetState(_message.Message):
    __slots__ = ("optimizer", "slots")
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    optimizer: int
    slots: _containers.RepeatedCompositeFieldContainer[OptimizerStateEntry]
    def __init__(self, optimizer: _Optional[int] = ..., slots: _Optional[_Iterable[_Union[OptimizerStateEntry, _Mapping]]] = ...) -> None: ...

class OptimizerSetState(_message.Message):
    __slots__ = ("optimizer", "entries")
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    optimizer: int
    entries: _containers.RepeatedCompositeFieldContainer[OptimizerStateEntry]
    def __init__(self, optimizer: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[OptimizerStateEntry, _Mapping]]] = ...) -> None: ...

class GraphRequest(_message.Message):
    __slots__ = ("root",)
    ROOT_FIELD_NUMBER: _ClassVar[int]
    root: int
    def __init__(self, root: _Optional[int] = ...) -> None: ...

class GraphNode(_message.Message):
    __slots__ = ("id", "is_op", "name", "shape", "dtype", "requires_grad", "is_leaf", "handle", "freed")
    ID_FIELD_NUMBER: _ClassVar[int]
    IS_OP_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_GRAD_FIELD_NUMBER: _ClassVar[int]
    IS_LEAF_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    FREED_FIELD_NUMBER: _ClassVar[int]
    id: int
    is_op: bool
    name: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    dtype: str
    requires_grad: bool
    is_leaf: bool
    handle: int
    freed: bool
    def __init__(self, id: _Optional[int] = ..., is_op: _Optional[bool] = ..., name: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., dtype: _Optional[str] = ..., requires_grad: _Optional[bool] = ..., is_leaf: _Optional[bool] = ..., handle: _Optional[int] = ..., freed: _Optional[bool] = ...) -> None: ...

class GraphEdge(_message.Message):
    __slots__ = ("src", "dst")
    SRC_FIELD_NUMBER: _ClassVar[int]
    DST_FIELD_NUMBER: _ClassVar[int]
    src: int
    dst: int
    def __init__(self, src: _Optional[int] = ..., dst: _Optional[int] = ...) -> None: ...

class Graph(_message.Message):
    __slots__ = ("nodes", "edges")
    NODES_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[GraphNode]
    edges: _containers.RepeatedCompositeFieldContainer[GraphEdge]
    def __init__(self, nodes: _Optional[_Iterable[_Union[GraphNode, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[GraphEdge, _Mapping]]] = ...) -> None: ...

class ProfileStart(_message.Message):
    __slots__ = ("record_shapes", "device_time")
    RECORD_SHAPES_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TIME_FIELD_NUMBER: _ClassVar[int]
    record_shapes: bool
    device_time: bool
    def __init__(self, record_shapes: _Optional[bool] = ..., device_time: _Optional[bool] = ...) -> None: ...

class ProfileRange(_message.Message):
    __slots__ = ("id", "name", "end")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    end: bool
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., end: _Optional[bool] = ...) -> None: ...

class ProfileStop(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: int
    def __init__(self, result: _Optional[int] = ...) -> None: ...

class ProfileEvent(_message.Message):
    __slots__ = ("name", "start_ns", "duration_ns", "device_ns", "shapes", "command")
    NAME_FIELD_NUMBER: _ClassVar[int]
    START_NS_FIELD_NUMBER: _ClassVar[int]
    DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_NS_FIELD_NUMBER: _ClassVar[int]
    SHAPES_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    name: str
    start_ns: int
    duration_ns: int
    device_ns: int
    shapes: _containers.RepeatedCompositeFieldContainer[IntList]
    command: int
    def __init__(self, name: _Optional[str] = ..., start_ns: _Optional[int] = ..., duration_ns: _Optional[int] = ..., device_ns: _Optional[int] = ..., shapes: _Optional[_Iterable[_Union[IntList, _Mapping]]] = ..., command: _Optional[int] = ...) -> None: ...

class ProfileEvents(_message.Message):
    __slots__ = ("events", "dropped", "stop_ns", "chunked")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    STOP_NS_FIELD_NUMBER: _ClassVar[int]
    CHUNKED_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ProfileEvent]
    dropped: int
    stop_ns: int
    chunked: bool
    def __init__(self, events: _Optional[_Iterable[_Union[ProfileEvent, _Mapping]]] = ..., dropped: _Optional[int] = ..., stop_ns: _Optional[int] = ..., chunked: _Optional[bool] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Sync(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Command(_message.Message):
    __slots__ = ("id", "put", "factory", "op", "backward", "grad", "release", "fetch", "inplace", "grad_of", "set_grad", "set_requires_grad", "alias", "manual_seed", "stats", "sync", "optimizer_create", "optimizer_step", "optimizer_get_state", "optimizer_set_state", "graph", "retain_grad", "clip_grad", "resume", "generator_create", "get_rng_state", "set_rng_state", "profile_start", "profile_range", "profile_stop")
    ID_FIELD_NUMBER: _ClassVar[int]
    PUT_FIELD_NUMBER: _ClassVar[int]
    FACTORY_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    BACKWARD_FIELD_NUMBER: _ClassVar[int]
    GRAD_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    FETCH_FIELD_NUMBER: _ClassVar[int]
    INPLACE_FIELD_NUMBER: _ClassVar[int]
    GRAD_OF_FIELD_NUMBER: _ClassVar[int]
    SET_GRAD_FIELD_NUMBER: _ClassVar[int]
    SET_REQUIRES_GRAD_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    MANUAL_SEED_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    SYNC_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_CREATE_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_STEP_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_GET_STATE_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_SET_STATE_FIELD_NUMBER: _ClassVar[int]
    GRAPH_FIELD_NUMBER: _ClassVar[int]
    RETAIN_GRAD_FIELD_NUMBER: _ClassVar[int]
    CLIP_GRAD_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_CREATE_FIELD_NUMBER: _ClassVar[int]
    GET_RNG_STATE_FIELD_NUMBER: _ClassVar[int]
    SET_RNG_STATE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_START_FIELD_NUMBER: _ClassVar[int]
    PROFILE_RANGE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_STOP_FIELD_NUMBER: _ClassVar[int]
    id: int
    put: Put
    factory: Factory
    op: Op
    backward: Backward
    grad: Grad
    release: Release
    fetch: Fetch
    inplace: Inplace
    grad_of: GradOf
    set_grad: SetGrad
    set_requires_grad: SetRequiresGrad
    alias: Alias
    manual_seed: ManualSeed
    stats: StatsRequest
    sync: Sync
    optimizer_create: OptimizerCreate
    optimizer_step: OptimizerStep
    optimizer_get_state: OptimizerGetState
    optimizer_set_state: OptimizerSetState
    graph: GraphRequest
    retain_grad: RetainGrad
    clip_grad: ClipGrad
    resume: Resume
    generator_create: GeneratorCreate
    get_rng_state: GetRngState
    set_rng_state: SetRngState
    profile_start: ProfileStart
    profile_range: ProfileRange
    profile_stop: ProfileStop
    def __init__(self, id: _Optional[int] = ..., put: _Optional[_Union[Put, _Mapping]] = ..., factory: _Optional[_Union[Factory, _Mapping]] = ..., op: _Optional[_Union[Op, _Mapping]] = ..., backward: _Optional[_Union[Backward, _Mapping]] = ..., grad: _Optional[_Union[Grad, _Mapping]] = ..., release: _Optional[_Union[Release, _Mapping]] = ..., fetch: _Optional[_Union[Fetch, _Mapping]] = ..., inplace: _Optional[_Union[Inplace, _Mapping]] = ..., grad_of: _Optional[_Union[GradOf, _Mapping]] = ..., set_grad: _Optional[_Union[SetGrad, _Mapping]] = ..., set_requires_grad: _Optional[_Union[SetRequiresGrad, _Mapping]] = ..., alias: _Optional[_Union[Alias, _Mapping]] = ..., manual_seed: _Optional[_Union[ManualSeed, _Mapping]] = ..., stats: _Optional[_Union[StatsRequest, _Mapping]] = ..., sync: _Optional[_Union[Sync, _Mapping]] = ..., optimizer_create: _Optional[_Union[OptimizerCreate, _Mapping]] = ..., optimizer_step: _Optional[_Union[OptimizerStep, _Mapping]] = ..., optimizer_get_state: _Optional[_Union[OptimizerGetState, _Mapping]] = ..., optimizer_set_state: _Optional[_Union[OptimizerSetState, _Mapping]] = ..., graph: _Optional[_Union[GraphRequest, _Mapping]] = ..., retain_grad: _Optional[_Union[RetainGrad, _Mapping]] = ..., clip_grad: _Optional[_Union[ClipGrad, _Mapping]] = ..., resume: _Optional[_Union[Resume, _Mapping]] = ..., generator_create: _Optional[_Union[GeneratorCreate, _Mapping]] = ..., get_rng_state: _Optional[_Union[GetRngState, _Mapping]] = ..., set_rng_state: _Optional[_Union[SetRngState, _Mapping]] = ..., profile_start: _Optional[_Union[ProfileStart, _Mapping]] = ..., profile_range: _Optional[_Union[ProfileRange, _Mapping]] = ..., profile_stop: _Optional[_Union[ProfileStop, _Mapping]] = ...) -> None: ...

class Batch(_message.Message):
    __slots__ = ("seq", "commands", "acked")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    ACKED_FIELD_NUMBER: _ClassVar[int]
    seq: int
    commands: _containers.RepeatedCompositeFieldContainer[Command]
    acked: int
    def __init__(self, seq: _Optional[int] = ..., commands: _Optional[_Iterable[_Union[Command, _Mapping]]] = ..., acked: _Optional[int] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "type", "message", "caused_by", "forward_command")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CAUSED_BY_FIELD_NUMBER: _ClassVar[int]
    FORWARD_COMMAND_FIELD_NUMBER: _ClassVar[int]
    code: str
    type: str
    message: str
    caused_by: int
    forward_command: int
    def __init__(self, code: _Optional[str] = ..., type: _Optional[str] = ..., message: _Optional[str] = ..., caused_by: _Optional[int] = ..., forward_command: _Optional[int] = ...) -> None: ...

class SessionStats(_message.Message):
    __slots__ = ("tensors", "bytes", "graph_nodes", "generators", "profile_events")
    TENSORS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    GRAPH_NODES_FIELD_NUMBER: _ClassVar[int]
    GENERATORS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_EVENTS_FIELD_NUMBER: _ClassVar[int]
    tensors: int
    bytes: int
    graph_nodes: int
    generators: int
    profile_events: int
    def __init__(self, tensors: _Optional[int] = ..., bytes: _Optional[int] = ..., graph_nodes: _Optional[int] = ..., generators: _Optional[int] = ..., profile_events: _Optional[int] = ...) -> None: ...

class Unused(_message.Message):
    __slots__ = ("handles",)
    HANDLES_FIELD_NUMBER: _ClassVar[int]
    handles: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, handles: _Optional[_Iterable[int]] = ...) -> None: ...

class HookStop(_message.Message):
    __slots__ = ("done", "index", "unused")
    DONE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    UNUSED_FIELD_NUMBER: _ClassVar[int]
    done: bool
    index: int
    unused: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, done: _Optional[bool] = ..., index: _Optional[int] = ..., unused: _Optional[_Iterable[int]] = ...) -> None: ...

class OptimizerState(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[OptimizerStateEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[OptimizerStateEntry, _Mapping]]] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("command", "tensor", "meta", "error", "stats", "unused", "optimizer_state", "graph", "hook_stop", "profile")
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    UNUSED_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_STATE_FIELD_NUMBER: _ClassVar[int]
    GRAPH_FIELD_NUMBER: _ClassVar[int]
    HOOK_STOP_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    command: int
    tensor: TensorData
    meta: TensorMeta
    error: Error
    stats: SessionStats
    unused: Unused
    optimizer_state: OptimizerState
    graph: Graph
    hook_stop: HookStop
    profile: ProfileEvents
    def __init__(self, command: _Optional[int] = ..., tensor: _Optional[_Union[TensorData, _Mapping]] = ..., meta: _Optional[_Union[TensorMeta, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., stats: _Optional[_Union[SessionStats, _Mapping]] = ..., unused: _Optional[_Union[Unused, _Mapping]] = ..., optimizer_state: _Optional[_Union[OptimizerState, _Mapping]] = ..., graph: _Optional[_Union[Graph, _Mapping]] = ..., hook_stop: _Optional[_Union[HookStop, _Mapping]] = ..., profile: _Optional[_Union[ProfileEvents, _Mapping]] = ...) -> None: ...

class BatchReply(_message.Message):
    __slots__ = ("seq", "results", "partial", "earlier")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    EARLIER_FIELD_NUMBER: _ClassVar[int]
    seq: int
    results: _containers.RepeatedCompositeFieldContainer[Result]
    partial: bool
    earlier: _containers.RepeatedCompositeFieldContainer[BatchReply]
    def __init__(self, seq: _Optional[int] = ..., results: _Optional[_Iterable[_Union[Result, _Mapping]]] = ..., partial: _Optional[bool] = ..., earlier: _Optional[_Iterable[_Union[BatchReply, _Mapping]]] = ...) -> None: ...

class TensorChunk(_message.Message):
    __slots__ = ("handle", "meta", "total_bytes", "requires_grad", "offset", "data")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_GRAD_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    handle: int
    meta: TensorMeta
    total_bytes: int
    requires_grad: bool
    offset: int
    data: bytes
    def __init__(self, handle: _Optional[int] = ..., meta: _Optional[_Union[TensorMeta, _Mapping]] = ..., total_bytes: _Optional[int] = ..., requires_grad: _Optional[bool] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class UploadReply(_message.Message):
    __slots__ = ("handle", "bytes")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    handle: int
    bytes: int
    def __init__(self, handle: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...

class DownloadRequest(_message.Message):
    __slots__ = ("handle",)
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    handle: int
    def __init__(self, handle: _Optional[int] = ...) -> None: ...
