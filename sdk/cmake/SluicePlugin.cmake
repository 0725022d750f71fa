# sluice_add_plugin(NAME SOURCES file... [LIBRARIES lib...] [OUTPUT_DIR dir]
#                   [INSTALL_DIR dir])
#
# Builds a sluice plugin: a MODULE library named NAME.so (no "lib"
# prefix), position-independent, with hidden visibility for everything but
# the descriptor function, linked against nothing of the framework, and
# refusing undefined symbols at link time.
function(sluice_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIR;INSTALL_DIR" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden)
  if(ARG_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIR})
  endif()
  target_link_libraries(${name} PRIVATE Sluice::sdk ${ARG_LIBRARIES})
  target_link_options(${name} PRIVATE "LINKER:--no-undefined")
  if(ARG_INSTALL_DIR)
    install(TARGETS ${name} LIBRARY DESTINATION ${ARG_INSTALL_DIR})
  endif()
endfunction()
