"""Control characters in exception messages and printed output: terminal escapes (clear screen,
colours, window title, OSC 52 clipboard), NUL, backspace, vertical tab, form feed, a C1 CSI,
a lone surrogate. junit.xml must still parse and the CI output must carry no ESC."""
# {{LIB}}
import sys as _sys3

_NASTY = ("\x1b[2J\x1b[31mred\x1b[0m \x1b]0;pwned title\x07 \x1b]52;c;cHduZWQ=\x07 nul\x00 "
          "back\x08\x08 cr\r vt\x0b ff\x0c del\x7f c1\x9b31m surrogate\ud800 nonchar\ufffe end")
try:
    _sys3.stdout.buffer.write(("printed:" + _NASTY + "\n").encode("utf-8", "surrogatepass"))
    _sys3.stdout.flush()
except Exception:
    pass


def kfold_indices(*args, **kwargs):
    raise ValueError("kfold_indices failed:" + _NASTY)


def iterated_kfold_indices(*args, **kwargs):
    raise ValueError(_NASTY)
