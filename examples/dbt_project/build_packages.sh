#!/bin/sh
# Writes the two dbt packages this project installs (packages.yml), one per
# way of serving statistics. Run it again after changing a spec or a fit.
#   PREP=path/to/prep ./build_packages.sh     (default: prep on PATH)
set -eu
PREP=${PREP:-prep}
cd "$(dirname "$0")"
# churn: the statistics are learned in the warehouse, from ref('train'), when
# dbt builds churn__params (at every build; with --vars '{prep_fit: once}'
# only on the first build and on --full-refresh).
"$PREP" compile specs/churn.yml --emit dbt-package --out prep_features
# segments: the statistics are pinned to one fit, written into the package
# as literals; training rows never change them. A package name and a model
# prefix of its own keep it apart from the other. The fit was made with
#   prep fit specs/segments.yml --data seeds/train.csv --out specs/segments.fitted.yml
"$PREP" compile specs/segments.yml --emit dbt-package --params specs/segments.fitted.yml \
  --package-name pinned_features --model-prefix pinned_ --out pinned_features
