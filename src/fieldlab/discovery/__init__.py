"""Closure discovery for reaction-diffusion equations ``u_t = (D(u) u_x)_x + R(u)``.

``solver`` re-simulates a pair of closures (method of lines, stiff integrator), ``cases`` holds the
benchmark closures, observation regimes and initial conditions, and ``data`` reads and writes
observed fields (``.npz`` or NetCDF).
"""
