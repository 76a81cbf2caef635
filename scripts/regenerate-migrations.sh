#!/usr/bin/env bash
# Generates the EF Core migrations of both providers from the one model.
#   scripts/regenerate-migrations.sh NAME     add a migration named NAME to both providers
#   scripts/regenerate-migrations.sh --reset  regenerate the "Initial" migration from the model
#                                             (only while no installation has a database to keep).
# Initial carries the fixed id 00000000000000_Initial so that hand-written migrations (the
# full-text index SQL, which EF Core does not model) keep running after it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 9>/tmp/mailtest-migrations.lock; flock 9   # one generator at a time on this machine
dotnet tool restore >/dev/null
name=${1:?usage: $0 NAME | --reset}
reset=false
if [ "$name" = "--reset" ]; then
  reset=true
  name=Initial
  rm -f Mailtest.Core/Data/Migrations/*/*_Initial.cs Mailtest.Core/Data/Migrations/*/*_Initial.Designer.cs \
        Mailtest.Core/Data/Migrations/*/*ModelSnapshot.cs
fi
dotnet build Mailtest.Core -nologo -v q >/dev/null
for provider in Sqlite Postgres; do
  dir="Mailtest.Core/Data/Migrations/$provider"
  dotnet ef migrations add "$name" --no-build --project Mailtest.Core --startup-project Mailtest.Core \
    --context "${provider}MailtestDbContext" --output-dir "Data/Migrations/$provider"
  if $reset; then
    for file in "$dir"/[0-9]*_Initial.cs "$dir"/[0-9]*_Initial.Designer.cs; do
      pinned="$dir/00000000000000_Initial${file##*_Initial}"
      [ "$file" = "$pinned" ] && continue
      sed -E 's/\[Migration\("[0-9]+_Initial"\)\]/[Migration("00000000000000_Initial")]/' "$file" > "$pinned"
      rm "$file"
    done
  fi
done
