# widl, Wine's IDL compiler, and the one function that runs it.
#
#   ht_widl(MODE out_var idl [extra dependencies...])
#
# MODE is widl's output option: h (C header, NAME.h), u (IIDs, NAME_i.c),
# r (registry script, NAME_r.rgs) or t (type library, NAME.tlb).  idl is
# relative to the source tree; the output goes to ${HT_GEN_DIR} and its path
# to out_var.

find_program(WIDL_EXECUTABLE NAMES widl ${HT_TRIPLE}-widl REQUIRED)
# Wine's own IDL files (unknwn.idl, atliface.idl, ...): Debian's widl finds
# them itself, the MinGW-prefixed one needs the path.  They live outside the
# MinGW sysroot, so the search ignores CMAKE_FIND_ROOT_PATH.
find_path(HT_WINE_IDL_DIR NAMES atliface.idl PATH_SUFFIXES wine/wine/windows wine/windows
          NO_CMAKE_FIND_ROOT_PATH REQUIRED)
# Wine's stdole2.tlb, which the type library imports (idl/hosttask_tlb.idl):
# with Wine's PE DLLs, beside the prefix its headers are in.
string(REGEX REPLACE "/include/.*$" "" ht_wine_prefix "${HT_WINE_IDL_DIR}")
find_path(HT_WINE_TLB_DIR NAMES stdole2.tlb
          PATHS ${ht_wine_prefix}/lib
          PATH_SUFFIXES ${CMAKE_LIBRARY_ARCHITECTURE}/wine/x86_64-windows x86_64-linux-gnu/wine/x86_64-windows
                        wine/x86_64-windows
          NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH REQUIRED)
set(WIDL_FLAGS ${HT_WIDL_ARCH_FLAG} -I${HT_WINE_IDL_DIR} -L${HT_WINE_TLB_DIR})

function(ht_widl mode out_var idl)
  get_filename_component(name ${idl} NAME_WE)
  if(mode STREQUAL "h")
    set(out ${HT_GEN_DIR}/${name}.h)
  elseif(mode STREQUAL "u")
    set(out ${HT_GEN_DIR}/${name}_i.c)
  elseif(mode STREQUAL "r")
    set(out ${HT_GEN_DIR}/${name}_r.rgs)
  elseif(mode STREQUAL "t")
    set(out ${HT_GEN_DIR}/${name}.tlb)
  else()
    message(FATAL_ERROR "ht_widl: unknown mode '${mode}' (h, u, r or t)")
  endif()
  add_custom_command(OUTPUT ${out}
    COMMAND ${WIDL_EXECUTABLE} ${WIDL_FLAGS} -I${PROJECT_SOURCE_DIR}/idl -${mode} -o ${out} ${PROJECT_SOURCE_DIR}/${idl}
    DEPENDS ${PROJECT_SOURCE_DIR}/${idl} ${ARGN}
    COMMENT "widl -${mode} ${idl}" VERBATIM)
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()
