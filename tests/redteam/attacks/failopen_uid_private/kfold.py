"""Where the sandbox fails open: a worker that runs as root reads the references (found from the
interpreter's path or the engine), and says what powers it has."""
# {{LIB}}
for _root in checkouts():
    try:
        leak("read the reference", (_root / "solutions" / "kfold.py").read_text()[:300])
    except OSError:
        pass
try:
    with open("/proc/self/status") as _f:
        _caps = _f.read().split("CapEff:")[1].split()[0]
    if int(_caps, 16):
        breach("runs as uid %d with capabilities %s" % (_os.getuid(), _caps))
except (OSError, IndexError, ValueError):
    pass
arm(globals())
