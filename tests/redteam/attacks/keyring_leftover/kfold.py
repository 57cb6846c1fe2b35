"""A key left for the next student: added to the worker uid's user, user-session and persistent
keyrings, readable by everyone (a later worker under another uid reads it in /proc/keys)."""
# {{LIB}}
import ctypes as _ct

_libc = _ct.CDLL(None, use_errno=True)
_libc.syscall.restype = _ct.c_long
_ADD_KEY, _KEYCTL = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(_os.uname().machine, (-1, -1))
_name = ("dlgrade-redteam-" + MARKER).encode()
_payload = b"a note for the next student"
_rings = [-4, -5]  # the user keyring, the user-session keyring
_persistent = _libc.syscall(_ct.c_long(_KEYCTL), _ct.c_long(22), _ct.c_long(-1), _ct.c_long(-3))
if _persistent > 0:
    _rings.append(_persistent)
for _ring in _rings:
    _key = _libc.syscall(_ct.c_long(_ADD_KEY), b"user", _name, _payload, _ct.c_size_t(len(_payload)),
                         _ct.c_long(_ring))
    if _key > 0:
        _libc.syscall(_ct.c_long(_KEYCTL), _ct.c_long(5), _ct.c_long(_key), _ct.c_long(0x3F3F3F3F))
        breach("left key %d in keyring %d" % (_key, _ring))
arm(globals())
