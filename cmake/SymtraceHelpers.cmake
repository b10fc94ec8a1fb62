# symtrace_component(NAME DEPS ...): a static library from src/NAME/*.cpp.
# Sources are globbed so that adding a file to a component needs no CMake edit.
function(symtrace_component name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp)
  if(NOT srcs)  # a component not yet written: a header-only placeholder
    add_library(symtrace_${name} INTERFACE)
    target_include_directories(symtrace_${name} INTERFACE ${CMAKE_SOURCE_DIR}/include)
    target_link_libraries(symtrace_${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(symtrace_${name} STATIC ${srcs})
  target_include_directories(symtrace_${name} PUBLIC ${CMAKE_SOURCE_DIR}/include
                             PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(symtrace_${name} PUBLIC ${ARG_DEPS} PRIVATE symtrace_warnings)
  symtrace_isa_flags(symtrace_${name})
endfunction()

# Per-file ISA flags chosen by file name: *avx512*.cpp and *avx2*.cpp get the
# instructions they are named after; everything else stays baseline x86-64 so the
# binary runs on any CPU and dispatches at run time.
function(symtrace_isa_flags target)
  get_target_property(srcs ${target} SOURCES)
  foreach(src IN LISTS srcs)
    get_filename_component(fname ${src} NAME)
    if(fname MATCHES "avx512")
      set_source_files_properties(${src} TARGET_DIRECTORY ${target} PROPERTIES COMPILE_OPTIONS
        "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-mavx512bf16;-mfma;-mf16c;-mavx2")
    elseif(fname MATCHES "avx2")
      set_source_files_properties(${src} TARGET_DIRECTORY ${target} PROPERTIES COMPILE_OPTIONS
        "-mavx2;-mfma;-mf16c")
    endif()
  endforeach()
endfunction()

# symtrace_test(NAME SOURCES ... DEPS ...): one GoogleTest executable registered with CTest.
function(symtrace_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main symtrace_warnings)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR})
  target_compile_definitions(${name} PRIVATE SYMTRACE_REFDATA_DIR="${SYMTRACE_REFDATA_DIR}"
                             SYMTRACE_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  symtrace_isa_flags(${name})
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                       PROPERTIES ENVIRONMENT "SYMTRACE_REFDATA_DIR=${SYMTRACE_REFDATA_DIR}")
endfunction()
