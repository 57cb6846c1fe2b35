"""Send a UDP datagram (to a listener the test started on 127.0.0.1) and wait for its reply."""
# {{LIB}}
import socket as _socket

try:
    with _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM) as _s:
        _s.settimeout(3)
        _s.sendto(MARKER.encode(), ("127.0.0.1", {{UDP_PORT}}))
        _s.recvfrom(100)
    breach("UDP exchange with 127.0.0.1:{{UDP_PORT}}")
except OSError:
    pass
arm(globals())
