# generate.cmake: writes the man pages with the sluice just built, which
# writes them from its own command table and option tables (cli/man.c).
#   cmake -DSLUICE=PATH -DPLUGIN_DIR=DIR -DPLUGINS=a,b,c -DOUT=DIR -P generate.cmake
# PLUGIN_DIR holds the shipped plugins, PLUGINS names them: sluice.ini(5)
# documents those, whatever else the install directory holds.
string(REPLACE "," ";" plugins "${PLUGINS}")
set(ENV{SLUICE_PLUGIN_PATH} "${PLUGIN_DIR}")
file(MAKE_DIRECTORY "${OUT}")
foreach(page "sluice.1;1" "sluice.ini.5;5")
  list(GET page 0 name)
  list(GET page 1 section)
  set(names "")
  if(section STREQUAL 5)
    set(names ${plugins})
  endif()
  execute_process(COMMAND "${SLUICE}" help --man ${section} ${names}
                  OUTPUT_FILE "${OUT}/${name}.new"
                  ERROR_VARIABLE errors
                  RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    file(REMOVE "${OUT}/${name}.new")
    message(FATAL_ERROR "sluice help --man ${section} failed (${status}): ${errors}")
  endif()
  file(RENAME "${OUT}/${name}.new" "${OUT}/${name}")
endforeach()
