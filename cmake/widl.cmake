# One function per widl output mode; outputs go to ${HT_GEN_DIR}.
# WIDL_EXECUTABLE and WIDL_FLAGS come from the toolchain file.

function(ht_widl_header out_var idl)
  get_filename_component(name ${idl} NAME_WE)
  set(out ${HT_GEN_DIR}/${name}.h)
  add_custom_command(OUTPUT ${out}
    COMMAND ${WIDL_EXECUTABLE} ${WIDL_FLAGS} -I${PROJECT_SOURCE_DIR}/idl -h -o ${out} ${PROJECT_SOURCE_DIR}/${idl}
    DEPENDS ${PROJECT_SOURCE_DIR}/${idl} ${ARGN}
    COMMENT "widl -h ${idl}" VERBATIM)
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()

function(ht_widl_iids out_var idl)
  get_filename_component(name ${idl} NAME_WE)
  set(out ${HT_GEN_DIR}/${name}_i.c)
  add_custom_command(OUTPUT ${out}
    COMMAND ${WIDL_EXECUTABLE} ${WIDL_FLAGS} -I${PROJECT_SOURCE_DIR}/idl -u -o ${out} ${PROJECT_SOURCE_DIR}/${idl}
    DEPENDS ${PROJECT_SOURCE_DIR}/${idl} ${ARGN}
    COMMENT "widl -u ${idl}" VERBATIM)
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()

function(ht_widl_regscript out_var idl)
  get_filename_component(name ${idl} NAME_WE)
  set(out ${HT_GEN_DIR}/${name}_r.rgs)
  add_custom_command(OUTPUT ${out}
    COMMAND ${WIDL_EXECUTABLE} ${WIDL_FLAGS} -I${PROJECT_SOURCE_DIR}/idl -r -o ${out} ${PROJECT_SOURCE_DIR}/${idl}
    DEPENDS ${PROJECT_SOURCE_DIR}/${idl} ${ARGN}
    COMMENT "widl -r ${idl}" VERBATIM)
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()

function(ht_widl_typelib out_var idl)
  get_filename_component(name ${idl} NAME_WE)
  set(out ${HT_GEN_DIR}/${name}.tlb)
  add_custom_command(OUTPUT ${out}
    COMMAND ${WIDL_EXECUTABLE} ${WIDL_FLAGS} -I${PROJECT_SOURCE_DIR}/idl -t -o ${out} ${PROJECT_SOURCE_DIR}/${idl}
    DEPENDS ${PROJECT_SOURCE_DIR}/${idl} ${ARGN}
    COMMENT "widl -t ${idl}" VERBATIM)
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()
