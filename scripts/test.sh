#!/usr/bin/env bash
# The whole test suite (installs the package with its test extras first).
RINGRIFT_EXTRAS=test,aws,azure source "$(dirname "$0")/setup.sh"
exec python -m pytest "$@"
