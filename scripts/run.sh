#!/usr/bin/env bash
# The main job on the embedded default: the Snakemake pipeline with the local
# profile on config/config.yaml. Extra flags go to snakemake (e.g. -n).
source "$(dirname "$0")/setup.sh"
exec snakemake --profile profiles/local "$@"
