#!/bin/sh
# One image, three processes: the first argument names the one to run.
#   docker run IMAGE api | worker | edge
# Anything else runs as given: docker run IMAGE python -c "import dockyard".
set -eu

process=${1:-api}
[ $# -gt 0 ] && shift
case "$process" in
  api) exec python -m api "$@" ;;
  worker) exec python -m worker "$@" ;;
  edge | sentinel) exec python -m sentinel "$@" ;;
  *) exec "$process" "$@" ;;
esac
