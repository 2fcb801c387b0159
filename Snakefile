# RingRift self-play: shards of games -> per-worker Parquet parts -> shuffled
# aggregate per dataset (+ optional JSONL.gz in the seed's format).
# Run: snakemake --profile profiles/local     (plan only: add -n)
# CMA-ES tuning of the heuristic weights (config `tuning`): add the target `tune`.
from snakemake.utils import min_version, validate

min_version("9.0")


# The embedded default only when no --configfile is given: Snakemake merges
# config files key by key, so a user's datasets would otherwise run beside the
# default one and inherit its missing settings.
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


check_datasets()


include: "workflow/rules/selfplay.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/export.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/tensors.smk"
include: "workflow/rules/tuning.smk"


rule all:
    default_target: True
    input:
        all_targets(),
