# SluicePluginPackage.cmake: sluice_package_plugin(), a Debian package of
# plugins built out of tree with sluice_add_plugin(), made by CPack. It
# needs what SluicePluginConfig.cmake sets from the sluice that was found:
# SLUICE_PLUGIN_PREFIX (its install prefix), SLUICE_PLUGIN_DIR (the
# directory it searches), SLUICE_PLUGIN_ABI_MAJOR/_MINOR and
# SLUICE_PLUGIN_ABI_SINCE (the first sluice release with that ABI).
#
# sluice_package_plugin(PLUGIN... LICENSE_NAME spdx-id
#                       [PACKAGE name] [VERSION v] [MAINTAINER "Name <mail>"]
#                       [SUMMARY line] [DESCRIPTION text]
#                       [COPYRIGHT_HOLDER who] [LICENSE_FILE file]
#                       [DOCS file...] [DEPENDS text])
#
# After it, `cpack` in the build directory (or the `package` target)
# writes PACKAGE_VERSION_ARCH.deb holding:
#   - each PLUGIN's NAME.so in SLUICE_PLUGIN_DIR, where the installed
#     sluice finds it with nothing set (so PLUGIN must be installed by
#     sluice_add_plugin() into SLUICE_PLUGIN_INSTALL_DIR, its default);
#   - /usr/share/doc/PACKAGE/ (under sluice's prefix): the DOCS and a
#     copyright file naming COPYRIGHT_HOLDER and LICENSE_NAME, with
#     LICENSE_FILE's text, or a pointer to
#     /usr/share/common-licenses/LICENSE_NAME when Debian has it there;
#   - Depends: sluice (>= SLUICE_PLUGIN_ABI_SINCE), the first sluice whose
#     plugin ABI loads these plugins, and the libraries they link
#     (dpkg-shlibdeps), and DEPENDS.
# Defaults: PACKAGE sluice-plugin-NAME (the first PLUGIN, "_" as "-"),
# VERSION the project's, MAINTAINER CPACK_PACKAGE_CONTACT, SUMMARY the
# project's DESCRIPTION, COPYRIGHT_HOLDER the MAINTAINER. Relative files
# are relative to the calling CMakeLists.txt. One call per project:
# CPack makes one package of a build.
function(sluice_package_plugin)
  cmake_parse_arguments(ARG "" "PACKAGE;VERSION;MAINTAINER;SUMMARY;DESCRIPTION;COPYRIGHT_HOLDER;LICENSE_NAME;LICENSE_FILE;DEPENDS"
                        "DOCS" ${ARGN})
  set(plugins ${ARG_UNPARSED_ARGUMENTS})
  set(me "sluice_package_plugin(${plugins})")
  if(NOT plugins)
    message(FATAL_ERROR "sluice_package_plugin: name the plugins to package (targets of sluice_add_plugin)")
  endif()
  get_property(done GLOBAL PROPERTY SLUICE_PLUGIN_PACKAGED)
  if(done)
    message(FATAL_ERROR "${me}: a project makes one package, and sluice_package_plugin(${done}) made it: "
                        "name every plugin in one call")
  endif()
  set_property(GLOBAL PROPERTY SLUICE_PLUGIN_PACKAGED "${plugins}")

  # every plugin goes where the found sluice searches
  foreach(plugin IN LISTS plugins)
    if(NOT TARGET ${plugin})
      message(FATAL_ERROR "${me}: ${plugin} is not a target: build it with sluice_add_plugin(${plugin} ...) first")
    endif()
    get_target_property(destination ${plugin} SLUICE_PLUGIN_DESTINATION)
    if(destination STREQUAL "destination-NOTFOUND")
      message(FATAL_ERROR "${me}: ${plugin} was not made by sluice_add_plugin()")
    endif()
    if(NOT destination)
      message(FATAL_ERROR "${me}: ${plugin} is not installed (NO_INSTALL): the package would be empty")
    endif()
    get_filename_component(destination "${destination}" ABSOLUTE BASE_DIR "${SLUICE_PLUGIN_PREFIX}")
    get_filename_component(searched "${SLUICE_PLUGIN_DIR}" ABSOLUTE)
    if(NOT destination STREQUAL searched)
      message(FATAL_ERROR "${me}: ${plugin} installs into ${destination}, and the sluice found "
                          "(${SluicePlugin_DIR}) searches ${searched}: leave its INSTALL_DIR "
                          "and SLUICE_PLUGIN_INSTALL_DIR as find_package(SluicePlugin) sets them")
    endif()
  endforeach()

  # the package's names and words
  list(GET plugins 0 first)
  string(REPLACE "_" "-" package "sluice-plugin-${first}")
  if(ARG_PACKAGE)
    set(package ${ARG_PACKAGE})
  endif()
  string(TOLOWER "${package}" package)
  if(NOT package MATCHES "^[a-z0-9][a-z0-9.+-]+$")
    message(FATAL_ERROR "${me}: '${package}' is not a Debian package name "
                        "(lowercase letters, digits, '.', '+', '-'; two characters at least)")
  endif()
  set(version "${PROJECT_VERSION}")
  if(ARG_VERSION)
    set(version "${ARG_VERSION}")
  endif()
  if(NOT version MATCHES "^[0-9][A-Za-z0-9.+~-]*$")
    message(FATAL_ERROR "${me}: no version, or not a Debian one: '${version}' "
                        "(give project(... VERSION x.y.z) or VERSION)")
  endif()
  set(maintainer "${ARG_MAINTAINER}")
  if(NOT maintainer)
    set(maintainer "${CPACK_PACKAGE_CONTACT}")
  endif()
  if(NOT maintainer MATCHES "^[^<>]+ <[^<>@ ]+@[^<>@ ]+>$")
    message(FATAL_ERROR "${me}: MAINTAINER must be 'Name <address>' (Debian's Maintainer field); got '${maintainer}'")
  endif()
  set(summary "${ARG_SUMMARY}")
  if(NOT summary)
    set(summary "${PROJECT_DESCRIPTION}")
  endif()
  if(NOT summary)
    set(summary "sluice plugin ${first}")
  endif()
  string(REPLACE ";" ", " plugin_list "${plugins}")
  set(description "${ARG_DESCRIPTION}")
  if(NOT description)
    set(description "sluice plugins: ${plugin_list}.")
  endif()
  string(APPEND description "\nBuilt for sluice plugin ABI ${SLUICE_PLUGIN_ABI_MAJOR}.${SLUICE_PLUGIN_ABI_MINOR}; "
                            "installed in ${SLUICE_PLUGIN_DIR}.")

  # its docs: the DOCS and the copyright file
  if(NOT ARG_LICENSE_NAME)
    message(FATAL_ERROR "${me}: LICENSE_NAME is required (an SPDX name, e.g. Apache-2.0, as SLUICE_MODULE declares it)")
  endif()
  set(copyright "${ARG_COPYRIGHT_HOLDER}")
  if(NOT copyright)
    set(copyright "${maintainer}")
  endif()
  if(ARG_LICENSE_FILE)
    # the text as a DEP-5 field: each line indented, blank lines as " ."
    get_filename_component(license_file "${ARG_LICENSE_FILE}" ABSOLUTE)
    file(READ "${license_file}" text)
    string(REGEX REPLACE "[ \t\r]+\n" "\n" text "${text}")
    string(REGEX REPLACE "^\n+|\n+$" "" text "${text}")
    string(REPLACE "\n" "\n " text " ${text}")
    string(APPEND text "\n")
    while(text MATCHES "\n \n")
      string(REPLACE "\n \n" "\n .\n" text "${text}")
    endwhile()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${license_file}")
  elseif(EXISTS "/usr/share/common-licenses/${ARG_LICENSE_NAME}")
    set(text " On Debian systems the full text of the ${ARG_LICENSE_NAME} license is in\n /usr/share/common-licenses/${ARG_LICENSE_NAME}.\n")
  else()
    message(WARNING "${me}: /usr/share/common-licenses has no ${ARG_LICENSE_NAME}: "
                    "the package's copyright file names it without its text; give LICENSE_FILE")
    set(text " The full text of the ${ARG_LICENSE_NAME} license is not included.\n")
  endif()
  set(doc_dir "${CMAKE_CURRENT_BINARY_DIR}/sluice-package-doc")
  file(WRITE "${doc_dir}/copyright"
       "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
       "Upstream-Name: ${package}\n\n"
       "Files: *\nCopyright: ${copyright}\nLicense: ${ARG_LICENSE_NAME}\n${text}")
  install(FILES "${doc_dir}/copyright" ${ARG_DOCS} DESTINATION share/doc/${package})

  # CPack: one package, under the found sluice's prefix
  set(depends "sluice (>= ${SLUICE_PLUGIN_ABI_SINCE})")
  if(ARG_DEPENDS)
    string(APPEND depends ", ${ARG_DEPENDS}")
  endif()
  set(CPACK_GENERATOR DEB)
  set(CPACK_PACKAGE_NAME ${package})
  set(CPACK_PACKAGE_VERSION ${version})
  set(CPACK_PACKAGE_CONTACT "${maintainer}")
  set(CPACK_PACKAGING_INSTALL_PREFIX "${SLUICE_PLUGIN_PREFIX}")
  set(CPACK_STRIP_FILES ON)
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PACKAGE_NAME ${package})
  set(CPACK_DEBIAN_PACKAGE_SECTION misc)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${depends}")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "${summary}\n${description}")
  include(CPack)
endfunction()
