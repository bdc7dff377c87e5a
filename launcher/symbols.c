/*
 * P/Invoke targets as module!export: the module that contains the address
 * (GetModuleHandleExW FROM_ADDRESS), then that module's export directory,
 * read from its mapped image (PE/COFF: IMAGE_EXPORT_DIRECTORY, the
 * function, name and ordinal tables).  No dbghelp: exports are what a
 * P/Invoke binds to, and they are there in every module, Wine's included.
 */
#include "report.h"

#include <string.h>

static void module_base_name(HMODULE module, char *out, size_t size)
{
    WCHAR path[MAX_PATH];
    const WCHAR *name;
    DWORD length = GetModuleFileNameW(module, path, ARRAYSIZE(path));

    if (!length || length >= ARRAYSIZE(path))
    {
        snprintf(out, size, "%p", (void *)module);
        return;
    }
    name = path + length;
    while (name > path && name[-1] != '\\' && name[-1] != '/')
        name--;
    snprintf(out, size, "%ls", name);
}

/* The export named for rva, or NULL; *ordinal gets the ordinal of an
 * export without a name. */
static const char *find_export(const BYTE *base, DWORD rva, DWORD *ordinal)
{
    const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)base;
    const IMAGE_NT_HEADERS *nt;
    const IMAGE_DATA_DIRECTORY *dir;
    const IMAGE_EXPORT_DIRECTORY *exports;
    const DWORD *functions, *names;
    const WORD *name_ordinals;
    DWORD i;

    *ordinal = 0;
    if (dos->e_magic != IMAGE_DOS_SIGNATURE)
        return NULL;
    nt = (const IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
    if (nt->Signature != IMAGE_NT_SIGNATURE || nt->OptionalHeader.Magic != IMAGE_NT_OPTIONAL_HDR_MAGIC
            || nt->OptionalHeader.NumberOfRvaAndSizes <= IMAGE_DIRECTORY_ENTRY_EXPORT)
        return NULL;
    dir = &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
    if (!dir->VirtualAddress || !dir->Size)
        return NULL;
    exports = (const IMAGE_EXPORT_DIRECTORY *)(base + dir->VirtualAddress);
    functions = (const DWORD *)(base + exports->AddressOfFunctions);
    names = (const DWORD *)(base + exports->AddressOfNames);
    name_ordinals = (const WORD *)(base + exports->AddressOfNameOrdinals);

    for (i = 0; i < exports->NumberOfNames; i++)
        if (name_ordinals[i] < exports->NumberOfFunctions && functions[name_ordinals[i]] == rva)
            return (const char *)(base + names[i]);
    /* Exported by ordinal only.  (A forwarder's RVA points into the export
     * directory, never at code, so it cannot match.) */
    for (i = 0; i < exports->NumberOfFunctions; i++)
        if (functions[i] == rva)
        {
            *ordinal = exports->Base + i;
            return NULL;
        }
    return NULL;
}

void report_resolve_symbol(SIZE_T address, char *out, size_t size)
{
    char module_name[MAX_PATH];
    HMODULE module = NULL;
    const char *name;
    DWORD ordinal;
    SIZE_T offset;

    if (!address)
    {
        snprintf(out, size, "(other targets)");
        return;
    }
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
            (const WCHAR *)address, &module) || !module)
    {
        snprintf(out, size, "0x%llx", (unsigned long long)address);
        return;
    }
    module_base_name(module, module_name, sizeof(module_name));
    offset = address - (SIZE_T)module;
    if (offset <= MAXDWORD && (name = find_export((const BYTE *)module, (DWORD)offset, &ordinal)))
        snprintf(out, size, "%s!%s", module_name, name);
    else if (offset <= MAXDWORD && ordinal)
        snprintf(out, size, "%s!#%lu", module_name, ordinal);
    else
        snprintf(out, size, "%s+0x%llx", module_name, (unsigned long long)offset);
}
