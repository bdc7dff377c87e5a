/*
 * The project's JSON writer (library ht_json), shared by the launcher's
 * report (launcher/report.c) and trace (launcher/trace_out.c) and by the
 * benchmark's results (bench/output.c): values written straight to a stdio
 * stream, strings escaped as RFC 8259 requires.
 */
#ifndef HOSTTASK_JSON_H
#define HOSTTASK_JSON_H

#include <stdio.h>
#include <windows.h>

/* A UTF-8 string, quoted and escaped; NULL is written as "". */
void json_string(FILE *f, const char *s);
/* A UTF-16 string, as UTF-8 (truncated past 1023 bytes). */
void json_wstring(FILE *f, const WCHAR *s);
/* json_string and json_wstring, or null for NULL: a field that may be
 * absent.  (An empty string is still a string: the caller passes NULL for
 * "absent".) */
void json_string_or_null(FILE *f, const char *s);
void json_wstring_or_null(FILE *f, const WCHAR *s);
/* true for any nonzero v, else false. */
void json_bool(FILE *f, BOOL v);
/* An HRESULT as "0x%08lx". */
void json_hresult(FILE *f, HRESULT hr);
/* A number with 6 significant digits; JSON has no NaN or infinity, so a
 * missing figure (not finite) is null. */
void json_number(FILE *f, double v);

#endif /* HOSTTASK_JSON_H */
