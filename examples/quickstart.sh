#!/usr/bin/env bash
# quickstart.sh: installs what sluice needs, builds it, and runs the main
# job on examples/quickstart.ini. The pipeline runtime is not there yet, so
# the job is what the core can do today: validate the pipeline's config
# and the plugins it names, and list the plugins found.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=OFF
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"
export SLUICE_PLUGIN_PATH=$PWD/build/plugins
./build/sluice plugins list
./build/sluice check examples/quickstart.ini
