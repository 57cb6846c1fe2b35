"""Connect to an abstract unix socket (a listener the test started)."""
# {{LIB}}
import socket as _socket

try:
    with _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM) as _s:
        _s.settimeout(3)
        _s.connect("\0{{UNIX_NAME}}")
        _s.sendall(MARKER.encode())
    breach("connected to an abstract unix socket")
except OSError:
    pass
arm(globals())
