#!/bin/sh
# Regenerates the build system from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")/.."
mkdir -p build/aux build/m4
autoreconf -fi
