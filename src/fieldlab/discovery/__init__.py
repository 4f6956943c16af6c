"""Closure discovery for reaction-diffusion equations ``u_t = (D(u) u_x)_x + R(u)``.

The pipeline (:mod:`.pipeline`): data (:mod:`.data`, or a built-in case of :mod:`.cases`) ->
closures by strong-form and weak-form polynomial regression (:mod:`.poly` on :mod:`.weak`),
neural surrogates trained on the weak form (:mod:`.neural`), their symbolic compression
(:mod:`.symbolic`) and its refit on the data (weak-form coefficients, the family chosen by
re-simulating the data) -> validation by forward re-simulation (:mod:`.solver`, :mod:`.validate`) ->
the generalisation assessment (:mod:`.assess`: held-out choice, ensemble, support, forecast flags) ->
``closures.json``, ``report.md`` (:mod:`.report`) and figures (:mod:`.figures`). The methods are
registered by name in :mod:`.registry` and implemented in :mod:`.methods`. Submodules are imported on use, so
that reading a data file does not load JAX.
"""
