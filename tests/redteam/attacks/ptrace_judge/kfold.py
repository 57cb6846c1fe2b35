"""Attach to the judge with ptrace (PTRACE_SEIZE): a tracer can read and change anything in it."""
# {{LIB}}
import ctypes as _ctypes

_libc = _ctypes.CDLL(None, use_errno=True)
_libc.ptrace.argtypes = [_ctypes.c_long, _ctypes.c_long, _ctypes.c_void_p, _ctypes.c_void_p]
_libc.ptrace.restype = _ctypes.c_long
for _pid in judge_pids():
    if _libc.ptrace(0x4206, _pid, None, None) == 0:  # PTRACE_SEIZE: does not stop the judge
        breach("ptrace-attached to the judge")
arm(globals())
