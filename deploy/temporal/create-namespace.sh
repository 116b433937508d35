#!/bin/sh
# One-shot (compose service temporal-namespace, image temporalio/admin-tools): make sure
# the namespace dockyard uses exists once the server answers. dockyard registers its own
# search attributes in it when it starts.
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${NAMESPACE:=default}"
: "${RETENTION:=72h}"

tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "temporal-namespace: $TEMPORAL_ADDRESS is not healthy after 2 minutes" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "temporal-namespace: $NAMESPACE exists"
else
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" \
    --retention "$RETENTION"
  echo "temporal-namespace: $NAMESPACE created (retention $RETENTION)"
fi
