# SPDX-License-Identifier: GPL-3.0-or-later
# Build-time check of the stage graph: each stage includes only the stages it declares.
#
# cmake -DGRAPH=stage_graph.cmake -DROOT=SOURCE_DIR -DSTAMP=FILE -P check_stage_graph.cmake
# GRAPH (written by src/CMakeLists.txt) sets STAGES and, per stage, STAGE_<s>_STAGES (what its
# public headers may include) and STAGE_<s>_USES (what its sources may include besides).
cmake_minimum_required(VERSION 3.25)
include(${GRAPH})
set(problems "")
foreach(stage ${STAGES})
  set(allowed_headers ${stage} ${STAGE_${stage}_STAGES})
  set(allowed_sources ${allowed_headers} ${STAGE_${stage}_USES})
  file(GLOB_RECURSE headers ${ROOT}/include/lethe/${stage}/*.h)
  file(GLOB_RECURSE sources ${ROOT}/src/${stage}/*.cpp ${ROOT}/src/${stage}/*.h)
  foreach(kind headers sources)
    foreach(file ${${kind}})
      file(STRINGS ${file} lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"lethe/[a-z_]+/")
      foreach(line ${lines})
        string(REGEX REPLACE ".*\"lethe/([a-z_]+)/.*" "\\1" used "${line}")
        if(NOT used IN_LIST allowed_${kind})
          file(RELATIVE_PATH rel ${ROOT} ${file})
          string(APPEND problems "  ${rel}: stage '${stage}' includes stage '${used}', which it "
                                 "does not declare (src/${stage}/CMakeLists.txt)\n")
        endif()
      endforeach()
    endforeach()
  endforeach()
endforeach()
if(problems)
  message(FATAL_ERROR "The stage graph is broken (docs/architecture.md):\n${problems}")
endif()
file(WRITE ${STAMP} "ok\n")
