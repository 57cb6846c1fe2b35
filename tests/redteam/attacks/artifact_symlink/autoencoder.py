# --- attack (appended to the reference): symbolic links in the judge's artifacts folder ------
"""Plant symbolic links where the judge saves its pictures (<results>/artifacts/autoencoder/):
the judge must not write through them (the target is a canary file the harness watches)."""
# {{LIB}}
from pathlib import Path as _Path

_dir = _Path(RESULTS_DIR) / "artifacts" / "autoencoder"
try:
    _dir.mkdir(parents=True, exist_ok=True)
except OSError:
    pass
for _name in ("autoencoder_loss_curve", "autoencoder_reconstructions", "autoencoder_denoising"):
    try:
        (_dir / (_name + ".png")).symlink_to("{{CANARY}}")
        breach("planted a symbolic link in the judge's artifacts folder")
    except OSError:
        pass
