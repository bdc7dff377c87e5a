/*
 * The managers the CLR asks IHostControl::GetHostManager for, in the order
 * CorHost2::SetHostControl asks (dotnet/coreclr ef1e2ab3
 * src/vm/corhost.cpp).  Values cross-checked against the Windows metadata
 * projection (Windows.Win32.System.ClrHosting).  hosttask answers only the
 * task manager (#2).
 */
#ifndef HOSTTASK_CLR_IIDS_H
#define HOSTTASK_CLR_IIDS_H

#include <windows.h>

static const GUID ht_iid_host_memory_manager =
        {0x7bc698d1, 0xf9e3, 0x4460, {0x9c, 0xde, 0xd0, 0x42, 0x48, 0xe9, 0xfa, 0x25}};
static const GUID ht_iid_host_threadpool_manager =
        {0x983d50e2, 0xcb15, 0x466b, {0x80, 0xfc, 0x84, 0x5d, 0xc6, 0xe8, 0xc5, 0xfd}};
static const GUID ht_iid_host_io_completion_manager =
        {0x8bde9d80, 0xec06, 0x41d6, {0x83, 0xe6, 0x22, 0x58, 0x0e, 0xff, 0xcc, 0x20}};
static const GUID ht_iid_host_sync_manager =
        {0x234330c7, 0x5f10, 0x4f20, {0x96, 0x15, 0x51, 0x22, 0xda, 0xb7, 0xa0, 0xac}};
static const GUID ht_iid_host_assembly_manager =
        {0x613dabd7, 0x62b2, 0x493e, {0x9e, 0x65, 0xc1, 0xe3, 0x2a, 0x1e, 0x0c, 0x5e}};
static const GUID ht_iid_host_gc_manager =
        {0x5d4ec34e, 0xf248, 0x457b, {0xb6, 0x03, 0x25, 0x5f, 0xaa, 0xba, 0x0d, 0x21}};
static const GUID ht_iid_host_security_manager =
        {0x75ad2468, 0xa349, 0x4d02, {0xa7, 0x64, 0x76, 0xa6, 0x8a, 0xee, 0x0c, 0x4f}};
static const GUID ht_iid_host_policy_manager =
        {0x7ae49844, 0xb1e3, 0x4683, {0xba, 0x7c, 0x1e, 0x82, 0x12, 0xea, 0x3b, 0x79}};

/* All nine, in the CLR's order; NULL marks the task manager's place. */
static const GUID *const ht_clr_manager_iids[9] =
{
    &ht_iid_host_memory_manager,
    NULL, /* IID_IHostTaskManager */
    &ht_iid_host_threadpool_manager,
    &ht_iid_host_io_completion_manager,
    &ht_iid_host_sync_manager,
    &ht_iid_host_assembly_manager,
    &ht_iid_host_gc_manager,
    &ht_iid_host_security_manager,
    &ht_iid_host_policy_manager,
};

#endif /* HOSTTASK_CLR_IIDS_H */
