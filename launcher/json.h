/*
 * The launcher's JSON writer, shared by the report (launcher/report.c)
 * and the trace (launcher/trace_out.c): values written straight to a
 * stdio stream, strings escaped as RFC 8259 requires.
 */
#ifndef HOSTTASK_HOST_JSON_H
#define HOSTTASK_HOST_JSON_H

#include <stdio.h>
#include <windows.h>

/* A UTF-8 string, quoted and escaped. */
void json_string(FILE *f, const char *s);
/* A UTF-16 string, as UTF-8 (truncated past 1023 bytes). */
void json_wstring(FILE *f, const WCHAR *s);
/* An HRESULT as "0x%08lx". */
void json_hresult(FILE *f, HRESULT hr);

#endif /* HOSTTASK_HOST_JSON_H */
