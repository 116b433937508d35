#!/bin/sh
# One-shot (compose service temporal-schema, image temporalio/admin-tools): bring
# Temporal's two databases to the schema of this admin-tools version. Safe on every
# `docker compose up`: setup-schema leaves an existing schema alone and update-schema
# applies only the versions not applied yet, which is also how a Temporal upgrade runs.
set -eu

: "${POSTGRES_HOST:=postgres}"
: "${POSTGRES_PORT:=5432}"
: "${POSTGRES_USER:?}"
: "${SQL_PASSWORD:?the PostgreSQL password, read by temporal-sql-tool}"
schemas=/etc/temporal/schema/postgresql/v12

migrate() { # database schema-directory
  echo "temporal-schema: $1"
  temporal-sql-tool --plugin postgres12 --endpoint "$POSTGRES_HOST" --port "$POSTGRES_PORT" \
    --user "$POSTGRES_USER" --database "$1" setup-schema -v 0.0
  temporal-sql-tool --plugin postgres12 --endpoint "$POSTGRES_HOST" --port "$POSTGRES_PORT" \
    --user "$POSTGRES_USER" --database "$1" update-schema -d "$schemas/$2/versioned"
}

migrate temporal temporal
migrate temporal_visibility visibility
echo "temporal-schema: up to date"
