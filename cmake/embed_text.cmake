# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed_text.cmake
# Writes a C file defining `const WCHAR NAME[]` with the text of IN.
file(STRINGS "${IN}" lines)
set(body "")
foreach(line IN LISTS lines)
  string(REPLACE "\\" "\\\\" line "${line}")
  string(REPLACE "\"" "\\\"" line "${line}")
  string(APPEND body "    L\"${line}\\r\\n\"\n")
endforeach()
file(WRITE "${OUT}.tmp" "/* Generated from ${IN}; do not edit. */\n#include <windows.h>\n\nconst WCHAR ${NAME}[] =\n${body}    L\"\";\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
