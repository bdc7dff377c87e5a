# 64-bit Windows: cmake/mingw-w64.cmake with HT_ARCH=x86_64.
set(HT_ARCH x86_64)
include(${CMAKE_CURRENT_LIST_DIR}/mingw-w64.cmake)
