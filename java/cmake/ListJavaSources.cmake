# Writes the javac argument file listing the .java files SWIG generated in DIR
# (their names are only known once SWIG has run). Usage:
#   cmake -DDIR=<dir> -DOUT=<file> -P ListJavaSources.cmake
file(GLOB_RECURSE sources "${DIR}/*.java")
list(SORT sources)
set(content "")
foreach(s IN LISTS sources)
  string(APPEND content "\"${s}\"\n")
endforeach()
if(content STREQUAL "")
  message(FATAL_ERROR "no generated Java sources in ${DIR}")
endif()
file(WRITE "${OUT}" "${content}")
