"""Regenerate the small excerpts of published reference data in this folder.

    python tests/data/make_excerpts.py /path/to/reference-data

The sources are the data sets of DeepXDE's examples (github.com/lululxvi/deepxde, ``examples/dataset/``):
``Burgers.npz``, ``Allen_Cahn.mat`` and ``reaction.npz``. Each excerpt keeps every k-th grid line
of the original (the end points included where the stride divides the grid), a few kilobytes in all,
so that the tests that compare fieldlab's reference solvers with outside data run in a fresh clone.
"""

import sys
from pathlib import Path

import numpy as np


def main(source: Path, out: Path) -> None:
    d = np.load(source / "Burgers.npz")
    # x (256, 1), t (100, 1), usol (256 x, 100 t)
    np.savez_compressed(out / "burgers_deepxde_excerpt.npz", x=d["x"][::8], t=d["t"][::5], usol=d["usol"][::8, ::5])

    import scipy.io

    m = scipy.io.loadmat(source / "Allen_Cahn.mat")
    # x (1, 201), t (1, 101), u (101 t, 201 x)
    np.savez_compressed(out / "allen_cahn_deepxde_excerpt.npz", x=m["x"][:, ::10], t=m["t"][:, ::10],
                        u=m["u"][::10, ::10])

    r = np.load(source / "reaction.npz")
    # x (1, 201), t (1, 201), Ca and Cb (201 t, 201 x)
    np.savez_compressed(out / "reaction_deepxde_excerpt.npz", x=r["x"][:, ::10], t=r["t"][:, ::10],
                        Ca=r["Ca"][::10, ::10], Cb=r["Cb"][::10, ::10])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).parent)
