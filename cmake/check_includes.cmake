# cmake/check_includes.cmake: the build step behind sluice_module()'s "declared" rule (see
# cmake/module.cmake). Run as
#
#   cmake -DSLUICE_MODULE=<name> -DSLUICE_MODULE_USES=<a|b|...> -DSLUICE_MODULE_FILES=<f1|f2|...>
#         -DSLUICE_SOURCE_DIR=<repository root> -DSLUICE_STAMP=<file to touch> -P check_includes.cmake
#
# It reads every #include "x/..." (or <x/...>) line of the files and fails when x is a top-level
# folder of the repository other than the module and the modules it USES, or when the include
# reaches into another module's detail/. On success it writes the stamp.
cmake_minimum_required(VERSION 3.25)

foreach(input SLUICE_MODULE SLUICE_MODULE_FILES SLUICE_SOURCE_DIR SLUICE_STAMP)
  if(NOT DEFINED ${input})
    message(FATAL_ERROR "check_includes.cmake: ${input} is not set")
  endif()
endforeach()
string(REPLACE "|" ";" files "${SLUICE_MODULE_FILES}")
string(REPLACE "|" ";" uses "${SLUICE_MODULE_USES}")
set(allowed ${SLUICE_MODULE} ${uses})
if(uses)
  list(JOIN uses " " shown_uses)
else()
  set(shown_uses "nothing")
endif()

set(faults "")
foreach(file IN LISTS files)
  if(NOT EXISTS "${file}")
    continue()  # deleted since configure: the glob re-runs at the next build
  endif()
  # One list element a line: characters that mean something in a CMake list (';', '[', ']', '\')
  # are blanked first, so that no line is split or merged and line numbers stay true.
  file(READ "${file}" text)
  string(REGEX REPLACE "[];[\\]" " " text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(number 0)
  foreach(line IN LISTS lines)
    math(EXPR number "${number} + 1")
    if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*[\"<]([^\">]+)[\">]")
      continue()
    endif()
    set(included "${CMAKE_MATCH_1}")
    if(NOT included MATCHES "^([A-Za-z0-9_.-]+)/")
      continue()
    endif()
    set(folder "${CMAKE_MATCH_1}")
    if(NOT IS_DIRECTORY "${SLUICE_SOURCE_DIR}/${folder}")
      continue()  # a system or generated header (<boost/...>, "embedded/...")
    endif()
    file(RELATIVE_PATH shown "${SLUICE_SOURCE_DIR}" "${file}")
    if(NOT folder IN_LIST allowed)
      string(APPEND faults "  ${shown}:${number}: includes \"${included}\", but sluice_module(${SLUICE_MODULE}) "
                           "does not USE ${folder} (it USES ${shown_uses}); add ${folder} to its USES if DESIGN.md's "
                           "table allows it, or move the code\n")
    elseif(NOT folder STREQUAL SLUICE_MODULE AND included MATCHES "^[^/]+/(.*/)?detail/")
      string(APPEND faults "  ${shown}:${number}: includes \"${included}\", a detail/ header of ${folder}: "
                           "only ${folder}/ itself may include it\n")
    endif()
  endforeach()
endforeach()

if(faults)
  file(REMOVE "${SLUICE_STAMP}")
  message(FATAL_ERROR "module ${SLUICE_MODULE}: includes outside what it declares\n${faults}")
endif()
file(WRITE "${SLUICE_STAMP}" "${SLUICE_MODULE}: includes checked\n")
