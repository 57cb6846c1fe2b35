"""Write more than the home folder's size limit into it, 1 MB a file (a limit per file is not
a limit on the home)."""
# {{LIB}}
_written = 0
try:
    for _i in range({{HOME_MB}} + 8):
        with open("fill%03d.bin" % _i, "wb") as _f:
            _f.write(b"\1" * (1 << 20))
        _written += 1
except OSError:
    pass
if _written > {{HOME_MB}}:
    breach("wrote %d MB into a home limited to {{HOME_MB}} MB" % _written)
arm(globals())
