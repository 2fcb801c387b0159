"""CMA-ES tuning of the heuristic player's weights, one file per step.

A tuning run lives under ``{prefix}/tuning/{run}/`` (all JSON unless noted)::

    settings.json               the run's settings (config + defaults)
    iter_{I:02d}/baseline.json  the profile candidates play against in
                                iteration I (iter_00: the start profile;
                                later: promoted by the previous iteration)
    gen_{G:03d}/cand_{i:03d}.json   candidate i of generation G, a weight
                                profile (loadable with --heuristic-profile)
    gen_{G:03d}/eval_{i:03d}.json   its games against the baseline
    gen_{G:03d}/result.json     the generation told to CMA-ES: scores, best,
                                the search distribution's mean and sigma
    profile.json                the tuned profile (the last baseline)
    validation.json             tuned vs the shipped profile, with a 95% CI
    summary.json, fitness.png   fitness per generation

Generation G belongs to iteration G // generations. CMA-ES (library ``cma``)
searches x in R^19 around the iteration's baseline b: weights = b + s * x with
s = max(|b|, 1) per weight, so a step of sigma is a relative change for big
weights and can flip a sign. Its state is never stored: every step rebuilds it
by replaying the iteration's ask/tell history from the seed, which is exact
(checked against the stored candidates) and keeps every file a pure function
of the settings, so reruns are byte-identical.
"""
