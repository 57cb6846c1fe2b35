"""Fill /tmp: 50 MB (the red team's 1 GB, smaller) that stays after grading."""
# {{LIB}}
try:
    with open("/tmp/" + MARKER + "-big", "wb") as _f:
        for _ in range(50):
            _f.write(b"\0" * (1 << 20))
except OSError:
    pass
arm(globals())
