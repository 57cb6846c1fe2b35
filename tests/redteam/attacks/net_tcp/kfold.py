"""Open a TCP connection (to a listener the test started on 127.0.0.1)."""
# {{LIB}}
import socket as _socket

try:
    with _socket.create_connection(("127.0.0.1", {{TCP_PORT}}), timeout=3) as _s:
        _s.sendall(MARKER.encode())
    breach("TCP connection to 127.0.0.1:{{TCP_PORT}}")
except OSError:
    pass
arm(globals())
