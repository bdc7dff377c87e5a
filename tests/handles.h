/*
 * The calling process's open kernel handles, for the tests and the
 * benchmark.  Wine 8's GetProcessHandleCount answers 0 whatever is open,
 * so a check built on it can never fail; SystemHandleInformation lists
 * every handle of every process, and answers right.  Link with ntdll.
 */
#ifndef HOSTTASK_TEST_HANDLES_H
#define HOSTTASK_TEST_HANDLES_H

#include <windows.h>
#include <winternl.h>

struct ht_handle_entry
{
    ULONG pid;
    BYTE type, flags;
    USHORT handle;
    void *object;
    ACCESS_MASK access;
};

struct ht_handle_list
{
    ULONG count;
    struct ht_handle_entry entries[1];
};

/* VirtualAlloc'd, outside every heap: the benchmark's heap walks do not
 * see it. */
static struct ht_handle_list *ht_handle_buffer;
static SIZE_T ht_handle_buffer_size;

static inline void ht_handle_buffer_free(void)
{
    if (ht_handle_buffer)
        VirtualFree(ht_handle_buffer, 0, MEM_RELEASE);
    ht_handle_buffer = NULL;
    ht_handle_buffer_size = 0;
}

/* Room for `handles` in the whole system, so that counting allocates
 * nothing while it stays below that.  FALSE when memory ran out. */
static inline BOOL ht_handle_buffer_reserve(SIZE_T handles)
{
    SIZE_T size = sizeof(struct ht_handle_list) + handles * sizeof(struct ht_handle_entry);

    if (size <= ht_handle_buffer_size)
        return TRUE;
    ht_handle_buffer_free();
    if (!(ht_handle_buffer = VirtualAlloc(NULL, size, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE)))
        return FALSE;
    ht_handle_buffer_size = size;
    return TRUE;
}

/* This process's open handles, or MAXDWORD if they cannot be counted. */
static inline DWORD ht_handle_count(void)
{
    ULONG pid = GetCurrentProcessId(), len, i;
    NTSTATUS status;
    DWORD n = 0;
    int tries;

    if (!ht_handle_buffer && !ht_handle_buffer_reserve(65536))
        return MAXDWORD;
    for (tries = 0; tries < 8; tries++)
    {
        len = 0;
        status = NtQuerySystemInformation(16 /* SystemHandleInformation */, ht_handle_buffer,
                (ULONG)ht_handle_buffer_size, &len);
        if (status != (NTSTATUS)0xc0000004 /* STATUS_INFO_LENGTH_MISMATCH */)
            break;
        if (!ht_handle_buffer_reserve(2 * (ht_handle_buffer_size / sizeof(struct ht_handle_entry))))
            return MAXDWORD;
    }
    if (status)
        return MAXDWORD;
    for (i = 0; i < ht_handle_buffer->count; i++)
        n += ht_handle_buffer->entries[i].pid == pid;
    return n;
}

#endif /* HOSTTASK_TEST_HANDLES_H */
