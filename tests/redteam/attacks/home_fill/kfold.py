"""Write more than the home folder's size limit into it."""
# {{LIB}}
_written = 0
try:
    with open("fill.bin", "wb") as _f:
        for _ in range({{HOME_MB}} + 8):
            _f.write(b"\1" * (1 << 20))
            _f.flush()
            _written += 1
except OSError:
    pass
if _written > {{HOME_MB}}:
    breach("wrote %d MB into a home limited to {{HOME_MB}} MB" % _written)
arm(globals())
