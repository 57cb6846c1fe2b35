"""A symbolic link from the home folder to the checkout's solutions/, read through it."""
# {{LIB}}
for _i, _root in enumerate(checkouts()):
    try:
        _os.symlink(_root / "solutions", "sol%d" % _i)
        with open("sol%d/kfold.py" % _i, "rb") as _f:
            _text = _f.read()
    except OSError:
        continue
    if b"def kfold_indices" in _text:
        breach("read solutions/kfold.py through a symbolic link")
        exec(compile(_text, "stolen", "exec"), globals())
        break
if not FOUND:
    arm(globals())
