#!/usr/bin/env bash
# cmake/module.cmake's rules, on a throw-away project of three small modules (lower, middle, upper)
# built with the real sluice_module() and the real checker, the way the tree is:
#   1. the declared includes build;
#   2. an include of a module not in USES fails the build, naming the file, the line and the module;
#   3. an include of another module's detail/ fails the build, even of a module in USES;
#   4. USES of a module declared below (an upward arrow) fails at configure time;
#   5. the check follows edits: removing the bad include makes the same build directory build again.
# Usage: module_boundaries_test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
source_dir=$1
work=$2
rm -rf "$work"
mkdir -p "$work/project"
project=$work/project

fail() { echo "FAIL: $*" >&2; exit 1; }

write_project() {  # $1: the USES of upper
  cat >"$project/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(boundaries LANGUAGES CXX)
function(sluice_warnings target)
endfunction()
include("$source_dir/cmake/module.cmake")
add_subdirectory(lower)
add_subdirectory(middle)
add_subdirectory(upper)
sluice_module_boundaries()
CMAKE
  mkdir -p "$project/lower/detail" "$project/middle" "$project/upper"
  echo 'sluice_module(lower SOURCES lower.cpp)' >"$project/lower/CMakeLists.txt"
  echo 'sluice_module(middle SOURCES middle.cpp USES lower)' >"$project/middle/CMakeLists.txt"
  echo "sluice_module(upper SOURCES upper.cpp USES $1)" >"$project/upper/CMakeLists.txt"
  printf '#pragma once\ninline int lower_value() { return 1; }\n' >"$project/lower/lower.hpp"
  printf '#pragma once\ninline int lower_secret() { return 2; }\n' >"$project/lower/detail/secret.hpp"
  printf '#include "lower/lower.hpp"\n#include "lower/detail/secret.hpp"\nint lower_twice() { return lower_value() + lower_secret(); }\n' \
    >"$project/lower/lower.cpp"
  printf '#pragma once\nint middle_value();\n' >"$project/middle/middle.hpp"
  printf '#include "middle/middle.hpp"\n#include "lower/lower.hpp"\nint middle_value() { return lower_value(); }\n' \
    >"$project/middle/middle.cpp"
  printf '#include "middle/middle.hpp"\n\nint upper_value() { return middle_value(); }\n' >"$project/upper/upper.cpp"
}

build() {  # configure (if needed) and build; output in $work/out
  if [[ ! -f $work/build/build.ninja ]]; then
    cmake -S "$project" -B "$work/build" -G Ninja >"$work/out" 2>&1 || return 1
  fi
  cmake --build "$work/build" >"$work/out" 2>&1
}

# 1. Declared includes build.
write_project "middle"
build || { cat "$work/out"; fail "the declared includes did not build"; }

# 2. upper/upper.cpp includes lower/ without USES lower: the build fails and says where.
sed -i '2i #include "lower/lower.hpp"' "$project/upper/upper.cpp"
if build; then cat "$work/out"; fail "an undeclared include built"; fi
grep -q 'upper/upper.cpp:2: includes "lower/lower.hpp", but sluice_module(upper) does not USE lower (it USES middle)' \
  "$work/out" || { cat "$work/out"; fail "the message does not name the file, line and module"; }

# 5. Declaring it (an edit of upper's CMakeLists.txt) makes the same build directory build.
echo 'sluice_module(upper SOURCES upper.cpp USES lower middle)' >"$project/upper/CMakeLists.txt"
build || { cat "$work/out"; fail "the include did not build once declared"; }

# 3. Another module's detail/ is refused even when the module is in USES.
sed -i '2i #include "lower/detail/secret.hpp"' "$project/upper/upper.cpp"
if build; then cat "$work/out"; fail "an include of another module's detail/ built"; fi
grep -q 'upper/upper.cpp:2: includes "lower/detail/secret.hpp", a detail/ header of lower' "$work/out" \
  || { cat "$work/out"; fail "the detail/ message is missing"; }
sed -i '2d' "$project/upper/upper.cpp"
build || { cat "$work/out"; fail "removing the detail/ include did not build again"; }

# 4. An upward arrow: lower USES upper, which is declared after it.
rm -rf "$work/build"
echo 'sluice_module(lower SOURCES lower.cpp USES upper)' >"$project/lower/CMakeLists.txt"
if build; then cat "$work/out"; fail "an upward USES configured"; fi
grep -q 'sluice_module(lower) USES upper, which is not declared above it' "$work/out" \
  || { cat "$work/out"; fail "the upward-arrow message is missing"; }

echo "module boundaries: all rules hold"
