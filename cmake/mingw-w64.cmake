# Cross-compiling for Windows with Debian's MinGW-w64 and Wine, one file for
# both architectures.  HT_ARCH is x86_64 (the default) or i686; the two
# wrappers mingw-w64-x86_64.cmake and mingw-w64-i686.cmake set it, so that a
# nested build given only CMAKE_TOOLCHAIN_FILE (the cross-built CMocka, the
# consumer tests) targets the same architecture.
if(NOT HT_ARCH)
  set(HT_ARCH x86_64)
endif()
set(HT_ARCH ${HT_ARCH} CACHE STRING "Windows target architecture: x86_64 or i686")
if(NOT HT_ARCH MATCHES "^(x86_64|i686)$")
  message(FATAL_ERROR "HT_ARCH must be x86_64 or i686, not '${HT_ARCH}'")
endif()
# try_compile projects read this file again: hand them the architecture.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HT_ARCH)

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR ${HT_ARCH})
set(HT_TRIPLE ${HT_ARCH}-w64-mingw32)
set(CMAKE_C_COMPILER ${HT_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${HT_TRIPLE}-g++)
set(CMAKE_RC_COMPILER ${HT_TRIPLE}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${HT_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

if(HT_ARCH STREQUAL "i686")
  # widl's pointer size, and the Wine loader that runs the tests: a 32-bit
  # Wine (wine32:i386) is not installable from Debian bookworm's mirror
  # next to wine64, so on such a machine HT_WINE stays unfound and the i686
  # build is compiled and checked, not run.
  set(HT_WIDL_ARCH_FLAG -m32)
  set(HT_WINE_NAMES wine)
  # .def names are undecorated; 32-bit stdcall symbols are _Name@N.
  set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,--enable-stdcall-fixup")
  set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--enable-stdcall-fixup")
else()
  set(HT_WIDL_ARCH_FLAG -m64)
  set(HT_WINE_NAMES wine64)
endif()

# The tests run through Wine; CMakeLists.txt wraps the loader in a script
# that keeps Wine's prefix inside the build tree.  The loader is looked for
# beside the real wineserver (Debian keeps both in lib/wine, off PATH, and
# /usr/bin/wine is a launcher script, not a 32-bit loader).
find_program(HT_WINESERVER wineserver)
if(HT_WINESERVER)
  file(REAL_PATH ${HT_WINESERVER} ht_wineserver_real)
  get_filename_component(ht_wine_dir ${ht_wineserver_real} DIRECTORY)
  find_program(HT_WINE NAMES ${HT_WINE_NAMES} PATHS ${ht_wine_dir} NO_DEFAULT_PATH)
endif()
