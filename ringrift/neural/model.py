"""Load an ONNX policy/value network and check it against the model contract.

The contract (README "Neural players"):

    inputs   features  float32 (N, C * (history + 1), S, S)  ringrift/tensors planes
             globals   float32 (N, 20)
    outputs  policy    float32 (N, policy_size)  logits over the board's policy
                                                 indices (ringrift/tensors/policy.py)
             value     float32 (N, 1)  in [-1, 1] for the player to move, or
                       (N, 4)  per seat 1..4 (the tensors' values_mp order)
    metadata ringrift.board_type       square8 / square19 / hex8 / hexagonal
             ringrift.encoder          v2 (default) / v3 (hex boards)
             ringrift.history_length   earlier frames per input (default 3)

A model is read whole (local path, file://, s3://, gs://) and identified by the
blake2b digest of its bytes, which every sample it plays records. Inference
runs on onnxruntime's CPU provider (CUDA on request, where installed) with
one intra-op and one inter-op thread by default: results are then the same
bits run after run, and batched and one-by-one rows agree on the nets we
tested (tests/test_neural.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..engine.geometry import BOARD_TYPES
from ..engine.layout import MAX_PLAYERS
from ..tensors.encode import BASE_CHANNELS, NUM_GLOBALS, encoder_kind, tables
from ..tensors.policy import POLICY_SIZES

META_BOARD = "ringrift.board_type"
META_ENCODER = "ringrift.encoder"
META_HISTORY = "ringrift.history_length"
DEFAULT_HISTORY = 3


def model_digest(data: bytes) -> str:
    """16 hex digits of blake2b over the model file's bytes."""
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def read_model_bytes(uri: str) -> bytes:
    """The model file's bytes; one-line ValueError naming it on failure."""
    import fsspec

    from ..storage import redact_text, redact_uri

    name = redact_uri(uri)
    try:
        with fsspec.open(uri, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ValueError(f"no such model: {name}") from None
    except (OSError, ValueError, ImportError) as exc:
        raise ValueError(f"cannot read model {name}: {redact_text(str(exc))}") from None


@dataclass
class Model:
    """A checked network: its session, what it encodes and its digest."""

    name: str  # redacted URI, for messages and provenance
    digest: str
    board_type: str
    encoder: str
    history: int
    channels: int
    size: int
    policy_size: int
    value_width: int  # 1 = the mover's value, MAX_PLAYERS = per seat
    session: object

    @property
    def kind(self) -> int:
        return encoder_kind(self.board_type, self.encoder)

    def run(self, features: np.ndarray, globals_: np.ndarray):
        """(policy logits (N, P) float32, value (N, value_width) float32)."""
        pol, val = self.session.run(
            ["policy", "value"], {"features": features, "globals": globals_}
        )
        return pol, val

    def describe(self) -> dict:
        return {
            "uri": self.name,
            "digest": self.digest,
            "board_type": self.board_type,
            "encoder": self.encoder,
            "history_length": self.history,
            "value": "seats" if self.value_width == MAX_PLAYERS else "mover",
        }


def _dim(d):
    """A static dimension as int, a symbolic one as None."""
    return d if isinstance(d, int) else None


PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


def load_model(
    uri: str,
    board_type: str | None = None,
    threads: int = 1,
    data: bytes | None = None,
    provider: str = "cpu",
) -> Model:
    """Read, open and check a model; ``board_type``: the board it must play
    (the config's); ``provider``: cpu, or cuda where onnxruntime-gpu is
    installed. Every mismatch is a one-line ValueError naming the model."""
    from ..storage import redact_uri

    name = redact_uri(uri)
    if data is None:
        data = read_model_bytes(uri)
    sess = _open_session(name, data, threads, provider)
    meta = sess.get_modelmeta().custom_metadata_map
    mboard = meta.get(META_BOARD) or board_type
    if mboard is None:
        raise ValueError(f"model {name} names no board ({META_BOARD} metadata) and none was given")
    if mboard not in BOARD_TYPES:
        raise ValueError(f"model {name}: unknown board {mboard!r} in its {META_BOARD} metadata")
    if board_type is not None and mboard != board_type:
        raise ValueError(f"model {name} is for board {mboard}, not {board_type}")
    encoder = meta.get(META_ENCODER) or "v2"
    try:
        kind = encoder_kind(mboard, encoder)
        history = int(meta.get(META_HISTORY, DEFAULT_HISTORY))
    except ValueError as exc:
        raise ValueError(f"model {name}: {exc}") from None
    if history < 0:
        raise ValueError(f"model {name}: negative {META_HISTORY} {history}")
    size = tables(mboard).size
    channels = BASE_CHANNELS[kind] * (history + 1)
    psize = POLICY_SIZES[mboard]
    where = f"{mboard} encoder {encoder} history {history}"
    _check_signature(sess, name, channels, size, psize, where)
    model = Model(
        name, model_digest(data), mboard, encoder, history, channels, size, psize, 0, sess
    )
    model.value_width = _output_widths(model)
    return model


def _open_session(name: str, data: bytes, threads: int, provider: str):
    """An onnxruntime session on the model's bytes: ``threads`` intra-op
    threads, one inter-op thread, sequential execution."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ValueError("neural players need onnxruntime (pip install onnxruntime)") from None
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; valid providers: {', '.join(PROVIDERS)}")
    if PROVIDERS[provider] not in ort.get_available_providers():
        raise ValueError(
            f"onnxruntime here has no {PROVIDERS[provider]} (available: "
            f"{', '.join(ort.get_available_providers())})"
        )
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    try:
        return ort.InferenceSession(data, so, providers=[PROVIDERS[provider]])
    except Exception as exc:  # onnxruntime raises its own classes for bad files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"model {name} is not a loadable ONNX model: {first}") from None


def _check_signature(sess, name: str, channels: int, size: int, psize: int, where: str):
    """The session's declared inputs and outputs against the contract
    (symbolic dimensions pass; ``where`` names the board, encoder and history)."""
    ins = {i.name: i for i in sess.get_inputs()}
    outs = {o.name: o for o in sess.get_outputs()}
    if set(ins) != {"features", "globals"}:
        raise ValueError(
            f"model {name} has inputs {sorted(ins)}; the contract is features and globals"
        )
    if not {"policy", "value"} <= set(outs):
        raise ValueError(
            f"model {name} has outputs {sorted(outs)}; the contract needs policy and value"
        )
    want = {"features": (channels, size, size), "globals": (NUM_GLOBALS,)}
    for key, shape in want.items():
        i = ins[key]
        if i.type != "tensor(float)":
            raise ValueError(f"model {name}: input {key} is {i.type}, expected tensor(float)")
        got = tuple(_dim(d) for d in i.shape[1:])
        if len(i.shape) != len(shape) + 1 or any(g not in (None, w) for g, w in zip(got, shape)):
            raise ValueError(
                f"model {name}: input {key} has shape {list(i.shape)}, expected "
                f"[N, {', '.join(map(str, shape))}] for {where}"
            )
    pol, val = outs["policy"], outs["value"]
    if len(pol.shape) != 2 or _dim(pol.shape[1]) not in (None, psize):
        raise ValueError(
            f"model {name}: output policy has shape {list(pol.shape)}, expected [N, {psize}]"
        )
    if len(val.shape) != 2 or _dim(val.shape[1]) not in (None, 1, MAX_PLAYERS):
        raise ValueError(
            f"model {name}: output value has shape {list(val.shape)}, "
            f"expected [N, 1] or [N, {MAX_PLAYERS}]"
        )


def _output_widths(model: Model) -> int:
    """The value width (1 or MAX_PLAYERS), settling symbolic output widths by
    one call on an empty position; checks both outputs' shapes and dtypes."""
    name, channels, size, psize = model.name, model.channels, model.size, model.policy_size
    p, v = model.run(
        np.zeros((1, channels, size, size), np.float32), np.zeros((1, NUM_GLOBALS), np.float32)
    )
    if p.shape != (1, psize) or p.dtype != np.float32:
        raise ValueError(
            f"model {name}: policy output is {p.dtype}{list(p.shape)}, "
            f"expected [1, {psize}] float32"
        )
    if v.shape not in ((1, 1), (1, MAX_PLAYERS)) or v.dtype != np.float32:
        raise ValueError(
            f"model {name}: value output is {v.dtype}{list(v.shape)}, "
            f"expected [1, 1] or [1, {MAX_PLAYERS}] float32"
        )
    return v.shape[1]
