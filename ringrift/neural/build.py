"""Small ONNX models that honour the model contract (README "Neural players"),
built with the ``onnx`` helper API: for tests and benchmarks, never for play.

    uniform_model(board)            policy logits all 0, value 0
    one_index_model(board, i)       logit 10 at policy index i, 0 elsewhere
    conv_model(board, seed)         random-weight conv net (3x3 conv, ReLU, two heads)

``onnx`` is a test dependency; nothing at play time imports this module.
"""

from __future__ import annotations

import numpy as np

from ..tensors.encode import BASE_CHANNELS, NUM_GLOBALS, encoder_kind, tables
from ..tensors.policy import POLICY_SIZES

OPSET = 17


def _shapes(board_type: str, encoder: str, history: int):
    c = BASE_CHANNELS[encoder_kind(board_type, encoder)] * (history + 1)
    return c, tables(board_type).size, POLICY_SIZES[board_type]


def _model(nodes, inits, board_type, encoder, history, c, h, p, value_width=1, meta=None):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inputs = [
        helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", c, h, h]),
        helper.make_tensor_value_info("globals", TensorProto.FLOAT, ["N", NUM_GLOBALS]),
    ]
    outputs = [
        helper.make_tensor_value_info("policy", TensorProto.FLOAT, ["N", p]),
        helper.make_tensor_value_info("value", TensorProto.FLOAT, ["N", value_width]),
    ]
    graph = helper.make_graph(
        nodes,
        "ringrift_net",
        inputs,
        outputs,
        [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    tags = {
        "ringrift.board_type": board_type,
        "ringrift.encoder": encoder,
        "ringrift.history_length": str(history),
    }
    tags.update(meta or {})
    for k, v in tags.items():
        if v is not None:
            model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _constant_heads(board_type, encoder, history, policy_bias, value_bias, meta=None):
    """policy = globals @ 0 + bias, value = globals @ 0 + bias: constant outputs
    that still have the batch dimension of the input."""
    from onnx import helper

    c, h, p = _shapes(board_type, encoder, history)
    nodes = [
        helper.make_node("Gemm", ["globals", "wp", "bp"], ["policy"]),
        helper.make_node("Gemm", ["globals", "wv", "bv"], ["value"]),
    ]
    inits = {
        "wp": np.zeros((NUM_GLOBALS, p)),
        "bp": policy_bias,
        "wv": np.zeros((NUM_GLOBALS, 1)),
        "bv": np.full(1, value_bias),
    }
    return _model(nodes, inits, board_type, encoder, history, c, h, p, meta=meta)


def uniform_model(board_type: str, encoder: str = "v2", history: int = 3, meta=None) -> bytes:
    """Every policy logit 0 (uniform over the legal moves), value 0."""
    p = POLICY_SIZES[board_type]
    return _constant_heads(board_type, encoder, history, np.zeros(p), 0.0, meta)


def one_index_model(board_type: str, index: int, encoder: str = "v2", history: int = 3) -> bytes:
    """Logit 10 at policy index ``index``, 0 elsewhere; value 0."""
    bias = np.zeros(POLICY_SIZES[board_type])
    bias[index] = 10.0
    return _constant_heads(board_type, encoder, history, bias, 0.0)


def conv_model(
    board_type: str,
    seed: int = 0,
    encoder: str = "v2",
    history: int = 3,
    width: int = 8,
    value_width: int = 1,
) -> bytes:
    """features -> 3x3 conv (width channels) -> ReLU -> flatten, concatenated
    with globals -> dense policy logits and tanh value; random weights."""
    from onnx import helper

    c, h, p = _shapes(board_type, encoder, history)
    rng = np.random.default_rng(seed)
    flat = width * h * h + NUM_GLOBALS
    nodes = [
        helper.make_node("Conv", ["features", "wc", "bc"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["act"]),
        helper.make_node("Flatten", ["act"], ["flat"], axis=1),
        helper.make_node("Concat", ["flat", "globals"], ["trunk"], axis=1),
        helper.make_node("Gemm", ["trunk", "wp", "bp"], ["policy"]),
        helper.make_node("Gemm", ["trunk", "wv", "bv"], ["vraw"]),
        helper.make_node("Tanh", ["vraw"], ["value"]),
    ]
    inits = {
        "wc": rng.normal(0, 0.3, (width, c, 3, 3)),
        "bc": rng.normal(0, 0.1, width),
        "wp": rng.normal(0, 0.1, (flat, p)),
        "bp": rng.normal(0, 0.1, p),
        "wv": rng.normal(0, 0.05, (flat, value_width)),
        "bv": np.zeros(value_width),
    }
    return _model(nodes, inits, board_type, encoder, history, c, h, p, value_width)
