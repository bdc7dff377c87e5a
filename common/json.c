/* The project's JSON writer (json.h). */
#include "json.h"

#include <math.h>

void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++)
    {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void json_wstring(FILE *f, const WCHAR *s)
{
    char utf8[1024];

    if (!WideCharToMultiByte(CP_UTF8, 0, s, -1, utf8, sizeof(utf8), NULL, NULL))
        utf8[0] = 0;
    json_string(f, utf8);
}

void json_string_or_null(FILE *f, const char *s)
{
    if (s)
        json_string(f, s);
    else
        fputs("null", f);
}

void json_wstring_or_null(FILE *f, const WCHAR *s)
{
    if (s)
        json_wstring(f, s);
    else
        fputs("null", f);
}

void json_bool(FILE *f, BOOL v)
{
    fputs(v ? "true" : "false", f);
}

void json_hresult(FILE *f, HRESULT hr)
{
    fprintf(f, "\"0x%08lx\"", (unsigned long)hr);
}

void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}
