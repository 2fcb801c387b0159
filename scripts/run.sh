#!/usr/bin/env bash
# The main job on the embedded default: play and summarise a batch of games.
source "$(dirname "$0")/setup.sh"
exec ringrift play --board-type square8 --num-players 2 --games 200 --seed 1 "$@"
