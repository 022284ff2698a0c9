# Fails when a source file includes a header from a floor above its own, or
# from another folder of its own floor. Floors, lowest first:
#   runtime -> connectors -> actors | config | sql -> engine -> cli
# Run as `cmake -DSOURCE_DIR=<root> [-DSTAMP=<file>] -P CheckFloors.cmake`; the
# build runs it on every change of a source file, so a wrong include fails
# the build, not only a test.

set(floor_runtime 0)
set(floor_connectors 1)
set(floor_actors 2)
set(floor_config 2)
set(floor_sql 2)
set(floor_engine 3)
set(floor_cli 4)
set(folders runtime connectors actors config sql engine cli)

set(violations "")
foreach(folder ${folders})
  file(GLOB_RECURSE files "${SOURCE_DIR}/${folder}/*.hpp"
       "${SOURCE_DIR}/${folder}/*.cpp")
  foreach(path ${files})
    file(STRINGS "${path}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    file(RELATIVE_PATH rel "${SOURCE_DIR}" "${path}")
    foreach(line ${lines})
      if(line MATCHES "\"([a-z_]+)/[^\"]+\"")
        set(target "${CMAKE_MATCH_1}")
        if(DEFINED floor_${target} AND NOT target STREQUAL folder)
          if(floor_${target} GREATER_EQUAL floor_${folder})
            string(STRIP "${line}" line)
            string(APPEND violations
                   "\n  ${rel}: ${line} (${folder} is floor ${floor_${folder}}, "
                   "${target} is floor ${floor_${target}})")
          endif()
        endif()
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR
          "includes that go up a floor or across one:${violations}\n"
          "floors: runtime -> connectors -> actors | config | sql -> engine -> cli")
endif()
if(STAMP)
  file(TOUCH "${STAMP}")
endif()
