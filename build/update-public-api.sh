#!/usr/bin/env bash
# Records the packages' public API: builds, takes every symbol the PublicApiAnalyzers report as new (RS0016) or gone
# (RS0017), and writes each project's PublicAPI.Unshipped.txt to match. Run it after a deliberate API change, then
# read the diff: it is the change users will see.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# A project whose reference fails to build isn't compiled: passes until nothing changes (the core, then the web package).
for pass in 1 2 3; do
dotnet build src/InProcServe.AspNetCore -c Release -p:TreatWarningsAsErrors=false -p:WarningsAsErrors=RS0016%3BRS0017 --no-incremental >"$log" 2>&1 || true
set +e
python3 - "$log" <<'PY'
import re, sys, collections
added, removed = collections.defaultdict(set), collections.defaultdict(set)
for line in open(sys.argv[1]):
    m = re.search(r"(RS0016|RS0017): Symbol '(.+?)' is (?:not part of the declared public API|part of the declared API, but is either not public or could not be found).*\[(.+?)\.csproj\]", line)
    if m:
        (added if m.group(1) == 'RS0016' else removed)[m.group(3).rsplit('/', 1)[0]].add(m.group(2))
for folder in set(added) | set(removed):
    path = folder + '/PublicAPI.Unshipped.txt'
    lines = [l.rstrip('\n') for l in open(path) if l.strip() and not l.startswith('#')]
    kept = sorted((set(lines) - removed[folder]) | added[folder], key=str.lower)
    open(path, 'w').write('#nullable enable\n' + ''.join(l + '\n' for l in kept))
    print(f"{path}: +{len(added[folder])} -{len(removed[folder])}")
if not added and not removed:
    sys.exit(3)
PY
status=$?
[ "$status" = 3 ] && break
[ "$status" = 0 ] || exit "$status"
done
