# 32-bit Windows: cmake/mingw-w64.cmake with HT_ARCH=i686.
set(HT_ARCH i686)
include(${CMAKE_CURRENT_LIST_DIR}/mingw-w64.cmake)
