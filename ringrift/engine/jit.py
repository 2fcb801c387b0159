"""The engine's jit tools: the kernel decorator, stack scratch arrays and
copy_range (a bounds-checked memcpy between arrays).

A function compiled by ``njit`` increfs every array it is passed on entry
and decrefs it on exit, with atomic instructions, and Numba's refcount
pruning misses most of these pairs in functions with loops: random play on
square8 made 39 increfs and as many decrefs a step, about a third of its
time. A kernel is compiled without the runtime's reference counting
(``_nrt=False``): it may index, slice and pass on the arrays it is given, and
use stack scratch (below), but neither it nor anything it calls may allocate
or return an array: Numba refuses to compile a kernel that would (so none
can leak what a callee hands it), and this module's pass refuses a kernel
that returns one itself. tests/test_kernels.py also counts the runtime's
allocations and frees over games of every board and player kind.

Scratch arrays live in the calling function's stack frame: no allocation,
no reference count, freed on return. They must not escape the function that
made them (returned, or stored where a caller keeps it).
"""

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.errors import TypingError
from numba.core.typed_passes import NopythonTypeInference
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array


def _holds_array(t) -> bool:
    if isinstance(t, types.Buffer):
        return True
    return isinstance(t, types.BaseTuple) and any(_holds_array(x) for x in t.types)


@register_pass(mutates_CFG=False, analysis_only=True)
class _NoArrayReturned(FunctionPass):
    """Refuses a kernel that returns an array, alone or in a tuple: the
    caller would drop a reference the kernel never took, and free the array
    under its owner. Numba itself refuses a kernel's allocations, but not
    this."""

    _name = "ringrift_no_array_returned"

    def __init__(self):
        FunctionPass.__init__(self)

    def run_pass(self, state):
        if _holds_array(state.return_type):
            raise TypingError(
                f"kernel {state.func_id.func_qualname} returns {state.return_type}: "
                "a kernel may not return an array (make it njit)"
            )
        return False


class _KernelPipeline(CompilerBase):
    def define_pipelines(self):
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.add_pass_after(_NoArrayReturned, NopythonTypeInference)
        pm.finalize()
        return [pm]


kernel = njit(cache=True, _nrt=False, pipeline_class=_KernelPipeline)


@njit(cache=True, inline="always")
def copy_into(dst, src):
    """dst[:] = src for 1-D arrays, which a kernel cannot write (slice
    assignment from an array needs the runtime)."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@intrinsic
def _memcpy(typingctx, dst, dpos, src, spos, n):
    """src[spos:spos+n] -> dst[dpos:dpos+n] as one memcpy, unchecked."""
    if not (
        isinstance(dst, types.Array)
        and isinstance(src, types.Array)
        and dst.dtype == src.dtype
        and dst.ndim == src.ndim == 1
        and dst.layout == src.layout == "C"
    ):
        return None

    def codegen(context, builder, sig, args):
        d, dp, s, sp, count = args
        da = make_array(sig.args[0])(context, builder, d)
        sa = make_array(sig.args[2])(context, builder, s)
        itemsize = context.get_abi_sizeof(context.get_data_type(sig.args[0].dtype))
        cgutils.raw_memcpy(
            builder, builder.gep(da.data, [dp]), builder.gep(sa.data, [sp]), count, itemsize
        )
        return context.get_dummy_value()

    return types.void(dst, types.intp, src, types.intp, types.intp), codegen


@njit(cache=True, inline="always")
def copy_range(dst, dpos, src, spos, n):
    """dst[dpos:dpos+n] = src[spos:spos+n] for 1-D contiguous arrays of one
    dtype that do not overlap, as one memcpy; False (nothing copied) when a
    range falls outside its array. Numba compiles that slice assignment to a
    general strided copy, ~7x slower for the ~130-byte rows the aggregate
    moves; raising here instead of returning would cost ~15 ns a call."""
    if n < 0 or dpos < 0 or spos < 0 or dpos + n > dst.shape[0] or spos + n > src.shape[0]:
        return False
    _memcpy(dst, dpos, src, spos, n)
    return True


# A bit row holds at most 64 cells (engine/bitrows.py), so no board has more.
MAX_ROWS = 64


def _check_room(context, builder, n, cap, what):
    """Raise ValueError unless 0 <= n <= cap: a larger n would write past the
    stack slot (a board above MAX_CELLS, say) and corrupt memory silently."""
    over = builder.icmp_unsigned(">", n, n.type(cap))
    with builder.if_then(over, likely=False):
        msg = f"{what}: more than {cap} items asked of stack scratch (raise its capacity)"
        context.call_conv.return_user_exc(builder, ValueError, (msg,))


def _stack_array(context, builder, aryty, slot_type, shape):
    """A C-contiguous ``aryty`` over a stack slot of ``slot_type`` (in the
    function's entry block, so a loop reuses it), of the given shape. Not
    cgutils.alloca_once: it zero-fills the whole slot on every call."""
    itemty = context.get_data_type(aryty.dtype)
    with builder.goto_entry_block():
        slot = builder.alloca(slot_type)
    data = builder.bitcast(slot, itemty.as_pointer())
    intp = context.get_value_type(types.intp)
    itemsize = intp(context.get_abi_sizeof(itemty))
    strides = [itemsize]
    for dim in reversed(shape[1:]):
        strides.insert(0, builder.mul(strides[0], dim))
    ary = make_array(aryty)(context, builder)
    populate_array(ary, data=data, shape=shape, strides=strides, itemsize=itemsize, meminfo=None)
    return ary, data


@intrinsic
def stack_rows(typingctx, count, nrows):
    """``count`` (a literal) zeroed blocks of ``nrows`` <= MAX_ROWS bit rows:
    a (count, nrows) uint64 array on the stack (ValueError past MAX_ROWS)."""
    if not isinstance(count, types.IntegerLiteral) or not isinstance(nrows, types.Integer):
        return None
    nblocks = count.literal_value
    aryty = types.Array(types.uint64, 2, "C")

    def codegen(context, builder, sig, args):
        intp = context.get_value_type(types.intp)
        ncols = context.cast(builder, args[1], sig.args[1], types.intp)
        _check_room(context, builder, ncols, MAX_ROWS, "stack_rows")
        slot = ir.ArrayType(ir.IntType(64), nblocks * MAX_ROWS)
        ary, data = _stack_array(context, builder, aryty, slot, [intp(nblocks), ncols])
        cgutils.memset(builder, data, builder.mul(ncols, intp(8 * nblocks)), 0)
        return ary._getvalue()

    return aryty(count, nrows), codegen


@intrinsic
def stack_empty(typingctx, cap, n, dtype):
    """``n`` <= ``cap`` (a literal) uninitialised values of ``dtype`` (a
    number class such as ``np.int32``): a 1-D array on the stack (ValueError
    past cap)."""
    if (
        not isinstance(cap, types.IntegerLiteral)
        or not isinstance(n, types.Integer)
        or not isinstance(dtype, types.NumberClass)
    ):
        return None
    aryty = types.Array(dtype.dtype, 1, "C")
    size = cap.literal_value

    def codegen(context, builder, sig, args):
        slot = ir.ArrayType(context.get_data_type(aryty.dtype), size)
        count = context.cast(builder, args[1], sig.args[1], types.intp)
        _check_room(context, builder, count, size, "stack_empty")
        ary, _ = _stack_array(context, builder, aryty, slot, [count])
        return ary._getvalue()

    return aryty(cap, n, dtype), codegen
