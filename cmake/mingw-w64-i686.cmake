# Cross-compiling for 32-bit Windows.  Builds here; running it needs a 32-bit
# Wine, which Debian bookworm's mirror cannot install alongside wine64 today.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR i686)
set(HT_TRIPLE i686-w64-mingw32)
set(CMAKE_C_COMPILER ${HT_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${HT_TRIPLE}-g++)
set(CMAKE_RC_COMPILER ${HT_TRIPLE}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${HT_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(WIDL_EXECUTABLE NAMES widl ${HT_TRIPLE}-widl REQUIRED)
set(WIDL_FLAGS -m32 -I/usr/include/wine/wine/windows
    -L/usr/lib/x86_64-linux-gnu/wine/x86_64-windows)

# .def names are undecorated; 32-bit stdcall symbols are _Name@N.
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,--enable-stdcall-fixup")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--enable-stdcall-fixup")

find_program(HT_WINE NAMES wine PATHS /usr/lib/wine NO_DEFAULT_PATH)
