# Cross-compiling for 64-bit Windows with Debian's MinGW-w64 and Wine.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(HT_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${HT_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${HT_TRIPLE}-g++)
set(CMAKE_RC_COMPILER ${HT_TRIPLE}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${HT_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(WIDL_EXECUTABLE NAMES widl ${HT_TRIPLE}-widl REQUIRED)
set(WIDL_FLAGS -m64 -I/usr/include/wine/wine/windows
    -L/usr/lib/x86_64-linux-gnu/wine/x86_64-windows)

# The tests run through Wine; CMakeLists.txt wraps this in a script that
# keeps Wine's prefix inside the build tree.
find_program(HT_WINE NAMES wine64 PATHS /usr/lib/wine NO_DEFAULT_PATH)
