#!/usr/bin/env bash
# The whole test suite (installs the package with its test extras first).
RINGRIFT_EXTRAS=test,aws,azure source "$(dirname "$0")/setup.sh"
# One worker per core, each test file on one worker (a file's servers and
# finished runs are module fixtures): most tests wait on subprocesses.
exec python -m pytest -n auto --dist loadfile "$@"
