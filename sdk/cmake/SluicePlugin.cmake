# SluicePlugin.cmake: sluice_add_plugin(), the one way to build a sluice
# plugin with CMake. The same file serves the shipped plugins in this tree
# and, installed beside SluicePluginConfig.cmake, every plugin built out of
# tree after find_package(SluicePlugin). It only describes targets: where
# the SDK is (Sluice::sdk) and where plugins go (SLUICE_PLUGIN_INSTALL_DIR)
# are set by whoever includes it.
#
# sluice_add_plugin(NAME SOURCES file... [LIBRARIES lib...] [OUTPUT_DIR dir]
#                   [INSTALL_DIR dir | NO_INSTALL])
#
# Builds a sluice plugin: a MODULE library named NAME.so (no "lib"
# prefix), strict C11 (-std=c11, no GNU extensions: as sluice-plugin.pc's
# recipe builds, so that a plugin builds the same either way; POSIX
# functions need _POSIX_C_SOURCE), position-independent, with hidden
# visibility for everything but the descriptor function that SLUICE_MODULE
# exports, linked against nothing of the framework (only Sluice::sdk, the
# headers), and refusing undefined symbols at link time.
#
# Installing: INSTALL_DIR names the directory; without it the plugin goes
# to SLUICE_PLUGIN_INSTALL_DIR when SLUICE_PLUGIN_INSTALL_DEFAULT is true
# (the installed package sets both: the directory the installed `sluice`
# searches by default, relative to the install prefix); NO_INSTALL never
# installs it.
function(sluice_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIR;INSTALL_DIR"
                        "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "sluice_add_plugin(${name}): no SOURCES given")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    SUFFIX ".so"
    C_STANDARD 11
    C_STANDARD_REQUIRED ON
    C_EXTENSIONS OFF
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden)
  if(ARG_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIR})
  endif()
  target_link_libraries(${name} PRIVATE Sluice::sdk ${ARG_LIBRARIES})
  target_link_options(${name} PRIVATE "LINKER:--no-undefined")

  set(destination "")
  if(ARG_INSTALL_DIR)
    set(destination ${ARG_INSTALL_DIR})
  elseif(NOT ARG_NO_INSTALL AND SLUICE_PLUGIN_INSTALL_DEFAULT)
    set(destination ${SLUICE_PLUGIN_INSTALL_DIR})
  endif()
  if(destination)
    install(TARGETS ${name} LIBRARY DESTINATION ${destination})
  endif()
  # where it installs, for sluice_package_plugin() (SluicePluginPackage.cmake)
  set_target_properties(${name} PROPERTIES SLUICE_PLUGIN_DESTINATION "${destination}")
endfunction()
