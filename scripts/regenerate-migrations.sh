#!/usr/bin/env bash
# Generates the EF Core migrations of both providers from the one model.
#   scripts/regenerate-migrations.sh NAME     add a migration named NAME to both providers
#   scripts/regenerate-migrations.sh --reset  drop every migration and start again from "Initial"
#                                             (only while no installation has a database to keep)
set -euo pipefail
cd "$(dirname "$0")/.."
exec 9>/tmp/mailtest-migrations.lock; flock 9   # one generator at a time on this machine
dotnet tool restore >/dev/null
name=${1:?usage: $0 NAME | --reset}
if [ "$name" = "--reset" ]; then
  rm -rf Mailtest.Core/Data/Migrations
  name=Initial
fi
dotnet build Mailtest.Core -nologo -v q >/dev/null
for provider in Sqlite Postgres; do
  dotnet ef migrations add "$name" --no-build --project Mailtest.Core --startup-project Mailtest.Core \
    --context "${provider}MailtestDbContext" --output-dir "Data/Migrations/$provider"
done
