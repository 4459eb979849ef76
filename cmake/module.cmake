# cmake/module.cmake: one function declares a module (DESIGN.md's table: one folder, one concept,
# one library), so the table's "may use" column is written once, in the module's CMakeLists.txt,
# and the build enforces it.
#
#   sluice_module(<name>
#     SOURCES            <files>...    the library's sources, relative to the module's folder
#     [USES              <module>...]  the sluice modules it may include and link (declared above)
#     [PUBLIC_LIBRARIES  <target>...]  other libraries its headers expose (Boost::json, sluice_asio)
#     [PRIVATE_LIBRARIES <target>...]  libraries only its .cpp files see (hiredis, libpq, OpenSSL))
#
# defines the static library sluice_<name> (the repository root as its PUBLIC include directory,
# our warnings as errors) linked PUBLIC to sluice_<used> for each USES, and enforces two rules:
#
#   down only   a module may USE only modules declared before it (add_subdirectory order in the
#               top-level CMakeLists.txt follows DESIGN.md's table), so a cycle cannot be written;
#   declared    every #include "<folder>/..." in the module's folder (any .hpp/.cpp/.h below it,
#               executables' main.cpp included) names the module itself or one it USES, and never
#               another module's detail/. <folder> counts when it is a top-level folder of the
#               repository (so tests/ and bench/ count too; generated "embedded/" does not).
#
# The second rule is a build step (cmake/check_includes.cmake) that every module library depends
# on, through the one target `module_boundaries` (see sluice_module_boundaries()): whatever a
# build builds (release, dev, tsan, fuzz: every target links a module), it first checks every
# module, and fails naming the file, the line, the include and the USES to add. The check re-runs
# when a file of the module, its CMakeLists.txt or the checker changes.

set_property(GLOBAL PROPERTY SLUICE_MODULE_CHECKER "${CMAKE_CURRENT_LIST_DIR}/check_includes.cmake")

function(sluice_module name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;USES;PUBLIC_LIBRARIES;PRIVATE_LIBRARIES")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "sluice_module(${name}): unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "sluice_module(${name}): no SOURCES")
  endif()
  get_property(declared GLOBAL PROPERTY SLUICE_MODULES)
  if(name IN_LIST declared)
    message(FATAL_ERROR "sluice_module(${name}): declared twice")
  endif()
  foreach(used IN LISTS arg_USES)
    if(used STREQUAL name)
      message(FATAL_ERROR "sluice_module(${name}): a module does not USE itself")
    endif()
    if(NOT used IN_LIST declared)
      message(FATAL_ERROR "sluice_module(${name}) USES ${used}, which is not declared above it: "
                          "modules may use only what comes before them (DESIGN.md's table; the order "
                          "of add_subdirectory in the top-level CMakeLists.txt)")
    endif()
  endforeach()

  set(target sluice_${name})
  add_library(${target} STATIC ${arg_SOURCES})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  list(TRANSFORM arg_USES PREPEND sluice_ OUTPUT_VARIABLE used_targets)
  target_link_libraries(${target} PUBLIC ${used_targets} ${arg_PUBLIC_LIBRARIES} PRIVATE ${arg_PRIVATE_LIBRARIES})
  sluice_warnings(${target})

  # The include check of this module's folder.
  file(GLOB_RECURSE files CONFIGURE_DEPENDS LIST_DIRECTORIES false
       "${CMAKE_CURRENT_SOURCE_DIR}/*.hpp" "${CMAKE_CURRENT_SOURCE_DIR}/*.cpp" "${CMAKE_CURRENT_SOURCE_DIR}/*.h")
  list(SORT files)
  list(JOIN files "|" joined_files)
  list(JOIN arg_USES "|" joined_uses)
  list(JOIN arg_USES " " shown_uses)
  get_property(checker GLOBAL PROPERTY SLUICE_MODULE_CHECKER)
  set(stamp "${CMAKE_CURRENT_BINARY_DIR}/${target}.includes-checked")
  add_custom_command(
    OUTPUT "${stamp}"
    COMMAND "${CMAKE_COMMAND}" "-DSLUICE_MODULE=${name}" "-DSLUICE_MODULE_USES=${joined_uses}"
            "-DSLUICE_MODULE_FILES=${joined_files}" "-DSLUICE_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
            "-DSLUICE_STAMP=${stamp}" -P "${checker}"
    DEPENDS ${files} "${checker}" "${CMAKE_CURRENT_LIST_FILE}"
    COMMENT "Checking that ${name}/ includes only itself and what it USES (${shown_uses})"
    VERBATIM)
  add_custom_target(${target}_boundaries DEPENDS "${stamp}")

  set_property(GLOBAL APPEND PROPERTY SLUICE_MODULES ${name})
endfunction()

# Call once, after every module is declared: the target `module_boundaries` (built by default)
# runs every module's include check, and every module library waits for it.
function(sluice_module_boundaries)
  get_property(modules GLOBAL PROPERTY SLUICE_MODULES)
  add_custom_target(module_boundaries ALL)
  foreach(module IN LISTS modules)
    add_dependencies(module_boundaries sluice_${module}_boundaries)
  endforeach()
  foreach(module IN LISTS modules)
    add_dependencies(sluice_${module} module_boundaries)
  endforeach()
endfunction()
