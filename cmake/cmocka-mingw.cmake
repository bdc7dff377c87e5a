# CMocka for the MinGW target: Debian ships it for Linux only, so the build
# fetches Debian's cmocka source package (the same version as the native
# libcmocka-dev) and cross-builds a static library, once per build tree.
set(HT_CMOCKA_DEPS ${CMAKE_BINARY_DIR}/_deps)
set(HT_CMOCKA_PREFIX ${HT_CMOCKA_DEPS}/${HT_TRIPLE} CACHE PATH "Cross-built CMocka")

if(NOT EXISTS ${HT_CMOCKA_PREFIX}/lib/libcmocka-static.a)
  file(GLOB cmocka_src LIST_DIRECTORIES true ${HT_CMOCKA_DEPS}/src/cmocka-*)
  list(FILTER cmocka_src EXCLUDE REGEX "\\.(tar|dsc|diff|debian)")
  if(NOT cmocka_src)
    message(STATUS "Fetching Debian's cmocka source package")
    execute_process(COMMAND sh ${PROJECT_SOURCE_DIR}/cmake/fetch-cmocka.sh ${HT_CMOCKA_DEPS}
                    RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "Could not fetch the cmocka source package (apt-get source cmocka)")
    endif()
    file(GLOB cmocka_src LIST_DIRECTORIES true ${HT_CMOCKA_DEPS}/src/cmocka-*)
    list(FILTER cmocka_src EXCLUDE REGEX "\\.(tar|dsc|diff|debian)")
  endif()
  list(GET cmocka_src 0 cmocka_src)
  message(STATUS "Cross-building CMocka from ${cmocka_src}")
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${cmocka_src} -B ${HT_CMOCKA_DEPS}/cmocka-build
                    -DCMAKE_TOOLCHAIN_FILE=${CMAKE_TOOLCHAIN_FILE} -DHT_ARCH=${HT_ARCH}
                    -DCMAKE_BUILD_TYPE=Release
                    -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF
                    -DCMAKE_INSTALL_PREFIX=${HT_CMOCKA_PREFIX}
                  OUTPUT_QUIET RESULT_VARIABLE rc)
  if(rc EQUAL 0)
    execute_process(COMMAND ${CMAKE_COMMAND} --build ${HT_CMOCKA_DEPS}/cmocka-build -j 2
                    OUTPUT_QUIET RESULT_VARIABLE rc)
  endif()
  if(rc EQUAL 0)
    execute_process(COMMAND ${CMAKE_COMMAND} --install ${HT_CMOCKA_DEPS}/cmocka-build
                    OUTPUT_QUIET RESULT_VARIABLE rc)
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "Cross-building CMocka failed")
  endif()
endif()

# The installed cmocka-config.cmake names lib/cmocka.dll.a, a file that does
# not exist: find the static library by path instead.
find_path(CMOCKA_INCLUDE_DIR cmocka.h PATHS ${HT_CMOCKA_PREFIX}/include
          NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH REQUIRED)
find_library(CMOCKA_STATIC_LIBRARY NAMES cmocka-static PATHS ${HT_CMOCKA_PREFIX}/lib
             NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH REQUIRED)
add_library(cmocka STATIC IMPORTED)
set_target_properties(cmocka PROPERTIES IMPORTED_LOCATION ${CMOCKA_STATIC_LIBRARY}
                      INTERFACE_INCLUDE_DIRECTORIES ${CMOCKA_INCLUDE_DIR}
                      INTERFACE_COMPILE_DEFINITIONS CMOCKA_STATIC)
