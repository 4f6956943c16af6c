"""Training: the Recipe, the loop that runs its stages, the loss, the optimisers and checkpoints.

Users reach this through :func:`fieldlab.train`; the modules are documented for those who extend it.
"""
