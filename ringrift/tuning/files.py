"""The names of a tuning run's files, relative to its folder (layout in
``ringrift/tuning/__init__.py``). The one place they are spelled: the package
and the workflow's rules (workflow/rules/tuning.smk, common.smk) both use them.

The patterns carry Snakemake's wildcard names ({it}: 2 digits, {gen} and {cand}:
3 digits); the functions fill them in for one iteration, generation, candidate.
No heavy imports: the workflow imports this module when it parses its rules.
"""

SETTINGS = "settings.json"
BASELINE = "iter_{it}/baseline.json"
CANDIDATES = "gen_{gen}/candidates.json"
CAND = "gen_{gen}/cand_{cand}.json"
EVAL = "gen_{gen}/eval_{cand}.json"
RESULT = "gen_{gen}/result.json"
PROFILE = "profile.json"
VALIDATION = "validation.json"
SUMMARY = "summary.json"
FITNESS_PLOT = "fitness.png"
# what the workflow's `tune` target asks for, per run
FINAL = (PROFILE, VALIDATION, SUMMARY, FITNESS_PLOT)


def settings_file() -> str:
    return SETTINGS


def baseline_file(it: int) -> str:
    return BASELINE.format(it=f"{it:02d}")


def candidates_file(gen: int) -> str:
    return CANDIDATES.format(gen=f"{gen:03d}")


def cand_file(gen: int, i: int) -> str:
    return CAND.format(gen=f"{gen:03d}", cand=f"{i:03d}")


def eval_file(gen: int, i: int) -> str:
    return EVAL.format(gen=f"{gen:03d}", cand=f"{i:03d}")


def result_file(gen: int) -> str:
    return RESULT.format(gen=f"{gen:03d}")
